#include "tailor/live_segments.h"

#include <algorithm>
#include <type_traits>

#include "tailor/signal_values.h"

namespace tailor::segments {
namespace {

void AddUnique(std::vector<std::string>& names, const std::string& name) {
  if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
}

// Collects what `expr` reads: traits, event types (or any), segment references.
// The offsets d such that a value at time t crosses an edge of `range` at now = t + d (see the
// conventions in rule.h: "last A" holds for t < now <= t + A).
std::vector<Timestamp> RangeEdges(const TimeRange& range) {
  const Timestamp unit = TimeUnitMillis(range.unit);
  const Timestamp near = range.amount * unit, far = range.far_amount * unit;
  switch (range.kind) {
    case RangeKind::kLast:
      return {1, near + 1};
    case RangeKind::kBefore:
      return {near + 1};
    case RangeKind::kAfter:
      return {near};
    case RangeKind::kBetween:
      return {near + 1, far + 1};
  }
  return {};
}

void AddEdges(std::vector<Timestamp>& edges, const std::vector<Timestamp>& more) {
  for (Timestamp edge : more) {
    if (std::find(edges.begin(), edges.end(), edge) == edges.end()) edges.push_back(edge);
  }
}

struct Reads {
  std::vector<std::string> traits, event_types, segments;
  bool any_event_type = false;
  std::map<std::string, std::vector<Timestamp>, std::less<>> event_edges, trait_edges;

  void Set(const EventSet& events) {
    if (events.event_type.empty()) {
      any_event_type = true;
    } else {
      AddUnique(event_types, events.event_type);
    }
    if (events.window) AddEdges(event_edges[events.event_type], RangeEdges(*events.window));
  }
  void Subject(const segments::Subject& subject) {
    if (subject.kind == SubjectKind::kTrait) {
      AddUnique(traits, subject.name);
    } else if (subject.kind == SubjectKind::kSignal) {
      // Folded from every event; a session's features (and where they are now) go missing
      // when it ends, 30 idle minutes after an event.
      any_event_type = true;
      if (signals::IsSessionSignal(subject.name)) {
        AddEdges(event_edges[""], {signals::kSessionGapMs + 1});
      }
      if (signals::IsPlaceSignal(subject.name)) {  // against their home
        AddUnique(traits, std::string(signals::kHomeLatitudeTrait));
        AddUnique(traits, std::string(signals::kHomeLongitudeTrait));
      }
    } else if (subject.kind != SubjectKind::kField) {
      Set(subject.events);
    }
  }
  // A time condition: the trait's value, or the time of a first/last event, against a range.
  void Timed(const TimeCondition& condition) {
    Subject(condition.subject);
    const std::vector<Timestamp> edges = RangeEdges(condition.range);
    if (condition.subject.kind == SubjectKind::kTrait) {
      AddEdges(trait_edges[condition.subject.name], edges);
    } else {
      AddEdges(event_edges[condition.subject.events.event_type], edges);
    }
  }
  void Walk(const Expr& expr) {
    std::visit(
        [&](const auto& node) {
          using Node = std::decay_t<decltype(node)>;
          if constexpr (std::is_same_v<Node, Comparison>) {
            Subject(node.subject);
          } else if constexpr (std::is_same_v<Node, TimeCondition>) {
            Timed(node);
          } else if constexpr (std::is_same_v<Node, GeoCondition>) {
            AddUnique(traits, node.lat_trait);
            AddUnique(traits, node.lon_trait);
          } else if constexpr (std::is_same_v<Node, Occurrence>) {
            Set(node.events);
          } else if constexpr (std::is_same_v<Node, Sequence>) {
            Subject(node.anchor);
            Set(node.next);
          } else if constexpr (std::is_same_v<Node, SegmentRef>) {
            AddUnique(segments, node.segment);
          } else if constexpr (std::is_same_v<Node, And> || std::is_same_v<Node, Or>) {
            for (const Expr& operand : node.operands) Walk(operand);
          } else if constexpr (std::is_same_v<Node, Not>) {
            Walk(*node.operand);
          }
        },
        expr.node);
  }
};

bool Intersects(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  for (const std::string& x : a) {
    if (std::find(b.begin(), b.end(), x) != b.end()) return true;
  }
  return false;
}

}  // namespace

std::vector<std::string> TraitsRead(const Rule& rule) {
  Reads reads;
  reads.Walk(rule.root);
  return std::move(reads.traits);
}

std::optional<std::vector<std::string>> EventTypesRead(const Rule& rule) {
  Reads reads;
  reads.Walk(rule.root);
  if (reads.any_event_type) return std::nullopt;
  return std::move(reads.event_types);
}

Result<std::unique_ptr<LiveSegments>> LiveSegments::Load(const SegmentCatalog& catalog) {
  TAILOR_ASSIGN_OR_RETURN(std::vector<SegmentDefinition> all, catalog.List());
  TAILOR_ASSIGN_OR_RETURN(auto current, catalog.CurrentMembers());
  auto live = std::unique_ptr<LiveSegments>(new LiveSegments());
  // Order by dependencies, as EvaluateAll does.
  std::vector<bool> placed(all.size(), false);
  while (live->segments_.size() < all.size()) {
    bool progressed = false;
    for (size_t i = 0; i < all.size(); ++i) {
      if (placed[i]) continue;
      TAILOR_ASSIGN_OR_RETURN(Rule rule, ParseRule(all[i].rule));
      std::optional<Rule> exclude;
      if (!all[i].exclude.empty()) {
        TAILOR_ASSIGN_OR_RETURN(exclude, ParseRule(all[i].exclude));
      }
      bool ready = true;
      for (const Rule* r : {&rule, exclude ? &*exclude : nullptr}) {
        if (r == nullptr) continue;
        for (const std::string& reference : SegmentReferences(*r)) {
          ready = ready && live->index_.count(reference) > 0;
        }
      }
      if (!ready) continue;
      placed[i] = true;
      progressed = true;
      Reads reads;
      reads.Walk(rule.root);
      if (exclude) reads.Walk(exclude->root);
      Live segment{all[i], std::move(rule), std::move(exclude), std::move(current[all[i].name])};
      segment.traits = std::move(reads.traits);
      segment.event_types = std::move(reads.event_types);
      segment.any_event_type = reads.any_event_type;
      for (const std::string& reference : reads.segments) {
        segment.references.push_back(live->index_.at(reference));
      }
      for (const auto& [type, edges] : reads.event_edges) AddEdges(live->event_edges_[type], edges);
      for (const auto& [trait, edges] : reads.trait_edges)
        AddEdges(live->trait_edges_[trait], edges);
      live->any_event_type_ = live->any_event_type_ || segment.any_event_type;
      for (const std::string& trait : segment.traits) AddUnique(live->all_traits_, trait);
      for (const std::string& type : segment.event_types) AddUnique(live->all_event_types_, type);
      live->index_.emplace(all[i].name, live->segments_.size());
      live->segments_.push_back(std::move(segment));
    }
    if (!progressed) return FailedPrecondition("segments refer to missing or cyclic segments");
  }
  return live;
}

std::vector<MembershipChange> LiveSegments::Update(const ProfileRow& row) {
  return Update(row, ProfileChange{{}, {}, /*everything=*/true});
}

std::vector<MembershipChange> LiveSegments::Update(const ProfileRow& row,
                                                   const ProfileChange& change) {
  return Apply(Decide(row, change));
}

ProfileDecision LiveSegments::Decide(const ProfileRow& row, const ProfileChange& change) const {
  ProfileDecision decision{row.id, row.now, {}};
  // Segments decided now, in dependency order: -1 not re-decided, else member (1) or not (0).
  std::vector<int8_t> decided(segments_.size(), -1);
  const auto member_now = [&](size_t index) {
    return decided[index] >= 0 ? decided[index] == 1 : segments_[index].members.contains(row.id);
  };
  ProfileRow evaluated = row;
  // A reference reads the membership decided just before, in dependency order.
  evaluated.in_segment = [&](std::string_view name) {
    auto it = index_.find(name);
    return it != index_.end() && member_now(it->second);
  };
  std::vector<bool> changed(segments_.size(), false);
  for (size_t index = 0; index < segments_.size(); ++index) {
    const Live& segment = segments_[index];
    bool affected = change.everything || Intersects(segment.traits, change.traits) ||
                    Intersects(segment.event_types, change.event_types) ||
                    (segment.any_event_type && !change.event_types.empty());
    for (size_t reference : segment.references) affected = affected || changed[reference];
    if (!affected) continue;
    bool member = Matches(segment.rule, evaluated);
    if (member && segment.exclude) member = !Matches(*segment.exclude, evaluated);
    if (member == segment.members.contains(row.id)) continue;
    decided[index] = member ? 1 : 0;
    changed[index] = true;
    decision.changed.emplace_back(index, member);
  }
  return decision;
}

std::vector<MembershipChange> LiveSegments::Apply(const ProfileDecision& decision) {
  std::vector<MembershipChange> changes;
  for (const auto& [index, member] : decision.changed) {
    Live& segment = segments_[index];
    if (member == segment.members.contains(decision.id)) continue;
    if (member) {
      segment.members.add(decision.id);
    } else {
      segment.members.remove(decision.id);
    }
    changes.push_back({0, segment.definition.name, segment.definition.version, decision.id, member,
                       decision.now});
  }
  return changes;
}

bool LiveSegments::Affects(const ProfileChange& change) const {
  if (segments_.empty()) return false;
  return change.everything || Intersects(all_traits_, change.traits) ||
         Intersects(all_event_types_, change.event_types) ||
         (any_event_type_ && !change.event_types.empty());
}

namespace {

// Keeps the earliest edge after `now`.
void Earliest(std::optional<Timestamp>& next, Timestamp time, const std::vector<Timestamp>& edges,
              Timestamp now) {
  for (Timestamp edge : edges) {
    const Timestamp at = time + edge;
    if (at > now && (!next || at < *next)) next = at;
  }
}

}  // namespace

std::optional<Timestamp> LiveSegments::NextChange(const ProfileRow& row) const {
  std::optional<Timestamp> next;
  if (!event_edges_.empty()) {
    auto any = event_edges_.find("");
    for (const EventInput& event : row.events) {
      if (auto it = event_edges_.find(event.type); it != event_edges_.end()) {
        Earliest(next, event.time, it->second, row.now);
      }
      if (any != event_edges_.end()) Earliest(next, event.time, any->second, row.now);
    }
  }
  if (row.traits != nullptr) {
    for (const auto& [name, value] : *row.traits) {
      auto it = trait_edges_.find(name);
      if (it == trait_edges_.end() || value.type != TraitType::kTimestamp) continue;
      if (const auto* time = std::get_if<int64_t>(&value.value)) {
        Earliest(next, *time, it->second, row.now);
      }
    }
  }
  return next;
}

std::vector<std::pair<ProfileId, Timestamp>> LiveSegments::NextChanges(
    const snapshot::Snapshot& snapshot, Timestamp now) const {
  std::vector<std::pair<ProfileId, Timestamp>> timers;
  if (event_edges_.empty() && trait_edges_.empty()) return timers;
  const snapshot::EventColumns& events = snapshot.events();
  // Edges per event type code, so that the scan does no string lookups.
  const std::vector<Timestamp>* any = nullptr;
  if (auto it = event_edges_.find(""); it != event_edges_.end()) any = &it->second;
  std::vector<const std::vector<Timestamp>*> by_code(events.types.size(), nullptr);
  for (uint32_t code = 0; code < events.types.size(); ++code) {
    if (auto it = event_edges_.find(events.types[code]); it != event_edges_.end()) {
      by_code[code] = &it->second;
    }
  }
  std::vector<std::pair<const snapshot::TraitColumn*, const std::vector<Timestamp>*>> traits;
  for (const auto& [name, edges] : trait_edges_) {
    const snapshot::TraitColumn* column = snapshot.trait(name);
    if (column != nullptr && column->type == TraitType::kTimestamp)
      traits.emplace_back(column, &edges);
  }
  const snapshot::Bitmap& known = snapshot.known();
  for (ProfileId profile = 0; profile < snapshot.profile_count(); ++profile) {
    if (!known.Test(profile)) continue;
    std::optional<Timestamp> next;
    if (profile + 1 < events.offsets.size()) {
      for (uint64_t row = events.offsets[profile]; row < events.offsets[profile + 1]; ++row) {
        if (const auto* edges = by_code[events.type[row]])
          Earliest(next, events.time[row], *edges, now);
        if (any != nullptr) Earliest(next, events.time[row], *any, now);
      }
    }
    for (const auto& [column, edges] : traits) {
      if (column->present.Test(profile)) Earliest(next, column->ints[profile], *edges, now);
    }
    if (next) timers.emplace_back(profile, *next);
  }
  return timers;
}

std::vector<MembershipChange> LiveSegments::Remove(ProfileId profile, Timestamp now) {
  std::vector<MembershipChange> changes;
  for (Live& segment : segments_) {
    if (!segment.members.contains(profile)) continue;
    segment.members.remove(profile);
    changes.push_back(
        {0, segment.definition.name, segment.definition.version, profile, false, now});
  }
  return changes;
}

std::vector<std::string> LiveSegments::SegmentsOf(ProfileId profile) const {
  std::vector<std::string> names;
  for (const Live& segment : segments_) {
    if (segment.members.contains(profile)) names.push_back(segment.definition.name);
  }
  return names;
}

std::vector<SegmentDefinition> LiveSegments::definitions() const {
  std::vector<SegmentDefinition> all;
  all.reserve(segments_.size());
  for (const Live& segment : segments_) all.push_back(segment.definition);
  return all;
}

std::map<std::string, size_t, std::less<>> LiveSegments::TraitReaders() const {
  std::map<std::string, size_t, std::less<>> readers;
  for (const Live& segment : segments_) {
    std::vector<std::string> traits = segment.traits;
    std::sort(traits.begin(), traits.end());
    traits.erase(std::unique(traits.begin(), traits.end()), traits.end());
    for (std::string& trait : traits) ++readers[std::move(trait)];
  }
  return readers;
}

const ProfileSet* LiveSegments::members(std::string_view segment) const {
  auto it = index_.find(segment);
  return it == index_.end() ? nullptr : &segments_[it->second].members;
}

}  // namespace tailor::segments

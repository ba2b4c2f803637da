#include "tailor/live_segments.h"

#include <algorithm>
#include <type_traits>

namespace tailor::segments {
namespace {

void AddUnique(std::vector<std::string>& names, const std::string& name) {
  if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
}

// Collects what `expr` reads: traits, event types (or any), segment references.
struct Reads {
  std::vector<std::string> traits, event_types, segments;
  bool any_event_type = false;

  void Set(const EventSet& events) {
    if (events.event_type.empty()) {
      any_event_type = true;
    } else {
      AddUnique(event_types, events.event_type);
    }
  }
  void Subject(const segments::Subject& subject) {
    if (subject.kind == SubjectKind::kTrait) {
      AddUnique(traits, subject.name);
    } else if (subject.kind != SubjectKind::kField) {
      Set(subject.events);
    }
  }
  void Walk(const Expr& expr) {
    std::visit(
        [&](const auto& node) {
          using Node = std::decay_t<decltype(node)>;
          if constexpr (std::is_same_v<Node, Comparison> || std::is_same_v<Node, TimeCondition>) {
            Subject(node.subject);
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
  std::vector<MembershipChange> changes;
  std::vector<bool> changed(segments_.size(), false);
  ProfileRow evaluated = row;
  // A reference reads the membership decided just before, in dependency order.
  evaluated.in_segment = [this, id = row.id](std::string_view name) {
    const ProfileSet* set = members(name);
    return set != nullptr && set->contains(id);
  };
  for (size_t index = 0; index < segments_.size(); ++index) {
    Live& segment = segments_[index];
    bool affected = change.everything || Intersects(segment.traits, change.traits) ||
                    Intersects(segment.event_types, change.event_types) ||
                    (segment.any_event_type && !change.event_types.empty());
    for (size_t reference : segment.references) affected = affected || changed[reference];
    if (!affected) continue;
    bool member = Matches(segment.rule, evaluated);
    if (member && segment.exclude) member = !Matches(*segment.exclude, evaluated);
    if (member == segment.members.contains(row.id)) continue;
    changed[index] = true;
    if (member) {
      segment.members.add(row.id);
    } else {
      segment.members.remove(row.id);
    }
    changes.push_back(
        {0, segment.definition.name, segment.definition.version, row.id, member, row.now});
  }
  return changes;
}

const ProfileSet* LiveSegments::members(std::string_view segment) const {
  auto it = index_.find(segment);
  return it == index_.end() ? nullptr : &segments_[it->second].members;
}

}  // namespace tailor::segments

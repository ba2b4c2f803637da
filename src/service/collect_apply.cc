// Service::Collect: applies the messages of a Segment-style request in order, with the
// enrichment that needs a profile's stored state (sessions, first touch).

#include <algorithm>
#include <map>
#include <mutex>

#include "service/service_impl.h"

namespace tailor {
namespace {

const TypedValue* FindTrait(const TraitMap& traits, std::string_view name) {
  for (const auto& [key, value] : traits) {
    if (key == name) return &value;
  }
  return nullptr;
}

void SetTrait(TraitMap& traits, std::string_view name, TypedValue value) {
  for (auto& [key, existing] : traits) {
    if (key == name) {
      existing = std::move(value);
      return;
    }
  }
  traits.emplace_back(std::string(name), std::move(value));
}

bool SameValue(const TypedValue* stored, const TypedValue& value) {
  return stored != nullptr && stored->type == value.type && stored->value == value.value;
}

// Applies messages in order: runs of events are stored as one batch; identify and alias are
// applied between runs so that identity follows the order the client sent.
class Applier {
 public:
  Applier(Service& service, Service::Impl& impl, bool batch, CollectReport& report)
      : service_(service), impl_(impl), options_(impl.options), batch_(batch), report_(report) {}

  Status Apply(std::vector<collect::Message>& messages) {
    size_t events = 0;
    for (const collect::Message& message : messages)
      events += std::max<size_t>(1, message.lines.size());
    pending_.reserve(events);  // events are moved in once, never again while it grows
    pending_indexes_.reserve(events);
    pending_lines_.reserve(events);
    for (collect::Message& message : messages) {
      switch (message.kind) {
        case collect::MessageKind::kTrack:
        case collect::MessageKind::kPage:
        case collect::MessageKind::kScreen:
        case collect::MessageKind::kGroup:
          if (!Allowed(message.event.type)) {
            Refuse(message.index, "event",
                   fmt::format("event type '{}' is not allowed", message.event.type));
            break;
          }
          if (RefuseBadLine(message)) break;  // an order is taken whole or not at all
          MergeTraits(pending_traits_[OwnerOf(message)], message.enriched_traits);
          if (message.lines.empty()) {
            pending_indexes_.push_back(message.index);
            pending_lines_.push_back(kNotALine);
            pending_.push_back(std::move(message.event));
          } else {
            for (size_t line = 0; line < message.lines.size(); ++line) {
              pending_indexes_.push_back(message.index);
              pending_lines_.push_back(line);
              pending_.push_back(std::move(message.lines[line]));
            }
          }
          break;
        case collect::MessageKind::kIdentify:
          TAILOR_RETURN_IF_ERROR(Flush());
          TAILOR_RETURN_IF_ERROR(ApplyIdentify(message));
          break;
        case collect::MessageKind::kAlias:
          TAILOR_RETURN_IF_ERROR(Flush());
          TAILOR_RETURN_IF_ERROR(ApplyAlias(message));
          break;
      }
    }
    return Flush();
  }

 private:
  bool Allowed(std::string_view type) const {
    const auto& allowed = options_.allowed_event_types;
    return allowed.empty() || std::find(allowed.begin(), allowed.end(), type) != allowed.end();
  }

  // Refuses a message one of whose lines the engine would refuse; true if it did.
  bool RefuseBadLine(const collect::Message& message) {
    for (size_t line = 0; line < message.lines.size(); ++line) {
      std::string problem = EventProblem(message.lines[line]);
      if (!problem.empty()) {
        Refuse(message.index, fmt::format("properties.products[{}]", line), std::move(problem));
        return true;
      }
    }
    return false;
  }

  void Refuse(size_t index, std::string_view field, std::string message) {
    report_.errors.push_back(
        {index, batch_ ? fmt::format("batch[{}].{}", index, field) : std::string(field),
         std::move(message)});
  }

  // Traits computed over a profile's whole history rather than observed on one event.
  static bool IsCounted(std::string_view name) {
    return name == "sessions" || name == "last_session_at" || name.starts_with("first_touch_");
  }

  // Whose traits a message sets: its user, else its anonymous visitor.
  using Owner = std::pair<bool, std::string>;  // (anonymous, id)
  static Owner OwnerOf(const collect::Message& message) {
    return message.user_id.empty() ? Owner{true, message.anonymous_id}
                                   : Owner{false, message.user_id};
  }

  static void MergeTraits(TraitMap& into, const TraitMap& from) {
    for (const auto& [name, value] : from) SetTrait(into, name, value);
  }

  Status ApplyIdentify(collect::Message& message) {
    // A visitor not signed in keeps their traits on their anonymous profile (or on the known
    // profile the anonymous id is linked to); identify/alias merges them later, by time.
    ProfileInput profile{message.user_id.empty() ? message.anonymous_id : message.user_id,
                         std::move(message.traits), message.user_id.empty(), message.time};
    MergeTraits(profile.traits, message.enriched_traits);
    // (A visitor's identify without traits creates nothing.)
    if (!profile.anonymous || !profile.traits.empty()) {
      BatchReport batch;
      TAILOR_RETURN_IF_ERROR(service_.UpsertProfiles(std::span(&profile, 1), batch));
      if (!batch.rejected.empty()) {
        Refuse(message.index, "traits", batch.rejected.front().reason);
        return Status::Ok();
      }
    }
    if (profile.anonymous) {
      ++report_.accepted;
      return Status::Ok();
    }
    // Whether the link merged a visitor's profile (most identifies re-link an id already linked,
    // and need not read the history again).
    bool merges = false;
    if (!message.anonymous_id.empty()) {
      Status linked = service_.Identify(message.anonymous_id, message.user_id, &merges);
      if (!linked.ok()) {
        if (linked.code() != StatusCode::kInvalidArgument) return linked;
        Refuse(message.index, "anonymousId", linked.message());
        return Status::Ok();
      }
    }
    TAILOR_RETURN_IF_ERROR(EnrichAfterIdentify(message.user_id, merges));
    ++report_.accepted;
    return Status::Ok();
  }

  // alias(previousId -> userId): an anonymous (or unseen) previous id is linked; a known
  // profile is merged into userId's.
  Status ApplyAlias(const collect::Message& message) {
    Engine& engine = service_.engine();
    auto previous = engine.GetProfile(message.previous_id, 0);
    Status status;
    if (!previous.ok() && previous.status().code() != StatusCode::kNotFound) {
      return previous.status();
    }
    if (!previous.ok() || previous->anonymous) {
      status = service_.Identify(message.previous_id, message.user_id);
    } else {
      if (!engine.Resolve(message.user_id).ok()) {
        ProfileInput created{message.user_id, {}};
        BatchReport batch;
        TAILOR_RETURN_IF_ERROR(service_.UpsertProfiles(std::span(&created, 1), batch));
      }
      status = service_.MergeProfiles(message.user_id, message.previous_id);
    }
    if (!status.ok()) {
      if (status.code() != StatusCode::kInvalidArgument && status.code() != StatusCode::kNotFound) {
        return status;
      }
      Refuse(message.index, "previousId", status.message());
      return Status::Ok();
    }
    TAILOR_RETURN_IF_ERROR(EnrichAfterIdentify(message.user_id, /*merged=*/true));
    ++report_.accepted;
    return Status::Ok();
  }

  // Sessions and touch points of the known users in the pending run, from their stored state.
  Status Enrich() {
    TAILOR_RETURN_IF_ERROR(ResolveOwners());
    std::map<Owner, std::vector<size_t>> by_owner;
    for (size_t i = 0; i < pending_.size(); ++i) by_owner[OwnerOf(pending_[i])].push_back(i);
    for (auto& [owner, positions] : by_owner) {
      TAILOR_RETURN_IF_ERROR(EnrichUser(owner, positions));
    }
    return Status::Ok();
  }

  // Whose profile the run's events and traits end up on, so that a profile gets one count of
  // sessions however its events name it: a visitor already linked to a user is that user; else
  // one that an event of this run links (userId and anonymousId together) is that event's user.
  Status ResolveOwners() {
    resolved_.clear();
    std::map<std::string, std::string> linked_now;  // anonymous id -> user id (first link)
    for (const EventInput& event : pending_) {
      if (!event.profile_id.empty() && !event.anonymous_id.empty()) {
        linked_now.emplace(event.anonymous_id, event.profile_id);
      }
    }
    std::vector<Owner> visitors;
    for (const EventInput& event : pending_) {
      if (event.profile_id.empty()) visitors.push_back({true, event.anonymous_id});
    }
    for (const auto& [owner, traits] : pending_traits_) {
      if (owner.first) visitors.push_back(owner);
    }
    for (const Owner& visitor : visitors) {
      if (resolved_.contains(visitor)) continue;
      Owner owner = visitor;
      auto resident = impl_.working_set->Get(visitor.second);
      if (!resident.ok() && resident.status().code() != StatusCode::kNotFound) {
        return resident.status();
      }
      const ProfileView* view = resident.ok() ? &(*resident)->view : nullptr;
      if (view != nullptr && !view->anonymous) {
        owner = {false, view->external_id};
      } else if (auto link = linked_now.find(visitor.second); link != linked_now.end()) {
        owner = {false, link->second};
      }
      // EnrichUser reads the same profile for this owner: keep what was read.
      if (view != nullptr && owner.first == view->anonymous) {
        views_.emplace(owner, std::move(resident).value());
      }
      resolved_.emplace(visitor, owner);
    }
    // Traits gathered under a visitor's id move to the profile it resolves to.
    for (const auto& [visitor, owner] : resolved_) {
      auto it = pending_traits_.find(visitor);
      if (owner == visitor || it == pending_traits_.end()) continue;
      TraitMap traits = std::move(it->second);
      pending_traits_.erase(it);
      MergeTraits(pending_traits_[owner], traits);
    }
    return Status::Ok();
  }

  // The owner of a pending event, after ResolveOwners.
  Owner OwnerOf(const EventInput& event) const {
    if (!event.profile_id.empty()) return {false, event.profile_id};
    const Owner visitor{true, event.anonymous_id};
    auto it = resolved_.find(visitor);
    return it != resolved_.end() ? it->second : visitor;
  }

  // `sessions`, `last_session_at` and first touch for `user`, given its pending events. When
  // the profile has history but no session count yet (its first identified visit, perhaps with
  // merged anonymous history), both are computed from the whole history once.
  // `merged`: the profile just took in another's history (identify, alias): sessions and the
  // first touch are computed again from the whole of it (the earliest touch of either wins).
  Status EnrichUser(const Owner& owner, std::vector<size_t>& positions, bool merged = false) {
    const std::string& user = owner.second;
    Timestamp last_seen = 0, session_start = 0;
    int64_t sessions = 0;
    static const TraitMap kNoTraits;
    const TraitMap* stored_traits = &kNoTraits;
    auto read = views_.extract(owner);  // read already by ResolveOwners?
    Result<working_set::ProfileHandle> resident =
        read ? Result<working_set::ProfileHandle>(std::move(read.mapped()))
             : impl_.working_set->Get(user);
    if (!resident.ok() && resident.status().code() != StatusCode::kNotFound) {
      return resident.status();
    }
    TraitMap& traits = pending_traits_[owner];
    if (resident.ok()) {
      const ProfileView* view = &(*resident)->view;
      stored_traits = &view->traits;
      const TraitMap& stored = *stored_traits;
      const TypedValue* count = merged ? nullptr : FindTrait(stored, "sessions");
      const bool needs_first_touch =
          merged ||
          (FindTrait(stored, "first_touch_source") == nullptr && !impl_.IsUntouched(view->id));
      if (count != nullptr && std::holds_alternative<int64_t>(count->value)) {
        sessions = std::get<int64_t>(count->value);
        last_seen = view->behaviour.last_seen;
      }
      if ((count == nullptr && view->behaviour.event_count > 0) || needs_first_touch) {
        TAILOR_ASSIGN_OR_RETURN(std::vector<EventInput> history, (*resident)->Events());
        if (count == nullptr) {
          for (const EventInput& event : history) {
            if (last_seen == 0 || event.time - last_seen > options_.session_gap_ms) {
              ++sessions;
              session_start = event.time;
            }
            last_seen = std::max(last_seen, event.time);
          }
        }
        if (needs_first_touch) {
          bool found = false;
          for (const EventInput& event : history) {  // time order: the earliest touch wins
            const EventContext& c = event.context;
            if (c.utm_source.empty() && c.referrer.empty()) continue;
            const collect::TouchPoint touch =
                collect::ClassifyTouch(c.referrer, c.utm_source, c.utm_medium, c.utm_campaign);
            SetTrait(traits, "first_touch_source", {TraitType::kString, touch.source});
            SetTrait(traits, "first_touch_medium", {TraitType::kString, touch.medium});
            SetTrait(traits, "first_touch_campaign", {TraitType::kString, touch.campaign});
            found = true;
            break;
          }
          // The history is only read again if a merge brings more of it.
          if (!found) impl_.SetUntouched(view->id, true);
        }
      }
    }
    std::sort(positions.begin(), positions.end(),
              [&](size_t a, size_t b) { return pending_[a].time < pending_[b].time; });
    for (size_t position : positions) {
      const EventInput& event = pending_[position];
      if (event.time <= last_seen) continue;  // late or re-sent: no new session
      if (last_seen == 0 || event.time - last_seen > options_.session_gap_ms) {
        ++sessions;
        session_start = event.time;
      }
      last_seen = event.time;
    }
    if (sessions > 0) {
      SetTrait(traits, "sessions", {TraitType::kInt, sessions});
      if (session_start != 0) {
        SetTrait(traits, "last_session_at", {TraitType::kTimestamp, session_start});
      }
    }
    const TraitMap& stored = *stored_traits;
    // First touch from this run when the history had none.
    if (FindTrait(stored, "first_touch_source") == nullptr &&
        FindTrait(traits, "first_touch_source") == nullptr) {
      for (const char* field : {"source", "medium", "campaign"}) {
        if (const TypedValue* value = FindTrait(traits, fmt::format("last_touch_{}", field))) {
          SetTrait(traits, fmt::format("first_touch_{}", field), *value);
        }
      }
    }
    // Only what differs from the stored profile is written.
    TraitMap changed;
    for (auto& [name, value] : traits) {
      if (!SameValue(FindTrait(stored, name), value)) changed.emplace_back(name, value);
    }
    traits = std::move(changed);
    return Status::Ok();
  }

  // After identify (`merged`: one that may have merged anonymous history into `user`): sessions
  // and first touch.
  Status EnrichAfterIdentify(const std::string& user, bool merged) {
    std::vector<size_t> none;
    const Owner owner{false, user};
    TAILOR_RETURN_IF_ERROR(EnrichUser(owner, none, merged));
    auto traits = std::move(pending_traits_[owner]);
    pending_traits_.erase(owner);
    if (traits.empty()) return Status::Ok();
    // Computed now from the whole history: newer than any value they replace.
    ProfileInput profile{user, std::move(traits), /*anonymous=*/false, service_.now()};
    BatchReport batch;
    return service_.UpsertProfiles(std::span(&profile, 1), batch);
  }

  Status Flush() {
    if (pending_.empty()) return Status::Ok();
    TAILOR_RETURN_IF_ERROR(Enrich());
    // Traits computed from events are as new as the latest event they come from (so that on a
    // merge the visitor's and the user's last touch compare by when it happened).
    std::map<Owner, Timestamp> latest;
    for (const EventInput& event : pending_) {
      Timestamp& time = latest[OwnerOf(event)];
      time = std::max(time, event.time);
    }
    // What is counted over the history (sessions, first touch) is as of now: it replaces the
    // previous count whatever the events' times.
    std::vector<ProfileInput> profiles;
    for (auto& [owner, traits] : pending_traits_) {
      if (traits.empty()) continue;
      const auto it = latest.find(owner);
      ProfileInput observed{
          owner.second, {}, owner.first, it != latest.end() ? it->second : Timestamp{0}};
      ProfileInput counted{owner.second, {}, owner.first, service_.now()};
      for (auto& [name, value] : traits) {
        (IsCounted(name) ? counted : observed).traits.emplace_back(name, std::move(value));
      }
      for (ProfileInput* input : {&observed, &counted}) {
        if (!input->traits.empty()) profiles.push_back(std::move(*input));
      }
    }
    BatchReport batch, traits_report;
    TAILOR_RETURN_IF_ERROR(service_.Write(profiles, pending_, traits_report, batch));
    // One outcome per message (an order's lines are consecutive events of one message): refused
    // when one of its events was, a duplicate when all were, else accepted.
    std::vector<const BatchReport::Rejection*> refused(pending_.size(), nullptr);
    for (const BatchReport::Rejection& rejection : batch.rejected) {
      refused[rejection.index] = &rejection;
    }
    std::vector<bool> duplicate(pending_.size(), false);
    for (size_t index : batch.duplicate_indexes) duplicate[index] = true;
    for (size_t begin = 0, end; begin < pending_.size(); begin = end) {
      const BatchReport::Rejection* refusal = nullptr;
      bool all_duplicates = true;
      for (end = begin; end < pending_.size() && pending_indexes_[end] == pending_indexes_[begin];
           ++end) {
        if (refusal == nullptr && refused[end] != nullptr) {
          refusal = refused[end];
          Refuse(pending_indexes_[end],
                 pending_lines_[end] == kNotALine
                     ? std::string("event")
                     : fmt::format("properties.products[{}]", pending_lines_[end]),
                 refusal->reason);
        }
        all_duplicates = all_duplicates && duplicate[end];
      }
      if (refusal == nullptr) ++(all_duplicates ? report_.duplicates : report_.accepted);
    }
    pending_.clear();
    pending_indexes_.clear();
    pending_lines_.clear();
    pending_traits_.clear();
    views_.clear();
    return Status::Ok();
  }

  Service& service_;
  Service::Impl& impl_;
  const ServiceOptions& options_;
  const bool batch_;  // /v1/batch: error paths start with batch[i]
  CollectReport& report_;
  static constexpr size_t kNotALine = SIZE_MAX;
  std::vector<EventInput> pending_;
  std::vector<size_t> pending_indexes_;                // message index of each pending event
  std::vector<size_t> pending_lines_;                  // its product line, or kNotALine
  std::map<Owner, TraitMap> pending_traits_;           // enrichment per owner
  std::map<Owner, Owner> resolved_;                    // visitor -> whose profile (ResolveOwners)
  std::map<Owner, working_set::ProfileHandle> views_;  // read by ResolveOwners, for EnrichUser
};

// Where each message was sent from: geo_* traits (the last place a profile was seen, kept apart
// from the address traits a customer gave) and the event's country and city.
void Locate(const geo::GeoIpDatabase& database, std::string_view client_ip,
            std::vector<collect::Message>& messages) {
  std::map<std::string, std::optional<geo::Location>, std::less<>> seen;  // a batch has few IPs
  for (collect::Message& message : messages) {
    const std::string_view ip = message.ip.empty() ? client_ip : std::string_view(message.ip);
    if (ip.empty()) continue;
    auto it = seen.find(ip);
    if (it == seen.end()) {
      auto found = database.Lookup(ip);
      // An address that is not one, or a damaged file: the message goes in unlocated.
      it = seen.emplace(std::string(ip), found.ok() ? *found : std::nullopt).first;
    }
    if (!it->second) continue;
    const geo::Location& location = *it->second;
    auto add = [&message](std::string_view name, const std::string& value) {
      if (!value.empty()) SetTrait(message.enriched_traits, name, {TraitType::kString, value});
    };
    add("geo_country", location.country);
    add("geo_region", location.region);
    add("geo_city", location.city);
    add("geo_time_zone", location.time_zone);
    // The address's position, city-level, with its accuracy (tailor/place.h), for an event
    // without a device's.
    const bool positioned = location.latitude && location.longitude;
    auto place = [&location, positioned](EventInput& event) {
      if (event.context.country.empty()) event.context.country = location.country;
      if (event.context.city.empty()) event.context.city = location.city;
      if (!positioned) return;
      for (const char* key : {"latitude", "longitude", "accuracy_km"}) {
        if (!EventProperty(event, key).empty()) return;  // the message says where it was
      }
      event.properties.emplace_back("latitude", fmt::format("{}", *location.latitude));
      event.properties.emplace_back("longitude", fmt::format("{}", *location.longitude));
      // A database without a radius: a city's size, not a device's precision.
      event.properties.emplace_back(
          "accuracy_km", fmt::format("{}", location.accuracy_km.value_or(geo::kUnknownAccuracyKm)));
    };
    place(message.event);
    for (EventInput& line : message.lines) place(line);
  }
}

}  // namespace

Result<CollectReport> Service::Collect(std::string_view body,
                                       std::optional<collect::MessageKind> kind,
                                       const CollectSource& source) {
  collect::ParseOptions parse_options;
  parse_options.limits = impl_->options.limits;
  parse_options.now = now();
  const std::shared_ptr<const Schema> schema = engine_->shared_schema();
  parse_options.schema = schema.get();
  TAILOR_ASSIGN_OR_RETURN(collect::ParseResult parsed,
                          collect::ParseRequest(body, kind, parse_options));
  CollectReport report;
  report.received = parsed.messages.size() + parsed.errors.size();
  report.errors = std::move(parsed.errors);
  if (impl_->geoip) Locate(*impl_->geoip, source.client_ip, parsed.messages);
  const uint64_t changes_before = impl_->membership_changes;
  Applier applier(*this, *impl_, /*batch=*/!kind.has_value(), report);
  TAILOR_RETURN_IF_ERROR(applier.Apply(parsed.messages));
  std::sort(report.errors.begin(), report.errors.end(),
            [](const auto& a, const auto& b) { return a.index < b.index; });
  report.membership_changes = impl_->membership_changes - changes_before;
  return report;
}

}  // namespace tailor

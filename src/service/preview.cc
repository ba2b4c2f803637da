// Previews: the size of an unsaved definition over every profile as of the call, from the live
// snapshot's latest version plus the profiles changed since it, re-decided one by one.

#include <tbb/blocked_range.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>

#include <map>
#include <optional>

#include "service/service_impl.h"
#include "tailor/explain.h"
#include "tailor/live_segments.h"

namespace tailor {
namespace {

// Beyond this many profiles changed since the latest version, refreshing it is cheaper than
// re-deciding them one by one (a profile takes about 10 microseconds, a refresh at 1M about 1 s).
constexpr size_t kMaxRechecked = 100'000;

// Decodes only the event types the rules read (all of them when one reads any type).
std::function<bool(std::string_view)> EventFilter(const std::vector<const segments::Rule*>& rules,
                                                  std::vector<std::string>& types) {
  for (const segments::Rule* rule : rules) {
    std::optional<std::vector<std::string>> read = segments::EventTypesRead(*rule);
    if (!read) return {};
    types.insert(types.end(), read->begin(), read->end());
  }
  return [&types](std::string_view type) {
    return std::find(types.begin(), types.end(), type) != types.end();
  };
}

}  // namespace

Result<Service::Preview> Service::PreviewDefinition(const segments::SegmentDefinition& definition) {
  impl_->last_population_ms = SystemClockMillis();  // keeps the background refresher going
  TAILOR_ASSIGN_OR_RETURN(segments::Rule rule, segments::ParseRule(definition.rule));
  std::optional<segments::Rule> exclude;
  if (!definition.exclude.empty()) {
    TAILOR_ASSIGN_OR_RETURN(exclude, segments::ParseRule(definition.exclude));
  }
  std::vector<const segments::Rule*> rules = {&rule};
  if (exclude) rules.push_back(&*exclude);
  std::vector<std::string> fields;
  for (const segments::Rule* r : rules) {
    for (std::string& field : segments::RequiredEventFields(*r)) fields.push_back(field);
  }
  const Timestamp at = now();

  // The latest version and who changed since; a refresh when they are too many, or when the
  // version lacks a field the rules read.
  std::optional<snapshot::LiveSnapshot::Delta> delta =
      impl_->live_snapshot->LatestWithChanges(kMaxRechecked);
  const auto has_fields = [&fields](const snapshot::LiveSnapshot::Version& version) {
    return std::all_of(fields.begin(), fields.end(), [&version](const std::string& field) {
      return std::find(version.event_fields.begin(), version.event_fields.end(), field) !=
             version.event_fields.end();
    });
  };
  // A trait added since the version (a write declares new traits as it goes) is not in it.
  const auto has_traits = [&rules](const snapshot::LiveSnapshot::Version& version) {
    for (const segments::Rule* r : rules) {
      for (const std::string& trait : segments::TraitsRead(*r)) {
        if (version.snapshot->trait(trait) == nullptr) return false;
      }
    }
    return true;
  };
  if (!delta || !has_fields(delta->base) || !has_traits(delta->base)) {
    TAILOR_ASSIGN_OR_RETURN(snapshot::LiveSnapshot::Version version,
                            impl_->CurrentSnapshot(*engine_, rules, std::chrono::milliseconds(0)));
    delta = snapshot::LiveSnapshot::Delta{std::move(version), {}, 0};
  }

  // The whole population on the version.
  const std::shared_ptr<const segments::ItemCatalog> items = impl_->CurrentItems();
  std::map<std::string, segments::ProfileSet, std::less<>> referenced;
  const std::shared_ptr<const signals::StoreIndex> stores = impl_->CurrentStores();
  segments::EvalContext context{delta->base.snapshot.get(), at, items.get(), {}, nullptr};
  context.stores = stores.get();
  context.segment = [this, &referenced](std::string_view name) -> const segments::ProfileSet* {
    auto it = referenced.find(name);
    if (it != referenced.end()) return &it->second;
    auto members = Members(name);
    if (!members.ok()) return nullptr;
    return &referenced.emplace(std::string(name), std::move(members).value()).first->second;
  };
  TAILOR_ASSIGN_OR_RETURN(segments::ProfileSet matched, segments::Evaluate(rule, context));
  segments::ProfileSet excluded;
  if (exclude) {
    TAILOR_ASSIGN_OR_RETURN(excluded, segments::Evaluate(*exclude, context));
  }

  // The profiles changed since, re-decided from the working set (current as of every
  // acknowledged write), in parallel.
  const std::vector<ProfileId>& changed = delta->changed;
  std::vector<std::string> types;
  const std::function<bool(std::string_view)> keep = EventFilter(rules, types);
  constexpr uint8_t kMatched = 1, kExcluded = 2;
  std::vector<uint8_t> outcomes(changed.size(), 0);
  std::vector<Status> statuses(changed.size());
  tbb::enumerable_thread_specific<std::vector<EventInput>> pools;
  tbb::parallel_for(
      tbb::blocked_range<size_t>(0, changed.size()), [&](const tbb::blocked_range<size_t>& range) {
        std::vector<EventInput>& pool = pools.local();
        for (size_t i = range.begin(); i != range.end(); ++i) {
          statuses[i] = [&]() -> Status {
            auto resident =
                impl_->working_set->Get(changed[i], working_set::WorkingSet::Admit::kOnSecondMiss);
            if (!resident.ok()) {
              // Deleted or merged away since: in no segment.
              return resident.status().code() == StatusCode::kNotFound ? Status::Ok()
                                                                       : resident.status();
            }
            const ProfileView& view = (*resident)->view;
            if (view.anonymous) return Status::Ok();  // segments hold known profiles only
            TAILOR_ASSIGN_OR_RETURN(std::span<const EventInput> events,
                                    (*resident)->Events(pool, keep));
            segments::ProfileRow row{view.id, &view.traits, events, items.get(), at, {}};
            row.stores = stores.get();
            row.in_segment = [this, id = view.id](std::string_view name) {
              auto member = IsMember(name, id);
              return member.ok() && *member;
            };
            if (segments::Matches(rule, row)) outcomes[i] |= kMatched;
            if (exclude && segments::Matches(*exclude, row)) outcomes[i] |= kExcluded;
            return Status::Ok();
          }();
        }
      });
  for (const Status& status : statuses) TAILOR_RETURN_IF_ERROR(status);
  for (size_t i = 0; i < changed.size(); ++i) {
    (outcomes[i] & kMatched) ? matched.add(changed[i]) : matched.remove(changed[i]);
    (outcomes[i] & kExcluded) ? excluded.add(changed[i]) : excluded.remove(changed[i]);
  }

  Preview preview;
  preview.snapshot_at_ms = delta->base.refreshed_at_ms;
  preview.profiles_rechecked = changed.size();
  segments::SegmentResult& result = preview.result;
  result.matched = matched.cardinality();
  matched -= excluded;
  result.excluded = result.matched - matched.cardinality();
  result.members = std::move(matched);
  result.evaluated_at = at;
  return preview;
}

Result<analytics::SegmentProfile> Service::ProfileSegment(
    const segments::SegmentDefinition& segment, const segments::SegmentDefinition* versus,
    size_t top) {
  TAILOR_ASSIGN_OR_RETURN(Preview members, PreviewDefinition(segment));
  std::optional<Preview> comparison;
  if (versus != nullptr) {
    TAILOR_ASSIGN_OR_RETURN(comparison, PreviewDefinition(*versus));
  }
  // The attributes are read from the latest version: the profiles written since it count with
  // their earlier values (and those created since, not at all).
  const snapshot::LiveSnapshot::Version version = impl_->live_snapshot->Latest();
  if (version.snapshot == nullptr) return FailedPrecondition("no live snapshot yet");
  analytics::SegmentProfileOptions options;
  options.top = top;
  options.versus = comparison ? &comparison->result.members : nullptr;
  return analytics::ProfileSegment(*version.snapshot, members.result.members, options);
}

}  // namespace tailor

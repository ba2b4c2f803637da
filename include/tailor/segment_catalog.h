#pragma once

// The segment catalogue: named, versioned segment definitions with their objective, channels
// and exclusions (anti-segment), priority schemes, and what each evaluation found (members and
// size history). Durable in the store's definitions table (docs/storage_format.md).

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tailor/clock.h"
#include "tailor/json_writer.h"
#include "tailor/rule.h"
#include "tailor/schema.h"
#include "tailor/segments.h"
#include "tailor/status.h"
#include "tailor/store.h"

namespace tailor::segments {

enum class Objective : uint8_t { kAcquire, kEngage, kReactivate, kRetain };
std::string_view ObjectiveName(Objective objective);
std::optional<Objective> ParseObjective(std::string_view name);

// Channels a segment is addressed on.
inline constexpr std::string_view kChannels[] = {"email", "web", "app", "sms", "push", "store"};

struct SegmentDefinition {
  std::string name;
  std::string description;
  Objective objective = Objective::kEngage;
  std::string owner;
  std::vector<std::string> tags;
  std::vector<std::string> channels;  // from kChannels
  std::string rule;                   // rule text (docs/rule_language.md)
  std::string exclude;                // anti-segment: who is never in it; "" = nobody
  uint32_t version = 0;               // 1 for a new segment, +1 per update
  Timestamp updated_at = 0;
};

struct SchemeDefinition {
  std::string name;
  std::string description;
  // Segment names in priority order: a profile belongs to the first it is a member of.
  std::vector<std::string> members;
  bool otherwise = false;  // a last member, "everyone_else", takes every other profile
  uint32_t version = 0;
};

// What one evaluation of a segment found.
struct SegmentResult {
  ProfileSet members;     // matched by the rule and not excluded
  uint64_t matched = 0;   // matched by the rule, before the exclusions
  uint64_t excluded = 0;  // of those, removed by the anti-segment
  Timestamp evaluated_at = 0;
};

struct SizePoint {
  Timestamp evaluated_at;
  uint32_t version;
  uint64_t size, matched, excluded;
};

// One membership change: a profile entered or left a segment.
struct MembershipChange {
  uint64_t sequence = 0;  // position in the feed, from 1; read on with ReadChanges(sequence)
  std::string segment;
  uint32_t version = 0;  // the segment definition's version that decided it
  ProfileId profile = kNoProfile;
  bool entered = true;
  Timestamp at = 0;  // the evaluation's `now`
};

// Not thread-safe; callers serialize (the CLI runs one command; the server will hold a lock).
class SegmentCatalog {
 public:
  // `clock` stamps definitions' updated_at (the system clock if unset).
  explicit SegmentCatalog(store::Store& store, Clock clock = {})
      : store_(store), clock_(std::move(clock)) {}

  // Creates or replaces `definition.name` (a new version). The rule and the exclusions must
  // parse, check against `schema` and keep segment references acyclic.
  Status Put(SegmentDefinition definition, const Schema& schema);
  Status Delete(std::string_view name);
  Result<SegmentDefinition> Get(std::string_view name) const;
  // Version `version` of a segment (its history).
  Result<SegmentDefinition> GetVersion(std::string_view name, uint32_t version) const;
  // Every version of a segment, newest first.
  Result<std::vector<SegmentDefinition>> Versions(std::string_view name) const;
  Result<std::vector<SegmentDefinition>> List() const;

  Status PutScheme(SchemeDefinition scheme);
  Result<SchemeDefinition> GetScheme(std::string_view name) const;
  Result<std::vector<SchemeDefinition>> ListSchemes() const;

  // Evaluates every segment on `context.snapshot` (dependencies first), stores members and a
  // size-history point for each, appends every entry and exit since the last evaluation to the
  // change feed (in the same atomic write), and returns the results by name.
  Result<std::vector<std::pair<std::string, SegmentResult>>> EvaluateAll(EvalContext context);
  // Members stored by the last evaluation; kNotFound before the first.
  Result<ProfileSet> Members(std::string_view name) const;
  // Members now: those of the last evaluation with the changes fed since (live updates) applied.
  // Segments never evaluated have none.
  Result<std::map<std::string, ProfileSet>> CurrentMembers() const;
  Result<std::vector<SizePoint>> History(std::string_view name) const;

  // Appends `changes` to the feed in one atomic write and sets their sequence numbers.
  Status AppendChanges(std::vector<MembershipChange>& changes);
  // The feed sequence the stored members of `name` include (members/<name> is as of it).
  Result<uint64_t> MembersSequence(std::string_view name) const;

  // The change feed: up to `limit` changes after sequence `after` (0: from the start), in order.
  // Durable; a consumer keeps the last sequence it processed as its cursor.
  Result<std::vector<MembershipChange>> ReadChanges(uint64_t after, size_t limit) const;
  // The last sequence fed (0: none yet).
  Result<uint64_t> LatestSequence() const;
  // Entries and exits per segment and UTC day (days since the epoch) of the changes fed at or
  // after `since`: the first is found by bisection of the feed (its times only grow, the
  // evaluations' `now`), then at most the latest `max_changes` are read.
  struct DayCount {
    int64_t day = 0;
    uint64_t entered = 0, exited = 0;
  };
  Result<std::map<std::string, std::vector<DayCount>>> ChangesPerDay(Timestamp since,
                                                                     size_t max_changes) const;

 private:
  store::Store& store_;
  Clock clock_;
};

// The fields of a definition as JSON keys (name, version, description, objective, owner, tags,
// channels, rule, exclude, updated_at) into an object the caller opened: one spelling for the
// CLI's --json and the HTTP API.
void WriteDefinitionFields(JsonWriter& json, const SegmentDefinition& definition);

// Evaluates `definition` (rule minus exclusions) with `context`.
Result<SegmentResult> EvaluateDefinition(const SegmentDefinition& definition,
                                         const EvalContext& context);

}  // namespace tailor::segments

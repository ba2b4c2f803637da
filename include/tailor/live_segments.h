#pragma once

// Segment membership kept current between full evaluations: after a profile changes, only that
// profile is re-decided, for every segment, and whoever entered or left goes to the change feed.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tailor/explain.h"
#include "tailor/segment_catalog.h"

namespace tailor::segments {

// What changed about a profile: only segments whose rules read it are re-decided.
struct ProfileChange {
  std::vector<std::string> traits;       // trait names set or cleared
  std::vector<std::string> event_types;  // types of the events added
  bool everything = false;               // re-decide every segment (merges, deletes, unknown)
};

// What the segments decided for one profile (LiveSegments::Decide), not applied yet.
struct ProfileDecision {
  ProfileId id = kNoProfile;
  Timestamp now = 0;
  std::vector<std::pair<size_t, bool>> changed;  // segment (in dependency order), member now
};

// One writer applies updates; const methods may run in parallel with each other (not with a
// writer), so many profiles are decided at once and their decisions applied one by one.
class LiveSegments {
 public:
  // The catalogue's segments with the members of their last evaluation, brought up to date with
  // the change feed written since.
  static Result<std::unique_ptr<LiveSegments>> Load(const SegmentCatalog& catalog);

  // Re-decides every segment (dependencies first) for the profile in `row` (its traits and all
  // its events) and returns who entered or left, with sequence 0: SegmentCatalog::AppendChanges
  // makes them durable. The members here change at once.
  std::vector<MembershipChange> Update(const ProfileRow& row);
  // The same, re-deciding only the segments that read what `change` names, and those that refer
  // to a segment whose membership just changed.
  std::vector<MembershipChange> Update(const ProfileRow& row, const ProfileChange& change);
  // Update in two steps: the decisions alone (const: profiles in parallel), then applied.
  ProfileDecision Decide(const ProfileRow& row, const ProfileChange& change) const;
  std::vector<MembershipChange> Apply(const ProfileDecision& decision);

  // Whether any segment reads what `change` names (if not, the profile need not be loaded).
  bool Affects(const ProfileChange& change) const;
  bool reads_any_event_type() const { return any_event_type_; }
  const std::vector<std::string>& event_types_read() const { return all_event_types_; }

  // Window edges: the earliest time after `row.now` at which some segment's decision for this
  // profile can change with no new data, because one of its events or timestamp traits crosses
  // the edge of a time window ("purchased in the last 30 days" expires); nullopt if never.
  // Re-deciding the profile at that time keeps windowed segments exact without a full scan.
  std::optional<Timestamp> NextChange(const ProfileRow& row) const;
  // The same for every known profile of `snapshot` that has one (timers after a full
  // evaluation): (profile, time) pairs in profile order.
  std::vector<std::pair<ProfileId, Timestamp>> NextChanges(const snapshot::Snapshot& snapshot,
                                                           Timestamp now) const;
  // Takes `profile` out of every segment (deleted or merged away) and returns the exits.
  std::vector<MembershipChange> Remove(ProfileId profile, Timestamp now);

  const ProfileSet* members(std::string_view segment) const;
  // Segments `profile` is a member of now, in dependency order.
  std::vector<std::string> SegmentsOf(ProfileId profile) const;
  size_t segment_count() const { return segments_.size(); }
  std::vector<SegmentDefinition> definitions() const;
  // For each trait some segment reads, how many segments read it (rule or exclusions).
  std::map<std::string, size_t, std::less<>> TraitReaders() const;

 private:
  struct Live {
    SegmentDefinition definition;
    Rule rule;
    std::optional<Rule> exclude;
    ProfileSet members;
    // What the rule and the exclusions read.
    std::vector<std::string> traits;
    std::vector<std::string> event_types;
    bool any_event_type = false;
    std::vector<size_t> references;  // indexes of the segments it refers to (earlier in order)
  };
  std::vector<Live> segments_;  // dependencies first
  std::map<std::string, size_t, std::less<>> index_;
  // Window edges of all segments: an event of type T at time t (or a timestamp trait with value
  // t) may change a decision at t + d for each d here. "" = events of any type.
  std::map<std::string, std::vector<Timestamp>, std::less<>> event_edges_;
  std::map<std::string, std::vector<Timestamp>, std::less<>> trait_edges_;
  // Union of every segment's reads, for Affects.
  bool any_event_type_ = false;
  std::vector<std::string> all_traits_, all_event_types_;
};

// The traits `rule` reads.
std::vector<std::string> TraitsRead(const Rule& rule);
// The event types `rule` reads (to decode only those); nullopt when it reads events of any type.
std::optional<std::vector<std::string>> EventTypesRead(const Rule& rule);

}  // namespace tailor::segments

#pragma once

// A columnar, read-only copy of the store for the engines that scan every profile (segments,
// analytics): dense profile ids, one struct-of-arrays column per trait, dictionary-encoded
// strings, and each profile's events contiguous and in time order.

#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tailor/schema.h"
#include "tailor/status.h"
#include "tailor/types.h"

namespace tailor::store {
class Store;
}

namespace tailor::snapshot {

inline constexpr uint32_t kNullCode = UINT32_MAX;
// An event without that amount / quantity (an explicit 0 is a value like any other).
inline constexpr int64_t kNoAmount = INT64_MIN;
inline constexpr int32_t kNoQuantity = INT32_MIN;

// The distinct strings of one column, each stored once; codes are 0..size()-1 in order of first
// appearance (profile order, then time order).
class Dictionary {
 public:
  // Out of line, like the rest: Index is complete only in snapshot.cc.
  Dictionary();
  Dictionary(Dictionary&&) noexcept;
  Dictionary& operator=(Dictionary&&) noexcept;
  ~Dictionary();

  uint32_t Intern(std::string_view text);
  // kNullCode when absent.
  uint32_t Find(std::string_view text) const;
  std::string_view operator[](uint32_t code) const { return values_[code]; }
  size_t size() const { return values_.size(); }
  size_t memory_bytes() const;

 private:
  struct Index;
  std::vector<std::string> values_;
  std::unique_ptr<Index> index_;
};

// A bitmap over dense profile ids.
struct Bitmap {
  std::vector<uint64_t> words;
  void Resize(size_t bits) { words.assign((bits + 63) / 64, 0); }
  void Set(size_t bit) { words[bit / 64] |= uint64_t{1} << (bit % 64); }
  bool Test(size_t bit) const { return (words[bit / 64] >> (bit % 64)) & 1; }
  size_t Count() const;
};

// One trait over all profiles. Only the arrays of its type are filled; a profile without a
// value has its bit clear in `present` (and a zero / kNullCode in the array).
struct TraitColumn {
  std::string name;
  TraitType type = TraitType::kString;
  TraitCategory category = TraitCategory::kOther;
  Bitmap present;
  std::vector<int64_t> ints;           // kInt, kTimestamp (ms), kBool (0 / 1)
  std::vector<double> doubles;         // kDouble
  std::vector<uint32_t> codes;         // kString: code in `dictionary`
  std::vector<uint32_t> list_offsets;  // kStringList: profile i has list_codes[off[i], off[i+1])
  std::vector<uint32_t> list_codes;
  Dictionary dictionary;  // kString, kStringList

  size_t memory_bytes() const;
};

// A string field of events, dictionary-encoded (kNullCode: the event has none).
struct EventStringColumn {
  std::vector<uint32_t> codes;
  Dictionary dictionary;
};

// Events of all profiles: profile p's events are [offsets[p], offsets[p+1]), sorted by time.
struct EventColumns {
  std::vector<uint64_t> offsets;
  std::vector<Timestamp> time;
  std::vector<uint32_t> type;  // code in `types`
  // Amounts in micros (exact decimals, tailor/decimal.h); kNoAmount when none.
  std::vector<int64_t> value;  // EventValue: explicit, else price * quantity, else price
  std::vector<int64_t> price;
  std::vector<int32_t> quantity;  // kNoQuantity when none
  EventStringColumn item;         // item_id
  EventStringColumn category;
  Dictionary types;
  // Further string fields by name (order_id, channel, page_url, referrer, utm_source,
  // utm_medium, utm_campaign, country, city, and properties.<name>: an event property, such as
  // an order line's properties.brand), only those SnapshotOptions asked for.
  std::unordered_map<std::string, EventStringColumn> extra;

  size_t size() const { return time.size(); }
  size_t memory_bytes() const;
};

struct SnapshotOptions {
  // Extra event string fields to materialize (see EventColumns::extra).
  std::vector<std::string> event_fields = {"order_id", "page_url", "utm_campaign"};
  // Worker threads; 0 = one per core.
  int threads = 0;
  // How many events to expect (a capacity hint; Engine::BuildSnapshot fills it in).
  uint64_t expected_events = 0;
};

struct Assembler;  // src/snapshot/parts.h

// Immutable once built: safe to read from many threads.
class Snapshot {
 public:
  // Dense ids 0..profile_count()-1; some are not live (deleted, merged away, anonymous).
  uint32_t profile_count() const { return profile_count_; }
  // Known (identified) profiles that exist.
  const Bitmap& known() const { return known_; }
  // Profiles still anonymous (visitors never identified).
  const Bitmap& anonymous() const { return anonymous_; }
  std::string_view external_id(ProfileId id) const;
  // nullptr if the schema has no such trait.
  const TraitColumn* trait(std::string_view name) const;
  const std::vector<TraitColumn>& traits() const { return traits_; }
  const EventColumns& events() const { return events_; }
  size_t memory_bytes() const;

 private:
  friend struct Assembler;
  uint32_t profile_count_ = 0;
  Bitmap known_, anonymous_;
  std::string id_bytes_;
  std::vector<uint64_t> id_offsets_;
  std::vector<TraitColumn> traits_;
  EventColumns events_;
};

// Reads `store` into a snapshot of dense ids [0, profile_count). Reads a consistent point in
// time of each table; build from an engine (Engine::BuildSnapshot) to get all tables from one
// point. Cost: one sequential scan of the profiles and events tables, on `threads` threads.
Result<std::unique_ptr<Snapshot>> Build(const store::Store& store, const Schema& schema,
                                        uint32_t profile_count, const SnapshotOptions& options);

// A snapshot kept current for whole-population questions on a live store (previews, overlaps,
// evaluations), instead of one built from the store per question. It is held in parts of
// `part_profiles` ids each; the write path tells it which profiles changed (MarkChanged) and a
// refresh reads only those again from the store, at one read point, splicing their rows into
// copies of their parts (a part with more than a quarter of its profiles changed is read whole),
// then concatenates the parts again. New traits give every part empty columns (the profiles
// that set them were marked); a changed trait or new event fields asked for rebuild every part.
// Memory: the parts plus the published snapshot (about twice one snapshot).
class LiveSnapshot {
 public:
  explicit LiveSnapshot(const store::Store& store, uint32_t part_profiles = 16384);
  ~LiveSnapshot();
  LiveSnapshot(const LiveSnapshot&) = delete;
  LiveSnapshot& operator=(const LiveSnapshot&) = delete;

  // The profiles changed (were created, deleted, merged) by one commit: the next refresh reads
  // them again. One mark (marks()) per call. Thread-safe, cheap (the write path calls it after
  // every commit).
  void MarkChanged(std::span<const ProfileId> ids);
  void MarkChanged(ProfileId id) { MarkChanged(std::span<const ProfileId>(&id, 1)); }

  struct Version {
    std::shared_ptr<const Snapshot> snapshot;
    int64_t refreshed_at_ms = 0;  // wall clock of the read point: later writes are not in it
    size_t parts_rebuilt = 0;     // by the refresh that made it (read whole or spliced)
    size_t parts_spliced = 0;     // of those, spliced: only their changed profiles read again
    std::vector<std::string> event_fields;
    uint64_t marks_included = 0;  // MarkChanged calls made before its read point
  };
  // Brings the snapshot up to date with every commit before this call and publishes it: every
  // profile, under the current schema, with at least `event_fields`. One refresh at a
  // time; readers keep the version they hold.
  // `not_before_ms`: a version whose read point is at or after this wall-clock time will do, so a
  // caller that waited for another refresh takes its result instead of starting one more.
  // `source` says the schema and the profile count when the refresh starts (read after it takes
  // the marks, so that everything marked is in them).
  struct Source {
    std::shared_ptr<const Schema> schema;
    uint32_t profile_count = 0;
  };
  // `min_marks`: with `not_before_ms`, the waited-for version must also include that many marks
  // (marks() read by the caller: every write it must see).
  Result<Version> Refresh(const std::function<Source()>& source,
                          const std::vector<std::string>& event_fields,
                          int64_t not_before_ms = INT64_MAX, uint64_t min_marks = 0);
  // The last version published (no snapshot before the first refresh).
  Version Latest() const;
  // The last version published and the profiles marked since the marks it includes (sorted,
  // each once), so that a caller can bring an answer up to date profile by profile instead of
  // refreshing. nullopt before the first refresh, when more than `limit` changed, or when some
  // part is marked whole (its profiles are not known one by one).
  struct Delta {
    Version base;
    std::vector<ProfileId> changed;
    uint64_t marks = 0;  // marks() when it was taken: every write marked before is in `changed`
  };
  std::optional<Delta> LatestWithChanges(size_t limit) const;
  // MarkChanged calls so far: a version is current while this equals its marks_included.
  uint64_t marks() const;

  // What the refreshes did so far (for /metrics).
  struct Stats {
    uint64_t refreshes = 0;            // that published a new version
    uint64_t parts_read = 0;           // read whole from the store
    uint64_t parts_spliced = 0;        // only their changed profiles read again
    uint64_t profiles_read_again = 0;  // by splices
    double last_refresh_seconds = 0;
  };
  Stats stats() const;

 private:
  struct State;
  const store::Store& store_;
  const uint32_t part_profiles_;
  std::unique_ptr<State> state_;
};

}  // namespace tailor::snapshot

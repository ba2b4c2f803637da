#include <tbb/parallel_for.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <span>

#include "snapshot/parts.h"
#include "tailor/snapshot.h"

namespace tailor::snapshot {

struct LiveSnapshot::State {
  std::mutex refresh_mutex;  // one refresh at a time; guards everything below but `published`
  std::vector<Part> parts;   // part i: ids [i * part_profiles, (i + 1) * part_profiles)
  std::shared_ptr<const Schema> schema;  // what the parts were built with
  std::vector<std::string> fields;
  std::vector<int> extra_index;
  uint32_t profile_count = 0;

  // Guarded by changed_mutex: per part, the profiles changed since the last refresh took the
  // marks, or (whole: after a refresh failed) that the part is read again whole.
  mutable std::mutex changed_mutex;
  struct Changes {
    std::vector<ProfileId> ids;
    bool whole = false;
  };
  std::vector<Changes> changes;
  // What the refresh under way took from `changes`: changed since the published version too,
  // until that refresh publishes.
  std::vector<Changes> in_flight;
  uint64_t marks = 0;  // MarkChanged calls so far

  // A refresh failed: the parts it took marks from, and every part it was rebuilding (a splice
  // that succeeded gave its dictionaries to a part that is now thrown away), are read whole by
  // the next one.
  void Restore(const std::vector<Changes>& taken, const std::vector<size_t>& rebuilding) {
    std::lock_guard lock(changed_mutex);
    auto mark_whole = [this](size_t i) {
      if (changes.size() <= i) changes.resize(i + 1);
      changes[i].whole = true;
      std::vector<ProfileId>().swap(changes[i].ids);
    };
    for (size_t i = 0; i < taken.size(); ++i) {
      if (taken[i].whole || !taken[i].ids.empty()) mark_whole(i);
    }
    for (size_t i : rebuilding) mark_whole(i);
    in_flight.clear();
  }

  mutable std::mutex published_mutex;
  Version published;
  Stats stats;  // guarded by published_mutex
};

LiveSnapshot::LiveSnapshot(const store::Store& store, uint32_t part_profiles)
    : store_(store),
      part_profiles_(std::max<uint32_t>(part_profiles, 1)),
      state_(std::make_unique<State>()) {}

LiveSnapshot::~LiveSnapshot() = default;

void LiveSnapshot::MarkChanged(std::span<const ProfileId> ids) {
  std::lock_guard lock(state_->changed_mutex);
  auto& changes = state_->changes;
  for (ProfileId id : ids) {
    const size_t part = id / part_profiles_;
    if (part >= changes.size()) changes.resize(part + 1);
    State::Changes& part_changes = changes[part];
    if (part_changes.whole) continue;
    std::vector<ProfileId>& listed = part_changes.ids;
    listed.push_back(id);
    // Hot profiles are marked over and over: each profile once, so a part's list stays within
    // its size (sorting when it doubles keeps this amortized).
    if (listed.size() > 2 * part_profiles_) {
      std::sort(listed.begin(), listed.end());
      listed.erase(std::unique(listed.begin(), listed.end()), listed.end());
    }
  }
  ++state_->marks;
}

LiveSnapshot::Stats LiveSnapshot::stats() const {
  std::lock_guard lock(state_->published_mutex);
  return state_->stats;
}

uint64_t LiveSnapshot::marks() const {
  std::lock_guard lock(state_->changed_mutex);
  return state_->marks;
}

LiveSnapshot::Version LiveSnapshot::Latest() const {
  std::lock_guard lock(state_->published_mutex);
  return state_->published;
}

std::optional<LiveSnapshot::Delta> LiveSnapshot::LatestWithChanges(size_t limit) const {
  State& state = *state_;
  Delta delta;
  std::lock_guard changed_lock(state.changed_mutex);  // then published_mutex, as Refresh does
  for (const auto* lists : {&state.in_flight, &state.changes}) {
    for (const State::Changes& part : *lists) {
      if (part.whole) return std::nullopt;
      delta.changed.insert(delta.changed.end(), part.ids.begin(), part.ids.end());
      if (delta.changed.size() > limit) return std::nullopt;
    }
  }
  delta.marks = state.marks;
  {
    std::lock_guard published_lock(state.published_mutex);
    delta.base = state.published;
  }
  if (delta.base.snapshot == nullptr) return std::nullopt;
  std::sort(delta.changed.begin(), delta.changed.end());
  delta.changed.erase(std::unique(delta.changed.begin(), delta.changed.end()), delta.changed.end());
  return delta;
}

Result<LiveSnapshot::Version> LiveSnapshot::Refresh(const std::function<Source()>& source,
                                                    const std::vector<std::string>& event_fields,
                                                    int64_t not_before_ms, uint64_t min_marks) {
  State& state = *state_;
  std::lock_guard refresh_lock(state.refresh_mutex);
  if (not_before_ms != INT64_MAX) {  // perhaps the refresh waited for is recent enough
    Version latest = Latest();
    const bool has_fields = std::all_of(event_fields.begin(), event_fields.end(), [&](auto& f) {
      return std::find(latest.event_fields.begin(), latest.event_fields.end(), f) !=
             latest.event_fields.end();
    });
    if (latest.snapshot != nullptr && has_fields && latest.refreshed_at_ms >= not_before_ms &&
        latest.marks_included >= min_marks) {
      latest.parts_rebuilt = 0;
      latest.parts_spliced = 0;
      return latest;
    }
  }
  const auto started = std::chrono::steady_clock::now();
  // The time first: every write acknowledged before it was marked before the swap below, so
  // its part is rebuilt, and is in the read point taken after (a caller asking for a version
  // read no earlier than some time relies on this).
  const int64_t refreshed_at = std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count();
  // Which parts to rebuild: taken before the read point, so that a commit marked after this
  // (and perhaps not in the read point) is rebuilt by the next refresh.
  std::vector<State::Changes> changed;
  uint64_t marks = 0;
  {
    std::lock_guard lock(state.changed_mutex);
    changed.swap(state.changes);
    state.in_flight = changed;
    marks = state.marks;
  }
  // On an error from here on, what was taken is marked again.
  bool published = false;
  std::vector<size_t> rebuild;  // the parts this refresh reads again (whole or spliced)
  struct RestoreOnError {
    State& state;
    const std::vector<State::Changes>& taken;
    const std::vector<size_t>& rebuilding;
    const bool& published;
    ~RestoreOnError() {
      if (!published) state.Restore(taken, rebuilding);
    }
  } restore_on_error{state, changed, rebuild, published};
  // The schema and the profiles as of now, after the swap: a profile created (or a trait added)
  // by a commit marked before it is in them. Later ones are left to the next refresh.
  const Source now = source();
  const Schema& schema = *now.schema;
  const uint32_t profile_count = now.profile_count;
  std::vector<std::string> asked = state.fields;
  asked.insert(asked.end(), event_fields.begin(), event_fields.end());
  std::vector<std::string> fields;
  std::vector<int> extra_index;
  TAILOR_RETURN_IF_ERROR(ResolveFields(asked, fields, extra_index));
  // New fields or a trait changed: every part is read again. New traits only: every part gets
  // their columns, empty, and the profiles that have them were marked by the commits that set
  // them.
  const bool only_new_traits = state.schema != nullptr && OnlyAddsTraits(*state.schema, schema);
  const bool everything = fields != state.fields || !only_new_traits;
  if (!everything) {
    for (Part& part : state.parts) AddEmptyTraitColumns(schema, part);
  }
  const size_t part_count = (profile_count + part_profiles_ - 1) / part_profiles_;
  // Each part that changed is read again whole, or spliced: only its changed profiles (and the
  // ids added at its end) read again.
  std::vector<bool> splice(part_count, false);
  for (size_t i = 0; i < part_count; ++i) {
    const ProfileId end = std::min<uint64_t>(uint64_t{i + 1} * part_profiles_, profile_count);
    const bool built = i < state.parts.size() && state.parts[i].end != 0;
    const bool grown = built && state.parts[i].end != end;
    State::Changes* part_changes = i < changed.size() ? &changed[i] : nullptr;
    const bool marked =
        part_changes != nullptr && (part_changes->whole || !part_changes->ids.empty());
    if (!(everything || !built || grown || marked)) continue;
    rebuild.push_back(i);
    if (!built) continue;  // read whole
    const Part& old = state.parts[i];
    if (part_changes != nullptr) {
      std::vector<ProfileId>& ids = part_changes->ids;
      std::sort(ids.begin(), ids.end());
      ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
      // Ids at or past the part's old end are read with the tail.
      if (built) ids.erase(std::lower_bound(ids.begin(), ids.end(), old.end), ids.end());
    }
    // A splice seeks once per changed profile: beyond a quarter of the part, reading it whole is
    // cheaper. Splices only add dictionary entries: read a part whole once they outnumber its rows.
    splice[i] = !everything && built && (part_changes == nullptr || !part_changes->whole) &&
                (part_changes == nullptr || part_changes->ids.size() <= part_profiles_ / 4) &&
                DictionaryEntries(old) <= old.events.size() + (old.end - old.begin) + 1024;
  }
  if (rebuild.empty() && state.published.snapshot != nullptr &&
      profile_count == state.profile_count) {
    std::lock_guard changed_lock(state.changed_mutex);
    std::lock_guard lock(state.published_mutex);  // current as of now: nothing to read again
    state.in_flight.clear();
    published = true;
    state.published.refreshed_at_ms = refreshed_at;
    state.published.marks_included = marks;
    state.published.parts_rebuilt = 0;
    state.published.parts_spliced = 0;
    return state.published;
  }
  std::unique_ptr<store::ReadPoint> at = store_.TakeReadPoint();
  std::vector<Part> rebuilt(rebuild.size());
  tbb::parallel_for(size_t{0}, rebuild.size(), [&](size_t k) {
    const size_t i = rebuild[k];
    const ProfileId begin = static_cast<ProfileId>(i * part_profiles_);
    const ProfileId end = std::min<uint64_t>(uint64_t{i + 1} * part_profiles_, profile_count);
    if (splice[i]) {
      std::span<const ProfileId> ids;
      if (i < changed.size()) ids = changed[i].ids;
      SplicePart(store_, schema, *at, fields, extra_index, state.parts[i], ids, end, rebuilt[k]);
    } else {
      BuildPart(store_, schema, *at, fields, extra_index, begin, end, 0, rebuilt[k]);
    }
  });
  for (const Part& part : rebuilt) {
    // Nothing changed here; the parts taken are marked again (whole), so that the next refresh
    // retries them.
    if (!part.status.ok()) return part.status;
  }
  state.parts.resize(part_count);
  for (size_t k = 0; k < rebuild.size(); ++k) state.parts[rebuild[k]] = std::move(rebuilt[k]);
  state.fields = fields;
  state.extra_index = extra_index;
  state.schema = now.schema;
  state.profile_count = profile_count;
  Version version;
  version.snapshot = Assembler::Concatenate(state.parts, schema, profile_count, fields,
                                            /*release_parts=*/false);
  version.refreshed_at_ms = refreshed_at;
  version.marks_included = marks;
  version.parts_rebuilt = rebuild.size();
  version.parts_spliced = std::count(splice.begin(), splice.end(), true);
  version.event_fields = fields;
  size_t profiles_read_again = 0;
  for (size_t i : rebuild) {
    if (splice[i] && i < changed.size()) profiles_read_again += changed[i].ids.size();
  }
  {
    std::lock_guard changed_lock(state.changed_mutex);
    std::lock_guard lock(state.published_mutex);
    state.in_flight.clear();
    published = true;
    state.published = version;
    Stats& stats = state.stats;
    ++stats.refreshes;
    stats.parts_spliced += version.parts_spliced;
    stats.parts_read += version.parts_rebuilt - version.parts_spliced;
    stats.profiles_read_again += profiles_read_again;
    stats.last_refresh_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  }
  return version;
}

}  // namespace tailor::snapshot

// Signals and session intent kept per event: an observer folds each write's new events into the
// profile's LiveSignals (a working-set extension), so reading them is a lookup, not a fold of the
// whole history. The state is rebuilt from the profile's events when the slot is empty (the
// profile was loaded or evicted since) or its history was rewritten (a merge).

#include "service/live_signals.h"

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>

#include "service/service_impl.h"

namespace tailor {

void LiveSignals::Add(const EventInput& event) {
  signals.Add(event);
  session.Add(event);
  latest = std::max(latest, event.time);
}

void UpdateTimes::Record(uint64_t nanos) {
  // Eight buckets per power of two: about 9 % apart.
  const size_t bucket =
      nanos == 0
          ? 0
          : std::min(kBuckets - 1, static_cast<size_t>(std::log2(static_cast<double>(nanos)) * 8));
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
}

double UpdateTimes::QuantileMicros(double q) const {
  uint64_t total = 0;
  for (const auto& count : counts_) total += count.load(std::memory_order_relaxed);
  if (total == 0) return 0;
  const uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(total)));
  uint64_t seen = 0;
  for (size_t bucket = 0; bucket < kBuckets; ++bucket) {
    seen += counts_[bucket].load(std::memory_order_relaxed);
    if (seen >= std::max<uint64_t>(rank, 1)) {
      // The bucket's middle, in microseconds.
      return std::exp2((static_cast<double>(bucket) + 0.5) / 8) / 1000;
    }
  }
  return 0;
}

void UpdateTimes::Reset() {
  for (auto& count : counts_) count.store(0, std::memory_order_relaxed);
}

Result<std::unique_ptr<LiveSignals>> RebuildLiveSignals(const working_set::ResidentProfile& profile,
                                                        Timestamp session_gap_ms) {
  auto live =
      std::make_unique<LiveSignals>(session_gap_ms, signals::ProfileTimeZone(profile.view.traits));
  TAILOR_ASSIGN_OR_RETURN(std::vector<StoredEventView> events, profile.Events());
  for (const StoredEventView& event : events) live->Add(event);
  live->blocks = profile.event_blocks.size();
  return live;
}

namespace {

using SteadyClock = std::chrono::steady_clock;

uint64_t NanosSince(SteadyClock::time_point start) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now() - start).count());
}

class SignalsObserver final : public ProfileObserver {
 public:
  explicit SignalsObserver(Service::Impl& impl) : impl_(impl) {}

  bool Concerns(const segments::ProfileChange& change) const override {
    if (change.everything || !change.event_types.empty()) return true;
    // The time zone its usual hours are counted in.
    return std::any_of(change.traits.begin(), change.traits.end(), [](const std::string& name) {
      return name == "time_zone" || name == "geo_time_zone";
    });
  }

  // It decodes the new blocks itself: nothing of the shared decode.
  std::optional<std::vector<std::string>> EventTypesRead() const override {
    return std::vector<std::string>{};
  }

  Result<std::unique_ptr<Decision>> Decide(const ObservedProfile& observed) const override {
    if (observed.profile == nullptr) return std::unique_ptr<Decision>();  // gone with the profile
    const auto start = SteadyClock::now();
    const working_set::ResidentProfile& profile = *observed.profile;
    const auto* live = static_cast<const LiveSignals*>(profile.extension(impl_.signals_slot));
    const size_t blocks = profile.event_blocks.size();
    auto folded = std::make_unique<Folded>();
    // New blocks are appended; a merge rewrites the history (and is a change of everything); a
    // new time zone counts the usual hours again.
    if (live != nullptr && live->blocks <= blocks &&
        !(observed.change->everything && live->blocks != blocks) &&
        live->signals.options().time_zone == signals::ProfileTimeZone(profile.view.traits)) {
      if (live->blocks == blocks) return std::unique_ptr<Decision>();  // no new event
      folded->from = live->blocks;
      folded->to = blocks;
      TAILOR_ASSIGN_OR_RETURN(
          folded->events, DecodeEventBlocks(std::span<const std::string>(
                              profile.event_blocks.data() + folded->from, blocks - folded->from)));
      // An event older than one already folded (an offline device's, a backfill) would fold out
      // of order, and sessions and touches assume time order: the history is folded again.
      if (!folded->events.empty() && folded->events.front().time < live->latest) {
        folded->events.clear();
        TAILOR_ASSIGN_OR_RETURN(folded->rebuilt,
                                RebuildLiveSignals(profile, signals::kSessionGapMs));
      }
    } else {
      TAILOR_ASSIGN_OR_RETURN(folded->rebuilt, RebuildLiveSignals(profile, signals::kSessionGapMs));
    }
    folded->decode_nanos = NanosSince(start);
    return std::unique_ptr<Decision>(std::move(folded));
  }

  void Apply(ProfileId id, std::unique_ptr<Decision> decision) override {
    if (decision == nullptr) return;
    auto& folded = static_cast<Folded&>(*decision);
    if (folded.rebuilt != nullptr) {
      impl_.signal_rebuilds.fetch_add(1, std::memory_order_relaxed);
      // Each event folded counts its share of the whole fold.
      const uint64_t events = folded.rebuilt->signals.events();
      for (uint64_t i = 0; i < events; ++i) {
        impl_.signal_update_times.Record(folded.decode_nanos / events);
      }
      impl_.signal_events.fetch_add(events, std::memory_order_relaxed);
      impl_.working_set->UpdateExtension(
          id, impl_.signals_slot,
          [&](const working_set::ResidentProfile& resident,
              std::unique_ptr<working_set::Extension>& state) {
            // Only a fold of every block the profile has now (else rebuilt when next needed).
            if (resident.event_blocks.size() == folded.rebuilt->blocks) {
              state = std::move(folded.rebuilt);
            } else {
              state.reset();
            }
          });
      return;
    }
    impl_.working_set->UpdateExtension(
        id, impl_.signals_slot,
        [&](const working_set::ResidentProfile&, std::unique_ptr<working_set::Extension>& state) {
          auto* live = static_cast<LiveSignals*>(state.get());
          if (live == nullptr || live->blocks != folded.from) {
            state.reset();  // not what was decided on: rebuilt when next needed
            return;
          }
          // Each event's share of the decode, plus its own fold.
          const uint64_t decode_share =
              folded.events.empty() ? 0 : folded.decode_nanos / folded.events.size();
          for (const StoredEventView& event : folded.events) {
            const auto start = SteadyClock::now();
            live->Add(event);
            impl_.signal_update_times.Record(decode_share + NanosSince(start));
          }
          live->blocks = folded.to;
          impl_.signal_events.fetch_add(folded.events.size(), std::memory_order_relaxed);
        });
  }

  Status Finish() override { return Status::Ok(); }

 private:
  struct Folded : Decision {
    std::unique_ptr<LiveSignals> rebuilt;  // the whole history folded again
    size_t from = 0, to = 0;               // else: these blocks' events, to fold in
    std::vector<StoredEventView> events;
    uint64_t decode_nanos = 0;
  };

  Service::Impl& impl_;
};

}  // namespace

std::unique_ptr<ProfileObserver> MakeSignalsObserver(Service::Impl& impl) {
  return std::make_unique<SignalsObserver>(impl);
}

const LiveSignals* CurrentLiveSignals(const Service::Impl& impl,
                                      const working_set::ResidentProfile& profile) {
  const auto* live = static_cast<const LiveSignals*>(profile.extension(impl.signals_slot));
  return live != nullptr && live->blocks == profile.event_blocks.size() ? live : nullptr;
}

Result<LiveSignalsRead> ReadLiveSignals(Service::Impl& impl, std::string_view id) {
  // A lookup from outside the write path: admitted to memory on its second miss.
  TAILOR_ASSIGN_OR_RETURN(working_set::ProfileHandle profile,
                          impl.working_set->Get(id, working_set::WorkingSet::Admit::kOnSecondMiss));
  return ReadLiveSignals(impl, std::move(profile));
}

LiveSignalsRead ReadLiveSignals(Service::Impl& impl, working_set::ProfileHandle profile) {
  LiveSignalsRead read;
  read.profile = std::move(profile);
  if ((read.live = CurrentLiveSignals(impl, *read.profile)) != nullptr) return read;
  auto folded = RebuildLiveSignals(*read.profile, signals::kSessionGapMs);
  if (!folded.ok()) {  // a block that does not decode: an empty state, as for no events
    folded = std::make_unique<LiveSignals>(signals::kSessionGapMs,
                                           signals::ProfileTimeZone(read.profile->view.traits));
  }
  read.folded = std::move(folded).value();
  read.live = read.folded.get();
  // Kept only if the resident profile still has the blocks folded (they are only ever appended
  // to, merges included) and nobody has set a state meanwhile; a copy, as the kept one changes
  // with later writes.
  impl.working_set->UpdateExtension(
      read.profile->view.id, impl.signals_slot,
      [&](const working_set::ResidentProfile& resident,
          std::unique_ptr<working_set::Extension>& state) {
        if (state == nullptr && resident.event_blocks.size() == read.folded->blocks) {
          state = read.folded->Clone();
        }
      });
  return read;
}

}  // namespace tailor

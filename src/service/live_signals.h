#pragma once

// Signals and the session under way, kept per profile in the working set (an Extension) and
// updated per event by an observer on the write path (live_signals.cc); Service::Signals and
// Service::Intent read them instead of folding the history.

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>

#include "tailor/intent.h"
#include "tailor/signal_values.h"
#include "tailor/signals.h"
#include "tailor/working_set.h"

namespace tailor {

struct LiveSignals final : working_set::Extension {
  // `time_zone`: the profile's (signals::ProfileTimeZone), for its usual hours and weekdays.
  LiveSignals(Timestamp session_gap_ms, std::string time_zone) : session(session_gap_ms) {
    signals::SignalOptions options;
    options.session_gap_ms = session_gap_ms;
    options.time_zone = std::move(time_zone);
    signals = signals::SignalState(options);
  }
  void Add(const EventInput& event);
  std::unique_ptr<Extension> Clone() const override { return std::make_unique<LiveSignals>(*this); }
  size_t bytes() const override { return signals.bytes() + session.bytes(); }

  signals::SignalState signals;
  intent::SessionTracker session;
  size_t blocks = 0;     // the profile's event blocks folded in (new ones are appended)
  Timestamp latest = 0;  // the latest event time folded in
};

// The profile's whole history folded.
Result<std::unique_ptr<LiveSignals>> RebuildLiveSignals(const working_set::ResidentProfile& profile,
                                                        Timestamp session_gap_ms);

// How long one event's update took (its share of decoding the new block, and its fold), as a
// histogram of eight buckets per power of two of nanoseconds; lock-free.
class UpdateTimes {
 public:
  void Record(uint64_t nanos);
  double QuantileMicros(double q) const;  // 0 when empty; within about 5 %
  void Reset();

 private:
  static constexpr size_t kBuckets = 8 * 40;
  std::array<std::atomic<uint64_t>, kBuckets> counts_{};
};

}  // namespace tailor

#pragma once

// Where tailor reads the time: one injectable clock, milliseconds since the epoch (UTC). The
// system clock by default; tests, demos and `tailor serve --now` pin it. Every component that
// stamps a time (trait and record times, segment versions, window edges) takes
// the clock of the service that owns it, so a pinned clock pins all of them (API keys, created
// by the CLI, read the system clock).

#include <functional>

#include "tailor/types.h"

namespace tailor {

using Clock = std::function<Timestamp()>;

// The system clock.
Timestamp SystemClockMillis();

// `clock` if set, else the system clock.
inline Timestamp Now(const Clock& clock) { return clock ? clock() : SystemClockMillis(); }

}  // namespace tailor

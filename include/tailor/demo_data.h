#pragma once

#include <cstdint>
#include <string>

#include "tailor/status.h"

namespace tailor::demo {

// A synthetic customer base in the shape of the shared benchmark generator (shared/bench), small
// enough to ship in the library: `tailor demo` uses it to show segments without any input data.
struct DemoDataOptions {
  std::string out_dir;        // created if missing
  uint32_t profiles = 20000;  // 1..9,999,999 (ids have 7 digits)
  uint32_t items = 500;       // 20..999,999 (every category gets an item)
  uint64_t seed = 42;
  std::string now = "2026-11-01T00:00:00Z";  // all event times are in [now-730 days, now)
};

struct DemoDataSummary {
  uint64_t profiles = 0, events = 0, items = 0;
};

// Writes out_dir/profiles.csv, out_dir/events.csv, out_dir/items.csv. Same arguments ->
// byte-identical files on every platform (integer-only arithmetic, own random generator), and
// profile i's rows do not depend on how many profiles follow it.
Result<DemoDataSummary> WriteDemoData(const DemoDataOptions& options);

}  // namespace tailor::demo

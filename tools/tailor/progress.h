#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "tailor/run_control.h"

namespace tailor::cli {

// A one-line progress bar on stderr, shown only when stderr is a terminal.
class ProgressBar {
 public:
  explicit ProgressBar(std::string label);
  void Update(uint64_t done_bytes, uint64_t total_bytes, uint64_t rows);
  // Long analytics: the stage running and the fraction of the whole run done.
  void Stage(std::string_view stage, double fraction);
  void Finish();

 private:
  std::string label_;
  bool enabled_;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

// Progress bar and Ctrl-C for long work: the returned control draws `bar` and is cancelled by
// SIGINT (the work stops at its next safe point, with nothing written, instead of the process
// dying mid-way). Call once per process.
RunControl InterruptibleRun(ProgressBar& bar);

// Peak resident memory of this process, in bytes.
uint64_t PeakRssBytes();

}  // namespace tailor::cli

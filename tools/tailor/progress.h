#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace tailor::cli {

// A one-line progress bar on stderr, shown only when stderr is a terminal.
class ProgressBar {
 public:
  explicit ProgressBar(std::string label);
  void Update(uint64_t done_bytes, uint64_t total_bytes, uint64_t rows);
  void Finish();

 private:
  std::string label_;
  bool enabled_;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

// Peak resident memory of this process, in bytes.
uint64_t PeakRssBytes();

}  // namespace tailor::cli

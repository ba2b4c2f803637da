#include "progress.h"

#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>

namespace tailor::cli {

ProgressBar::ProgressBar(std::string label)
    : label_(std::move(label)),
      enabled_(::isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()) {}

void ProgressBar::Update(uint64_t done_bytes, uint64_t total_bytes, uint64_t rows) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  const double fraction = total_bytes > 0 ? static_cast<double>(done_bytes) / total_bytes : 0;
  const double seconds = std::chrono::duration<double>(now - start_).count();
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(fraction * kWidth);
  std::string bar(filled, '#');
  bar.resize(kWidth, '.');
  std::fprintf(stderr, "\r%s [%s] %3.0f%%  %llu rows  %.0f rows/s ", label_.c_str(), bar.c_str(),
               fraction * 100, static_cast<unsigned long long>(rows),
               seconds > 0 ? rows / seconds : 0.0);
  std::fflush(stderr);
}

void ProgressBar::Stage(std::string_view stage, double fraction) {
  if (!enabled_) return;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  constexpr int kWidth = 30;
  std::string bar(static_cast<int>(fraction * kWidth), '#');
  bar.resize(kWidth, '.');
  std::fprintf(stderr, "\r\033[K%s [%s] %3.0f%%  %.*s  %.0f s ", label_.c_str(), bar.c_str(),
               fraction * 100, static_cast<int>(stage.size()), stage.data(), seconds);
  std::fflush(stderr);
}

namespace {
std::atomic<bool> interrupted{false};
}  // namespace

RunControl InterruptibleRun(ProgressBar& bar) {
  std::signal(SIGINT, [](int) { interrupted.store(true); });
  RunControl control;
  control.cancel = &interrupted;
  control.on_progress = [&bar](std::string_view stage, double fraction) {
    bar.Stage(stage, fraction);
  };
  return control;
}

void ProgressBar::Finish() {
  if (enabled_) std::fprintf(stderr, "\r\033[K");
}

uint64_t PeakRssBytes() {
  struct rusage usage {};
  ::getrusage(RUSAGE_SELF, &usage);
  return static_cast<uint64_t>(usage.ru_maxrss) * 1024;
}

}  // namespace tailor::cli

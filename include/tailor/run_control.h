#pragma once

// Progress and cancellation of long work (analytics over the whole population). The work calls
// Check() at safe points, where it has written nothing yet, and returns its kCancelled status
// as is; Report() says how far it is. A front end sets `cancel` (Ctrl-C), a `deadline` (a
// request's timeout) and `on_progress` (a progress bar); a default RunControl never stops.

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string_view>

#include "tailor/status.h"

namespace tailor {

struct RunControl {
  // stage: what is running ("k-means restart 2/3"); fraction: of the whole run, in [0, 1].
  std::function<void(std::string_view stage, double fraction)> on_progress;
  const std::atomic<bool>* cancel = nullptr;  // set by another thread or a signal handler
  std::optional<std::chrono::steady_clock::time_point> deadline;

  // kCancelled when asked to stop or past the deadline.
  Status Check() const;
  void Report(std::string_view stage, double fraction) const {
    if (on_progress) on_progress(stage, fraction);
  }
};

// Check() of `control` when there is one (work that may run without).
inline Status CheckRun(const RunControl* control) {
  return control == nullptr ? Status::Ok() : control->Check();
}

}  // namespace tailor

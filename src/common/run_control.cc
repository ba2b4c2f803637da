#include "tailor/run_control.h"

namespace tailor {

Status RunControl::Check() const {
  if (cancel != nullptr && cancel->load(std::memory_order_relaxed)) {
    return Cancelled("cancelled; nothing was written");
  }
  if (deadline && std::chrono::steady_clock::now() > *deadline) {
    return Cancelled("took longer than the time allowed; nothing was written");
  }
  return Status::Ok();
}

}  // namespace tailor

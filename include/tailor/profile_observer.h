#pragma once

// Profile observers: what reacts, on the write path, to a profile that changed. After every write
// (and when a window-edge timer fires) the service hands each touched profile, with what
// changed, to the observers registered in order: live segment membership first; signals, intent,
// decisions shown and contact caps later. For each write:
//   1. Decide, in parallel over profiles: from the resident profile alone (the working set's
//      copy and its decoded events), without changing shared state;
//   2. Apply, one profile at a time in the order of the write, observers in registration order;
//   3. Finish, once per observer (e.g. membership feeds its entries and exits).
// An observer keeps its own per-profile state in the working set, in an Extension slot it
// registers (working_set.h), so the write path itself never changes for a new observer.

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tailor/live_segments.h"
#include "tailor/status.h"
#include "tailor/types.h"
#include "tailor/working_set.h"

namespace tailor {

// One touched profile as observers see it.
struct ObservedProfile {
  ProfileId id = kNoProfile;
  // Null when the profile is gone (deleted, or merged into another).
  const working_set::ResidentProfile* profile = nullptr;
  // Its events in time order: those of the types some concerned observer reads.
  std::span<const EventInput> events;
  const segments::ProfileChange* change = nullptr;
  Timestamp now = 0;
};

class ProfileObserver {
 public:
  // What Decide found for one profile, for Apply; null: nothing to apply.
  class Decision {
   public:
    virtual ~Decision() = default;
  };

  virtual ~ProfileObserver() = default;
  // Whether `change` concerns this observer (a profile no observer is concerned by is not even
  // loaded). A change with `everything` set (merges, deletes, timers) concerns every observer
  // that keeps something per profile.
  virtual bool Concerns(const segments::ProfileChange& change) const = 0;
  // The event types it reads (the others are not decoded for it); nullopt: every type.
  virtual std::optional<std::vector<std::string>> EventTypesRead() const = 0;
  // Step 1; called concurrently for distinct profiles.
  virtual Result<std::unique_ptr<Decision>> Decide(const ObservedProfile& profile) const = 0;
  // Step 2.
  virtual void Apply(ProfileId id, std::unique_ptr<Decision> decision) = 0;
  // Step 3.
  virtual Status Finish() = 0;
};

}  // namespace tailor

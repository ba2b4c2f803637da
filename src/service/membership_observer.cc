// Live segment membership as the first profile observer: each touched profile is re-decided for
// the segments that read what changed (LiveSegments::Decide, in parallel), the decisions applied
// in order with the profile's next window edge as its timer, and the entries and exits fed once
// per write.

#include <mutex>
#include <shared_mutex>

#include "service/service_impl.h"

namespace tailor {
namespace {

class MembershipObserver final : public ProfileObserver {
 public:
  MembershipObserver(Service::Impl& impl, segments::SegmentCatalog& catalog)
      : impl_(impl), catalog_(catalog) {}

  bool Concerns(const segments::ProfileChange& change) const override {
    std::shared_lock lock(impl_.live_mutex);
    return impl_.live->Affects(change);
  }

  std::optional<std::vector<std::string>> EventTypesRead() const override {
    std::shared_lock lock(impl_.live_mutex);
    if (impl_.live->reads_any_event_type()) return std::nullopt;
    return impl_.live->event_types_read();
  }

  Result<std::unique_ptr<Decision>> Decide(const ObservedProfile& observed) const override {
    auto decided = std::make_unique<Decided>();
    decided->now = observed.now;
    if (observed.profile == nullptr) {
      decided->gone = true;  // deleted or merged away: out of every segment
      return std::unique_ptr<Decision>(std::move(decided));
    }
    // Segments hold known profiles only.
    if (observed.profile->view.anonymous) return std::unique_ptr<Decision>();
    segments::ProfileRow row{observed.id,     &observed.profile->view.traits,
                             observed.events, impl_.items.get(),
                             observed.now,    {}};
    row.stores = impl_.stores.get();
    std::shared_lock lock(impl_.live_mutex);  // reads the current members; Apply writes them
    decided->decision = impl_.live->Decide(row, *observed.change);
    decided->next_change = impl_.live->NextChange(row);
    return std::unique_ptr<Decision>(std::move(decided));
  }

  void Apply(ProfileId id, std::unique_ptr<Decision> decision) override {
    if (decision == nullptr) return;
    const Decided& decided = static_cast<const Decided&>(*decision);
    std::unique_lock lock(impl_.live_mutex);
    if (decided.gone) {
      auto removed = impl_.live->Remove(id, decided.now);
      changes_.insert(changes_.end(), removed.begin(), removed.end());
      impl_.timers.Cancel(id);
      return;
    }
    auto changes = impl_.live->Apply(decided.decision);
    if (decided.next_change) {
      impl_.timers.Schedule(id, *decided.next_change);
    } else {
      impl_.timers.Cancel(id);
    }
    ++impl_.live_updates;
    changes_.insert(changes_.end(), changes.begin(), changes.end());
  }

  Status Finish() override {
    std::vector<segments::MembershipChange> changes = std::move(changes_);
    changes_.clear();
    return impl_.Feed(catalog_, changes);
  }

 private:
  struct Decided : Decision {
    Timestamp now = 0;
    bool gone = false;
    segments::ProfileDecision decision;
    std::optional<Timestamp> next_change;  // the profile's next window edge
  };

  Service::Impl& impl_;
  segments::SegmentCatalog& catalog_;
  std::vector<segments::MembershipChange> changes_;  // applied, not fed yet
};

}  // namespace

std::unique_ptr<ProfileObserver> MakeMembershipObserver(Service::Impl& impl,
                                                        segments::SegmentCatalog& catalog) {
  return std::make_unique<MembershipObserver>(impl, catalog);
}

}  // namespace tailor

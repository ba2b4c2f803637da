#include "tailor/live_segments.h"

#include <algorithm>

namespace tailor::segments {

Result<std::unique_ptr<LiveSegments>> LiveSegments::Load(const SegmentCatalog& catalog) {
  TAILOR_ASSIGN_OR_RETURN(std::vector<SegmentDefinition> all, catalog.List());
  TAILOR_ASSIGN_OR_RETURN(auto current, catalog.CurrentMembers());
  auto live = std::unique_ptr<LiveSegments>(new LiveSegments());
  // Order by dependencies, as EvaluateAll does.
  std::vector<bool> placed(all.size(), false);
  while (live->segments_.size() < all.size()) {
    bool progressed = false;
    for (size_t i = 0; i < all.size(); ++i) {
      if (placed[i]) continue;
      TAILOR_ASSIGN_OR_RETURN(Rule rule, ParseRule(all[i].rule));
      std::optional<Rule> exclude;
      if (!all[i].exclude.empty()) {
        TAILOR_ASSIGN_OR_RETURN(exclude, ParseRule(all[i].exclude));
      }
      bool ready = true;
      for (const Rule* r : {&rule, exclude ? &*exclude : nullptr}) {
        if (r == nullptr) continue;
        for (const std::string& reference : SegmentReferences(*r)) {
          ready = ready && live->index_.count(reference) > 0;
        }
      }
      if (!ready) continue;
      placed[i] = true;
      progressed = true;
      live->index_.emplace(all[i].name, live->segments_.size());
      live->segments_.push_back(
          Live{all[i], std::move(rule), std::move(exclude), std::move(current[all[i].name])});
    }
    if (!progressed) return FailedPrecondition("segments refer to missing or cyclic segments");
  }
  return live;
}

std::vector<MembershipChange> LiveSegments::Update(const ProfileRow& row) {
  std::vector<MembershipChange> changes;
  ProfileRow evaluated = row;
  // A reference reads the membership decided just before, in dependency order.
  evaluated.in_segment = [this, id = row.id](std::string_view name) {
    const ProfileSet* set = members(name);
    return set != nullptr && set->contains(id);
  };
  for (Live& segment : segments_) {
    bool member = Matches(segment.rule, evaluated);
    if (member && segment.exclude) member = !Matches(*segment.exclude, evaluated);
    if (member == segment.members.contains(row.id)) continue;
    if (member) {
      segment.members.add(row.id);
    } else {
      segment.members.remove(row.id);
    }
    changes.push_back(
        {0, segment.definition.name, segment.definition.version, row.id, member, row.now});
  }
  return changes;
}

const ProfileSet* LiveSegments::members(std::string_view segment) const {
  auto it = index_.find(segment);
  return it == index_.end() ? nullptr : &segments_[it->second].members;
}

}  // namespace tailor::segments

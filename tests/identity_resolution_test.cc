// The identity rules (identity/resolution.h) on a directory held in maps: who owns an event's
// ids, when an anonymous id becomes an alias, when a visitor is merged, and that the first link
// wins. The engine carries them out on its staged writes (engine_test, working_set_test).

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "identity/resolution.h"

namespace tailor::identity {
namespace {

class MapDirectory final : public Directory {
 public:
  Result<ProfileId> FindKnown(std::string_view id) override { return Find(known_, id); }
  Result<ProfileId> FindAnonymous(std::string_view id) override { return Find(anonymous_, id); }
  Result<ProfileId> Create(std::string_view id, bool anonymous) override {
    const ProfileId profile = next_++;
    (anonymous ? anonymous_ : known_)[std::string(id)] = profile;
    is_anonymous_[profile] = anonymous;
    return profile;
  }
  Result<bool> IsAnonymous(ProfileId profile) override { return is_anonymous_.at(profile); }
  Status AddAlias(ProfileId known, std::string_view anonymous_id) override {
    anonymous_[std::string(anonymous_id)] = known;
    return Status::Ok();
  }
  Status Merge(ProfileId into, ProfileId from) override {
    merges.emplace_back(into, from);
    for (auto& [id, profile] : anonymous_) {
      if (profile == from) profile = into;
    }
    is_anonymous_.erase(from);
    return Status::Ok();
  }
  size_t profiles() const { return is_anonymous_.size(); }
  std::vector<std::pair<ProfileId, ProfileId>> merges;

 private:
  static ProfileId Find(const std::map<std::string, ProfileId, std::less<>>& ids,
                        std::string_view id) {
    auto it = ids.find(id);
    return it == ids.end() ? kNoProfile : it->second;
  }
  std::map<std::string, ProfileId, std::less<>> known_, anonymous_;
  std::map<ProfileId, bool> is_anonymous_;
  ProfileId next_ = 0;
};

ProfileId OwnerOf(MapDirectory& directory, std::string_view user, std::string_view anonymous) {
  Result<ProfileId> owner = Owner(directory, user, anonymous);
  EXPECT_TRUE(owner.ok());
  return owner.ok() ? *owner : kNoProfile;
}

TEST(IdentityResolution, AVisitorIsOneAnonymousProfileUntilItSignsInThenItIsMerged) {
  MapDirectory directory;
  const ProfileId visitor = OwnerOf(directory, "", "v1");
  EXPECT_EQ(OwnerOf(directory, "", "v1"), visitor);
  EXPECT_TRUE(*directory.IsAnonymous(visitor));
  const ProfileId jeff = OwnerOf(directory, "jeff", "v1");  // signs in on the same device
  EXPECT_NE(jeff, visitor);
  ASSERT_EQ(directory.merges.size(), 1u);
  EXPECT_EQ(directory.merges[0], std::make_pair(jeff, visitor));
  EXPECT_EQ(OwnerOf(directory, "", "v1"), jeff);  // the anonymous id now names Jeff
  EXPECT_EQ(directory.profiles(), 1u);
}

TEST(IdentityResolution, AnAnonymousIdNobodyHoldsBecomesAnAliasWithoutAMerge) {
  MapDirectory directory;
  const ProfileId ann = OwnerOf(directory, "ann", "");
  Result<bool> merged = Link(directory, ann, "v2");
  ASSERT_TRUE(merged.ok());
  EXPECT_FALSE(*merged);
  EXPECT_EQ(OwnerOf(directory, "", "v2"), ann);
  EXPECT_TRUE(directory.merges.empty());
}

TEST(IdentityResolution, TheFirstLinkWinsOnASharedDevice) {
  MapDirectory directory;
  const ProfileId ann = OwnerOf(directory, "ann", "tablet");
  const ProfileId bob = OwnerOf(directory, "bob", "tablet");  // same device, another customer
  EXPECT_NE(ann, bob);
  EXPECT_EQ(OwnerOf(directory, "", "tablet"), ann);
  EXPECT_TRUE(directory.merges.empty());  // two known customers are never merged by a device
  Result<bool> merged = Link(directory, bob, "tablet");
  ASSERT_TRUE(merged.ok());
  EXPECT_FALSE(*merged);
}

TEST(IdentityResolution, LinkSaysWhetherItMerged) {
  MapDirectory directory;
  OwnerOf(directory, "", "v3");
  const ProfileId cid = OwnerOf(directory, "cid", "");
  Result<bool> merged = Link(directory, cid, "v3");
  ASSERT_TRUE(merged.ok());
  EXPECT_TRUE(*merged);
  merged = Link(directory, cid, "v3");  // already his
  ASSERT_TRUE(merged.ok());
  EXPECT_FALSE(*merged);
}

}  // namespace
}  // namespace tailor::identity

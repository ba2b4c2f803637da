// Live (per-profile) membership updates agree with full evaluations, survive a reopen through
// the change feed, and feed every change exactly once.

#include "tailor/live_segments.h"

#include <gtest/gtest.h>

#include <random>

#include "tailor/engine.h"
#include "test_util.h"

namespace tailor::segments {
namespace {

using ::tailor::testing::TempDir;

constexpr Timestamp kNow = 1'800'000'000'000;
constexpr Timestamp kDay = 86'400'000;

TEST(LiveSegments, PerProfileUpdatesMatchFullEvaluation) {
  std::mt19937_64 rng(42);
  TempDir dir;
  auto opened = Engine::Open(dir.path(), EngineOptions{});
  ASSERT_TRUE(opened.ok());
  Engine& engine = **opened;
  std::vector<ProfileInput> profiles;
  for (int i = 0; i < 200; ++i) {
    profiles.push_back({"c" + std::to_string(i),
                        {{"age", {TraitType::kInt, int64_t(18 + rng() % 60)}},
                         {"vip", {TraitType::kBool, rng() % 5 == 0}}}});
  }
  BatchReport report;
  ASSERT_OK(engine.UpsertProfiles(profiles, report));
  SegmentCatalog catalog(engine.store());
  auto define = [&](std::string name, std::string rule, std::string exclude = "") {
    SegmentDefinition d;
    d.name = std::move(name);
    d.rule = std::move(rule);
    d.exclude = std::move(exclude);
    return catalog.Put(d, engine.schema());
  };
  ASSERT_OK(define("buyers_30d", "count(purchase, last 30 days) >= 1"));
  ASSERT_OK(define("big_spenders", "sum(purchase.spend, last 365 days) > 200", "vip = true"));
  ASSERT_OK(define("adult_buyers", "in segment \"buyers_30d\" and age >= 30"));
  ASSERT_OK(define("abandoners", "last(add_to_cart, last 7 days) not followed by purchase"));
  auto full = [&]() -> Result<std::map<std::string, ProfileSet>> {
    TAILOR_ASSIGN_OR_RETURN(auto snap, engine.BuildSnapshot());
    EvalContext context;
    context.snapshot = snap.get();
    context.now = kNow;
    TAILOR_ASSIGN_OR_RETURN(auto results, catalog.EvaluateAll(context));
    std::map<std::string, ProfileSet> sets;
    for (auto& [name, result] : results) sets[name] = std::move(result.members);
    return sets;
  };
  ASSERT_OK(full().status());  // the starting point: members stored, nobody has events yet
  ASSERT_OK_AND_ASSIGN(auto initial, catalog.ReadChanges(0, 1'000'000));
  EXPECT_TRUE(initial.empty());
  ASSERT_OK_AND_ASSIGN(auto live, LiveSegments::Load(catalog));
  ASSERT_EQ(live->segment_count(), 4u);
  const std::vector<std::string> types = {"purchase", "add_to_cart", "page_view"};
  size_t fed = 0;
  for (int i = 0; i < 600; ++i) {
    EventInput event;
    event.id = "e" + std::to_string(i);
    event.profile_id = "c" + std::to_string(rng() % 60);
    event.type = types[rng() % 3];
    event.time = kNow - int64_t(rng() % (40 * kDay));
    event.price = Decimal::FromInteger(rng() % 100);
    event.quantity = int64_t(1 + rng() % 3);
    BatchReport events_report;
    ASSERT_OK(engine.IngestEvents(std::vector<EventInput>{event}, events_report));
    // The live path: re-decide this one profile.
    ASSERT_OK_AND_ASSIGN(ProfileView view, engine.GetProfile(event.profile_id, 0));
    ASSERT_OK_AND_ASSIGN(std::vector<StoredEventView> history, engine.Events(view.id));
    const ProfileRow row{view.id, &view.traits, history, nullptr, kNow, {}};
    // Only the segments that read this event's type (or refer to one that changed) re-decide.
    std::vector<MembershipChange> changes =
        live->Update(row, ProfileChange{{}, {event.type}, false});
    fed += changes.size();
    ASSERT_OK(catalog.AppendChanges(changes));
    ASSERT_OK_AND_ASSIGN(auto so_far, catalog.ReadChanges(0, 1'000'000));
    ASSERT_EQ(so_far.size(), fed) << "after event " << i << " with " << changes.size()
                                  << " changes";
  }
  EXPECT_GT(fed, 20u);
  // A reload replays the feed onto the stored members: the same members as live.
  ASSERT_OK_AND_ASSIGN(auto reloaded, LiveSegments::Load(catalog));
  ASSERT_OK_AND_ASSIGN(auto before_full, catalog.ReadChanges(0, 1'000'000));
  // A full evaluation agrees with the live members, and feeds nothing new.
  ASSERT_OK_AND_ASSIGN(auto sets, full());
  for (const auto& [name, set] : sets) {
    SCOPED_TRACE(name);
    ASSERT_NE(live->members(name), nullptr);
    EXPECT_EQ(*live->members(name), set);
    EXPECT_EQ(*reloaded->members(name), set);
  }
  ASSERT_OK_AND_ASSIGN(auto after_full, catalog.ReadChanges(0, 1'000'000));
  EXPECT_EQ(after_full.size(), before_full.size());
  EXPECT_EQ(before_full.size(), fed);
}

}  // namespace
}  // namespace tailor::segments

// The service keeps segment membership live: writes re-decide the profiles they touch, and
// window-edge timers expire windowed memberships as the clock moves, with no full evaluation.
// Checked against independent full evaluations at every step.

#include "tailor/service.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <random>
#include <set>

#include "common/time.h"
#include "full_evaluation.h"
#include "tailor/explain.h"
#include "tailor/intent_simulation.h"
#include "tailor/json_writer.h"
#include "tailor/recommender.h"
#include "tailor/surveys.h"
#include "test_util.h"

namespace tailor {
namespace {

using ::tailor::testing::ExpectLiveEqualsFull;
using ::tailor::testing::FullEvaluation;
using ::tailor::testing::TempDir;

constexpr Timestamp kStart = 1'800'000'000'000;
constexpr Timestamp kHour = 3'600'000;
constexpr Timestamp kDay = 24 * kHour;

Timestamp ParseTime(std::string_view text) { return *ParseIsoTimestamp(text); }

// The trait's value if it holds a T, else a description of what it holds.
template <typename T>
std::optional<T> TraitAs(const TraitMap& traits, std::string_view name) {
  for (const auto& [key, value] : traits) {
    if (key != name) continue;
    if (const T* held = std::get_if<T>(&value.value)) return *held;
    ADD_FAILURE() << "trait " << name << " has another type";
    return std::nullopt;
  }
  ADD_FAILURE() << "no trait " << name;
  return std::nullopt;
}

struct Clock {
  std::shared_ptr<std::atomic<Timestamp>> now = std::make_shared<std::atomic<Timestamp>>(kStart);
  std::function<Timestamp()> fn() const {
    return [now = now] { return now->load(); };
  }
};

std::unique_ptr<Service> OpenService(const std::string& dir, const Clock& clock) {
  ServiceOptions options;
  options.clock = clock.fn();
  auto service = Service::Open(dir, std::move(options));
  EXPECT_TRUE(service.ok()) << service.status().ToString();
  return service.ok() ? std::move(service).value() : nullptr;
}

TEST(Service, WindowTimersExpireMembershipsWithoutFullEvaluation) {
  std::mt19937_64 rng(7);
  TempDir dir;
  Clock clock;
  auto service = OpenService(dir.path(), clock);
  ASSERT_NE(service, nullptr);
  // Profiles with signup times and a history spread over the last 40 days.
  std::vector<ProfileInput> profiles;
  std::vector<EventInput> events;
  for (int i = 0; i < 120; ++i) {
    const std::string id = "c" + std::to_string(i);
    profiles.push_back(
        {id,
         {{"signup_ts",
           {TraitType::kTimestamp, kStart - static_cast<Timestamp>(rng() % (40 * kDay))}},
          {"age", {TraitType::kInt, static_cast<int64_t>(18 + rng() % 50)}}}});
    const int count = static_cast<int>(rng() % 5);
    for (int e = 0; e < count; ++e) {
      EventInput event;
      event.id = id + "-e" + std::to_string(e);
      event.profile_id = id;
      event.type = rng() % 2 ? "purchase" : "add_to_cart";
      event.time = kStart - static_cast<Timestamp>(rng() % (40 * kDay));
      event.price = Decimal::FromInteger(10 + rng() % 100);
      event.quantity = 1;
      events.push_back(event);
    }
  }
  BatchReport report;
  ASSERT_OK(service->UpsertProfiles(profiles, report));
  ASSERT_OK(service->IngestEvents(events, report));
  auto define = [&](std::string name, std::string rule) {
    segments::SegmentDefinition definition;
    definition.name = std::move(name);
    definition.rule = std::move(rule);
    return service->PutSegment(definition);
  };
  ASSERT_OK(define("buyers_7d", "count(purchase, last 7 days) >= 1"));
  ASSERT_OK(define("abandoners", "last(add_to_cart, last 3 days) not followed by purchase"));
  ASSERT_OK(define("new_signups", "signup_ts within last 10 days"));
  ASSERT_OK(
      define("lapsed", "ever(purchase, before 14 days ago) and never(purchase, last 14 days)"));
  ASSERT_OK(define("first_purchase_recent", "first(purchase) between 2 and 9 days ago"));
  ASSERT_OK(define("young_buyers", "in segment \"buyers_7d\" and age < 40"));
  const uint64_t evaluations = service->counters().evaluations;
  EXPECT_GT(service->timer_count(), 0u);
  ExpectLiveEqualsFull(*service, clock.now->load(), "at start");

  // Move the clock in uneven steps over 30 days, with a few new events now and then.
  int step = 0;
  for (Timestamp now = kStart; now < kStart + 30 * kDay;) {
    now += static_cast<Timestamp>(rng() % (2 * kDay)) + 1;
    clock.now->store(now);
    if (++step % 3 == 0) {
      EventInput event;
      event.id = "late-" + std::to_string(step);
      event.profile_id = "c" + std::to_string(rng() % 120);
      event.type = rng() % 2 ? "purchase" : "add_to_cart";
      event.time = now - static_cast<Timestamp>(rng() % kDay);
      ASSERT_OK(service->IngestEvents(std::vector<EventInput>{event}, report));
    }
    ASSERT_OK(service->AdvanceTime().status());
    ExpectLiveEqualsFull(*service, now, "at step " + std::to_string(step));
  }
  EXPECT_EQ(service->counters().evaluations, evaluations) << "no full evaluation was needed";
  EXPECT_GT(service->counters().timer_updates, 0u);

  // The feed replayed on reopen gives the same members (with no evaluation at open).
  const Timestamp end = clock.now->load();
  std::map<std::string, segments::ProfileSet> before;
  for (const auto& definition : *service->catalog().List()) {
    before[definition.name] = *service->Members(definition.name);
  }
  service.reset();
  ServiceOptions options;
  options.clock = clock.fn();
  options.evaluate_on_open = false;
  auto reopened = Service::Open(dir.path(), options);
  ASSERT_TRUE(reopened.ok());
  for (const auto& [name, members] : before) {
    EXPECT_TRUE(*(*reopened)->Members(name) == members) << name;
  }
  ExpectLiveEqualsFull(**reopened, end, "after reopen");
}

TEST(Service, WritesUpdateMembershipAndFeedEachChangeOnce) {
  TempDir dir;
  Clock clock;
  auto service = OpenService(dir.path(), clock);
  ASSERT_NE(service, nullptr);
  BatchReport report;
  ASSERT_OK(service->UpsertProfiles(
      std::vector<ProfileInput>{{"ada", {{"age", {TraitType::kInt, int64_t{36}}}}}}, report));
  segments::SegmentDefinition over_40{
      "over_40", "", segments::Objective::kEngage, "", {}, {}, "age > 40", "", 0, 0};
  ASSERT_OK(service->PutSegment(over_40));
  auto ada = service->engine().Resolve("ada");
  ASSERT_TRUE(ada.ok());
  EXPECT_FALSE(*service->IsMember("over_40", *ada));
  const uint64_t before = service->last_sequence();
  ASSERT_OK(service->UpsertProfiles(
      std::vector<ProfileInput>{{"ada", {{"age", {TraitType::kInt, int64_t{41}}}}}}, report));
  EXPECT_TRUE(*service->IsMember("over_40", *ada));
  // Still over 40: no change, nothing fed.
  ASSERT_OK(service->UpsertProfiles(
      std::vector<ProfileInput>{{"ada", {{"age", {TraitType::kInt, int64_t{42}}}}}}, report));
  auto changes = service->catalog().ReadChanges(before, 100);
  ASSERT_TRUE(changes.ok());
  ASSERT_EQ(changes->size(), 1u);
  EXPECT_TRUE(changes->front().entered);
  EXPECT_EQ(changes->front().segment, "over_40");
  EXPECT_EQ(service->last_sequence(), changes->front().sequence);
  // Deleting the profile feeds its exit.
  ASSERT_OK(service->DeleteProfile("ada"));
  changes = service->catalog().ReadChanges(before, 100);
  ASSERT_EQ(changes->size(), 2u);
  EXPECT_FALSE(changes->back().entered);
  EXPECT_EQ(service->Members("over_40")->cardinality(), 0u);
}

TEST(Service, CollectStoresSegmentMessagesOnceAndMergesIdentity) {
  TempDir dir;
  Clock clock;
  auto service = OpenService(dir.path(), clock);
  ASSERT_NE(service, nullptr);
  const std::string body = R"({"batch": [
    {"type": "page", "messageId": "m1", "anonymousId": "anon-1", "timestamp": "2027-01-15T08:00:00Z",
     "properties": {"url": "https://shop.example/p/1?utm_source=newsletter&utm_campaign=jan"},
     "context": {"userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"}},
    {"type": "track", "messageId": "m2", "anonymousId": "anon-1", "event": "Product Added",
     "timestamp": "2027-01-15T08:01:00Z", "properties": {"product_id": "sku-9", "price": 30}},
    {"type": "identify", "messageId": "m3", "anonymousId": "anon-1", "userId": "u-1",
     "traits": {"plan": "pro", "age": 33}, "timestamp": "2027-01-15T08:02:00Z"},
    {"type": "track", "messageId": "m4", "userId": "u-1", "event": "Order Completed",
     "timestamp": "2027-01-15T08:03:00Z",
     "properties": {"order_id": "o-1", "revenue": 30, "product_id": "sku-9"},
     "context": {"userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"}},
    {"type": "track", "messageId": "m5", "event": "No Owner"}
  ], "sentAt": "2027-01-15T08:04:00Z"})";
  clock.now->store(ParseTime("2027-01-15T08:04:00Z"));
  auto report = service->Collect(body, std::nullopt);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->received, 5u);
  EXPECT_EQ(report->accepted, 4u);
  ASSERT_EQ(report->errors.size(), 1u);
  EXPECT_EQ(report->errors[0].index, 4u);

  auto profile = service->engine().GetProfile("u-1", 10);
  ASSERT_TRUE(profile.ok());
  EXPECT_EQ(profile->event_count, 3u);  // page + add_to_cart (merged) + purchase
  EXPECT_EQ(TraitAs<std::string>(profile->traits, "plan"), "pro");
  EXPECT_EQ(TraitAs<int64_t>(profile->traits, "age"), 33);
  EXPECT_EQ(TraitAs<int64_t>(profile->traits, "sessions"), 1);
  EXPECT_EQ(TraitAs<std::string>(profile->traits, "device_type"), "mobile");
  EXPECT_EQ(TraitAs<std::string>(profile->traits, "first_touch_source"), "newsletter");
  auto events = service->engine().Events(profile->id);
  ASSERT_TRUE(events.ok());
  std::vector<std::string> types;
  for (const auto& event : *events) types.push_back(event.type);
  EXPECT_EQ(types, (std::vector<std::string>{"page_view", "add_to_cart", "purchase"}));

  // The same batch again: nothing new is stored.
  auto again = service->Collect(body, std::nullopt);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->accepted + again->duplicates, 4u);
  EXPECT_EQ(service->engine().GetProfile("u-1", 0)->event_count, 3u);
  // A later visit, an hour on, starts a second session.
  clock.now->store(ParseTime("2027-01-15T09:30:00Z"));
  auto later = service->Collect(
      R"({"userId": "u-1", "event": "Product Viewed", "messageId": "m6",
          "timestamp": "2027-01-15T09:30:00Z"})",
      collect::MessageKind::kTrack);
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(later->accepted, 1u);
  profile = service->engine().GetProfile("u-1", 0);
  EXPECT_EQ(TraitAs<int64_t>(profile->traits, "sessions"), 2);
}

// An order's products array is stored as its lines; the report counts messages, not lines: a
// re-sent order is one duplicate, and a line the engine refuses refuses its message by path.
TEST(Service, CollectStoresAnOrdersLinesAndReportsPerMessage) {
  TempDir dir;
  Clock clock;
  auto service = OpenService(dir.path(), clock);
  ASSERT_NE(service, nullptr);
  clock.now->store(ParseTime("2027-01-15T08:04:00Z"));
  const std::string body = R"({"batch": [
    {"type": "track", "messageId": "o1", "userId": "u-1", "event": "Order Completed",
     "timestamp": "2027-01-15T08:03:00Z", "properties": {"order_id": "A", "revenue": 12,
     "products": [{"product_id": "p1", "price": 0.1, "quantity": 3},
                  {"product_id": "p2", "price": 0.7, "quantity": 1}]}},
    {"type": "track", "messageId": "v1", "userId": "u-1", "event": "Product Viewed",
     "timestamp": "2027-01-15T08:03:30Z", "properties": {"product_id": "p3"}},
    {"type": "track", "messageId": "o2", "userId": "u-2", "event": "Order Completed",
     "timestamp": "2027-01-15T08:03:00Z", "properties": {"order_id": "B",
     "products": [{"product_id": "p1", "price": 1, "quantity": 1},
                  {"product_id": "p2", "price": 1, "quantity": 99999999999}]}}
  ]})";
  auto report = service->Collect(body, std::nullopt);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->received, 3u);
  EXPECT_EQ(report->accepted, 2u);
  ASSERT_EQ(report->errors.size(), 1u);
  EXPECT_EQ(report->errors[0].index, 2u);
  EXPECT_EQ(report->errors[0].path, "batch[2].properties.products[1]");
  EXPECT_NE(report->errors[0].message.find("quantity"), std::string::npos);
  auto profile = service->engine().GetProfile("u-1", 0);
  ASSERT_TRUE(profile.ok());
  EXPECT_EQ(profile->event_count, 3u);  // two lines and the view
  const state::Aggregate* purchases = profile->behaviour.ForType("purchase");
  ASSERT_NE(purchases, nullptr);
  EXPECT_EQ(purchases->count, 2u);
  EXPECT_EQ(purchases->value_sum.ToString(), "1");  // 0.1 × 3 + 0.7: the revenue is not added
  // The refused order is taken whole or not at all: none of its lines is stored.
  EXPECT_FALSE(service->engine().GetProfile("u-2", 0).ok());

  auto again = service->Collect(body, std::nullopt);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->accepted, 0u);
  EXPECT_EQ(again->duplicates, 2u);  // the order (both lines) and the view
  EXPECT_EQ(again->errors.size(), 1u);
  EXPECT_EQ(service->engine().GetProfile("u-1", 0)->event_count, 3u);
}

// What a visitor tells before signing in is kept on their anonymous profile (and its technographic
// and touch traits), readable and usable by rules, and merged into the known profile on
// identify: trait by trait, the value set later wins.
TEST(Service, AnonymousTraitsAreKeptAndMergedOnIdentifyByTime) {
  TempDir dir;
  Clock clock;
  auto service = OpenService(dir.path(), clock);
  ASSERT_NE(service, nullptr);
  clock.now->store(ParseTime("2027-01-15T09:00:00Z"));
  // The known profile's traits, set at 08:00 (plan) and 08:30 (city).
  auto known = service->Collect(R"({"batch": [
    {"type": "identify", "userId": "u-1", "messageId": "k1", "timestamp": "2027-01-15T08:00:00Z",
     "traits": {"plan": "free", "age": 40}},
    {"type": "identify", "userId": "u-1", "messageId": "k2", "timestamp": "2027-01-15T08:30:00Z",
     "traits": {"city": "Madrid"}}]})",
                                std::nullopt);
  ASSERT_TRUE(known.ok());
  EXPECT_EQ(known->accepted, 2u);
  // The visitor, not signed in, at 08:15 answers a survey and browses from a campaign.
  const std::string ua =
      "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
      "Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
  auto visit = service->Collect(R"({"batch": [
    {"type": "identify", "anonymousId": "v-1", "messageId": "a1",
     "timestamp": "2027-01-15T08:15:00Z", "traits": {"plan": "pro", "golf_level": "beginner"}},
    {"type": "page", "anonymousId": "v-1", "messageId": "a2", "timestamp": "2027-01-15T08:16:00Z",
     "properties": {"url": "https://shop.example/golf?utm_source=google&utm_medium=cpc"},
     "context": {"userAgent": ")" + ua +
                                    R"("}}]})",
                                std::nullopt);
  ASSERT_TRUE(visit.ok()) << visit.status().ToString();
  EXPECT_EQ(visit->accepted, 2u);
  EXPECT_TRUE(visit->errors.empty());
  auto visitor = service->engine().GetProfile("v-1", 0);
  ASSERT_TRUE(visitor.ok());
  EXPECT_TRUE(visitor->anonymous);
  EXPECT_EQ(TraitAs<std::string>(visitor->traits, "plan"), "pro");
  EXPECT_EQ(TraitAs<std::string>(visitor->traits, "golf_level"), "beginner");
  EXPECT_EQ(TraitAs<std::string>(visitor->traits, "device_type"), "mobile");
  EXPECT_EQ(TraitAs<std::string>(visitor->traits, "last_touch_source"), "google");
  EXPECT_EQ(TraitAs<std::string>(visitor->traits, "first_touch_source"), "google");
  EXPECT_EQ(TraitAs<int64_t>(visitor->traits, "sessions"), 1);
  // A rule decides on the visitor's traits (explain works for anonymous profiles).
  auto events = service->engine().Events(visitor->id);
  ASSERT_TRUE(events.ok());
  auto rule = segments::ParseRule(R"(golf_level = "beginner" and device_type = "mobile")");
  ASSERT_TRUE(rule.ok());
  const segments::ProfileRow row{
      visitor->id, &visitor->traits, *events, nullptr, ParseTime("2027-01-15T09:00:00Z"), {}};
  EXPECT_TRUE(segments::Matches(*rule, row));

  // Sign-in: identify links the visitor. plan: the visitor's 08:15 answer is later than the
  // known 08:00 one; city stays; age stays; golf_level comes over.
  auto sign_in = service->Collect(R"({"type": "identify", "userId": "u-1", "anonymousId": "v-1",
      "messageId": "s1", "timestamp": "2027-01-15T08:20:00Z"})",
                                  collect::MessageKind::kIdentify);
  ASSERT_TRUE(sign_in.ok());
  EXPECT_EQ(sign_in->accepted, 1u);
  auto merged = service->engine().GetProfile("u-1", 0);
  ASSERT_TRUE(merged.ok());
  EXPECT_FALSE(merged->anonymous);
  EXPECT_EQ(TraitAs<std::string>(merged->traits, "plan"), "pro");
  EXPECT_EQ(TraitAs<std::string>(merged->traits, "city"), "Madrid");
  EXPECT_EQ(TraitAs<int64_t>(merged->traits, "age"), 40);
  EXPECT_EQ(TraitAs<std::string>(merged->traits, "golf_level"), "beginner");
  EXPECT_EQ(TraitAs<std::string>(merged->traits, "device_type"), "mobile");
  EXPECT_EQ(merged->event_count, 1u);
  // Computed from the merged history: the visitor's campaign visit is the first touch.
  EXPECT_EQ(TraitAs<std::string>(merged->traits, "first_touch_source"), "google");
  EXPECT_EQ(TraitAs<int64_t>(merged->traits, "sessions"), 1);
  // The anonymous id now reads the known profile; a later anonymous identify updates it.
  EXPECT_EQ(service->engine().GetProfile("v-1", 0)->external_id, "u-1");
  auto later = service->Collect(R"({"anonymousId": "v-1", "messageId": "a3",
      "timestamp": "2027-01-15T08:50:00Z", "traits": {"golf_level": "intermediate"}})",
                                collect::MessageKind::kIdentify);
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(TraitAs<std::string>(service->engine().GetProfile("u-1", 0)->traits, "golf_level"),
            "intermediate");
  // An older message does not overwrite a newer value.
  auto stale = service->Collect(R"({"userId": "u-1", "messageId": "old",
      "timestamp": "2027-01-15T07:00:00Z", "traits": {"city": "Lyon"}})",
                                collect::MessageKind::kIdentify);
  ASSERT_TRUE(stale.ok());
  EXPECT_EQ(TraitAs<std::string>(service->engine().GetProfile("u-1", 0)->traits, "city"), "Madrid");
}

// Events naming a profile by its user id and by a visitor id linked to it (before, or by an
// event of the same batch) count its sessions once.
TEST(Service, SessionsCountOncePerProfileWhateverIdTheEventsCarry) {
  TempDir dir;
  Clock clock;
  auto service = OpenService(dir.path(), clock);
  ASSERT_NE(service, nullptr);
  clock.now->store(ParseTime("2027-01-15T12:00:00Z"));
  auto sent = service->Collect(R"({"batch": [
    {"type": "track", "userId": "u-3", "anonymousId": "v-3", "event": "Signed In",
     "messageId": "s1", "timestamp": "2027-01-15T08:00:00Z"},
    {"type": "page", "anonymousId": "v-3", "messageId": "p1", "timestamp": "2027-01-15T09:00:00Z"},
    {"type": "page", "userId": "u-3", "messageId": "p2", "timestamp": "2027-01-15T10:00:00Z"},
    {"type": "page", "anonymousId": "v-4", "messageId": "p3", "timestamp": "2027-01-15T08:00:00Z"},
    {"type": "track", "userId": "u-4", "anonymousId": "v-4", "event": "Signed In",
     "messageId": "s2", "timestamp": "2027-01-15T11:00:00Z"}]})",
                               std::nullopt);
  ASSERT_TRUE(sent.ok()) << sent.status().ToString();
  EXPECT_EQ(sent->accepted, 5u);
  // u-3: visits at 08:00, 09:00 (as v-3) and 10:00, an hour apart: three sessions.
  EXPECT_EQ(TraitAs<int64_t>(service->engine().GetProfile("u-3", 0)->traits, "sessions"), 3);
  // v-4 was linked by an event after its own: one profile, two visits.
  auto u4 = service->engine().GetProfile("u-4", 0);
  ASSERT_TRUE(u4.ok());
  EXPECT_EQ(u4->event_count, 2u);
  EXPECT_EQ(TraitAs<int64_t>(u4->traits, "sessions"), 2);
  // Later, the linked visitor id alone: a fourth session for u-3.
  auto later = service->Collect(R"({"anonymousId": "v-3", "messageId": "p4",
      "timestamp": "2027-01-15T11:30:00Z"})",
                                collect::MessageKind::kPage);
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(TraitAs<int64_t>(service->engine().GetProfile("u-3", 0)->traits, "sessions"), 4);
}

// One clock: a service with a pinned clock stamps records, trait times and definitions with it.
TEST(Service, EverythingTheServiceStampsComesFromItsClock) {
  TempDir dir;
  Clock clock;
  clock.now->store(ParseTime("2031-05-05T05:05:05Z"));
  auto service = OpenService(dir.path(), clock);
  ASSERT_NE(service, nullptr);
  ProfileInput profile{"u-9", {{"plan", {TraitType::kString, std::string("pro")}}}};
  BatchReport report;
  ASSERT_TRUE(service->UpsertProfiles(std::span(&profile, 1), report).ok());
  auto view = service->engine().GetProfile("u-9", 0);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->created_at, ParseTime("2031-05-05T05:05:05Z"));
  EXPECT_EQ(view->updated_at, ParseTime("2031-05-05T05:05:05Z"));
  // The trait was set "now": a message dated a minute earlier does not replace it.
  auto older = service->Collect(R"({"userId": "u-9", "messageId": "o",
      "timestamp": "2031-05-05T05:04:05Z", "traits": {"plan": "free"}})",
                                collect::MessageKind::kIdentify);
  ASSERT_TRUE(older.ok());
  EXPECT_EQ(TraitAs<std::string>(service->engine().GetProfile("u-9", 0)->traits, "plan"), "pro");
  segments::SegmentDefinition definition;
  definition.name = "pro";
  definition.rule = R"(plan = "pro")";
  ASSERT_TRUE(service->PutSegment(definition).ok());
  EXPECT_EQ(service->catalog().Get("pro")->updated_at, ParseTime("2031-05-05T05:05:05Z"));
}

// A visitor's older answer loses to the known profile's newer one when they merge.
TEST(Service, TheKnownProfilesNewerTraitWinsOverAnOlderAnonymousOne) {
  TempDir dir;
  Clock clock;
  auto service = OpenService(dir.path(), clock);
  ASSERT_NE(service, nullptr);
  clock.now->store(ParseTime("2027-01-15T09:00:00Z"));
  ASSERT_TRUE(service
                  ->Collect(R"({"batch": [
    {"type": "identify", "anonymousId": "v-2", "messageId": "a", "timestamp": "2027-01-15T08:00:00Z",
     "traits": {"plan": "pro"}},
    {"type": "identify", "userId": "u-2", "messageId": "b", "timestamp": "2027-01-15T08:30:00Z",
     "traits": {"plan": "team"}},
    {"type": "page", "anonymousId": "v-2", "messageId": "p1", "timestamp": "2027-01-15T08:05:00Z",
     "properties": {"url": "https://shop.example/?utm_source=newsletter"}},
    {"type": "page", "userId": "u-2", "messageId": "p2", "timestamp": "2027-01-15T08:36:00Z",
     "properties": {"url": "https://shop.example/?utm_source=facebook"}},
    {"type": "alias", "previousId": "v-2", "userId": "u-2", "messageId": "c",
     "timestamp": "2027-01-15T08:40:00Z"}]})",
                            std::nullopt)
                  .ok());
  auto merged = service->engine().GetProfile("u-2", 0);
  ASSERT_TRUE(merged.ok());
  EXPECT_EQ(TraitAs<std::string>(merged->traits, "plan"), "team");
  EXPECT_EQ(service->engine().GetProfile("v-2", 0)->external_id, "u-2");
  // The earliest touch of the merged history is the first touch; visits 31 min apart: 2 sessions.
  EXPECT_EQ(TraitAs<std::string>(merged->traits, "first_touch_source"), "newsletter");
  EXPECT_EQ(TraitAs<std::string>(merged->traits, "last_touch_source"), "facebook");
  EXPECT_EQ(TraitAs<int64_t>(merged->traits, "sessions"), 2);
}

// A known profile whose history has no touch is searched once; a later identify that merges an
// anonymous history holding a campaign visit still finds that first touch.
TEST(Service, FirstTouchFromHistoryMergedAfterAnUntouchedWrite) {
  TempDir dir;
  Clock clock;
  auto service = OpenService(dir.path(), clock);
  ASSERT_NE(service, nullptr);
  clock.now->store(ParseTime("2027-01-15T10:00:00Z"));
  for (const char* id : {"t1", "t2"}) {  // two writes: the second one trusts the first search
    auto sent = service->Collect(R"({"userId":"u-9","event":"Product Viewed","messageId":")" +
                                     std::string(id) + R"(","timestamp":"2027-01-15T09:00:00Z"})",
                                 collect::MessageKind::kTrack);
    ASSERT_TRUE(sent.ok() && sent->accepted == 1);
  }
  auto before = service->engine().GetProfile("u-9", 0);
  ASSERT_TRUE(before.ok());
  for (const auto& [name, value] : before->traits) EXPECT_NE(name, "first_touch_source");
  // The visitor came earlier, anonymously, from a campaign; identifying merges that history.
  auto visit = service->Collect(
      R"({"anonymousId":"anon-9","messageId":"v1","timestamp":"2027-01-15T08:00:00Z",
          "properties":{"url":"https://shop.example/?utm_source=spring_mail&utm_medium=email"}})",
      collect::MessageKind::kPage);
  ASSERT_TRUE(visit.ok() && visit->accepted == 1);
  auto identified = service->Collect(
      R"({"anonymousId":"anon-9","userId":"u-9","messageId":"i1","timestamp":"2027-01-15T10:00:00Z"})",
      collect::MessageKind::kIdentify);
  ASSERT_TRUE(identified.ok() && identified->accepted == 1);
  auto after = service->engine().GetProfile("u-9", 0);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->event_count, 3u);
  EXPECT_EQ(TraitAs<std::string>(after->traits, "first_touch_source"), "spring_mail");
  EXPECT_EQ(TraitAs<std::string>(after->traits, "first_touch_medium"), "email");
}

}  // namespace
}  // namespace tailor

namespace tailor {
namespace {

// Signals and session intent are kept per event in the working set (an observer folds each
// write's new events): after every write they equal the fold of the profile's whole stored
// history, for known profiles and a visitor, and again after the visitor is merged on sign-in
// (its history rewritten: folded whole).
TEST(Service, SignalsAndIntentKeptPerEventEqualTheFoldOfTheHistory) {
  TempDir dir;
  Clock clock;
  auto service = OpenService(dir.path(), clock);
  ASSERT_NE(service, nullptr);
  // Simulated sessions, one after another per profile, some a few minutes apart (one session).
  const std::vector<intent::SimulatedSession> sessions = intent::SimulateSessions(60, 3);
  const std::vector<std::string> owners = {"u-1", "u-2", "v-9"};
  std::vector<std::vector<EventInput>> written(owners.size());
  std::vector<Timestamp> clock_of(owners.size(), ParseTime("2027-02-01T08:00:00Z"));
  std::vector<EventInput> all;
  for (size_t s = 0; s < sessions.size(); ++s) {
    const size_t owner = s % owners.size();
    const Timestamp start = clock_of[owner] + (s % 4 == 0 ? 10 : 120) * 60'000;
    const Timestamp base = sessions[s].events.front().time;
    for (size_t i = 0; i < sessions[s].events.size(); ++i) {
      EventInput e = sessions[s].events[i];
      e.time = start + (e.time - base);
      e.id = fmt::format("s{}-{}", s, i);
      if (owners[owner].starts_with("v-")) {
        e.profile_id.clear();
        e.anonymous_id = owners[owner];
      } else {
        e.profile_id = owners[owner];
      }
      clock_of[owner] = e.time;
      all.push_back(std::move(e));
    }
    if (s % 5 == 0) {  // a message sent to them, opened
      EventInput sent;
      sent.id = fmt::format("m{}", s);
      sent.profile_id = "u-1";
      sent.type = s % 10 == 0 ? "email_sent" : "email_open";
      sent.time = clock_of[0] + 1000;
      sent.context.utm_campaign = "spring";
      clock_of[0] = sent.time;
      all.push_back(std::move(sent));
    }
  }
  std::stable_sort(all.begin(), all.end(),
                   [](const EventInput& a, const EventInput& b) { return a.time < b.time; });
  const auto expect_live_equals_fold = [&](const std::string& id, Timestamp at) {
    auto live = service->Signals(id, at);
    ASSERT_TRUE(live.ok()) << live.status().ToString();
    auto view = service->engine().GetProfile(id, 0);
    ASSERT_TRUE(view.ok());
    auto events = service->engine().Events(view->id);
    ASSERT_TRUE(events.ok());
    signals::SignalState folded;
    for (const StoredEventView& e : *events) folded.Add(e);
    JsonWriter a, b;
    signals::WriteSignals(a, live->state, at);
    signals::WriteSignals(b, folded, at);
    EXPECT_EQ(a.str(), b.str()) << id;
    auto intent = service->Intent(id, at);
    ASSERT_TRUE(intent.ok());
    const intent::Classification expected = intent::Classify(*service->intent_rules(), *events, at);
    EXPECT_EQ(intent->classification.intent, expected.intent) << id;
    EXPECT_EQ(intent->classification.session.events, expected.session.events) << id;
    EXPECT_EQ(intent->classification.session.start, expected.session.start) << id;
    EXPECT_EQ(intent->classification.reason, expected.reason) << id;
  };
  // Written in chunks of 7 events (several profiles per write), checked after each.
  size_t checked = 0;
  std::set<std::string> seen;
  for (size_t begin = 0; begin < all.size(); begin += 7) {
    const size_t end = std::min(all.size(), begin + 7);
    BatchReport report;
    ASSERT_OK(service->IngestEvents(std::span<const EventInput>(all).subspan(begin, end - begin),
                                    report));
    const Timestamp at = all[end - 1].time + 60'000;
    for (size_t i = begin; i < end; ++i) {
      seen.insert(all[i].profile_id.empty() ? all[i].anonymous_id : all[i].profile_id);
    }
    for (const std::string& id : seen) {
      expect_live_equals_fold(id, at);
      ++checked;
    }
    if (HasFailure()) return;
  }
  const Service::Counters counters = service->counters();
  // Every event but each profile's first write was folded in one at a time.
  EXPECT_GE(counters.signal_events, all.size() - 3 * 7);
  EXPECT_LE(counters.signal_rebuilds, 3u);
  EXPECT_GT(counters.signal_update_p50_us, 0);
  // A late event (an offline device's, older than the latest folded): folded again in time
  // order, so the live state still equals the fold of the stored history.
  EventInput late = all[all.size() / 3];
  late.id = "late-1";
  late.profile_id = "u-1";
  late.anonymous_id.clear();
  late.type = "product_view";
  late.context.referrer = "https://www.idealo.de/x";
  BatchReport late_report;
  ASSERT_OK(service->IngestEvents(std::span(&late, 1), late_report));
  expect_live_equals_fold("u-1", all.back().time + 60'000);
  // An earlier time is answered from the history as of then.
  const Timestamp midway = all[all.size() / 2].time;
  auto earlier = service->Signals("u-1", midway);
  ASSERT_TRUE(earlier.ok());
  EXPECT_LT(earlier->state.events(),
            service->Signals("u-1", midway + 1'000'000'000)->state.events());
  // The visitor signs in as u-2: their histories are merged and folded whole.
  const uint64_t rebuilds = service->counters().signal_rebuilds;
  EXPECT_EQ(rebuilds, counters.signal_rebuilds + 1);  // the late event's
  ASSERT_OK(service->Identify("v-9", "u-2"));
  expect_live_equals_fold("u-2", all.back().time + 60'000);
  EXPECT_EQ(service->counters().signal_rebuilds, rebuilds + 1);
}

// Signals in rules keep live segments current: a visit from a price comparison site enters
// "comparing" at once and leaves it when the session ends (a timer, no event); golf affinity
// enters "golfers" and a run of tennis views takes the profile out again; both agree with a full
// evaluation at every step.
TEST(Service, LiveSegmentsOnSignalsFollowEventsAndSessionEnds) {
  TempDir dir;
  Clock clock;
  const Timestamp t0 = ParseTime("2027-03-01T10:00:00Z");
  clock.now->store(t0);
  auto service = OpenService(dir.path(), clock);
  ASSERT_NE(service, nullptr);
  const auto segment = [](std::string name, std::string rule) {
    return segments::SegmentDefinition{
        std::move(name), "", segments::Objective::kEngage, "", {}, {}, std::move(rule), "", 0, 0};
  };
  ASSERT_OK(
      service->PutSegment(segment("comparing", R"(session.referrer_class = "price_comparison")")));
  ASSERT_OK(service->PutSegment(segment("golfers", R"(affinity("golf") > 0.6)")));
  ASSERT_OK(service->PutSegment(segment("back_again", "session.returning = 1")));
  const auto view = [](std::string id, Timestamp time, std::string category) {
    EventInput e;
    e.id = std::move(id);
    e.profile_id = "jeff";
    e.type = "product_view";
    e.time = time;
    e.category = std::move(category);
    e.item_id = e.category + "-1";
    return e;
  };
  EventInput first = view("v1", t0 - 60'000, "golf");
  first.context.referrer = "https://www.idealo.de/preisvergleich/golf";
  first.context.page_url = "https://shop.example/p/golf-1";
  BatchReport report;
  ASSERT_OK(service->IngestEvents(std::vector<EventInput>{first}, report));
  ASSERT_OK_AND_ASSIGN(const ProfileId jeff, service->engine().Resolve("jeff"));
  // Live membership first: a full evaluation makes the live members its own.
  const auto expect_full_evaluation_agrees = [&] {
    std::map<std::string, bool> live;
    for (const char* name : {"comparing", "golfers", "back_again"}) {
      live[name] = *service->IsMember(name, jeff);
    }
    ASSERT_OK_AND_ASSIGN(auto results, service->EvaluateAll());
    for (const auto& [name, result] : results) {
      EXPECT_EQ(result.members.contains(jeff), live.at(name)) << name;
    }
  };
  EXPECT_TRUE(*service->IsMember("comparing", jeff));
  EXPECT_TRUE(*service->IsMember("golfers", jeff));
  EXPECT_FALSE(*service->IsMember("back_again", jeff));  // the first session
  expect_full_evaluation_agrees();
  // 20 minutes later, still the same session; 31 minutes after the last event it has ended.
  clock.now->store(t0 + 20 * 60'000);
  ASSERT_OK(service->AdvanceTime().status());
  EXPECT_TRUE(*service->IsMember("comparing", jeff));
  clock.now->store(t0 + 31 * 60'000);
  ASSERT_OK(service->AdvanceTime().status());
  EXPECT_FALSE(*service->IsMember("comparing", jeff));
  EXPECT_TRUE(*service->IsMember("golfers", jeff));
  expect_full_evaluation_agrees();
  // A new session, direct, of tennis: golf is no longer what Jeff looks at most.
  std::vector<EventInput> tennis;
  for (int i = 0; i < 3; ++i) {
    tennis.push_back(view("t" + std::to_string(i), t0 + (40 + i) * 60'000, "tennis"));
  }
  clock.now->store(t0 + 43 * 60'000);
  ASSERT_OK(service->IngestEvents(tennis, report));
  EXPECT_FALSE(*service->IsMember("golfers", jeff));
  EXPECT_FALSE(*service->IsMember("comparing", jeff));
  EXPECT_TRUE(*service->IsMember("back_again", jeff));  // a session before this one
  expect_full_evaluation_agrees();
}

// Where they are now in live segments: a position within 1 km of a store enters "near_store" at
// once and leaves it 30 minutes later (a timer, no event); "far_from_home" follows the home
// traits as they change; the signals read names the nearest store. A full evaluation agrees.
TEST(Service, LiveSegmentsOnWhereTheyAreNow) {
  TempDir dir;
  Clock clock;
  const Timestamp t0 = ParseTime("2027-05-04T12:00:00Z");
  clock.now->store(t0);
  auto service = OpenService(dir.path(), clock);
  ASSERT_NE(service, nullptr);
  std::vector<ItemInput> stores(2);
  stores[0] = {
      "sol",
      "Tienda Sol",
      "store",
      std::nullopt,
      {{"latitude", {TraitType::kDouble, 40.4169}}, {"longitude", {TraitType::kDouble, -3.7035}}}};
  stores[1] = {
      "bcn",
      "Tienda Barcelona",
      "store",
      std::nullopt,
      {{"latitude", {TraitType::kDouble, 41.3874}}, {"longitude", {TraitType::kDouble, 2.1686}}}};
  BatchReport report;
  ASSERT_OK(service->UpsertItems(stores, report));
  const auto segment = [](std::string name, std::string rule) {
    return segments::SegmentDefinition{
        std::move(name), "", segments::Objective::kEngage, "", {}, {}, std::move(rule), "", 0, 0};
  };
  ASSERT_OK(service->PutSegment(segment("near_store", "place.distance_store_km <= 1")));
  ASSERT_OK(service->PutSegment(segment("far_from_home", "place.distance_home_km > 100")));
  ASSERT_OK(service->UpsertProfiles(
      std::vector<ProfileInput>{{"ana",
                                 {{"home_latitude", {TraitType::kDouble, 41.39}},
                                  {"home_longitude", {TraitType::kDouble, 2.17}}}}},
      report));
  EventInput visit;
  visit.id = "p1";
  visit.profile_id = "ana";
  visit.type = "screen_view";
  visit.time = t0 - 60'000;
  visit.properties = {{"latitude", "40.4168"}, {"longitude", "-3.7038"}};
  ASSERT_OK(service->IngestEvents(std::vector<EventInput>{visit}, report));
  ASSERT_OK_AND_ASSIGN(const ProfileId ana, service->engine().Resolve("ana"));
  const auto expect_full_evaluation_agrees = [&] {
    ASSERT_OK_AND_ASSIGN(auto results, service->EvaluateAll());
    for (const auto& [name, result] : results) {
      EXPECT_EQ(result.members.contains(ana), *service->IsMember(name, ana)) << name;
    }
  };
  EXPECT_TRUE(*service->IsMember("near_store", ana));
  EXPECT_TRUE(*service->IsMember("far_from_home", ana));  // Barcelona to Madrid, 500 km
  // The Sol store closes (it becomes a showroom): not near a store; it opens again: near.
  std::vector<ItemInput> showroom = {stores[0]};
  showroom[0].category = "showroom";
  ASSERT_OK(service->UpsertItems(showroom, report));
  EXPECT_FALSE(*service->IsMember("near_store", ana));
  ASSERT_OK(service->UpsertItems(std::vector<ItemInput>{stores[0]}, report));
  EXPECT_TRUE(*service->IsMember("near_store", ana));
  ASSERT_OK_AND_ASSIGN(Service::ProfileSignals read, service->Signals("ana", t0));
  const signals::Whereabouts where = read.state.WhereaboutsAt(t0, read.place());
  ASSERT_TRUE(where.nearest_store.has_value());
  EXPECT_EQ(where.nearest_store->id, "sol");
  EXPECT_TRUE(where.near_store);
  EXPECT_NEAR(*where.distance_home_km, 505, 5);
  // She moves to Madrid: the home traits change membership at once.
  ASSERT_OK(service->UpsertProfiles(
      std::vector<ProfileInput>{{"ana",
                                 {{"home_latitude", {TraitType::kDouble, 40.42}},
                                  {"home_longitude", {TraitType::kDouble, -3.70}}}}},
      report));
  EXPECT_FALSE(*service->IsMember("far_from_home", ana));
  expect_full_evaluation_agrees();
  // 30 minutes after the position it is no longer where she is now.
  clock.now->store(t0 + 29 * 60'000);  // the position was seen a minute before t0
  ASSERT_OK(service->AdvanceTime().status());
  EXPECT_TRUE(*service->IsMember("near_store", ana));
  clock.now->store(t0 + 29 * 60'000 + 1);
  ASSERT_OK(service->AdvanceTime().status());
  EXPECT_FALSE(*service->IsMember("near_store", ana));
  expect_full_evaluation_agrees();
}

// The next question is the one whose answer is expected to change the most of what the person is
// shown: each answer re-decided by the live segments, weighed by how often others gave it. The
// style (one segment, flipped by any answer: 1.0) beats the level (three segments, flipped by
// one answer of three: 2/3) until others' answers make "advanced" likely (10 of 12: 1.67).
TEST(Service, NextQuestionByTheExpectedValueOfItsAnswer) {
  TempDir dir;
  Clock clock;
  clock.now->store(ParseTime("2027-04-01T09:00:00Z"));
  auto service = OpenService(dir.path(), clock);
  ASSERT_NE(service, nullptr);
  ASSERT_OK_AND_ASSIGN(surveys::Survey survey, surveys::ParseSurvey("golf", R"({"questions": [
      {"id": "level", "text": "Your level?", "kind": "single",
       "choices": ["beginner", "intermediate", "advanced"], "trait": "golf_level"},
      {"id": "style", "text": "Your style?", "kind": "single", "choices": ["a", "b"],
       "trait": "golf_style"}]})"));
  ASSERT_OK(service->PutSurvey(survey));
  const auto segment = [](std::string name, std::string rule) {
    return segments::SegmentDefinition{
        std::move(name), "", segments::Objective::kEngage, "", {}, {}, std::move(rule), "", 0, 0};
  };
  BatchReport report;
  ASSERT_OK(service->UpsertProfiles(
      std::vector<ProfileInput>{{"jeff", {{"age", {TraitType::kInt, int64_t{41}}}}}}, report));
  ASSERT_OK(service->PutSegment(segment("pros", R"(golf_level = "advanced")")));
  ASSERT_OK(service->PutSegment(segment("young_pros", R"(golf_level = "advanced" and age < 100)")));
  ASSERT_OK(service->PutSegment(segment("old_pros", R"(golf_level = "advanced" and age > 100)")));
  ASSERT_OK(service->PutSegment(segment("stylish", "golf_style exists")));
  ASSERT_OK_AND_ASSIGN(auto next, service->NextQuestion("jeff", "web", 3));
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->question, "style");
  EXPECT_DOUBLE_EQ(next->expected_changes, 1.0);
  EXPECT_EQ(next->readers, 1u);
  // Nine others are advanced (a fresh service reads a fresh snapshot of them).
  std::vector<ProfileInput> others;
  for (int i = 0; i < 9; ++i) {
    others.push_back(
        {"p" + std::to_string(i), {{"golf_level", {TraitType::kString, std::string("advanced")}}}});
  }
  ASSERT_OK(service->UpsertProfiles(others, report));
  service.reset();
  service = OpenService(dir.path(), clock);
  ASSERT_NE(service, nullptr);
  ASSERT_OK_AND_ASSIGN(next, service->NextQuestion("jeff", "web", 3));
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->question, "level");
  EXPECT_NEAR(next->expected_changes, 2.0 * 10 / 12, 1e-12);
  EXPECT_EQ(next->readers, 3u);
}

// Completion and drop-off per question and channel, by person: Ana answers both questions,
// Ben answers the first and leaves the second unanswered, Cy is shown the first and answers
// nothing (on email).
TEST(Service, SurveyReportCountsCompletionAndDropOffPerQuestionAndChannel) {
  TempDir dir;
  Clock clock;
  clock.now->store(ParseTime("2027-04-01T09:00:00Z"));
  auto service = OpenService(dir.path(), clock);
  ASSERT_NE(service, nullptr);
  ASSERT_OK_AND_ASSIGN(surveys::Survey survey, surveys::ParseSurvey("golf", R"({"questions": [
      {"id": "level", "text": "Your level?", "kind": "single",
       "choices": ["beginner", "advanced"], "trait": "golf_level"},
      {"id": "rounds", "text": "Rounds?", "kind": "scale", "min": 0, "max": 9,
       "trait": "golf_rounds"}]})"));
  ASSERT_OK(service->PutSurvey(survey));
  const auto show = [&](const char* who, const char* question, const char* channel) {
    EventInput e;
    e.profile_id = who;
    e.type = "survey_shown";
    e.time = service->now();
    e.context.channel = channel;
    e.properties = {{"survey", "golf"}, {"question", question}};
    BatchReport report;
    ASSERT_OK(service->IngestEvents(std::span(&e, 1), report));
  };
  const TypedValue level{TraitType::kString, std::string("advanced")};
  const TypedValue rounds{TraitType::kInt, int64_t{4}};
  show("ana", "level", "web");
  ASSERT_OK(service->AnswerSurvey("golf", "ana", "level", level, "web").status());
  show("ana", "rounds", "web");
  ASSERT_OK(service->AnswerSurvey("golf", "ana", "rounds", rounds, "web").status());
  show("ben", "level", "web");
  ASSERT_OK(service->AnswerSurvey("golf", "ben", "level", level, "web").status());
  show("ben", "rounds", "web");
  show("cy", "level", "email");
  ASSERT_OK_AND_ASSIGN(std::vector<Service::QuestionReport> rows, service->SurveyReport("golf"));
  const auto find = [&](const std::string& q, const std::string& channel) {
    for (const auto& r : rows) {
      if (r.question == q && r.channel == channel) return r;
    }
    ADD_FAILURE() << q << "/" << channel;
    return Service::QuestionReport{};
  };
  const auto level_all = find("level", ""), level_web = find("level", "web"),
             level_email = find("level", "email"), rounds_all = find("rounds", "");
  EXPECT_EQ(level_all.shown, 3u);
  EXPECT_EQ(level_all.answered, 2u);
  EXPECT_EQ(level_all.people, 3u);
  EXPECT_EQ(level_all.completed, 1u);  // Ana
  EXPECT_EQ(level_all.dropped, 1u);    // Cy, at the first question
  EXPECT_EQ(level_web.people, 2u);
  EXPECT_EQ(level_web.dropped, 0u);
  EXPECT_EQ(level_email.people, 1u);
  EXPECT_EQ(level_email.dropped, 1u);
  EXPECT_EQ(rounds_all.people, 2u);
  EXPECT_EQ(rounds_all.completed, 1u);
  EXPECT_EQ(rounds_all.dropped, 1u);  // Ben, at the second
  JsonWriter json;
  surveys::WriteReport(json, "golf", rows);
  EXPECT_NE(json.str().find(R"("question":"rounds","channel":"","shown":2,"answered":1,)"
                            R"("response_rate":0.5,"people":2,"completion_rate":0.5,)"
                            R"("drop_off_rate":0.5)"),
            std::string::npos)
      << json.str();
}

// Zero-party data wins: a survey answer is a declared trait, which what tailor infers (analytics
// results written back) never replaces or clears; the person's own later word (an identify)
// does, and a visitor's declared answer stays declared when they sign in.
TEST(Service, DeclaredAnswersTakePrecedenceOverInferredValues) {
  TempDir dir;
  Clock clock;
  clock.now->store(ParseTime("2027-04-01T09:00:00Z"));
  auto service = OpenService(dir.path(), clock);
  ASSERT_NE(service, nullptr);
  ASSERT_OK_AND_ASSIGN(surveys::Survey survey, surveys::ParseSurvey("golf", R"({"questions": [
      {"id": "level", "text": "Your level?", "kind": "single",
       "choices": ["beginner", "intermediate", "advanced"], "trait": "golf_level"}]})"));
  ASSERT_OK(service->PutSurvey(survey));
  ASSERT_OK(service
                ->AnswerSurvey("golf", "jeff", "level",
                               TypedValue{TraitType::kString, std::string("beginner")}, "web")
                .status());
  const auto level = [&](const std::string& id) {
    auto view = service->engine().GetProfile(id, 0);
    EXPECT_TRUE(view.ok());
    return view.ok() ? TraitAs<std::string>(view->traits, "golf_level") : std::nullopt;
  };
  const auto declared = [&](const std::string& id) {
    auto view = service->engine().GetProfile(id, 0);
    EXPECT_TRUE(view.ok());
    return view.ok() ? view->declared_traits : std::vector<std::string>{};
  };
  EXPECT_EQ(level("jeff"), "beginner");
  EXPECT_EQ(declared("jeff"), std::vector<std::string>{"golf_level"});
  // An inference an hour later neither replaces nor clears it.
  clock.now->store(ParseTime("2027-04-01T10:00:00Z"));
  BatchReport report;
  ProfileInput inferred{"jeff",
                        {{"golf_level", {TraitType::kString, std::string("advanced")}},
                         {"golf_score", {TraitType::kDouble, 0.8}}}};
  inferred.source = TraitSource::kInferred;
  ASSERT_OK(service->UpsertProfiles(std::span(&inferred, 1), report));
  EXPECT_EQ(level("jeff"), "beginner");
  auto after_inference = service->engine().GetProfile("jeff", 0);
  ASSERT_TRUE(after_inference.ok());
  EXPECT_EQ(after_inference->inferred_traits, std::vector<std::string>{"golf_score"});
  EXPECT_EQ(after_inference->declared_traits, std::vector<std::string>{"golf_level"});
  ProfileInput cleared{"jeff", {{"golf_level", {TraitType::kString, std::monostate{}}}}};
  cleared.source = TraitSource::kInferred;
  ASSERT_OK(service->UpsertProfiles(std::span(&cleared, 1), report));
  EXPECT_EQ(level("jeff"), "beginner");
  EXPECT_EQ(TraitAs<double>(service->engine().GetProfile("jeff", 0)->traits, "golf_score"), 0.8);
  // Jeff's own later word replaces it, and it is no longer a survey answer.
  ProfileInput told{"jeff", {{"golf_level", {TraitType::kString, std::string("intermediate")}}}};
  ASSERT_OK(service->UpsertProfiles(std::span(&told, 1), report));
  EXPECT_EQ(level("jeff"), "intermediate");
  EXPECT_TRUE(declared("jeff").empty());
  // A visitor answers, then signs in as a known profile: the answer comes over, declared.
  ASSERT_OK(service
                ->AnswerSurvey("golf", "v-7", "level",
                               TypedValue{TraitType::kString, std::string("advanced")}, "web")
                .status());
  ProfileInput known{"kim", {{"age", {TraitType::kInt, int64_t{40}}}}};
  ASSERT_OK(service->UpsertProfiles(std::span(&known, 1), report));
  ASSERT_OK(service->MergeProfiles("kim", "v-7"));
  EXPECT_EQ(level("kim"), "advanced");
  EXPECT_EQ(declared("kim"), std::vector<std::string>{"golf_level"});
  // Merges keep each value's source: a visitor's later inference does not replace the known
  // profile's answer, and a visitor's answer replaces the known profile's later inference.
  const auto infer = [&](const std::string& id, bool anonymous, const char* level, const char* at) {
    ProfileInput input{id, {{"golf_level", {TraitType::kString, std::string(level)}}}};
    input.anonymous = anonymous;
    input.source = TraitSource::kInferred;
    input.time = ParseTime(at);
    BatchReport r;
    ASSERT_OK(service->UpsertProfiles(std::span(&input, 1), r));
  };
  clock.now->store(ParseTime("2027-04-01T11:00:00Z"));
  ASSERT_OK(service
                ->AnswerSurvey("golf", "lee", "level",
                               TypedValue{TraitType::kString, std::string("beginner")}, "web")
                .status());
  infer("v-lee", /*anonymous=*/true, "advanced", "2027-04-01T12:00:00Z");
  ASSERT_OK(service->Identify("v-lee", "lee"));
  EXPECT_EQ(level("lee"), "beginner");
  EXPECT_EQ(declared("lee"), std::vector<std::string>{"golf_level"});
  ASSERT_OK(service
                ->AnswerSurvey("golf", "v-max", "level",
                               TypedValue{TraitType::kString, std::string("intermediate")}, "web",
                               /*anonymous=*/true)
                .status());
  infer("max", /*anonymous=*/false, "advanced", "2027-04-01T13:00:00Z");
  ASSERT_OK(service->Identify("v-max", "max"));
  EXPECT_EQ(level("max"), "intermediate");
  EXPECT_EQ(declared("max"), std::vector<std::string>{"golf_level"});
  // Kept across a restart (stored with the record).
  service.reset();
  service = OpenService(dir.path(), clock);
  ASSERT_NE(service, nullptr);
  EXPECT_EQ(declared("kim"), std::vector<std::string>{"golf_level"});
  EXPECT_EQ(declared("max"), std::vector<std::string>{"golf_level"});
}

// The learned intent model, from labelled sessions in the store: simulated sessions whose
// visitors told their intent in a survey answer at the end (the label), and purchase sessions
// (readiness). Held-out accuracy and AUROC are high on the simulator's separable sessions; the
// model serves beside the rules, survives a restart, and a run with nothing to learn from keeps
// it.
TEST(Service, LearnedIntentModelFromLabelledSessions) {
  TempDir dir;
  Clock clock;
  const Timestamp t0 = ParseTime("2027-05-01T08:00:00Z");
  auto service = OpenService(dir.path(), clock);
  ASSERT_NE(service, nullptr);
  const std::vector<intent::SimulatedSession> sessions = intent::SimulateSessions(2400, 17);
  std::vector<EventInput> events;
  for (size_t s = 0; s < sessions.size(); ++s) {
    const std::string profile = fmt::format("p{}", s % 600);
    const Timestamp start = t0 + static_cast<Timestamp>(s / 600) * 3 * 3'600'000;
    const Timestamp base = sessions[s].events.front().time;
    for (size_t i = 0; i < sessions[s].events.size(); ++i) {
      EventInput e = sessions[s].events[i];
      e.time = start + (e.time - base);
      e.id = fmt::format("s{}-{}", s, i);
      e.profile_id = profile;
      events.push_back(std::move(e));
    }
    if (sessions[s].label != intent::Intent::kPostPurchase) {
      EventInput answer;
      answer.id = fmt::format("a{}", s);
      answer.profile_id = profile;
      answer.type = "survey_answer";
      answer.time = events.back().time + 30'000;
      answer.properties = {{"survey", "visit"},
                           {"question", "why"},
                           {"trait", "session_intent"},
                           {"answer", std::string(intent::IntentName(sessions[s].label))}};
      events.push_back(std::move(answer));
    }
  }
  BatchReport report;
  ASSERT_OK(service->IngestEvents(events, report));
  ASSERT_EQ(report.accepted, events.size());
  EXPECT_EQ(service->intent_model(), nullptr);
  ASSERT_OK_AND_ASSIGN(Service::IntentModelRun run, service->TrainIntentModel({}));
  const intent::TrainReport& r = run.report;
  EXPECT_EQ(run.model->classes,
            (std::vector<std::string>{"best_offer", "concerns", "inspiration"}));
  EXPECT_EQ(r.intent_sessions, 1800u);
  EXPECT_GT(r.intent_held_out, 250u);
  EXPECT_LT(r.intent_held_out, 480u);
  EXPECT_GT(r.accuracy, 0.85) << "held-out accuracy";
  ASSERT_TRUE(r.readiness_auroc.has_value());
  EXPECT_GT(*r.readiness_auroc, 0.95);
  uint64_t confused = 0;
  for (const auto& row : r.confusion) {
    for (uint64_t n : row) confused += n;
  }
  EXPECT_EQ(confused, r.intent_held_out);
  // The same store trains the same model, whatever threads did the work.
  const std::string first = intent::IntentModelJson(*run.model);
  ASSERT_OK_AND_ASSIGN(Service::IntentModelRun again, service->TrainIntentModel({}));
  EXPECT_EQ(intent::IntentModelJson(*again.model), first);

  // Served beside the rules for a session under way: a best-offer session of a new profile.
  std::vector<EventInput> comparing;
  for (int i = 0; i < 4; ++i) {
    EventInput e;
    e.id = fmt::format("c{}", i);
    e.profile_id = "shopper";
    e.type = "product_view";
    e.time = t0 + 30 * 3'600'000 + i * 60'000;
    e.item_id = fmt::format("club-{}", i % 3);
    e.category = "golf_clubs";
    if (i == 0) e.context.referrer = "https://www.idealo.de/golf";
    comparing.push_back(std::move(e));
  }
  ASSERT_OK(service->IngestEvents(comparing, report));
  ASSERT_OK_AND_ASSIGN(Service::ProfileIntent now,
                       service->Intent("shopper", comparing.back().time + 60'000));
  ASSERT_EQ(now.model_intents.size(), 3u);
  double total = 0;
  for (const auto& [name, p] : now.model_intents) total += p;
  EXPECT_NEAR(total, 1.0, 1e-9);
  EXPECT_EQ(now.model_intents.front().first, "best_offer");
  ASSERT_TRUE(now.purchase_readiness.has_value());
  EXPECT_LT(*now.purchase_readiness, 0.5);  // no cart, no checkout yet

  // Kept across a restart; a run with nothing to learn from keeps it.
  const std::string stored = intent::IntentModelJson(*service->intent_model());
  service.reset();
  service = OpenService(dir.path(), clock);
  ASSERT_NE(service, nullptr);
  ASSERT_NE(service->intent_model(), nullptr);
  EXPECT_EQ(intent::IntentModelJson(*service->intent_model()), stored);
  intent::LabelOptions nobody;
  nobody.answer_trait = "nobody_answers_this";
  RunControl out_of_time;
  out_of_time.deadline = std::chrono::steady_clock::now() - std::chrono::seconds(1);
  EXPECT_FALSE(service->TrainIntentModel(nobody, &out_of_time).ok());
  EXPECT_EQ(intent::IntentModelJson(*service->intent_model()), stored);
  TempDir empty_dir;
  auto empty = OpenService(empty_dir.path(), clock);
  ASSERT_NE(empty, nullptr);
  EXPECT_EQ(empty->TrainIntentModel(nobody).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(empty->intent_model(), nullptr);
}

// The live signals count usual hours in the profile's time zone (its time_zone trait, else the
// IP's geo_time_zone), and count them again when it changes.
TEST(Service, LiveSignalsCountUsualHoursInTheProfilesTimeZone) {
  TempDir dir;
  Clock clock;
  clock.now->store(ParseTime("2027-06-10T12:00:00Z"));
  auto service = OpenService(dir.path(), clock);
  ASSERT_NE(service, nullptr);
  std::vector<EventInput> views;
  for (int day = 1; day <= 3; ++day) {
    EventInput e;
    e.id = fmt::format("v{}", day);
    e.profile_id = "kenji";
    e.type = "page_view";
    e.time = ParseTime(fmt::format("2027-06-0{}T00:30:00Z", day));  // 09:30 in Tokyo
    views.push_back(std::move(e));
  }
  BatchReport report;
  ASSERT_OK(service->IngestEvents(views, report));
  const auto usual_hour = [&] {
    auto signals = service->Signals("kenji", clock.now->load());
    EXPECT_TRUE(signals.ok());
    return signals.ok() ? signals->state.usual_hour() : -2;
  };
  EXPECT_EQ(usual_hour(), 0);  // no zone: UTC
  ProfileInput zone{"kenji", {{"geo_time_zone", {TraitType::kString, std::string("Asia/Tokyo")}}}};
  ASSERT_OK(service->UpsertProfiles(std::span(&zone, 1), report));
  EXPECT_EQ(usual_hour(), 9);
  const uint64_t rebuilds = service->counters().signal_rebuilds;
  ProfileInput moved{"kenji", {{"time_zone", {TraitType::kString, std::string("Europe/Paris")}}}};
  ASSERT_OK(service->UpsertProfiles(std::span(&moved, 1), report));
  // The write's observer counted the live state again in the new zone.
  EXPECT_EQ(service->counters().signal_rebuilds, rebuilds + 1);
  EXPECT_EQ(usual_hour(), 2);  // 00:30 UTC is 02:30 in Paris in June
}

// Recommendations read each profile's activity kept beside it in memory, folded again only for
// new event blocks or a new model: after every write, and across a training run, they equal the
// recommendations from the fold of the profile's whole stored history.
TEST(Service, RecommendationsFromTheKeptActivityEqualTheFoldOfTheHistory) {
  TempDir dir;
  Clock clock;
  auto service = OpenService(dir.path(), clock);
  ASSERT_NE(service, nullptr);
  std::vector<ItemInput> items;
  const std::vector<std::string> levels = {"beginner", "intermediate", "advanced", ""};
  for (int i = 0; i < 24; ++i) {
    ItemInput item;
    item.id = fmt::format("item{}", i);
    item.name = item.id;
    item.category = i % 3 == 0 ? "golf_clubs" : i % 3 == 1 ? "tennis" : "socks";
    item.price = Decimal::FromDouble(10 + i);
    const std::string& level = levels[static_cast<size_t>(i) % levels.size()];
    if (!level.empty())
      item.attributes.emplace_back("level", TypedValue{TraitType::kString, level});
    items.push_back(std::move(item));
  }
  BatchReport item_report;
  ASSERT_OK(service->UpsertItems(items, item_report));
  std::mt19937 random(7);
  const std::vector<std::string> types = {"product_view", "product_view", "add_to_cart",
                                          "purchase",     "refund",       "page_view"};
  const std::vector<std::string> owners = {"p-1", "p-2", "p-3", "p-4"};
  Timestamp time = kStart - 30 * kDay;
  size_t next_id = 0;
  const auto check = [&](const std::string& id) {
    reco::Request request;
    request.now = time + kHour;
    request.count = 8;
    auto served = service->Recommendations(id, request);
    ASSERT_TRUE(served.ok()) << served.status().ToString();
    auto view = service->engine().GetProfile(id, 0);
    ASSERT_TRUE(view.ok());
    auto events = service->engine().Events(view->id);
    ASSERT_TRUE(events.ok());
    request.intent = served->intent;
    const std::vector<reco::Recommendation> expected =
        reco::Recommend(*served->model, reco::ActivityOf(*served->model, *events), request);
    ASSERT_EQ(served->items.size(), expected.size()) << id;
    for (size_t i = 0; i < expected.size(); ++i) {
      EXPECT_EQ(served->items[i].item, expected[i].item) << id << " #" << i;
      EXPECT_DOUBLE_EQ(served->items[i].score, expected[i].score) << id << " #" << i;
    }
  };
  for (int round = 0; round < 40; ++round) {
    std::vector<EventInput> batch;
    for (int k = 0; k < 3; ++k) {
      EventInput event;
      event.id = fmt::format("e{}", next_id++);
      event.profile_id = owners[random() % owners.size()];
      event.type = types[random() % types.size()];
      time += static_cast<Timestamp>(random() % (6 * kHour));
      event.time = time;
      if (event.type == "page_view") {
        event.category = random() % 2 == 0 ? "golf_clubs" : "tennis";
      } else {
        event.item_id = items[random() % items.size()].id;
      }
      batch.push_back(std::move(event));
    }
    BatchReport report;
    ASSERT_OK(service->IngestEvents(batch, report));
    clock.now->store(time);
    for (const std::string& id : owners) {
      if (service->engine().GetProfile(id, 0).ok()) check(id);
    }
    if (round == 20) {
      // New items first in the catalogue's order: the new model numbers the items otherwise.
      std::vector<ItemInput> added(3);
      for (size_t i = 0; i < added.size(); ++i) {
        added[i].id = fmt::format("a-new-{}", i);
        added[i].category = "socks";
      }
      ASSERT_OK(service->UpsertItems(added, item_report));
      ASSERT_TRUE(service->TrainRecommender().ok());
    }
    if (HasFailure()) return;
  }
  EXPECT_EQ(service->recommender()->version(), 1u);
}

// Popular in the person's segments: pros (a trait) buy the tour bag, everyone buys socks more. A
// pro with no history is offered the tour bag first, for that reason; a new amateur gets socks.
TEST(Service, RecommendationsReadWhatTheirSegmentsBuy) {
  TempDir dir;
  Clock clock;
  auto service = OpenService(dir.path(), clock);
  ASSERT_NE(service, nullptr);
  std::vector<ItemInput> items(3);
  for (size_t i = 0; i < items.size(); ++i) {
    items[i].id = std::vector<std::string>{"socks", "tour_bag", "umbrella"}[i];
    items[i].name = items[i].id;
    items[i].category = "golf";
  }
  BatchReport report;
  ASSERT_OK(service->UpsertItems(items, report));
  std::vector<ProfileInput> people;
  std::vector<EventInput> events;
  for (int p = 0; p < 30; ++p) {
    const std::string id = fmt::format("g{}", p);
    const bool pro = p < 6;
    people.push_back({id, {{"plan", {TraitType::kString, std::string(pro ? "pro" : "amateur")}}}});
    for (const std::string item : {std::string("socks"), std::string(pro ? "tour_bag" : "")}) {
      if (item.empty()) continue;
      EventInput event;
      event.id = id + item;
      event.profile_id = id;
      event.type = "purchase";
      event.item_id = item;
      event.time = kStart - kDay;
      events.push_back(std::move(event));
    }
  }
  people.push_back({"new_pro", {{"plan", {TraitType::kString, std::string("pro")}}}});
  people.push_back({"new_amateur", {{"plan", {TraitType::kString, std::string("amateur")}}}});
  ASSERT_OK(service->UpsertProfiles(people, report));
  ASSERT_OK(service->IngestEvents(events, report));
  segments::SegmentDefinition pros;
  pros.name = "pros";
  pros.rule = R"(plan = "pro")";
  ASSERT_OK(service->PutSegment(pros));
  auto model = service->TrainRecommender();
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  EXPECT_EQ((*model)->SegmentLists(), std::vector<std::string>{"pros"});
  reco::Request request;
  request.count = 3;
  auto pro = service->Recommendations("new_pro", request);
  ASSERT_TRUE(pro.ok()) << pro.status().ToString();
  ASSERT_FALSE(pro->items.empty());
  EXPECT_EQ(pro->items[0].item, "tour_bag");
  ASSERT_FALSE(pro->items[0].reasons.empty());
  EXPECT_EQ(pro->items[0].reasons[0].generator, "popular_in_segment");
  EXPECT_EQ(pro->items[0].reasons[0].detail, "bought more in segment pros, which they are in");
  auto amateur = service->Recommendations("new_amateur", request);
  ASSERT_TRUE(amateur.ok());
  ASSERT_FALSE(amateur->items.empty());
  EXPECT_EQ(amateur->items[0].item, "socks");
}

}  // namespace
}  // namespace tailor

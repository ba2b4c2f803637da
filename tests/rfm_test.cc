// RFM materialized on a live service: the traits and the `rfm` scheme follow the computed scores,
// re-scoring writes only what changed and feeds the moves, and bad options are refused. (RFM
// values against the pandas peer and DuckDB: segments_reference_test.)

#include "tailor/rfm.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <random>
#include <set>

#include "full_evaluation.h"
#include "tailor/service.h"
#include "test_util.h"

namespace tailor {
namespace {

using ::tailor::testing::ExpectLiveEqualsFull;
using ::tailor::testing::TempDir;
constexpr Timestamp kNow = 1'800'000'000'000;
constexpr Timestamp kDay = 86'400'000;

EventInput Purchase(const std::string& profile, const std::string& order, Timestamp time,
                    int64_t cents) {
  EventInput event;
  event.profile_id = profile;
  event.type = "purchase";
  event.order_id = order;
  event.time = time;
  event.price = Decimal::FromMicros(cents * 10'000);
  event.quantity = 1;
  return event;
}

class RfmServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServiceOptions options;
    options.clock = [this] { return clock_.load(); };
    auto opened = Service::Open(dir_.path(), std::move(options));
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    service_ = std::move(opened).value();
  }
  void Ingest(const std::vector<EventInput>& events) {
    BatchReport report;
    ASSERT_OK(service_->IngestEvents(events, report));
    ASSERT_EQ(report.accepted, events.size());
  }
  // The rfm_segment trait of every customer equals the computed segment, and each rfm_ segment
  // holds exactly the customers of its name.
  void ExpectMaterialized(const analytics::RfmResult& rfm) {
    std::map<std::string, std::set<ProfileId>> expected;
    for (const analytics::RfmCustomer& c : rfm.customers) {
      expected["rfm_" + std::string(analytics::RfmSegmentName(c.segment))].insert(c.id);
    }
    for (size_t s = 0; s < analytics::kRfmSegmentCount; ++s) {
      const std::string name =
          "rfm_" + std::string(analytics::RfmSegmentName(static_cast<analytics::RfmSegment>(s)));
      auto members = service_->Members(name);
      ASSERT_TRUE(members.ok()) << name << ": " << members.status().ToString();
      std::set<ProfileId> live(members->begin(), members->end());
      EXPECT_EQ(live, expected[name]) << name;
    }
    ExpectLiveEqualsFull(*service_, clock_.load(), "after RFM");
  }

  TempDir dir_;
  std::atomic<Timestamp> clock_{kNow};
  std::unique_ptr<Service> service_;
};

// Refunds and cancellations undo their orders: against the same customers without them.
TEST_F(RfmServiceTest, RefundedAndCancelledOrdersAreLeftOut) {
  std::mt19937 random(11);
  std::vector<EventInput> events, kept;
  for (int p = 0; p < 40; ++p) {
    for (int o = 0; o < 1 + p % 4; ++o) {
      const Timestamp time = kNow - static_cast<Timestamp>(random() % 300) * kDay;
      const std::string profile = fmt::format("p{:02}", p), order = fmt::format("o{}-{}", p, o);
      EventInput purchase = Purchase(profile, order, time, 1000 + random() % 9000);
      events.push_back(purchase);
      // Every third order is refunded or cancelled (only p % 3 == 0 ones with one order lose
      // their only purchase); refunds come later, as they do.
      if ((p + o) % 3 == 0) {
        EventInput undo;
        undo.profile_id = profile;
        undo.type = o % 2 ? "Order Cancelled" : "Order Refunded";
        undo.order_id = order;
        undo.time = time + kDay / 2;
        events.push_back(undo);
      } else {
        kept.push_back(purchase);
      }
    }
  }
  // A refund of another profile's order id undoes nothing here.
  EventInput stranger;
  stranger.profile_id = "p01";
  stranger.type = "Order Refunded";
  stranger.order_id = "o2-0";
  stranger.time = kNow - kDay;
  events.push_back(stranger);
  Ingest(events);
  analytics::RfmOptions options;
  options.now = kNow;
  options.exclude_order_types = {"Order Refunded", "Order Cancelled", "Order Lost"};
  ASSERT_OK_AND_ASSIGN(Service::RfmRun run, service_->RunRfm(options, /*materialize=*/false));

  // The model: the same RFM over the kept purchases only, in a store of their own.
  TempDir other;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Service> model, Service::Open(other.path(), {}));
  BatchReport report;
  ASSERT_OK(model->IngestEvents(kept, report));
  options.exclude_order_types.clear();
  ASSERT_OK_AND_ASSIGN(Service::RfmRun expected, model->RunRfm(options, false));
  ASSERT_EQ(run.rfm.customers.size(), expected.rfm.customers.size());
  ASSERT_LT(run.rfm.customers.size(), 40u);
  for (size_t i = 0; i < run.rfm.customers.size(); ++i) {
    const analytics::RfmCustomer& a = run.rfm.customers[i];
    const analytics::RfmCustomer& b = expected.rfm.customers[i];
    ASSERT_OK_AND_ASSIGN(std::string a_id, service_->engine().ExternalId(a.id));
    ASSERT_OK_AND_ASSIGN(std::string b_id, model->engine().ExternalId(b.id));
    EXPECT_EQ(a_id, b_id);
    EXPECT_EQ(a.frequency, b.frequency) << a_id;
    EXPECT_EQ(a.recency_ms, b.recency_ms) << a_id;
    EXPECT_EQ(a.monetary, b.monetary) << a_id;
    EXPECT_EQ(a.segment, b.segment) << a_id;
  }

  // Materialized without the exclusions, then with them: the customers whose every order was
  // undone lose their RFM traits and leave the rfm_ segments (nothing of the earlier run lingers).
  analytics::RfmOptions all;
  all.now = kNow;
  ASSERT_OK_AND_ASSIGN(Service::RfmRun everyone, service_->RunRfm(all, /*materialize=*/true));
  ASSERT_EQ(everyone.rfm.customers.size(), 40u);
  options.exclude_order_types = {"Order Refunded", "Order Cancelled"};
  ASSERT_OK_AND_ASSIGN(Service::RfmRun fewer, service_->RunRfm(options, /*materialize=*/true));
  ASSERT_EQ(fewer.rfm.customers.size(), run.rfm.customers.size());
  ExpectMaterialized(fewer.rfm);
  std::set<ProfileId> customers;
  for (const analytics::RfmCustomer& c : fewer.rfm.customers) customers.insert(c.id);
  ASSERT_OK_AND_ASSIGN(auto population, service_->Population({}, std::chrono::milliseconds(0)));
  size_t cleared = 0;
  for (const analytics::RfmCustomer& c : everyone.rfm.customers) {
    if (customers.count(c.id)) continue;
    ++cleared;
    for (const char* trait : {"rfm_segment", "rfm_frequency", "rfm_r"}) {
      EXPECT_FALSE(population.snapshot->trait(trait)->present.Test(c.id)) << trait;
    }
    EXPECT_TRUE(service_->SegmentsOf(c.id).empty());
  }
  EXPECT_EQ(cleared, 40 - fewer.rfm.customers.size());
}

TEST_F(RfmServiceTest, ScoresBecomeTraitsAndALiveSchemeThatFollowsReScoring) {
  std::mt19937 random(7);
  std::vector<EventInput> events;
  for (int p = 0; p < 60; ++p) {
    const int orders = 1 + static_cast<int>(random() % 6);
    for (int o = 0; o < orders; ++o) {
      // Two lines per order: frequency counts orders, monetary sums lines.
      const Timestamp time = kNow - static_cast<Timestamp>(random() % 400) * kDay;
      const std::string order = fmt::format("o{}-{}", p, o);
      events.push_back(Purchase(fmt::format("p{:02}", p), order, time, 500 + random() % 20000));
      events.push_back(Purchase(fmt::format("p{:02}", p), order, time, 100 + random() % 900));
    }
  }
  EventInput view;  // a browser, not a customer
  view.profile_id = "browser";
  view.type = "page_view";
  view.time = kNow - kDay;
  events.push_back(view);
  Ingest(events);

  analytics::RfmOptions options;
  options.now = kNow;
  ASSERT_OK_AND_ASSIGN(Service::RfmRun first, service_->RunRfm(options, /*materialize=*/true));
  EXPECT_EQ(first.rfm.customers.size(), 60u);
  EXPECT_EQ(first.profiles_written, 60u);
  EXPECT_TRUE(first.scheme_created);
  ASSERT_OK_AND_ASSIGN(segments::SchemeDefinition scheme, service_->catalog().GetScheme("rfm"));
  EXPECT_EQ(scheme.members.size(), analytics::kRfmSegmentCount);
  EXPECT_EQ(scheme.members.front(), "rfm_champions");
  ExpectMaterialized(first.rfm);

  // Nothing changed: nothing is written.
  ASSERT_OK_AND_ASSIGN(Service::RfmRun again, service_->RunRfm(options, true));
  EXPECT_EQ(again.profiles_written, 0u);
  EXPECT_FALSE(again.scheme_created);

  // The least recent customer buys a lot today: re-scored, it moves, and the move is fed.
  const analytics::RfmCustomer* oldest = &first.rfm.customers.front();
  for (const analytics::RfmCustomer& c : first.rfm.customers) {
    if (c.recency_ms > oldest->recency_ms) oldest = &c;
  }
  const ProfileId mover = oldest->id;
  const std::string before(analytics::RfmSegmentName(oldest->segment));
  ASSERT_OK_AND_ASSIGN(std::string mover_id, service_->engine().ExternalId(mover));
  std::vector<EventInput> spree;
  for (int o = 0; o < 8; ++o) {
    spree.push_back(Purchase(mover_id, fmt::format("spree{}", o), kNow - 1000, 50'000));
  }
  Ingest(spree);
  const uint64_t feed_before = service_->last_sequence();
  ASSERT_OK_AND_ASSIGN(Service::RfmRun rescored, service_->RunRfm(options, true));
  EXPECT_GE(rescored.profiles_written, 1u);
  EXPECT_LT(rescored.profiles_written, 60u);  // only whose values or scores changed
  ExpectMaterialized(rescored.rfm);
  std::string after;
  for (const analytics::RfmCustomer& c : rescored.rfm.customers) {
    if (c.id == mover) after = analytics::RfmSegmentName(c.segment);
  }
  ASSERT_NE(after, before);
  ASSERT_OK_AND_ASSIGN(std::vector<segments::MembershipChange> changes,
                       service_->catalog().ReadChanges(feed_before, 1000));
  bool exited = false, entered = false;
  for (const segments::MembershipChange& change : changes) {
    if (change.profile != mover) continue;
    exited |= !change.entered && change.segment == "rfm_" + before;
    entered |= change.entered && change.segment == "rfm_" + after;
  }
  EXPECT_TRUE(exited) << "no exit from rfm_" << before << " fed";
  EXPECT_TRUE(entered) << "no entry into rfm_" << after << " fed";
}

TEST_F(RfmServiceTest, BadOptionsAreRefusedWithWhatIsWrong) {
  Ingest({Purchase("p1", "o1", kNow - kDay, 1000)});
  analytics::RfmOptions options;
  options.now = kNow;
  options.frequency_edges = {1, 3, 2, 5};
  auto run = service_->RunRfm(options, true);
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(run.status().message().find("frequency edges"), std::string::npos)
      << run.status().ToString();
  options.frequency_edges = {1, 2, 3};
  run = service_->RunRfm(options, true);
  ASSERT_FALSE(run.ok());
  EXPECT_NE(run.status().message().find("4 edges"), std::string::npos);
  // Nothing was written by the refused runs.
  EXPECT_FALSE(service_->catalog().GetScheme("rfm").ok());
  options.frequency_edges.clear();
  options.now = 0;
  EXPECT_EQ(service_->RunRfm(options, false).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(RfmServiceTest, SavedLabelsReplaceAnEarlierRunsSegments) {
  Ingest({Purchase("a", "a1", kNow - kDay, 100), Purchase("b", "b1", kNow - kDay, 100),
          Purchase("c", "c1", kNow - kDay, 100)});
  Service::LabelScheme scheme;
  scheme.trait = "groups_cluster";
  scheme.scheme = "groups";
  scheme.tag = "groups_clusters";
  scheme.segments = {{"1_big", "groups_1_big", "first"}, {"2_small", "groups_2_small", "second"}};
  ASSERT_OK_AND_ASSIGN(
      Service::LabelsSaved first,
      service_->SaveLabels(scheme, {{"a", "1_big"}, {"b", "1_big"}, {"c", "2_small"}}));
  EXPECT_EQ(first.profiles_written, 3u);
  EXPECT_TRUE(first.scheme_created);
  EXPECT_EQ(service_->Members("groups_1_big")->cardinality(), 2u);
  EXPECT_EQ(service_->Members("groups_2_small")->cardinality(), 1u);
  // A second run with other labels: the old segment goes, only changed profiles are written.
  scheme.segments = {{"1_big", "groups_1_big", "first"}, {"2_new", "groups_2_new", "second"}};
  ASSERT_OK_AND_ASSIGN(
      Service::LabelsSaved second,
      service_->SaveLabels(scheme, {{"a", "1_big"}, {"b", "2_new"}, {"c", "2_new"}}));
  EXPECT_EQ(second.profiles_written, 2u);
  EXPECT_FALSE(second.scheme_created);
  EXPECT_FALSE(service_->catalog().Get("groups_2_small").ok());
  EXPECT_EQ(service_->Members("groups_1_big")->cardinality(), 1u);
  EXPECT_EQ(service_->Members("groups_2_new")->cardinality(), 2u);
  ASSERT_OK_AND_ASSIGN(segments::SchemeDefinition saved, service_->catalog().GetScheme("groups"));
  EXPECT_EQ(saved.members, (std::vector<std::string>{"groups_1_big", "groups_2_new"}));
  ExpectLiveEqualsFull(*service_, clock_.load(), "after the second run");
  // Names that would not parse in the generated rules are refused before anything is written.
  Service::LabelScheme bad = scheme;
  bad.scheme = "q1-2025";
  bad.trait = "q1-2025_cluster";
  auto refused = service_->SaveLabels(bad, {{"a", "1_big"}});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("q1-2025"), std::string::npos);
  EXPECT_EQ(service_->engine().schema().Find("q1-2025_cluster"), nullptr);
  // An unknown profile is refused by name, before the new trait is declared.
  Service::LabelScheme fresh = scheme;
  fresh.trait = "fresh_cluster";
  fresh.scheme = "fresh";
  fresh.segments = {{"1_big", "fresh_1_big", "first"}};
  EXPECT_EQ(service_->SaveLabels(fresh, {{"nobody", "1_big"}}).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(service_->engine().schema().Find("fresh_cluster"), nullptr);
  // A trait of that name and another type: refused, not written profile by profile.
  ASSERT_OK(service_->engine().DeclareTraits({{"fresh_cluster", TraitType::kInt}}));
  EXPECT_EQ(service_->SaveLabels(fresh, {{"a", "1_big"}}).status().code(),
            StatusCode::kFailedPrecondition);
}

TEST(RfmBins, CustomEdgesScoreByThresholds) {
  // Scores from edges: 1 + the edges reached (recency: 1 + the edges not yet reached).
  TempDir dir;
  ServiceOptions service_options;
  service_options.clock = [] { return kNow; };
  auto opened = Service::Open(dir.path(), std::move(service_options));
  ASSERT_TRUE(opened.ok());
  Service& service = **opened;
  BatchReport report;
  std::vector<EventInput> events = {
      Purchase("a", "a1", kNow - 10 * kDay, 2000), Purchase("b", "b1", kNow - 100 * kDay, 30000),
      Purchase("b", "b2", kNow - 200 * kDay, 30000), Purchase("c", "c1", kNow - 400 * kDay, 100)};
  ASSERT_OK(service.IngestEvents(events, report));
  analytics::RfmOptions options;
  options.now = kNow;
  options.recency_day_edges = {30, 90, 180, 365};
  options.frequency_edges = {2, 3, 5, 10};
  options.monetary_edges = {50, 100, 500, 1000};
  ASSERT_OK_AND_ASSIGN(Service::RfmRun run, service.RunRfm(options, false));
  ASSERT_EQ(run.rfm.customers.size(), 3u);
  std::map<std::string, std::tuple<int, int, int>> scores;
  for (const analytics::RfmCustomer& c : run.rfm.customers) {
    ASSERT_OK_AND_ASSIGN(std::string id, service.engine().ExternalId(c.id));
    scores[id] = {c.r_score, c.f_score, c.m_score};
  }
  EXPECT_EQ(scores["a"], std::make_tuple(5, 1, 1));  // 10 days, 1 order, 20.00
  EXPECT_EQ(scores["b"], std::make_tuple(3, 2, 4));  // 100 days, 2 orders, 600.00
  EXPECT_EQ(scores["c"], std::make_tuple(1, 1, 1));  // 400 days, 1 order, 1.00
}

}  // namespace
}  // namespace tailor

// Lifetime value of a store's customers: purchases become orders and summaries exactly (the fit
// on the store equals the fit on the summaries they came from), the traits are written through
// the write path (rules read them), and what cannot be fitted is refused with the reason.

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>

#include "tailor/clv.h"
#include "tailor/service.h"
#include "test_util.h"

namespace tailor::analytics {
namespace {

using ::tailor::testing::TempDir;
constexpr Timestamp kNow = 1'800'000'000'000;
constexpr double kDayMs = 86'400'000.0;

class ClvStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServiceOptions options;
    options.clock = [] { return kNow; };
    auto opened = Service::Open(dir_.path(), std::move(options));
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    service_ = std::move(opened).value();
  }
  TempDir dir_;
  std::unique_ptr<Service> service_;
};

EventInput Purchase(size_t customer, std::string order, Timestamp time, int64_t cents) {
  EventInput e;
  e.profile_id = "c" + std::to_string(customer);
  e.type = "purchase";
  e.order_id = std::move(order);
  e.time = time;
  e.price = Decimal::FromMicros(cents * 10'000);
  e.quantity = 1;
  return e;
}

TEST_F(ClvStoreTest, TheStoresFitEqualsTheFitOfTheSummariesItWasBuiltFrom) {
  ClvSimulationOptions simulation;
  simulation.customers = 3000;
  simulation.seed = 4;
  ASSERT_OK_AND_ASSIGN(SimulatedClv simulated, SimulateClv(simulation));
  // Each summary as orders ending at kNow (days): the first at now - T, the last repeat at
  // now - T + t_x, the others between; repeats worth the mean (whole cents), an order in two
  // lines half the time, and a purchase after now that the calibration must not see.
  std::vector<ClvSummary> expected;
  std::vector<EventInput> events;
  for (size_t i = 0; i < simulated.calibration.size(); ++i) {
    ClvSummary s = simulated.calibration[i];
    const auto x = static_cast<size_t>(s.frequency);
    const Timestamp first = kNow - static_cast<Timestamp>(std::llround(s.age * 7 * kDayMs));
    const Timestamp last = first + static_cast<Timestamp>(std::llround(s.recency * 7 * kDayMs));
    const int64_t cents = std::max<int64_t>(1, std::llround(s.monetary * 100));
    events.push_back(Purchase(i, "o" + std::to_string(i) + "-0", first, 999));
    for (size_t k = 1; k <= x; ++k) {
      const Timestamp t = k == x ? last : first + (last - first) * k / (x + 1);
      const std::string order = "o" + std::to_string(i) + "-" + std::to_string(k);
      if (k % 2 == 0) {
        events.push_back(Purchase(i, order, t, cents / 2));
        events.push_back(Purchase(i, order, t + 60'000, cents - cents / 2));
      } else {
        events.push_back(Purchase(i, order, t, cents));
      }
    }
    if (i % 5 == 0) events.push_back(Purchase(i, "later" + std::to_string(i), kNow + 1000, 100));
    if (i % 7 == 0) {  // an order refunded: left out
      events.push_back(Purchase(i, "refunded" + std::to_string(i), kNow - kDayMs, 5000));
      EventInput refund = Purchase(i, "refunded" + std::to_string(i), kNow - kDayMs / 2, 5000);
      refund.type = "Order Refunded";
      events.push_back(refund);
    }
    expected.push_back(
        {s.frequency, (last - first) / kDayMs, (kNow - first) / kDayMs, x > 0 ? cents / 100.0 : 0});
  }
  BatchReport report;
  ASSERT_OK(service_->IngestEvents(events, report));
  ASSERT_EQ(report.accepted, events.size());

  ClvOptions options;
  options.now = kNow;
  options.horizon_days = 90;
  options.exclude_order_types = {"Order Refunded"};
  ASSERT_OK_AND_ASSIGN(Service::ClvRun run, service_->RunClv(options, /*materialize=*/true));
  ASSERT_EQ(run.clv.customers.size(), expected.size());
  ASSERT_OK_AND_ASSIGN(BgNbdFit direct, FitBgNbd(expected));
  std::vector<ClvSummary> spenders;
  for (const ClvSummary& s : expected) {
    if (s.frequency > 0) spenders.push_back(s);
  }
  ASSERT_OK_AND_ASSIGN(GammaGammaFit direct_spend, FitGammaGamma(spenders));
  const BgNbdParams& got = run.clv.purchases.params;
  EXPECT_NEAR(got.r, direct.params.r, 1e-6 * direct.params.r);
  EXPECT_NEAR(got.alpha, direct.params.alpha, 1e-6 * direct.params.alpha);
  EXPECT_NEAR(got.a, direct.params.a, 1e-6 * direct.params.a);
  EXPECT_NEAR(got.b, direct.params.b, 1e-6 * direct.params.b);
  ASSERT_TRUE(run.clv.spend_fitted) << run.clv.spend_problem;
  EXPECT_NEAR(run.clv.spend.params.q, direct_spend.params.q, 1e-6 * direct_spend.params.q);
  EXPECT_NEAR(run.clv.spend.params.gamma, direct_spend.params.gamma,
              1e-6 * direct_spend.params.gamma);
  // Per customer, as the library computes it from the summary.
  for (size_t k = 0; k < run.clv.customers.size(); k += 97) {
    const ClvCustomer& c = run.clv.customers[k];
    ASSERT_OK_AND_ASSIGN(double purchases, ExpectedPurchases(got, c.summary, 90));
    EXPECT_DOUBLE_EQ(c.expected_purchases, purchases);
    ASSERT_OK_AND_ASSIGN(double alive, ProbabilityAlive(got, c.summary));
    EXPECT_DOUBLE_EQ(c.probability_alive, alive);
    EXPECT_NEAR(c.expected_value, c.expected_purchases * c.expected_order_value, 1e-9);
  }
  // The traits are written (all customers), rules read them, and a second run writes nothing.
  EXPECT_EQ(run.profiles_written, expected.size());
  segments::SegmentDefinition likely;
  likely.name = "likely_alive";
  likely.rule = "clv_probability_alive >= 0.5 and clv_expected_value > 0";
  ASSERT_OK(service_->PutSegment(likely));
  ASSERT_OK_AND_ASSIGN(segments::ProfileSet members, service_->Members("likely_alive"));
  size_t alive_half = 0;
  for (const ClvCustomer& c : run.clv.customers) alive_half += c.probability_alive >= 0.5;
  EXPECT_NEAR(double(members.cardinality()), double(alive_half), 3);  // rounding at the boundary
  ASSERT_OK_AND_ASSIGN(Service::ClvRun again, service_->RunClv(options, true));
  EXPECT_EQ(again.profiles_written, 0u);
}

TEST_F(ClvStoreTest, WhatCannotBeFittedIsRefusedWithTheReason) {
  ClvOptions options;
  options.now = kNow;
  EXPECT_EQ(service_->RunClv(options, false).status().code(), StatusCode::kInvalidArgument);
  // One purchase each: no repeat purchase, the rate cannot be fitted.
  std::vector<EventInput> events;
  for (size_t i = 0; i < 20; ++i)
    events.push_back(Purchase(i, "o" + std::to_string(i), kNow - 1000 * i - 5000, 500));
  BatchReport report;
  ASSERT_OK(service_->IngestEvents(events, report));
  auto run = service_->RunClv(options, false);
  ASSERT_EQ(run.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(run.status().message().find("repeat purchase"), std::string::npos)
      << run.status().ToString();
  options.horizon_days = 0;
  EXPECT_EQ(service_->RunClv(options, false).status().code(), StatusCode::kInvalidArgument);
  // Cancelled before anything is written.
  options.horizon_days = 30;
  std::atomic<bool> stop{true};
  RunControl control;
  control.cancel = &stop;
  options.control = &control;
  for (EventInput& e : events) {  // a second, earlier order each: now they can be fitted
    e.time -= Timestamp{86'400'000} * 30;
    e.order_id += "b";
  }
  ASSERT_OK(service_->IngestEvents(events, report));
  EXPECT_EQ(service_->RunClv(options, true).status().code(), StatusCode::kCancelled);
  EXPECT_EQ(service_->engine().shared_schema()->Find("clv_probability_alive"), nullptr);
}

}  // namespace
}  // namespace tailor::analytics

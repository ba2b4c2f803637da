// Money is exact: amounts are decimals (tailor/decimal.h) in events, state, snapshot and rules.
// Cases found by an outside check against DuckDB's DECIMAL, the missing-quantity rule, and a
// property test against integer cents on random money.

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "common/coding.h"
#include "store/records.h"
#include "tailor/decimal.h"
#include "tailor/engine.h"
#include "tailor/explain.h"
#include "tailor/rule.h"
#include "tailor/segments.h"
#include "tailor/state.h"
#include "test_util.h"

namespace tailor {
namespace {

using testing::TempDir;

constexpr Timestamp kNow = 1'800'000'000'000;

TEST(Decimal, ParsesAndPrintsExactly) {
  EXPECT_EQ(Decimal::Parse("0.1")->micros(), 100'000);
  EXPECT_EQ(Decimal::Parse("-12.345")->micros(), -12'345'000);
  EXPECT_EQ(Decimal::Parse("+3.")->micros(), 3'000'000);
  EXPECT_EQ(Decimal::Parse(".25")->micros(), 250'000);
  EXPECT_EQ(Decimal::Parse("1e3")->micros(), 1'000'000'000);
  EXPECT_EQ(Decimal::Parse("2.5E-2")->micros(), 25'000);
  EXPECT_EQ(Decimal::Parse("1.500000000")->micros(), 1'500'000);  // zeros past 6 decimals
  EXPECT_FALSE(Decimal::Parse("0.1234567"));                      // a 7th decimal
  EXPECT_FALSE(Decimal::Parse("abc"));
  EXPECT_FALSE(Decimal::Parse("1.2.3"));
  EXPECT_FALSE(Decimal::Parse("99999999999999"));  // past 9.2e12
  EXPECT_FALSE(Decimal::Parse(""));
  EXPECT_EQ(Decimal::ParseRounded("0.1234567")->micros(), 123'457);
  EXPECT_EQ(Decimal::ParseRounded(" 12.50\t")->micros(), 12'500'000);  // as files pad them
  EXPECT_FALSE(Decimal::ParseRounded("12.5 EUR"));
  EXPECT_FALSE(Decimal::Parse(" 1"));
  EXPECT_EQ(Decimal::FromDoubleClamped(1e300)->micros(), INT64_MAX);
  EXPECT_EQ(Decimal::FromDoubleClamped(-INFINITY)->micros(), INT64_MIN + 1);
  EXPECT_FALSE(Decimal::FromDoubleClamped(std::nan("")));
  EXPECT_EQ(Decimal::FromMicros(12'340'000).ToString(), "12.34");
  EXPECT_EQ(Decimal::FromMicros(-1).ToString(), "-0.000001");
  EXPECT_EQ(Decimal::FromMicros(7'000'000).ToString(), "7");
  EXPECT_EQ(Decimal::FromMicros(INT64_MIN).ToString(), "-9223372036854.775808");
  EXPECT_FALSE(Decimal::Add(Decimal::FromMicros(INT64_MAX), Decimal::FromMicros(1)));
  EXPECT_FALSE(Decimal::Multiply(Decimal::FromMicros(INT64_MAX / 2), 3));
}

TEST(Decimal, DoublesParsedFromTextComeBackExactly) {
  // Every number with at most 6 decimals below 1e9 survives text -> double -> Decimal.
  std::mt19937_64 rng(11);
  for (int i = 0; i < 200'000; ++i) {
    const int64_t micros =
        static_cast<int64_t>(rng() % 2'000'000'000'000'000) - 1'000'000'000'000'000;
    const Decimal decimal = Decimal::FromMicros(micros);
    const double parsed = std::strtod(decimal.ToString().c_str(), nullptr);
    ASSERT_EQ(Decimal::FromDouble(parsed), decimal) << decimal.ToString();
    ASSERT_EQ(Decimal::Parse(decimal.ToString()), decimal);
  }
  EXPECT_FALSE(Decimal::FromDouble(std::nan("")));
  EXPECT_FALSE(Decimal::FromDouble(1e20));
}

EventInput Purchase(std::string profile, int n, std::optional<Decimal> price,
                    std::optional<int64_t> quantity) {
  EventInput event;
  event.id = profile + "-" + std::to_string(n);
  event.profile_id = std::move(profile);
  event.type = "purchase";
  event.time = kNow - (n + 1) * 3'600'000;
  event.price = price;
  event.quantity = quantity;
  return event;
}

class MoneyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = Engine::Open(dir_.path(), EngineOptions{});
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    engine_ = std::move(*opened);
  }

  void Ingest(const std::vector<EventInput>& events) {
    BatchReport report;
    ASSERT_OK(engine_->IngestEvents(events, report));
    ASSERT_TRUE(report.rejected.empty()) << report.rejected.front().reason;
  }

  // Members of `rule_text` by both evaluators (which must agree), as external ids.
  std::set<std::string> Members(std::string_view rule_text) {
    auto rule = segments::ParseRule(rule_text);
    EXPECT_TRUE(rule.ok()) << rule.status().ToString();
    auto snapshot = engine_->BuildSnapshot();
    EXPECT_TRUE(snapshot.ok());
    segments::EvalContext context;
    context.snapshot = snapshot->get();
    context.now = kNow;
    auto fast = segments::Evaluate(*rule, context);
    EXPECT_TRUE(fast.ok()) << fast.status().ToString();
    std::set<std::string> members;
    for (ProfileId id = 0; id < (*snapshot)->profile_count(); ++id) {
      if (!(*snapshot)->known().Test(id)) continue;
      auto view = engine_->GetProfile(std::string((*snapshot)->external_id(id)), 0);
      auto events = engine_->Events(id);
      EXPECT_TRUE(view.ok() && events.ok());
      const segments::ProfileRow row{id, &view->traits, *events, nullptr, kNow, {}};
      const bool by_row = segments::Matches(*rule, row);
      EXPECT_EQ(fast->contains(id), by_row) << rule_text << " for " << view->external_id;
      if (by_row) members.insert(view->external_id);
    }
    return members;
  }

  TempDir dir_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(MoneyTest, SumsAreExactAtTheThreshold) {
  // 0.70 + 0.20 + 0.10 is 1.0 (binary floating point: 0.9999999999999999), and 0.10 × 3 is 0.3
  // (not 0.30000000000000004): DuckDB's DECIMAL answers the same.
  Ingest({Purchase("a", 0, Decimal::Parse("0.70"), 1), Purchase("a", 1, Decimal::Parse("0.20"), 1),
          Purchase("a", 2, Decimal::Parse("0.10"), 1),
          Purchase("b", 0, Decimal::Parse("0.10"), 3)});
  EXPECT_EQ(Members("sum(purchase.spend) >= 1.0"), std::set<std::string>{"a"});
  EXPECT_EQ(Members("sum(purchase.spend) > 0.3"), std::set<std::string>{"a"});
  EXPECT_EQ(Members("sum(purchase.spend) = 0.3"), std::set<std::string>{"b"});
  EXPECT_EQ(Members("sum(purchase.value) between 0.3 and 1"), (std::set<std::string>{"a", "b"}));
  // avg as the exact ratio: (0.70 + 0.20 + 0.10) / 3 > 0.3333 but < 0.333334.
  EXPECT_EQ(Members("avg(purchase.price) > 0.3333"), std::set<std::string>{"a"});
  EXPECT_EQ(Members("avg(purchase.price) >= 0.333334"), std::set<std::string>{});
  EXPECT_EQ(Members("min(purchase.price) = 0.1"), (std::set<std::string>{"a", "b"}));
  // The behaviour state's sum is exact too, and so is the profile's JSON.
  auto a = engine_->GetProfile("a", 0);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->behaviour.ForType("purchase")->value_sum, Decimal::FromInteger(1));
  auto b = engine_->GetProfile("b", 0);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->behaviour.ForType("purchase")->value_sum.ToString(), "0.3");
}

TEST_F(MoneyTest, SpendIsMissingWithoutAQuantityAndAnExplicitZeroCounts) {
  Ingest({Purchase("no_quantity", 0, Decimal::Parse("25"), std::nullopt),
          Purchase("zero", 0, Decimal::Parse("25"), 0),
          Purchase("two", 0, Decimal::Parse("25"), 2)});
  EXPECT_EQ(Members("count(purchase where spend exists) >= 1"),
            (std::set<std::string>{"two", "zero"}));
  EXPECT_EQ(Members("count(purchase where quantity missing) >= 1"),
            std::set<std::string>{"no_quantity"});
  EXPECT_EQ(Members("count(purchase where quantity = 0) >= 1"), std::set<std::string>{"zero"});
  EXPECT_EQ(Members("sum(purchase.spend) = 0"), (std::set<std::string>{"no_quantity", "zero"}));
  EXPECT_EQ(Members("avg(purchase.spend) exists"), (std::set<std::string>{"two", "zero"}));
  // value: the price stands in for a missing quantity (one unit), as the docs say.
  EXPECT_EQ(Members("sum(purchase.value) = 25"), std::set<std::string>{"no_quantity"});
  EXPECT_EQ(Members("sum(purchase.value) = 50"), std::set<std::string>{"two"});
}

TEST_F(MoneyTest, OutOfRangeAmountsAreRefusedWithTheReason) {
  std::vector<EventInput> events = {
      Purchase("big", 0, Decimal::Parse("9000000000000"), 2),
      Purchase("huge_quantity", 0, Decimal::Parse("1"), int64_t{1} << 40)};
  BatchReport report;
  ASSERT_OK(engine_->IngestEvents(events, report));
  ASSERT_EQ(report.rejected.size(), 2u);
  EXPECT_NE(report.rejected[0].reason.find("out of range"), std::string::npos);
  EXPECT_NE(report.rejected[1].reason.find("quantity"), std::string::npos);
}

// Random money: prices in cents, quantities 1..5, several purchases per profile, thresholds at
// and around the exact sums. Both evaluators and the behaviour state agree with integer cents.
TEST_F(MoneyTest, RandomMoneyMatchesExactCents) {
  std::mt19937_64 rng(20261202);
  const int kProfiles = 300;
  std::map<std::string, int64_t> cents;  // exact spend per profile
  std::vector<EventInput> events;
  for (int p = 0; p < kProfiles; ++p) {
    const std::string id = "p" + std::to_string(p);
    const int purchases = 1 + static_cast<int>(rng() % 6);
    for (int n = 0; n < purchases; ++n) {
      // Mostly small tenths (0.10, 0.20, 0.70 ...), whose binary sums are inexact.
      const int64_t price_cents = rng() % 2 ? 10 * (1 + rng() % 9) : 1 + rng() % 100'000;
      const int64_t quantity = 1 + rng() % 5;
      events.push_back(Purchase(id, n, Decimal::FromMicros(price_cents * 10'000), quantity));
      cents[id] += price_cents * quantity;
    }
  }
  Ingest(events);
  std::vector<int64_t> thresholds;
  for (int i = 0; i < 12; ++i) {
    auto it = std::next(cents.begin(), static_cast<long>(rng() % cents.size()));
    thresholds.push_back(it->second);
  }
  auto text = [](int64_t c) { return Decimal::FromMicros(c * 10'000).ToString(); };
  for (int64_t threshold : thresholds) {
    for (const char* op : {">=", ">", "=", "<"}) {
      std::set<std::string> expected;
      for (const auto& [id, sum] : cents) {
        const std::string_view o = op;
        if ((o == ">=" && sum >= threshold) || (o == ">" && sum > threshold) ||
            (o == "=" && sum == threshold) || (o == "<" && sum < threshold)) {
          expected.insert(id);
        }
      }
      const std::string rule = fmt::format("sum(purchase.spend) {} {}", op, text(threshold));
      ASSERT_EQ(Members(rule), expected) << rule;
    }
  }
  for (const auto& [id, sum] : cents) {
    auto view = engine_->GetProfile(id, 0);
    ASSERT_TRUE(view.ok());
    ASSERT_EQ(view->behaviour.ForType("purchase")->value_sum, Decimal::FromMicros(sum * 10'000))
        << id;
  }
}

// Stores written before exact amounts hold doubles: they read back as the decimals they were.
TEST(Money, RecordsWrittenWithDoublesReadBackAsDecimals) {
  // An event block of format 1 with one event: price (bit 4) and value (bit 6) as doubles.
  std::string block;
  block.push_back(1);
  coding::PutVarint64(block, 1);
  coding::PutFixed64(block, 42);
  coding::PutSignedVarint64(block, kNow);
  coding::PutString(block, "purchase");
  coding::PutVarint64(block, (1u << 4) | (1u << 5) | (1u << 6));
  coding::PutDouble(block, 0.7);
  coding::PutSignedVarint64(block, 3);
  coding::PutDouble(block, 2.1);
  auto events = store::DecodeEventBlock(block);
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].event.price, Decimal::Parse("0.7"));
  EXPECT_EQ((*events)[0].event.quantity, 3);
  EXPECT_EQ((*events)[0].event.value, Decimal::Parse("2.1"));
  // The old parser took any double: a huge one saturates instead of making the block unreadable.
  std::string huge = block;
  std::string huge_value;
  coding::PutDouble(huge_value, 1e300);
  huge.replace(huge.size() - 8, 8, huge_value);
  auto saturated = store::DecodeEventBlock(huge);
  ASSERT_TRUE(saturated.ok()) << saturated.status().ToString();
  EXPECT_EQ((*saturated)[0].event.value->micros(), INT64_MAX);

  // A behaviour state of format 1: sums as doubles (0.1 + 0.2 summed in binary).
  std::string state;
  state.push_back(1);
  coding::PutVarint64(state, 2);
  coding::PutSignedVarint64(state, kNow);
  coding::PutSignedVarint64(state, 0);
  coding::PutVarint64(state, 1);
  coding::PutString(state, "purchase");
  coding::PutVarint64(state, 2);
  coding::PutDouble(state, 0.1 + 0.2);
  coding::PutSignedVarint64(state, kNow);
  coding::PutSignedVarint64(state, 0);
  coding::PutVarint64(state, 0);
  auto decoded = state::BehaviourState::Decode(state);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->ForType("purchase")->value_sum, Decimal::Parse("0.3"));
  // Written again, it is format 2 and exact.
  auto again = state::BehaviourState::Decode(decoded->Encode());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->ForType("purchase")->value_sum, Decimal::Parse("0.3"));
}

}  // namespace
}  // namespace tailor

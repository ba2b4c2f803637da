// Session intent: sessions of each kind classified by the default rules with their evidence,
// session boundaries, the features against hand counts, and rule files refused at line:column.

#include "tailor/intent.h"

#include <gtest/gtest.h>

#include <array>
#include <random>

#include "common/time.h"
#include "tailor/intent_model.h"
#include "tailor/intent_simulation.h"
#include "test_util.h"

namespace tailor::intent {
namespace {

constexpr Timestamp kMinute = 60'000;

class IntentTest : public ::testing::Test {
 protected:
  EventInput Page(Timestamp minute, std::string url, std::string category = "") {
    EventInput e;
    e.profile_id = "p";
    e.type = "page_view";
    e.time = t0_ + minute * kMinute;
    e.context.page_url = std::move(url);
    e.category = std::move(category);
    return e;
  }
  EventInput View(Timestamp minute, std::string item, std::string category) {
    EventInput e;
    e.profile_id = "p";
    e.type = "product_view";
    e.time = t0_ + minute * kMinute;
    e.item_id = std::move(item);
    e.category = std::move(category);
    return e;
  }
  EventInput Typed(Timestamp minute, std::string type) {
    EventInput e;
    e.profile_id = "p";
    e.type = std::move(type);
    e.time = t0_ + minute * kMinute;
    return e;
  }
  Classification Of(const std::vector<EventInput>& events, Timestamp minute_now) {
    return Classify(DefaultIntentRules(), events, t0_ + minute_now * kMinute);
  }
  Timestamp t0_ = *ParseIsoTimestamp("2026-03-02T10:00:00Z");
};

TEST_F(IntentTest, EachKindOfSessionWithItsEvidence) {
  ASSERT_EQ(DefaultIntentRules().rules.size(), 4u);
  // Inspiration: a blog post from social, then three categories, no cart.
  std::vector<EventInput> inspiration = {Page(0, "https://shop.example/blog/first-golf-set"),
                                         View(2, "i1", "golf"), View(4, "i2", "tennis"),
                                         View(5, "i3", "running")};
  inspiration[0].context.referrer = "https://www.instagram.com/";
  Classification c = Of(inspiration, 6);
  EXPECT_EQ(c.intent, Intent::kInspiration) << c.reason;
  EXPECT_EQ(c.session.content_pages, 1);
  EXPECT_EQ(c.session.distinct_categories, 3);
  EXPECT_EQ(c.session.referrer_class, "social");
  EXPECT_TRUE(c.evidence.matched);
  // Best offer: from a price comparison site, clubs of one category compared, sorted by price.
  std::vector<EventInput> offer = {View(0, "c1", "golf"), View(1, "c2", "golf"),
                                   View(2, "c3", "golf"),
                                   Page(3, "https://shop.example/c/golf?sort=price_asc", "golf")};
  offer[0].context.referrer = "https://www.idealo.de/preisvergleich/golf";
  c = Of(offer, 4);
  EXPECT_EQ(c.intent, Intent::kBestOffer) << c.reason;
  EXPECT_EQ(c.session.referrer_class, "price_comparison");
  EXPECT_EQ(c.session.price_sort, 1);
  EXPECT_DOUBLE_EQ(c.session.top_category_share, 1.0);
  EXPECT_NE(c.evidence.children.size(), 0u);
  // Concerns: the same club three times and the returns page.
  std::vector<EventInput> concerns = {View(0, "c1", "golf"), View(3, "c1", "golf"),
                                      Page(4, "https://shop.example/help/returns"),
                                      View(6, "c1", "golf")};
  c = Of(concerns, 7);
  EXPECT_EQ(c.intent, Intent::kConcerns) << c.reason;
  EXPECT_EQ(c.session.max_item_views, 3);
  EXPECT_EQ(c.session.service_pages, 1);
  // Post-purchase outranks everything.
  std::vector<EventInput> bought = concerns;
  bought.push_back(Typed(8, "purchase"));
  c = Of(bought, 9);
  EXPECT_EQ(c.intent, Intent::kPostPurchase) << c.reason;
  EXPECT_EQ(c.rule, "purchases >= 1");
  // Unknown: one view (no rule says anything), or no session in progress.
  c = Of({View(0, "c1", "golf")}, 1);
  EXPECT_EQ(c.intent, Intent::kUnknown);
  EXPECT_EQ(c.rule_line, 0);
  c = Of(concerns, 60);  // 54 idle minutes: the session is over
  EXPECT_EQ(c.intent, Intent::kUnknown);
  EXPECT_EQ(c.session.events, 0);
}

TEST_F(IntentTest, TheSessionIsTheEventsSinceTheLastGap) {
  // An old visit (a purchase) 2 hours ago, then a new session: two views of one item.
  std::vector<EventInput> events = {Typed(0, "purchase"), View(120, "c9", "golf"),
                                    View(125, "c9", "golf")};
  EventInput sent = Typed(126, "email_sent");  // not their activity
  events.push_back(sent);
  const SessionFeatures f = SummarizeSession(events, t0_ + 127 * kMinute);
  EXPECT_EQ(f.events, 2);
  EXPECT_EQ(f.purchases, 0);
  EXPECT_EQ(f.product_views, 2);
  EXPECT_EQ(f.max_item_views, 2);
  EXPECT_DOUBLE_EQ(f.minutes, 5.0);
  EXPECT_EQ(f.start, t0_ + 120 * kMinute);
  EXPECT_EQ(f.referrer_class, "direct");
  // The UCI kinds: two product pages, five minutes on the first (the last page's time is not
  // known); a returning visitor (the purchase's session); Monday 2 March.
  EXPECT_EQ(f.product_pages, 2);
  EXPECT_DOUBLE_EQ(f.product_seconds, 300.0);
  EXPECT_EQ(f.returning, 1);
  EXPECT_EQ(f.month, 3);
  EXPECT_EQ(f.weekend, 0);
  // Sign-in, help and product pages, on a Saturday, a first visit.
  const Timestamp saturday = *ParseIsoTimestamp("2026-08-01T09:00:00Z");
  std::vector<EventInput> visit = {Page(0, "https://shop.example/account/login"),
                                   Page(2, "https://shop.example/help/shipping"),
                                   Page(3, "https://shop.example/p/club-1"),
                                   Typed(7, "add_to_cart"), Page(8, "https://shop.example/cart")};
  for (EventInput& e : visit) e.time += saturday - t0_;
  const SessionFeatures g = SummarizeSession(visit, saturday + 9 * kMinute);
  EXPECT_EQ(g.administrative_pages, 2);
  EXPECT_EQ(g.informational_pages, 1);
  EXPECT_EQ(g.product_pages, 1);
  EXPECT_DOUBLE_EQ(g.administrative_seconds, 120.0);  // the login page, 2 minutes
  EXPECT_DOUBLE_EQ(g.informational_seconds, 60.0);
  EXPECT_DOUBLE_EQ(g.product_seconds, 300.0);  // until the cart page, the cart add between
  EXPECT_EQ(g.returning, 0);
  EXPECT_EQ(g.month, 8);
  EXPECT_EQ(g.weekend, 1);
}

TEST_F(IntentTest, RulesAreDataAndBrokenFilesAreRefusedAtLineAndColumn) {
  ASSERT_OK_AND_ASSIGN(IntentRules rules, ParseIntentRules(R"(# our rules
best_offer: searches >= 2

inspiration: page_views >= 1
)"));
  ASSERT_EQ(rules.rules.size(), 2u);
  EXPECT_EQ(rules.rules[0].line, 2);
  std::vector<EventInput> events = {Typed(0, "search"), Typed(1, "search")};
  Classification c = Classify(rules, events, t0_ + 2 * kMinute);
  EXPECT_EQ(c.intent, Intent::kBestOffer);
  EXPECT_EQ(c.rule_line, 2);

  const auto refused = [](std::string_view text, std::string_view where) {
    auto parsed = ParseIntentRules(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_TRUE(parsed.status().message().starts_with(where)) << parsed.status().ToString();
  };
  refused("maybe: events > 1", "1:1:");
  refused("concerns events > 1", "1:1:");
  refused("# a comment\nconcerns: events >", "2:19:");
  refused("concerns: eventz > 1", "1:11:");
  refused("concerns: referrer_class > 3", "1:26:");
  refused("\n\n", "1:1:");
}

void ExpectSameFeatures(const SessionFeatures& a, const SessionFeatures& b, size_t at) {
  EXPECT_EQ(a.events, b.events) << at;
  EXPECT_DOUBLE_EQ(a.minutes, b.minutes) << at;
  EXPECT_EQ(a.page_views, b.page_views) << at;
  EXPECT_EQ(a.product_views, b.product_views) << at;
  EXPECT_EQ(a.distinct_categories, b.distinct_categories) << at;
  EXPECT_EQ(a.distinct_items, b.distinct_items) << at;
  EXPECT_EQ(a.max_item_views, b.max_item_views) << at;
  EXPECT_DOUBLE_EQ(a.top_item_share, b.top_item_share) << at;
  EXPECT_DOUBLE_EQ(a.top_category_share, b.top_category_share) << at;
  EXPECT_EQ(a.price_sort, b.price_sort) << at;
  EXPECT_EQ(a.deal_pages, b.deal_pages) << at;
  EXPECT_EQ(a.service_pages, b.service_pages) << at;
  EXPECT_EQ(a.content_pages, b.content_pages) << at;
  EXPECT_EQ(a.searches, b.searches) << at;
  EXPECT_EQ(a.cart_adds, b.cart_adds) << at;
  EXPECT_EQ(a.checkouts, b.checkouts) << at;
  EXPECT_EQ(a.purchases, b.purchases) << at;
  EXPECT_EQ(a.administrative_pages, b.administrative_pages) << at;
  EXPECT_EQ(a.informational_pages, b.informational_pages) << at;
  EXPECT_EQ(a.product_pages, b.product_pages) << at;
  EXPECT_DOUBLE_EQ(a.administrative_seconds, b.administrative_seconds) << at;
  EXPECT_DOUBLE_EQ(a.informational_seconds, b.informational_seconds) << at;
  EXPECT_DOUBLE_EQ(a.product_seconds, b.product_seconds) << at;
  EXPECT_EQ(a.returning, b.returning) << at;
  EXPECT_EQ(a.month, b.month) << at;
  EXPECT_EQ(a.weekend, b.weekend) << at;
  EXPECT_EQ(a.referrer_class, b.referrer_class) << at;
  EXPECT_EQ(a.start, b.start) << at;
  EXPECT_EQ(a.last, b.last) << at;
}

// The live tracker, fed one event at a time, against the summary of the whole history at every
// step: simulated sessions one after another, some closer than the gap (they run together), with
// messages sent between them, asked right after each event and a while later.
TEST(SessionTracker, AgreesWithTheSummaryOfTheWholeHistoryAtEveryEvent) {
  const std::vector<SimulatedSession> sessions = SimulateSessions(300, 11);
  std::vector<EventInput> history;
  Timestamp shift = 0;
  uint64_t seed = 5;
  const auto next = [&seed] {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    return seed >> 33;
  };
  for (const SimulatedSession& s : sessions) {
    shift += static_cast<Timestamp>(next() % 90) * kMinute;  // 0-89 idle minutes after the last
    const Timestamp base = history.empty() ? 0 : history.back().time - s.events.front().time;
    for (EventInput e : s.events) {
      e.time += base + shift;
      history.push_back(std::move(e));
    }
    if (next() % 3 == 0) {
      EventInput sent;
      sent.type = "email_sent";
      sent.time = history.back().time + static_cast<Timestamp>(next() % 50) * kMinute;
      history.push_back(sent);
    }
    shift = 0;
  }
  SessionTracker tracker;
  for (size_t i = 0; i < history.size(); ++i) {
    tracker.Add(history[i]);
    const std::span<const EventInput> seen(history.data(), i + 1);
    for (Timestamp later : {Timestamp{0}, static_cast<Timestamp>(next() % 45) * kMinute}) {
      const Timestamp now = history[i].time + later;
      if (i + 1 < history.size() && now >= history[i + 1].time) continue;
      ExpectSameFeatures(tracker.Features(now), SummarizeSession(seen, now), i);
    }
    if (HasFailure()) return;
  }
}

// The simulator: equal shares, deterministic, sessions that stay sessions; the default rules
// recognize every purchase and most of each other intent (docs/benchmarks.md "Intent" has the
// full figures, with a learned model beside them: `tailor bench intent`).
TEST(IntentSimulation, LabelledSessionsAndTheDefaultRulesOnThem) {
  const std::vector<SimulatedSession> sessions = SimulateSessions(4000, 7);
  ASSERT_EQ(sessions.size(), 4000u);
  const std::vector<SimulatedSession> again = SimulateSessions(4000, 7);
  std::array<std::array<int, 5>, 5> confusion{};
  for (size_t i = 0; i < sessions.size(); ++i) {
    const SimulatedSession& s = sessions[i];
    ASSERT_EQ(s.events.size(), again[i].events.size());
    // One session: the summary sees every event the simulator drew.
    const SessionFeatures f = SummarizeSession(s.events, s.end);
    ASSERT_EQ(f.events, static_cast<int64_t>(s.events.size())) << i;
    const Classification c = Classify(DefaultIntentRules(), s.events, s.end);
    ++confusion[static_cast<size_t>(s.label)][static_cast<size_t>(c.intent)];
  }
  const auto recall = [&](Intent i) {
    const auto& row = confusion[static_cast<size_t>(i)];
    int total = 0;
    for (int n : row) total += n;
    return double(row[static_cast<size_t>(i)]) / total;
  };
  EXPECT_EQ(recall(Intent::kPostPurchase), 1.0);
  EXPECT_GT(recall(Intent::kConcerns), 0.8);
  EXPECT_GT(recall(Intent::kInspiration), 0.5);
  EXPECT_GT(recall(Intent::kBestOffer), 0.3);
}

}  // namespace
}  // namespace tailor::intent

namespace tailor::intent {
namespace {

// The site-wide page figures, by hand: bounce rate per entrance, exit rate per view, value per
// session viewing the page before a purchase; a session's inputs are their means over its
// pages (the site's figures for a page not kept), and they survive the model's JSON.
TEST(IntentModel, PageFiguresAsWebAnalyticsDefineThem) {
  std::vector<SessionPages> pages = {
      {{"/home", "/p/1"}, 2, 100.0, false},  // bought after both pages
      {{"/home"}, 1, 0.0, false},            // a bounce
      {{"/p/1", "/cart"}, 2, 0.0, false},
      {{"/never"}, 1, 1e6, true},  // held out: not counted
  };
  SessionFeatures bought, browsed;
  bought.events = 3;
  bought.cart_adds = 1;
  bought.pages = {"/home", "/p/1"};
  browsed.events = 1;
  browsed.pages = {"/home"};
  const std::vector<LabelledSession> outcome = {{bought, "purchase", false},
                                                {browsed, "no_purchase", false},
                                                {bought, "purchase", false},
                                                {browsed, "no_purchase", false}};
  TrainReport report;
  ASSERT_OK_AND_ASSIGN(IntentModel model, TrainIntentModel({}, outcome, pages, {}, report));
  ASSERT_EQ(model.pages.size(), 3u);
  const PageFigures home = model.pages.at("/home"), product = model.pages.at("/p/1"),
                    cart = model.pages.at("/cart");
  EXPECT_DOUBLE_EQ(home.bounce_rate, 0.5);
  EXPECT_DOUBLE_EQ(home.exit_rate, 0.5);
  EXPECT_DOUBLE_EQ(home.value, 50.0);
  EXPECT_DOUBLE_EQ(product.bounce_rate, 0.0);
  EXPECT_DOUBLE_EQ(product.exit_rate, 0.5);
  EXPECT_DOUBLE_EQ(product.value, 50.0);
  EXPECT_DOUBLE_EQ(cart.exit_rate, 1.0);
  EXPECT_DOUBLE_EQ(cart.value, 0.0);
  EXPECT_DOUBLE_EQ(model.site.bounce_rate, 1.0 / 3);
  EXPECT_DOUBLE_EQ(model.site.exit_rate, 3.0 / 5);
  EXPECT_DOUBLE_EQ(model.site.value, 100.0 / 3);
  SessionFeatures now;
  now.events = 3;
  now.pages = {"/home", "/cart", "/unknown"};
  const std::vector<double> row = model.Row(now);
  ASSERT_EQ(row.size(), FeatureRowNames().size());
  EXPECT_DOUBLE_EQ(row[row.size() - 3], (0.5 + 0.0 + 1.0 / 3) / 3);
  EXPECT_DOUBLE_EQ(row[row.size() - 2], (0.5 + 1.0 + 0.6) / 3);
  EXPECT_DOUBLE_EQ(row[row.size() - 1], (50.0 + 0.0 + 100.0 / 3) / 3);
  ASSERT_TRUE(model.readiness_trees.has_value());  // the default family
  EXPECT_FALSE(model.readiness.has_value());
  ASSERT_OK_AND_ASSIGN(IntentModel again, ParseIntentModel(IntentModelJson(model)));
  EXPECT_EQ(again.Row(now), row);
  ASSERT_TRUE(again.readiness_trees.has_value());
  EXPECT_EQ(*again.PurchaseReadiness(now), *model.PurchaseReadiness(now));
  LabelOptions logistic;
  logistic.readiness = ReadinessFamily::kLogistic;
  ASSERT_OK_AND_ASSIGN(IntentModel linear, TrainIntentModel({}, outcome, pages, logistic, report));
  ASSERT_TRUE(linear.readiness.has_value());
  EXPECT_FALSE(linear.readiness_trees.has_value());
  ASSERT_OK_AND_ASSIGN(IntentModel linear_again, ParseIntentModel(IntentModelJson(linear)));
  EXPECT_EQ(*linear_again.PurchaseReadiness(now), *linear.PurchaseReadiness(now));
  // Broken model text is refused at its field, never a crash.
  EXPECT_FALSE(ParseIntentModel("{").ok());
  EXPECT_FALSE(ParseIntentModel(R"({"features": []})").ok());
  std::string text = IntentModelJson(model);
  text.replace(text.find("\"site\":["), 8, "\"site\":[\"x\",");
  EXPECT_FALSE(ParseIntentModel(text).ok());
}

// Recorded sessions (features and page figures given, not summarized from events): the readiness
// model is cross-validated fold by fold on the fold key. A purchase needs a page value and a
// middling number of product pages, which trees learn and a linear model cannot; a fold without
// a purchase is refused, not scored.
TEST(IntentModel, ReadinessCrossValidatedOnRecordedSessions) {
  std::mt19937_64 random(3);
  std::vector<RecordedSession> sessions;
  for (int64_t line = 2; line < 2502; ++line) {
    RecordedSession s;
    s.features.product_pages = static_cast<int64_t>(random() % 20);
    s.features.returning = static_cast<int64_t>(random() % 2);
    s.figures.value = (random() % 3 == 0) ? double(random() % 50) : 0.0;
    s.figures.exit_rate = (random() % 100) / 1000.0;
    const bool ready =
        s.figures.value > 5 && s.features.product_pages >= 4 && s.features.product_pages <= 12;
    s.purchased = ready != (random() % 50 == 0);  // 2 % noise
    s.fold_key = line - 2;
    sessions.push_back(s);
  }
  ASSERT_OK_AND_ASSIGN(ReadinessValidation trees,
                       CrossValidateReadiness(sessions, ReadinessFamily::kBoostedTrees));
  ASSERT_OK_AND_ASSIGN(ReadinessValidation linear,
                       CrossValidateReadiness(sessions, ReadinessFamily::kLogistic));
  EXPECT_EQ(trees.sessions, 2500u);
  EXPECT_EQ(trees.auroc.size(), 5u);
  EXPECT_EQ(trees.average_precision.size(), 5u);
  EXPECT_GT(trees.mean_auroc, 0.9);
  EXPECT_GT(trees.mean_auroc, linear.mean_auroc + 0.03) << linear.mean_auroc;
  double mean = 0;
  for (double a : trees.auroc) mean += a / 5;
  EXPECT_DOUBLE_EQ(trees.mean_auroc, mean);
  // Fold 3 (keys 3, 8, 13, ...) without a purchase.
  for (RecordedSession& s : sessions) {
    if (s.fold_key % 5 == 3) s.purchased = false;
  }
  EXPECT_EQ(CrossValidateReadiness(sessions, ReadinessFamily::kLogistic).status().message(),
            "fold 4 of 5: sessions with and without a purchase are needed on both sides");
}

}  // namespace
}  // namespace tailor::intent

// The online recommender (tailor/recommender.h) on small catalogues where the right answer is
// known by hand: level progression, what is never shown (owned, out of stock, below the owned
// level), intent's reorderings, and the defined answers for odd input.

#include "tailor/recommender.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <random>
#include <set>

#include "reco/item_index.h"

namespace tailor::reco {
namespace {

constexpr Timestamp kDay = 86'400'000;
constexpr Timestamp kNow = 1'800'000'000'000;

ItemInput Item(std::string id, std::string category, std::string level = "", TraitMap extra = {}) {
  ItemInput item;
  item.id = std::move(id);
  item.name = item.id;
  item.category = std::move(category);
  item.price = Decimal::FromDouble(100);
  if (!level.empty()) item.attributes.emplace_back("level", TypedValue{TraitType::kString, level});
  for (auto& entry : extra) item.attributes.push_back(std::move(entry));
  return item;
}

TypedValue Flag(bool value) { return TypedValue{TraitType::kBool, value}; }

std::unordered_map<std::string, ItemInput> Golf() {
  std::unordered_map<std::string, ItemInput> items;
  for (ItemInput item :
       {Item("set_b1", "golf_clubs", "beginner"), Item("set_b2", "golf_clubs", "beginner"),
        Item("irons_i1", "golf_clubs", "intermediate"),
        Item("irons_i2", "golf_clubs", "intermediate"), Item("irons_a1", "golf_clubs", "advanced"),
        Item("balls", "golf_balls", "", {{"consumable", Flag(true)}}),
        Item("sold_out", "golf_clubs", "intermediate", {{"in_stock", Flag(false)}}),
        Item("socks", "socks")}) {
    items.emplace(item.id, item);
  }
  return items;
}

EventInput Event(std::string type, std::string item, Timestamp time, std::string category = "") {
  EventInput event;
  event.type = std::move(type);
  event.item_id = std::move(item);
  event.time = time;
  event.category = std::move(category);
  return event;
}

std::vector<std::string> Ids(const std::vector<Recommendation>& recommendations) {
  std::vector<std::string> ids;
  for (const Recommendation& r : recommendations) ids.push_back(r.item);
  return ids;
}

bool Contains(const std::vector<std::string>& ids, std::string_view id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

// Other shoppers: socks are the most popular item, then balls.
Interactions Shoppers() {
  Interactions out;
  out.items = {"socks", "balls", "set_b1"};
  for (uint32_t u = 0; u < 6; ++u) {
    out.users.push_back("s" + std::to_string(u));
    out.pairs.push_back({u, 0, kNow - kDay, true, {}});
    if (u < 3) out.pairs.push_back({u, 1, kNow - kDay, true, {}});
    if (u < 1) out.pairs.push_back({u, 2, kNow - kDay, false, {}});
  }
  return out;
}

Request At(Timestamp now) {
  Request request;
  request.now = now;
  return request;
}

TEST(Recommender, OwnerOfABeginnerSetIsOfferedTheNextLevelNeverTheOwnedOne) {
  const auto model = Model::Train(Shoppers(), Golf(), {}, kNow, 1);
  const std::vector<EventInput> events = {Event("product_view", "set_b1", kNow - 9 * kDay),
                                          Event("purchase", "set_b1", kNow - 9 * kDay),
                                          Event("purchase", "balls", kNow - 9 * kDay)};
  const std::vector<Recommendation> out = Recommend(*model, ActivityOf(*model, events), At(kNow));
  const std::vector<std::string> ids = Ids(out);
  ASSERT_GE(out.size(), 2u);
  // Intermediate clubs first (the one in stock), with the progression as the reason.
  EXPECT_EQ(out[0].item, "irons_i1");
  EXPECT_EQ(out[1].item, "irons_i2");
  EXPECT_EQ(out[0].reasons.front().generator, "progression");
  EXPECT_NE(out[0].reasons.front().detail.find("owns beginner golf_clubs"), std::string::npos);
  // Never a beginner set (the level owned), never two levels up, never out of stock.
  EXPECT_FALSE(Contains(ids, "set_b1"));
  EXPECT_FALSE(Contains(ids, "set_b2"));
  EXPECT_FALSE(Contains(ids, "sold_out"));
  EXPECT_TRUE(Contains(ids, "balls")) << "a consumable may be bought again";

  // Owning the advanced level: nothing of that kind at or below it.
  const std::vector<EventInput> advanced = {Event("purchase", "irons_a1", kNow - kDay)};
  const std::vector<std::string> after =
      Ids(Recommend(*model, ActivityOf(*model, advanced), At(kNow)));
  for (const std::string& id : after) {
    EXPECT_NE(model->item(*model->Find(id)).category, "golf_clubs") << id;
  }
  // Refunded: no longer owned, so no progression from it.
  std::vector<EventInput> refunded = events;
  refunded.push_back(Event("refund", "set_b1", kNow - 8 * kDay));
  const std::vector<Recommendation> again =
      Recommend(*model, ActivityOf(*model, refunded), At(kNow));
  ASSERT_FALSE(again.empty());
  for (const Recommendation& r : again) EXPECT_NE(r.reasons.front().generator, "progression");
}

TEST(Recommender, AGolferWithoutAPurchaseGetsTheFirstLevel) {
  const auto model = Model::Train(Shoppers(), Golf(), {}, kNow, 1);
  // Pages of the category only (no item seen): the first level.
  const std::vector<EventInput> pages = {Event("page_view", "", kNow - kDay, "golf_clubs"),
                                         Event("page_view", "", kNow - kDay, "golf_clubs")};
  const std::vector<Recommendation> out = Recommend(*model, ActivityOf(*model, pages), At(kNow));
  ASSERT_GE(out.size(), 2u);
  EXPECT_EQ(out[0].item, "set_b1");
  EXPECT_EQ(out[1].item, "set_b2");
  EXPECT_EQ(out[0].reasons.front().generator, "browsing");
  // Looking at intermediate clubs: that level.
  const std::vector<EventInput> looks = {Event("product_view", "irons_i2", kNow - kDay),
                                         Event("product_view", "irons_i2", kNow - kDay)};
  const std::vector<Recommendation> mid = Recommend(*model, ActivityOf(*model, looks), At(kNow));
  ASSERT_GE(mid.size(), 2u);
  for (size_t r = 0; r < 2; ++r) {
    EXPECT_EQ(model->item(*model->Find(mid[r].item)).level, 1) << mid[r].item;
    EXPECT_EQ(mid[r].reasons.front().generator, "browsing");
  }
}

TEST(Recommender, AVisitorWithNoHistoryGetsPopularItemsAndFiltersHold) {
  const auto model = Model::Train(Shoppers(), Golf(), {}, kNow, 1);
  const std::vector<Recommendation> out = Recommend(*model, Activity{}, At(kNow));
  ASSERT_GE(out.size(), 3u);
  EXPECT_EQ(Ids(out)[0], "socks");
  EXPECT_EQ(Ids(out)[1], "balls");
  EXPECT_EQ(out[0].reasons.front().generator, "popular");
  EXPECT_FALSE(Contains(Ids(out), "sold_out"));

  Request golf_only = At(kNow);
  golf_only.category = "golf_balls";
  EXPECT_EQ(Ids(Recommend(*model, Activity{}, golf_only)), std::vector<std::string>{"balls"});
  Request cheap = At(kNow);
  cheap.max_price = 50;  // every item costs 100
  EXPECT_TRUE(Recommend(*model, Activity{}, cheap).empty());
  Request fewer = At(kNow);
  fewer.count = 2;
  fewer.exclude = {"socks", "not_an_item"};
  EXPECT_EQ(Ids(Recommend(*model, Activity{}, fewer)),
            (std::vector<std::string>{"balls", "set_b1"}));
}

TEST(Recommender, IntentPutsComparedOrWorriedAboutItemsFirst) {
  const auto model = Model::Train(Shoppers(), Golf(), {}, kNow, 1);
  const std::vector<EventInput> events = {Event("product_view", "irons_i1", kNow - 3 * kDay),
                                          Event("product_view", "irons_a1", kNow - 60'000),
                                          Event("product_view", "irons_a1", kNow - 50'000),
                                          Event("product_view", "irons_a1", kNow - 40'000),
                                          Event("product_view", "socks", kNow - 30'000)};
  const Activity activity = ActivityOf(*model, events);
  Request concerns = At(kNow);
  concerns.intent = intent::Intent::kConcerns;
  const std::vector<Recommendation> worried = Recommend(*model, activity, concerns);
  ASSERT_FALSE(worried.empty());
  EXPECT_EQ(worried[0].item, "irons_a1");
  EXPECT_EQ(worried[0].reasons.front().generator, "intent");
  EXPECT_NE(worried[0].reasons.front().detail.find("3 views"), std::string::npos);

  Request offer = At(kNow);
  offer.intent = intent::Intent::kBestOffer;
  const std::vector<Recommendation> offered = Recommend(*model, activity, offer);
  std::vector<std::string> compared = Ids(offered);
  ASSERT_GE(compared.size(), 3u);
  // Every reason says what it rests on (written out only for the items shown).
  std::set<std::string> details;
  for (const Recommendation& r : offered) {
    for (const Reason& reason : r.reasons) details.insert(reason.generator + ": " + reason.detail);
  }
  EXPECT_TRUE(details.contains("intent: best offer: compared it (3 views)"));
  EXPECT_TRUE(details.contains("intent: best offer: compared it (1 views)"));
  EXPECT_TRUE(details.contains("popular: popular in golf_clubs, which they look at"));
  EXPECT_TRUE(details.contains("popular: popular overall"));
  EXPECT_TRUE(details.contains("also_bought: goes with socks")) << fmt::format("{}", details);
  // The two items they compared in this session come first (in whatever order the other
  // signals give), not the one they looked at days ago.
  compared.resize(2);
  std::sort(compared.begin(), compared.end());
  EXPECT_EQ(compared, (std::vector<std::string>{"irons_a1", "socks"}));

  Request inspiration = At(kNow);
  inspiration.intent = intent::Intent::kInspiration;
  const std::vector<Recommendation> varied = Recommend(*model, activity, inspiration);
  std::unordered_map<std::string, int> per_category;
  for (const Recommendation& r : varied) ++per_category[model->item(*model->Find(r.item)).category];
  for (const auto& [category, count] : per_category) EXPECT_LE(count, 2) << category;
}

TEST(Recommender, OddInputHasDefinedAnswers) {
  // An empty catalogue: nothing to recommend, whatever happened.
  const auto empty = Model::Train(Shoppers(), {}, {}, kNow, 1);
  EXPECT_EQ(empty->item_count(), 0u);
  EXPECT_EQ(empty->stats().interacted_items_unknown, Shoppers().pairs.size());
  const std::vector<EventInput> events = {Event("purchase", "set_b1", kNow)};
  EXPECT_TRUE(Recommend(*empty, ActivityOf(*empty, events), At(kNow)).empty());

  // A level outside the declared order: out of every progression, still recommendable.
  auto items = Golf();
  items.emplace("irons_pro", Item("irons_pro", "golf_clubs", "tour_pro"));
  const auto model = Model::Train({}, items, {}, kNow, 2);
  EXPECT_EQ(model->stats().levels_outside_order, 1u);
  EXPECT_EQ(model->item(*model->Find("irons_pro")).level, -1);
  const std::vector<EventInput> owner = {Event("purchase", "irons_a1", kNow),
                                         Event("purchase", "no_such_item", kNow)};
  const Activity activity = ActivityOf(*model, owner);
  EXPECT_EQ(activity.touches.size(), 1u) << "an item outside the catalogue is ignored";
  const std::vector<std::string> ids = Ids(Recommend(*model, activity, At(kNow)));
  EXPECT_TRUE(Contains(ids, "irons_pro"));
  EXPECT_FALSE(Contains(ids, "irons_i1"));

  // A configured order and kind attribute: progressions follow them.
  ModelOptions options;
  options.catalogue.levels = {"intermediate", "beginner"};  // reversed on purpose
  const auto reversed = Model::Train({}, Golf(), options, kNow, 3);
  const std::vector<EventInput> mid = {Event("purchase", "irons_i1", kNow)};
  const std::vector<Recommendation> next =
      Recommend(*reversed, ActivityOf(*reversed, mid), At(kNow));
  ASSERT_FALSE(next.empty());
  EXPECT_EQ(next[0].item, "set_b1");
  EXPECT_EQ(reversed->stats().levels_outside_order, 1u);  // "advanced"
}

// A training run asked to stop gives no model (the service keeps the one serving); a deadline
// already past stops it too.
TEST(Recommender, TrainingStopsWhenAskedTo) {
  std::atomic<bool> stop{true};
  RunControl control;
  control.cancel = &stop;
  EXPECT_EQ(Model::Train(Shoppers(), Golf(), {}, kNow, 1, &control), nullptr);
  stop = false;
  EXPECT_NE(Model::Train(Shoppers(), Golf(), {}, kNow, 1, &control), nullptr);
  control.deadline = std::chrono::steady_clock::now() - std::chrono::seconds(1);
  EXPECT_EQ(Model::Train(Shoppers(), Golf(), {}, kNow, 1, &control), nullptr);
}

// Similar (content-based): someone who looked at a Mizuno driver is offered the Mizuno bag before
// a Titleist one nobody else tells apart (equal popularity, earlier id), with the shared fact as
// the reason; with the similar generator weighed 0 the id order is back.
TEST(Recommender, SimilarItemsShareTheFactsOfWhatTheyLookedAt) {
  const auto brand = [](std::string name) {
    return TraitMap{{"brand", TypedValue{TraitType::kString, std::move(name)}}};
  };
  std::unordered_map<std::string, ItemInput> items;
  for (ItemInput item :
       {Item("driver", "golf_clubs", "", brand("Mizuno")),
        Item("bag_a", "bags", "", brand("Titleist")), Item("bag_z", "bags", "", brand("Mizuno"))}) {
    items.emplace(item.id, item);
  }
  const std::vector<EventInput> events = {Event("product_view", "driver", kNow - kDay)};
  const auto model = Model::Train({}, items, {}, kNow, 1);
  const std::vector<Recommendation> got = Recommend(
      *model, ActivityOf(*model, events), {.count = 2, .now = kNow, .exclude = {"driver"}});
  ASSERT_EQ(Ids(got), (std::vector<std::string>{"bag_z", "bag_a"}));
  ASSERT_FALSE(got[0].reasons.empty());
  EXPECT_EQ(got[0].reasons[0].generator, "similar");
  EXPECT_EQ(got[0].reasons[0].detail, "shares brand=Mizuno with what they look at");

  ModelOptions without;
  without.blend = BlendWeights{};
  without.blend->similar = 0;
  const auto plain = Model::Train({}, items, without, kNow, 1);
  EXPECT_EQ(plain->blend_report().why, "given");
  EXPECT_EQ(Ids(Recommend(*plain, ActivityOf(*plain, events),
                          {.count = 2, .now = kNow, .exclude = {"driver"}})),
            (std::vector<std::string>{"bag_a", "bag_z"}));
}

// Answers from an activity whose searches were made at the fold equal those from the same
// activity searching at the request, at two request times: the same items, scores and reasons.
void ExpectTheSameAnswers(const Model& model, const Activity& folded, const Activity& unsearched,
                          std::string_view generator) {
  for (const Timestamp now : {kNow, kNow + 30 * kDay}) {
    const std::vector<Recommendation> cached = Recommend(model, folded, {.count = 10, .now = now});
    const std::vector<Recommendation> searched =
        Recommend(model, unsearched, {.count = 10, .now = now});
    ASSERT_EQ(Ids(cached), Ids(searched));
    ASSERT_EQ(cached.size(), 10u);
    for (size_t i = 0; i < cached.size(); ++i) {
      EXPECT_NEAR(cached[i].score, searched[i].score, 1e-9) << cached[i].item;
      EXPECT_EQ(cached[i].reasons[0].generator, generator);
      EXPECT_EQ(cached[i].reasons[0].detail, searched[i].reasons[0].detail);
    }
  }
}

// similar's items are searched when the activity is folded (as of its latest touch) and read by
// later requests: decay scales every touch alike, so the answer equals a search at the request.
TEST(Recommender, SimilarSearchedAtTheFoldEqualsTheSearchAtTheRequest) {
  std::unordered_map<std::string, ItemInput> items;
  const std::vector<std::string> brands = {"Mizuno", "Titleist", "Ping", "Callaway"};
  for (int j = 0; j < 120; ++j) {
    ItemInput item =
        Item(fmt::format("i{:03}", j), fmt::format("c{}", j % 5), "",
             TraitMap{{"brand", TypedValue{TraitType::kString, brands[j % 4]}},
                      {"colour", TypedValue{TraitType::kString, j % 3 == 0 ? "red" : "blue"}}});
    items.emplace(item.id, item);
  }
  ModelOptions options;
  options.blend = BlendWeights{};
  options.blend->progression = options.blend->browsing = options.blend->popular = 0;
  options.blend->popular_in_category = options.blend->also_bought = 0;
  const auto model = Model::Train({}, items, options, kNow, 1);
  const std::vector<EventInput> events = {
      Event("product_view", "i007", kNow - 40 * kDay), Event("purchase", "i012", kNow - 9 * kDay),
      Event("add_to_cart", "i033", kNow - 3 * kDay), Event("product_view", "i050", kNow - kDay)};
  const Activity folded = ActivityOf(*model, events);
  ASSERT_GT(folded.similar_depth, 0u);
  ASSERT_FALSE(folded.similar.empty());
  Activity unsearched = folded;
  unsearched.similar.clear();
  unsearched.similar_depth = 0;
  ExpectTheSameAnswers(*model, folded, unsearched, "similar");
}

// also_bought's sums are likewise made when the activity is folded: the same answer as summing at
// the request, at two request times.
TEST(Recommender, AlsoBoughtSummedAtTheFoldEqualsTheSumAtTheRequest) {
  std::unordered_map<std::string, ItemInput> items;
  Interactions data;
  for (int j = 0; j < 40; ++j) {
    data.items.push_back(fmt::format("i{:02}", j));
    items.emplace(data.items.back(), Item(data.items.back(), fmt::format("c{}", j % 4)));
  }
  std::mt19937_64 random(11);
  for (uint32_t u = 0; u < 300; ++u) {
    data.users.push_back(fmt::format("u{}", u));
    std::set<uint32_t> seen;
    const uint32_t base = static_cast<uint32_t>(random() % 40);
    for (int k = 0; k < 5; ++k) {
      const uint32_t j =
          (base + static_cast<uint32_t>(random() % 8)) % 40;  // nearby items go together
      if (seen.insert(j).second) data.pairs.push_back({u, j, kNow - 10 * kDay, k == 0, {}});
    }
  }
  ModelOptions options;
  options.blend = BlendWeights{};
  options.blend->progression = options.blend->browsing = options.blend->popular = 0;
  options.blend->popular_in_category = options.blend->similar = options.blend->like_you = 0;
  options.factors = 0;
  const auto model = Model::Train(data, items, options, kNow, 1);
  const std::vector<EventInput> events = {
      Event("product_view", "i07", kNow - 40 * kDay), Event("purchase", "i12", kNow - 9 * kDay),
      Event("add_to_cart", "i13", kNow - 3 * kDay), Event("product_view", "i30", kNow - kDay)};
  const Activity folded = ActivityOf(*model, events);
  ASSERT_GT(folded.also_bought_depth, 0u);
  ASSERT_FALSE(folded.also_bought.empty());
  Activity unsummed = folded;
  unsummed.also_bought.clear();
  unsummed.also_bought_depth = 0;
  ExpectTheSameAnswers(*model, folded, unsummed, "also_bought");
}

// Shoppers whose later purchases are drawn from a skewed popularity whatever they touched
// before, and who each also looked at three niche items that others looked at with a partner:
// also_bought offers the partner (cosine near 1) and nobody buys it, popularity is the signal.
// The blend learned from the latest pairs must rank the later purchases better than the defaults,
// checked with the public API on models of the earlier pairs.
Interactions SkewedShoppers(uint32_t people, std::unordered_map<std::string, ItemInput>& items) {
  constexpr int kPopular = 60, kNichePairs = 20;
  Interactions data;
  for (int j = 0; j < kPopular; ++j) data.items.push_back(fmt::format("p{:02}", j));
  for (int k = 0; k < kNichePairs; ++k) {
    data.items.push_back(fmt::format("n{:02}a", k));
    data.items.push_back(fmt::format("n{:02}b", k));
  }
  for (size_t j = 0; j < data.items.size(); ++j) {
    ItemInput item = Item(data.items[j], fmt::format("c{}", j % 3));
    items.emplace(item.id, item);
  }
  std::mt19937_64 random(7);
  std::vector<double> zipf;
  for (int j = 0; j < kPopular; ++j) zipf.push_back(1.0 / (1 + j));
  std::discrete_distribution<int> draw(zipf.begin(), zipf.end());
  for (uint32_t u = 0; u < people; ++u) {
    data.users.push_back(fmt::format("u{}", u));
    std::set<int> seen;
    const auto add = [&](uint32_t item, Timestamp time, bool bought) {
      data.pairs.push_back({u, item, time - static_cast<Timestamp>(u), bought, {}});
    };
    for (int k = 0; k < 6; ++k) {
      const int j = draw(random);
      if (seen.insert(j).second) add(static_cast<uint32_t>(j), kNow - (100 - 10 * k) * kDay, true);
    }
    for (uint32_t n = 0; n < 3; ++n) {
      const uint32_t niche = kPopular + 2 * ((u + 7 * n) % kNichePairs);
      const uint32_t side = (u / kNichePairs + n) % 2;
      add(niche + side, kNow - 30 * kDay, false);
      if (u % 3 == 0) add(niche + 1 - side, kNow - 30 * kDay, false);
    }
    for (int tries = 0; tries < 20; ++tries) {
      const int j = draw(random);
      if (seen.insert(j).second) {
        add(static_cast<uint32_t>(j), kNow - kDay, true);
        break;
      }
    }
  }
  return data;
}

TEST(Recommender, TheBlendIsLearnedFromWhatPeopleBoughtAfterTheCut) {
  std::unordered_map<std::string, ItemInput> items;
  const Interactions data = SkewedShoppers(800, items);
  const auto model = Model::Train(data, items, {}, kNow, 1);
  const BlendReport& report = model->blend_report();
  ASSERT_TRUE(report.learned) << report.why;
  EXPECT_GE(report.people, 100u);
  EXPECT_GT(report.ndcg_learned, report.ndcg_default);
  const BlendWeights& learned = model->blend();
  EXPECT_GT(learned.popular / std::max(learned.also_bought, 1e-9), 0.25 / 1.5);

  // The check: models of the pairs before the cut, one with each blend, ranking each person's
  // purchases after it.
  Interactions past = data;
  std::erase_if(past.pairs, [&](const Interaction& pair) { return pair.time >= report.cut; });
  const auto hits_of = [&](const BlendWeights& weights) {
    ModelOptions options;
    options.blend = weights;
    const auto before = Model::Train(past, items, options, report.cut, 1);
    size_t hits = 0;
    for (uint32_t u = 0; u < data.users.size(); ++u) {
      std::vector<EventInput> history;
      std::set<std::string> bought_later;
      for (const Interaction& pair : data.pairs) {
        if (pair.user != u) continue;
        const std::string& item = data.items[pair.item];
        if (pair.time < report.cut) {
          history.push_back(Event(pair.purchased ? "purchase" : "product_view", item, pair.time));
        } else if (pair.purchased) {
          bought_later.insert(item);
        }
      }
      if (history.empty() || bought_later.empty()) continue;
      for (const Recommendation& r :
           Recommend(*before, ActivityOf(*before, history), {.count = 10, .now = report.cut})) {
        hits += bought_later.count(r.item);
      }
    }
    return hits;
  };
  const size_t with_defaults = hits_of(BlendWeights{}), with_learned = hits_of(learned);
  EXPECT_GT(with_learned, with_defaults * 1.25) << with_learned << " vs " << with_defaults;

  // Too little feedback: the defaults, and why.
  std::unordered_map<std::string, ItemInput> few_items;
  const auto few = Model::Train(SkewedShoppers(60, few_items), few_items, {}, kNow, 1);
  EXPECT_FALSE(few->blend_report().learned);
  EXPECT_NE(few->blend_report().why.find("at least 100 needed"), std::string::npos)
      << few->blend_report().why;
}

// The item index: below its threshold an exact scan equal to the brute force written out; above
// it HNSW, whose top 30 by inner product recalls at least 90 % of the exact top 30.
TEST(Recommender, TheItemIndexFindsTheLargestInnerProducts) {
  std::mt19937_64 random(5);
  std::normal_distribution<float> normal;
  constexpr size_t kDims = 16, kItems = 30'000;
  std::vector<float> vectors(kItems * kDims);
  for (float& x : vectors) x = normal(random);
  std::vector<std::vector<float>> queries(50, std::vector<float>(kDims));
  for (auto& query : queries) {
    for (float& x : query) x = normal(random);
  }
  ItemIndex::Options exact_options;
  exact_options.ann_min_items = kItems + 1;
  const auto exact = ItemIndex::Build(vectors, kDims, exact_options);
  ASSERT_FALSE(exact->approximate());
  for (const auto& query : queries) {
    std::vector<std::pair<float, uint32_t>> all;
    for (uint32_t i = 0; i < kItems; ++i) {
      float dot = 0;
      for (size_t d = 0; d < kDims; ++d) dot += vectors[i * kDims + d] * query[d];
      all.emplace_back(-dot, i);
    }
    std::sort(all.begin(), all.end());
    const auto top = exact->Top(query.data(), 30);
    ASSERT_EQ(top.size(), 30u);
    for (size_t r = 0; r < top.size(); ++r) EXPECT_EQ(top[r].first, all[r].second) << r;
  }
  EXPECT_DOUBLE_EQ(exact->Recall(queries, 30), 1.0);
  const auto approximate = ItemIndex::Build(vectors, kDims, {});
  ASSERT_TRUE(approximate->approximate());
  const double recall = approximate->Recall(queries, 30);
  EXPECT_GE(recall, 0.9);
  EXPECT_LE(recall, 1.0);
}

// like_you alone: two groups buy from two disjoint sets of items; someone who bought two items of
// the first set is offered the rest of it (by the factors and the fold-in of what they bought),
// with the index exact (small) and approximate (forced), the same first items.
TEST(Recommender, CustomersLikeYouAreFoundByTheFactors) {
  std::unordered_map<std::string, ItemInput> items;
  Interactions data;
  for (int j = 0; j < 20; ++j) {
    const std::string id = fmt::format("{}{}", j < 10 ? "a" : "b", j % 10);
    data.items.push_back(id);
    items.emplace(id, Item(id, "things"));
  }
  std::mt19937_64 random(3);
  for (uint32_t u = 0; u < 200; ++u) {
    data.users.push_back(fmt::format("u{}", u));
    const uint32_t base = u % 2 == 0 ? 0 : 10;
    for (uint32_t j = 0; j < 10; ++j) {
      if (random() % 2 == 0) data.pairs.push_back({u, base + j, kNow - kDay, true, {}});
    }
  }
  for (const size_t ann_min_items : {size_t{1000}, size_t{1}}) {
    ModelOptions options;
    options.blend = BlendWeights{0, 0, 0, 1, 0, 0, 0, 0};  // like_you alone
    options.ann_min_items = ann_min_items;
    const auto model = Model::Train(data, items, options, kNow, 1);
    EXPECT_EQ(model->stats().approximate, ann_min_items == 1);
    const std::vector<EventInput> bought = {Event("purchase", "a0", kNow - kDay),
                                            Event("purchase", "a1", kNow - kDay)};
    const auto got = Recommend(*model, ActivityOf(*model, bought), {.count = 8, .now = kNow});
    ASSERT_EQ(got.size(), 8u);
    for (const Recommendation& r : got) {
      EXPECT_EQ(r.item[0], 'a') << r.item;
      ASSERT_FALSE(r.reasons.empty());
      EXPECT_EQ(r.reasons[0].generator, "like_you");
    }
  }
}

// Item rules by segment: their JSON round-trips, and what is wrong is named by its path.
TEST(Recommender, ItemRulesParseWriteAndNameWhatIsWrong) {
  const std::string text =
      R"({"rules":[{"name":"a","segment":"minors","applies_to":"members","categories":["alcohol"],)"
      R"("items":[]},{"name":"b","segment":"gold","applies_to":"non_members","categories":[],)"
      R"("items":["lounge"]}]})";
  auto rules = ParseItemRules(text);
  ASSERT_TRUE(rules.ok()) << rules.status().ToString();
  ASSERT_EQ(rules->rules.size(), 2u);
  EXPECT_TRUE(rules->rules[0].members);
  EXPECT_FALSE(rules->rules[1].members);
  JsonWriter json;
  WriteItemRules(json, *rules);
  EXPECT_EQ(json.str(), text);
  const auto error = [](std::string_view bad) {
    auto parsed = ParseItemRules(bad);
    return parsed.ok() ? std::string("ok") : parsed.status().message();
  };
  EXPECT_NE(error("{").find("$: not JSON"), std::string::npos);
  EXPECT_NE(error(R"({"rule":[]})").find("$.rule: unknown field"), std::string::npos);
  EXPECT_NE(error(R"({"rules":[{"segment":"s","items":["x"]}]})").find("$.rules[0].name: missing"),
            std::string::npos);
  EXPECT_NE(error(R"({"rules":[{"name":"a","segment":"s"}]})").find("needs categories or items"),
            std::string::npos);
  EXPECT_NE(error(R"({"rules":[{"name":"a","segment":"s","applies_to":"all","items":["x"]}]})")
                .find("$.rules[0].applies_to"),
            std::string::npos);
  EXPECT_NE(error(R"({"rules":[{"name":"a","segment":"s","items":["x"]},)"
                  R"({"name":"a","segment":"t","items":["y"]}]})")
                .find("$.rules[1].name: 'a' is there twice"),
            std::string::npos);
  EXPECT_NE(
      error(R"({"rules":[{"name":"a","segment":"s","items":[""]}]})").find("$.rules[0].items[0]"),
      std::string::npos);
  // A category kept back is never shown.
  const auto model = Model::Train(Shoppers(), Golf(), {}, kNow, 1);
  Request request = At(kNow);
  request.exclude_categories = {"socks", "golf_balls"};
  for (const Recommendation& r : Recommend(*model, Activity{}, request)) {
    EXPECT_NE(r.item, "socks");
    EXPECT_NE(r.item, "balls");
  }
  EXPECT_FALSE(Recommend(*model, Activity{}, request).empty());
}

}  // namespace
}  // namespace tailor::reco

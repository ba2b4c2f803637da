// Signals of a known event sequence against values computed by hand (the decay formulas written
// out, sessions and touches counted on paper): acquisition, affinity, searches, engagement,
// sessions, usual hours, cadence and place; and order independence of the decayed scores.

#include "tailor/signals.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "common/time.h"
#include "tailor/place.h"
#include "tailor/signal_values.h"

namespace tailor::signals {
namespace {

constexpr Timestamp kMinute = 60'000, kHour = 60 * kMinute, kDay = 24 * kHour;

EventInput Event(std::string type, Timestamp time) {
  EventInput e;
  e.profile_id = "jeff";
  e.type = std::move(type);
  e.time = time;
  return e;
}

EventInput Product(std::string type, Timestamp time, std::string item, std::string category,
                   int64_t cents, std::string brand) {
  EventInput e = Event(std::move(type), time);
  e.item_id = std::move(item);
  e.category = std::move(category);
  e.price = Decimal::FromMicros(cents * 10'000);
  e.properties.push_back({"brand", std::move(brand)});
  return e;
}

class SignalsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    t0_ = *ParseIsoTimestamp("2026-03-02T10:00:00Z");  // a Monday
    // Session 1 (from a Google search): golf page, a Titleist club viewed and carted.
    EventInput landing = Event("page_view", t0_);
    landing.category = "golf";
    landing.context.referrer = "https://www.google.com/search?q=golf+clubs";
    landing.context.page_url = "https://shop.example/c/golf";
    events_.push_back(landing);
    events_.push_back(Product("product_view", t0_ + 5 * kMinute, "i1", "golf", 12000, "Titleist"));
    events_.push_back(Product("add_to_cart", t0_ + 10 * kMinute, "i1", "golf", 12000, "Titleist"));
    // Session 2, a day later, from a price comparison site: a Wilson tennis racket.
    EventInput compare = Product("product_view", t0_ + kDay, "i2", "tennis", 4000, "Wilson");
    compare.context.referrer = "https://www.idealo.de/preisvergleich/racket";
    events_.push_back(compare);
    // Session 3, 40 idle minutes later (direct), in Madrid: the club again and two searches.
    EventInput again =
        Product("product_view", t0_ + kDay + 40 * kMinute, "i1", "golf", 12000, "Titleist");
    again.context.country = "ES";
    again.context.city = "Madrid";
    events_.push_back(again);
    EventInput search = Event("search", t0_ + kDay + 41 * kMinute);
    search.properties.push_back({"query", "golf shoes"});
    events_.push_back(search);
    EventInput search2 = Event("search", t0_ + kDay + 42 * kMinute);
    search2.properties.push_back({"query", "driver"});
    events_.push_back(search2);
    // Session 4: the order, two lines.
    EventInput line1 = Product("purchase", t0_ + 2 * kDay, "i1", "golf", 12000, "Titleist");
    line1.order_id = "o1";
    EventInput line2 = Product("purchase", t0_ + 2 * kDay, "i3", "golf", 3000, "Titleist");
    line2.order_id = "o1";
    events_.push_back(line1);
    events_.push_back(line2);
    // Emails of campaign "spring": 4 sent, 2 opened, 1 clicked (the click comes with its utm).
    for (int d = 3; d <= 6; ++d) {
      EventInput sent = Event("email_sent", t0_ + d * kDay);
      sent.properties.push_back({"campaign", "spring"});
      events_.push_back(sent);
    }
    for (int d : {3, 5}) {
      EventInput open = Event("email_open", t0_ + d * kDay + kHour);
      open.properties.push_back({"campaign", "spring"});
      events_.push_back(open);
    }
    EventInput click = Event("email_click", t0_ + 5 * kDay + 2 * kHour);
    click.context.utm_source = "newsletter";
    click.context.utm_medium = "email";
    click.context.utm_campaign = "spring";
    events_.push_back(click);
    // A second order 10 days after the first: the tennis racket.
    EventInput racket = Product("purchase", t0_ + 12 * kDay, "i2", "tennis", 4000, "Wilson");
    racket.order_id = "o2";
    events_.push_back(racket);
    std::stable_sort(events_.begin(), events_.end(),
                     [](const EventInput& a, const EventInput& b) { return a.time < b.time; });
    now_ = t0_ + 14 * kDay;
  }

  // w * 2^(-(now - t) / 30 days), summed: the decay written out.
  double Decayed(const std::vector<std::pair<double, Timestamp>>& weighted) const {
    double sum = 0;
    for (const auto& [w, t] : weighted) sum += w * std::exp2(-double(now_ - t) / (30.0 * kDay));
    return sum;
  }

  Timestamp t0_ = 0, now_ = 0;
  std::vector<EventInput> events_;
};

TEST_F(SignalsTest, EverySignalOfAKnownSequenceEqualsTheHandComputedValue) {
  SignalState state;
  for (const EventInput& e : events_) state.Add(e);
  EXPECT_EQ(state.events(), events_.size());

  // Acquisition: first touch Google search; last touch the newsletter click; the latest
  // session (the racket order, no referrer) direct.
  ASSERT_TRUE(state.first_touch());
  EXPECT_EQ(state.first_touch()->source, "google");
  EXPECT_EQ(state.first_touch()->referrer_class, ReferrerClass::kSearch);
  EXPECT_EQ(state.first_touch()->time, t0_);
  ASSERT_TRUE(state.last_touch());
  EXPECT_EQ(state.last_touch()->source, "newsletter");
  EXPECT_EQ(state.last_touch()->campaign, "spring");
  EXPECT_EQ(state.last_touch()->referrer_class, ReferrerClass::kEmail);
  ASSERT_TRUE(state.session_touch());
  EXPECT_EQ(state.session_touch()->referrer_class, ReferrerClass::kDirect);
  EXPECT_EQ(TouchOf(events_[3]).referrer_class, ReferrerClass::kPriceComparison);
  // Navigation within the site is not a touch: the last touch stays the newsletter click.
  EventInput inside = Event("page_view", t0_ + 13 * kDay);
  inside.context.referrer = "https://shop.example/c/golf";
  inside.context.page_url = "https://www.shop.example/p/i1";
  SignalState navigated = state;
  navigated.Add(inside);
  EXPECT_EQ(navigated.last_touch()->source, "newsletter");
  EXPECT_EQ(navigated.session_touch()->referrer_class, ReferrerClass::kDirect);

  // Affinity by category: golf = page 1 + view 1 + cart 3 + view 1 + two purchase lines 5 + 5.
  const double golf = Decayed({{1, t0_},
                               {1, t0_ + 5 * kMinute},
                               {3, t0_ + 10 * kMinute},
                               {1, t0_ + kDay + 40 * kMinute},
                               {5, t0_ + 2 * kDay},
                               {5, t0_ + 2 * kDay}});
  const double tennis = Decayed({{1, t0_ + kDay}, {5, t0_ + 12 * kDay}});
  EXPECT_NEAR(state.Affinity("category", "golf", now_), 1.0, 1e-12);  // the largest
  EXPECT_NEAR(state.Affinity("category", "tennis", now_), tennis / golf, 1e-12);
  const auto top = state.Top("category", now_);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].first, "golf");
  EXPECT_NEAR(top[0].second, golf, 1e-9);
  // Brand and price band: Titleist (120, 120, 120, 120, 30) vs Wilson (40, 40).
  const double titleist = Decayed({{1, t0_ + 5 * kMinute},
                                   {3, t0_ + 10 * kMinute},
                                   {1, t0_ + kDay + 40 * kMinute},
                                   {5, t0_ + 2 * kDay},
                                   {5, t0_ + 2 * kDay}});
  const double wilson = Decayed({{1, t0_ + kDay}, {5, t0_ + 12 * kDay}});
  EXPECT_NEAR(state.Affinity("brand", "Wilson", now_), wilson / titleist, 1e-12);
  const double band_100 = Decayed({{1, t0_ + 5 * kMinute},
                                   {3, t0_ + 10 * kMinute},
                                   {1, t0_ + kDay + 40 * kMinute},
                                   {5, t0_ + 2 * kDay}});
  const double band_25 = Decayed({{1, t0_ + kDay}, {5, t0_ + 12 * kDay}, {5, t0_ + 2 * kDay}});
  EXPECT_NEAR(state.Affinity("price_band", "100-250", now_), std::min(1.0, band_100 / band_25),
              1e-12);
  EXPECT_NEAR(state.Affinity("price_band", "25-50", now_), std::min(1.0, band_25 / band_100),
              1e-12);
  EXPECT_EQ(state.Affinity("category", "yoga", now_), 0);
  // Searches, newest first.
  EXPECT_EQ(state.searches(), (std::vector<std::string>{"driver", "golf shoes"}));

  // Engagement: decayed opens over decayed sends (90-day half-life), clicks likewise.
  const auto decay90 = [&](Timestamp t) { return std::exp2(-double(now_ - t) / (90.0 * kDay)); };
  double sent = 0, opened = 0, clicked = decay90(t0_ + 5 * kDay + 2 * kHour);
  for (int d = 3; d <= 6; ++d) sent += decay90(t0_ + d * kDay);
  for (int d : {3, 5}) opened += decay90(t0_ + d * kDay + kHour);
  EXPECT_NEAR(state.OpenRate("email", now_), opened / sent, 1e-12);
  EXPECT_NEAR(state.ClickRate("email", now_), clicked / sent, 1e-12);
  EXPECT_NEAR(state.OpenRate("campaign:spring", now_), opened / sent, 1e-12);
  EXPECT_EQ(state.OpenRate("push", now_), 0);
  EXPECT_FALSE(state.unsubscribed());

  // Sessions (sends are not activity): 1 landing..cart (10 min); 2 racket; 3 club + searches
  // (2 min); 4 order; 5, 6 the opens at d3, d5 (+ the click an hour after the second open is
  // more than 30 minutes later: 7); 8 the racket order.
  const SignalState::Sessions& s = state.sessions();
  EXPECT_EQ(s.count, 8u);
  EXPECT_NEAR(s.total_minutes, 10 + 2, 1e-9);
  EXPECT_EQ(s.current_start, t0_ + 12 * kDay);
  EXPECT_EQ(s.current_events, 1u);
  // Usual hour: 10:xx UTC holds the 3 landing events, the racket view, the club and the two
  // searches (10:40-10:42), the order's 2 lines and the racket order: 10; 11:00 the 2 opens;
  // 12:00 the click.
  EXPECT_EQ(state.usual_hour(), 10);
  EXPECT_EQ(state.hours()[10], 10u);
  EXPECT_EQ(state.hours()[11], 2u);
  EXPECT_EQ(state.hours()[12], 1u);
  // Weekdays: Monday 3, Tuesday 4 (racket view, club, 2 searches), Wednesday 2 (order lines),
  // Thursday 1 (open), Saturday 2 (open, click), Saturday a week later 1 (the racket order).
  EXPECT_EQ(state.weekdays(), (std::array<uint32_t, 7>{3, 4, 2, 1, 0, 3, 0}));
  EXPECT_EQ(state.usual_weekday(), 1);

  // Cadence: two orders (the two lines of o1 count once), 10 days apart.
  EXPECT_EQ(state.purchases().count, 2u);
  EXPECT_NEAR(state.purchases().mean_gap_days(), 10.0, 1e-12);
  EXPECT_EQ(state.purchases().expected_next(), t0_ + 22 * kDay);
  // Place: Madrid, from the club view.
  EXPECT_EQ(state.country(), "ES");
  EXPECT_EQ(state.city(), "Madrid");
  EXPECT_EQ(state.place_time(), t0_ + kDay + 40 * kMinute);

  // The JSON says the same.
  JsonWriter json;
  WriteSignals(json, state, now_);
  EXPECT_NE(json.str().find("\"referrer_class\":\"search\""), std::string::npos) << json.str();
  EXPECT_NE(json.str().find("\"value\":\"golf\",\"affinity\":1"), std::string::npos) << json.str();
}

// Decayed affinities are the same whatever order the events arrive in.
TEST_F(SignalsTest, DecayedScoresDoNotDependOnArrivalOrder) {
  SignalState ordered, shuffled;
  for (const EventInput& e : events_) ordered.Add(e);
  std::vector<EventInput> mixed = events_;
  std::mt19937 random(3);
  std::shuffle(mixed.begin(), mixed.end(), random);
  for (const EventInput& e : mixed) shuffled.Add(e);
  for (std::string_view dimension : {"category", "brand", "price_band", "item"}) {
    const auto a = ordered.Top(dimension, now_), b = shuffled.Top(dimension, now_);
    ASSERT_EQ(a.size(), b.size()) << dimension;
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].first, b[i].first);
      EXPECT_NEAR(a[i].second, b[i].second, 1e-9 * a[i].second);
    }
  }
  EXPECT_NEAR(ordered.OpenRate("email", now_), shuffled.OpenRate("email", now_), 1e-12);
  EXPECT_EQ(ordered.hours(), shuffled.hours());
}

}  // namespace
}  // namespace tailor::signals

namespace tailor::signals {
namespace {

// What rules read (AffinityOf, one dimension alone) is exactly what the whole fold answers, for
// random histories of views, carts, purchases and pages, every dimension and value.
TEST(AffinityOf, EqualsTheWholeFoldExactly) {
  std::mt19937_64 rng(99);
  const char* types[] = {"product_view", "page_view",  "add_to_cart",
                         "purchase",     "email_sent", "search"};
  const char* categories[] = {"golf", "tennis", "", "running"};
  const Timestamp start = 1'790'000'000'000;
  for (int profile = 0; profile < 300; ++profile) {
    std::vector<EventInput> events;
    Timestamp t = start;
    for (int i = 0; i < int(rng() % 40); ++i) {
      EventInput e;
      e.type = types[rng() % 6];
      t += static_cast<Timestamp>(rng() % (5 * 86'400'000));
      e.time = t;
      e.category = categories[rng() % 4];
      if (rng() % 2) e.item_id = "i" + std::to_string(rng() % 5);
      if (rng() % 2) e.price = Decimal::FromMicros(static_cast<int64_t>(rng() % 600'000'000));
      if (rng() % 3 == 0) e.properties.push_back({"brand", rng() % 2 ? "acme" : "zeta"});
      if (rng() % 3 == 0) e.context.page_url = rng() % 2 ? "/c/golf" : "/blog";
      events.push_back(std::move(e));
    }
    SignalState state;
    for (const EventInput& e : events) state.Add(e);
    const Timestamp now = t + 86'400'000;
    for (const char* dimension : {"category", "item", "brand", "price_band", "page"}) {
      for (const char* value : {"golf", "tennis", "i1", "i3", "acme", "zeta", "0-25", "100-250",
                                "500+", "/c/golf", "/blog", "none"}) {
        const std::optional<double> alone = AffinityOf(events, dimension, value, now);
        ASSERT_EQ(alone.has_value(), state.HasAffinity(dimension)) << dimension;
        if (alone) {
          ASSERT_EQ(*alone, state.Affinity(dimension, value, now))
              << "profile " << profile << " " << dimension << " " << value;
        }
      }
    }
  }
}

}  // namespace
}  // namespace tailor::signals

namespace tailor::signals {
namespace {

// Usual hours and weekdays in the profile's time zone, daylight saving included: 10:00 in New
// York is 14:00 UTC in July and 15:00 UTC in January; 02:30 UTC on Saturday 4 July is Friday
// evening there. An unknown zone counts in the fixed offset.
TEST(SignalState, UsualHoursInTheProfilesTimeZone) {
  const auto view = [](const char* at) {
    EventInput e;
    e.type = "page_view";
    e.time = *ParseIsoTimestamp(at);
    return e;
  };
  std::vector<EventInput> events = {view("2026-07-01T14:00:00Z"), view("2026-07-01T14:20:00Z"),
                                    view("2026-01-15T15:05:00Z"), view("2026-01-15T15:40:00Z"),
                                    view("2026-07-04T02:30:00Z")};
  SignalOptions new_york;
  new_york.time_zone = "America/New_York";
  SignalState local(new_york), utc;
  for (const EventInput& e : events) {
    local.Add(e);
    utc.Add(e);
  }
  EXPECT_EQ(local.usual_hour(), 10);
  EXPECT_EQ(local.hours()[10], 4u);
  EXPECT_EQ(local.hours()[22], 1u);
  EXPECT_EQ(local.weekdays()[4], 1u);  // Friday 3 July, 22:30
  EXPECT_EQ(utc.hours()[14], 2u);
  EXPECT_EQ(utc.hours()[15], 2u);
  EXPECT_EQ(utc.weekdays()[5], 1u);  // Saturday in UTC
  SignalOptions nowhere;
  nowhere.time_zone = "Nowhere/Atlantis";
  nowhere.utc_offset_minutes = 60;
  SignalState fallback(nowhere);
  fallback.Add(events[0]);
  EXPECT_EQ(fallback.usual_hour(), 15);
  EXPECT_EQ(ProfileTimeZone({{"geo_time_zone", {TraitType::kString, std::string("Asia/Tokyo")}},
                             {"time_zone", {TraitType::kString, std::string("Europe/Madrid")}}}),
            "Europe/Madrid");
  EXPECT_EQ(ProfileTimeZone({{"geo_time_zone", {TraitType::kString, std::string("Asia/Tokyo")}}}),
            "Asia/Tokyo");
  EXPECT_EQ(ProfileTimeZone({}), "");
}

}  // namespace
}  // namespace tailor::signals

namespace tailor::signals {
namespace {

// The great-circle distance by the spherical law of cosines (another formula than the
// haversine the code uses).
double CosineDistanceKm(GeoPoint a, GeoPoint b) {
  const double r = std::acos(-1.0) / 180;
  const double c = std::sin(a.latitude * r) * std::sin(b.latitude * r) +
                   std::cos(a.latitude * r) * std::cos(b.latitude * r) *
                       std::cos((b.longitude - a.longitude) * r);
  return kEarthRadiusKm * std::acos(std::clamp(c, -1.0, 1.0));
}

ItemInput Store(std::string id, double lat, double lon, std::string category = "store") {
  ItemInput item{std::move(id), "a store", std::move(category), std::nullopt, {}};
  item.attributes.push_back({"latitude", {TraitType::kDouble, lat}});
  item.attributes.push_back({"longitude", {TraitType::kDouble, lon}});
  return item;
}

TEST(Place, DistancesAndTheNearestStoreAgainstTheObviousSearch) {
  const GeoPoint london{51.5074, -0.1278}, paris{48.8566, 2.3522};
  EXPECT_NEAR(DistanceKm(london, paris), 343.6, 0.5);  // the published figure
  EXPECT_NEAR(DistanceKm(london, paris), CosineDistanceKm(london, paris), 1e-6);
  EXPECT_EQ(DistanceKm(paris, paris), 0);
  EXPECT_NEAR(DistanceKm({0, 179.5}, {0, -179.5}), 2 * std::acos(-1.0) * kEarthRadiusKm / 360,
              1e-6);  // across the date line
  // 3000 stores over the world, 1000 places: the index finds what checking every store finds.
  std::mt19937_64 random(5);
  std::uniform_real_distribution<double> lat(-80, 80), lon(-180, 180);
  std::vector<ItemInput> items;
  for (int i = 0; i < 3000; ++i)
    items.push_back(Store("s" + std::to_string(i), lat(random), lon(random)));
  items.push_back(Store("s-dup", std::get<double>(items[7].attributes[0].second.value),
                        std::get<double>(items[7].attributes[1].second.value)));  // where s7 is
  items.push_back(Store("warehouse", 10, 10, "depot"));                           // not a store
  items.push_back(Store("nowhere", 95, 10));                                      // out of range
  ItemInput text_store{"t1", "", "store", std::nullopt, {}};  // numbers as text count
  text_store.attributes = {{"latitude", {TraitType::kString, std::string("40.4168")}},
                           {"longitude", {TraitType::kString, std::string("-3.7038")}}};
  items.push_back(text_store);
  std::vector<const ItemInput*> pointers;
  for (const ItemInput& item : items) pointers.push_back(&item);
  const std::shared_ptr<const StoreIndex> index = StoreIndex::FromItems(pointers);
  EXPECT_EQ(index->size(), 3001u);  // s-dup and s7 are one place
  for (int q = 0; q < 1000; ++q) {
    const GeoPoint at{lat(random), lon(random)};
    std::string best_id;
    double best = 1e9;
    for (const ItemInput& item : items) {
      if (item.category != "store" || item.id == "nowhere" || item.id == "t1") continue;
      const double km = CosineDistanceKm(at, {std::get<double>(item.attributes[0].second.value),
                                              std::get<double>(item.attributes[1].second.value)});
      if (km < best - 1e-9 || (std::abs(km - best) <= 1e-9 && item.id < best_id)) {
        best = km;
        best_id = item.id;
      }
    }
    const std::optional<StoreIndex::Nearest> found = index->NearestTo(at);
    ASSERT_TRUE(found.has_value());
    ASSERT_EQ(found->id, best_id) << q;
    ASSERT_NEAR(found->km, best, 1e-6);
  }
  // At s7's place both stores are 0 km away: the smaller id wins.
  const GeoPoint s7{std::get<double>(items[7].attributes[0].second.value),
                    std::get<double>(items[7].attributes[1].second.value)};
  EXPECT_EQ(index->NearestTo(s7)->id, "s-dup");
  EXPECT_EQ(index->NearestTo({40.4169, -3.7038})->id, "t1");
  EXPECT_FALSE(StoreIndex::FromItems({})->NearestTo(s7).has_value());
}

// Where they are now, by hand: the latest position of their own events, its distance to home
// and to the nearest store, near a store only while current and within 1 km with its accuracy.
TEST(Place, WhereaboutsOfTheLatestPositionByHand) {
  const Timestamp t = *ParseIsoTimestamp("2026-05-04T12:00:00Z");
  const auto at = [&](Timestamp time, const char* latitude, const char* longitude,
                      const char* accuracy = nullptr, const char* type = "page_view") {
    EventInput e = Event(type, time);
    e.properties = {{"latitude", latitude}, {"longitude", longitude}};
    if (accuracy != nullptr) e.properties.push_back({"accuracy_km", accuracy});
    return e;
  };
  std::vector<ItemInput> items = {Store("sol", 40.4169, -3.7035),
                                  Store("retiro", 40.4153, -3.6845)};
  const std::vector<const ItemInput*> pointers = {&items[0], &items[1]};
  const std::shared_ptr<const StoreIndex> stores = StoreIndex::FromItems(pointers);
  PlaceContext place;
  place.stores = stores.get();
  place.home = HomeOf({{"home_latitude", {TraitType::kDouble, 40.4500}},
                       {"home_longitude", {TraitType::kString, std::string("-3.6900")}}});
  ASSERT_TRUE(place.home.has_value());
  SignalState state;
  state.Add(at(t, "40.4168", "-3.7038"));                                      // at Puerta del Sol
  state.Add(at(t + 5 * kMinute, "48.8566", "2.3522", nullptr, "email_sent"));  // not theirs
  state.Add(at(t - kHour, "51.5", "-0.12"));       // late, older: not the latest
  state.Add(Event("page_view", t + 6 * kMinute));  // no position
  ASSERT_TRUE(state.position().has_value());
  EXPECT_EQ(*state.position(), (GeoPoint{40.4168, -3.7038}));
  EXPECT_EQ(state.position_time(), t);
  const double to_sol = CosineDistanceKm({40.4168, -3.7038}, {40.4169, -3.7035});
  const double to_home = CosineDistanceKm({40.4168, -3.7038}, {40.45, -3.69});
  Whereabouts now = state.WhereaboutsAt(t + 10 * kMinute, place);
  EXPECT_TRUE(now.current);
  EXPECT_NEAR(*now.distance_home_km, to_home, 1e-6);
  EXPECT_EQ(now.nearest_store->id, "sol");
  EXPECT_NEAR(now.nearest_store->km, to_sol, 1e-6);
  EXPECT_LT(to_sol, 0.05);
  EXPECT_TRUE(now.near_store);
  // 30 minutes on it is still now; a millisecond later it is not.
  EXPECT_TRUE(state.WhereaboutsAt(t + 30 * kMinute, place).near_store);
  EXPECT_FALSE(state.WhereaboutsAt(t + 30 * kMinute + 1, place).near_store);
  EXPECT_FALSE(state.WhereaboutsAt(t + 30 * kMinute + 1, place).current);
  // An address's position 10 km wide cannot say they are within 1 km of a store.
  SignalState by_ip;
  by_ip.Add(at(t, "40.4168", "-3.7038", "10"));
  EXPECT_FALSE(by_ip.WhereaboutsAt(t, place).near_store);
  EXPECT_EQ(by_ip.position_accuracy_km(), 10);
  // As rules read them (signal_values.h): missing once the position is 30 minutes old.
  std::vector<EventInput> events = {at(t, "40.4168", "-3.7038")};
  SignalValues values(events, t + 10 * kMinute, place);
  EXPECT_NEAR(std::get<double>(values.Get("place.distance_store_km", {})->value), to_sol, 1e-6);
  EXPECT_NEAR(std::get<double>(values.Get("place.distance_home_km", {})->value), to_home, 1e-6);
  EXPECT_EQ(std::get<std::string>(values.Get("place.nearest_store", {})->value), "sol");
  EXPECT_EQ(std::get<double>(values.Get("place.accuracy_km", {})->value), 0);
  SignalValues later(events, t + 31 * kMinute, place);
  EXPECT_FALSE(later.Get("place.distance_store_km", {}).has_value());
  SignalValues homeless(events, t, PlaceContext{});
  EXPECT_FALSE(homeless.Get("place.distance_home_km", {}).has_value());
  EXPECT_FALSE(homeless.Get("place.nearest_store", {}).has_value());
  // Out of range or not numbers: no position.
  double accuracy = 0;
  EXPECT_FALSE(EventPosition(at(t, "91", "0"), accuracy).has_value());
  EXPECT_FALSE(EventPosition(at(t, "40.1", "east"), accuracy).has_value());
  EXPECT_FALSE(EventPosition(at(t, "40.1", "3.2", "12km"), accuracy).has_value());
  EXPECT_FALSE(EventPosition(at(t, "40.1", "3.2", "-1"), accuracy).has_value());
  // The first of duplicated properties, as the snapshot reads them.
  EventInput twice = at(t, "40.1", "3.2");
  twice.properties.push_back({"latitude", "50"});
  EXPECT_EQ(EventPosition(twice, accuracy)->latitude, 40.1);
  EXPECT_FALSE(HomeOf({{"home_latitude", {TraitType::kDouble, 40.0}}}).has_value());
  // The JSON says it all.
  JsonWriter json;
  WriteSignals(json, state, t + 10 * kMinute, place);
  EXPECT_NE(json.str().find(R"("nearest_store":{"id":"sol")"), std::string::npos) << json.str();
  EXPECT_NE(json.str().find(R"("near_store":true)"), std::string::npos) << json.str();
}

}  // namespace
}  // namespace tailor::signals

#include <algorithm>
#include <random>
#include <string>

#include "tailor/intent_simulation.h"

namespace tailor::intent {
namespace {

constexpr const char* kCategories[] = {"golf",    "tennis",  "running", "yoga",
                                       "cycling", "fitness", "outdoor", "swimming"};
constexpr Timestamp kStart = 1'780'000'000'000;

class Drawer {
 public:
  Drawer(std::mt19937_64& random, size_t index)
      : random_(random), profile_("s" + std::to_string(index)), time_(kStart + index * 3'600'000) {}

  bool Chance(double p) { return std::uniform_real_distribution<double>(0, 1)(random_) < p; }
  int Between(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(random_); }
  std::string Category() { return kCategories[Between(0, 7)]; }

  EventInput& Add(std::string type) {
    EventInput e;
    e.profile_id = profile_;
    e.type = std::move(type);
    time_ += Between(20, 180) * 1000;
    e.time = time_;
    events_.push_back(std::move(e));
    return events_.back();
  }
  EventInput& Page(const std::string& url, const std::string& category = "") {
    EventInput& e = Add("page_view");
    e.context.page_url = "https://shop.example" + url;
    e.category = category;
    return e;
  }
  EventInput& View(const std::string& item, const std::string& category) {
    EventInput& e = Add("product_view");
    e.item_id = item;
    e.category = category;
    e.context.page_url = "https://shop.example/p/" + item;
    return e;
  }
  std::vector<EventInput> Take() { return std::move(events_); }
  Timestamp time() const { return time_; }

 private:
  std::mt19937_64& random_;
  std::string profile_;
  Timestamp time_;
  std::vector<EventInput> events_;
};

void Inspiration(Drawer& d) {
  const int n = d.Between(3, 10);
  if (d.Chance(0.4)) d.Page("/blog/how-to-choose", "");
  const int categories = d.Between(2, 5);
  std::vector<std::string> pool;
  for (int c = 0; c < categories; ++c) pool.push_back(d.Category());
  for (int i = 0; i < n; ++i) {
    const std::string& category = pool[static_cast<size_t>(d.Between(0, categories - 1))];
    if (d.Chance(0.7)) {
      d.Page("/c/" + category, category);
    } else {
      d.View(category + "-" + std::to_string(d.Between(1, 40)), category);
    }
  }
  if (d.Chance(0.1)) d.Add("add_to_cart");
}

void BestOffer(Drawer& d) {
  const std::string category = d.Category();
  const int items = d.Between(2, 5), n = d.Between(3, 10);
  for (int i = 0; i < n; ++i) {
    const bool other = d.Chance(0.25) && i == n - 1;
    const std::string c = other ? d.Category() : category;
    d.View(c + "-" + std::to_string(d.Between(1, items)), c);
    if (i == 1 && d.Chance(0.4)) d.Page("/c/" + category + "?sort=price_asc", category);
    if (i == 2 && d.Chance(0.25)) d.Page("/sale/" + category, category);
  }
  if (d.Chance(0.25)) d.Add("add_to_cart");
}

void Concerns(Drawer& d) {
  const std::string category = d.Category();
  const std::string item = category + "-7";
  const int repeats = d.Between(2, 5), others = d.Between(0, 3);
  for (int i = 0; i < repeats + others; ++i) {
    if (i < repeats) {
      d.View(item, category);
    } else {
      d.View(category + "-" + std::to_string(d.Between(10, 20)), category);
    }
    if (i == 1 && d.Chance(0.5)) {
      const char* pages[] = {"/help/returns", "/shipping",
                             "/p/"
                             "x/reviews"};
      d.Page(pages[d.Between(0, 2)]);
    }
  }
  if (d.Chance(0.45)) d.Add("add_to_cart");
}

void PostPurchase(Drawer& d) {
  const std::string category = d.Category();
  for (int i = d.Between(1, 4); i > 0; --i) {
    d.View(category + "-" + std::to_string(d.Between(1, 9)), category);
  }
  d.Add("add_to_cart");
  d.Add("checkout_start");
  d.Add("purchase");
  for (int i = d.Between(0, 3); i > 0; --i) d.Page(d.Chance(0.5) ? "/account/orders" : "/help");
}

}  // namespace

std::vector<SimulatedSession> SimulateSessions(size_t count, uint64_t seed) {
  std::mt19937_64 random(seed);
  std::vector<SimulatedSession> out;
  out.reserve(count);
  const Intent intents[] = {Intent::kInspiration, Intent::kBestOffer, Intent::kConcerns,
                            Intent::kPostPurchase};
  for (size_t i = 0; i < count; ++i) {
    Drawer d(random, i);
    SimulatedSession s;
    s.label = intents[i % 4];
    switch (s.label) {
      case Intent::kInspiration:
        Inspiration(d);
        break;
      case Intent::kBestOffer:
        BestOffer(d);
        break;
      case Intent::kConcerns:
        Concerns(d);
        break;
      default:
        PostPurchase(d);
        break;
    }
    // Overlap: what any session may also hold.
    if (d.Chance(0.25)) {
      const std::string c = d.Category();
      d.Page("/c/" + c, c);
    }
    if (d.Chance(0.3)) d.Add("search").properties.push_back({"query", d.Category()});
    if (d.Chance(0.1)) d.Page("/inspiration/ideas");
    if (d.Chance(0.08)) d.Page("/faq");
    if (d.Chance(0.08)) d.Page("/c/all?sort=price_desc");
    s.events = d.Take();
    // Where the visit came from.
    const double r = std::uniform_real_distribution<double>(0, 1)(random);
    const char* referrer = "";
    if (s.label == Intent::kInspiration) {
      referrer = r < 0.4 ? "https://www.instagram.com/" : r < 0.7 ? "https://www.google.com/" : "";
    } else if (s.label == Intent::kBestOffer) {
      referrer = r < 0.3 ? "https://www.idealo.de/" : r < 0.65 ? "https://www.google.com/" : "";
    } else if (s.label == Intent::kConcerns) {
      referrer = r < 0.2 ? "" : r < 0.5 ? "https://www.google.com/" : "";
      if (r < 0.2 && !s.events.empty()) {
        s.events.front().context.utm_source = "newsletter";
        s.events.front().context.utm_medium = "email";
      }
    }
    if (!s.events.empty() && *referrer != '\0') s.events.front().context.referrer = referrer;
    // Overlap events were added at the end; keep time order (they are later already).
    s.end = s.events.empty() ? kStart : s.events.back().time + 60'000;
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace tailor::intent

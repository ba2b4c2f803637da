#include "tailor/session.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <functional>

#include "tailor/signals.h"

namespace tailor::signals {
namespace {

std::string Lower(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower;
}

// Whether lower-case `text` contains one of the (lower-case) words.
bool Contains(std::string_view text, std::initializer_list<std::string_view> words) {
  return std::any_of(words.begin(), words.end(),
                     [&](std::string_view w) { return text.find(w) != std::string_view::npos; });
}

bool Mentions(std::string_view text, std::initializer_list<std::string_view> words) {
  return !text.empty() && Contains(Lower(text), words);
}

}  // namespace

namespace {

// Every numeric feature, by name: one table for the names, their types and their values.
struct Feature {
  std::string_view name;
  int64_t SessionFeatures::*whole = nullptr;    // an int feature
  double SessionFeatures::*fraction = nullptr;  // else a double one
};
constexpr Feature kFeatures[] = {
    {"events", &SessionFeatures::events},
    {"minutes", nullptr, &SessionFeatures::minutes},
    {"page_views", &SessionFeatures::page_views},
    {"product_views", &SessionFeatures::product_views},
    {"distinct_categories", &SessionFeatures::distinct_categories},
    {"distinct_items", &SessionFeatures::distinct_items},
    {"max_item_views", &SessionFeatures::max_item_views},
    {"top_item_share", nullptr, &SessionFeatures::top_item_share},
    {"top_category_share", nullptr, &SessionFeatures::top_category_share},
    {"price_sort", &SessionFeatures::price_sort},
    {"deal_pages", &SessionFeatures::deal_pages},
    {"service_pages", &SessionFeatures::service_pages},
    {"content_pages", &SessionFeatures::content_pages},
    {"searches", &SessionFeatures::searches},
    {"cart_adds", &SessionFeatures::cart_adds},
    {"checkouts", &SessionFeatures::checkouts},
    {"purchases", &SessionFeatures::purchases},
    {"administrative_pages", &SessionFeatures::administrative_pages},
    {"informational_pages", &SessionFeatures::informational_pages},
    {"product_pages", &SessionFeatures::product_pages},
    {"administrative_seconds", nullptr, &SessionFeatures::administrative_seconds},
    {"informational_seconds", nullptr, &SessionFeatures::informational_seconds},
    {"product_seconds", nullptr, &SessionFeatures::product_seconds},
    {"returning", &SessionFeatures::returning},
    {"month", &SessionFeatures::month},
    {"weekend", &SessionFeatures::weekend},
};

TypedValue ValueOf(const Feature& feature, const SessionFeatures& f) {
  if (feature.whole != nullptr) return {TraitType::kInt, f.*feature.whole};
  return {TraitType::kDouble, f.*feature.fraction};
}

}  // namespace

const std::vector<std::string_view>& FeatureNames() {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> out;
    for (const Feature& feature : kFeatures) out.push_back(feature.name);
    return out;
  }();
  return names;
}

bool IsFractionFeature(std::string_view name) {
  for (const Feature& feature : kFeatures) {
    if (feature.name == name) return feature.fraction != nullptr;
  }
  return false;
}

std::optional<TypedValue> FeatureValue(const SessionFeatures& f, std::string_view name) {
  for (const Feature& feature : kFeatures) {
    if (feature.name == name) return ValueOf(feature, f);
  }
  if (name == "referrer_class") return TypedValue{TraitType::kString, f.referrer_class};
  return std::nullopt;
}

bool SetFeature(SessionFeatures& f, std::string_view name, double value) {
  for (const Feature& feature : kFeatures) {
    if (feature.name != name) continue;
    if (feature.whole != nullptr) {
      f.*feature.whole = static_cast<int64_t>(std::llround(value));
    } else {
      f.*feature.fraction = value;
    }
    return true;
  }
  return false;
}

void ForEachFeature(const SessionFeatures& f,
                    const std::function<void(std::string_view, TypedValue)>& visit) {
  for (const Feature& feature : kFeatures) visit(feature.name, ValueOf(feature, f));
}

namespace {

enum PageKindValue { kOtherPage = 0, kAdministrative = 1, kInformational = 2, kProduct = 3 };

// The page's kind, from its event type and lower-case path, as the UCI sessions count pages.
int PageKind(std::string_view type, std::string_view path) {
  if (type == "product_view" || Contains(path, {"/p/", "/product"})) return kProduct;
  if (Contains(path, {"account", "login", "signin", "sign-in", "register", "signup", "cart",
                      "checkout", "basket", "profile", "settings", "/orders", "wishlist"})) {
    return kAdministrative;
  }
  if (Contains(path, {"shipping", "delivery", "return", "warranty", "faq", "help", "review",
                      "size-guide", "size_guide", "blog", "inspiration", "guide", "ideas",
                      "lookbook", "magazine", "stories", "about", "contact"})) {
    return kInformational;
  }
  return kOtherPage;
}

// The month (1-12) and whether it is a weekend, of a time (UTC).
void StartOf(Timestamp time, int64_t& month, int64_t& weekend) {
  const int64_t days = time >= 0 ? time / 86'400'000 : (time - 86'399'999) / 86'400'000;
  const int64_t weekday = ((days % 7) + 7 + 3) % 7;  // 0 = Monday; 1970-01-01 was a Thursday
  weekend = weekday >= 5 ? 1 : 0;
  // Howard Hinnant's civil_from_days.
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  month = mp < 10 ? mp + 3 : mp - 9;
}

// Messages sent to the person are not their session.
bool OwnEvent(const EventInput& e) { return IsOwnEventType(e.type); }

}  // namespace

void SessionTracker::Add(const EventInput& e) {
  if (!OwnEvent(e)) return;
  SessionFeatures& f = features_;
  if (f.events == 0 || e.time - f.last > gap_) {  // a new session
    f = SessionFeatures{};
    item_views_.clear();
    category_views_.clear();
    categories_.clear();
    page_kind_ = 0;
    f.start = e.time;
    f.referrer_class = std::string(ReferrerClassName(TouchOf(e).referrer_class));
    f.returning = sessions_++ > 0 ? 1 : 0;
    StartOf(e.time, f.month, f.weekend);
  } else if (e.time < f.start) {
    return;  // late, from before this session
  } else {
    // The time since their previous event was spent on the page they were on.
    const double seconds = static_cast<double>(std::max<Timestamp>(0, e.time - f.last)) / 1000.0;
    if (page_kind_ == kAdministrative) f.administrative_seconds += seconds;
    if (page_kind_ == kInformational) f.informational_seconds += seconds;
    if (page_kind_ == kProduct) f.product_seconds += seconds;
  }
  f.last = std::max(f.last, e.time);
  ++f.events;
  const std::string_view type = e.type;
  // The path and query only: the shop's own host ("dealhub.com") says nothing of the page.
  std::string_view url = e.context.page_url;
  if (const size_t scheme = url.find("://"); scheme != std::string_view::npos) {
    url.remove_prefix(scheme + 3);
    const size_t path = url.find_first_of("/?#");
    url = path == std::string_view::npos ? std::string_view() : url.substr(path);
  }
  if (type == "page_view" || type == "screen_view") ++f.page_views;
  if (type == "product_view") {
    ++f.product_views;
    if (!e.item_id.empty()) {
      auto it = item_views_.find(e.item_id);
      if (it == item_views_.end()) it = item_views_.emplace(e.item_id, 0).first;
      f.max_item_views = std::max(f.max_item_views, ++it->second);
    }
    if (!e.category.empty()) {
      auto it = category_views_.find(e.category);
      if (it == category_views_.end()) it = category_views_.emplace(e.category, 0).first;
      ++it->second;
    }
  }
  if (!e.category.empty() &&
      (type == "page_view" || type == "product_view" || type == "product_list_view") &&
      !categories_.contains(e.category)) {
    categories_.insert(e.category);
  }
  const std::string path = Lower(url);  // once: five word lists are looked for in it
  if (Contains(path, {"sort=price", "sort=price_asc", "sort=price_desc", "price_min", "price_max",
                      "price=", "sort_by=price"}) ||
      Mentions(EventProperty(e, "sort"), {"price"})) {
    ++f.price_sort;
  }
  if (Contains(path, {"sale", "deal", "coupon", "offer", "promo", "discount", "outlet"}) ||
      type == "coupon_entered" || type == "coupon_applied") {
    ++f.deal_pages;
  }
  if (Contains(path, {"shipping", "delivery", "return", "warranty", "faq", "help", "review",
                      "size-guide", "size_guide"})) {
    ++f.service_pages;
  }
  if (Contains(path,
               {"blog", "inspiration", "guide", "ideas", "lookbook", "magazine", "stories"}) &&
      !Contains(path, {"size-guide", "size_guide"})) {
    ++f.content_pages;
  }
  const bool page = type == "page_view" || type == "screen_view" || type == "product_view" ||
                    type == "product_list_view";
  if (page) {
    if (f.pages.size() < kMaxSessionPages) {
      std::string_view key = url.substr(0, url.find_first_of("?#"));
      if (!key.empty()) {
        f.pages.emplace_back(key);
      } else if (!e.item_id.empty()) {
        f.pages.push_back("item:" + e.item_id);
      }
    }
    page_kind_ = PageKind(type, path);
    if (page_kind_ == kAdministrative) ++f.administrative_pages;
    if (page_kind_ == kInformational) ++f.informational_pages;
    if (page_kind_ == kProduct) ++f.product_pages;
  }
  if (type == "search") ++f.searches;
  if (type == "add_to_cart") ++f.cart_adds;
  if (type == "checkout_start") ++f.checkouts;
  if (type == "purchase") ++f.purchases;
}

SessionFeatures SessionTracker::Features(Timestamp now) const {
  if (features_.events == 0 || now - features_.last > gap_) return {};
  SessionFeatures f = features_;
  f.minutes = (f.last - f.start) / 60'000.0;
  f.distinct_categories = static_cast<int64_t>(categories_.size());
  f.distinct_items = static_cast<int64_t>(item_views_.size());
  int64_t top = 0;
  for (const auto& [category, views] : category_views_) top = std::max(top, views);
  f.top_category_share = f.product_views > 0 ? static_cast<double>(top) / f.product_views : 0;
  f.top_item_share =
      f.product_views > 0 ? static_cast<double>(f.max_item_views) / f.product_views : 0;
  return f;
}

size_t SessionTracker::bytes() const {
  size_t total = sizeof(*this) + features_.referrer_class.capacity();
  for (const std::string& page : features_.pages) total += page.capacity() + sizeof(page);
  for (const auto& [key, views] : item_views_) total += key.capacity() + 64;
  for (const auto& [key, views] : category_views_) total += key.capacity() + 64;
  for (const std::string& key : categories_) total += key.capacity() + 48;
  return total;
}

SessionFeatures SummarizeSession(std::span<const EventInput> events, Timestamp now,
                                 Timestamp session_gap_ms) {
  // Where the session lies is found backwards from the last event of their own until `now`;
  // its events are then summarized the way the live tracker does.
  size_t end = events.size();
  while (end > 0 && (!OwnEvent(events[end - 1]) || events[end - 1].time > now)) --end;
  if (end == 0 || now - events[end - 1].time > session_gap_ms) return {};
  size_t begin = end - 1;
  Timestamp earliest = events[begin].time;
  for (size_t i = begin; i-- > 0;) {
    if (!OwnEvent(events[i])) continue;
    if (earliest - events[i].time > session_gap_ms) break;
    begin = i;
    earliest = events[i].time;
  }
  SessionTracker tracker(session_gap_ms);
  // Their last event before the session (more than the gap before it): a session before this one.
  for (size_t i = begin; i-- > 0;) {
    if (OwnEvent(events[i])) {
      tracker.Add(events[i]);
      break;
    }
  }
  for (size_t i = begin; i < end; ++i) tracker.Add(events[i]);
  return tracker.Features(now);
}

}  // namespace tailor::signals

#include "tailor/signals.h"

#include <date/tz.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>

#include "tailor/collect.h"

namespace tailor::signals {
namespace {

constexpr double kDayMs = 86'400'000.0;

// Views, carts and purchases say more and more about what someone wants.
double InterestWeight(std::string_view type) {
  if (type == "purchase") return 5;
  if (type == "add_to_cart") return 3;
  if (type == "product_view" || type == "page_view" || type == "screen_view" ||
      type == "product_list_view") {
    return 1;
  }
  return 0;
}

// Hosts of price-comparison sites (whole labels of the referrer's host).
constexpr std::string_view kPriceComparison[] = {
    "idealo",   "pricerunner",     "kelkoo",   "pricegrabber", "shopzilla",       "billiger",
    "geizhals", "camelcamelcamel", "pricespy", "prisjakt",     "shopping.google", "bizrate"};

bool HasLabel(std::string_view host, std::string_view name) {
  size_t pos = 0;
  while ((pos = host.find(name, pos)) != std::string_view::npos) {
    const bool starts = pos == 0 || host[pos - 1] == '.' || host[pos - 1] == '/';
    const size_t end = pos + name.size();
    const bool ends = end == host.size() || host[end] == '.' || host[end] == '/';
    if (starts && ends) return true;
    ++pos;
  }
  return false;
}

// "https://www.shop.example:443/x" -> "shop.example".
std::string HostOf(std::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme != std::string_view::npos) url.remove_prefix(scheme + 3);
  url = url.substr(0, url.find_first_of("/?#:"));
  std::string host(url);
  for (char& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (host.starts_with("www.")) host.erase(0, 4);
  return host;
}

ReferrerClass ClassOf(std::string_view source, std::string_view medium, std::string_view referrer) {
  for (std::string_view site : kPriceComparison) {
    if (HasLabel(referrer, site) || source == site) return ReferrerClass::kPriceComparison;
  }
  if (medium == "price_comparison" || medium == "comparison") {
    return ReferrerClass::kPriceComparison;
  }
  if (medium == "cpc" || medium == "ppc" || medium == "paid" || medium == "paidsearch" ||
      medium == "paid_search" || medium == "paid_social" || medium == "display" ||
      medium == "cpm" || medium == "affiliate") {
    return ReferrerClass::kPaid;
  }
  if (medium == "email" || medium == "newsletter") return ReferrerClass::kEmail;
  if (medium == "organic" || medium == "search") return ReferrerClass::kSearch;
  if (medium == "social" || medium == "social_organic") return ReferrerClass::kSocial;
  if (source == "direct") return ReferrerClass::kDirect;
  return ReferrerClass::kReferral;
}

}  // namespace

std::string_view ReferrerClassName(ReferrerClass value) {
  switch (value) {
    case ReferrerClass::kDirect:
      return "direct";
    case ReferrerClass::kSearch:
      return "search";
    case ReferrerClass::kSocial:
      return "social";
    case ReferrerClass::kEmail:
      return "email";
    case ReferrerClass::kPaid:
      return "paid";
    case ReferrerClass::kPriceComparison:
      return "price_comparison";
    case ReferrerClass::kReferral:
      return "referral";
  }
  return "direct";
}

Touch TouchOf(const EventInput& event) {
  const EventContext& c = event.context;
  const collect::TouchPoint point =
      collect::ClassifyTouch(c.referrer, c.utm_source, c.utm_medium, c.utm_campaign);
  Touch touch;
  touch.time = event.time;
  touch.source = point.source;
  touch.medium = point.medium;
  touch.campaign = point.campaign;
  touch.referrer_class = ClassOf(point.source, point.medium, c.referrer);
  return touch;
}

void DecayedSum::Add(Timestamp time, double weight, double half_life_ms) {
  if (time >= at_) {
    value_ = value_ * std::exp2(-(time - at_) / half_life_ms) + weight;
    at_ = time;
  } else {  // an older event: added as decayed as it is by now
    value_ += weight * std::exp2(-(at_ - time) / half_life_ms);
  }
}

double DecayedSum::ValueAt(Timestamp now, double half_life_ms) const {
  return now >= at_ ? value_ * std::exp2(-(now - at_) / half_life_ms) : value_;
}

namespace {

// The zone of an IANA name; null when the OS's tzdata lacks it.
const date::time_zone* FindZone(const std::string& name) {
  if (name.empty()) return nullptr;
  try {
    return date::locate_zone(name);
  } catch (const std::exception&) {
    return nullptr;
  }
}

}  // namespace

std::string ProfileTimeZone(const TraitMap& traits) {
  for (std::string_view name : {"time_zone", "geo_time_zone"}) {
    for (const auto& [trait, value] : traits) {
      if (trait != name) continue;
      if (const auto* text = std::get_if<std::string>(&value.value); text && !text->empty()) {
        return *text;
      }
    }
  }
  return "";
}

SignalState::SignalState(SignalOptions options)
    : options_(std::move(options)),
      zone_(FindZone(options_.time_zone)),
      affinity_half_life_ms_(options_.affinity_half_life_days * kDayMs),
      engagement_half_life_ms_(options_.engagement_half_life_days * kDayMs) {}

namespace {

std::string PriceBandOf(double price, const std::vector<double>& edges) {
  double lower = 0;
  for (double edge : edges) {
    if (price < edge) return fmt::format("{:g}-{:g}", lower, edge);
    lower = edge;
  }
  return fmt::format("{:g}+", lower);
}

}  // namespace

std::string SignalState::PriceBand(double price) const {
  return PriceBandOf(price, options_.price_band_edges);
}

std::optional<double> AffinityOf(std::span<const EventInput> events, std::string_view dimension,
                                 std::string_view value, Timestamp now,
                                 const SignalOptions& options) {
  const double half_life_ms = options.affinity_half_life_days * kDayMs;
  // Few values per profile: a list beats a map. The arithmetic is SignalState's, event by event.
  std::vector<std::pair<std::string, DecayedSum>> sums;
  std::string band;
  for (const EventInput& e : events) {
    double weight = InterestWeight(e.type);
    if (weight <= 0) continue;
    std::string_view key;
    if (dimension == "category") {
      key = e.category;
    } else if (dimension == "item") {
      key = e.item_id;
    } else if (dimension == "brand") {
      key = EventProperty(e, "brand");
    } else if (dimension == "price_band") {
      if (!e.price) continue;
      band = PriceBandOf(e.price->ToDouble(), options.price_band_edges);
      key = band;
    } else if (dimension == "page") {
      if (e.type != "page_view" && e.type != "screen_view") continue;
      key = e.context.page_url;
      weight = 1;
    } else {
      return std::nullopt;
    }
    if (key.empty()) continue;
    auto it = std::find_if(sums.begin(), sums.end(), [&](const auto& s) { return s.first == key; });
    if (it == sums.end()) it = sums.insert(sums.end(), {std::string(key), DecayedSum{}});
    it->second.Add(e.time, weight, half_life_ms);
  }
  if (sums.empty()) return std::nullopt;
  double largest = 0, own = 0;
  for (const auto& [key, sum] : sums) {
    const double v = sum.ValueAt(now, half_life_ms);
    largest = std::max(largest, v);
    if (key == value) own = v;
  }
  return largest > 0 ? own / largest : 0;
}

void SignalState::AddAffinity(std::string_view dimension, const std::string& value, Timestamp time,
                              double weight) {
  if (value.empty()) return;
  auto dim = affinity_.find(dimension);
  if (dim == affinity_.end()) {
    dim =
        affinity_.emplace(std::string(dimension), std::map<std::string, DecayedSum, std::less<>>{})
            .first;
  }
  dim->second[value].Add(time, weight, affinity_half_life_ms_);
}

void SignalState::Add(const EventInput& event) {
  const Timestamp t = event.time;
  const std::string_view type = event.type;
  ++events_;
  // What we sent them (and its bounces) is not their activity: no session, touch or hour.
  const bool own = IsOwnEventType(type);
  const bool in_order = own && (activity_ == 0 || t >= last_event_);
  if (own) ++activity_;

  // Sessions and touches (time order). A referrer on the site's own host is navigation, not a
  // touch.
  const bool external_referrer = !event.context.referrer.empty() &&
                                 (event.context.page_url.empty() ||
                                  HostOf(event.context.referrer) != HostOf(event.context.page_url));
  const bool has_touch =
      external_referrer || !event.context.utm_source.empty() || !event.context.utm_medium.empty();
  const auto touch_of_visit = [&] {
    if (external_referrer || event.context.referrer.empty()) return TouchOf(event);
    EventInput without = event;  // rare: a visit that starts on an internal referrer
    without.context.referrer.clear();
    return TouchOf(without);
  };
  if (in_order) {
    const bool new_session =
        sessions_.count == 0 || t - sessions_.current_last > options_.session_gap_ms;
    if (new_session) {  // (a session's length is added as it grows)
      ++sessions_.count;
      sessions_.current_start = sessions_.current_last = t;
      sessions_.current_events = 1;
      session_touch_ = touch_of_visit();
    } else {
      sessions_.total_minutes += (t - sessions_.current_last) / 60'000.0;
      sessions_.current_last = t;
      ++sessions_.current_events;
      // A campaign arriving mid-session starts a new visit's touch (a new tab from an ad).
      if (has_touch) session_touch_ = touch_of_visit();
    }
    if (!first_touch_) first_touch_ = touch_of_visit();
    if (has_touch || !last_touch_) last_touch_ = touch_of_visit();
    last_event_ = t;
  }

  // When: local hour and weekday.
  if (own) CountTime(t);

  // Where.
  if ((!event.context.country.empty() || !event.context.city.empty()) && t >= place_time_) {
    country_ = event.context.country;
    city_ = event.context.city;
    place_time_ = t;
  }
  if (own && t >= position_time_) {
    double accuracy_km = 0;
    if (const std::optional<GeoPoint> point = EventPosition(event, accuracy_km)) {
      position_ = point;
      position_accuracy_km_ = accuracy_km;
      position_time_ = t;
    }
  }

  // What they look at.
  if (const double weight = InterestWeight(type); weight > 0) {
    AddAffinity("category", event.category, t, weight);
    AddAffinity("item", event.item_id, t, weight);
    AddAffinity("brand", std::string(EventProperty(event, "brand")), t, weight);
    if (event.price) AddAffinity("price_band", PriceBand(event.price->ToDouble()), t, weight);
    if (type == "page_view" || type == "screen_view") {
      AddAffinity("page", event.context.page_url, t, 1);
    }
  }
  if (type == "search") {
    std::string query(EventProperty(event, "query"));
    if (query.empty()) query = event.category;
    if (!query.empty()) {
      std::erase(searches_, query);
      searches_.insert(searches_.begin(), std::move(query));
      if (searches_.size() > options_.top) searches_.resize(options_.top);
    }
  }

  // Messages.
  const bool sent = type == "email_sent" || type == "push_sent" || type == "sms_sent";
  const bool opened = type == "email_open" || type == "push_open";
  const bool clicked = type == "email_click" || type == "push_click";
  if (sent || opened || clicked) {
    std::string channel = type.starts_with("push")  ? "push"
                          : type.starts_with("sms") ? "sms"
                                                    : "email";
    std::string campaign(event.context.utm_campaign);
    if (campaign.empty()) campaign = std::string(EventProperty(event, "campaign"));
    for (const std::string& key :
         {channel, campaign.empty() ? std::string() : "campaign:" + campaign}) {
      if (key.empty()) continue;
      Engagement& e = engagement_[key];
      DecayedSum& sum = sent ? e.sent : opened ? e.opened : e.clicked;
      sum.Add(t, 1, engagement_half_life_ms_);
      if (sent) ++e.sent_count;
      if (opened) {
        ++e.open_count;
        e.last_open = std::max(e.last_open, t);
      }
      if (clicked) {
        ++e.click_count;
        e.last_click = std::max(e.last_click, t);
      }
    }
  }
  if (type == "email_unsubscribed" || type == "unsubscribe") unsubscribed_ = true;
  if (type == "email_subscribed" || type == "subscribe") unsubscribed_ = false;
  if (type == "email_bounced" || type == "bounce") ++bounces_;

  // Cadence: orders (the lines of one order, or purchases at one instant, count once).
  if (type == "purchase") {
    const bool same_order =
        purchases_.count > 0 &&
        (event.order_id.empty() ? t == purchases_.last : event.order_id == last_order_);
    if (!same_order) {
      purchases_.first = purchases_.count == 0 ? t : std::min(purchases_.first, t);
      purchases_.last = purchases_.count == 0 ? t : std::max(purchases_.last, t);
      ++purchases_.count;
      last_order_ = event.order_id;
    }
  }
}

void SignalState::CountTime(Timestamp t) {
  int64_t offset_minutes = options_.utc_offset_minutes;
  if (zone_ != nullptr) {
    const auto info =
        zone_->get_info(date::sys_time<std::chrono::milliseconds>(std::chrono::milliseconds(t)));
    offset_minutes = std::chrono::duration_cast<std::chrono::minutes>(info.offset).count();
  }
  const int64_t minutes = static_cast<int64_t>(std::floor(t / 60'000.0)) + offset_minutes;
  const int64_t days = minutes >= 0 ? minutes / 1440 : (minutes - 1439) / 1440;
  ++hours_[static_cast<size_t>((minutes - days * 1440) / 60)];
  ++weekdays_[static_cast<size_t>(((days % 7) + 7 + 3) % 7)];  // 1970-01-01 was a Thursday
}

double SignalState::Affinity(std::string_view dimension, std::string_view value,
                             Timestamp now) const {
  auto dim = affinity_.find(dimension);
  if (dim == affinity_.end()) return 0;
  double largest = 0, own = 0;
  for (const auto& [key, sum] : dim->second) {
    const double v = sum.ValueAt(now, affinity_half_life_ms_);
    largest = std::max(largest, v);
    if (key == value) own = v;
  }
  return largest > 0 ? own / largest : 0;
}

std::vector<std::pair<std::string, double>> SignalState::Top(std::string_view dimension,
                                                             Timestamp now) const {
  std::vector<std::pair<std::string, double>> out;
  auto dim = affinity_.find(dimension);
  if (dim == affinity_.end()) return out;
  for (const auto& [key, sum] : dim->second) {
    out.emplace_back(key, sum.ValueAt(now, affinity_half_life_ms_));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  if (out.size() > options_.top) out.resize(options_.top);
  return out;
}

double SignalState::Rate(std::string_view key, DecayedSum Engagement::*part, Timestamp now) const {
  auto it = engagement_.find(key);
  if (it == engagement_.end()) return 0;
  const double sent = it->second.sent.ValueAt(now, engagement_half_life_ms_);
  if (sent <= 0) return 0;
  return std::min(1.0, (it->second.*part).ValueAt(now, engagement_half_life_ms_) / sent);
}

bool SignalState::HasSends(std::string_view key) const {
  auto it = engagement_.find(key);
  return it != engagement_.end() && it->second.sent_count > 0;
}

double SignalState::OpenRate(std::string_view key, Timestamp now) const {
  return Rate(key, &Engagement::opened, now);
}

double SignalState::ClickRate(std::string_view key, Timestamp now) const {
  return Rate(key, &Engagement::clicked, now);
}

int SignalState::usual_hour() const {
  if (activity_ == 0) return -1;
  return static_cast<int>(std::max_element(hours_.begin(), hours_.end()) - hours_.begin());
}

int SignalState::usual_weekday() const {
  if (activity_ == 0) return -1;
  return static_cast<int>(std::max_element(weekdays_.begin(), weekdays_.end()) - weekdays_.begin());
}

size_t SignalState::bytes() const {
  size_t total = sizeof(*this);
  for (const auto& [dimension, values] : affinity_) {
    total += dimension.capacity() + 64;
    for (const auto& [key, sum] : values) total += key.capacity() + sizeof(sum) + 48;
  }
  for (const auto& [key, e] : engagement_) total += key.capacity() + sizeof(e) + 48;
  for (const std::string& s : searches_) total += s.capacity() + sizeof(s);
  return total;
}

}  // namespace tailor::signals

#pragma once

// The session under way of one profile, summarized as features (how many views, of how many
// categories and items, price sorting, deal, service and content pages, searches, carts,
// checkouts, purchases, where the visit came from). Session intent classifies them
// (tailor/intent.h) and rules read them as `session.<feature>` (docs/rule_language.md).
// A session ends after 30 idle minutes; messages sent to the person are not their session.
// Page kinds come from the page URL's path and query: service pages mention shipping,
// delivery, returns, warranty, faq, help, reviews or size guides; deal pages sale, deal, coupon,
// offer, promo, discount or outlet; content pages blog, inspiration, guide, ideas, lookbook,
// magazine or stories.

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tailor/types.h"

namespace tailor::signals {

// The current session of a profile, summarized.
struct SessionFeatures {
  int64_t events = 0;
  double minutes = 0;  // first to last event
  int64_t page_views = 0, product_views = 0;
  int64_t distinct_categories = 0, distinct_items = 0;
  int64_t max_item_views = 0;     // views of the most viewed item
  double top_item_share = 0;      // those views / all product views (one item, or several?)
  double top_category_share = 0;  // product views in the most viewed category / all of them
  int64_t price_sort = 0;         // pages sorted or filtered by price
  int64_t deal_pages = 0, service_pages = 0, content_pages = 0;
  int64_t searches = 0, cart_adds = 0, checkouts = 0, purchases = 0;
  // The kinds of pages the UCI shopper sessions record, and the time on them (a page's time runs
  // until the next page, or the session's last event): administrative (account, sign-in, cart,
  // checkout pages), informational (service and content pages, about, contact), product
  // (product views, /p/ and /product pages).
  int64_t administrative_pages = 0, informational_pages = 0, product_pages = 0;
  double administrative_seconds = 0, informational_seconds = 0, product_seconds = 0;
  int64_t returning = 0;  // 1: they had a session before this one
  int64_t month = 0;      // of the session's start, 1-12 (UTC)
  int64_t weekend = 0;    // 1: it started on a Saturday or Sunday (UTC)
  // The pages viewed, in order (the path without its query; a product view without a page, its
  // item as "item:<id>"), at most kMaxSessionPages: for the site-wide page figures (bounce and
  // exit rates, page value) a learned model looks up (intent_model.h).
  std::vector<std::string> pages;
  std::string
      referrer_class;  // the session's touch (signals.h): direct, search, price_comparison ...
  Timestamp start = 0, last = 0;
};

inline constexpr size_t kMaxSessionPages = 64;

// The current session at `now`: the events after the last gap of `session_gap_ms` before the
// latest event, if that event is within the gap of `now` (else no session: all zero).
SessionFeatures SummarizeSession(std::span<const EventInput> events, Timestamp now,
                                 Timestamp session_gap_ms = 30 * 60 * 1000);
// The current session kept up to date one event at a time (the working set's live intent):
// events are added in time order as they arrive; an event of their own more than the gap after
// the session's last one starts a new session, messages sent to them are not their session, and a
// late event from before the current session's start is ignored. Fed a profile's events in time
// order, Features(now) equals SummarizeSession(events, now) for any `now` not before the last
// event (tested).
class SessionTracker {
 public:
  explicit SessionTracker(Timestamp session_gap_ms = 30 * 60 * 1000) : gap_(session_gap_ms) {}
  void Add(const EventInput& event);
  // The session at `now`: all zero when none is in progress (no event, or the last is more than
  // the gap before `now`).
  SessionFeatures Features(Timestamp now) const;
  Timestamp last() const { return features_.last; }
  size_t bytes() const;  // heap bytes, for the working set's budget

 private:
  Timestamp gap_;
  SessionFeatures features_;  // counts so far; minutes, distinct counts and shares on demand
  std::map<std::string, int64_t, std::less<>> item_views_, category_views_;
  std::set<std::string, std::less<>> categories_;
  uint64_t sessions_ = 0;  // sessions started, this one included
  int page_kind_ = 0;      // the kind of the page they are on (0: none yet, or another kind)
};

// The numeric features' names, as rules spell them after `session.` (and intent rules alone),
// each an int but minutes, top_item_share, top_category_share and the *_seconds (doubles);
// referrer_class is a string.
const std::vector<std::string_view>& FeatureNames();
// Whether a feature is a double (minutes, the shares, the seconds) rather than an int.
bool IsFractionFeature(std::string_view name);
// A feature by name (FeatureNames, or referrer_class); nullopt for an unknown name.
std::optional<TypedValue> FeatureValue(const SessionFeatures& features, std::string_view name);
// Sets a numeric feature by name (an int one rounded); false for an unknown name. For sessions
// recorded elsewhere and read from a table (intent_model.h, RecordedSessions).
bool SetFeature(SessionFeatures& features, std::string_view name, double value);
// Every numeric feature in FeatureNames order, without looking each up by name.
void ForEachFeature(const SessionFeatures& features,
                    const std::function<void(std::string_view name, TypedValue value)>& visit);

}  // namespace tailor::signals

#pragma once

// Session intent: what the person in front of us wants right now, from their current session
// (30 idle minutes end one) — starting out (inspiration), ready to decide (best offer), knows what
// they want but hesitates (concerns), just bought (post-purchase), or too little to tell
// (unknown) — with the evidence that decided it.
//
// The session is summarized as features (views, categories, repeat views of one item, price
// sorting, deal and service pages, carts, checkouts, purchases, where the visit came from ...),
// and intent rules are data: one rule per line, `intent: <rule>` in the rule language over those
// features as traits (`concerns: service_pages >= 1 or max_item_views >= 3`), the first that
// matches wins. Evaluated with the row evaluator (microseconds) and explained by it.

#include <map>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tailor/explain.h"
#include "tailor/rule.h"
#include "tailor/status.h"
#include "tailor/types.h"

namespace tailor::intent {

enum class Intent : uint8_t { kUnknown, kInspiration, kBestOffer, kConcerns, kPostPurchase };
std::string_view IntentName(Intent intent);  // "unknown", "inspiration", "best_offer", ...

// The current session of a profile, summarized. Page kinds come from the page URL (and the
// event's category for content): service pages mention shipping, delivery, returns, warranty,
// faq, help, reviews or size guides; deal pages sale, deal, coupon, offer, promo, discount or
// outlet; content pages blog, inspiration, guide, ideas, lookbook, magazine or stories.
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
  std::string
      referrer_class;  // the session's touch (signals.h): direct, search, price_comparison ...
  Timestamp start = 0, last = 0;
};

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
};

// The features as traits (names as in SessionFeatures), for the rules.
TraitMap FeatureTraits(const SessionFeatures& features);

struct IntentRule {
  Intent intent = Intent::kUnknown;
  segments::Rule rule;
  std::string text;  // the rule's text
  int line = 0;      // in the rules' text
};

struct IntentRules {
  std::vector<IntentRule> rules;  // priority order: the first match wins
  std::string text;               // as given
};

// One rule per line, `intent: rule`; blank lines and `#` comments are skipped. kInvalidArgument
// with `line:column: message` for an unknown intent, a broken rule or an unknown feature.
Result<IntentRules> ParseIntentRules(std::string_view text);
// post_purchase, concerns, best_offer, inspiration, in that order (DefaultIntentRulesText()).
std::string_view DefaultIntentRulesText();
const IntentRules& DefaultIntentRules();

struct Classification {
  Intent intent = Intent::kUnknown;
  int rule_line = 0;               // 0: no rule matched
  std::string rule;                // the rule that decided it
  segments::Explanation evidence;  // that rule against the session, node by node
  SessionFeatures session;
  std::string reason;  // in words
};

// The intent of the session at `now`: the first matching rule, else unknown (an empty session,
// or one no rule recognizes).
Classification Classify(const IntentRules& rules, std::span<const EventInput> events,
                        Timestamp now);
// The same for a session already summarized (SessionTracker::Features).
Classification Classify(const IntentRules& rules, SessionFeatures session, Timestamp now);

}  // namespace tailor::intent

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

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tailor/explain.h"
#include "tailor/rule.h"
#include "tailor/session.h"
#include "tailor/status.h"
#include "tailor/types.h"

namespace tailor::intent {

enum class Intent : uint8_t { kUnknown, kInspiration, kBestOffer, kConcerns, kPostPurchase };
std::string_view IntentName(Intent intent);  // "unknown", "inspiration", "best_offer", ...
std::optional<Intent> ParseIntentName(std::string_view name);  // IntentName's inverse

// The session's features and their summary live with the other signals (tailor/session.h).
using signals::FeatureNames;
using signals::FeatureValue;
using signals::IsFractionFeature;
using signals::SessionFeatures;
using signals::SessionTracker;
using signals::SummarizeSession;

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

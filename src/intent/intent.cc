#include "tailor/intent.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "tailor/schema.h"
#include "tailor/signals.h"

namespace tailor::intent {
namespace {

// The features' names and types: the schema the rules are checked against.
const Schema& FeatureSchema() {
  static const Schema schema = [] {
    Schema s;
    for (std::string_view name : FeatureNames()) {
      (void)s.Add(std::string(name), IsFractionFeature(name) ? TraitType::kDouble : TraitType::kInt,
                  TraitCategory::kBehavioural);
    }
    (void)s.Add("referrer_class", TraitType::kString, TraitCategory::kBehavioural);
    return s;
  }();
  return schema;
}

class NoSegments final : public segments::SegmentResolver {
 public:
  bool Exists(std::string_view) const override { return false; }
  std::vector<std::string> References(std::string_view) const override { return {}; }
};

std::optional<Intent> IntentOf(std::string_view name) {
  for (Intent i : {Intent::kUnknown, Intent::kInspiration, Intent::kBestOffer, Intent::kConcerns,
                   Intent::kPostPurchase}) {
    if (IntentName(i) == name) return i;
  }
  return std::nullopt;
}

// "1:7: message" from the rule parser, moved to the rule's place in the file.
Status AtLine(const Status& status, int line, size_t column_offset) {
  const std::string_view message = status.message();
  const size_t first = message.find(':');
  const size_t second = first == std::string_view::npos ? first : message.find(':', first + 1);
  if (second != std::string_view::npos && message.substr(0, first) == "1") {
    const int column =
        std::atoi(std::string(message.substr(first + 1, second - first - 1)).c_str());
    return InvalidArgument("{}:{}:{}", line, column + static_cast<int>(column_offset),
                           message.substr(second + 1));
  }
  return InvalidArgument("{}:{}: {}", line, column_offset + 1, message);
}

}  // namespace

std::string_view IntentName(Intent intent) {
  switch (intent) {
    case Intent::kUnknown:
      return "unknown";
    case Intent::kInspiration:
      return "inspiration";
    case Intent::kBestOffer:
      return "best_offer";
    case Intent::kConcerns:
      return "concerns";
    case Intent::kPostPurchase:
      return "post_purchase";
  }
  return "unknown";
}

std::optional<Intent> ParseIntentName(std::string_view name) {
  for (const Intent intent : {Intent::kUnknown, Intent::kInspiration, Intent::kBestOffer,
                              Intent::kConcerns, Intent::kPostPurchase}) {
    if (IntentName(intent) == name) return intent;
  }
  return std::nullopt;
}

TraitMap FeatureTraits(const SessionFeatures& f) {
  TraitMap traits;
  traits.reserve(FeatureNames().size() + 1);
  signals::ForEachFeature(f, [&](std::string_view name, TypedValue value) {
    traits.emplace_back(std::string(name), std::move(value));
  });
  traits.emplace_back("referrer_class", *FeatureValue(f, "referrer_class"));
  return traits;
}

Result<IntentRules> ParseIntentRules(std::string_view text) {
  IntentRules out;
  out.text = std::string(text);
  int line_number = 0;
  size_t position = 0;
  while (position <= text.size()) {
    const size_t newline = text.find('\n', position);
    const std::string_view line = text.substr(
        position, newline == std::string_view::npos ? std::string_view::npos : newline - position);
    ++line_number;
    position = newline == std::string_view::npos ? text.size() + 1 : newline + 1;
    const size_t start = line.find_first_not_of(" \t\r");
    if (start == std::string_view::npos || line[start] == '#') continue;
    const size_t colon = line.find(':', start);
    if (colon == std::string_view::npos) {
      return InvalidArgument("{}:{}: expected 'intent: rule'", line_number, start + 1);
    }
    std::string_view name = line.substr(start, colon - start);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
    const std::optional<Intent> intent = IntentOf(name);
    if (!intent || *intent == Intent::kUnknown) {
      return InvalidArgument(
          "{}:{}: unknown intent '{}' (inspiration, best_offer, concerns, post_purchase)",
          line_number, start + 1, name);
    }
    std::string_view rule_text = line.substr(colon + 1);
    while (!rule_text.empty() && rule_text.back() == '\r') rule_text.remove_suffix(1);
    auto rule = segments::ParseRule(rule_text);
    if (!rule.ok()) return AtLine(rule.status(), line_number, colon + 1);
    if (Status s = segments::CheckRule(*rule, FeatureSchema(), NoSegments()); !s.ok()) {
      return AtLine(s, line_number, colon + 1);
    }
    size_t first = rule_text.find_first_not_of(" \t");
    out.rules.push_back(
        {*intent, std::move(rule).value(),
         std::string(first == std::string_view::npos ? "" : rule_text.substr(first)), line_number});
  }
  if (out.rules.empty()) return InvalidArgument("1:1: no intent rules");
  return out;
}

std::string_view DefaultIntentRulesText() {
  return R"(# Session intent, first match wins (tailor/intent.h; features: docs/api.md, Intent).
# Just bought: follow-up content, not another offer.
post_purchase: purchases >= 1
# Knows what they want but hesitates: one item again and again, service pages, a cart left.
concerns: service_pages >= 1 or (max_item_views >= 3 and top_item_share >= 0.5) or (cart_adds >= 1 and checkouts = 0 and minutes >= 10)
# Ready to decide: comparing within one category, sorting by price, deals, from a price comparison site.
best_offer: referrer_class = "price_comparison" or price_sort >= 1 or deal_pages >= 1 or (product_views >= 3 and distinct_items >= 2 and top_category_share >= 0.75)
# Starting out: content, or browsing across categories without a cart.
inspiration: content_pages >= 1 or (distinct_categories >= 3 and cart_adds = 0) or (page_views >= 2 and product_views = 0)
)";
}

const IntentRules& DefaultIntentRules() {
  static const IntentRules rules = [] {
    auto parsed = ParseIntentRules(DefaultIntentRulesText());
    return parsed.ok() ? std::move(parsed).value() : IntentRules{};
  }();
  return rules;
}

Classification Classify(const IntentRules& rules, std::span<const EventInput> events,
                        Timestamp now) {
  return Classify(rules, SummarizeSession(events, now), now);
}

Classification Classify(const IntentRules& rules, SessionFeatures session, Timestamp now) {
  Classification c;
  c.session = std::move(session);
  if (c.session.events == 0) {
    c.reason = "no session in progress";
    return c;
  }
  const TraitMap traits = FeatureTraits(c.session);
  segments::ProfileRow row;
  row.traits = &traits;
  row.now = now;
  for (const IntentRule& rule : rules.rules) {
    if (!segments::Matches(rule.rule, row)) continue;
    c.intent = rule.intent;
    c.rule_line = rule.line;
    c.rule = rule.text;
    c.evidence = segments::Explain(rule.rule, row);
    c.reason = fmt::format("{}: {}", IntentName(rule.intent), rule.text);
    return c;
  }
  c.reason = fmt::format("no rule matched a session of {} events", c.session.events);
  return c;
}

}  // namespace tailor::intent

// The row evaluator: each condition of a rule, for one profile, straight from the definitions in
// rule.h, recording what it saw. Simple on purpose: it is the reference the snapshot evaluator
// is tested against, and what `tailor segment explain` prints.

#include "tailor/explain.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "common/time.h"
#include "segments/amounts.h"
#include "tailor/signal_values.h"

namespace tailor::segments {
namespace {

std::string Text(const Expr& expr) { return PrintRule(Rule{expr}); }

double Number(const Value& value) {
  if (const auto* i = std::get_if<int64_t>(&value)) return static_cast<double>(*i);
  if (const auto* d = std::get_if<double>(&value)) return *d;
  if (const auto* b = std::get_if<bool>(&value)) return *b ? 1 : 0;
  const auto time = ParseIsoTimestamp(std::get<std::string>(value));
  return time ? static_cast<double>(*time) : std::nan("");
}

bool CompareNumber(double x, const Comparison& c) {
  auto at = [&](size_t i) { return Number(c.values[i].value); };
  switch (c.op) {
    case CompareOp::kEq:
      return x == at(0);
    case CompareOp::kNe:
      return x != at(0);
    case CompareOp::kLt:
      return x < at(0);
    case CompareOp::kLe:
      return x <= at(0);
    case CompareOp::kGt:
      return x > at(0);
    case CompareOp::kGe:
      return x >= at(0);
    case CompareOp::kBetween:
      return at(0) <= x && x <= at(1);
    case CompareOp::kIn:
    case CompareOp::kNotIn: {
      bool found = false;
      for (size_t i = 0; i < c.values.size(); ++i) found = found || x == at(i);
      return found == (c.op == CompareOp::kIn);
    }
    default:
      return false;
  }
}

bool CompareString(const std::string& s, const Comparison& c) {
  auto text = [&](size_t i) -> const std::string* {
    return std::get_if<std::string>(&c.values[i].value);
  };
  auto equals = [&](size_t i) { return text(i) != nullptr && s == *text(i); };
  switch (c.op) {
    case CompareOp::kEq:
      return equals(0);
    case CompareOp::kNe:
      return !equals(0);
    case CompareOp::kContains:
      return text(0) != nullptr && s.find(*text(0)) != std::string::npos;
    case CompareOp::kStartsWith:
      return text(0) != nullptr && s.rfind(*text(0), 0) == 0;
    case CompareOp::kIn:
    case CompareOp::kNotIn: {
      bool found = false;
      for (size_t i = 0; i < c.values.size(); ++i) found = found || equals(i);
      return found == (c.op == CompareOp::kIn);
    }
    case CompareOp::kLt:
      return text(0) != nullptr && s < *text(0);
    case CompareOp::kLe:
      return text(0) != nullptr && s <= *text(0);
    case CompareOp::kGt:
      return text(0) != nullptr && s > *text(0);
    case CompareOp::kGe:
      return text(0) != nullptr && s >= *text(0);
    case CompareOp::kBetween:
      return text(0) != nullptr && text(1) != nullptr && *text(0) <= s && s <= *text(1);
    default:
      return false;
  }
}

// numerator / denominator (micros) against the comparison's number literals, exactly.
bool CompareExact(__int128 numerator, int64_t denominator, const Comparison& c) {
  auto order = [&](size_t i) {
    const std::optional<int64_t> literal = LiteralMicros(c.values[i].value);
    return literal ? std::optional<int>(CompareRatio(numerator, denominator, *literal))
                   : std::nullopt;
  };
  auto is = [&](size_t i, auto pass) {
    const auto o = order(i);
    return o && pass(*o);
  };
  switch (c.op) {
    case CompareOp::kEq:
      return is(0, [](int o) { return o == 0; });
    case CompareOp::kNe:
      return is(0, [](int o) { return o != 0; });
    case CompareOp::kLt:
      return is(0, [](int o) { return o < 0; });
    case CompareOp::kLe:
      return is(0, [](int o) { return o <= 0; });
    case CompareOp::kGt:
      return is(0, [](int o) { return o > 0; });
    case CompareOp::kGe:
      return is(0, [](int o) { return o >= 0; });
    case CompareOp::kBetween:
      return is(0, [](int o) { return o >= 0; }) && is(1, [](int o) { return o <= 0; });
    case CompareOp::kIn:
    case CompareOp::kNotIn: {
      bool found = false;
      for (size_t i = 0; i < c.values.size(); ++i) {
        found = found || is(i, [](int o) { return o == 0; });
      }
      return found == (c.op == CompareOp::kIn);
    }
    default:
      return false;
  }
}

// An exact aggregate as text: a decimal when whole micros, else the average to 6 decimals.
std::string ShowRatio(__int128 numerator, int64_t denominator) {
  if (numerator % denominator == 0) {
    const __int128 micros = numerator / denominator;
    if (micros >= INT64_MIN && micros <= INT64_MAX) {
      return Decimal::FromMicros(static_cast<int64_t>(micros)).ToString();
    }
  }
  return fmt::format("{:.6f}", static_cast<double>(numerator) / Decimal::kOne / denominator);
}

bool CompareValue(const std::optional<TypedValue>& value, const Comparison& c) {
  if (c.op == CompareOp::kExists) return value.has_value();
  if (c.op == CompareOp::kMissing) return !value.has_value();
  if (!value) return false;
  if (const auto* s = std::get_if<std::string>(&value->value)) return CompareString(*s, c);
  if (const auto* list = std::get_if<StringList>(&value->value)) {
    // contains / = / in: some element passes; not in / !=: none is equal.
    Comparison element = c;
    if (c.op == CompareOp::kContains || c.op == CompareOp::kNe) element.op = CompareOp::kEq;
    if (c.op == CompareOp::kNotIn) element.op = CompareOp::kIn;
    const bool any = std::any_of(list->begin(), list->end(),
                                 [&](const std::string& e) { return CompareString(e, element); });
    return c.op == CompareOp::kNotIn || c.op == CompareOp::kNe ? !any : any;
  }
  if (const auto* i = std::get_if<int64_t>(&value->value)) return CompareNumber(double(*i), c);
  if (const auto* d = std::get_if<double>(&value->value)) return CompareNumber(*d, c);
  if (const auto* b = std::get_if<bool>(&value->value)) return CompareNumber(*b ? 1 : 0, c);
  return false;
}

std::string Show(const std::optional<TypedValue>& value) {
  if (!value) return "missing";
  switch (value->type) {
    case TraitType::kString:
      return fmt::format("\"{}\"", std::get<std::string>(value->value));
    case TraitType::kInt:
      return std::to_string(std::get<int64_t>(value->value));
    case TraitType::kDouble:
      return fmt::format("{}", std::get<double>(value->value));
    case TraitType::kBool:
      return std::get<bool>(value->value) ? "true" : "false";
    case TraitType::kTimestamp:
      return FormatTimestamp(std::get<int64_t>(value->value));
    case TraitType::kStringList: {
      std::string joined;
      for (const std::string& e : std::get<StringList>(value->value)) {
        joined += joined.empty() ? "[\"" : ", \"";
        joined += e + "\"";
      }
      return joined.empty() ? "[]" : joined + "]";
    }
  }
  return "?";
}

bool InRange(Timestamp t, const TimeRange& range, Timestamp now) {
  const Timestamp unit = TimeUnitMillis(range.unit);
  switch (range.kind) {
    case RangeKind::kLast:
      return now - range.amount * unit <= t && t < now;
    case RangeKind::kBefore:
      return t < now - range.amount * unit;
    case RangeKind::kAfter:
      return t > now - range.amount * unit;
    case RangeKind::kBetween:
      return now - range.far_amount * unit <= t && t < now - range.amount * unit;
  }
  return false;
}

class RowEvaluator {
 public:
  // `explain`: also record each node's text and the values seen (slow: prints every node).
  RowEvaluator(const ProfileRow& row, bool explain) : row_(row), explain_(explain) {}

  Explanation Eval(const Expr& expr) {
    Explanation out;
    if (explain_) out.condition = Text(expr);
    if (const auto* node = std::get_if<And>(&expr.node)) {
      out.matched = true;
      for (const Expr& operand : node->operands) {
        out.children.push_back(Eval(operand));
        out.matched = out.matched && out.children.back().matched;
      }
    } else if (const auto* node = std::get_if<Or>(&expr.node)) {
      for (const Expr& operand : node->operands) {
        out.children.push_back(Eval(operand));
        out.matched = out.matched || out.children.back().matched;
      }
    } else if (const auto* node = std::get_if<Not>(&expr.node)) {
      out.children.push_back(Eval(*node->operand));
      out.matched = !out.children.back().matched;
    } else if (const auto* node = std::get_if<SegmentRef>(&expr.node)) {
      out.matched = row_.in_segment && row_.in_segment(node->segment);
      if (explain_) out.seen = out.matched ? "member" : "not a member";
    } else if (const auto* node = std::get_if<GeoCondition>(&expr.node)) {
      const auto lat = Trait(node->lat_trait), lon = Trait(node->lon_trait);
      if (!lat || !lon || lat->type != TraitType::kDouble || lon->type != TraitType::kDouble) {
        if (explain_) out.seen = "location missing";
      } else {
        const double r = M_PI / 180, la = std::get<double>(lat->value) * r;
        const double lo = std::get<double>(lon->value) * r, la0 = node->center_lat * r;
        const double a =
            std::pow(std::sin((la - la0) / 2), 2) +
            std::cos(la0) * std::cos(la) * std::pow(std::sin((lo - node->center_lon * r) / 2), 2);
        const double km = 2 * 6371.0088 * std::asin(std::sqrt(a));
        out.matched = km <= node->radius_km;
        if (explain_) out.seen = fmt::format("{:.1f} km away", km);
      }
    } else if (const auto* node = std::get_if<TimeCondition>(&expr.node)) {
      std::optional<double> time;
      if (node->subject.kind == SubjectKind::kTrait) {
        const auto value = Trait(node->subject.name);
        if (value && value->type == TraitType::kTimestamp)
          time = double(std::get<int64_t>(value->value));
      } else {
        time = Aggregate(node->subject);
      }
      out.matched = time && InRange(static_cast<Timestamp>(*time), node->range, row_.now);
      if (explain_) out.seen = time ? FormatTimestamp(static_cast<Timestamp>(*time)) : "missing";
    } else if (const auto* node = std::get_if<Occurrence>(&expr.node)) {
      const size_t count = Select(node->events).size();
      out.matched = (count > 0) == node->ever;
      if (explain_) out.seen = fmt::format("{} matching events", count);
    } else if (const auto* node = std::get_if<Sequence>(&expr.node)) {
      const auto anchor = Aggregate(node->anchor);
      bool followed = false;
      if (anchor) {
        for (const EventInput* e : Select(node->next))
          followed = followed || double(e->time) > *anchor;
      }
      out.matched = anchor && followed != node->negated;
      if (explain_)
        out.seen = anchor ? fmt::format("anchor at {}, {}followed",
                                        FormatTimestamp(Timestamp(*anchor)), followed ? "" : "not ")
                          : "no anchor event";
    } else {
      const auto& c = std::get<Comparison>(expr.node);
      std::optional<TypedValue> value;
      const SubjectKind kind = c.subject.kind;
      if (kind == SubjectKind::kSum || kind == SubjectKind::kAvg || kind == SubjectKind::kMin ||
          kind == SubjectKind::kMax) {
        const auto ratio = ExactAggregate(c.subject);
        if (c.op == CompareOp::kExists || c.op == CompareOp::kMissing) {
          out.matched = ratio.has_value() == (c.op == CompareOp::kExists);
        } else {
          out.matched = ratio && CompareExact(ratio->first, ratio->second, c);
        }
        if (explain_) out.seen = ratio ? ShowRatio(ratio->first, ratio->second) : "missing";
        return out;
      }
      if (c.subject.kind == SubjectKind::kTrait) {
        value = Trait(c.subject.name);
      } else if (c.subject.kind == SubjectKind::kSignal) {
        value = Signals().Get(c.subject.name, c.subject.arguments);
      } else {
        const auto number = Aggregate(c.subject);
        const bool time =
            c.subject.kind == SubjectKind::kFirst || c.subject.kind == SubjectKind::kLast;
        if (number) {
          value = time ? TypedValue{TraitType::kTimestamp, static_cast<int64_t>(*number)}
                       : TypedValue{TraitType::kDouble, *number};
        }
      }
      out.matched = CompareValue(value, c);
      if (explain_) out.seen = Show(value);
    }
    return out;
  }

  // The profile's signals at now, folded from its events on first use.
  signals::SignalValues& Signals() {
    if (!signals_) {
      signals::PlaceContext place;
      place.stores = row_.stores;
      if (row_.traits != nullptr) place.home = signals::HomeOf(*row_.traits);
      signals_.emplace(row_.events, row_.now, place);
    }
    return *signals_;
  }

  // For the snapshot evaluator's tests: the same decision without the text.
  bool Match(const Expr& expr) { return Eval(expr).matched; }

 private:
  std::optional<TypedValue> Trait(const std::string& name) const {
    for (const auto& [trait, value] : *row_.traits) {
      if (trait == name && !std::holds_alternative<std::monostate>(value.value)) return value;
    }
    return std::nullopt;
  }

  std::optional<TypedValue> Field(const EventInput& e, const std::string& name) const {
    auto text = [](const std::string& s) {
      return s.empty() ? std::nullopt
                       : std::optional<TypedValue>(TypedValue{TraitType::kString, s});
    };
    auto number = [](std::optional<double> d) {
      return d ? std::optional<TypedValue>(TypedValue{TraitType::kDouble, *d}) : std::nullopt;
    };
    if (name == "item_id") return text(e.item_id);
    if (name == "category") return text(e.category);
    if (name == "order_id") return text(e.order_id);
    static const char* kContext[] = {"channel",    "page_url",     "referrer",   "utm_source",
                                     "utm_medium", "utm_campaign", "user_agent", "ip",
                                     "country",    "city"};
    const std::string* context[] = {&e.context.channel,    &e.context.page_url,
                                    &e.context.referrer,   &e.context.utm_source,
                                    &e.context.utm_medium, &e.context.utm_campaign,
                                    &e.context.user_agent, &e.context.ip,
                                    &e.context.country,    &e.context.city};
    for (int i = 0; i < 10; ++i) {
      if (name == kContext[i]) return text(*context[i]);
    }
    if (IsAmountField(name)) {
      const std::optional<Decimal> amount = Amount(e, name);
      return amount ? number(amount->ToDouble()) : std::nullopt;
    }
    if (name.rfind("properties.", 0) == 0) {
      const std::string_view property = std::string_view(name).substr(11);
      for (const auto& [key, value] : e.properties) {
        if (key == property) return text(value);
      }
      return std::nullopt;
    }
    if (name.rfind("item.", 0) == 0 && row_.items != nullptr) {
      auto it = row_.items->find(e.item_id);
      if (it == row_.items->end()) return std::nullopt;
      const std::string attribute = name.substr(5);
      const ItemInput& item = it->second;
      if (attribute == "name") return text(item.name);
      if (attribute == "category") return text(item.category);
      if (attribute == "price") {
        return item.price ? number(item.price->ToDouble()) : std::nullopt;
      }
      for (const auto& [key, value] : item.attributes) {
        if (key == attribute && !std::holds_alternative<std::monostate>(value.value)) return value;
      }
    }
    return std::nullopt;
  }

  static bool IsAmountField(const std::string& name) {
    return name == "price" || name == "quantity" || name == "value" || name == "spend";
  }

  // An event's amount exactly: price, quantity, value (explicit, else price * quantity, else
  // price), spend (price * quantity; missing when either is), a numeric item attribute.
  std::optional<Decimal> Amount(const EventInput& e, const std::string& name) const {
    if (name == "price") return e.price;
    if (name == "quantity") {
      return e.quantity ? Decimal::FromUnits(*e.quantity) : std::nullopt;
    }
    if (name == "value") return EventValue(e);
    if (name == "spend") return EventSpend(e.price, e.quantity);
    if (name.rfind("item.", 0) == 0 && row_.items != nullptr) {
      auto it = row_.items->find(e.item_id);
      if (it != row_.items->end()) return ItemAmount(it->second, name.substr(5));
    }
    return std::nullopt;
  }

  bool Filter(const EventInput& e, const Expr& expr) const {
    if (const auto* node = std::get_if<And>(&expr.node)) {
      return std::all_of(node->operands.begin(), node->operands.end(),
                         [&](const Expr& operand) { return Filter(e, operand); });
    }
    if (const auto* node = std::get_if<Or>(&expr.node)) {
      return std::any_of(node->operands.begin(), node->operands.end(),
                         [&](const Expr& operand) { return Filter(e, operand); });
    }
    if (const auto* node = std::get_if<Not>(&expr.node)) return !Filter(e, *node->operand);
    const auto* c = std::get_if<Comparison>(&expr.node);
    if (c == nullptr) return false;
    if (IsAmountField(c->subject.name)) {
      const std::optional<Decimal> amount = Amount(e, c->subject.name);
      if (c->op == CompareOp::kExists || c->op == CompareOp::kMissing) {
        return amount.has_value() == (c->op == CompareOp::kExists);
      }
      return amount && CompareExact(amount->micros(), 1, *c);
    }
    return CompareValue(Field(e, c->subject.name), *c);
  }

  std::vector<const EventInput*> Select(const EventSet& set) const {
    std::vector<const EventInput*> out;
    for (const EventInput& e : row_.events) {
      if (!set.event_type.empty() && e.type != set.event_type) continue;
      if (set.window && !InRange(e.time, *set.window, row_.now)) continue;
      if (set.filter && !Filter(e, **set.filter)) continue;
      out.push_back(&e);
    }
    return out;
  }

  // sum / avg / min / max as an exact ratio numerator / denominator in micros (avg: sum / count);
  // nullopt when missing (sum of nothing is 0).
  std::optional<std::pair<__int128, int64_t>> ExactAggregate(const Subject& subject) const {
    __int128 sum = 0;
    int64_t count = 0;
    std::optional<int64_t> low, high;
    for (const EventInput* e : Select(subject.events)) {
      const std::optional<Decimal> amount = Amount(*e, subject.name);
      if (!amount) continue;
      sum += amount->micros();
      ++count;
      low = std::min(low.value_or(INT64_MAX), amount->micros());
      high = std::max(high.value_or(INT64_MIN), amount->micros());
    }
    switch (subject.kind) {
      case SubjectKind::kSum:
        return std::pair{sum, int64_t{1}};
      case SubjectKind::kAvg:
        if (count == 0) return std::nullopt;
        return std::pair{sum, count};
      case SubjectKind::kMin:
        if (!low) return std::nullopt;
        return std::pair{__int128{*low}, int64_t{1}};
      default:
        if (!high) return std::nullopt;
        return std::pair{__int128{*high}, int64_t{1}};
    }
  }

  std::optional<double> Aggregate(const Subject& subject) const {
    const auto events = Select(subject.events);
    std::vector<double> numbers;
    std::set<std::string> distinct;
    for (const EventInput* e : events) {
      if (subject.name.empty()) continue;
      const auto value = Field(*e, subject.name);
      if (!value) continue;
      if (const auto* s = std::get_if<std::string>(&value->value)) {
        distinct.insert(*s);
        continue;
      }
      double x = 0;
      if (const auto* d = std::get_if<double>(&value->value)) x = *d;
      if (const auto* i = std::get_if<int64_t>(&value->value)) x = double(*i);
      numbers.push_back(x);
      distinct.insert(fmt::format("{}", x));
    }
    double sum = 0;
    for (double x : numbers) sum += x;
    switch (subject.kind) {
      case SubjectKind::kCount:
        return double(events.size());
      case SubjectKind::kSum:
        return sum;
      case SubjectKind::kAvg:
        return numbers.empty() ? std::nullopt : std::optional<double>(sum / double(numbers.size()));
      case SubjectKind::kMin:
        return numbers.empty()
                   ? std::nullopt
                   : std::optional<double>(*std::min_element(numbers.begin(), numbers.end()));
      case SubjectKind::kMax:
        return numbers.empty()
                   ? std::nullopt
                   : std::optional<double>(*std::max_element(numbers.begin(), numbers.end()));
      case SubjectKind::kDistinct:
        return double(distinct.size());
      case SubjectKind::kFirst:
        return events.empty() ? std::nullopt : std::optional<double>(double(events.front()->time));
      case SubjectKind::kLast:
        return events.empty() ? std::nullopt : std::optional<double>(double(events.back()->time));
      default:
        return std::nullopt;
    }
  }

  const ProfileRow& row_;
  bool explain_;
  std::optional<signals::SignalValues> signals_;
};

void AppendText(const Explanation& node, int depth, std::string& out) {
  out += fmt::format("{:{}}{} {}", "", depth * 2, node.matched ? "yes" : "no ", node.condition);
  if (!node.seen.empty()) out += fmt::format("    [{}]", node.seen);
  out += "\n";
  for (const Explanation& child : node.children) AppendText(child, depth + 1, out);
}

}  // namespace

Explanation Explain(const Rule& rule, const ProfileRow& row) {
  return RowEvaluator(row, /*explain=*/true).Eval(rule.root);
}

bool Matches(const Rule& rule, const ProfileRow& row) {
  return RowEvaluator(row, /*explain=*/false).Eval(rule.root).matched;
}

std::string ExplanationText(const Explanation& explanation) {
  std::string out;
  AppendText(explanation, 0, out);
  return out;
}

}  // namespace tailor::segments

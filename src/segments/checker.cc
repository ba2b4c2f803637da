// Names and types: everything about a rule that the schema and the other segments decide, so
// that a bad rule fails when it is created, never while it is evaluated.

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <set>
#include <string>
#include <unordered_set>
#include <variant>

#include "common/time.h"
#include "segments/lexer.h"
#include "segments/parser.h"
#include "tailor/rule.h"
#include "tailor/signal_values.h"

namespace tailor::segments {
namespace {

// Bigger windows than this (in any unit) are surely mistakes; bounding them also keeps
// now - amount * unit far from int64 overflow.
constexpr int64_t kMaxTimeAmount = 1'000'000;
constexpr double kMaxLatitude = 90;
constexpr double kMaxLongitude = 180;

// What kind of value a subject has, for deciding which operators and literals fit.
enum class Kind { kString, kNumber, kBool, kTimestamp, kList, kAny };

std::string_view KindName(Kind kind) {
  switch (kind) {
    case Kind::kString:
      return "string";
    case Kind::kNumber:
      return "number";
    case Kind::kBool:
      return "bool";
    case Kind::kTimestamp:
      return "timestamp";
    case Kind::kList:
      return "list";
    case Kind::kAny:
      return "value";
  }
  return "value";
}

Kind KindOfTrait(TraitType type) {
  switch (type) {
    case TraitType::kString:
      return Kind::kString;
    case TraitType::kInt:
    case TraitType::kDouble:
      return Kind::kNumber;
    case TraitType::kBool:
      return Kind::kBool;
    case TraitType::kTimestamp:
      return Kind::kTimestamp;
    case TraitType::kStringList:
      return Kind::kList;
  }
  return Kind::kAny;
}

struct EventField {
  std::string_view name;
  Kind kind;
};
constexpr std::array<EventField, 15> kEventFields = {{
    {"item_id", Kind::kString},
    {"category", Kind::kString},
    {"order_id", Kind::kString},
    {"channel", Kind::kString},
    {"page_url", Kind::kString},
    {"referrer", Kind::kString},
    {"utm_source", Kind::kString},
    {"utm_medium", Kind::kString},
    {"utm_campaign", Kind::kString},
    {"country", Kind::kString},
    {"city", Kind::kString},
    {"price", Kind::kNumber},
    {"quantity", Kind::kNumber},
    {"value", Kind::kNumber},
    {"spend", Kind::kNumber},
}};
constexpr std::string_view kItemPrefix = "item.";
constexpr std::string_view kPropertiesPrefix = "properties.";
// Catalogue columns every item has; other item attributes have no declared type (there is no
// item schema yet), so any operator and literal is accepted for them.
constexpr std::array<EventField, 3> kItemFields = {{{"item.name", Kind::kString},
                                                    {"item.category", Kind::kString},
                                                    {"item.price", Kind::kNumber}}};

// Which operators apply to a kind, in the order messages list them.
constexpr std::array<CompareOp, 13> kAllOps = {
    CompareOp::kEq,     CompareOp::kNe,       CompareOp::kLt,         CompareOp::kLe,
    CompareOp::kGt,     CompareOp::kGe,       CompareOp::kBetween,    CompareOp::kIn,
    CompareOp::kNotIn,  CompareOp::kContains, CompareOp::kStartsWith, CompareOp::kExists,
    CompareOp::kMissing};

bool OpApplies(CompareOp op, Kind kind) {
  if (kind == Kind::kAny) return true;
  switch (op) {
    case CompareOp::kEq:
    case CompareOp::kNe:
    case CompareOp::kIn:
    case CompareOp::kNotIn:
      return kind != Kind::kList;
    case CompareOp::kLt:
    case CompareOp::kLe:
    case CompareOp::kGt:
    case CompareOp::kGe:
    case CompareOp::kBetween:
      return kind == Kind::kNumber || kind == Kind::kTimestamp;
    case CompareOp::kContains:
      return kind == Kind::kString || kind == Kind::kList;
    case CompareOp::kStartsWith:
      return kind == Kind::kString;
    case CompareOp::kExists:
    case CompareOp::kMissing:
      return true;
  }
  return false;
}

size_t ExpectedValueCount(CompareOp op) {
  switch (op) {
    case CompareOp::kExists:
    case CompareOp::kMissing:
      return 0;
    case CompareOp::kBetween:
      return 2;
    default:
      return 1;
  }
}

bool TakesField(SubjectKind kind) {
  return kind == SubjectKind::kSum || kind == SubjectKind::kAvg || kind == SubjectKind::kMin ||
         kind == SubjectKind::kMax || kind == SubjectKind::kDistinct;
}

// Aggregates that have a value even over no events (count 0, sum 0, distinct 0).
bool NeverMissing(SubjectKind kind) {
  return kind == SubjectKind::kCount || kind == SubjectKind::kSum || kind == SubjectKind::kDistinct;
}

std::string At(const SourcePos& pos) {
  return pos.known() ? fmt::format("{}:{}: ", pos.line, pos.column) : std::string();
}

std::string DescribeLiteral(const Literal& literal) {
  return std::visit(
      [](const auto& value) -> std::string {
        using T = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return "string " + SpellString(value);
        } else if constexpr (std::is_same_v<T, int64_t>) {
          return fmt::format("number {}", value);
        } else if constexpr (std::is_same_v<T, double>) {
          return "number " + SpellDecimal(value, false);
        } else {
          return value ? "true" : "false";
        }
      },
      literal.value);
}

// Trees from the parser and from JSON hold only UTF-8; trees built in code are checked, so that
// everything CheckRule accepts can be printed and parsed back.
Status RequireUtf8(std::string_view text, const SourcePos& pos) {
  if (IsValidUtf8(text)) return Status::Ok();
  return InvalidArgument("{}expected UTF-8 text in names and strings", At(pos));
}

class Checker {
 public:
  Checker(const Schema& schema, const SegmentResolver& segments)
      : schema_(schema), segments_(segments) {}

  Status Check(const Expr& expr, bool in_filter) {
    return std::visit([&](const auto& node) { return Node(node, in_filter); }, expr.node);
  }

 private:
  Status Node(const And& node, bool in_filter) { return Operands(node.operands, "and", in_filter); }
  Status Node(const Or& node, bool in_filter) { return Operands(node.operands, "or", in_filter); }
  Status Operands(const std::vector<Expr>& operands, std::string_view word, bool in_filter) {
    if (operands.size() < 2) {
      return InvalidArgument("'{}' needs at least two operands, found {}", word, operands.size());
    }
    for (const Expr& operand : operands) {
      TAILOR_RETURN_IF_ERROR(Check(operand, in_filter));
    }
    return Status::Ok();
  }
  Status Node(const Not& node, bool in_filter) { return Check(*node.operand, in_filter); }

  Status Node(const SegmentRef& node, bool in_filter) {
    if (in_filter) return OnlyFieldsInFilter(node.pos);
    TAILOR_RETURN_IF_ERROR(RequireUtf8(node.segment, node.pos));
    if (!segments_.Exists(node.segment)) {
      return InvalidArgument("{}unknown segment {}", At(node.pos), SpellString(node.segment));
    }
    return Status::Ok();
  }

  Status Node(const GeoCondition& node, bool in_filter) {
    if (in_filter) return OnlyFieldsInFilter(node.pos);
    for (const std::string* name : {&node.lat_trait, &node.lon_trait}) {
      TAILOR_ASSIGN_OR_RETURN(const TraitDef* trait, FindTrait(*name, node.pos));
      if (KindOfTrait(trait->type) != Kind::kNumber) {
        return InvalidArgument("{}expected a number trait for a coordinate, found {} trait '{}'",
                               At(node.pos), TraitTypeName(trait->type), *name);
      }
    }
    if (!std::isfinite(node.radius_km) || node.radius_km < 0) {
      return InvalidArgument("{}expected a distance of 0 km or more, found {}", At(node.pos),
                             node.radius_km);
    }
    if (!(std::fabs(node.center_lat) <= kMaxLatitude)) {
      return InvalidArgument("{}expected a latitude from -90 to 90, found {}", At(node.pos),
                             node.center_lat);
    }
    if (!(std::fabs(node.center_lon) <= kMaxLongitude)) {
      return InvalidArgument("{}expected a longitude from -180 to 180, found {}", At(node.pos),
                             node.center_lon);
    }
    return Status::Ok();
  }

  Status Node(const Occurrence& node, bool in_filter) {
    if (in_filter) return OnlyFieldsInFilter(node.pos);
    return Events(node.events, /*window_allowed=*/true);
  }

  Status Node(const Sequence& node, bool in_filter) {
    if (in_filter) return OnlyFieldsInFilter(node.pos);
    if (node.anchor.kind != SubjectKind::kFirst && node.anchor.kind != SubjectKind::kLast) {
      return InvalidArgument("{}expected first(...) or last(...) before 'followed by'",
                             At(node.anchor.pos));
    }
    TAILOR_RETURN_IF_ERROR(SubjectValueKind(node.anchor).status());
    return Events(node.next, /*window_allowed=*/false);
  }

  Status Node(const TimeCondition& node, bool in_filter) {
    if (in_filter) return OnlyFieldsInFilter(node.subject.pos);
    TAILOR_ASSIGN_OR_RETURN(const Kind kind, SubjectValueKind(node.subject));
    if (kind != Kind::kTimestamp) {
      return InvalidArgument(
          "{}cannot use a time range on {}; expected a timestamp trait, first(...) or last(...)",
          At(node.range.pos), Describe(node.subject, kind));
    }
    return Range(node.range);
  }

  Status Node(const Comparison& node, bool in_filter) {
    const Subject& subject = node.subject;
    if (in_filter != (subject.kind == SubjectKind::kField)) {
      if (in_filter) return OnlyFieldsInFilter(subject.pos);
      return InvalidArgument("{}event field '{}' can only be tested inside 'where'",
                             At(subject.pos), subject.name);
    }
    TAILOR_ASSIGN_OR_RETURN(const Kind kind, SubjectValueKind(subject));
    const std::string what = Describe(subject, kind);
    const bool presence = node.op == CompareOp::kExists || node.op == CompareOp::kMissing;
    if (!OpApplies(node.op, kind) || (presence && NeverMissing(subject.kind))) {
      std::string allowed;
      for (const CompareOp op : kAllOps) {
        if (!OpApplies(op, kind)) continue;
        const bool op_presence = op == CompareOp::kExists || op == CompareOp::kMissing;
        if (op_presence && NeverMissing(subject.kind)) continue;
        if (!allowed.empty()) allowed += ", ";
        allowed += CompareOpText(op);
      }
      return InvalidArgument("{}cannot use '{}' on {}; expected one of {}", At(node.op_pos),
                             CompareOpText(node.op), what, allowed);
    }
    const size_t want = ExpectedValueCount(node.op);
    const bool list = node.op == CompareOp::kIn || node.op == CompareOp::kNotIn;
    if (list ? node.values.empty() : node.values.size() != want) {
      return InvalidArgument("{}'{}' takes {} value(s), found {}", At(node.op_pos),
                             CompareOpText(node.op), list ? "1 or more" : std::to_string(want),
                             node.values.size());
    }
    for (const Literal& literal : node.values) {
      TAILOR_RETURN_IF_ERROR(CheckLiteral(literal, kind, what));
    }
    if (node.op == CompareOp::kBetween) return BetweenOrder(node, kind);
    return Status::Ok();
  }

  Status CheckLiteral(const Literal& literal, Kind kind, const std::string& what) {
    if (const std::string* text = std::get_if<std::string>(&literal.value)) {
      TAILOR_RETURN_IF_ERROR(RequireUtf8(*text, literal.pos));
    }
    if (const double* decimal = std::get_if<double>(&literal.value)) {
      if (!std::isfinite(*decimal)) {
        return InvalidArgument("{}expected a finite number", At(literal.pos));
      }
    }
    const bool is_string = std::holds_alternative<std::string>(literal.value);
    const bool is_number = std::holds_alternative<int64_t>(literal.value) ||
                           std::holds_alternative<double>(literal.value);
    const bool is_bool = std::holds_alternative<bool>(literal.value);
    std::string_view wanted;
    switch (kind) {
      case Kind::kAny:
        return Status::Ok();
      case Kind::kString:
      case Kind::kList:
        if (is_string) return Status::Ok();
        wanted = "a string";
        break;
      case Kind::kNumber:
        if (is_number) return Status::Ok();
        wanted = "a number";
        break;
      case Kind::kBool:
        if (is_bool) return Status::Ok();
        wanted = "true or false";
        break;
      case Kind::kTimestamp:
        if (is_string && ParseIsoTimestamp(std::get<std::string>(literal.value))) {
          return Status::Ok();
        }
        wanted = "a date-time string such as \"2026-01-31\" or \"2026-01-31T09:30:00Z\"";
        break;
    }
    return InvalidArgument("{}expected {} to compare with {}, found {}", At(literal.pos), wanted,
                           what, DescribeLiteral(literal));
  }

  // Whether `low` is above `high`; both are numbers, or both ISO strings for a timestamp.
  static bool Above(const Literal& low, const Literal& high, Kind kind) {
    if (kind == Kind::kTimestamp) {
      return *ParseIsoTimestamp(std::get<std::string>(low.value)) >
             *ParseIsoTimestamp(std::get<std::string>(high.value));
    }
    const int64_t* low_integer = std::get_if<int64_t>(&low.value);
    const int64_t* high_integer = std::get_if<int64_t>(&high.value);
    // Two integers compare exactly; past 2^53 a double would round them together.
    if (low_integer != nullptr && high_integer != nullptr) return *low_integer > *high_integer;
    const auto as_double = [](const Literal& literal) {
      const int64_t* integer = std::get_if<int64_t>(&literal.value);
      return integer != nullptr ? static_cast<double>(*integer) : std::get<double>(literal.value);
    };
    return as_double(low) > as_double(high);
  }

  Status BetweenOrder(const Comparison& node, Kind kind) {
    if (kind != Kind::kNumber && kind != Kind::kTimestamp) return Status::Ok();
    if (Above(node.values[0], node.values[1], kind)) {
      return InvalidArgument("{}expected the lower bound first, found {} above {}",
                             At(node.values[0].pos), DescribeLiteral(node.values[0]),
                             DescribeLiteral(node.values[1]));
    }
    return Status::Ok();
  }

  // The subject's value kind, after checking what it names.
  Result<Kind> SubjectValueKind(const Subject& subject) {
    switch (subject.kind) {
      case SubjectKind::kTrait: {
        if (!subject.events.event_type.empty() || subject.events.filter || subject.events.window) {
          return InvalidArgument("{}a trait has no events", At(subject.pos));
        }
        TAILOR_ASSIGN_OR_RETURN(const TraitDef* trait, FindTrait(subject.name, subject.pos));
        return KindOfTrait(trait->type);
      }
      case SubjectKind::kField:
        if (!subject.events.event_type.empty() || subject.events.filter || subject.events.window) {
          return InvalidArgument("{}an event field has no events of its own", At(subject.pos));
        }
        return FieldKind(subject.name, subject.pos);
      case SubjectKind::kSignal:
        return SignalKind(subject);
      default:
        break;
    }
    TAILOR_RETURN_IF_ERROR(Events(subject.events, /*window_allowed=*/true));
    if (!TakesField(subject.kind)) {
      if (!subject.name.empty()) {
        return InvalidArgument("{}{}(...) takes no event field", At(subject.pos),
                               SubjectFunctionText(subject.kind));
      }
      return subject.kind == SubjectKind::kCount ? Kind::kNumber : Kind::kTimestamp;
    }
    TAILOR_ASSIGN_OR_RETURN(const Kind field, FieldKind(subject.name, subject.pos));
    if (subject.kind == SubjectKind::kDistinct) return Kind::kNumber;
    if (field != Kind::kNumber && field != Kind::kAny) {
      return InvalidArgument("{}expected a number field for {}(...), found {} field '{}'",
                             At(subject.pos), SubjectFunctionText(subject.kind), KindName(field),
                             subject.name);
    }
    return Kind::kNumber;
  }

  static Result<Kind> SignalKind(const Subject& subject) {
    if (!subject.events.event_type.empty() || subject.events.filter || subject.events.window) {
      return InvalidArgument("{}a signal has no events of its own", At(subject.pos));
    }
    const signals::SignalDef* signal = signals::FindSignal(subject.name);
    if (signal == nullptr) {
      return InvalidArgument(
          "{}unknown signal '{}'; expected affinity, open_rate, click_rate, session.<feature> "
          "(events, minutes, page_views, product_views, ..., referrer_class), "
          "first_touch.<part> or last_touch.<part> (source, medium, campaign, referrer_class), "
          "place.<part> (distance_home_km, distance_store_km, nearest_store, accuracy_km)",
          At(subject.pos), subject.name);
    }
    if (subject.arguments.size() != signal->arguments) {
      return InvalidArgument("{}{} takes {} argument(s), found {}", At(subject.pos), subject.name,
                             signal->arguments, subject.arguments.size());
    }
    for (const std::string& argument : subject.arguments) {
      TAILOR_RETURN_IF_ERROR(RequireUtf8(argument, subject.pos));
    }
    if (subject.name == "affinity" && !signals::IsAffinityDimension(subject.arguments[0])) {
      return InvalidArgument(
          "{}unknown affinity dimension '{}'; expected category, brand, price_band, item or page",
          At(subject.pos), subject.arguments[0]);
    }
    return KindOfTrait(signal->type);
  }

  Status Events(const EventSet& events, bool window_allowed) {
    TAILOR_RETURN_IF_ERROR(RequireUtf8(events.event_type, SourcePos{}));
    if (events.window) {
      if (!window_allowed) {
        return InvalidArgument("{}the events after 'followed by' take no time window",
                               At(events.window->pos));
      }
      TAILOR_RETURN_IF_ERROR(Range(*events.window));
    }
    if (events.filter) TAILOR_RETURN_IF_ERROR(Check(**events.filter, /*in_filter=*/true));
    return Status::Ok();
  }

  Status Range(const TimeRange& range) {
    const int64_t least = range.kind == RangeKind::kLast ? 1 : 0;
    if (range.amount < least || range.amount > kMaxTimeAmount) {
      return InvalidArgument("{}expected a time amount from {} to {}, found {}", At(range.pos),
                             least, kMaxTimeAmount, range.amount);
    }
    if (range.kind != RangeKind::kBetween) {
      if (range.far_amount != 0) {
        return InvalidArgument("{}only 'between' takes a second time amount", At(range.pos));
      }
      return Status::Ok();
    }
    if (range.far_amount <= range.amount || range.far_amount > kMaxTimeAmount) {
      return InvalidArgument("{}expected a time amount from {} to {} after 'and', found {}",
                             At(range.pos), range.amount + 1, kMaxTimeAmount, range.far_amount);
    }
    return Status::Ok();
  }

  Result<const TraitDef*> FindTrait(const std::string& name, const SourcePos& pos) {
    TAILOR_RETURN_IF_ERROR(RequireUtf8(name, pos));
    const TraitDef* trait = schema_.Find(name);
    if (trait == nullptr) return InvalidArgument("{}unknown trait '{}'", At(pos), name);
    return trait;
  }

  static Result<Kind> FieldKind(std::string_view name, const SourcePos& pos) {
    TAILOR_RETURN_IF_ERROR(RequireUtf8(name, pos));
    for (const EventField& field : kEventFields) {
      if (field.name == name) return field.kind;
    }
    for (const EventField& field : kItemFields) {
      if (field.name == name) return field.kind;
    }
    // Any item attribute, as long as the name can be written: no empty part between dots.
    auto writable = [](std::string_view part) {
      return !part.empty() && part.front() != '.' && part.back() != '.' &&
             part.find("..") == std::string_view::npos;
    };
    if (name.starts_with(kItemPrefix) && writable(name.substr(kItemPrefix.size()))) {
      return Kind::kAny;
    }
    // Any event property (an order line's brand, variant, coupon, position ...), as text.
    if (name.starts_with(kPropertiesPrefix) && writable(name.substr(kPropertiesPrefix.size()))) {
      return Kind::kString;
    }
    std::string known;
    for (const EventField& field : kEventFields) known += std::string(field.name) + ", ";
    return InvalidArgument(
        "{}unknown event field '{}'; expected one of {}item.<attribute> or properties.<name>",
        At(pos), name, known);
  }

  // "string trait 'country'", "number event field 'price'", "count(purchase)".
  std::string Describe(const Subject& subject, Kind kind) const {
    if (subject.kind == SubjectKind::kTrait) {
      const TraitDef* trait = schema_.Find(subject.name);
      return fmt::format("{} trait '{}'",
                         trait != nullptr ? TraitTypeName(trait->type) : KindName(kind),
                         subject.name);
    }
    if (subject.kind == SubjectKind::kField) {
      return fmt::format("{} event field '{}'", KindName(kind), subject.name);
    }
    if (subject.kind == SubjectKind::kSignal) {
      return fmt::format("{} signal '{}'", KindName(kind), subject.name);
    }
    std::string text =
        fmt::format("{}({}", SubjectFunctionText(subject.kind),
                    subject.events.event_type.empty() ? std::string("any")
                                                      : SpellName(subject.events.event_type));
    if (TakesField(subject.kind)) text += "." + SpellFieldPath(subject.name);
    return text + ")";
  }

  static Status OnlyFieldsInFilter(const SourcePos& pos) {
    return InvalidArgument("{}expected a condition on an event field inside 'where'", At(pos));
  }

  const Schema& schema_;
  const SegmentResolver& segments_;
};

void CollectReferences(const Expr& expr, std::vector<const SegmentRef*>& out) {
  std::visit(
      [&](const auto& node) {
        using T = std::decay_t<decltype(node)>;
        if constexpr (std::is_same_v<T, SegmentRef>) {
          out.push_back(&node);
        } else if constexpr (std::is_same_v<T, And> || std::is_same_v<T, Or>) {
          for (const Expr& operand : node.operands) CollectReferences(operand, out);
        } else if constexpr (std::is_same_v<T, Not>) {
          CollectReferences(*node.operand, out);
        }
        // Other nodes hold no segment references: filters test event fields only.
      },
      expr.node);
}

}  // namespace

Status CheckRule(const Rule& rule, const Schema& schema, const SegmentResolver& segments) {
  // Same limit as the parser's, so every rule that passes prints to text that parses.
  const int depth = NestingDepth(rule.root);
  if (depth > kMaxRuleDepth) {
    return InvalidArgument("rule nested too deeply: expected at most {} levels, found {}",
                           kMaxRuleDepth, depth);
  }
  return Checker(schema, segments).Check(rule.root, /*in_filter=*/false);
}

std::vector<std::string> SegmentReferences(const Rule& rule) {
  std::vector<const SegmentRef*> references;
  CollectReferences(rule.root, references);
  std::vector<std::string> names;
  std::unordered_set<std::string> seen;
  for (const SegmentRef* reference : references) {
    if (seen.insert(reference->segment).second) names.push_back(reference->segment);
  }
  return names;
}

Status CheckNoCycles(std::string_view name, const Rule& rule, const SegmentResolver& segments) {
  // Depth-first search of the reference graph, starting at `name` with its new rule's
  // references. Reaching a segment on the current chain closes a cycle. `name` sits at the
  // bottom of the chain from the start, so its stored (old) references are never followed: the
  // new rule replaces them. Each segment is expanded at most once, so the cost is linear in the
  // graph, and the search keeps its own stack rather than recursing through long chains.
  struct Frame {
    std::string segment;
    std::vector<std::string> references;
    size_t next = 0;
  };
  std::set<std::string, std::less<>> on_chain = {std::string(name)};
  std::set<std::string, std::less<>> done;
  std::vector<const SegmentRef*> starts;
  CollectReferences(rule.root, starts);
  for (const SegmentRef* start : starts) {
    std::vector<Frame> chain;
    chain.push_back(Frame{std::string(name), {start->segment}, 0});
    while (!chain.empty()) {
      Frame& top = chain.back();
      if (top.next == top.references.size()) {
        if (chain.size() > 1) {
          on_chain.erase(top.segment);
          done.insert(top.segment);
        }
        chain.pop_back();
        continue;
      }
      const std::string next = top.references[top.next++];
      if (on_chain.count(next) > 0) {
        std::string path;
        bool in_cycle = false;
        for (const Frame& frame : chain) {
          in_cycle = in_cycle || frame.segment == next;
          if (in_cycle) path += frame.segment + " -> ";
        }
        path += next;
        if (next == name) {
          return InvalidArgument("{}segment '{}' would depend on itself: {}", At(start->pos), name,
                                 path);
        }
        return InvalidArgument("{}segment references form a cycle: {}", At(start->pos), path);
      }
      if (done.count(next) > 0) continue;
      on_chain.insert(next);
      chain.push_back(Frame{next, segments.References(next), 0});
    }
  }
  return Status::Ok();
}

}  // namespace tailor::segments

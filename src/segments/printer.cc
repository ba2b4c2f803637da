// Canonical rule text. Every choice here is mirrored by the parser: PrintRule's output parses
// back to an equal tree (tests/rule_test.cc checks this on thousands of random trees).

#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <type_traits>
#include <variant>

#include "segments/lexer.h"
#include "segments/parser.h"
#include "tailor/rule.h"

namespace tailor::segments {
namespace {

class Printer {
 public:
  std::string Print(const Expr& expr) {
    Expression(expr);
    return std::move(out_);
  }

 private:
  void Expression(const Expr& expr) {
    std::visit([this](const auto& node) { Node(node); }, expr.node);
  }

  // Operands of and/or keep their grouping: an `or` under an `and` needs parentheses for
  // precedence, and an `and` under an `and` (or `or` under `or`) needs them to stay a separate
  // node, or it would parse back flattened into its parent.
  void Operands(const std::vector<Expr>& operands, std::string_view separator) {
    for (size_t i = 0; i < operands.size(); ++i) {
      if (i > 0) out_ += separator;
      const Expr& operand = operands[i];
      const bool group =
          std::holds_alternative<And>(operand.node) || std::holds_alternative<Or>(operand.node);
      Grouped(operand, group);
    }
  }

  void Grouped(const Expr& expr, bool parentheses) {
    if (parentheses) out_ += '(';
    Expression(expr);
    if (parentheses) out_ += ')';
  }

  void Node(const And& node) { Operands(node.operands, " and "); }
  void Node(const Or& node) {
    for (size_t i = 0; i < node.operands.size(); ++i) {
      if (i > 0) out_ += " or ";
      // `and` binds tighter than `or`, so only a nested `or` needs parentheses.
      Grouped(node.operands[i], std::holds_alternative<Or>(node.operands[i].node));
    }
  }
  void Node(const Not& node) {
    out_ += "not ";
    const bool group = std::holds_alternative<And>(node.operand->node) ||
                       std::holds_alternative<Or>(node.operand->node);
    Grouped(*node.operand, group);
  }

  void Node(const Comparison& node) {
    SubjectText(node.subject);
    out_ += ' ';
    out_ += CompareOpText(node.op);
    switch (node.op) {
      case CompareOp::kExists:
      case CompareOp::kMissing:
        break;
      case CompareOp::kBetween:
        out_ += ' ';
        if (!node.values.empty()) LiteralText(node.values[0]);
        out_ += " and ";
        if (node.values.size() > 1) LiteralText(node.values[1]);
        break;
      case CompareOp::kIn:
      case CompareOp::kNotIn:
        out_ += " [";
        for (size_t i = 0; i < node.values.size(); ++i) {
          if (i > 0) out_ += ", ";
          LiteralText(node.values[i]);
        }
        out_ += ']';
        break;
      default:
        out_ += ' ';
        if (!node.values.empty()) LiteralText(node.values[0]);
    }
  }

  void Node(const TimeCondition& node) {
    SubjectText(node.subject);
    out_ += ' ';
    RangeText(node.range, /*in_condition=*/true);
  }

  void Node(const GeoCondition& node) {
    out_ += "location";
    // `location` alone means the traits lat and lon: print the short form whenever it applies.
    if (node.lat_trait != "lat" || node.lon_trait != "lon") {
      out_ += fmt::format("({}, {})", SpellName(node.lat_trait), SpellName(node.lon_trait));
    }
    // Coordinates are decimals wherever they are written, so no ".0" is needed to keep them so.
    out_ += fmt::format(" within {} km of ({}, {})", SpellDecimal(node.radius_km, false),
                        SpellDecimal(node.center_lat, false), SpellDecimal(node.center_lon, false));
  }

  void Node(const Occurrence& node) {
    out_ += node.ever ? "ever(" : "never(";
    EventSetText(node.events, nullptr);
    out_ += ')';
  }

  void Node(const Sequence& node) {
    SubjectText(node.anchor);
    out_ += node.negated ? " not followed by " : " followed by ";
    if (node.next.filter || node.next.window) {
      out_ += '(';
      EventSetText(node.next, nullptr);
      out_ += ')';
    } else {
      out_ += node.next.event_type.empty() ? "any" : SpellName(node.next.event_type);
    }
  }

  void Node(const SegmentRef& node) { out_ += "in segment " + SpellString(node.segment); }

  void SubjectText(const Subject& subject) {
    switch (subject.kind) {
      case SubjectKind::kTrait:
        out_ += SpellName(subject.name);
        return;
      case SubjectKind::kField:
        out_ += SpellFieldPath(subject.name);
        return;
      case SubjectKind::kSignal:
        // `session.events` as is; `affinity(category, "golf")`, `open_rate("email")`.
        out_ += subject.name;
        if (subject.name.find('.') == std::string::npos) {
          out_ += '(';
          for (size_t i = 0; i < subject.arguments.size(); ++i) {
            if (i > 0) out_ += ", ";
            const bool dimension = subject.name == "affinity" && i == 0;
            out_ += dimension ? SpellName(subject.arguments[i]) : SpellString(subject.arguments[i]);
          }
          out_ += ')';
        }
        return;
      default:
        break;
    }
    out_ += SubjectFunctionText(subject.kind);
    out_ += '(';
    const bool with_field = subject.kind != SubjectKind::kCount &&
                            subject.kind != SubjectKind::kFirst &&
                            subject.kind != SubjectKind::kLast;
    EventSetText(subject.events, with_field ? &subject.name : nullptr);
    out_ += ')';
  }

  void EventSetText(const EventSet& events, const std::string* field) {
    out_ += events.event_type.empty() ? "any" : SpellName(events.event_type);
    if (field != nullptr) out_ += '.' + SpellFieldPath(*field);
    if (events.filter) {
      out_ += " where ";
      Expression(**events.filter);
    }
    if (events.window) {
      out_ += ", ";
      RangeText(*events.window, /*in_condition=*/false);
    }
  }

  // "within last 7 days" after a subject, "last 7 days" as a window.
  void RangeText(const TimeRange& range, bool in_condition) {
    switch (range.kind) {
      case RangeKind::kLast:
        out_ += fmt::format("{}last {} {}", in_condition ? "within " : "", range.amount,
                            TimeUnitWord(range.unit, range.amount));
        return;
      case RangeKind::kBefore:
      case RangeKind::kAfter:
        out_ += fmt::format("{} {} {} ago", range.kind == RangeKind::kBefore ? "before" : "after",
                            range.amount, TimeUnitWord(range.unit, range.amount));
        return;
      case RangeKind::kBetween:
        out_ += fmt::format("between {} and {} {} ago", range.amount, range.far_amount,
                            TimeUnitWord(range.unit, range.far_amount));
        return;
    }
  }

  void LiteralText(const Literal& literal) {
    std::visit(
        [this](const auto& value) {
          using T = std::decay_t<decltype(value)>;
          if constexpr (std::is_same_v<T, std::string>) {
            out_ += SpellString(value);
          } else if constexpr (std::is_same_v<T, int64_t>) {
            out_ += std::to_string(value);
          } else if constexpr (std::is_same_v<T, double>) {
            out_ += SpellDecimal(value, /*mark_decimal=*/true);
          } else {
            out_ += value ? "true" : "false";
          }
        },
        literal.value);
  }

  std::string out_;
};

bool IsGroup(const Expr& expr) {
  return std::holds_alternative<And>(expr.node) || std::holds_alternative<Or>(expr.node);
}

int EventSetDepth(const EventSet& events);

// Levels below the one `expr` is printed at, following Printer's parenthesization exactly.
int InnerDepth(const Expr& expr) {
  return std::visit(
      [](const auto& node) -> int {
        using T = std::decay_t<decltype(node)>;
        int depth = 0;
        if constexpr (std::is_same_v<T, And> || std::is_same_v<T, Or>) {
          for (const Expr& operand : node.operands) {
            const bool grouped = std::is_same_v<T, And> ? IsGroup(operand)
                                                        : std::holds_alternative<Or>(operand.node);
            depth = std::max(depth, (grouped ? 1 : 0) + InnerDepth(operand));
          }
        } else if constexpr (std::is_same_v<T, Not>) {
          depth = 1 + (IsGroup(*node.operand) ? 1 : 0) + InnerDepth(*node.operand);
        } else if constexpr (std::is_same_v<T, Comparison> || std::is_same_v<T, TimeCondition>) {
          depth = EventSetDepth(node.subject.events);
        } else if constexpr (std::is_same_v<T, Occurrence>) {
          depth = EventSetDepth(node.events);
        } else if constexpr (std::is_same_v<T, Sequence>) {
          depth = std::max(EventSetDepth(node.anchor.events), EventSetDepth(node.next));
        }
        return depth;
      },
      expr.node);
}

int EventSetDepth(const EventSet& events) {
  return events.filter ? 1 + InnerDepth(**events.filter) : 0;
}

}  // namespace

std::string_view SubjectFunctionText(SubjectKind kind) {
  switch (kind) {
    case SubjectKind::kCount:
      return "count";
    case SubjectKind::kSum:
      return "sum";
    case SubjectKind::kAvg:
      return "avg";
    case SubjectKind::kMin:
      return "min";
    case SubjectKind::kMax:
      return "max";
    case SubjectKind::kDistinct:
      return "distinct";
    case SubjectKind::kFirst:
      return "first";
    case SubjectKind::kLast:
      return "last";
    case SubjectKind::kTrait:
    case SubjectKind::kField:
    case SubjectKind::kSignal:
      break;
  }
  return "";
}

int NestingDepth(const Expr& root) { return 1 + InnerDepth(root); }

std::string PrintRule(const Rule& rule) { return Printer().Print(rule.root); }

std::string_view CompareOpText(CompareOp op) {
  switch (op) {
    case CompareOp::kEq:
      return "=";
    case CompareOp::kNe:
      return "!=";
    case CompareOp::kLt:
      return "<";
    case CompareOp::kLe:
      return "<=";
    case CompareOp::kGt:
      return ">";
    case CompareOp::kGe:
      return ">=";
    case CompareOp::kBetween:
      return "between";
    case CompareOp::kIn:
      return "in";
    case CompareOp::kNotIn:
      return "not in";
    case CompareOp::kContains:
      return "contains";
    case CompareOp::kStartsWith:
      return "starts_with";
    case CompareOp::kExists:
      return "exists";
    case CompareOp::kMissing:
      return "missing";
  }
  return "?";
}

}  // namespace tailor::segments

// The JSON form of rules (docs/rule_language.md#json): written by hand, read with simdjson.
// Reading is as strict as the text parser: every object has exactly one shape, unknown and
// repeated keys are errors, and the tree has the same nesting limit.

#include <fmt/format.h>
#include <simdjson.h>

#include <array>
#include <initializer_list>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "segments/lexer.h"
#include "segments/parser.h"
#include "tailor/json_writer.h"
#include "tailor/rule.h"

namespace tailor::segments {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

constexpr std::array<std::pair<SubjectKind, std::string_view>, 8> kAggregateNames = {{
    {SubjectKind::kCount, "count"},
    {SubjectKind::kSum, "sum"},
    {SubjectKind::kAvg, "avg"},
    {SubjectKind::kMin, "min"},
    {SubjectKind::kMax, "max"},
    {SubjectKind::kDistinct, "distinct"},
    {SubjectKind::kFirst, "first"},
    {SubjectKind::kLast, "last"},
}};

constexpr std::array<std::pair<CompareOp, std::string_view>, 13> kOpNames = {{
    {CompareOp::kEq, "="},
    {CompareOp::kNe, "!="},
    {CompareOp::kLt, "<"},
    {CompareOp::kLe, "<="},
    {CompareOp::kGt, ">"},
    {CompareOp::kGe, ">="},
    {CompareOp::kBetween, "between"},
    {CompareOp::kIn, "in"},
    {CompareOp::kNotIn, "not_in"},
    {CompareOp::kContains, "contains"},
    {CompareOp::kStartsWith, "starts_with"},
    {CompareOp::kExists, "exists"},
    {CompareOp::kMissing, "missing"},
}};

constexpr std::array<std::pair<TimeUnit, std::string_view>, 4> kUnitNames = {{
    {TimeUnit::kMinute, "minutes"},
    {TimeUnit::kHour, "hours"},
    {TimeUnit::kDay, "days"},
    {TimeUnit::kWeek, "weeks"},
}};

template <typename Enum, size_t N>
std::string_view NameOf(const std::array<std::pair<Enum, std::string_view>, N>& names, Enum value) {
  for (const auto& [candidate, name] : names) {
    if (candidate == value) return name;
  }
  return "";
}

template <typename Enum, size_t N>
bool ValueOf(const std::array<std::pair<Enum, std::string_view>, N>& names, std::string_view name,
             Enum* value) {
  for (const auto& [candidate, candidate_name] : names) {
    if (candidate_name == name) {
      *value = candidate;
      return true;
    }
  }
  return false;
}

// ---- writing ----

std::string JsonString(std::string_view text) {
  std::string out;
  AppendJsonString(out, text);
  return out;
}

class JsonWriter {
 public:
  std::string Write(const Expr& expr) {
    Expression(expr);
    return std::move(out_);
  }

 private:
  void Expression(const Expr& expr) {
    std::visit([this](const auto& node) { Node(node); }, expr.node);
  }

  void List(std::string_view key, const std::vector<Expr>& operands) {
    out_ += fmt::format("{{{}:[", JsonString(key));
    for (size_t i = 0; i < operands.size(); ++i) {
      if (i > 0) out_ += ',';
      Expression(operands[i]);
    }
    out_ += "]}";
  }

  void Node(const And& node) { List("and", node.operands); }
  void Node(const Or& node) { List("or", node.operands); }
  void Node(const Not& node) {
    out_ += "{\"not\":";
    Expression(*node.operand);
    out_ += '}';
  }
  void Node(const SegmentRef& node) {
    out_ += fmt::format("{{\"in_segment\":{}}}", JsonString(node.segment));
  }
  void Node(const Comparison& node) {
    out_ += "{\"subject\":";
    SubjectJson(node.subject);
    out_ += fmt::format(",\"op\":{}", JsonString(NameOf(kOpNames, node.op)));
    if (!node.values.empty()) {
      out_ += ",\"values\":[";
      for (size_t i = 0; i < node.values.size(); ++i) {
        if (i > 0) out_ += ',';
        LiteralJson(node.values[i]);
      }
      out_ += ']';
    }
    out_ += '}';
  }
  void Node(const TimeCondition& node) {
    out_ += "{\"subject\":";
    SubjectJson(node.subject);
    out_ += ",\"time\":";
    RangeJson(node.range);
    out_ += '}';
  }
  void Node(const GeoCondition& node) {
    out_ += fmt::format(
        "{{\"geo\":{{\"lat_trait\":{},\"lon_trait\":{},\"radius_km\":{},\"center\":[{},{}]}}}}",
        JsonString(node.lat_trait), JsonString(node.lon_trait), SpellDecimal(node.radius_km, false),
        SpellDecimal(node.center_lat, false), SpellDecimal(node.center_lon, false));
  }
  void Node(const Occurrence& node) {
    out_ += node.ever ? "{\"ever\":" : "{\"never\":";
    EventsJson(node.events, nullptr);
    out_ += '}';
  }
  void Node(const Sequence& node) {
    out_ += "{\"sequence\":{\"anchor\":";
    SubjectJson(node.anchor);
    out_ += node.negated ? ",\"not_followed_by\":" : ",\"followed_by\":";
    EventsJson(node.next, nullptr);
    out_ += "}}";
  }

  void SubjectJson(const Subject& subject) {
    if (subject.kind == SubjectKind::kTrait) {
      out_ += fmt::format("{{\"trait\":{}}}", JsonString(subject.name));
    } else if (subject.kind == SubjectKind::kField) {
      out_ += fmt::format("{{\"field\":{}}}", JsonString(subject.name));
    } else if (subject.kind == SubjectKind::kSignal) {
      out_ += fmt::format("{{\"signal\":{}", JsonString(subject.name));
      if (!subject.arguments.empty()) {
        out_ += ",\"arguments\":[";
        for (size_t i = 0; i < subject.arguments.size(); ++i) {
          out_ += (i > 0 ? "," : "") + JsonString(subject.arguments[i]);
        }
        out_ += ']';
      }
      out_ += '}';
    } else {
      out_ += fmt::format("{{\"aggregate\":{}", JsonString(NameOf(kAggregateNames, subject.kind)));
      EventMembers(subject.events, subject.name.empty() ? nullptr : &subject.name);
      out_ += '}';
    }
  }

  // {"event": ..., "field": ..., "where": ..., "window": ...}, without the braces.
  void EventMembers(const EventSet& events, const std::string* field) {
    if (!events.event_type.empty()) out_ += ",\"event\":" + JsonString(events.event_type);
    if (field != nullptr) out_ += ",\"field\":" + JsonString(*field);
    if (events.filter) {
      out_ += ",\"where\":";
      Expression(**events.filter);
    }
    if (events.window) {
      out_ += ",\"window\":";
      RangeJson(*events.window);
    }
  }

  void EventsJson(const EventSet& events, const std::string* field) {
    const size_t start = out_.size();
    EventMembers(events, field);
    if (out_.size() > start) {
      out_[start] = '{';  // the first member's leading comma
    } else {
      out_ += '{';
    }
    out_ += '}';
  }

  void RangeJson(const TimeRange& range) {
    const std::string_view unit = NameOf(kUnitNames, range.unit);
    switch (range.kind) {
      case RangeKind::kLast:
      case RangeKind::kBefore:
      case RangeKind::kAfter: {
        const std::string_view key = range.kind == RangeKind::kLast     ? "last"
                                     : range.kind == RangeKind::kBefore ? "before"
                                                                        : "after";
        out_ += fmt::format("{{\"{}\":{},\"unit\":\"{}\"}}", key, range.amount, unit);
        return;
      }
      case RangeKind::kBetween:
        out_ += fmt::format("{{\"between\":[{},{}],\"unit\":\"{}\"}}", range.amount,
                            range.far_amount, unit);
        return;
    }
  }

  void LiteralJson(const Literal& literal) {
    std::visit(
        [this](const auto& value) {
          using T = std::decay_t<decltype(value)>;
          if constexpr (std::is_same_v<T, std::string>) {
            out_ += JsonString(value);
          } else if constexpr (std::is_same_v<T, int64_t>) {
            out_ += std::to_string(value);
          } else if constexpr (std::is_same_v<T, double>) {
            // ".0" keeps a decimal a decimal: simdjson reads 2 as an integer, 2.0 as a double.
            out_ += SpellDecimal(value, /*mark_decimal=*/true);
          } else {
            out_ += value ? "true" : "false";
          }
        },
        literal.value);
  }

  std::string out_;
};

// ---- reading ----

std::string_view TypeName(element value) {
  switch (value.type()) {
    case element_type::ARRAY:
      return "an array";
    case element_type::OBJECT:
      return "an object";
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE:
      return "a number";
    case element_type::STRING:
      return "a string";
    case element_type::BOOL:
      return "a boolean";
    case element_type::NULL_VALUE:
      return "null";
  }
  return "a value";
}

Status Mismatch(const std::string& path, std::string_view expected, element found) {
  return InvalidArgument("{}: expected {}, found {}", path, expected, TypeName(found));
}

// The members of one JSON object, checked for repeats and for keys the shape does not allow.
class Members {
 public:
  static Result<Members> Read(element value, const std::string& path) {
    simdjson::dom::object object;
    if (value.get_object().get(object)) return Mismatch(path, "an object", value);
    Members members;
    members.path_ = path;
    for (const auto [key, member] : object) {
      if (members.Find(key) != nullptr) {
        return InvalidArgument("{}: key \"{}\" appears twice", path, key);
      }
      members.entries_.emplace_back(key, member);
    }
    return members;
  }

  const element* Find(std::string_view key) const {
    for (const auto& [name, value] : entries_) {
      if (name == key) return &value;
    }
    return nullptr;
  }

  Status Allow(std::initializer_list<std::string_view> keys) const {
    for (const auto& [name, value] : entries_) {
      bool allowed = false;
      for (const std::string_view key : keys) allowed = allowed || key == name;
      if (!allowed) {
        std::string list;
        for (const std::string_view key : keys)
          list += fmt::format("{}\"{}\"", list.empty() ? "" : ", ", key);
        return InvalidArgument("{}: unexpected key \"{}\" (expected {})", path_, name, list);
      }
    }
    return Status::Ok();
  }

  Result<element> Require(std::string_view key) const {
    if (const element* value = Find(key)) return *value;
    return InvalidArgument("{}: expected key \"{}\"", path_, key);
  }

  std::string Path(std::string_view key) const { return path_ + "." + std::string(key); }

 private:
  std::string path_;
  std::vector<std::pair<std::string_view, element>> entries_;
};

Result<std::string> ReadString(element value, const std::string& path, bool allow_empty) {
  std::string_view text;
  if (value.get_string().get(text)) return Mismatch(path, "a string", value);
  if (text.empty() && !allow_empty) return InvalidArgument("{}: expected a non-empty string", path);
  return std::string(text);
}

Result<double> ReadNumber(element value, const std::string& path) {
  switch (value.type()) {
    case element_type::INT64:
      return static_cast<double>(value.get_int64().value_unsafe());
    case element_type::UINT64:
      return static_cast<double>(value.get_uint64().value_unsafe());
    case element_type::DOUBLE:
      return value.get_double().value_unsafe();
    default:
      return Mismatch(path, "a number", value);
  }
}

Result<int64_t> ReadAmount(element value, const std::string& path) {
  int64_t amount = 0;
  if (value.type() != element_type::INT64 || value.get_int64().get(amount) || amount < 0) {
    return InvalidArgument("{}: expected a whole number of 0 or more", path);
  }
  return amount;
}

class JsonReader {
 public:
  // `in_filter`: inside a `where`, where only conditions on event fields can stand.
  Result<Expr> ReadExpr(element value, const std::string& path, bool in_filter) {
    TAILOR_ASSIGN_OR_RETURN(const Members members, Members::Read(value, path));
    if (members.Find("and") || members.Find("or")) {
      const bool is_and = members.Find("and") != nullptr;
      const std::string_view key = is_and ? "and" : "or";
      TAILOR_RETURN_IF_ERROR(members.Allow({key}));
      simdjson::dom::array array;
      const element list = *members.Find(key);
      if (list.get_array().get(array)) return Mismatch(members.Path(key), "an array", list);
      std::vector<Expr> operands;
      size_t index = 0;
      for (const element operand : array) {
        TAILOR_ASSIGN_OR_RETURN(
            Expr expr,
            ReadExpr(operand, fmt::format("{}[{}]", members.Path(key), index++), in_filter));
        operands.push_back(std::move(expr));
      }
      if (operands.size() < 2) {
        return InvalidArgument("{}: expected at least two operands", members.Path(key));
      }
      if (is_and) return Expr{And{std::move(operands)}};
      return Expr{Or{std::move(operands)}};
    }
    if (const element* operand = members.Find("not")) {
      TAILOR_RETURN_IF_ERROR(members.Allow({"not"}));
      TAILOR_ASSIGN_OR_RETURN(Expr inner, ReadExpr(*operand, members.Path("not"), in_filter));
      return Expr{Not{std::move(inner), SourcePos{}}};
    }
    if (members.Find("subject")) return ReadCondition(members, in_filter);
    if (!in_filter) {
      if (const element* name = members.Find("in_segment")) {
        TAILOR_RETURN_IF_ERROR(members.Allow({"in_segment"}));
        TAILOR_ASSIGN_OR_RETURN(std::string segment,
                                ReadString(*name, members.Path("in_segment"), true));
        return Expr{SegmentRef{std::move(segment), SourcePos{}}};
      }
      if (const element* geo = members.Find("geo")) {
        TAILOR_RETURN_IF_ERROR(members.Allow({"geo"}));
        return ReadGeo(*geo, members.Path("geo"));
      }
      if (members.Find("ever") || members.Find("never")) {
        Occurrence occurrence;
        occurrence.ever = members.Find("ever") != nullptr;
        const std::string_view key = occurrence.ever ? "ever" : "never";
        TAILOR_RETURN_IF_ERROR(members.Allow({key}));
        TAILOR_RETURN_IF_ERROR(
            ReadEvents(*members.Find(key), members.Path(key), true, occurrence.events));
        return Expr{std::move(occurrence)};
      }
      if (const element* sequence = members.Find("sequence")) {
        TAILOR_RETURN_IF_ERROR(members.Allow({"sequence"}));
        return ReadSequence(*sequence, members.Path("sequence"));
      }
    }
    return InvalidArgument(
        "{}: expected an object with one of the keys {}", path,
        in_filter ? "\"and\", \"or\", \"not\", \"subject\""
                  : "\"and\", \"or\", \"not\", \"subject\", \"in_segment\", \"geo\", \"ever\", "
                    "\"never\", \"sequence\"");
  }

 private:
  Result<Expr> ReadCondition(const Members& members, bool in_filter) {
    TAILOR_ASSIGN_OR_RETURN(const element subject_json, members.Require("subject"));
    TAILOR_ASSIGN_OR_RETURN(Subject subject,
                            ReadSubject(subject_json, members.Path("subject"), in_filter));
    if (const element* time = members.Find("time"); time != nullptr && !in_filter) {
      TAILOR_RETURN_IF_ERROR(members.Allow({"subject", "time"}));
      TAILOR_ASSIGN_OR_RETURN(TimeRange range, ReadRange(*time, members.Path("time")));
      return Expr{TimeCondition{std::move(subject), range}};
    }
    TAILOR_RETURN_IF_ERROR(members.Allow({"subject", "op", "values"}));
    Comparison comparison;
    comparison.subject = std::move(subject);
    TAILOR_ASSIGN_OR_RETURN(const element op_json, members.Require("op"));
    TAILOR_ASSIGN_OR_RETURN(const std::string op, ReadString(op_json, members.Path("op"), true));
    if (!ValueOf(kOpNames, op, &comparison.op)) {
      return InvalidArgument(
          "{}: expected one of \"=\", \"!=\", \"<\", \"<=\", \">\", \">=\", \"between\", \"in\", "
          "\"not_in\", \"contains\", \"starts_with\", \"exists\", \"missing\", found \"{}\"",
          members.Path("op"), op);
    }
    if (const element* values = members.Find("values")) {
      simdjson::dom::array array;
      if (values->get_array().get(array)) {
        return Mismatch(members.Path("values"), "an array", *values);
      }
      size_t index = 0;
      for (const element value : array) {
        TAILOR_ASSIGN_OR_RETURN(
            Literal literal,
            ReadLiteral(value, fmt::format("{}[{}]", members.Path("values"), index++)));
        comparison.values.push_back(std::move(literal));
      }
    }
    // The same value counts the grammar allows, so every JSON rule also has a text form.
    const size_t count = comparison.values.size();
    size_t want = 1;
    switch (comparison.op) {
      case CompareOp::kExists:
      case CompareOp::kMissing:
        want = 0;
        break;
      case CompareOp::kBetween:
        want = 2;
        break;
      case CompareOp::kIn:
      case CompareOp::kNotIn:
        want = count == 0 ? 1 : count;
        break;
      default:
        break;
    }
    if (count != want) {
      return InvalidArgument("{}: expected {} value(s) for \"{}\", found {}",
                             members.Path("values"), want, op, count);
    }
    return Expr{std::move(comparison)};
  }

  Result<Subject> ReadSubject(element value, const std::string& path, bool in_filter) {
    TAILOR_ASSIGN_OR_RETURN(const Members members, Members::Read(value, path));
    Subject subject;
    if (in_filter) {
      TAILOR_RETURN_IF_ERROR(members.Allow({"field"}));
      subject.kind = SubjectKind::kField;
      TAILOR_ASSIGN_OR_RETURN(const element name, members.Require("field"));
      TAILOR_ASSIGN_OR_RETURN(subject.name, ReadFieldPath(name, members.Path("field")));
      return subject;
    }
    if (members.Find("field") && !members.Find("aggregate")) {
      return InvalidArgument("{}: an event field can only be tested inside \"where\"", path);
    }
    if (const element* trait = members.Find("trait")) {
      TAILOR_RETURN_IF_ERROR(members.Allow({"trait"}));
      subject.kind = SubjectKind::kTrait;
      TAILOR_ASSIGN_OR_RETURN(subject.name, ReadString(*trait, members.Path("trait"), false));
      return subject;
    }
    if (const element* signal = members.Find("signal")) {
      TAILOR_RETURN_IF_ERROR(members.Allow({"signal", "arguments"}));
      subject.kind = SubjectKind::kSignal;
      TAILOR_ASSIGN_OR_RETURN(subject.name, ReadString(*signal, members.Path("signal"), false));
      if (const element* arguments = members.Find("arguments")) {
        simdjson::dom::array array;
        if (arguments->get_array().get(array)) {
          return Mismatch(members.Path("arguments"), "an array", *arguments);
        }
        size_t index = 0;
        for (const element argument : array) {
          TAILOR_ASSIGN_OR_RETURN(
              std::string text,
              ReadString(argument, fmt::format("{}[{}]", members.Path("arguments"), index++),
                         false));
          subject.arguments.push_back(std::move(text));
        }
      }
      return subject;
    }
    TAILOR_ASSIGN_OR_RETURN(const element aggregate, members.Require("aggregate"));
    TAILOR_ASSIGN_OR_RETURN(const std::string function,
                            ReadString(aggregate, members.Path("aggregate"), true));
    if (!ValueOf(kAggregateNames, function, &subject.kind)) {
      return InvalidArgument(
          "{}: expected one of \"count\", \"sum\", \"avg\", \"min\", \"max\", \"distinct\", "
          "\"first\", \"last\", found \"{}\"",
          members.Path("aggregate"), function);
    }
    const bool with_field = subject.kind != SubjectKind::kCount &&
                            subject.kind != SubjectKind::kFirst &&
                            subject.kind != SubjectKind::kLast;
    if (with_field) {
      TAILOR_RETURN_IF_ERROR(members.Allow({"aggregate", "event", "field", "where", "window"}));
      TAILOR_ASSIGN_OR_RETURN(const element field, members.Require("field"));
      TAILOR_ASSIGN_OR_RETURN(subject.name, ReadFieldPath(field, members.Path("field")));
    } else {
      TAILOR_RETURN_IF_ERROR(members.Allow({"aggregate", "event", "where", "window"}));
    }
    TAILOR_RETURN_IF_ERROR(ReadEventMembers(members, /*with_window=*/true, subject.events));
    return subject;
  }

  // A dotted field path whose parts are all non-empty (the text form cannot spell others).
  static Result<std::string> ReadFieldPath(element value, const std::string& path) {
    TAILOR_ASSIGN_OR_RETURN(std::string name, ReadString(value, path, false));
    if (name.front() == '.' || name.back() == '.' || name.find("..") != std::string::npos) {
      return InvalidArgument("{}: expected names joined by '.', found \"{}\"", path, name);
    }
    return name;
  }

  Status ReadEvents(element value, const std::string& path, bool with_window, EventSet& events) {
    TAILOR_ASSIGN_OR_RETURN(const Members members, Members::Read(value, path));
    if (with_window) {
      TAILOR_RETURN_IF_ERROR(members.Allow({"event", "where", "window"}));
    } else {
      TAILOR_RETURN_IF_ERROR(members.Allow({"event", "where"}));
    }
    return ReadEventMembers(members, with_window, events);
  }

  Status ReadEventMembers(const Members& members, bool with_window, EventSet& events) {
    if (const element* type = members.Find("event")) {
      TAILOR_ASSIGN_OR_RETURN(events.event_type, ReadString(*type, members.Path("event"), false));
    }
    if (const element* filter = members.Find("where")) {
      TAILOR_ASSIGN_OR_RETURN(Expr expr, ReadExpr(*filter, members.Path("where"), true));
      events.filter = Box<Expr>(std::move(expr));
    }
    if (const element* window = members.Find("window"); window != nullptr && with_window) {
      TAILOR_ASSIGN_OR_RETURN(events.window, ReadRange(*window, members.Path("window")));
    }
    return Status::Ok();
  }

  Result<TimeRange> ReadRange(element value, const std::string& path) {
    TAILOR_ASSIGN_OR_RETURN(const Members members, Members::Read(value, path));
    TimeRange range;
    TAILOR_ASSIGN_OR_RETURN(const element unit_json, members.Require("unit"));
    TAILOR_ASSIGN_OR_RETURN(const std::string unit,
                            ReadString(unit_json, members.Path("unit"), true));
    if (!ValueOf(kUnitNames, unit, &range.unit)) {
      return InvalidArgument(
          "{}: expected \"minutes\", \"hours\", \"days\" or \"weeks\", found \"{}\"",
          members.Path("unit"), unit);
    }
    if (const element* between = members.Find("between")) {
      TAILOR_RETURN_IF_ERROR(members.Allow({"between", "unit"}));
      range.kind = RangeKind::kBetween;
      simdjson::dom::array array;
      if (between->get_array().get(array) || array.size() != 2) {
        return InvalidArgument("{}: expected an array of two whole numbers",
                               members.Path("between"));
      }
      TAILOR_ASSIGN_OR_RETURN(range.amount,
                              ReadAmount(array.at(0).value_unsafe(), members.Path("between")));
      TAILOR_ASSIGN_OR_RETURN(range.far_amount,
                              ReadAmount(array.at(1).value_unsafe(), members.Path("between")));
      return range;
    }
    constexpr std::array<std::pair<RangeKind, std::string_view>, 3> kKinds = {
        {{RangeKind::kLast, "last"}, {RangeKind::kBefore, "before"}, {RangeKind::kAfter, "after"}}};
    for (const auto& [kind, key] : kKinds) {
      const element* amount = members.Find(key);
      if (amount == nullptr) continue;
      TAILOR_RETURN_IF_ERROR(members.Allow({key, "unit"}));
      range.kind = kind;
      TAILOR_ASSIGN_OR_RETURN(range.amount, ReadAmount(*amount, members.Path(key)));
      return range;
    }
    return InvalidArgument(
        "{}: expected one of the keys \"last\", \"before\", \"after\", \"between\"", path);
  }

  Result<Expr> ReadGeo(element value, const std::string& path) {
    TAILOR_ASSIGN_OR_RETURN(const Members members, Members::Read(value, path));
    TAILOR_RETURN_IF_ERROR(members.Allow({"lat_trait", "lon_trait", "radius_km", "center"}));
    GeoCondition geo;
    if (const element* lat = members.Find("lat_trait")) {
      TAILOR_ASSIGN_OR_RETURN(geo.lat_trait, ReadString(*lat, members.Path("lat_trait"), false));
    }
    if (const element* lon = members.Find("lon_trait")) {
      TAILOR_ASSIGN_OR_RETURN(geo.lon_trait, ReadString(*lon, members.Path("lon_trait"), false));
    }
    TAILOR_ASSIGN_OR_RETURN(const element radius, members.Require("radius_km"));
    TAILOR_ASSIGN_OR_RETURN(geo.radius_km, ReadNumber(radius, members.Path("radius_km")));
    TAILOR_ASSIGN_OR_RETURN(const element center, members.Require("center"));
    simdjson::dom::array array;
    if (center.get_array().get(array) || array.size() != 2) {
      return InvalidArgument("{}: expected [latitude, longitude]", members.Path("center"));
    }
    TAILOR_ASSIGN_OR_RETURN(geo.center_lat,
                            ReadNumber(array.at(0).value_unsafe(), members.Path("center")));
    TAILOR_ASSIGN_OR_RETURN(geo.center_lon,
                            ReadNumber(array.at(1).value_unsafe(), members.Path("center")));
    return Expr{std::move(geo)};
  }

  Result<Expr> ReadSequence(element value, const std::string& path) {
    TAILOR_ASSIGN_OR_RETURN(const Members members, Members::Read(value, path));
    Sequence sequence;
    sequence.negated = members.Find("not_followed_by") != nullptr;
    const std::string_view next_key = sequence.negated ? "not_followed_by" : "followed_by";
    TAILOR_RETURN_IF_ERROR(members.Allow({"anchor", next_key}));
    TAILOR_ASSIGN_OR_RETURN(const element anchor, members.Require("anchor"));
    TAILOR_ASSIGN_OR_RETURN(sequence.anchor, ReadSubject(anchor, members.Path("anchor"), false));
    if (sequence.anchor.kind != SubjectKind::kFirst && sequence.anchor.kind != SubjectKind::kLast) {
      return InvalidArgument("{}: expected a \"first\" or \"last\" aggregate",
                             members.Path("anchor"));
    }
    TAILOR_ASSIGN_OR_RETURN(const element next, members.Require(next_key));
    TAILOR_RETURN_IF_ERROR(ReadEvents(next, members.Path(next_key), false, sequence.next));
    return Expr{std::move(sequence)};
  }

  static Result<Literal> ReadLiteral(element value, const std::string& path) {
    Literal literal;
    switch (value.type()) {
      case element_type::STRING:
        literal.value = std::string(value.get_string().value_unsafe());
        return literal;
      case element_type::INT64:
        literal.value = value.get_int64().value_unsafe();
        return literal;
      case element_type::DOUBLE:
        literal.value = value.get_double().value_unsafe();
        return literal;
      case element_type::BOOL:
        literal.value = value.get_bool().value_unsafe();
        return literal;
      case element_type::UINT64:
        return InvalidArgument("{}: expected a number in range, found {}", path,
                               value.get_uint64().value_unsafe());
      default:
        return Mismatch(path, "a string, number or boolean", value);
    }
  }
};

}  // namespace

std::string RuleToJson(const Rule& rule) { return JsonWriter().Write(rule.root); }

Result<Rule> RuleFromJson(std::string_view json) {
  simdjson::dom::parser parser;
  const simdjson::padded_string padded(json);
  element root;
  if (const auto error = parser.parse(padded).get(root); error) {
    return InvalidArgument("$: malformed JSON: {}", simdjson::error_message(error));
  }
  JsonReader reader;
  TAILOR_ASSIGN_OR_RETURN(Expr expr, reader.ReadExpr(root, "$", /*in_filter=*/false));
  // Same limit as the parser's, measured on the text this rule prints to.
  const int depth = NestingDepth(expr);
  if (depth > kMaxRuleDepth) {
    return InvalidArgument("$: rule nested too deeply: expected at most {} levels, found {}",
                           kMaxRuleDepth, depth);
  }
  return Rule{std::move(expr)};
}

}  // namespace tailor::segments

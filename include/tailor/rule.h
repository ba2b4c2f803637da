#pragma once

// The segment rule language, front end only: the syntax tree, parsing, canonical printing, the
// JSON form, and checking a rule against the trait schema and the other segments. Evaluation
// reads these trees and lives elsewhere. The language is specified in docs/rule_language.md;
// the comments here state what each node means, which is what an evaluator must implement.
//
// Conventions every evaluator relies on:
//  * Conditions are two-valued: a profile matches or it does not. A missing value never matches
//    a comparison (including `!=` and `not in`); `not X` matches exactly the profiles X does not
//    match, so `not (browser = "chrome")` does match a profile without a browser.
//  * Time is relative to a `now` given at evaluation. "last D days": now - D <= t < now;
//    "before D days ago": t < now - D; "after D days ago": t > now - D;
//    "between A and B days ago" (A < B): now - B <= t < now - A.
//  * `contains` on a list is element equality; on a string it is a substring test.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "tailor/schema.h"
#include "tailor/status.h"
#include "tailor/types.h"

namespace tailor::segments {

// Where a node starts in the rule text: 1-based line and column (columns count characters, not
// bytes). line == 0: unknown (the node came from JSON or from code). Positions annotate a rule
// and are not part of it: any two positions compare equal, so ParseRule(PrintRule(r)) == r
// even though every node moved.
struct SourcePos {
  uint32_t line = 0;
  uint32_t column = 0;
  bool known() const { return line != 0; }
  friend bool operator==(const SourcePos&, const SourcePos&) { return true; }
};

// A heap-allocated T with value semantics (copies deeply, compares by value), so the tree can
// contain itself and still be copied and compared like a plain struct. Never null, except
// after being moved from; a moved-from Box may only be assigned to or destroyed.
template <typename T>
class Box {
 public:
  // Implicit, so that a node is built as plainly as the struct it stands for: Not{expr, pos}.
  // NOLINTNEXTLINE(google-explicit-constructor)
  Box(T value) : ptr_(std::make_unique<T>(std::move(value))) {}
  Box(const Box& other) : ptr_(std::make_unique<T>(*other.ptr_)) {}
  Box(Box&&) noexcept = default;
  Box& operator=(const Box& other) {
    if (this != &other) ptr_ = std::make_unique<T>(*other.ptr_);
    return *this;
  }
  Box& operator=(Box&&) noexcept = default;
  ~Box() = default;

  T& operator*() { return *ptr_; }
  const T& operator*() const { return *ptr_; }
  T* operator->() { return ptr_.get(); }
  const T* operator->() const { return ptr_.get(); }
  friend bool operator==(const Box& a, const Box& b) { return *a.ptr_ == *b.ptr_; }

 private:
  std::unique_ptr<T> ptr_;
};

// A constant in a rule. Integers and decimals stay apart (`2` and `2.0` are different
// literals) so that printing and parsing again gives back the same literal; comparisons treat
// both as numbers.
using Value = std::variant<std::string, int64_t, double, bool>;

struct Literal {
  Value value;
  SourcePos pos;
  bool operator==(const Literal&) const = default;
};

enum class CompareOp : uint8_t {
  kEq,          // =        1 value
  kNe,          // !=       1 value
  kLt,          // <        1 value
  kLe,          // <=       1 value
  kGt,          // >        1 value
  kGe,          // >=       1 value
  kBetween,     // between lo and hi: lo <= x <= hi, 2 values
  kIn,          // in [..]: equal to one of them, 1+ values
  kNotIn,       // not in [..]: present and equal to none of them, 1+ values
  kContains,    // contains: list element, or substring of a string, 1 value
  kStartsWith,  // starts_with: string prefix, 1 value
  kExists,      // exists: the value is present, 0 values
  kMissing,     // missing: the value is absent, 0 values
};

enum class TimeUnit : uint8_t { kMinute, kHour, kDay, kWeek };

inline constexpr Timestamp TimeUnitMillis(TimeUnit unit) {
  switch (unit) {
    case TimeUnit::kMinute:
      return 60'000;
    case TimeUnit::kHour:
      return 3'600'000;
    case TimeUnit::kDay:
      return 86'400'000;
    case TimeUnit::kWeek:
      return 7 * 86'400'000LL;
  }
  return 0;
}

// A span of time relative to now (see the conventions at the top of this file).
enum class RangeKind : uint8_t {
  kLast,     // now - amount <= t < now
  kBefore,   // t < now - amount
  kAfter,    // t > now - amount
  kBetween,  // now - far_amount <= t < now - amount
};

struct TimeRange {
  RangeKind kind = RangeKind::kLast;
  int64_t amount = 0;      // in `unit`s; for kBetween the nearer end
  int64_t far_amount = 0;  // kBetween only: the farther end (> amount); 0 for the other kinds
  TimeUnit unit = TimeUnit::kDay;
  SourcePos pos;
  bool operator==(const TimeRange&) const = default;
};

struct Expr;

// The events of a profile that a behavioural condition looks at: those of one type (or of any
// type), that pass `filter`, inside `window`.
struct EventSet {
  std::string event_type;           // "" = events of any type (`any` in the text)
  std::optional<Box<Expr>> filter;  // `where ...`: and/or/not over kField comparisons only
  std::optional<TimeRange> window;  // none = the whole history
  bool operator==(const EventSet&) const = default;
};

// What a condition tests.
enum class SubjectKind : uint8_t {
  kTrait,     // a profile trait: name
  kField,     // an event field, only inside a `where` filter: name
  kCount,     // count(events): number of events; 0 when none
  kSum,       // sum(events.name): sum of the field; 0 when none
  kAvg,       // avg(events.name): mean of the present values; missing when none
  kMin,       // min(events.name): missing when none
  kMax,       // max(events.name): missing when none
  kDistinct,  // distinct(events.name): number of distinct present values; 0 when none
  kFirst,     // first(events): time of the earliest event; missing when none
  kLast,      // last(events): time of the latest event; missing when none
  kSignal,    // a signal computed from the events (tailor/signal_values.h): name, arguments
};

// Event fields (`name` of kField and of kSum..kDistinct): item_id, category, order_id, channel,
// page_url, referrer, utm_source, utm_medium, utm_campaign, country, city (strings); price,
// value (decimals), quantity (integer), spend (= price * quantity); item.<attribute> for the
// catalogue entry of the event's item (item.name, item.category, item.price, item.level, ...).
//
// Signals (kSignal): `affinity(category, "golf")`, `open_rate("email")`, `session.product_views`,
// `first_touch.source`: name "affinity", "session.product_views", ...; arguments the affinity
// dimension and value, or the rate's channel or campaign.
struct Subject {
  SubjectKind kind = SubjectKind::kTrait;
  // kTrait: the trait; kField, kSum..kDistinct: the event field; kSignal: the signal; else ""
  std::string name;
  EventSet events;                     // kCount..kLast; empty otherwise
  std::vector<std::string> arguments;  // kSignal only
  SourcePos pos;
  bool operator==(const Subject&) const = default;
};

// `subject op values`, e.g. `age between 25 and 34`, `count(purchase) >= 2`. A timestamp
// subject compares with ISO 8601 strings (`signup_ts >= "2026-01-01"`).
struct Comparison {
  Subject subject;
  CompareOp op = CompareOp::kEq;
  std::vector<Literal> values;
  SourcePos op_pos;
  bool operator==(const Comparison&) const = default;
};

// `subject within last 90 days`, `subject before 30 days ago`, ...: a timestamp trait, or
// first(...) / last(...), falls inside `range`. Missing -> no match.
struct TimeCondition {
  Subject subject;
  TimeRange range;
  bool operator==(const TimeCondition&) const = default;
};

// `location within 50 km of (40.4168, -3.7038)`: the haversine distance (R = 6371.0088 km)
// from the point (lat_trait, lon_trait) to the centre is <= radius_km. Either trait missing ->
// no match. `location(a, b)` names other traits than lat and lon.
struct GeoCondition {
  std::string lat_trait = "lat";
  std::string lon_trait = "lon";
  double radius_km = 0;
  double center_lat = 0;
  double center_lon = 0;
  SourcePos pos;
  bool operator==(const GeoCondition&) const = default;
};

// `ever(events)`: at least one event; `never(events)`: none.
struct Occurrence {
  bool ever = true;
  EventSet events;
  SourcePos pos;
  bool operator==(const Occurrence&) const = default;
};

// `last(add_to_cart, last 7 days) not followed by purchase`: the anchor (a kFirst or kLast
// subject) exists, and some event of `next` happens strictly after it (`followed by`) or none
// does (`not followed by`). `next` has no window. No anchor -> no match either way.
struct Sequence {
  Subject anchor;
  bool negated = false;
  EventSet next;
  SourcePos pos;
  bool operator==(const Sequence&) const = default;
};

// `in segment "vip"`: the profile is a member of that segment (`not in segment` is a Not).
struct SegmentRef {
  std::string segment;
  SourcePos pos;
  bool operator==(const SegmentRef&) const = default;
};

struct And {
  std::vector<Expr> operands;  // 2 or more
  bool operator==(const And&) const = default;
};

struct Or {
  std::vector<Expr> operands;  // 2 or more
  bool operator==(const Or&) const = default;
};

struct Not {
  Box<Expr> operand;
  SourcePos pos;
  bool operator==(const Not&) const = default;
};

struct Expr {
  std::variant<Comparison, TimeCondition, GeoCondition, Occurrence, Sequence, SegmentRef, And, Or,
               Not>
      node;
  bool operator==(const Expr&) const = default;
};

// A parsed segment rule. Plain data: copy it, compare it, walk `root`.
struct Rule {
  Expr root;
  bool operator==(const Rule&) const = default;
};

// Nesting deeper than this (parentheses, `not`, filters) is rejected, so that no input can
// exhaust the stack of the parser or of anything that walks the tree.
inline constexpr int kMaxRuleDepth = 100;

// Parses rule text; syntax only (CheckRule does names and types). Rule text is UTF-8.
// Errors: kInvalidArgument, message "line:column: expected ..., found ...", e.g.
// "1:17: expected ')', found end of rule".
Result<Rule> ParseRule(std::string_view text);

// The canonical text of `rule`: lower-case keywords, single spaces, parentheses only where
// needed, names in backticks when they are not plain words. For every rule ParseRule accepts,
// and every rule CheckRule accepts, ParseRule(PrintRule(rule)) == rule.
std::string PrintRule(const Rule& rule);

// The JSON form of a rule, for the API (docs/rule_language.md#json). RuleFromJson(RuleToJson(r))
// == r for the same rules as PrintRule. RuleFromJson checks the shape only (like ParseRule);
// errors are kInvalidArgument naming the JSON path, e.g. "$.and[1].op: expected ...".
std::string RuleToJson(const Rule& rule);
Result<Rule> RuleFromJson(std::string_view json);

// How the checker sees the other segments. Implemented by the segment registry, and by tests.
class SegmentResolver {
 public:
  virtual ~SegmentResolver() = default;
  // Whether a segment called `segment` exists.
  virtual bool Exists(std::string_view segment) const = 0;
  // The segments that `segment`'s rule refers to directly; empty for an unknown segment.
  virtual std::vector<std::string> References(std::string_view segment) const = 0;
};

// Checks `rule` before it is stored: every trait exists in `schema`, every event field is known,
// every operator applies to its subject's type and every literal has that type (timestamp
// literals are ISO 8601 strings), windows and coordinates are in range, every referenced
// segment exists, and the tree is well formed (e.g. `and` has 2+ operands). Returns
// kInvalidArgument "line:column: ..." for the first problem (no prefix when the position is
// unknown, as for rules from JSON). Does not look for cycles: see CheckNoCycles.
Status CheckRule(const Rule& rule, const Schema& schema, const SegmentResolver& segments);

// The segments `rule` refers to, each once, in order of first appearance.
std::vector<std::string> SegmentReferences(const Rule& rule);

// Whether giving segment `name` the rule `rule` (a new segment, or a new rule for an existing
// one) keeps segment references acyclic. kInvalidArgument names the cycle, e.g.
// "1:1: segment 'a' would depend on itself: a -> b -> a". Visits each segment at most once.
Status CheckNoCycles(std::string_view name, const Rule& rule, const SegmentResolver& segments);

// Spelling of an operator in rule text: "=", "not in", "starts_with", ...
std::string_view CompareOpText(CompareOp op);
// Spelling of an event function (kCount..kLast) in rule text: "count", "distinct", ...; "" for
// kTrait and kField.
std::string_view SubjectFunctionText(SubjectKind kind);

}  // namespace tailor::segments

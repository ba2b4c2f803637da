// Evaluates a rule over a snapshot. Sets of profiles are dense bitsets while evaluating (and/or/
// not are word operations); string tests become tables over dictionary codes, computed once
// per rule, so that a scan of a million profiles or twenty million events does one table
// lookup per value.

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <bit>
#include <cmath>

#include "common/strings.h"
#include "common/time.h"
#include "segments/amounts.h"
#include "tailor/segments.h"
#include "tailor/signal_values.h"
#include "tailor/signals.h"

namespace tailor::segments {
namespace {

using snapshot::EventColumns;
using snapshot::EventStringColumn;
using snapshot::kNoAmount;
using snapshot::kNoQuantity;
using snapshot::kNullCode;
using snapshot::Snapshot;
using snapshot::TraitColumn;

constexpr double kEarthRadiusKm = 6371.0088;
// Profiles per parallel task (a multiple of 64, so tasks write disjoint words of a bitset).
constexpr size_t kProfilesPerTask = 64 * 64;

struct Bits {
  std::vector<uint64_t> words;
  explicit Bits(size_t bits = 0) : words((bits + 63) / 64, 0) {}
  bool Test(size_t bit) const { return (words[bit / 64] >> (bit % 64)) & 1; }
  void Set(size_t bit) { words[bit / 64] |= uint64_t{1} << (bit % 64); }
  void And(const Bits& other) {
    for (size_t i = 0; i < words.size(); ++i) words[i] &= other.words[i];
  }
  void Or(const Bits& other) {
    for (size_t i = 0; i < words.size(); ++i) words[i] |= other.words[i];
  }
  void AndNot(const Bits& other) {
    for (size_t i = 0; i < words.size(); ++i) words[i] &= ~other.words[i];
  }
  bool Empty() const {
    return std::all_of(words.begin(), words.end(), [](uint64_t word) { return word == 0; });
  }
};

// Calls `match(profile)` for each candidate, in parallel, and sets the bits it returns true for.
template <typename Match>
Bits Select(const Bits& candidates, Match&& match) {
  Bits out(candidates.words.size() * 64);
  const size_t word_count = candidates.words.size();
  tbb::parallel_for(tbb::blocked_range<size_t>(0, word_count, kProfilesPerTask / 64),
                    [&](const tbb::blocked_range<size_t>& range) {
                      for (size_t w = range.begin(); w != range.end(); ++w) {
                        uint64_t word = candidates.words[w];
                        uint64_t result = 0;
                        while (word != 0) {
                          const int bit = std::countr_zero(word);
                          word &= word - 1;
                          if (match(static_cast<ProfileId>(w * 64 + bit))) {
                            result |= uint64_t{1} << bit;
                          }
                        }
                        out.words[w] = result;
                      }
                    });
  return out;
}

bool IsNumber(const Value& value) {
  return std::holds_alternative<int64_t>(value) || std::holds_alternative<double>(value);
}
double AsDouble(const Value& value) {
  if (std::holds_alternative<int64_t>(value)) return static_cast<double>(std::get<int64_t>(value));
  if (std::holds_alternative<double>(value)) return std::get<double>(value);
  if (std::holds_alternative<bool>(value)) return std::get<bool>(value) ? 1 : 0;
  return std::nan("");
}

// A numeric test `x op values` (x present). Timestamps arrive as milliseconds.
struct NumericTest {
  CompareOp op = CompareOp::kEq;
  std::vector<double> values;

  bool operator()(double x) const {
    switch (op) {
      case CompareOp::kEq:
        return x == values[0];
      case CompareOp::kNe:
        return x != values[0];
      case CompareOp::kLt:
        return x < values[0];
      case CompareOp::kLe:
        return x <= values[0];
      case CompareOp::kGt:
        return x > values[0];
      case CompareOp::kGe:
        return x >= values[0];
      case CompareOp::kBetween:
        return values[0] <= x && x <= values[1];
      case CompareOp::kIn:
        return std::find(values.begin(), values.end(), x) != values.end();
      case CompareOp::kNotIn:
        return std::find(values.begin(), values.end(), x) == values.end();
      default:
        return false;
    }
  }
};

Result<NumericTest> MakeNumericTest(const Comparison& comparison, bool timestamp) {
  NumericTest test;
  test.op = comparison.op;
  for (const Literal& literal : comparison.values) {
    if (timestamp && std::holds_alternative<std::string>(literal.value)) {
      const auto time = ParseIsoTimestamp(std::get<std::string>(literal.value));
      if (!time)
        return InvalidArgument("'{}' is not an ISO 8601 time",
                               std::get<std::string>(literal.value));
      test.values.push_back(static_cast<double>(*time));
    } else if (IsNumber(literal.value) || std::holds_alternative<bool>(literal.value)) {
      test.values.push_back(AsDouble(literal.value));
    } else {
      return InvalidArgument("operator '{}' needs a number", CompareOpText(comparison.op));
    }
  }
  return test;
}

// Whether string `text` passes `op values` (text present).
bool StringPasses(std::string_view text, CompareOp op, const std::vector<Literal>& values) {
  auto equals = [&](const Literal& literal) {
    return std::holds_alternative<std::string>(literal.value) &&
           std::get<std::string>(literal.value) == text;
  };
  switch (op) {
    case CompareOp::kEq:
      return equals(values[0]);
    case CompareOp::kNe:
      return !equals(values[0]);
    case CompareOp::kIn:
      return std::any_of(values.begin(), values.end(), equals);
    case CompareOp::kNotIn:
      return std::none_of(values.begin(), values.end(), equals);
    case CompareOp::kContains:
      return std::holds_alternative<std::string>(values[0].value) &&
             text.find(std::get<std::string>(values[0].value)) != std::string_view::npos;
    case CompareOp::kStartsWith:
      return std::holds_alternative<std::string>(values[0].value) &&
             text.starts_with(std::get<std::string>(values[0].value));
    case CompareOp::kLt:
    case CompareOp::kLe:
    case CompareOp::kGt:
    case CompareOp::kGe:
    case CompareOp::kBetween: {
      // Strings order bytewise (used for ISO dates kept as strings).
      auto cmp = [&](const Literal& literal) {
        return std::holds_alternative<std::string>(literal.value)
                   ? text.compare(std::get<std::string>(literal.value))
                   : 2;
      };
      const int c = cmp(values[0]);
      if (c == 2) return false;
      if (op == CompareOp::kLt) return c < 0;
      if (op == CompareOp::kLe) return c <= 0;
      if (op == CompareOp::kGt) return c > 0;
      if (op == CompareOp::kGe) return c >= 0;
      const int high = cmp(values[1]);
      return c >= 0 && high != 2 && high <= 0;
    }
    default:
      return false;
  }
}

// accept[code] for every code of `dictionary`.
std::vector<uint8_t> AcceptTable(const snapshot::Dictionary& dictionary, CompareOp op,
                                 const std::vector<Literal>& values) {
  std::vector<uint8_t> accept(dictionary.size());
  for (uint32_t code = 0; code < dictionary.size(); ++code) {
    accept[code] = StringPasses(dictionary[code], op, values) ? 1 : 0;
  }
  return accept;
}

// A time range as [low, high) milliseconds (kAfter is (low, +inf): stored as low + 1).
struct Window {
  Timestamp low = INT64_MIN;
  Timestamp high = INT64_MAX;
  bool Contains(Timestamp t) const { return low <= t && t < high; }
};

Window MakeWindow(const TimeRange& range, Timestamp now) {
  const Timestamp unit = TimeUnitMillis(range.unit);
  Window window;
  switch (range.kind) {
    case RangeKind::kLast:
      window.low = now - range.amount * unit;
      window.high = now;
      break;
    case RangeKind::kBefore:
      window.high = now - range.amount * unit;
      break;
    case RangeKind::kAfter:
      window.low = now - range.amount * unit + 1;
      break;
    case RangeKind::kBetween:
      window.low = now - range.far_amount * unit;
      window.high = now - range.amount * unit;
      break;
  }
  return window;
}

// An exact test `x op values` on amounts (micros). `x` may be a ratio numerator / denominator
// (an average), compared by cross-multiplication, so avg(...) >= 150 is exact as well.
struct AmountTest {
  CompareOp op = CompareOp::kEq;
  std::vector<int64_t> values;

  bool Match(__int128 numerator, int64_t denominator = 1) const {
    auto order = [&](int64_t value) { return CompareRatio(numerator, denominator, value); };
    switch (op) {
      case CompareOp::kEq:
        return order(values[0]) == 0;
      case CompareOp::kNe:
        return order(values[0]) != 0;
      case CompareOp::kLt:
        return order(values[0]) < 0;
      case CompareOp::kLe:
        return order(values[0]) <= 0;
      case CompareOp::kGt:
        return order(values[0]) > 0;
      case CompareOp::kGe:
        return order(values[0]) >= 0;
      case CompareOp::kBetween:
        return order(values[0]) >= 0 && order(values[1]) <= 0;
      case CompareOp::kIn:
        return std::any_of(values.begin(), values.end(), [&](int64_t v) { return order(v) == 0; });
      case CompareOp::kNotIn:
        return std::none_of(values.begin(), values.end(), [&](int64_t v) { return order(v) == 0; });
      default:
        return false;
    }
  }
};

Result<AmountTest> MakeAmountTest(const Comparison& comparison) {
  AmountTest test;
  test.op = comparison.op;
  for (const Literal& literal : comparison.values) {
    if (!IsNumber(literal.value) && !std::holds_alternative<bool>(literal.value)) {
      return InvalidArgument("operator '{}' needs a number", CompareOpText(comparison.op));
    }
    test.values.push_back(*LiteralMicros(literal.value));
  }
  return test;
}

// An event field, resolved against the snapshot's columns.
struct FieldRef {
  enum class Kind { kString, kPrice, kValue, kQuantity, kSpend, kItemAttribute } kind;
  const EventStringColumn* strings = nullptr;  // kString
  std::string attribute;                       // kItemAttribute
};

class Evaluator;

// A compiled `where` filter over one event row.
struct EventFilter {
  enum class Kind { kAll, kAnd, kOr, kNot, kCodes, kNumber, kPresent } kind = Kind::kAll;
  std::vector<EventFilter> children;
  const std::vector<uint32_t>* codes = nullptr;  // kCodes, kPresent on strings: the code column
  std::vector<uint8_t> accept;                   // kCodes: by code
  bool null_result = false;                      // kCodes: the answer for kNullCode
  FieldRef::Kind number_kind = FieldRef::Kind::kPrice;  // kNumber, kPresent on numbers
  AmountTest test;
  bool want_present = true;  // kPresent

  bool Match(const EventColumns& events, size_t row) const;
};

// An event's number in micros (exact, tailor/decimal.h); kNoAmount when it has none.
int64_t AmountAt(const EventColumns& events, FieldRef::Kind kind, size_t row) {
  switch (kind) {
    case FieldRef::Kind::kPrice:
      return events.price[row];
    case FieldRef::Kind::kValue:
      return events.value[row];
    case FieldRef::Kind::kQuantity:
      return events.quantity[row] == kNoQuantity ? kNoAmount
                                                 : int64_t{events.quantity[row]} * Decimal::kOne;
    case FieldRef::Kind::kSpend: {
      int64_t spend = 0;
      if (events.price[row] == kNoAmount || events.quantity[row] == kNoQuantity ||
          __builtin_mul_overflow(events.price[row], int64_t{events.quantity[row]}, &spend)) {
        return kNoAmount;
      }
      return spend;
    }
    default:
      return kNoAmount;
  }
}

bool EventFilter::Match(const EventColumns& events, size_t row) const {
  switch (kind) {
    case Kind::kAll:
      return true;
    case Kind::kAnd:
      for (const EventFilter& child : children) {
        if (!child.Match(events, row)) return false;
      }
      return true;
    case Kind::kOr:
      for (const EventFilter& child : children) {
        if (child.Match(events, row)) return true;
      }
      return false;
    case Kind::kNot:
      return !children[0].Match(events, row);
    case Kind::kCodes: {
      const uint32_t code = (*codes)[row];
      return code == kNullCode ? null_result : accept[code] != 0;
    }
    case Kind::kNumber: {
      const int64_t x = AmountAt(events, number_kind, row);
      return x != kNoAmount && test.Match(x);
    }
    case Kind::kPresent: {
      const bool present = codes != nullptr ? (*codes)[row] != kNullCode
                                            : AmountAt(events, number_kind, row) != kNoAmount;
      return present == want_present;
    }
  }
  return false;
}

// Which events of a profile an aggregate reads.
struct CompiledEventSet {
  uint32_t type = kNullCode;  // kNullCode with any_type false: the type never occurs
  bool any_type = false;
  Window window;
  EventFilter filter;

  bool Match(const EventColumns& events, size_t row) const {
    if (!any_type && events.type[row] != type) return false;
    if (!window.Contains(events.time[row])) return false;
    return filter.Match(events, row);
  }
  bool Impossible() const { return !any_type && type == kNullCode; }
};

// Leaves worth sharing between rules: everything but the connectives and segment references
// (those depend on other segments' results).
bool IsSharable(const Expr& expr) {
  return !std::holds_alternative<And>(expr.node) && !std::holds_alternative<Or>(expr.node) &&
         !std::holds_alternative<Not>(expr.node) && !std::holds_alternative<SegmentRef>(expr.node);
}

std::string LeafText(const Expr& expr) { return PrintRule(Rule{expr}); }

void CountLeaves(const Expr& expr, std::unordered_map<std::string, int>& seen_in_rule) {
  if (IsSharable(expr)) {
    seen_in_rule.emplace(LeafText(expr), 1);
    return;
  }
  if (const auto* node = std::get_if<And>(&expr.node)) {
    for (const Expr& operand : node->operands) CountLeaves(operand, seen_in_rule);
  } else if (const auto* node = std::get_if<Or>(&expr.node)) {
    for (const Expr& operand : node->operands) CountLeaves(operand, seen_in_rule);
  } else if (const auto* node = std::get_if<Not>(&expr.node)) {
    CountLeaves(*node->operand, seen_in_rule);
  }
}

class Evaluator {
 public:
  explicit Evaluator(const EvalContext& context)
      : context_(context), snapshot_(*context.snapshot), events_(snapshot_.events()) {}

  Result<Bits> Eval(const Expr& expr, const Bits& candidates) {
    if (context_.shared != nullptr && IsSharable(expr)) return EvalShared(expr, candidates);
    return std::visit([&](const auto& node) { return EvalNode(node, candidates); }, expr.node);
  }

  // A leaf that several rules contain: evaluated once over every known profile, then answered
  // from the cache (intersected with the candidates of each use).
  Result<Bits> EvalShared(const Expr& expr, const Bits& candidates) {
    SharedConditions& shared = *context_.shared;
    const std::string key = LeafText(expr);
    auto uses = shared.uses.find(key);
    if (uses == shared.uses.end() || uses->second < 2) {
      return std::visit([&](const auto& node) { return EvalNode(node, candidates); }, expr.node);
    }
    auto cached = shared.results.find(key);
    if (cached == shared.results.end()) {
      TAILOR_ASSIGN_OR_RETURN(
          Bits all,
          std::visit([&](const auto& node) { return EvalNode(node, Known()); }, expr.node));
      cached = shared.results.emplace(key, std::move(all.words)).first;
    } else {
      ++shared.reused;
    }
    Bits result(snapshot_.profile_count());
    result.words = cached->second;
    result.And(candidates);
    return result;
  }

  Bits Known() const {
    Bits known(snapshot_.profile_count());
    known.words = snapshot_.known().words;
    known.words.resize((snapshot_.profile_count() + 63) / 64, 0);
    return known;
  }

 private:
  Result<Bits> EvalNode(const And& node, const Bits& candidates) {
    // Cheap conditions (traits) first: every later operand only looks at what is left.
    std::vector<const Expr*> order;
    for (const Expr& operand : node.operands) order.push_back(&operand);
    std::stable_sort(order.begin(), order.end(),
                     [](const Expr* a, const Expr* b) { return Cost(*a) < Cost(*b); });
    Bits result = candidates;
    for (const Expr* operand : order) {
      if (result.Empty()) break;
      TAILOR_ASSIGN_OR_RETURN(Bits matched, Eval(*operand, result));
      result.And(matched);
    }
    return result;
  }

  Result<Bits> EvalNode(const Or& node, const Bits& candidates) {
    Bits result(candidates.words.size() * 64);
    Bits remaining = candidates;
    for (const Expr& operand : node.operands) {
      TAILOR_ASSIGN_OR_RETURN(Bits matched, Eval(operand, remaining));
      result.Or(matched);
      remaining.AndNot(matched);  // a profile already in needs no further test
    }
    return result;
  }

  Result<Bits> EvalNode(const Not& node, const Bits& candidates) {
    TAILOR_ASSIGN_OR_RETURN(Bits matched, Eval(*node.operand, candidates));
    Bits result = candidates;
    result.AndNot(matched);
    return result;
  }

  Result<Bits> EvalNode(const SegmentRef& node, const Bits& candidates) {
    const ProfileSet* members = context_.segment ? context_.segment(node.segment) : nullptr;
    if (members == nullptr) return NotFound("no evaluated segment '{}'", node.segment);
    Bits result(candidates.words.size() * 64);
    for (uint32_t id : *members) {
      if (id < snapshot_.profile_count() && candidates.Test(id)) result.Set(id);
    }
    return result;
  }

  Result<Bits> EvalNode(const GeoCondition& node, const Bits& candidates) {
    TAILOR_ASSIGN_OR_RETURN(const TraitColumn* lat, NumericTrait(node.lat_trait));
    TAILOR_ASSIGN_OR_RETURN(const TraitColumn* lon, NumericTrait(node.lon_trait));
    const double to_radians = M_PI / 180;
    const double lat0 = node.center_lat * to_radians, lon0 = node.center_lon * to_radians;
    const double cos_lat0 = std::cos(lat0);
    auto value = [](const TraitColumn* column, ProfileId id) {
      return column->type == TraitType::kDouble ? column->doubles[id]
                                                : static_cast<double>(column->ints[id]);
    };
    return Select(candidates, [&](ProfileId id) {
      if (!lat->present.Test(id) || !lon->present.Test(id)) return false;
      const double lat1 = value(lat, id) * to_radians, lon1 = value(lon, id) * to_radians;
      const double a = std::pow(std::sin((lat1 - lat0) / 2), 2) +
                       cos_lat0 * std::cos(lat1) * std::pow(std::sin((lon1 - lon0) / 2), 2);
      return 2 * kEarthRadiusKm * std::asin(std::sqrt(a)) <= node.radius_km;
    });
  }

  Result<Bits> EvalNode(const TimeCondition& node, const Bits& candidates) {
    const Window window = MakeWindow(node.range, context_.now);
    if (node.subject.kind == SubjectKind::kTrait) {
      TAILOR_ASSIGN_OR_RETURN(const TraitColumn* column, Trait(node.subject.name));
      if (column->type != TraitType::kTimestamp) {
        return InvalidArgument("trait '{}' is not a timestamp", node.subject.name);
      }
      return Select(candidates, [&](ProfileId id) {
        return column->present.Test(id) && window.Contains(column->ints[id]);
      });
    }
    TAILOR_ASSIGN_OR_RETURN(CompiledEventSet set, CompileSet(node.subject.events));
    const bool first = node.subject.kind == SubjectKind::kFirst;
    return Select(candidates, [&](ProfileId id) {
      Timestamp time = 0;
      return AnchorTime(set, id, first, time) && window.Contains(time);
    });
  }

  Result<Bits> EvalNode(const Occurrence& node, const Bits& candidates) {
    TAILOR_ASSIGN_OR_RETURN(CompiledEventSet set, CompileSet(node.events));
    return Select(candidates, [&](ProfileId id) {
      bool found = false;
      if (!set.Impossible()) {
        for (size_t row = events_.offsets[id]; row < events_.offsets[id + 1]; ++row) {
          if (set.Match(events_, row)) {
            found = true;
            break;
          }
        }
      }
      return found == node.ever;
    });
  }

  Result<Bits> EvalNode(const Sequence& node, const Bits& candidates) {
    TAILOR_ASSIGN_OR_RETURN(CompiledEventSet anchor, CompileSet(node.anchor.events));
    TAILOR_ASSIGN_OR_RETURN(CompiledEventSet next, CompileSet(node.next));
    const bool first = node.anchor.kind == SubjectKind::kFirst;
    return Select(candidates, [&](ProfileId id) {
      Timestamp anchor_time = 0;
      if (!AnchorTime(anchor, id, first, anchor_time)) return false;
      bool followed = false;
      if (!next.Impossible()) {
        for (size_t row = events_.offsets[id]; row < events_.offsets[id + 1]; ++row) {
          if (events_.time[row] > anchor_time && next.Match(events_, row)) {
            followed = true;
            break;
          }
        }
      }
      return followed != node.negated;
    });
  }

  Result<Bits> EvalNode(const Comparison& node, const Bits& candidates) {
    if (node.subject.kind == SubjectKind::kTrait) return TraitComparison(node, candidates);
    if (node.subject.kind == SubjectKind::kField) {
      return InvalidArgument("event field '{}' outside a where filter", node.subject.name);
    }
    if (node.subject.kind == SubjectKind::kSignal) return SignalComparison(node, candidates);
    return AggregateComparison(node, candidates);
  }

  // Signals are computed from each candidate's events, rebuilt from the columns the signals
  // read into reused per-thread events, by the same code the row evaluator runs.
  Result<Bits> SignalComparison(const Comparison& node, const Bits& candidates) {
    const Subject& subject = node.subject;
    const signals::SignalDef* signal = signals::FindSignal(subject.name);
    if (signal == nullptr) return InvalidArgument("unknown signal '{}'", subject.name);
    std::vector<const snapshot::EventStringColumn*> fields;
    for (const std::string& name : signals::SignalEventFields()) {
      auto it = events_.extra.find(name);
      if (it == events_.extra.end()) {
        return FailedPrecondition(
            "the snapshot has no event field '{}' (signals read it): rebuild it with that field",
            name);
      }
      fields.push_back(&it->second);
    }
    const CompareOp op = node.op;
    const bool presence = op == CompareOp::kExists || op == CompareOp::kMissing;
    const bool text = signal->type == TraitType::kString;
    std::optional<NumericTest> test;
    if (!presence && !text) {
      TAILOR_ASSIGN_OR_RETURN(test, MakeNumericTest(node, false));
    }
    const bool session = signals::IsSessionSignal(subject.name);
    // An affinity reads the type, time, item, category, price, page and brand alone.
    const bool affinity_only = subject.name == "affinity";
    // Where they are now reads their home traits and the store list.
    const TraitColumn* home[2] = {nullptr, nullptr};
    if (signals::IsPlaceSignal(subject.name)) {
      home[0] = snapshot_.trait(signals::kHomeLatitudeTrait);
      home[1] = snapshot_.trait(signals::kHomeLongitudeTrait);
    }
    const auto coordinate = [](const TraitColumn* column, ProfileId id) -> std::optional<double> {
      if (column == nullptr || !column->present.Test(id)) return std::nullopt;
      if (column->type == TraitType::kDouble) return column->doubles[id];
      if (column->type == TraitType::kInt) return static_cast<double>(column->ints[id]);
      if (column->type == TraitType::kString) {
        return ParseDouble(column->dictionary[column->codes[id]]);
      }
      return std::nullopt;
    };
    return Select(candidates, [&](ProfileId id) {
      const std::span<const EventInput> events = EventsOf(id, fields, session, affinity_only);
      signals::PlaceContext place;
      place.stores = context_.stores;
      if (home[0] != nullptr && home[1] != nullptr) {
        const std::optional<double> lat = coordinate(home[0], id), lon = coordinate(home[1], id);
        if (lat && lon) place.home = signals::PointIf(*lat, *lon);
      }
      signals::SignalValues values(events, context_.now, place);
      const std::optional<TypedValue> value = values.Get(subject.name, subject.arguments);
      if (presence) return value.has_value() == (op == CompareOp::kExists);
      if (!value) return false;
      if (text) {
        const auto* s = std::get_if<std::string>(&value->value);
        return s != nullptr && StringPasses(*s, op, node.values);
      }
      if (const auto* d = std::get_if<double>(&value->value)) return (*test)(*d);
      if (const auto* i = std::get_if<int64_t>(&value->value)) {
        return (*test)(static_cast<double>(*i));
      }
      return false;
    });
  }

  // Profile `id`'s events with the fields signals read (SignalEventFields, in that order in
  // `fields`), in this thread's reused storage; valid until its next call on the thread.
  // `session_tail`: only the run of events until now without a gap of a session's length, which
  // holds the session under way if there is one (all its events, messages between them too),
  // and their last event of their own before it (whether they are returning).
  std::span<const EventInput> EventsOf(
      ProfileId id, const std::vector<const snapshot::EventStringColumn*>& fields,
      bool session_tail, bool affinity_only) const {
    thread_local std::vector<EventInput> pool;
    if (static_cast<size_t>(id) + 1 >= events_.offsets.size()) return {};
    uint64_t begin = events_.offsets[id], end = events_.offsets[id + 1];
    if (session_tail) {
      while (end > begin && events_.time[end - 1] > context_.now) --end;
      uint64_t first = end;
      while (first > begin && (first == end || events_.time[first] - events_.time[first - 1] <=
                                                   signals::kSessionGapMs)) {
        --first;
      }
      // The latest event of their own before the run (messages sent to them are not).
      while (first > begin) {
        --first;
        if (signals::IsOwnEventType(events_.types[events_.type[first]])) break;
      }
      begin = first;
    }
    if (pool.size() < end - begin) pool.resize(end - begin);
    const auto text = [](const snapshot::EventStringColumn& column, uint64_t row,
                         std::string& out) {
      const uint32_t code = column.codes[row];
      if (code == kNullCode) {
        out.clear();
      } else {
        out.assign(column.dictionary[code]);
      }
    };
    static constexpr std::string_view kProperties[] = {
        "brand", "query", "sort", "campaign", "latitude", "longitude", "accuracy_km"};
    for (uint64_t row = begin; row < end; ++row) {
      EventInput& e = pool[row - begin];
      e.type.assign(events_.types[events_.type[row]]);
      e.time = events_.time[row];
      text(events_.item, row, e.item_id);
      text(events_.category, row, e.category);
      e.price = events_.price[row] == kNoAmount
                    ? std::nullopt
                    : std::optional<Decimal>(Decimal::FromMicros(events_.price[row]));
      e.quantity = events_.quantity[row] == kNoQuantity
                       ? std::nullopt
                       : std::optional<int64_t>(events_.quantity[row]);
      text(*fields[1], row, e.context.page_url);
      e.properties.clear();
      if (affinity_only) {
        if (const uint32_t code = fields[8]->codes[row]; code != kNullCode) {
          e.properties.emplace_back("brand", std::string(fields[8]->dictionary[code]));
        }
        continue;
      }
      text(*fields[0], row, e.order_id);
      text(*fields[2], row, e.context.referrer);
      text(*fields[3], row, e.context.utm_source);
      text(*fields[4], row, e.context.utm_medium);
      text(*fields[5], row, e.context.utm_campaign);
      text(*fields[6], row, e.context.country);
      text(*fields[7], row, e.context.city);
      for (size_t p = 0; p < std::size(kProperties); ++p) {
        const uint32_t code = fields[8 + p]->codes[row];
        if (code != kNullCode) {
          e.properties.emplace_back(std::string(kProperties[p]),
                                    std::string(fields[8 + p]->dictionary[code]));
        }
      }
    }
    return std::span<const EventInput>(pool.data(), end - begin);
  }

  Result<Bits> TraitComparison(const Comparison& node, const Bits& candidates) {
    TAILOR_ASSIGN_OR_RETURN(const TraitColumn* column, Trait(node.subject.name));
    const CompareOp op = node.op;
    if (op == CompareOp::kExists || op == CompareOp::kMissing) {
      const bool want = op == CompareOp::kExists;
      return Select(candidates, [&](ProfileId id) { return column->present.Test(id) == want; });
    }
    switch (column->type) {
      case TraitType::kString: {
        const std::vector<uint8_t> accept = AcceptTable(column->dictionary, op, node.values);
        return Select(candidates, [&](ProfileId id) {
          const uint32_t code = column->codes[id];
          return code != kNullCode && accept[code];
        });
      }
      case TraitType::kStringList: {
        // contains / = / in: some element passes; not in / !=: present and no element is equal.
        const bool negative = op == CompareOp::kNotIn || op == CompareOp::kNe;
        const CompareOp element_op = op == CompareOp::kContains || op == CompareOp::kEq
                                         ? CompareOp::kEq
                                     : op == CompareOp::kNotIn ? CompareOp::kIn
                                     : op == CompareOp::kNe    ? CompareOp::kEq
                                                               : op;
        const std::vector<uint8_t> accept =
            AcceptTable(column->dictionary, element_op, node.values);
        return Select(candidates, [&](ProfileId id) {
          if (!column->present.Test(id)) return false;
          bool any = false;
          for (uint32_t i = column->list_offsets[id]; i < column->list_offsets[id + 1]; ++i) {
            if (accept[column->list_codes[i]]) {
              any = true;
              break;
            }
          }
          return any != negative;
        });
      }
      case TraitType::kInt:
      case TraitType::kTimestamp:
      case TraitType::kBool: {
        TAILOR_ASSIGN_OR_RETURN(NumericTest test,
                                MakeNumericTest(node, column->type == TraitType::kTimestamp));
        return Select(candidates, [&](ProfileId id) {
          return column->present.Test(id) && test(static_cast<double>(column->ints[id]));
        });
      }
      case TraitType::kDouble: {
        TAILOR_ASSIGN_OR_RETURN(NumericTest test, MakeNumericTest(node, false));
        return Select(candidates, [&](ProfileId id) {
          return column->present.Test(id) && test(column->doubles[id]);
        });
      }
    }
    return Internal("unhandled trait type");
  }

  Result<Bits> AggregateComparison(const Comparison& node, const Bits& candidates) {
    const Subject& subject = node.subject;
    TAILOR_ASSIGN_OR_RETURN(CompiledEventSet set, CompileSet(subject.events));
    const bool time_subject =
        subject.kind == SubjectKind::kFirst || subject.kind == SubjectKind::kLast;
    TAILOR_ASSIGN_OR_RETURN(NumericTest test, MakeNumericTest(node, time_subject));
    if (node.op == CompareOp::kExists || node.op == CompareOp::kMissing) {
      test.op = node.op;
    }
    std::optional<FieldRef> field;
    if (!subject.name.empty()) {
      TAILOR_ASSIGN_OR_RETURN(field, ResolveField(subject.name));
    }
    std::vector<int64_t> item_amounts;
    if (field && field->kind == FieldRef::Kind::kItemAttribute) {
      TAILOR_ASSIGN_OR_RETURN(item_amounts, ItemAmounts(field->attribute));
    }
    auto amount = [&](size_t row) {
      if (field->kind == FieldRef::Kind::kItemAttribute) {
        const uint32_t code = events_.item.codes[row];
        return code == kNullCode ? kNoAmount : item_amounts[code];
      }
      return AmountAt(events_, field->kind, row);
    };
    const SubjectKind kind = subject.kind;
    // sum, avg, min and max are exact (micros; avg as the ratio sum / present).
    const bool exact = kind == SubjectKind::kSum || kind == SubjectKind::kAvg ||
                       kind == SubjectKind::kMin || kind == SubjectKind::kMax;
    AmountTest amount_test;
    if (exact && test.op != CompareOp::kExists && test.op != CompareOp::kMissing) {
      TAILOR_ASSIGN_OR_RETURN(amount_test, MakeAmountTest(node));
    }
    return Select(candidates, [&](ProfileId id) {
      uint64_t count = 0;
      __int128 sum = 0;
      int64_t low = INT64_MAX, high = INT64_MIN;
      int64_t present = 0;
      Timestamp first = 0, last = 0;
      std::vector<uint32_t> distinct_codes;
      std::vector<int64_t> distinct_amounts;
      if (!set.Impossible()) {
        for (size_t row = events_.offsets[id]; row < events_.offsets[id + 1]; ++row) {
          if (!set.Match(events_, row)) continue;
          if (count == 0) first = events_.time[row];
          last = events_.time[row];
          ++count;
          if (kind == SubjectKind::kDistinct && field->kind == FieldRef::Kind::kString) {
            const uint32_t code = field->strings->codes[row];
            if (code != kNullCode && std::find(distinct_codes.begin(), distinct_codes.end(),
                                               code) == distinct_codes.end()) {
              distinct_codes.push_back(code);
            }
          } else if (field) {
            const int64_t x = amount(row);
            if (x == kNoAmount) continue;
            ++present;
            sum += x;
            low = std::min(low, x);
            high = std::max(high, x);
            if (kind == SubjectKind::kDistinct &&
                std::find(distinct_amounts.begin(), distinct_amounts.end(), x) ==
                    distinct_amounts.end()) {
              distinct_amounts.push_back(x);
            }
          }
        }
      }
      if (exact) {
        // sum of nothing is 0; avg, min, max of nothing are missing.
        const bool has_value = kind == SubjectKind::kSum || present > 0;
        if (test.op == CompareOp::kExists) return has_value;
        if (test.op == CompareOp::kMissing) return !has_value;
        if (!has_value) return false;
        switch (kind) {
          case SubjectKind::kSum:
            return amount_test.Match(sum);
          case SubjectKind::kAvg:
            return amount_test.Match(sum, present);
          case SubjectKind::kMin:
            return amount_test.Match(low);
          default:
            return amount_test.Match(high);
        }
      }
      std::optional<double> value;
      switch (kind) {
        case SubjectKind::kCount:
          value = static_cast<double>(count);
          break;
        case SubjectKind::kDistinct:
          value = static_cast<double>(distinct_codes.size() + distinct_amounts.size());
          break;
        case SubjectKind::kFirst:
          if (count > 0) value = static_cast<double>(first);
          break;
        case SubjectKind::kLast:
          if (count > 0) value = static_cast<double>(last);
          break;
        default:
          break;
      }
      if (test.op == CompareOp::kExists) return value.has_value();
      if (test.op == CompareOp::kMissing) return !value.has_value();
      return value.has_value() && test(*value);
    });
  }

  // The time of the first or last event of `set`; false when there is none.
  bool AnchorTime(const CompiledEventSet& set, ProfileId id, bool first, Timestamp& time) const {
    if (set.Impossible()) return false;
    const size_t begin = events_.offsets[id], end = events_.offsets[id + 1];
    if (first) {
      for (size_t row = begin; row < end; ++row) {
        if (set.Match(events_, row)) {
          time = events_.time[row];
          return true;
        }
      }
    } else {
      for (size_t row = end; row > begin; --row) {
        if (set.Match(events_, row - 1)) {
          time = events_.time[row - 1];
          return true;
        }
      }
    }
    return false;
  }

  Result<CompiledEventSet> CompileSet(const EventSet& events) {
    CompiledEventSet set;
    set.any_type = events.event_type.empty();
    if (!set.any_type) set.type = events_.types.Find(events.event_type);
    if (events.window) set.window = MakeWindow(*events.window, context_.now);
    if (events.filter) {
      TAILOR_ASSIGN_OR_RETURN(set.filter, CompileFilter(**events.filter, 0));
    }
    return set;
  }

  Result<EventFilter> CompileFilter(const Expr& expr, int depth) {
    if (depth > kMaxRuleDepth) return InvalidArgument("filter nested too deeply");
    EventFilter filter;
    if (const auto* node = std::get_if<And>(&expr.node)) {
      filter.kind = EventFilter::Kind::kAnd;
      for (const Expr& operand : node->operands) {
        TAILOR_ASSIGN_OR_RETURN(EventFilter child, CompileFilter(operand, depth + 1));
        filter.children.push_back(std::move(child));
      }
      return filter;
    }
    if (const auto* node = std::get_if<Or>(&expr.node)) {
      filter.kind = EventFilter::Kind::kOr;
      for (const Expr& operand : node->operands) {
        TAILOR_ASSIGN_OR_RETURN(EventFilter child, CompileFilter(operand, depth + 1));
        filter.children.push_back(std::move(child));
      }
      return filter;
    }
    if (const auto* node = std::get_if<Not>(&expr.node)) {
      filter.kind = EventFilter::Kind::kNot;
      TAILOR_ASSIGN_OR_RETURN(EventFilter child, CompileFilter(*node->operand, depth + 1));
      filter.children.push_back(std::move(child));
      return filter;
    }
    const auto* comparison = std::get_if<Comparison>(&expr.node);
    if (comparison == nullptr || comparison->subject.kind != SubjectKind::kField) {
      return InvalidArgument("a where filter compares event fields only");
    }
    TAILOR_ASSIGN_OR_RETURN(FieldRef field, ResolveField(comparison->subject.name));
    const CompareOp op = comparison->op;
    const bool presence = op == CompareOp::kExists || op == CompareOp::kMissing;
    if (field.kind == FieldRef::Kind::kString) {
      filter.codes = &field.strings->codes;
      if (presence) {
        filter.kind = EventFilter::Kind::kPresent;
        filter.want_present = op == CompareOp::kExists;
      } else {
        filter.kind = EventFilter::Kind::kCodes;
        filter.accept = AcceptTable(field.strings->dictionary, op, comparison->values);
      }
      return filter;
    }
    if (field.kind == FieldRef::Kind::kItemAttribute) {
      // Resolved per item: a table over item codes.
      if (context_.items == nullptr) {
        return FailedPrecondition("item.{} needs the item catalogue", field.attribute);
      }
      filter.kind = EventFilter::Kind::kCodes;
      filter.codes = &events_.item.codes;
      // An event without an item has every item attribute missing.
      filter.null_result = op == CompareOp::kMissing;
      const snapshot::Dictionary& items = events_.item.dictionary;
      filter.accept.assign(items.size(), 0);
      for (uint32_t code = 0; code < items.size(); ++code) {
        filter.accept[code] = ItemPasses(items[code], field.attribute, *comparison) ? 1 : 0;
      }
      return filter;
    }
    filter.number_kind = field.kind;
    if (presence) {
      filter.kind = EventFilter::Kind::kPresent;
      filter.want_present = op == CompareOp::kExists;
      return filter;
    }
    filter.kind = EventFilter::Kind::kNumber;
    TAILOR_ASSIGN_OR_RETURN(filter.test, MakeAmountTest(*comparison));
    return filter;
  }

  // Whether item `item_id`'s attribute passes the comparison (missing item or value: no).
  bool ItemPasses(std::string_view item_id, const std::string& attribute,
                  const Comparison& comparison) const {
    auto it = context_.items->find(std::string(item_id));
    if (it == context_.items->end()) return comparison.op == CompareOp::kMissing;
    const ItemInput& item = it->second;
    std::optional<TypedValue> value;
    if (attribute == "name") {
      if (!item.name.empty()) value = TypedValue{TraitType::kString, item.name};
    } else if (attribute == "category") {
      if (!item.category.empty()) value = TypedValue{TraitType::kString, item.category};
    } else if (attribute == "price") {
      if (item.price) value = TypedValue{TraitType::kDouble, item.price->ToDouble()};
    } else {
      for (const auto& [name, attribute_value] : item.attributes) {
        if (name == attribute && !std::holds_alternative<std::monostate>(attribute_value.value)) {
          value = attribute_value;
        }
      }
    }
    if (comparison.op == CompareOp::kExists) return value.has_value();
    if (comparison.op == CompareOp::kMissing) return !value.has_value();
    if (!value) return false;
    if (const auto* text = std::get_if<std::string>(&value->value)) {
      return StringPasses(*text, comparison.op, comparison.values);
    }
    if (const auto* list = std::get_if<StringList>(&value->value)) {
      const bool negative = comparison.op == CompareOp::kNotIn || comparison.op == CompareOp::kNe;
      const CompareOp element_op =
          comparison.op == CompareOp::kNotIn ? CompareOp::kIn
          : (comparison.op == CompareOp::kContains || comparison.op == CompareOp::kNe)
              ? CompareOp::kEq
              : comparison.op;
      const bool any = std::any_of(list->begin(), list->end(), [&](const std::string& element) {
        return StringPasses(element, element_op, comparison.values);
      });
      return any != negative;
    }
    auto test = MakeNumericTest(comparison, value->type == TraitType::kTimestamp);
    if (!test.ok()) return false;
    double x = 0;
    if (const auto* number = std::get_if<int64_t>(&value->value)) x = static_cast<double>(*number);
    if (const auto* number = std::get_if<double>(&value->value)) x = *number;
    if (const auto* flag = std::get_if<bool>(&value->value)) x = *flag ? 1 : 0;
    return (*test)(x);
  }

  // A numeric item attribute by item code in micros (kNoAmount when missing), for sum/avg/... of
  // item.<x>. Prices are exact; double attributes are taken at 6 decimals (ItemAmount).
  Result<std::vector<int64_t>> ItemAmounts(const std::string& attribute) const {
    if (context_.items == nullptr)
      return FailedPrecondition("item.{} needs the item catalogue", attribute);
    const snapshot::Dictionary& items = events_.item.dictionary;
    std::vector<int64_t> amounts(items.size(), kNoAmount);
    for (uint32_t code = 0; code < items.size(); ++code) {
      auto it = context_.items->find(std::string(items[code]));
      if (it == context_.items->end()) continue;
      if (const std::optional<Decimal> amount = ItemAmount(it->second, attribute)) {
        amounts[code] = amount->micros();
      }
    }
    return amounts;
  }

  Result<FieldRef> ResolveField(const std::string& name) const {
    if (name == "price") return FieldRef{FieldRef::Kind::kPrice};
    if (name == "value") return FieldRef{FieldRef::Kind::kValue};
    if (name == "quantity") return FieldRef{FieldRef::Kind::kQuantity};
    if (name == "spend") return FieldRef{FieldRef::Kind::kSpend};
    if (name == "item_id") return FieldRef{FieldRef::Kind::kString, &events_.item};
    if (name == "category") return FieldRef{FieldRef::Kind::kString, &events_.category};
    if (name.starts_with("item.")) {
      FieldRef field{FieldRef::Kind::kItemAttribute};
      field.attribute = name.substr(5);
      return field;
    }
    auto it = events_.extra.find(name);
    if (it == events_.extra.end()) {
      return FailedPrecondition("the snapshot has no event field '{}': rebuild it with that field",
                                name);
    }
    return FieldRef{FieldRef::Kind::kString, &it->second};
  }

  Result<const TraitColumn*> Trait(const std::string& name) const {
    const TraitColumn* column = snapshot_.trait(name);
    if (column == nullptr) return InvalidArgument("unknown trait '{}'", name);
    return column;
  }
  Result<const TraitColumn*> NumericTrait(const std::string& name) const {
    TAILOR_ASSIGN_OR_RETURN(const TraitColumn* column, Trait(name));
    if (column->type != TraitType::kDouble && column->type != TraitType::kInt) {
      return InvalidArgument("trait '{}' is not a number", name);
    }
    return column;
  }

  // Rough cost of evaluating `expr` per profile: traits are one lookup, event conditions a
  // scan of the profile's events.
  static int Cost(const Expr& expr) {
    return std::visit(
        [](const auto& node) -> int {
          using Node = std::decay_t<decltype(node)>;
          if constexpr (std::is_same_v<Node, Comparison>) {
            if (node.subject.kind == SubjectKind::kSignal) return 40;  // a fold of the history
            return node.subject.kind == SubjectKind::kTrait ? 1 : 10;
          } else if constexpr (std::is_same_v<Node, TimeCondition>) {
            return node.subject.kind == SubjectKind::kTrait ? 1 : 10;
          } else if constexpr (std::is_same_v<Node, GeoCondition>) {
            return 2;
          } else if constexpr (std::is_same_v<Node, SegmentRef>) {
            return 0;
          } else if constexpr (std::is_same_v<Node, And> || std::is_same_v<Node, Or>) {
            int total = 0;
            for (const Expr& operand : node.operands) total += Cost(operand);
            return total;
          } else if constexpr (std::is_same_v<Node, Not>) {
            return Cost(*node.operand);
          } else {
            return 10;
          }
        },
        expr.node);
  }

  const EvalContext& context_;
  const Snapshot& snapshot_;
  const EventColumns& events_;
};

void CollectFields(const Expr& expr, std::vector<std::string>& fields);

void CollectSetFields(const EventSet& events, std::vector<std::string>& fields) {
  if (events.filter) CollectFields(**events.filter, fields);
}

void AddField(const std::string& name, std::vector<std::string>& fields) {
  static const std::vector<std::string> kBuiltIn = {"price", "value",   "quantity",
                                                    "spend", "item_id", "category"};
  if (name.empty() || name.starts_with("item.")) return;
  if (std::find(kBuiltIn.begin(), kBuiltIn.end(), name) != kBuiltIn.end()) return;
  if (std::find(fields.begin(), fields.end(), name) == fields.end()) fields.push_back(name);
}

void CollectSubject(const Subject& subject, std::vector<std::string>& fields) {
  if (subject.kind == SubjectKind::kSignal) {
    for (const std::string& field : signals::SignalEventFields()) AddField(field, fields);
    return;
  }
  if (subject.kind != SubjectKind::kTrait) AddField(subject.name, fields);
  CollectSetFields(subject.events, fields);
}

void CollectFields(const Expr& expr, std::vector<std::string>& fields) {
  std::visit(
      [&](const auto& node) {
        using Node = std::decay_t<decltype(node)>;
        if constexpr (std::is_same_v<Node, Comparison> || std::is_same_v<Node, TimeCondition>) {
          CollectSubject(node.subject, fields);
        } else if constexpr (std::is_same_v<Node, Occurrence>) {
          CollectSetFields(node.events, fields);
        } else if constexpr (std::is_same_v<Node, Sequence>) {
          CollectSubject(node.anchor, fields);
          CollectSetFields(node.next, fields);
        } else if constexpr (std::is_same_v<Node, And> || std::is_same_v<Node, Or>) {
          for (const Expr& operand : node.operands) CollectFields(operand, fields);
        } else if constexpr (std::is_same_v<Node, Not>) {
          CollectFields(*node.operand, fields);
        }
      },
      expr.node);
}

}  // namespace

void SharedConditions::Count(const Rule& rule) {
  std::unordered_map<std::string, int> in_rule;  // each leaf once per rule
  CountLeaves(rule.root, in_rule);
  for (const auto& [text, one] : in_rule) uses[text] += one;
}

Result<ProfileSet> Evaluate(const Rule& rule, const EvalContext& context) {
  if (context.snapshot == nullptr) return InvalidArgument("no snapshot to evaluate on");
  Evaluator evaluator(context);
  const Bits known = evaluator.Known();
  TAILOR_ASSIGN_OR_RETURN(Bits matched, evaluator.Eval(rule.root, known));
  ProfileSet members;
  std::vector<uint32_t> ids;
  for (size_t w = 0; w < matched.words.size(); ++w) {
    uint64_t word = matched.words[w];
    while (word != 0) {
      ids.push_back(static_cast<uint32_t>(w * 64 + std::countr_zero(word)));
      word &= word - 1;
    }
  }
  members.addMany(ids.size(), ids.data());
  members.runOptimize();
  return members;
}

std::vector<std::string> RequiredEventFields(const Rule& rule) {
  std::vector<std::string> fields;
  CollectFields(rule.root, fields);
  return fields;
}

}  // namespace tailor::segments

#include "segments/parser.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

namespace tailor::segments {
namespace {

// The event functions, in the order of SubjectKind (their words come from SubjectFunctionText).
constexpr std::array<SubjectKind, 8> kEventFunctions = {
    SubjectKind::kCount, SubjectKind::kSum,      SubjectKind::kAvg,   SubjectKind::kMin,
    SubjectKind::kMax,   SubjectKind::kDistinct, SubjectKind::kFirst, SubjectKind::kLast};

bool TakesField(SubjectKind kind) {
  return kind == SubjectKind::kSum || kind == SubjectKind::kAvg || kind == SubjectKind::kMin ||
         kind == SubjectKind::kMax || kind == SubjectKind::kDistinct;
}

bool IsOccurrenceTime(SubjectKind kind) {
  return kind == SubjectKind::kFirst || kind == SubjectKind::kLast;
}

// Counts one level of nesting for as long as it lives.
class DepthGuard {
 public:
  explicit DepthGuard(int& depth) : depth_(depth) { ++depth_; }
  ~DepthGuard() { --depth_; }
  DepthGuard(const DepthGuard&) = delete;
  DepthGuard& operator=(const DepthGuard&) = delete;
  bool Exceeded() const { return depth_ > kMaxRuleDepth; }

 private:
  int& depth_;
};

}  // namespace

Result<Rule> ParseRule(std::string_view text) {
  TAILOR_ASSIGN_OR_RETURN(const std::vector<Token> tokens, Tokenize(text));
  return Parser(tokens).ParseWhole();
}

Result<Rule> Parser::ParseWhole() {
  TAILOR_ASSIGN_OR_RETURN(Expr root, ParseOr(Context::kProfile));
  if (Peek().kind != TokenKind::kEnd) return Expected("'and', 'or' or end of rule");
  return Rule{std::move(root)};
}

const Token& Parser::Peek(size_t ahead) const {
  // The last token is kEnd; looking past it keeps returning it.
  return tokens_[std::min(next_ + ahead, tokens_.size() - 1)];
}

const Token& Parser::Take() {
  const Token& token = Peek();
  if (next_ < tokens_.size() - 1) ++next_;
  return token;
}

bool Parser::AtKeyword(std::string_view keyword, size_t ahead) const {
  return IsKeyword(Peek(ahead), keyword);
}

bool Parser::TakeKeyword(std::string_view keyword) {
  if (!AtKeyword(keyword)) return false;
  Take();
  return true;
}

Status Parser::ExpectKeyword(std::string_view keyword) {
  if (TakeKeyword(keyword)) return Status::Ok();
  return Expected(fmt::format("'{}'", keyword));
}

Status Parser::Expect(TokenKind kind, std::string_view what) {
  if (Peek().kind != kind) return Expected(what);
  Take();
  return Status::Ok();
}

Status Parser::Expected(std::string_view what) const {
  const Token& token = Peek();
  return InvalidArgument("{}:{}: expected {}, found {}", token.pos.line, token.pos.column, what,
                         DescribeToken(token));
}

Status Parser::TooDeep() const {
  const SourcePos pos = Peek().pos;
  return InvalidArgument(
      "{}:{}: expected at most {} levels of nesting (parentheses, 'not', "
      "'where')",
      pos.line, pos.column, kMaxRuleDepth);
}

bool Parser::AtName(size_t ahead) const {
  const Token& token = Peek(ahead);
  return token.kind == TokenKind::kQuotedName ||
         (token.kind == TokenKind::kWord && !IsReservedWord(token.text));
}

Result<Expr> Parser::ParseOr(Context context) {
  DepthGuard guard(depth_);
  if (guard.Exceeded()) return TooDeep();
  TAILOR_ASSIGN_OR_RETURN(Expr first, ParseAnd(context));
  if (!AtKeyword("or")) return first;
  Or node;
  node.operands.push_back(std::move(first));
  while (TakeKeyword("or")) {
    TAILOR_ASSIGN_OR_RETURN(Expr next, ParseAnd(context));
    node.operands.push_back(std::move(next));
  }
  return Expr{std::move(node)};
}

Result<Expr> Parser::ParseAnd(Context context) {
  TAILOR_ASSIGN_OR_RETURN(Expr first, ParseUnary(context));
  if (!AtKeyword("and")) return first;
  And node;
  node.operands.push_back(std::move(first));
  while (TakeKeyword("and")) {
    TAILOR_ASSIGN_OR_RETURN(Expr next, ParseUnary(context));
    node.operands.push_back(std::move(next));
  }
  return Expr{std::move(node)};
}

Result<Expr> Parser::ParseUnary(Context context) {
  if (!AtKeyword("not")) return ParsePrimary(context);
  DepthGuard guard(depth_);
  if (guard.Exceeded()) return TooDeep();
  const SourcePos pos = Take().pos;
  TAILOR_ASSIGN_OR_RETURN(Expr operand, ParseUnary(context));
  return Expr{Not{std::move(operand), pos}};
}

Result<Expr> Parser::ParsePrimary(Context context) {
  const Token& token = Peek();
  if (token.kind == TokenKind::kLeftParen) {
    Take();
    TAILOR_ASSIGN_OR_RETURN(Expr inner, ParseOr(context));
    TAILOR_RETURN_IF_ERROR(Expect(TokenKind::kRightParen, "'and', 'or' or ')'"));
    return inner;
  }
  if (context == Context::kProfile) {
    if (AtKeyword("in")) {
      const SourcePos pos = Take().pos;
      TAILOR_RETURN_IF_ERROR(ExpectKeyword("segment"));
      if (Peek().kind != TokenKind::kString) return Expected("a segment name in quotes");
      return Expr{SegmentRef{Take().text, pos}};
    }
    // Function words are keywords only right before '(' (and `location` before `within`), so
    // a trait may still be called `count` or `last`.
    const bool call = token.kind == TokenKind::kWord && Peek(1).kind == TokenKind::kLeftParen;
    if (call) {
      for (SubjectKind function : kEventFunctions) {
        if (!IsKeyword(token, SubjectFunctionText(function))) continue;
        TAILOR_ASSIGN_OR_RETURN(Subject subject, ParseEventFunction(function));
        return ParseConditionTail(std::move(subject), context);
      }
      if (AtKeyword("affinity") || AtKeyword("open_rate") || AtKeyword("click_rate")) {
        TAILOR_ASSIGN_OR_RETURN(Subject subject, ParseSignalCall());
        return ParseConditionTail(std::move(subject), context);
      }
      if (AtKeyword("ever")) return ParseOccurrence(/*ever=*/true);
      if (AtKeyword("never")) return ParseOccurrence(/*ever=*/false);
      if (AtKeyword("location")) return ParseGeo();
      if (AtName()) {
        return Expected(
            "count, sum, avg, min, max, distinct, first, last, ever, never, location, "
            "affinity, open_rate or click_rate before '('");
      }
    }
    // Signal paths: `session.events`, `first_touch.source`, `place.distance_store_km` (a trait
    // is never followed by '.').
    if (token.kind == TokenKind::kWord && Peek(1).kind == TokenKind::kDot &&
        (AtKeyword("session") || AtKeyword("first_touch") || AtKeyword("last_touch") ||
         AtKeyword("place"))) {
      TAILOR_ASSIGN_OR_RETURN(Subject subject, ParseSignalPath());
      return ParseConditionTail(std::move(subject), context);
    }
    const Token& after = Peek(2);
    if (AtKeyword("location") && AtKeyword("within", 1) &&
        (after.kind == TokenKind::kInteger || after.kind == TokenKind::kDecimal)) {
      return ParseGeo();
    }
  }
  if (!AtName()) {
    return Expected(context == Context::kProfile ? "a condition" : "a condition on an event field");
  }
  Subject subject;
  subject.pos = token.pos;
  if (context == Context::kProfile) {
    subject.kind = SubjectKind::kTrait;
    subject.name = Take().text;
  } else {
    subject.kind = SubjectKind::kField;
    TAILOR_ASSIGN_OR_RETURN(subject.name, ParseFieldPath());
  }
  return ParseConditionTail(std::move(subject), context);
}

Result<Expr> Parser::ParseConditionTail(Subject subject, Context context) {
  const Token& token = Peek();
  const bool profile = context == Context::kProfile;
  Comparison comparison;
  comparison.op_pos = token.pos;
  bool parsed = true;
  switch (token.kind) {
    case TokenKind::kEq:
      comparison.op = CompareOp::kEq;
      break;
    case TokenKind::kNe:
      comparison.op = CompareOp::kNe;
      break;
    case TokenKind::kLt:
      comparison.op = CompareOp::kLt;
      break;
    case TokenKind::kLe:
      comparison.op = CompareOp::kLe;
      break;
    case TokenKind::kGt:
      comparison.op = CompareOp::kGt;
      break;
    case TokenKind::kGe:
      comparison.op = CompareOp::kGe;
      break;
    default:
      parsed = false;
  }
  if (parsed) {
    Take();
    TAILOR_ASSIGN_OR_RETURN(Literal value, ParseLiteral());
    comparison.values.push_back(std::move(value));
  } else if (AtKeyword("between")) {
    TimeUnit unit = TimeUnit::kDay;
    if (profile && Peek(1).kind == TokenKind::kInteger && AtKeyword("and", 2) &&
        Peek(3).kind == TokenKind::kInteger && ParseTimeUnitWord(Peek(4), &unit)) {
      TAILOR_ASSIGN_OR_RETURN(TimeRange range, ParseWindow());
      return Expr{TimeCondition{std::move(subject), range}};
    }
    Take();
    comparison.op = CompareOp::kBetween;
    TAILOR_ASSIGN_OR_RETURN(Literal low, ParseLiteral());
    TAILOR_RETURN_IF_ERROR(ExpectKeyword("and"));
    TAILOR_ASSIGN_OR_RETURN(Literal high, ParseLiteral());
    comparison.values.push_back(std::move(low));
    comparison.values.push_back(std::move(high));
  } else if (AtKeyword("in")) {
    Take();
    comparison.op = CompareOp::kIn;
    TAILOR_RETURN_IF_ERROR(ParseList(comparison.values));
  } else if (AtKeyword("not") && AtKeyword("in", 1)) {
    Take();
    Take();
    comparison.op = CompareOp::kNotIn;
    TAILOR_RETURN_IF_ERROR(ParseList(comparison.values));
  } else if (profile && IsOccurrenceTime(subject.kind) &&
             (AtKeyword("followed") || (AtKeyword("not") && AtKeyword("followed", 1)))) {
    const bool negated = TakeKeyword("not");
    Take();
    TAILOR_RETURN_IF_ERROR(ExpectKeyword("by"));
    return ParseSequenceTail(std::move(subject), negated);
  } else if (AtKeyword("contains") || AtKeyword("starts_with")) {
    comparison.op = AtKeyword("contains") ? CompareOp::kContains : CompareOp::kStartsWith;
    Take();
    TAILOR_ASSIGN_OR_RETURN(Literal value, ParseLiteral());
    comparison.values.push_back(std::move(value));
  } else if (AtKeyword("exists") || AtKeyword("missing")) {
    comparison.op = AtKeyword("exists") ? CompareOp::kExists : CompareOp::kMissing;
    Take();
  } else if (profile && (AtKeyword("within") || AtKeyword("before") || AtKeyword("after"))) {
    const SourcePos pos = token.pos;
    if (TakeKeyword("within") && !AtKeyword("last")) return Expected("'last'");
    TAILOR_ASSIGN_OR_RETURN(TimeRange range, ParseWindow());
    range.pos = pos;
    return Expr{TimeCondition{std::move(subject), range}};
  } else {
    std::string operators =
        "=, !=, <, <=, >, >=, between, in, not in, contains, starts_with, exists";
    if (!profile) {
      operators += " or missing";
    } else if (IsOccurrenceTime(subject.kind)) {
      operators += ", missing, within, before, after, followed by or not followed by";
    } else {
      operators += ", missing, within, before or after";
    }
    return Expected("an operator (" + operators + ")");
  }
  comparison.subject = std::move(subject);
  return Expr{std::move(comparison)};
}

Result<Subject> Parser::ParseEventFunction(SubjectKind kind) {
  Subject subject;
  subject.kind = kind;
  subject.pos = Take().pos;  // the function word
  Take();                    // '('
  std::string* field = TakesField(kind) ? &subject.name : nullptr;
  TAILOR_RETURN_IF_ERROR(
      ParseEventSetBody(field != nullptr, /*with_window=*/true, subject.events, field));
  return subject;
}

namespace {

// A signal subject named by its (case-insensitive) first word, at that word.
Subject SignalAt(const Token& word) {
  Subject subject;
  subject.kind = SubjectKind::kSignal;
  subject.pos = word.pos;
  for (char c : word.text) {
    subject.name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return subject;
}

}  // namespace

Result<Subject> Parser::ParseSignalCall() {
  Subject subject = SignalAt(Take());
  Take();  // '('
  if (subject.name == "affinity") {
    // affinity("golf") is affinity(category, "golf").
    if (Peek().kind == TokenKind::kString) {
      subject.arguments = {"category", Take().text};
    } else if (AtName()) {
      std::string dimension = Take().text;
      TAILOR_RETURN_IF_ERROR(Expect(TokenKind::kComma, "','"));
      if (Peek().kind != TokenKind::kString) return Expected("a value in quotes");
      subject.arguments = {std::move(dimension), Take().text};
    } else {
      return Expected("a dimension (category, brand, price_band, item, page) or a value in quotes");
    }
  } else {
    if (Peek().kind != TokenKind::kString) {
      return Expected("a channel (\"email\", \"push\", \"sms\") or \"campaign:<name>\"");
    }
    subject.arguments = {Take().text};
  }
  TAILOR_RETURN_IF_ERROR(Expect(TokenKind::kRightParen, "')'"));
  return subject;
}

Result<Subject> Parser::ParseSignalPath() {
  Subject subject = SignalAt(Take());
  Take();  // '.'
  if (Peek().kind != TokenKind::kWord) return Expected("a name after '.'");
  subject.name += '.';
  subject.name += Take().text;
  return subject;
}

Status Parser::ParseEventSetBody(bool with_field, bool with_window, EventSet& events,
                                 std::string* field) {
  if (TakeKeyword("any")) {
    events.event_type.clear();
  } else if (AtName()) {
    events.event_type = Take().text;
  } else {
    return Expected("an event type (or any)");
  }
  if (with_field) {
    TAILOR_RETURN_IF_ERROR(Expect(TokenKind::kDot, "'.' and an event field, as in purchase.price"));
    TAILOR_ASSIGN_OR_RETURN(*field, ParseFieldPath());
  }
  if (TakeKeyword("where")) {
    TAILOR_ASSIGN_OR_RETURN(Expr filter, ParseOr(Context::kFilter));
    events.filter = Box<Expr>(std::move(filter));
  }
  if (with_window && Peek().kind == TokenKind::kComma) {
    Take();
    TAILOR_ASSIGN_OR_RETURN(events.window, ParseWindow());
  }
  if (Peek().kind == TokenKind::kRightParen) {
    Take();
    return Status::Ok();
  }
  std::string what;
  // `where` comes before the window, so once a window is read only ')' can follow.
  if (!events.filter && !events.window) what += "'where', ";
  if (with_window && !events.window) what += "',', ";
  return Expected(what.empty() ? "')'" : what.substr(0, what.size() - 2) + " or ')'");
}

Result<Expr> Parser::ParseOccurrence(bool ever) {
  Occurrence occurrence;
  occurrence.ever = ever;
  occurrence.pos = Take().pos;  // ever / never
  Take();                       // '('
  TAILOR_RETURN_IF_ERROR(
      ParseEventSetBody(/*with_field=*/false, /*with_window=*/true, occurrence.events, nullptr));
  return Expr{std::move(occurrence)};
}

Result<Expr> Parser::ParseGeo() {
  GeoCondition geo;
  geo.pos = Take().pos;  // location
  if (Peek().kind == TokenKind::kLeftParen) {
    Take();
    if (!AtName()) return Expected("a latitude trait");
    geo.lat_trait = Take().text;
    TAILOR_RETURN_IF_ERROR(Expect(TokenKind::kComma, "','"));
    if (!AtName()) return Expected("a longitude trait");
    geo.lon_trait = Take().text;
    TAILOR_RETURN_IF_ERROR(Expect(TokenKind::kRightParen, "')'"));
  }
  TAILOR_RETURN_IF_ERROR(ExpectKeyword("within"));
  TAILOR_ASSIGN_OR_RETURN(geo.radius_km, ParseCoordinate("a distance"));
  TAILOR_RETURN_IF_ERROR(ExpectKeyword("km"));
  TAILOR_RETURN_IF_ERROR(ExpectKeyword("of"));
  TAILOR_RETURN_IF_ERROR(Expect(TokenKind::kLeftParen, "'('"));
  TAILOR_ASSIGN_OR_RETURN(geo.center_lat, ParseCoordinate("a latitude"));
  TAILOR_RETURN_IF_ERROR(Expect(TokenKind::kComma, "','"));
  TAILOR_ASSIGN_OR_RETURN(geo.center_lon, ParseCoordinate("a longitude"));
  TAILOR_RETURN_IF_ERROR(Expect(TokenKind::kRightParen, "')'"));
  return Expr{std::move(geo)};
}

Result<Expr> Parser::ParseSequenceTail(Subject anchor, bool negated) {
  Sequence sequence;
  sequence.pos = anchor.pos;
  sequence.anchor = std::move(anchor);
  sequence.negated = negated;
  if (Peek().kind == TokenKind::kLeftParen) {
    Take();
    TAILOR_RETURN_IF_ERROR(
        ParseEventSetBody(/*with_field=*/false, /*with_window=*/false, sequence.next, nullptr));
  } else if (TakeKeyword("any")) {
    sequence.next.event_type.clear();
  } else if (AtName()) {
    sequence.next.event_type = Take().text;
  } else {
    return Expected("an event type, or (event type where ...)");
  }
  return Expr{std::move(sequence)};
}

Result<std::string> Parser::ParseFieldPath() {
  if (!AtName()) return Expected("an event field");
  std::string path = Take().text;
  while (Peek().kind == TokenKind::kDot) {
    Take();
    // After a dot only a name can follow, so even reserved words read as names here.
    const TokenKind kind = Peek().kind;
    if (kind != TokenKind::kWord && kind != TokenKind::kQuotedName) {
      return Expected("a name after '.'");
    }
    path += '.';
    path += Take().text;
  }
  return path;
}

Result<Literal> Parser::ParseLiteral() {
  const Token& token = Peek();
  Literal literal;
  literal.pos = token.pos;
  switch (token.kind) {
    case TokenKind::kString:
      literal.value = token.text;
      break;
    case TokenKind::kInteger:
      literal.value = token.integer;
      break;
    case TokenKind::kDecimal:
      literal.value = token.decimal;
      break;
    default:
      if (IsKeyword(token, "true") || IsKeyword(token, "false")) {
        literal.value = IsKeyword(token, "true");
        break;
      }
      return Expected("a value (a string, number, true or false)");
  }
  Take();
  return literal;
}

Status Parser::ParseList(std::vector<Literal>& values) {
  TAILOR_RETURN_IF_ERROR(Expect(TokenKind::kLeftBracket, "'['"));
  while (true) {
    TAILOR_ASSIGN_OR_RETURN(Literal value, ParseLiteral());
    values.push_back(std::move(value));
    if (Peek().kind != TokenKind::kComma) break;
    Take();
  }
  return Expect(TokenKind::kRightBracket, "',' or ']'");
}

Result<double> Parser::ParseCoordinate(std::string_view what) {
  const Token& token = Peek();
  if (token.kind == TokenKind::kInteger) return static_cast<double>(Take().integer);
  if (token.kind == TokenKind::kDecimal) return Take().decimal;
  return Expected(what);
}

Result<int64_t> Parser::ParseAmount() {
  if (Peek().kind != TokenKind::kInteger || Peek().integer < 0) {
    return Expected("a whole number");
  }
  return Take().integer;
}

Result<TimeUnit> Parser::ParseUnit() {
  TimeUnit unit = TimeUnit::kDay;
  if (!ParseTimeUnitWord(Peek(), &unit)) {
    return Expected("a time unit (minutes, hours, days or weeks)");
  }
  Take();
  return unit;
}

Result<TimeRange> Parser::ParseWindow() {
  TimeRange range;
  range.pos = Peek().pos;
  if (TakeKeyword("last")) {
    range.kind = RangeKind::kLast;
    TAILOR_ASSIGN_OR_RETURN(range.amount, ParseAmount());
    TAILOR_ASSIGN_OR_RETURN(range.unit, ParseUnit());
    return range;
  }
  if (AtKeyword("before") || AtKeyword("after")) {
    range.kind = AtKeyword("before") ? RangeKind::kBefore : RangeKind::kAfter;
    Take();
    TAILOR_ASSIGN_OR_RETURN(range.amount, ParseAmount());
  } else if (TakeKeyword("between")) {
    range.kind = RangeKind::kBetween;
    TAILOR_ASSIGN_OR_RETURN(range.amount, ParseAmount());
    TAILOR_RETURN_IF_ERROR(ExpectKeyword("and"));
    TAILOR_ASSIGN_OR_RETURN(range.far_amount, ParseAmount());
  } else {
    return Expected(
        "a time window (last N days, before N days ago, after N days ago or between N and M days "
        "ago)");
  }
  TAILOR_ASSIGN_OR_RETURN(range.unit, ParseUnit());
  TAILOR_RETURN_IF_ERROR(ExpectKeyword("ago"));
  return range;
}

}  // namespace tailor::segments

#pragma once

// Recursive-descent parser for the rule language (grammar: docs/rule_language.md). Syntax only:
// names, types and segment references are checked later by CheckRule.

#include <cstddef>
#include <string_view>
#include <vector>

#include "segments/lexer.h"
#include "tailor/rule.h"
#include "tailor/status.h"

namespace tailor::segments {

// The nesting the parser counts (and limits to kMaxRuleDepth) when it reads PrintRule's text
// of `root` as a whole rule: 1, plus 1 per `not`, per parenthesized group and per `where`.
// Defined in printer.cc, beside the choices it mirrors. RuleFromJson and CheckRule apply the
// same limit, so that every rule they accept prints to text that parses.
int NestingDepth(const Expr& root);

class Parser {
 public:
  // `tokens` ends with a kEnd token (as Tokenize returns them) and must outlive the parser.
  explicit Parser(const std::vector<Token>& tokens) : tokens_(tokens) {}

  // The whole token list as one rule.
  Result<Rule> ParseWhole();

 private:
  // Profile conditions at the top level; event-field conditions inside `where`.
  enum class Context { kProfile, kFilter };

  const Token& Peek(size_t ahead = 0) const;
  const Token& Take();
  bool AtKeyword(std::string_view keyword, size_t ahead = 0) const;
  bool TakeKeyword(std::string_view keyword);
  Status ExpectKeyword(std::string_view keyword);
  Status Expect(TokenKind kind, std::string_view what);
  // "line:column: expected <what>, found <next token>".
  Status Expected(std::string_view what) const;
  Status TooDeep() const;
  // A name at the current token: a bare word that is not reserved, or a `quoted name`.
  bool AtName(size_t ahead = 0) const;

  Result<Expr> ParseOr(Context context);
  Result<Expr> ParseAnd(Context context);
  Result<Expr> ParseUnary(Context context);
  Result<Expr> ParsePrimary(Context context);
  // What follows a subject: an operator and its values, a time range, or `followed by`.
  Result<Expr> ParseConditionTail(Subject subject, Context context);
  Result<Subject> ParseEventFunction(SubjectKind kind);
  // affinity(...), open_rate(...), click_rate(...) at the function word; session.x,
  // first_touch.x, last_touch.x at the first word.
  Result<Subject> ParseSignalCall();
  Result<Subject> ParseSignalPath();
  // Inside the parentheses of count(...), ever(...), ...: event type, `.field` when
  // `with_field`, `where` filter, `, window` when `with_window`; consumes the closing ')'.
  Status ParseEventSetBody(bool with_field, bool with_window, EventSet& events, std::string* field);
  Result<Expr> ParseOccurrence(bool ever);
  Result<Expr> ParseGeo();
  Result<Expr> ParseSequenceTail(Subject anchor, bool negated);
  Result<std::string> ParseFieldPath();
  Result<Literal> ParseLiteral();
  Status ParseList(std::vector<Literal>& values);
  Result<double> ParseCoordinate(std::string_view what);
  Result<int64_t> ParseAmount();
  Result<TimeUnit> ParseUnit();
  Result<TimeRange> ParseWindow();

  const std::vector<Token>& tokens_;
  size_t next_ = 0;
  int depth_ = 0;
};

}  // namespace tailor::segments

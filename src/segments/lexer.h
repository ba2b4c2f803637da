#pragma once

// The token level of the rule language, both ways: splitting rule text into tokens, and
// spelling names, strings and numbers so that they lex back to the same token (the printer and
// the JSON writer use the spelling half).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tailor/rule.h"
#include "tailor/status.h"

namespace tailor::segments {

enum class TokenKind : uint8_t {
  kEnd,         // after the last token
  kWord,        // bare name or keyword: [A-Za-z_][A-Za-z0-9_]*
  kQuotedName,  // `any text`: always a name, never a keyword
  kString,      // "text" (text holds the decoded bytes)
  kInteger,     // 42, -7 (integer holds the value)
  kDecimal,     // 0.3, -3.7038, 1e6 (decimal holds the value)
  kLeftParen,
  kRightParen,
  kLeftBracket,
  kRightBracket,
  kComma,
  kDot,
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::string text;  // the name, the decoded string, or the source spelling of anything else
  int64_t integer = 0;
  double decimal = 0;
  SourcePos pos;
};

// Splits UTF-8 rule text into tokens, the last one kEnd. Skips spaces, tabs, newlines and
// comments (`#` to the end of the line). kInvalidArgument "line:column: ..." on an unterminated
// string or name, a bad escape, a malformed or out-of-range number, an unknown operator such as
// `==`, invalid UTF-8, or a character that starts no token.
Result<std::vector<Token>> Tokenize(std::string_view text);

// Whether `text` is valid UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
bool IsValidUtf8(std::string_view text);

// Whether `token` is the bare word `keyword` (lower case), in any letter case: `AND` is `and`.
// A quoted name is never a keyword.
bool IsKeyword(const Token& token, std::string_view keyword);

// Words that can never be a bare name (a trait, event type or field) because they would read
// as part of the grammar: and, or, not, in, true, false.
bool IsReservedWord(std::string_view word);

// How `token` is shown in an error message: 'word', `name`, "string", ')', end of rule.
std::string DescribeToken(const Token& token);

// Spells a name so that it lexes back as one name token with the same text: bare when it is a
// plain word that is no keyword of the language (in any case), else in backticks, with backtick
// and backslash escaped by a backslash. `name` must not be empty.
std::string SpellName(std::string_view name);
// Spells a dotted event field ("item.level") as names joined by '.', each part spelled alone.
std::string SpellFieldPath(std::string_view path);
// "text" with ", \ and control characters escaped; other bytes (UTF-8) as they are.
std::string SpellString(std::string_view text);
// Shortest text that reads back as exactly `value` (std::to_chars). With `mark_decimal`, adds
// ".0" when that text would otherwise lex as an integer, so it reads back as a decimal;
// without, only when it would not lex at all (past int64), and -0 is written 0. `value` must
// be finite.
std::string SpellDecimal(double value, bool mark_decimal);

// "minute"/"minutes", ... by amount; and the unit a word names (singular or plural).
std::string_view TimeUnitWord(TimeUnit unit, int64_t amount);
bool ParseTimeUnitWord(const Token& token, TimeUnit* unit);

}  // namespace tailor::segments

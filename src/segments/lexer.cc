#include "segments/lexer.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <system_error>

namespace tailor::segments {
namespace {

// Every word the grammar gives a meaning to somewhere. Only the reserved ones are refused as
// bare names; SpellName quotes all of them so that printed text never depends on where a name
// stands.
constexpr std::array<std::string_view, 6> kReservedWords = {"and", "or",   "not",
                                                            "in",  "true", "false"};
constexpr auto kKeywords = std::to_array<std::string_view>(
    {"and",     "or",       "not",         "in",     "true",     "false",  "segment",
     "between", "contains", "starts_with", "exists", "missing",  "within", "last",
     "first",   "before",   "after",       "ago",    "of",       "km",     "where",
     "any",     "followed", "by",          "count",  "sum",      "avg",    "min",
     "max",     "distinct", "ever",        "never",  "location", "minute", "minutes",
     "hour",    "hours",    "day",         "days",   "week",     "weeks"});

bool IsWordStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsWordChar(char c) { return IsWordStart(c) || IsDigit(c); }

bool EqualsLowerCase(std::string_view text, std::string_view lower) {
  if (text.size() != lower.size()) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

bool IsAnyKeyword(std::string_view word) {
  return std::any_of(kKeywords.begin(), kKeywords.end(),
                     [&](std::string_view keyword) { return EqualsLowerCase(word, keyword); });
}

// Length of the valid UTF-8 sequence starting at text[i], or 0 if there is none (overlong
// forms, surrogates and code points above U+10FFFF are invalid too).
size_t Utf8SequenceLength(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  if (lead < 0x80) return 1;
  size_t length = 0;
  uint32_t min_code = 0;
  uint32_t code = 0;
  if ((lead & 0xe0) == 0xc0) {
    length = 2, min_code = 0x80, code = lead & 0x1f;
  } else if ((lead & 0xf0) == 0xe0) {
    length = 3, min_code = 0x800, code = lead & 0x0f;
  } else if ((lead & 0xf8) == 0xf0) {
    length = 4, min_code = 0x10000, code = lead & 0x07;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  for (size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
    code = (code << 6) | (byte(i + k) & 0x3f);
  }
  if (code < min_code || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return 0;
  return length;
}

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  Result<std::vector<Token>> Run() {
    std::vector<Token> tokens;
    while (true) {
      TAILOR_RETURN_IF_ERROR(SkipSpaceAndComments());
      Token token;
      token.pos = Here();
      if (at_ >= text_.size()) {
        tokens.push_back(std::move(token));
        return tokens;
      }
      TAILOR_RETURN_IF_ERROR(Next(token));
      tokens.push_back(std::move(token));
    }
  }

 private:
  SourcePos Here() const { return SourcePos{line_, column_}; }
  char Peek(size_t ahead = 0) const {
    return at_ + ahead < text_.size() ? text_[at_ + ahead] : '\0';
  }
  bool AtEnd() const { return at_ >= text_.size(); }

  // Moves past one character (one UTF-8 sequence), keeping line and column; error on bad UTF-8.
  Status Advance() {
    const char c = text_[at_];
    const size_t length = Utf8SequenceLength(text_, at_);
    if (length == 0) {
      return InvalidArgument("{}:{}: expected UTF-8 text, found byte 0x{:02x}", line_, column_,
                             static_cast<unsigned char>(c));
    }
    at_ += length;
    if (c == '\n') {
      ++line_;
      column_ = 1;
    } else {
      ++column_;
    }
    return Status::Ok();
  }
  // For characters already known to be ASCII.
  void Skip(size_t count = 1) {
    at_ += count;
    column_ += static_cast<uint32_t>(count);
  }

  Status SkipSpaceAndComments() {
    while (!AtEnd()) {
      const char c = Peek();
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
        TAILOR_RETURN_IF_ERROR(Advance());
      } else if (c == '#') {
        while (!AtEnd() && Peek() != '\n') TAILOR_RETURN_IF_ERROR(Advance());
      } else {
        break;
      }
    }
    return Status::Ok();
  }

  Status Next(Token& token) {
    const char c = Peek();
    if (IsWordStart(c)) return Word(token);
    if (IsDigit(c) || (c == '-' && IsDigit(Peek(1)))) return Number(token);
    if (c == '"') return String(token);
    if (c == '`') return QuotedName(token);
    if (c == '=' || c == '!' || c == '<' || c == '>') return Operator(token);
    TokenKind kind = TokenKind::kEnd;
    switch (c) {
      case '(':
        kind = TokenKind::kLeftParen;
        break;
      case ')':
        kind = TokenKind::kRightParen;
        break;
      case '[':
        kind = TokenKind::kLeftBracket;
        break;
      case ']':
        kind = TokenKind::kRightBracket;
        break;
      case ',':
        kind = TokenKind::kComma;
        break;
      case '.':
        kind = TokenKind::kDot;
        break;
      default:
        return UnexpectedCharacter();
    }
    token.kind = kind;
    token.text = std::string(1, c);
    Skip();
    return Status::Ok();
  }

  Status UnexpectedCharacter() const {
    const auto c = static_cast<unsigned char>(Peek());
    const size_t length = Utf8SequenceLength(text_, at_);
    if (length == 0) {
      return InvalidArgument("{}:{}: expected UTF-8 text, found byte 0x{:02x}", line_, column_, c);
    }
    if (c == '-') {
      return InvalidArgument("{}:{}: expected a digit after '-'", line_, column_);
    }
    const std::string shown = c < 0x20 || c == 0x7f
                                  ? fmt::format("byte 0x{:02x}", c)
                                  : fmt::format("'{}'", text_.substr(at_, length));
    return InvalidArgument("{}:{}: expected a name, value, operator or parenthesis, found {}",
                           line_, column_, shown);
  }

  Status Word(Token& token) {
    const size_t start = at_;
    while (IsWordChar(Peek())) Skip();
    token.kind = TokenKind::kWord;
    token.text = std::string(text_.substr(start, at_ - start));
    return Status::Ok();
  }

  // [-]digits[.digits][(e|E)[+|-]digits]; a letter, digit, '_' or '.' right after it makes the
  // whole run one bad number ("12abc", "1.2.3"), reported as such rather than as two tokens.
  Status Number(Token& token) {
    const size_t start = at_;
    const SourcePos pos = Here();
    bool decimal = false;
    bool well_formed = true;
    if (Peek() == '-') Skip();
    while (IsDigit(Peek())) Skip();
    if (Peek() == '.') {
      decimal = true;
      Skip();
      if (!IsDigit(Peek())) well_formed = false;
      while (IsDigit(Peek())) Skip();
    }
    if (well_formed && (Peek() == 'e' || Peek() == 'E')) {
      decimal = true;
      Skip();
      if (Peek() == '+' || Peek() == '-') Skip();
      if (!IsDigit(Peek())) well_formed = false;
      while (IsDigit(Peek())) Skip();
    }
    if (!well_formed || IsWordChar(Peek()) || Peek() == '.') {
      while (IsWordChar(Peek()) || Peek() == '.') Skip();
      return InvalidArgument("{}:{}: expected a number, found '{}'", pos.line, pos.column,
                             text_.substr(start, at_ - start));
    }
    token.text = std::string(text_.substr(start, at_ - start));
    const char* first = text_.data() + start;
    const char* last = text_.data() + at_;
    std::from_chars_result result;
    if (decimal) {
      token.kind = TokenKind::kDecimal;
      result = std::from_chars(first, last, token.decimal);
    } else {
      token.kind = TokenKind::kInteger;
      result = std::from_chars(first, last, token.integer);
    }
    if (result.ec != std::errc() || result.ptr != last) {
      return InvalidArgument("{}:{}: expected a number in range, found '{}'", pos.line, pos.column,
                             token.text);
    }
    return Status::Ok();
  }

  Status String(Token& token) {
    const SourcePos open = Here();
    Skip();  // the opening quote
    token.kind = TokenKind::kString;
    while (true) {
      if (AtEnd() || Peek() == '\n') {
        return InvalidArgument("{}:{}: unterminated string: expected '\"' before the end of the {}",
                               open.line, open.column, AtEnd() ? "rule" : "line");
      }
      const char c = Peek();
      if (c == '"') {
        Skip();
        return Status::Ok();
      }
      if (c != '\\') {
        const size_t start = at_;
        TAILOR_RETURN_IF_ERROR(Advance());
        token.text.append(text_.substr(start, at_ - start));
        continue;
      }
      const SourcePos escape = Here();
      Skip();
      switch (Peek()) {
        case '"':
          token.text.push_back('"');
          break;
        case '\\':
          token.text.push_back('\\');
          break;
        case 'n':
          token.text.push_back('\n');
          break;
        case 't':
          token.text.push_back('\t');
          break;
        case 'r':
          token.text.push_back('\r');
          break;
        case 'x': {
          // Only ASCII, so that a string always stays valid UTF-8 (and representable in JSON).
          const auto hex = [](char h) {
            if (IsDigit(h)) return h - '0';
            if (h >= 'a' && h <= 'f') return h - 'a' + 10;
            if (h >= 'A' && h <= 'F') return h - 'A' + 10;
            return -1;
          };
          const int high = hex(Peek(1));
          const int low = hex(Peek(2));
          if (high < 0 || low < 0 || high > 7) {
            return InvalidArgument("{}:{}: expected \\x00 to \\x7f", escape.line, escape.column);
          }
          token.text.push_back(static_cast<char>(high * 16 + low));
          Skip(2);
          break;
        }
        default:
          return InvalidArgument(
              "{}:{}: expected an escape \\\", \\\\, \\n, \\t, \\r or \\xHH in a string",
              escape.line, escape.column);
      }
      Skip();
    }
  }

  Status QuotedName(Token& token) {
    const SourcePos open = Here();
    Skip();  // the opening backtick
    token.kind = TokenKind::kQuotedName;
    while (true) {
      if (AtEnd() || Peek() == '\n') {
        return InvalidArgument("{}:{}: unterminated name: expected '`' before the end of the {}",
                               open.line, open.column, AtEnd() ? "rule" : "line");
      }
      const char c = Peek();
      if (c == '`') {
        Skip();
        break;
      }
      if (c == '\\') {
        if (Peek(1) != '`' && Peek(1) != '\\') {
          return InvalidArgument("{}:{}: expected an escape \\` or \\\\ in a name", line_, column_);
        }
        token.text.push_back(Peek(1));
        Skip(2);
        continue;
      }
      const size_t start = at_;
      TAILOR_RETURN_IF_ERROR(Advance());
      token.text.append(text_.substr(start, at_ - start));
    }
    if (token.text.empty()) {
      return InvalidArgument("{}:{}: expected a name between the backticks", open.line,
                             open.column);
    }
    return Status::Ok();
  }

  Status Operator(Token& token) {
    const size_t start = at_;
    const SourcePos pos = Here();
    while (Peek() == '=' || Peek() == '!' || Peek() == '<' || Peek() == '>') Skip();
    token.text = std::string(text_.substr(start, at_ - start));
    if (token.text == "=") {
      token.kind = TokenKind::kEq;
    } else if (token.text == "!=") {
      token.kind = TokenKind::kNe;
    } else if (token.text == "<") {
      token.kind = TokenKind::kLt;
    } else if (token.text == "<=") {
      token.kind = TokenKind::kLe;
    } else if (token.text == ">") {
      token.kind = TokenKind::kGt;
    } else if (token.text == ">=") {
      token.kind = TokenKind::kGe;
    } else {
      return InvalidArgument("{}:{}: expected one of =, !=, <, <=, >, >=, found '{}'", pos.line,
                             pos.column, token.text);
    }
    return Status::Ok();
  }

  std::string_view text_;
  size_t at_ = 0;
  uint32_t line_ = 1;
  uint32_t column_ = 1;
};

bool IsPlainWord(std::string_view name) {
  if (name.empty() || !IsWordStart(name[0])) return false;
  return std::all_of(name.begin(), name.end(), IsWordChar);
}

}  // namespace

bool IsValidUtf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const size_t length = Utf8SequenceLength(text, i);
    if (length == 0) return false;
    i += length;
  }
  return true;
}

Result<std::vector<Token>> Tokenize(std::string_view text) { return Lexer(text).Run(); }

bool IsKeyword(const Token& token, std::string_view keyword) {
  return token.kind == TokenKind::kWord && EqualsLowerCase(token.text, keyword);
}

bool IsReservedWord(std::string_view word) {
  return std::any_of(kReservedWords.begin(), kReservedWords.end(),
                     [&](std::string_view reserved) { return EqualsLowerCase(word, reserved); });
}

std::string DescribeToken(const Token& token) {
  constexpr size_t kMaxShown = 40;
  switch (token.kind) {
    case TokenKind::kEnd:
      return "end of rule";
    case TokenKind::kString: {
      if (token.text.size() <= kMaxShown) return "string " + SpellString(token.text);
      // Cut at a character boundary: messages stay valid UTF-8.
      size_t cut = kMaxShown;
      while (cut > 0 && (static_cast<unsigned char>(token.text[cut]) & 0xc0) == 0x80) --cut;
      std::string shown = SpellString(std::string_view(token.text).substr(0, cut));
      shown.insert(shown.size() - 1, "...");
      return "string " + shown;
    }
    case TokenKind::kQuotedName:
      return SpellName(token.text);
    default:
      return fmt::format("'{}'", token.text);
  }
}

std::string SpellName(std::string_view name) {
  if (IsPlainWord(name) && !IsAnyKeyword(name)) return std::string(name);
  std::string spelled = "`";
  for (const char c : name) {
    if (c == '`' || c == '\\') spelled.push_back('\\');
    spelled.push_back(c);
  }
  spelled.push_back('`');
  return spelled;
}

std::string SpellFieldPath(std::string_view path) {
  std::string spelled;
  size_t start = 0;
  while (true) {
    const size_t dot = path.find('.', start);
    spelled += SpellName(path.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos) return spelled;
    spelled.push_back('.');
    start = dot + 1;
  }
}

std::string SpellString(std::string_view text) {
  std::string spelled = "\"";
  for (const char c : text) {
    switch (c) {
      case '"':
        spelled += "\\\"";
        break;
      case '\\':
        spelled += "\\\\";
        break;
      case '\n':
        spelled += "\\n";
        break;
      case '\t':
        spelled += "\\t";
        break;
      case '\r':
        spelled += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          spelled += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
        } else {
          spelled.push_back(c);
        }
    }
  }
  spelled.push_back('"');
  return spelled;
}

std::string SpellDecimal(double value, bool mark_decimal) {
  std::array<char, 64> buffer;
  const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  std::string spelled(buffer.data(), result.ptr);
  // Unmarked, "-0" would read back as the integer 0, i.e. +0.0: print that from the start, so
  // printing stays stable (the two zeros compare equal anyway).
  if (!mark_decimal && spelled == "-0") spelled = "0";
  if (spelled.find_first_of(".e") == std::string::npos) {
    // Integer-looking: fine unmarked only while it also lexes as an integer, i.e. fits int64
    // (2^63 prints as "9223372036854775808").
    int64_t integer = 0;
    const auto parsed = std::from_chars(spelled.data(), spelled.data() + spelled.size(), integer);
    if (mark_decimal || parsed.ec != std::errc()) spelled += ".0";
  }
  return spelled;
}

std::string_view TimeUnitWord(TimeUnit unit, int64_t amount) {
  const bool one = amount == 1;
  switch (unit) {
    case TimeUnit::kMinute:
      return one ? "minute" : "minutes";
    case TimeUnit::kHour:
      return one ? "hour" : "hours";
    case TimeUnit::kDay:
      return one ? "day" : "days";
    case TimeUnit::kWeek:
      return one ? "week" : "weeks";
  }
  return "days";
}

bool ParseTimeUnitWord(const Token& token, TimeUnit* unit) {
  constexpr std::array<TimeUnit, 4> kUnits = {TimeUnit::kMinute, TimeUnit::kHour, TimeUnit::kDay,
                                              TimeUnit::kWeek};
  for (const TimeUnit candidate : kUnits) {
    if (IsKeyword(token, TimeUnitWord(candidate, 1)) ||
        IsKeyword(token, TimeUnitWord(candidate, 2))) {
      *unit = candidate;
      return true;
    }
  }
  return false;
}

}  // namespace tailor::segments

#include "tailor/decimal.h"

#include <cmath>
#include <cstdlib>

namespace tailor {

std::optional<Decimal> Decimal::FromDouble(double value) {
  if (!std::isfinite(value)) return std::nullopt;
  // value * 1e6 is within 0.5 ulp of the exact product; rounding to an integer then recovers
  // the intended decimal while that error stays under half a micro (|value| < 1e9).
  const double scaled = std::round(value * static_cast<double>(kOne));
  // 2^63 is exactly representable; anything at or past it does not fit.
  if (!(scaled > -9223372036854775808.0 && scaled < 9223372036854775808.0)) return std::nullopt;
  return Decimal(static_cast<int64_t>(scaled));
}

std::optional<Decimal> Decimal::FromDoubleClamped(double value) {
  if (std::isnan(value)) return std::nullopt;
  if (std::optional<Decimal> decimal = FromDouble(value)) return decimal;
  return Decimal(value < 0 ? INT64_MIN + 1 : INT64_MAX);
}

std::optional<Decimal> Decimal::Parse(std::string_view text) {
  size_t i = 0;
  bool negative = false;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';
  // Digits as an unscaled integer, with the count of digits after the point.
  __int128 digits = 0;
  int fraction = 0, digit_count = 0;
  bool point = false;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '.' && !point) {
      point = true;
    } else if (c >= '0' && c <= '9') {
      if (digits > (__int128{1} << 100)) return std::nullopt;  // far out of range already
      digits = digits * 10 + (c - '0');
      fraction += point;
      ++digit_count;
    } else {
      break;
    }
  }
  if (digit_count == 0) return std::nullopt;
  int exponent = 0;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    bool exponent_negative = false;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) exponent_negative = text[i++] == '-';
    if (i == text.size()) return std::nullopt;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
      exponent = exponent * 10 + (text[i] - '0');
      if (exponent > 100) return std::nullopt;
    }
    if (exponent_negative) exponent = -exponent;
  }
  if (i != text.size()) return std::nullopt;
  // value = digits * 10^(exponent - fraction); micros = digits * 10^(exponent - fraction + 6).
  int shift = exponent - fraction + kFractionDigits;
  for (; shift < 0; ++shift) {
    if (digits % 10 != 0) return std::nullopt;  // more than 6 decimals
    digits /= 10;
  }
  for (; shift > 0; --shift) {
    digits *= 10;
    if (digits > INT64_MAX) return std::nullopt;
  }
  if (digits > INT64_MAX) return std::nullopt;
  return Decimal(static_cast<int64_t>(negative ? -digits : digits));
}

std::optional<Decimal> Decimal::ParseRounded(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  if (auto exact = Parse(text)) return exact;
  // Only text Parse takes apart from its decimals goes on to strtod (which accepts more).
  if (text.empty() || text.size() > 64 || text.find_first_not_of("+-.0123456789eE") != text.npos) {
    return std::nullopt;
  }
  const std::string copy(text);
  char* end = nullptr;
  const double value = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size()) return std::nullopt;
  return FromDouble(value);
}

std::string Decimal::ToString() const {
  const bool negative = micros_ < 0;
  // Through unsigned: -INT64_MIN does not fit in int64_t.
  const uint64_t magnitude = negative ? 0 - static_cast<uint64_t>(micros_) : micros_;
  std::string text = negative ? "-" : "";
  text += std::to_string(magnitude / kOne);
  uint64_t fraction = magnitude % kOne;
  if (fraction != 0) {
    std::string digits = std::to_string(fraction);
    digits.insert(0, kFractionDigits - digits.size(), '0');
    while (digits.back() == '0') digits.pop_back();
    text += '.';
    text += digits;
  }
  return text;
}

std::optional<Decimal> Decimal::Add(Decimal a, Decimal b) {
  int64_t sum = 0;
  if (__builtin_add_overflow(a.micros_, b.micros_, &sum)) return std::nullopt;
  return Decimal(sum);
}

std::optional<Decimal> Decimal::Multiply(Decimal a, int64_t factor) {
  int64_t product = 0;
  if (__builtin_mul_overflow(a.micros_, factor, &product)) return std::nullopt;
  return Decimal(product);
}

}  // namespace tailor

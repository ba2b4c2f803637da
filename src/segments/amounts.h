#pragma once

// Exact numbers of events in rules: both evaluators compare sums, averages, minima and maxima of
// event amounts (price, value, quantity, spend, numeric item attributes) as exact decimals
// (tailor/decimal.h), so that `sum(purchase.spend) >= 1.0` holds for 0.70 + 0.20 + 0.10.

#include <cstdint>
#include <optional>
#include <string_view>
#include <variant>

#include "tailor/decimal.h"
#include "tailor/rule.h"
#include "tailor/types.h"

namespace tailor::segments {

// A number literal as micros, rounded to 6 decimals; clamped to the range (no amount passes it).
// nullopt for a literal that is not a number (or a bool, read as 0 / 1).
inline std::optional<int64_t> LiteralMicros(const Value& literal) {
  if (const auto* integer = std::get_if<int64_t>(&literal)) {
    int64_t micros = 0;
    if (__builtin_mul_overflow(*integer, Decimal::kOne, &micros)) {
      return *integer < 0 ? INT64_MIN + 1 : INT64_MAX;
    }
    return micros;
  }
  if (const auto* flag = std::get_if<bool>(&literal)) return *flag ? Decimal::kOne : 0;
  const auto* number = std::get_if<double>(&literal);
  if (number == nullptr) return std::nullopt;
  if (const std::optional<Decimal> decimal = Decimal::FromDouble(*number)) return decimal->micros();
  return *number < 0 ? INT64_MIN + 1 : INT64_MAX;
}

// `numerator / denominator` (micros; denominator > 0) against `literal_micros`: -1, 0 or 1.
// An average is compared as the ratio sum / count, without dividing.
inline int CompareRatio(__int128 numerator, int64_t denominator, int64_t literal_micros) {
  const __int128 scaled = static_cast<__int128>(literal_micros) * denominator;
  return numerator < scaled ? -1 : numerator > scaled ? 1 : 0;
}

// A catalogue entry's number as an amount: the price exactly, an int or double attribute at
// 6 decimals. nullopt when the item has no such number.
inline std::optional<Decimal> ItemAmount(const ItemInput& item, std::string_view attribute) {
  if (attribute == "price") return item.price;
  for (const auto& [name, value] : item.attributes) {
    if (name != attribute) continue;
    if (const auto* integer = std::get_if<int64_t>(&value.value)) {
      return Decimal::FromUnits(*integer);
    }
    if (const auto* number = std::get_if<double>(&value.value)) return Decimal::FromDouble(*number);
  }
  return std::nullopt;
}

}  // namespace tailor::segments

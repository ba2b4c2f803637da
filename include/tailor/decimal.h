#pragma once

// Exact amounts: money (prices, spend, revenue) and the other numbers of events, held as a signed
// count of millionths in 64 bits. Sums, differences, products by a quantity and comparisons are
// exact, so `sum(purchase.spend) >= 1.0` holds for purchases of 0.70, 0.20 and 0.10, as it does
// in SQL with DECIMAL; binary floating point would give 0.9999999999999999.
//
// Six fractional digits cover every currency's minor unit (at most 3) and unit prices quoted in
// fractions of a cent. Range: +/- 9,223,372,036,854.775807.

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tailor {

class Decimal {
 public:
  static constexpr int kFractionDigits = 6;
  static constexpr int64_t kOne = 1'000'000;  // micros per unit

  constexpr Decimal() = default;
  static constexpr Decimal FromMicros(int64_t micros) { return Decimal(micros); }
  static constexpr Decimal FromInteger(int32_t units) { return Decimal(units * kOne); }
  // Any whole number; nullopt past the range (+/- 9.2 trillion).
  static std::optional<Decimal> FromUnits(int64_t units) {
    return Multiply(FromMicros(kOne), units);
  }

  // The decimal nearest `value` (halves away from zero). Numbers read as text and parsed into a
  // double (JSON, CSV) come back exactly when they have at most 6 decimals and |value| < 1e9;
  // more decimals are rounded to 6. nullopt for NaN, infinities and values out of range.
  static std::optional<Decimal> FromDouble(double value);
  // FromDouble, but values out of range (infinities included) become the largest or smallest
  // decimal: for data written before exact amounts, which took any double. nullopt for NaN.
  static std::optional<Decimal> FromDoubleClamped(double value);
  // Exact reading of decimal text: "12", "-0.5", "1234.567890", "+3.", ".25", "1e3", "2.5E-2".
  // nullopt when it is not a number, has more than 6 decimals after the exponent is applied,
  // or is out of range.
  static std::optional<Decimal> Parse(std::string_view text);
  // Parse, but a number with more than 6 decimals is rounded to 6 instead of refused (what a
  // file's "12.3456789" means to a reader of money), and spaces and tabs around it are ignored.
  static std::optional<Decimal> ParseRounded(std::string_view text);

  constexpr int64_t micros() const { return micros_; }
  double ToDouble() const { return static_cast<double>(micros_) / kOne; }
  // Shortest exact text: "12.34", "1", "-0.000001" (a JSON number).
  std::string ToString() const;

  // nullopt on overflow.
  static std::optional<Decimal> Add(Decimal a, Decimal b);
  static std::optional<Decimal> Multiply(Decimal a, int64_t factor);

  friend constexpr auto operator<=>(Decimal, Decimal) = default;

 private:
  explicit constexpr Decimal(int64_t micros) : micros_(micros) {}
  int64_t micros_ = 0;
};

}  // namespace tailor

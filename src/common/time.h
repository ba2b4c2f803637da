#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "tailor/types.h"

namespace tailor {

// Parses ISO 8601 / RFC 3339 date-times: "2026-03-04T12:34:56Z", with optional fraction
// (".123"), zone ("Z", "+02:00", "-0500", none = UTC), a space instead of 'T', or a bare date
// "2026-03-04". Returns nullopt on anything else, including out-of-range fields.
std::optional<Timestamp> ParseIsoTimestamp(std::string_view text);

// "2026-03-04T12:34:56Z" (milliseconds appended only when not zero).
std::string FormatTimestamp(Timestamp time);

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
int64_t DaysFromCivil(int64_t year, unsigned month, unsigned day);

inline constexpr Timestamp kMillisPerSecond = 1000;
inline constexpr Timestamp kMillisPerDay = 86'400'000;

// The UTC day of `time` as days since 1970-01-01 (floor: times before 1970 fall on earlier days).
inline int64_t DayOf(Timestamp time) {
  return time / kMillisPerDay - (time % kMillisPerDay < 0 ? 1 : 0);
}

}  // namespace tailor

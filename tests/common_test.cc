#include <gtest/gtest.h>

#include "common/coding.h"
#include "common/strings.h"
#include "common/time.h"
#include "common/value_coding.h"
#include "tailor/json_writer.h"
#include "tailor/schema.h"

namespace tailor {
namespace {

TEST(Time, ParsesUtcSecondPrecision) {
  EXPECT_EQ(ParseIsoTimestamp("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(ParseIsoTimestamp("2026-11-01T00:00:00Z"), int64_t{1793491200} * 1000);
  EXPECT_EQ(ParseIsoTimestamp("2000-02-29T12:34:56Z"), int64_t{951827696} * 1000);
}

TEST(Time, ParsesFractionsZonesAndBareDates) {
  EXPECT_EQ(ParseIsoTimestamp("1970-01-01T00:00:01.5Z"), 1500);
  EXPECT_EQ(ParseIsoTimestamp("1970-01-01T01:00:00+01:00"), 0);
  EXPECT_EQ(ParseIsoTimestamp("1970-01-01T00:00:00-0130"), 90 * 60 * 1000);
  EXPECT_EQ(ParseIsoTimestamp("1970-01-02"), kMillisPerDay);
  EXPECT_EQ(ParseIsoTimestamp("1970-01-01 00:00:02"), 2000);
}

TEST(Time, RejectsMalformedAndOutOfRange) {
  for (const char* text :
       {"", "2026", "2026-13-01", "2026-02-30", "2025-02-29T00:00:00Z", "2026-01-01T24:00:00Z",
        "2026-01-01T00:00:00Q", "2026-01-01Tfoo", "2026-01-01T00:00:00Zjunk", "20260101"}) {
    EXPECT_FALSE(ParseIsoTimestamp(text).has_value()) << text;
  }
}

TEST(Time, FormatRoundTrips) {
  for (Timestamp time :
       {Timestamp{0}, Timestamp{1793491200000}, Timestamp{951827696123}, Timestamp{-86400000}}) {
    EXPECT_EQ(ParseIsoTimestamp(FormatTimestamp(time)), time) << FormatTimestamp(time);
  }
  EXPECT_EQ(FormatTimestamp(1793491200000), "2026-11-01T00:00:00Z");
}

TEST(Strings, StrictNumberParsing) {
  EXPECT_EQ(ParseInt64(" 42 "), 42);
  EXPECT_EQ(ParseInt64("-7"), -7);
  EXPECT_FALSE(ParseInt64("4x2"));
  EXPECT_FALSE(ParseInt64(""));
  EXPECT_FALSE(ParseInt64("99999999999999999999"));
  EXPECT_EQ(ParseDouble("0.125"), 0.125);
  EXPECT_FALSE(ParseDouble("nan"));
  EXPECT_FALSE(ParseDouble("1.5.2"));
  EXPECT_EQ(ParseBool("TRUE"), true);
  EXPECT_EQ(ParseBool("no"), false);
  EXPECT_FALSE(ParseBool("maybe"));
}

TEST(Strings, MaskForLogHidesTheLocalPart) {
  EXPECT_EQ(MaskForLog("emma.garcia1@hotmail.com"), "e***@hotmail.com");
  EXPECT_EQ(MaskForLog("sk_live_abcdef"), "sk_l***");
}

TEST(Coding, VarintsRoundTripAtTheEdges) {
  std::string bytes;
  const int64_t values[] = {0, 1, -1, 127, 128, INT64_MAX, INT64_MIN};
  for (int64_t value : values) coding::PutSignedVarint64(bytes, value);
  coding::Reader reader(bytes);
  for (int64_t value : values) {
    int64_t decoded = 0;
    ASSERT_TRUE(reader.GetSignedVarint64(decoded));
    EXPECT_EQ(decoded, value);
  }
  EXPECT_TRUE(reader.empty());
  int64_t extra = 0;
  EXPECT_FALSE(reader.GetSignedVarint64(extra));
  EXPECT_FALSE(reader.ok());
}

TEST(Schema, AddsChecksAndRoundTrips) {
  Schema schema;
  ASSERT_TRUE(schema.Add("age", TraitType::kInt, TraitCategory::kDemographic).ok());
  ASSERT_TRUE(schema.Add("interests", TraitType::kStringList, TraitCategory::kPsychographic).ok());
  EXPECT_EQ(schema.Add("age", TraitType::kString, TraitCategory::kDemographic).status().code(),
            StatusCode::kAlreadyExists);
  EXPECT_TRUE(schema.Check("age", TypedValue{TraitType::kInt, int64_t{3}}).ok());
  const Status wrong = schema.Check("age", TypedValue{TraitType::kString, std::string("old")});
  EXPECT_EQ(wrong.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(wrong.message().find("'age' is int"), std::string::npos) << wrong.message();
  auto decoded = Schema::Decode(schema.Encode());
  ASSERT_TRUE(decoded.ok());
  ASSERT_EQ(decoded->traits().size(), 2u);
  EXPECT_EQ(decoded->Find("interests")->type, TraitType::kStringList);
  EXPECT_EQ(decoded->Find("interests")->slot, 1u);
  EXPECT_FALSE(Schema::Decode("garbage").ok());
}

TEST(Schema, GuessesCategoriesFromNames) {
  EXPECT_EQ(GuessTraitCategory("country"), TraitCategory::kGeographic);
  EXPECT_EQ(GuessTraitCategory("browser"), TraitCategory::kTechnographic);
  EXPECT_EQ(GuessTraitCategory("interests"), TraitCategory::kPsychographic);
  EXPECT_EQ(GuessTraitCategory("email_opt_in"), TraitCategory::kPreference);
  EXPECT_EQ(GuessTraitCategory("age"), TraitCategory::kDemographic);
}

TEST(ValueCoding, EveryTypeRoundTrips) {
  const TypedValue values[] = {
      {TraitType::kString, std::string("Madrid")},
      {TraitType::kInt, int64_t{-42}},
      {TraitType::kDouble, 0.125},
      {TraitType::kBool, true},
      {TraitType::kTimestamp, int64_t{1793491200000}},
      {TraitType::kStringList, StringList{"golf", "travel"}},
      {},
  };
  std::string bytes;
  for (const auto& value : values) EncodeTypedValue(bytes, value);
  coding::Reader reader(bytes);
  for (const auto& value : values) {
    TypedValue decoded;
    ASSERT_TRUE(DecodeTypedValue(reader, decoded));
    EXPECT_EQ(decoded.value, value.value);
    if (!IsMissing(value)) EXPECT_EQ(decoded.type, value.type);
  }
}

}  // namespace
}  // namespace tailor

namespace tailor {
namespace {

TEST(JsonWriter, EscapesAndAlwaysWritesValidUtf8) {
  auto quoted = [](std::string_view text) {
    std::string out;
    AppendJsonString(out, text);
    return out;
  };
  EXPECT_EQ(quoted("plain"), "\"plain\"");
  EXPECT_EQ(quoted("a\"b\\c\nd\x01"), "\"a\\\"b\\\\c\\nd\\u0001\"");
  EXPECT_EQ(quoted("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"),
            "\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"");  // 2-, 3-, 4-byte sequences kept
  EXPECT_EQ(quoted("\xFF"), "\"\xEF\xBF\xBD\"");                    // not UTF-8
  EXPECT_EQ(quoted("a\xC3"), "\"a\xEF\xBF\xBD\"");                  // truncated sequence
  EXPECT_EQ(quoted("\xC0\xAF"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");    // overlong form
  EXPECT_EQ(quoted("\xED\xA0\x80"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");  // surrogate
}

}  // namespace
}  // namespace tailor

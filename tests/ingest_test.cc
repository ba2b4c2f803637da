#include "tailor/ingest.h"

#include <gtest/gtest.h>

#include "ingest/csv_reader.h"
#include "test_util.h"

namespace tailor::ingest {
namespace {

using ::tailor::testing::TempDir;

struct ReadAll {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
  std::vector<uint64_t> lines;
  std::vector<std::string> errors;
};

ReadAll Read(const std::string& path, FileFormat format,
             const std::vector<std::string>& wanted = {}) {
  ReadAll out;
  auto reader = OpenRowReader(path, format, ',', wanted);
  EXPECT_TRUE(reader.ok()) << reader.status().ToString();
  if (!reader.ok()) return out;
  out.columns = (*reader)->columns();
  Row row;
  std::string error;
  while ((*reader)->Next(row, error)) {
    std::vector<std::string> values;
    for (size_t i = 0; i < row.values.size(); ++i) {
      values.push_back(row.present[i] ? std::string(row.values[i]) : "<absent>");
    }
    out.rows.push_back(values);
    out.lines.push_back(row.line);
    out.errors.push_back(error);
  }
  return out;
}

TEST(CsvReader, HandlesQuotesEscapesEmbeddedNewlinesAndCrlf) {
  TempDir dir;
  const auto path = dir.Write(
      "a.csv",
      "id,name,note\r\n1,\"Smith, J\",plain\r\n2,\"say \"\"hi\"\"\",\"two\nlines\"\r\n\n3,x,\n");
  const ReadAll all = Read(path, FileFormat::kCsv);
  EXPECT_EQ(all.columns, (std::vector<std::string>{"id", "name", "note"}));
  ASSERT_EQ(all.rows.size(), 3u);
  EXPECT_EQ(all.rows[0], (std::vector<std::string>{"1", "Smith, J", "plain"}));
  EXPECT_EQ(all.rows[1], (std::vector<std::string>{"2", "say \"hi\"", "two\nlines"}));
  EXPECT_EQ(all.rows[2], (std::vector<std::string>{"3", "x", ""}));
  EXPECT_EQ(all.lines, (std::vector<uint64_t>{2, 3, 6}));
  for (const auto& error : all.errors) EXPECT_EQ(error, "");
}

TEST(CsvReader, ReportsWrongFieldCountWithLineAndContinues) {
  TempDir dir;
  const auto path = dir.Write("a.csv", "a,b\n1,2\n1,2,3\n4,5");
  const ReadAll all = Read(path, FileFormat::kCsv);
  ASSERT_EQ(all.rows.size(), 3u);
  EXPECT_EQ(all.errors[1], "expected 2 fields, found 3");
  EXPECT_EQ(all.lines[1], 3u);
  EXPECT_EQ(all.rows[2], (std::vector<std::string>{"4", "5"}));  // no final newline
}

TEST(CsvReader, UnterminatedQuoteIsAnErrorNotACrash) {
  TempDir dir;
  const auto path = dir.Write("a.csv", "a,b\n1,\"open\n");
  const ReadAll all = Read(path, FileFormat::kCsv);
  ASSERT_EQ(all.rows.size(), 1u);
  EXPECT_EQ(all.errors[0], "unterminated quoted field");
}

TEST(CsvReader, ReadsRowsAcrossChunkBoundaries) {
  TempDir dir;
  std::string text = "id,payload\n";
  const std::string payload(1000, 'x');
  for (int i = 0; i < 20000; ++i) text += std::to_string(i) + ",\"" + payload + "\"\n";
  const ReadAll all = Read(dir.Write("big.csv", text), FileFormat::kCsv);
  ASSERT_EQ(all.rows.size(), 20000u);
  for (size_t i = 0; i < all.rows.size(); ++i) {
    ASSERT_EQ(all.rows[i][0], std::to_string(i));
    ASSERT_EQ(all.rows[i][1], payload);
    ASSERT_EQ(all.errors[i], "");
  }
}

TEST(NdjsonReader, ExtractsNestedPathsListsAndReportsBadLines) {
  TempDir dir;
  const auto path = dir.Write(
      "e.ndjson",
      "{\"userId\":\"u1\",\"context\":{\"ip\":\"1.2.3.4\"},\"tags\":[\"a\",\"b\"],\"n\":3}\n"
      "{not json}\n"
      "{\"userId\":\"u2\",\"n\":2.5,\"flag\":true}\n");
  const ReadAll all = Read(path, FileFormat::kNdjson, {"context.ip"});
  ASSERT_EQ(all.rows.size(), 3u);
  const auto column = [&](const std::string& name) {
    return std::find(all.columns.begin(), all.columns.end(), name) - all.columns.begin();
  };
  EXPECT_EQ(all.rows[0][column("context.ip")], "1.2.3.4");
  EXPECT_EQ(all.rows[0][column("userId")], "u1");
  EXPECT_EQ(all.rows[0][column("tags")], "a;b");
  EXPECT_EQ(all.rows[0][column("n")], "3");
  EXPECT_NE(all.errors[1].find("malformed JSON"), std::string::npos);
  EXPECT_EQ(all.lines[1], 2u);
  EXPECT_EQ(all.rows[2][column("n")], "2.5");
  EXPECT_EQ(all.rows[2][column("context.ip")], "<absent>");
}

TEST(NdjsonReader, RejectsAHugeLineAndReadsOn) {
  TempDir dir;
  const std::string huge = "{\"userId\":\"" + std::string(17 << 20, 'x') + "\"}\n";
  const auto path = dir.Write("e.ndjson", "{\"userId\":\"u1\"}\n" + huge + "{\"userId\":\"u3\"}\n");
  const ReadAll all = Read(path, FileFormat::kNdjson);
  ASSERT_EQ(all.rows.size(), 3u);
  EXPECT_EQ(all.errors[0], "");
  EXPECT_NE(all.errors[1].find("a record is limited to"), std::string::npos) << all.errors[1];
  EXPECT_EQ(all.lines[1], 2u);
  EXPECT_EQ(all.errors[2], "");
  EXPECT_EQ(all.rows[2][0], "u3");
}

TEST(Inference, PicksTheNarrowestTypeThatReadsEverySample) {
  EXPECT_EQ(InferTraitType({"1", "2", ""}, ';'), TraitType::kInt);
  EXPECT_EQ(InferTraitType({"1", "2.5"}, ';'), TraitType::kDouble);
  EXPECT_EQ(InferTraitType({"true", "false"}, ';'), TraitType::kBool);
  EXPECT_EQ(InferTraitType({"0", "1"}, ';'), TraitType::kInt);
  EXPECT_EQ(InferTraitType({"2026-01-01T00:00:00Z"}, ';'), TraitType::kTimestamp);
  EXPECT_EQ(InferTraitType({"golf", "golf;travel"}, ';'), TraitType::kStringList);
  EXPECT_EQ(InferTraitType({"golf", "12"}, ';'), TraitType::kString);
  EXPECT_EQ(InferTraitType({}, ';'), TraitType::kString);
}

TEST(Mapping, RejectsUnknownKeysAndFieldsWithTheirNames) {
  auto unknown_key = ParseMapping(R"({"feilds": {}})", RecordKind::kEvents);
  ASSERT_FALSE(unknown_key.ok());
  EXPECT_NE(unknown_key.status().message().find("'feilds'"), std::string::npos);
  auto unknown_field = ParseMapping(R"({"fields": {"colour": "c"}})", RecordKind::kEvents);
  ASSERT_FALSE(unknown_field.ok());
  EXPECT_NE(unknown_field.status().message().find("'colour'"), std::string::npos);
  auto bad_format = ParseMapping(R"({"fields": {"time": {"column": "t", "format": "unix"}}})",
                                 RecordKind::kEvents);
  ASSERT_FALSE(bad_format.ok());
  EXPECT_NE(bad_format.status().message().find("unknown time format 'unix'"), std::string::npos);
  EXPECT_FALSE(ParseMapping("{", RecordKind::kEvents).ok());
  EXPECT_FALSE(ParseMapping(R"({"kind": "items"})", RecordKind::kEvents).ok());
}

class BuilderTest : public ::testing::Test {
 protected:
  Row MakeRow(std::vector<std::string_view> values) {
    Row row;
    row.line = 7;
    row.values = std::move(values);
    row.present.assign(row.values.size(), true);
    return row;
  }
  Schema schema_;
};

TEST_F(BuilderTest, BuildsReferenceShapeEventsWithoutAMapping) {
  const std::vector<std::string> columns = {"event_id", "profile_id", "anonymous_id", "type",
                                            "ts",       "item_id",    "category",     "price",
                                            "quantity", "page_url",   "coupon"};
  auto builder = RecordBuilder::Create(DefaultMapping(RecordKind::kEvents), columns, schema_, {});
  ASSERT_TRUE(builder.ok()) << builder.status().ToString();
  EventInput event;
  ASSERT_OK(builder->BuildEvent(MakeRow({"e1", "c1", "", "purchase", "2026-01-02T03:04:05Z", "i9",
                                         "golf_clubs", "19.99", "2", "/p/i9", "WELCOME"}),
                                event));
  EXPECT_EQ(event.id, "e1");
  EXPECT_EQ(event.profile_id, "c1");
  EXPECT_EQ(event.anonymous_id, "");
  EXPECT_EQ(event.type, "purchase");
  EXPECT_EQ(event.time, 1767323045000);
  EXPECT_EQ(event.price, testing::Money(19.99));
  EXPECT_EQ(event.quantity, 2);
  EXPECT_EQ(event.context.page_url, "/p/i9");
  ASSERT_EQ(event.properties.size(), 1u);
  EXPECT_EQ(event.properties[0], (std::pair<std::string, std::string>{"coupon", "WELCOME"}));

  const Status bad_price = builder->BuildEvent(
      MakeRow({"e2", "c1", "", "purchase", "2026-01-02T03:04:05Z", "i9", "", "cheap", "", "", ""}),
      event);
  EXPECT_EQ(bad_price.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad_price.message(), "column 'price': 'cheap' is not a number");
  const Status bad_time = builder->BuildEvent(
      MakeRow({"e3", "c1", "", "view", "yesterday", "", "", "", "", "", ""}), event);
  EXPECT_EQ(bad_time.message(), "column 'ts': 'yesterday' is not a valid time");
  const Status no_owner = builder->BuildEvent(
      MakeRow({"e4", "", "", "view", "2026-01-02", "", "", "", "", "", ""}), event);
  EXPECT_FALSE(no_owner.ok());
}

TEST_F(BuilderTest, MappingRenamesColumnsAndReadsEpochSeconds) {
  auto mapping = ParseMapping(R"({"fields": {
      "profile_id": "userId", "item_id": "movieId", "value": "rating",
      "time": {"column": "timestamp", "format": "epoch_seconds"}, "type": {"constant": "rate"}}})",
                              RecordKind::kEvents);
  ASSERT_TRUE(mapping.ok()) << mapping.status().ToString();
  auto builder =
      RecordBuilder::Create(*mapping, {"userId", "movieId", "rating", "timestamp"}, schema_, {});
  ASSERT_TRUE(builder.ok()) << builder.status().ToString();
  EventInput event;
  ASSERT_OK(builder->BuildEvent(MakeRow({"1", "31", "2.5", "1260759144"}), event));
  EXPECT_EQ(event.profile_id, "1");
  EXPECT_EQ(event.item_id, "31");
  EXPECT_EQ(event.value, testing::Money(2.5));
  EXPECT_EQ(event.type, "rate");
  EXPECT_EQ(event.time, int64_t{1260759144} * 1000);
  EXPECT_TRUE(event.properties.empty());
}

TEST_F(BuilderTest, ProfileTraitsAreTypedFromTheSampleAndBadValuesNameTheColumn) {
  const std::vector<std::string> columns = {"profile_id", "age", "interests", "vip"};
  std::vector<Row> sample = {MakeRow({"c1", "41", "golf;yoga", "true"}),
                             MakeRow({"c2", "", "travel", "false"})};
  auto builder =
      RecordBuilder::Create(DefaultMapping(RecordKind::kProfiles), columns, schema_, sample);
  ASSERT_TRUE(builder.ok()) << builder.status().ToString();
  ASSERT_EQ(builder->extra_defs().size(), 3u);
  EXPECT_EQ(builder->extra_defs()[0].type, TraitType::kInt);
  EXPECT_EQ(builder->extra_defs()[1].type, TraitType::kStringList);
  EXPECT_EQ(builder->extra_defs()[1].category, TraitCategory::kPsychographic);
  EXPECT_EQ(builder->extra_defs()[2].type, TraitType::kBool);
  ProfileInput profile;
  ASSERT_OK(builder->BuildProfile(sample[0], profile));
  EXPECT_EQ(profile.external_id, "c1");
  ASSERT_EQ(profile.traits.size(), 3u);
  EXPECT_EQ(std::get<StringList>(profile.traits[1].second.value), (StringList{"golf", "yoga"}));
  const Status bad = builder->BuildProfile(MakeRow({"c3", "forty", "", ""}), profile);
  EXPECT_EQ(bad.message(), "column 'age': 'forty' is not of type int");
}

// "values" recodes a column's texts before their type is read (and inferred); a text it does not
// list is a bad value naming the column and the listed texts.
TEST_F(BuilderTest, MappingValuesRecodeTextsAndRefuseOthers) {
  ASSERT_OK_AND_ASSIGN(Mapping mapping, ParseMapping(R"({"fields": {"id": "id"}, "traits": {
          "month": {"column": "Month", "values": {"Feb": 2, "June": "6"}},
          "returning": {"column": "Visitor", "type": "bool",
                        "values": {"Returning_Visitor": true, "New_Visitor": false}}}})",
                                                     RecordKind::kProfiles));
  const std::vector<std::string> columns = {"id", "Month", "Visitor"};
  std::vector<Row> sample = {MakeRow({"s1", "Feb", "New_Visitor"})};
  ASSERT_OK_AND_ASSIGN(RecordBuilder builder,
                       RecordBuilder::Create(mapping, columns, schema_, sample));
  EXPECT_EQ(builder.extra_defs()[0].type, TraitType::kInt);  // from "2" and "6", not "Feb"
  ProfileInput profile;
  ASSERT_OK(builder.BuildProfile(MakeRow({"s2", "June", "Returning_Visitor"}), profile));
  ASSERT_EQ(profile.traits.size(), 2u);
  EXPECT_EQ(std::get<int64_t>(profile.traits[0].second.value), 6);
  EXPECT_EQ(std::get<bool>(profile.traits[1].second.value), true);
  EXPECT_EQ(builder.BuildProfile(MakeRow({"s3", "Jun", "New_Visitor"}), profile).message(),
            "column 'Month': 'Jun' is not one of the mapping's values (Feb, June)");
  EXPECT_EQ(
      ParseMapping(R"({"traits": {"m": {"column": "M", "values": []}}})", RecordKind::kProfiles)
          .status()
          .message(),
      "'traits.m.values' must be an object of texts and what they stand for");
  EXPECT_EQ(ParseMapping(R"({"fields": {"type": {"column": "E", "values": {"Buy": "purchase"}}}})",
                         RecordKind::kEvents)
                .status()
                .message(),
            "'fields.type.values': only traits, attributes and properties are recoded");
}

}  // namespace
}  // namespace tailor::ingest

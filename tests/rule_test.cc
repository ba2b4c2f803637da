#include "tailor/rule.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "segments/parser.h"
#include "tailor/schema.h"
#include "test_util.h"

namespace tailor::segments {
namespace {

// The profile traits of the benchmark data (../shared/bench/README.md), with their types.
Schema BenchSchema() {
  Schema schema;
  const std::vector<std::pair<std::string, TraitType>> traits = {
      {"email", TraitType::kString},
      {"first_name", TraitType::kString},
      {"age", TraitType::kInt},
      {"gender", TraitType::kString},
      {"income", TraitType::kInt},
      {"marital_status", TraitType::kString},
      {"occupation", TraitType::kString},
      {"country", TraitType::kString},
      {"region", TraitType::kString},
      {"city", TraitType::kString},
      {"lat", TraitType::kDouble},
      {"lon", TraitType::kDouble},
      {"signup_ts", TraitType::kTimestamp},
      {"loyalty_tier", TraitType::kString},
      {"interests", TraitType::kStringList},
      {"price_sensitivity", TraitType::kDouble},
      {"device_os", TraitType::kString},
      {"browser", TraitType::kString},
      {"email_opt_in", TraitType::kBool},
      {"preferred_channel", TraitType::kString},
      {"acquisition_source", TraitType::kString},
      {"golf_level", TraitType::kString},
  };
  for (const auto& [name, type] : traits) {
    EXPECT_TRUE(schema.Add(name, type, GuessTraitCategory(name)).ok());
  }
  return schema;
}

// Segment name -> the segments its rule refers to.
using Graph = std::map<std::string, std::vector<std::string>>;

// Segments by name, each with the segments its rule refers to.
class MapResolver : public SegmentResolver {
 public:
  explicit MapResolver(std::map<std::string, std::vector<std::string>> references)
      : references_(std::move(references)) {}
  bool Exists(std::string_view segment) const override {
    return references_.count(std::string(segment)) > 0;
  }
  std::vector<std::string> References(std::string_view segment) const override {
    const auto it = references_.find(std::string(segment));
    return it == references_.end() ? std::vector<std::string>() : it->second;
  }

 private:
  std::map<std::string, std::vector<std::string>> references_;
};

Rule MustParse(const std::string& text) {
  Result<Rule> rule = ParseRule(text);
  EXPECT_TRUE(rule.ok()) << text << "\n" << rule.status().ToString();
  return rule.ok() ? std::move(rule).value() : Rule{};
}

std::string ParseError(const std::string& text) {
  const Result<Rule> rule = ParseRule(text);
  EXPECT_FALSE(rule.ok()) << text << " parsed as " << (rule.ok() ? PrintRule(*rule) : "");
  return rule.ok() ? "" : rule.status().message();
}

std::string CheckError(const std::string& text) {
  const Rule rule = MustParse(text);
  const Status status = CheckRule(rule, BenchSchema(), MapResolver(Graph{{"vip", {}}}));
  EXPECT_FALSE(status.ok()) << text;
  return status.message();
}

// Print -> parse gives the same rule, printing is stable, and the JSON form reads back.
void ExpectRoundTrips(const Rule& rule) {
  const std::string printed = PrintRule(rule);
  SCOPED_TRACE(printed);
  ASSERT_OK_AND_ASSIGN(const Rule reparsed, ParseRule(printed));
  EXPECT_TRUE(reparsed == rule);
  EXPECT_EQ(PrintRule(reparsed), printed);
  const std::string json = RuleToJson(rule);
  SCOPED_TRACE(json);
  ASSERT_OK_AND_ASSIGN(const Rule from_json, RuleFromJson(json));
  EXPECT_TRUE(from_json == rule);
}

// ---- parsing and printing ----

TEST(RuleParse, ExamplesRoundTrip) {
  const std::vector<std::string> examples = {
      R"(interests contains "golf")",
      R"(country = "ES" and age between 25 and 34)",
      R"(income >= 80000 and loyalty_tier != "platinum" and occupation in ["lawyer", "doctor"])",
      R"(email contains "@gmail.com" and income missing)",
      R"(signup_ts within last 90 days)",
      R"(signup_ts before 1825 days ago and golf_level exists)",
      R"(signup_ts after 2 weeks ago or signup_ts between 30 and 60 days ago)",
      R"(signup_ts >= "2026-01-01" and signup_ts < "2026-02-01T00:00:00Z")",
      R"(location within 50 km of (40.4168, -3.7038))",
      R"(location(home_lat, home_lon) within 0.5 km of (51.5, 0))",
      R"(count(purchase where category starts_with "golf", last 90 days) >= 2)",
      R"(sum(purchase.spend, last 365 days) > 1000.5)",
      R"(avg(purchase.price, last 365 days) >= 150)",
      R"(min(purchase.price) < 10 or max(purchase.quantity, last 1 day) > 3)",
      R"(distinct(product_view.category where page_url starts_with "/p/", last 30 days) >= 3)",
      R"(distinct(purchase.item.brand) between 2 and 5)",
      R"(never(purchase) and ever(any, last 12 hours))",
      R"(first(purchase) within last 60 days)",
      R"(last(purchase) before 180 days ago)",
      R"(last(email_open) missing or first(app_open) < "2025-06-01")",
      R"(last(add_to_cart, last 7 days) not followed by purchase)",
      R"(first(product_view where category = "golf_clubs") followed by (purchase where item.level = "beginner"))",
      R"(in segment "s11_high_spenders_365d" and not in segment "opted_out")",
      R"(email_opt_in = false and not (browser = "chrome" or browser missing))",
      R"(not not age > 30)",
      R"((age > 30 and age < 40) and income > 1)",
      R"(a = 1 or (b = 2 or c = 3))",
      R"(price_sensitivity not in [0.1, 0.2, -1.5e-07] and age not in [1, 2])",
      R"(count(purchase where not (channel = "store") and (price > 10 or quantity >= 2), between 7 and 14 days ago) = 0)",
      R"(count(page_view, after 30 minutes ago) != 0)",
      R"(`count` = 1 and `last` != 2 and `first name` = "Ann" and `a\`b` exists)",
      R"(`in` = "x" and `weird\`name\\` contains "q\"uote\\ tab\t newline\n bell\x07")",
      R"(count(`Order Completed` where `item`.`sub category` = "x") > 0)",
      // Integral beyond int64: printed as 9223372036854775808.0, or it would not lex back.
      R"(location within 9223372036854775807 km of (-0.0, 0))",
  };
  for (const std::string& text : examples) {
    SCOPED_TRACE(text);
    ExpectRoundTrips(MustParse(text));
  }
}

TEST(RuleParse, CanonicalTextPrintsUnchanged) {
  const std::vector<std::string> canonical = {
      R"(country = "ES" and age between 25 and 34)",
      R"(a = 1 or b = 2 and c = 3)",
      R"((a = 1 or b = 2) and c = 3)",
      R"(not (a = 1 and b = 2))",
      R"(x = 2.0 and y = 2 and z = -0.5 and w = 1e+21)",
      R"(count(purchase where category = "golf" or price > 100, last 1 day) >= 1)",
      R"(last(add_to_cart, last 7 days) not followed by (purchase where price > 0))",
      R"(ever(any) and never(refund, between 1 and 2 weeks ago))",
      R"(location within 50 km of (40.4168, -3.7038))",
      R"(`location` = "Madrid" and `days` = 3)",
  };
  for (const std::string& text : canonical) {
    EXPECT_EQ(PrintRule(MustParse(text)), text);
  }
}

TEST(RuleParse, PrecedenceIsNotThenAndThenOr) {
  const Rule rule = MustParse("not a = 1 and b = 2 or c = 3");
  const auto* top = std::get_if<Or>(&rule.root.node);
  ASSERT_NE(top, nullptr);
  ASSERT_EQ(top->operands.size(), 2u);
  const auto* left = std::get_if<And>(&top->operands[0].node);
  ASSERT_NE(left, nullptr);
  EXPECT_TRUE(std::holds_alternative<Not>(left->operands[0].node));
  EXPECT_TRUE(std::holds_alternative<Comparison>(top->operands[1].node));
}

TEST(RuleParse, ChainsFlattenButParenthesesNest) {
  const Rule flat = MustParse("a = 1 and b = 2 and c = 3");
  EXPECT_EQ(std::get<And>(flat.root.node).operands.size(), 3u);
  const Rule nested = MustParse("(a = 1 and b = 2) and c = 3");
  EXPECT_EQ(std::get<And>(nested.root.node).operands.size(), 2u);
  EXPECT_FALSE(flat == nested);
}

TEST(RuleParse, BuildsTheDocumentedTree) {
  const Rule rule =
      MustParse(R"(count(purchase where category starts_with "golf", last 90 days) >= 2)");
  const auto& comparison = std::get<Comparison>(rule.root.node);
  EXPECT_EQ(comparison.subject.kind, SubjectKind::kCount);
  EXPECT_EQ(comparison.subject.events.event_type, "purchase");
  ASSERT_TRUE(comparison.subject.events.window.has_value());
  EXPECT_EQ(comparison.subject.events.window->kind, RangeKind::kLast);
  EXPECT_EQ(comparison.subject.events.window->amount, 90);
  EXPECT_EQ(comparison.subject.events.window->unit, TimeUnit::kDay);
  ASSERT_TRUE(comparison.subject.events.filter.has_value());
  const auto& filter = std::get<Comparison>((*comparison.subject.events.filter)->node);
  EXPECT_EQ(filter.subject.kind, SubjectKind::kField);
  EXPECT_EQ(filter.subject.name, "category");
  EXPECT_EQ(filter.op, CompareOp::kStartsWith);
  EXPECT_EQ(comparison.op, CompareOp::kGe);
  ASSERT_EQ(comparison.values.size(), 1u);
  EXPECT_EQ(std::get<int64_t>(comparison.values[0].value), 2);

  const Rule sum = MustParse("sum(purchase.item.price) > 1.5");
  EXPECT_EQ(std::get<Comparison>(sum.root.node).subject.name, "item.price");
  EXPECT_EQ(std::get<double>(std::get<Comparison>(sum.root.node).values[0].value), 1.5);

  const Rule geo = MustParse("location within 50 km of (40.4168, -3.7038)");
  const auto& condition = std::get<GeoCondition>(geo.root.node);
  EXPECT_EQ(condition.lat_trait, "lat");
  EXPECT_EQ(condition.lon_trait, "lon");
  EXPECT_EQ(condition.radius_km, 50.0);
  EXPECT_EQ(condition.center_lon, -3.7038);

  const Rule cart = MustParse("last(add_to_cart, last 7 days) not followed by purchase");
  const auto& sequence = std::get<Sequence>(cart.root.node);
  EXPECT_EQ(sequence.anchor.kind, SubjectKind::kLast);
  EXPECT_TRUE(sequence.negated);
  EXPECT_EQ(sequence.next.event_type, "purchase");

  const Rule opted_out = MustParse(R"(not in segment "opted_out")");
  const auto& negation = std::get<Not>(opted_out.root.node);
  EXPECT_EQ(std::get<SegmentRef>(negation.operand->node).segment, "opted_out");
}

TEST(RuleParse, KeywordsIgnoreCaseNamesDoNot) {
  EXPECT_TRUE(MustParse("Age > 1 AND Country = \"ES\" Or NOT x Exists") ==
              MustParse("Age > 1 and Country = \"ES\" or not x exists"));
  EXPECT_FALSE(MustParse("age > 1") == MustParse("Age > 1"));
}

TEST(RuleParse, FunctionWordsAreNamesUnlessCalled) {
  const Rule rule = MustParse("count > 3 and last within last 2 days and location = \"x\"");
  const auto& operands = std::get<And>(rule.root.node).operands;
  EXPECT_EQ(std::get<Comparison>(operands[0].node).subject.name, "count");
  EXPECT_EQ(std::get<TimeCondition>(operands[1].node).subject.name, "last");
  EXPECT_EQ(std::get<Comparison>(operands[2].node).subject.name, "location");
  EXPECT_EQ(PrintRule(rule), "`count` > 3 and `last` within last 2 days and `location` = \"x\"");
}

TEST(RuleParse, SkipsCommentsAndNewlines) {
  EXPECT_TRUE(MustParse("# vip buyers\nage > 1 # adults\n  and\tincome > 2\n") ==
              MustParse("age > 1 and income > 2"));
}

TEST(RuleParse, IntegersAndDecimalsStayApart) {
  EXPECT_FALSE(MustParse("x = 2") == MustParse("x = 2.0"));
  EXPECT_EQ(PrintRule(MustParse("x = 2.50")), "x = 2.5");
  EXPECT_EQ(PrintRule(MustParse("x = 1000.00")), "x = 1000.0");
  EXPECT_EQ(PrintRule(MustParse("x = -9223372036854775808")), "x = -9223372036854775808");
}

TEST(RuleParse, RecordsLineAndColumn) {
  const Rule rule = MustParse("age > 1\n  and  income > 2");
  const auto& operands = std::get<And>(rule.root.node).operands;
  const auto& income = std::get<Comparison>(operands[1].node);
  EXPECT_EQ(income.subject.pos.line, 2u);
  EXPECT_EQ(income.subject.pos.column, 8u);
  EXPECT_EQ(income.op_pos.column, 15u);
  EXPECT_EQ(income.values[0].pos.column, 17u);
}

// ---- syntax errors ----

TEST(RuleErrors, RejectsUnclosedParenthesis) {
  EXPECT_EQ(ParseError(R"((age > 30 and country = "ES")"),
            "1:29: expected 'and', 'or' or ')', found end of rule");
  EXPECT_EQ(ParseError("count(purchase, last 7 days >= 2"), "1:29: expected ')', found '>='");
}

TEST(RuleErrors, RejectsUnknownOperator) {
  EXPECT_EQ(ParseError("age == 30"), "1:5: expected one of =, !=, <, <=, >, >=, found '=='");
  EXPECT_EQ(ParseError("age like 30"),
            "1:5: expected an operator (=, !=, <, <=, >, >=, between, in, not in, contains, "
            "starts_with, exists, missing, within, before or after), found 'like'");
  EXPECT_EQ(ParseError("count(purchase where price ~ 3) > 1"),
            "1:28: expected a name, value, operator or parenthesis, found '~'");
  EXPECT_EQ(ParseError("cnt(purchase) > 1"),
            "1:1: expected count, sum, avg, min, max, distinct, first, last, ever, never, "
            "location, affinity, open_rate or click_rate before '(', found 'cnt'");
}

TEST(RuleErrors, RejectsBadNumber) {
  EXPECT_EQ(ParseError("age > 12abc"), "1:7: expected a number, found '12abc'");
  EXPECT_EQ(ParseError("price_sensitivity < 0.3.1"), "1:21: expected a number, found '0.3.1'");
  EXPECT_EQ(ParseError("x = 1e"), "1:5: expected a number, found '1e'");
  EXPECT_EQ(ParseError("x = 99999999999999999999"),
            "1:5: expected a number in range, found '99999999999999999999'");
  EXPECT_EQ(ParseError("x = - 1"), "1:5: expected a digit after '-'");
  EXPECT_EQ(ParseError("signup_ts within last 7.5 days"),
            "1:23: expected a whole number, found '7.5'");
}

TEST(RuleErrors, RejectsUnterminatedString) {
  EXPECT_EQ(ParseError(R"(country = "ES)"),
            "1:11: unterminated string: expected '\"' before the end of the rule");
  EXPECT_EQ(ParseError("country = \"ES\nand age > 1"),
            "1:11: unterminated string: expected '\"' before the end of the line");
  EXPECT_EQ(ParseError(R"(x = "a\qb")"),
            "1:7: expected an escape \\\", \\\\, \\n, \\t, \\r or \\xHH in a string");
  EXPECT_EQ(ParseError("`unclosed = 1"),
            "1:1: unterminated name: expected '`' before the end of the rule");
}

TEST(RuleErrors, PointsAtLineAndColumn) {
  EXPECT_EQ(ParseError("country = \"ES\"\n  and age >"),
            "2:12: expected a value (a string, number, true or false), found end of rule");
  EXPECT_EQ(ParseError("signup_ts within 90 days"), "1:18: expected 'last', found '90'");
  EXPECT_EQ(ParseError("count(purchase where category = \"x\" last 30 days) > 1"),
            "1:37: expected ',' or ')', found 'last'");
  EXPECT_EQ(ParseError("sum(purchase, last 30 days) > 1"),
            "1:13: expected '.' and an event field, as in purchase.price, found ','");
  EXPECT_EQ(ParseError("age > 1 and"), "1:12: expected a condition, found end of rule");
  EXPECT_EQ(ParseError("age > 1 age < 3"), "1:9: expected 'and', 'or' or end of rule, found 'age'");
  EXPECT_EQ(ParseError("occupation in []"),
            "1:16: expected a value (a string, number, true or false), found ']'");
  EXPECT_EQ(ParseError("x in [\"a\" \"b\"]"), "1:11: expected ',' or ']', found string \"b\"");
  EXPECT_EQ(ParseError("count(purchase, last 3 months) > 1"),
            "1:24: expected a time unit (minutes, hours, days or weeks), found 'months'");
  EXPECT_EQ(ParseError("in segment vip"), "1:12: expected a segment name in quotes, found 'vip'");
  EXPECT_EQ(ParseError("and = 1"), "1:1: expected a condition, found 'and'");
  EXPECT_EQ(ParseError("`` = 1"), "1:1: expected a name between the backticks");
  EXPECT_EQ(ParseError("x = \"caf\xc3\""), "1:9: expected UTF-8 text, found byte 0xc3");
  EXPECT_EQ(ParseError("x = \"\xc3\xa9\" @"),
            "1:9: expected a name, value, operator or parenthesis, found '@'");
}

TEST(RuleErrors, LimitsNesting) {
  // The whole rule is one level; each parenthesis adds one.
  const auto nested = [](int levels) {
    return std::string(levels, '(') + "a = 1" + std::string(levels, ')');
  };
  ExpectRoundTrips(MustParse(nested(kMaxRuleDepth - 1)));
  EXPECT_EQ(ParseError(nested(kMaxRuleDepth)),
            fmt::format("1:{}: expected at most {} levels of nesting (parentheses, 'not', 'where')",
                        kMaxRuleDepth + 1, kMaxRuleDepth));
  std::string nots;
  for (int i = 0; i < 10'000; ++i) nots += "not ";
  EXPECT_FALSE(ParseRule(nots + "a = 1").ok());
}

// ---- checking against the schema ----

TEST(RuleCheck, AcceptsWellTypedRules) {
  const Schema schema = BenchSchema();
  const MapResolver segments(Graph{{"vip", {}}});
  for (const std::string text : {
           R"(age between 25 and 34.5 and income in [1, 2.5] and email_opt_in != true)",
           R"(signup_ts between "2025-01-01" and "2026-01-01" and signup_ts within last 3 hours)",
           R"(interests contains "golf" and interests exists and country starts_with "E")",
           R"(sum(purchase.item.margin where item.in_stock = true) > 0)",
           R"(avg(any.value, after 3 days ago) missing and last(purchase) exists)",
           R"(distinct(purchase.order_id) >= 2 and distinct(page_view.page_url) = 0)",
           R"(location(lat, lon) within 0 km of (-90, 180) and in segment "vip")",
       }) {
    EXPECT_OK(CheckRule(MustParse(text), schema, segments));
  }
}

TEST(RuleCheck, RejectsUnknownTrait) {
  EXPECT_EQ(CheckError("age > 1 and agee > 30"), "1:13: unknown trait 'agee'");
  EXPECT_EQ(CheckError("location(latitude, lon) within 5 km of (1, 2)"),
            "1:1: unknown trait 'latitude'");
}

TEST(RuleCheck, RejectsStringComparedWithLessThan) {
  EXPECT_EQ(CheckError(R"(country < "ES")"),
            "1:9: cannot use '<' on string trait 'country'; expected one of =, !=, in, not in, "
            "contains, starts_with, exists, missing");
}

TEST(RuleCheck, RejectsNumberComparedWithString) {
  EXPECT_EQ(CheckError(R"(age = "thirty")"),
            "1:7: expected a number to compare with int trait 'age', found string \"thirty\"");
  EXPECT_EQ(CheckError("country = 5"),
            "1:11: expected a string to compare with string trait 'country', found number 5");
  EXPECT_EQ(CheckError(R"(count(purchase) >= "2")"),
            "1:20: expected a number to compare with count(purchase), found string \"2\"");
  EXPECT_EQ(CheckError("email_opt_in = 1"),
            "1:16: expected true or false to compare with bool trait 'email_opt_in', found "
            "number 1");
}

TEST(RuleCheck, RejectsOtherTypeErrors) {
  EXPECT_EQ(CheckError(R"(interests = "golf")"),
            "1:11: cannot use '=' on list trait 'interests'; expected one of contains, exists, "
            "missing");
  EXPECT_EQ(CheckError(R"(signup_ts > "last tuesday")"),
            "1:13: expected a date-time string such as \"2026-01-31\" or \"2026-01-31T09:30:00Z\" "
            "to compare with timestamp trait 'signup_ts', found string \"last tuesday\"");
  EXPECT_EQ(CheckError("age within last 3 days"),
            "1:5: cannot use a time range on int trait 'age'; expected a timestamp trait, "
            "first(...) or last(...)");
  EXPECT_EQ(CheckError("age between 34 and 25"),
            "1:13: expected the lower bound first, found number 34 above number 25");
  EXPECT_EQ(CheckError("income between 9007199254740993 and 9007199254740992"),
            "1:16: expected the lower bound first, found number 9007199254740993 above number "
            "9007199254740992");
  // Properties are text: no sum of them.
  EXPECT_EQ(CheckError("sum(purchase.properties.position) > 1").substr(0, 40),
            "1:1: expected a number field for sum(...");
  EXPECT_EQ(CheckError("count(purchase where catgory = \"x\") > 1"),
            "1:22: unknown event field 'catgory'; expected one of item_id, category, order_id, "
            "channel, page_url, referrer, utm_source, utm_medium, utm_campaign, country, city, "
            "price, quantity, value, spend, item.<attribute> or properties.<name>");
  EXPECT_EQ(CheckError("sum(purchase.category) > 1"),
            "1:1: expected a number field for sum(...), found string field 'category'");
  EXPECT_EQ(CheckError("count(purchase) exists"),
            "1:17: cannot use 'exists' on count(purchase); expected one of =, !=, <, <=, >, >=, "
            "between, in, not in");
  EXPECT_EQ(CheckError("count(purchase where price contains \"1\") > 0"),
            "1:28: cannot use 'contains' on number event field 'price'; expected one of =, !=, "
            "<, <=, >, >=, between, in, not in, exists, missing");
  EXPECT_EQ(CheckError("count(purchase, last 0 days) > 0"),
            "1:17: expected a time amount from 1 to 1000000, found 0");
  EXPECT_EQ(CheckError("never(purchase, between 60 and 30 days ago)"),
            "1:17: expected a time amount from 61 to 1000000 after 'and', found 30");
  EXPECT_EQ(CheckError("location within 5 km of (91, 0)"),
            "1:1: expected a latitude from -90 to 90, found 91");
  EXPECT_EQ(CheckError("location(country, lon) within 5 km of (1, 0)"),
            "1:1: expected a number trait for a coordinate, found string trait 'country'");
  EXPECT_EQ(CheckError(R"(in segment "vip" and not in segment "opted_out")"),
            "1:26: unknown segment \"opted_out\"");
}

TEST(RuleCheck, JsonRulesHaveNoPositions) {
  ASSERT_OK_AND_ASSIGN(const Rule rule,
                       RuleFromJson(R"({"subject": {"trait": "agee"}, "op": "=", "values": [1]})"));
  const Status status = CheckRule(rule, BenchSchema(), MapResolver(Graph{}));
  EXPECT_EQ(status.message(), "unknown trait 'agee'");
}

TEST(RuleCheck, RejectsMalformedTreesBuiltInCode) {
  const Schema schema = BenchSchema();
  const MapResolver segments(Graph{});
  Rule one_operand{Expr{And{{MustParse("age > 1").root}}}};
  EXPECT_EQ(CheckRule(one_operand, schema, segments).message(),
            "'and' needs at least two operands, found 1");
  Rule field_outside = MustParse("age > 1");
  std::get<Comparison>(field_outside.root.node).subject.kind = SubjectKind::kField;
  EXPECT_EQ(CheckRule(field_outside, schema, segments).message(),
            "1:1: event field 'age' can only be tested inside 'where'");
  Rule no_values = MustParse("age > 1");
  std::get<Comparison>(no_values.root.node).values.clear();
  EXPECT_EQ(CheckRule(no_values, schema, segments).message(), "1:5: '>' takes 1 value(s), found 0");
  Rule field_events = MustParse("count(purchase where price > 1) > 0");
  auto& count = std::get<Comparison>(field_events.root.node);
  std::get<Comparison>((*count.subject.events.filter)->node).subject.events.event_type = "x";
  EXPECT_EQ(CheckRule(field_events, schema, segments).message(),
            "1:22: an event field has no events of its own");
  Rule empty_part = MustParse("count(purchase where item.a = 1) > 0");
  std::get<Comparison>((*std::get<Comparison>(empty_part.root.node).subject.events.filter)->node)
      .subject.name = "item.a..b";
  EXPECT_EQ(CheckRule(empty_part, schema, segments).message().substr(0, 38),
            "1:22: unknown event field 'item.a..b';");
  Rule bad_utf8 = MustParse(R"(country = "x")");
  std::get<Comparison>(bad_utf8.root.node).values[0].value = std::string("\xff");
  EXPECT_EQ(CheckRule(bad_utf8, schema, segments).message(),
            "1:11: expected UTF-8 text in names and strings");
  Rule infinite = MustParse("age > 1.5");
  std::get<Comparison>(infinite.root.node).values[0].value =
      std::numeric_limits<double>::infinity();
  EXPECT_EQ(CheckRule(infinite, schema, segments).message(), "1:7: expected a finite number");
}

// ---- segment references ----

TEST(RuleSegments, ListsReferencesOnceInOrder) {
  const Rule rule =
      MustParse(R"(in segment "b" and (not in segment "a" or in segment "b") and in segment "c")");
  EXPECT_EQ(SegmentReferences(rule), (std::vector<std::string>{"b", "a", "c"}));
}

TEST(RuleSegments, DetectsCycles) {
  const MapResolver segments(Graph{{"a", {"b"}}, {"b", {"c"}}, {"c", {}}, {"d", {"a", "c"}}});
  EXPECT_OK(CheckNoCycles("c", MustParse("age > 1"), segments));
  EXPECT_OK(CheckNoCycles("new", MustParse(R"(in segment "d" and in segment "a")"), segments));
  EXPECT_EQ(CheckNoCycles("c", MustParse(R"(age > 1 or in segment "a")"), segments).message(),
            "1:12: segment 'c' would depend on itself: c -> a -> b -> c");
  EXPECT_EQ(CheckNoCycles("x", MustParse(R"(not in segment "x")"), segments).message(),
            "1:5: segment 'x' would depend on itself: x -> x");
  // The new rule of `a` replaces its stored reference to b.
  EXPECT_OK(CheckNoCycles("a", MustParse(R"(in segment "c")"), segments));
  EXPECT_EQ(CheckNoCycles("b", MustParse(R"(in segment "d")"), segments).message(),
            "1:1: segment 'b' would depend on itself: b -> d -> a -> b");
}

TEST(RuleSegments, ReportsCyclesAlreadyStored) {
  const MapResolver segments(Graph{{"p", {"q"}}, {"q", {"p"}}});
  EXPECT_EQ(CheckNoCycles("n", MustParse(R"(in segment "p")"), segments).message(),
            "1:1: segment references form a cycle: p -> q -> p");
}

TEST(RuleSegments, LongChainsNeedNoRecursion) {
  std::map<std::string, std::vector<std::string>> chain;
  constexpr int kLength = 200'000;
  for (int i = 0; i < kLength; ++i) chain["s" + std::to_string(i)] = {"s" + std::to_string(i + 1)};
  chain["s" + std::to_string(kLength)] = {"top"};
  const MapResolver segments(std::move(chain));
  EXPECT_FALSE(CheckNoCycles("top", MustParse(R"(in segment "s0")"), segments).ok());
  EXPECT_OK(CheckNoCycles("other", MustParse(R"(in segment "s0")"), segments));
}

// ---- the reference segments of ../shared/bench/segments.sql ----

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

// The rule text of a .rule file: its lines without the comment lines.
std::string WithoutComments(const std::string& text) {
  std::istringstream lines(text);
  std::string line;
  std::string rule;
  while (std::getline(lines, line)) {
    if (!line.empty() && line[0] != '#') rule += (rule.empty() ? "" : "\n") + line;
  }
  return rule;
}

TEST(ReferenceSegments, AllTwentyParseCheckAndRoundTrip) {
  const std::filesystem::path dir = TAILOR_SEGMENT_RULES_DIR;
  std::map<std::string, Rule> rules;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".rule") continue;
    const std::string text = ReadFile(entry.path());
    SCOPED_TRACE(entry.path().filename().string());
    ASSERT_OK_AND_ASSIGN(Rule rule, ParseRule(text));
    // The files are kept in canonical form, so they double as printer golden files.
    EXPECT_EQ(PrintRule(rule), WithoutComments(text));
    ExpectRoundTrips(rule);
    rules.emplace(entry.path().stem().string(), std::move(rule));
  }
  ASSERT_EQ(rules.size(), 20u);
  EXPECT_EQ(rules.begin()->first, "s01_golf_interest");
  EXPECT_EQ(rules.rbegin()->first, "s20_lapsing_high_spenders_newsletter");
  std::map<std::string, std::vector<std::string>> references;
  for (const auto& [name, rule] : rules) references[name] = SegmentReferences(rule);
  const MapResolver segments(references);
  const Schema schema = BenchSchema();
  for (const auto& [name, rule] : rules) {
    SCOPED_TRACE(name);
    EXPECT_OK(CheckRule(rule, schema, segments));
    EXPECT_OK(CheckNoCycles(name, rule, segments));
  }
  EXPECT_EQ(references["s20_lapsing_high_spenders_newsletter"],
            std::vector<std::string>{"s11_high_spenders_365d"});
}

TEST(ReferenceSegments, SchemeMembersParse) {
  const std::string text =
      ReadFile(std::filesystem::path(TAILOR_SEGMENT_RULES_DIR) / "lifecycle_priority.scheme");
  std::istringstream lines(WithoutComments(text));
  std::string line;
  std::vector<std::string> members;
  std::set<std::string> referenced;
  while (std::getline(lines, line)) {
    const size_t colon = line.find(':');
    ASSERT_NE(colon, std::string::npos) << line;
    members.push_back(line.substr(0, colon));
    const std::string rule_text = line.substr(colon + 1);
    if (rule_text == " otherwise") continue;
    ASSERT_OK_AND_ASSIGN(const Rule rule, ParseRule(rule_text));
    for (const std::string& name : SegmentReferences(rule)) referenced.insert(name);
  }
  EXPECT_EQ(members, (std::vector<std::string>{"cart_abandoners", "new_customers", "golf_promo",
                                               "reactivation", "everyone_else"}));
  EXPECT_EQ(referenced, (std::set<std::string>{"s15_cart_abandoners_7d", "s16_reactivation_180d",
                                               "s17_new_customers_60d", "s18_golf_email_promo"}));
}

// ---- JSON ----

TEST(RuleJson, WritesTheDocumentedForm) {
  EXPECT_EQ(
      RuleToJson(MustParse(
          R"(count(purchase where category starts_with "golf", last 90 days) >= 2 and not in segment "x")")),
      R"({"and":[{"subject":{"aggregate":"count","event":"purchase","where":{"subject":{"field":"category"},"op":"starts_with","values":["golf"]},"window":{"last":90,"unit":"days"}},"op":">=","values":[2]},{"not":{"in_segment":"x"}}]})");
  EXPECT_EQ(
      RuleToJson(MustParse("last(add_to_cart, last 7 days) not followed by purchase")),
      R"({"sequence":{"anchor":{"aggregate":"last","event":"add_to_cart","window":{"last":7,"unit":"days"}},"not_followed_by":{"event":"purchase"}}})");
  EXPECT_EQ(
      RuleToJson(MustParse("location within 50 km of (40.4168, -3.7038) and ever(any)")),
      R"({"and":[{"geo":{"lat_trait":"lat","lon_trait":"lon","radius_km":50,"center":[40.4168,-3.7038]}},{"ever":{}}]})");
  EXPECT_EQ(
      RuleToJson(MustParse("signup_ts between 3 and 4 weeks ago and x = \"a\\\"\\x01\"")),
      R"({"and":[{"subject":{"trait":"signup_ts"},"time":{"between":[3,4],"unit":"weeks"}},{"subject":{"trait":"x"},"op":"=","values":["a\"\u0001"]}]})");
}

TEST(RuleJson, ReadsHandWrittenJson) {
  ASSERT_OK_AND_ASSIGN(const Rule rule, RuleFromJson(R"({
      "or": [
        {"subject": {"trait": "age"}, "op": "between", "values": [25, 34]},
        {"never": {"event": "purchase", "window": {"before": 30, "unit": "days"}}},
        {"subject": {"aggregate": "sum", "event": "purchase", "field": "spend"},
         "op": ">", "values": [1000.0]}
      ]})"));
  EXPECT_EQ(PrintRule(rule),
            "age between 25 and 34 or never(purchase, before 30 days ago) or "
            "sum(purchase.spend) > 1000.0");
}

TEST(RuleJson, RejectsBadJson) {
  const auto error = [](std::string_view json) {
    const Result<Rule> rule = RuleFromJson(json);
    EXPECT_FALSE(rule.ok()) << json;
    return rule.ok() ? std::string() : rule.status().message();
  };
  EXPECT_EQ(error(R"({"and": [{"in_segment": "a"}]})"), "$.and: expected at least two operands");
  EXPECT_EQ(error(R"({"subject": {"trait": "a"}, "op": "==", "values": [1]})"),
            "$.op: expected one of \"=\", \"!=\", \"<\", \"<=\", \">\", \">=\", \"between\", "
            "\"in\", \"not_in\", \"contains\", \"starts_with\", \"exists\", \"missing\", found "
            "\"==\"");
  EXPECT_EQ(error(R"({"subject": {"trait": "a"}, "op": "=", "value": 1})"),
            "$: unexpected key \"value\" (expected \"subject\", \"op\", \"values\")");
  EXPECT_EQ(error(R"({"in_segment": "a", "in_segment": "b"})"),
            "$: key \"in_segment\" appears twice");
  EXPECT_EQ(error(R"({"subject": {"trait": "a"}, "op": "between", "values": [1]})"),
            "$.values: expected 2 value(s) for \"between\", found 1");
  EXPECT_EQ(error(R"({"subject": {"field": "price"}, "op": "exists"})"),
            "$.subject: an event field can only be tested inside \"where\"");
  EXPECT_EQ(error(R"({"not": {"ever": {"event": "x", "where": {"in_segment": "a"}}}})"),
            "$.not.ever.where: expected an object with one of the keys \"and\", \"or\", \"not\", "
            "\"subject\"");
  EXPECT_EQ(error(R"({"subject": {"trait": "a"}, "op": "=", "values": [18446744073709551615]})"),
            "$.values[0]: expected a number in range, found 18446744073709551615");
  EXPECT_EQ(error(R"({"ever": {"window": {"last": -1, "unit": "days"}}})"),
            "$.ever.window.last: expected a whole number of 0 or more");
  EXPECT_EQ(error(R"([1, 2])"), "$: expected an object, found an array");
  EXPECT_EQ(error(R"({"and": [)").substr(0, 20), "$: malformed JSON: T");
}

TEST(RuleJson, SameNestingLimitAsText) {
  // kMaxRuleDepth - 1 nots fit (the rule itself is a level); one more does not, in both forms.
  std::string json = R"({"in_segment": "a"})";
  const auto wrap_in_not = [&json] {
    json.insert(0, R"({"not": )");
    json += '}';
  };
  for (int i = 0; i < kMaxRuleDepth - 1; ++i) wrap_in_not();
  ASSERT_OK_AND_ASSIGN(const Rule deepest, RuleFromJson(json));
  ExpectRoundTrips(deepest);
  wrap_in_not();
  EXPECT_EQ(RuleFromJson(json).status().message(),
            fmt::format("$: rule nested too deeply: expected at most {} levels, found {}",
                        kMaxRuleDepth, kMaxRuleDepth + 1));
  Rule too_deep = deepest;
  too_deep.root = Expr{Not{too_deep.root, SourcePos{}}};
  EXPECT_FALSE(ParseRule(PrintRule(too_deep)).ok());
}

// ---- property: random trees round-trip through text and JSON ----

class RandomRules {
 public:
  explicit RandomRules(uint64_t seed) : rng_(seed) {}

  Rule Next() { return Rule{Profile(/*depth=*/0)}; }

 private:
  int Below(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  bool OneIn(int n) { return Below(n) == 0; }

  std::string Name() {
    static constexpr auto kNames = std::to_array<std::string_view>(
        {"age",       "country",     "x",     "interests", "signup_ts",  "a_b_1",
         "_lead",     "Camel",       "count", "last",      "where",      "and",
         "Or",        "days",        "any",   "location",  "with space", "dot.ted",
         "back`tick", "back\\slash", "ñandú", "日本",      "1st",        "-"});
    return std::string(kNames[Below(static_cast<int>(kNames.size()))]);
  }

  std::string EventType() { return OneIn(5) ? std::string() : Name(); }

  std::string FieldPath() {
    std::string path = Name();
    if (OneIn(3)) path = "item." + Name();
    return path;
  }

  std::string Text() {
    static constexpr auto kPieces = std::to_array<std::string_view>(
        {"", "golf", "ES", "\"", "\\", "\n", "\t", "\r", std::string_view("\0", 1), "\x07", "\x7f",
         "é", "🏌", " ", "nl_", "/p/", "`", "#", "2026-01-31"});
    std::string text;
    for (int i = Below(4); i > 0; --i) text += kPieces[Below(static_cast<int>(kPieces.size()))];
    return text;
  }

  double Decimal() {
    switch (Below(6)) {
      case 0:
        return 0.0;
      case 1:
        return -0.0;
      case 2:
        return std::ldexp(static_cast<double>(Below(1 << 20)) - (1 << 19), Below(40) - 20);
      case 3:
        return std::uniform_real_distribution<double>(-1e6, 1e6)(rng_);
      case 4:
        return OneIn(2) ? 5e-324 : std::numeric_limits<double>::max();
      default:
        return static_cast<double>(Below(1000)) / 100;
    }
  }

  Literal RandomLiteral() {
    Literal literal;
    switch (Below(4)) {
      case 0:
        literal.value = Text();
        break;
      case 1:
        literal.value = OneIn(5) ? std::numeric_limits<int64_t>::min() + Below(2)
                                 : static_cast<int64_t>(Below(2001)) - 1000;
        break;
      case 2:
        literal.value = Decimal();
        break;
      default:
        literal.value = OneIn(2);
        break;
    }
    return literal;
  }

  TimeRange Range() {
    TimeRange range;
    range.kind = static_cast<RangeKind>(Below(4));
    range.unit = static_cast<TimeUnit>(Below(4));
    range.amount = OneIn(4) ? 1 : Below(5000);
    if (range.kind == RangeKind::kBetween) range.far_amount = range.amount + Below(100);
    return range;
  }

  EventSet Events(int depth, bool with_window) {
    EventSet events;
    events.event_type = EventType();
    if (depth < kTreeDepth && OneIn(2)) events.filter = Box<Expr>(Filter(depth + 1));
    if (with_window && OneIn(2)) events.window = Range();
    return events;
  }

  Comparison RandomComparison(Subject subject) {
    Comparison comparison;
    comparison.subject = std::move(subject);
    comparison.op = static_cast<CompareOp>(Below(13));
    size_t count = 1;
    if (comparison.op == CompareOp::kExists || comparison.op == CompareOp::kMissing) count = 0;
    if (comparison.op == CompareOp::kBetween) count = 2;
    if (comparison.op == CompareOp::kIn || comparison.op == CompareOp::kNotIn) count = 1 + Below(4);
    for (size_t i = 0; i < count; ++i) comparison.values.push_back(RandomLiteral());
    return comparison;
  }

  Expr Filter(int depth) {
    if (depth < kTreeDepth) {
      switch (Below(6)) {
        case 0:
          return Expr{And{Operands(depth, /*filter=*/true)}};
        case 1:
          return Expr{Or{Operands(depth, /*filter=*/true)}};
        case 2:
          return Expr{Not{Filter(depth + 1), SourcePos{}}};
        default:
          break;
      }
    }
    Subject field;
    field.kind = SubjectKind::kField;
    field.name = FieldPath();
    return Expr{RandomComparison(std::move(field))};
  }

  std::vector<Expr> Operands(int depth, bool filter) {
    std::vector<Expr> operands;
    for (int i = 2 + Below(3); i > 0; --i) {
      operands.push_back(filter ? Filter(depth + 1) : Profile(depth + 1));
    }
    return operands;
  }

  Subject EventSubject(int depth, bool occurrence_only) {
    Subject subject;
    subject.kind = occurrence_only ? (OneIn(2) ? SubjectKind::kFirst : SubjectKind::kLast)
                                   : static_cast<SubjectKind>(2 + Below(8));
    const bool with_field = subject.kind != SubjectKind::kCount &&
                            subject.kind != SubjectKind::kFirst &&
                            subject.kind != SubjectKind::kLast;
    if (with_field) subject.name = FieldPath();
    subject.events = Events(depth, /*with_window=*/true);
    return subject;
  }

  Expr Profile(int depth) {
    const int choice = depth < kTreeDepth ? Below(12) : 3 + Below(9);
    switch (choice) {
      case 0:
        return Expr{And{Operands(depth, /*filter=*/false)}};
      case 1:
        return Expr{Or{Operands(depth, /*filter=*/false)}};
      case 2:
        return Expr{Not{Profile(depth + 1), SourcePos{}}};
      case 3: {
        Subject trait;
        trait.name = Name();
        return Expr{RandomComparison(std::move(trait))};
      }
      case 4:
        return Expr{RandomComparison(EventSubject(depth, /*occurrence_only=*/false))};
      case 5: {
        Subject subject;
        if (OneIn(2)) {
          subject = EventSubject(depth, /*occurrence_only=*/true);
        } else {
          subject.name = Name();
        }
        TimeRange range = Range();
        return Expr{TimeCondition{std::move(subject), range}};
      }
      case 6: {
        GeoCondition geo;
        if (OneIn(2)) {
          geo.lat_trait = Name();
          geo.lon_trait = Name();
        }
        geo.radius_km = std::fabs(Decimal());
        geo.center_lat = Decimal();
        geo.center_lon = Decimal();
        return Expr{std::move(geo)};
      }
      case 7:
        return Expr{Occurrence{OneIn(2), Events(depth, /*with_window=*/true), SourcePos{}}};
      case 8: {
        Sequence sequence;
        sequence.anchor = EventSubject(depth, /*occurrence_only=*/true);
        sequence.negated = OneIn(2);
        sequence.next = Events(depth, /*with_window=*/false);
        return Expr{std::move(sequence)};
      }
      case 9:
        return Expr{SegmentRef{Text(), SourcePos{}}};
      default: {
        Subject trait;
        trait.name = Name();
        return Expr{RandomComparison(std::move(trait))};
      }
    }
  }

  static constexpr int kTreeDepth = 5;
  std::mt19937_64 rng_;
};

TEST(RuleProperty, RandomTreesRoundTripThroughTextAndJson) {
  constexpr uint64_t kSeed = 20261101;  // Fixed so any failure replays exactly.
  RandomRules random(kSeed);
  for (int round = 0; round < 5000; ++round) {
    const Rule rule = random.Next();
    SCOPED_TRACE(fmt::format("seed {} round {}", kSeed, round));
    ExpectRoundTrips(rule);
    if (::testing::Test::HasFailure()) break;  // One replayable failure is enough output.
  }
}

TEST(RuleProperty, EveryParseErrorHasAPosition) {
  // Mutations of valid rules: each must parse, or fail with "line:column: ".
  std::mt19937_64 rng(7);
  const std::string base =
      R"(count(purchase where category starts_with "golf", last 90 days) >= 2 and )"
      R"((location within 5 km of (1.5, -2) or not in segment "v") and x in ["a", 1, 2.5])";
  const std::string alphabet = "()[],.=<>!\"`#\\- \nax0e9_";
  for (int round = 0; round < 20000; ++round) {
    std::string text = base;
    for (int edits = 1 + static_cast<int>(rng() % 3); edits > 0; --edits) {
      const size_t at = rng() % text.size();
      switch (rng() % 3) {
        case 0:
          text.erase(at, 1);
          break;
        case 1:
          text.insert(at, 1, alphabet[rng() % alphabet.size()]);
          break;
        default:
          text[at] = alphabet[rng() % alphabet.size()];
          break;
      }
    }
    const Result<Rule> rule = ParseRule(text);
    if (rule.ok()) {
      ExpectRoundTrips(*rule);
    } else {
      const std::string& message = rule.status().message();
      const size_t colon = message.find(':');
      ASSERT_TRUE(colon != std::string::npos && colon > 0 &&
                  std::all_of(message.begin(), message.begin() + colon,
                              [](char c) { return c >= '0' && c <= '9'; }))
          << text << "\n"
          << message;
    }
    if (::testing::Test::HasFailure()) break;
  }
}

}  // namespace
}  // namespace tailor::segments

namespace tailor::segments {
namespace {

// Signals in rules (tailor/signal_values.h): parsed, printed canonically, in JSON, checked.
TEST(RuleSignals, ParsePrintJsonAndCheck) {
  const Schema schema = BenchSchema();
  const MapResolver segments(Graph{{"vip", {}}});
  // affinity("golf") is affinity(category, "golf").
  const Rule short_form = MustParse(R"(affinity("golf") > 0.6)");
  EXPECT_EQ(PrintRule(short_form), R"(affinity(category, "golf") > 0.6)");
  const auto& c = std::get<Comparison>(short_form.root.node);
  EXPECT_EQ(c.subject.kind, SubjectKind::kSignal);
  EXPECT_EQ(c.subject.name, "affinity");
  EXPECT_EQ(c.subject.arguments, (std::vector<std::string>{"category", "golf"}));
  for (const std::string text : {
           R"(affinity(brand, "acme") >= 0.5 and session.referrer_class = "price_comparison")",
           R"(session.product_views >= 3 and session.minutes < 10.5 or session.events missing)",
           R"(open_rate("email") > 0.2 and click_rate("campaign:spring") exists)",
           R"(first_touch.source = "google" and last_touch.referrer_class in ["search", "paid"])",
           R"(AFFINITY(price_band, "25-50") between 0.2 and 1 and not (session.cart_adds > 0))",
       }) {
    const Rule rule = MustParse(text);
    ExpectRoundTrips(rule);
    SCOPED_TRACE(text);
    EXPECT_OK(CheckRule(rule, schema, segments));
  }
  EXPECT_EQ(RuleToJson(MustParse(R"(affinity("golf") > 0.6)")),
            R"({"subject":{"signal":"affinity","arguments":["category","golf"]},"op":">",)"
            R"("values":[0.6]})");
  ASSERT_OK_AND_ASSIGN(Rule from_json, RuleFromJson(R"({"subject": {"signal": "session.events"},
      "op": ">=", "values": [2]})"));
  EXPECT_EQ(PrintRule(from_json), "session.events >= 2");
  // A trait may still be called session or affinity.
  EXPECT_EQ(std::get<Comparison>(MustParse("affinity > 3").root.node).subject.kind,
            SubjectKind::kTrait);
  EXPECT_EQ(std::get<Comparison>(MustParse("session = 3").root.node).subject.kind,
            SubjectKind::kTrait);

  // Errors: where and what.
  EXPECT_EQ(ParseError("open_rate(email) > 0.5"),
            "1:11: expected a channel (\"email\", \"push\", \"sms\") or \"campaign:<name>\", found "
            "'email'");
  EXPECT_EQ(ParseError(R"(affinity(category "golf") > 1)"),
            "1:19: expected ',', found string "
            "\"golf\"");
  EXPECT_EQ(CheckError(R"(affinity(colour, "red") > 0.5)"),
            "1:1: unknown affinity dimension 'colour'; expected category, brand, price_band, item "
            "or page");
  EXPECT_TRUE(CheckError("session.mood > 1").starts_with("1:1: unknown signal 'session.mood'"));
  EXPECT_EQ(CheckError(R"(session.referrer_class > 3)"),
            "1:24: cannot use '>' on string signal 'session.referrer_class'; expected one of =, "
            "!=, in, not in, contains, starts_with, exists, missing");
  EXPECT_EQ(CheckError(R"(affinity("golf") = "high")"),
            "1:20: expected a number to compare with number signal 'affinity', found string "
            "\"high\"");
  EXPECT_EQ(CheckError(R"(session.events within last 3 days)"),
            "1:16: cannot use a time range on number signal 'session.events'; expected a "
            "timestamp trait, first(...) or last(...)");
}

}  // namespace
}  // namespace tailor::segments

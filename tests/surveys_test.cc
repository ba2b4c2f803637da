// Surveys: definitions refused at the field that is wrong, answers checked per kind, the store
// durable across reopening, and the next question chosen by what segments read.

#include "tailor/surveys.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace tailor::surveys {
namespace {

using ::tailor::testing::TempDir;

constexpr std::string_view kGolf = R"({"title": "Your game", "channels": ["web"],
  "questions": [
    {"id": "level", "text": "Level?", "kind": "single",
     "choices": ["beginner", "intermediate", "advanced"], "trait": "golf_level"},
    {"id": "rounds", "text": "Rounds?", "kind": "scale", "min": 0, "max": 30,
     "trait": "golf_rounds"},
    {"id": "gear", "text": "Gear?", "kind": "multiple", "choices": ["driver", "putter"],
     "trait": "golf_gear"},
    {"id": "why", "text": "Why?", "kind": "text", "trait": "golf_why"}]})";

// The message of a refused definition starts with the path of the field at fault.
void ExpectRefusedAt(std::string_view json, std::string_view path) {
  auto survey = ParseSurvey("s", json);
  ASSERT_FALSE(survey.ok()) << json;
  EXPECT_EQ(survey.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(survey.status().message().starts_with(path)) << survey.status().ToString();
}

TEST(Surveys, DefinitionsAreRefusedAtTheFieldThatIsWrong) {
  ASSERT_OK_AND_ASSIGN(Survey golf, ParseSurvey("golf", kGolf));
  EXPECT_EQ(golf.questions.size(), 4u);
  EXPECT_EQ(golf.questions[2].trait_type(), TraitType::kStringList);
  EXPECT_EQ(golf.questions[1].trait_type(), TraitType::kInt);
  // The JSON form reads back the same.
  ASSERT_OK_AND_ASSIGN(Survey again, ParseSurvey("golf", SurveyJson(golf)));
  EXPECT_EQ(SurveyJson(again), SurveyJson(golf));
  ExpectRefusedAt(SurveyJson(golf), "$.name");  // under another name (ParseSurvey("s", ...))

  ExpectRefusedAt("[]", "$");
  ExpectRefusedAt("{", "$");
  ExpectRefusedAt(R"({"questions": []})", "$.questions");
  ExpectRefusedAt(R"({"title": "x"})", "$.questions");
  ExpectRefusedAt(R"({"questions": [], "colour": "red"})", "$.colour");
  ExpectRefusedAt(R"({"questions": [{"id": "q", "text": "?", "kind": "single", "trait": "t"}]})",
                  "$.questions[0].choices");
  ExpectRefusedAt(R"({"questions": [{"id": "q", "text": "?", "kind": "pick", "trait": "t"}]})",
                  "$.questions[0].kind");
  ExpectRefusedAt(R"({"questions": [{"id": "q", "text": "?", "kind": "text"}]})",
                  "$.questions[0].trait");
  ExpectRefusedAt(
      R"({"questions": [{"id": "q", "text": "?", "kind": "scale", "min": 5, "max": 1,
          "trait": "t"}]})",
      "$.questions[0].min");
  ExpectRefusedAt(
      R"({"questions": [{"id": "q", "text": "?", "kind": "text", "trait": "t"},
                        {"id": "q", "text": "?", "kind": "text", "trait": "u"}]})",
      "$.questions[1].id");
  ExpectRefusedAt(
      R"({"questions": [{"id": "q", "text": "?", "kind": "single", "choices": ["a", "a"],
          "trait": "t"}]})",
      "$.questions[0].choices[1]");
  EXPECT_FALSE(ParseSurvey("bad name", kGolf).ok());
}

TEST(Surveys, AnswersAreCheckedPerKind) {
  ASSERT_OK_AND_ASSIGN(Survey golf, ParseSurvey("golf", kGolf));
  const Question& level = golf.questions[0];
  const Question& rounds = golf.questions[1];
  const Question& gear = golf.questions[2];
  const Question& why = golf.questions[3];
  ASSERT_OK_AND_ASSIGN(TypedValue v, CheckAnswer(level, {TraitType::kString, "advanced"}));
  EXPECT_EQ(std::get<std::string>(v.value), "advanced");
  auto wrong = CheckAnswer(level, {TraitType::kString, "expert"});
  EXPECT_EQ(wrong.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(wrong.status().message().find("beginner, intermediate, advanced"), std::string::npos);
  EXPECT_FALSE(CheckAnswer(level, {TraitType::kInt, int64_t{2}}).ok());

  ASSERT_OK_AND_ASSIGN(v, CheckAnswer(rounds, {TraitType::kInt, int64_t{30}}));
  EXPECT_EQ(std::get<int64_t>(v.value), 30);
  EXPECT_FALSE(CheckAnswer(rounds, {TraitType::kInt, int64_t{31}}).ok());
  EXPECT_FALSE(CheckAnswer(rounds, {TraitType::kInt, int64_t{-1}}).ok());
  EXPECT_FALSE(CheckAnswer(rounds, {TraitType::kDouble, 2.5}).ok());

  ASSERT_OK_AND_ASSIGN(v, CheckAnswer(gear, {TraitType::kStringList, StringList{"putter"}}));
  EXPECT_EQ(std::get<StringList>(v.value), StringList{"putter"});
  ASSERT_OK_AND_ASSIGN(v, CheckAnswer(gear, {TraitType::kString, "driver"}));  // one choice
  EXPECT_EQ(v.type, TraitType::kStringList);
  EXPECT_FALSE(CheckAnswer(gear, {TraitType::kStringList, StringList{}}).ok());
  EXPECT_FALSE(CheckAnswer(gear, {TraitType::kStringList, StringList{"driver", "driver"}}).ok());
  EXPECT_FALSE(CheckAnswer(gear, {TraitType::kStringList, StringList{"wedge"}}).ok());

  ASSERT_OK(CheckAnswer(why, {TraitType::kString, "fun"}).status());
  EXPECT_FALSE(CheckAnswer(why, {TraitType::kString, ""}).ok());
  EXPECT_FALSE(CheckAnswer(why, {TraitType::kString, std::string(1001, 'x')}).ok());
}

TEST(Surveys, TheStoreKeepsSurveysAcrossReopening) {
  TempDir dir;
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<store::Store> store, store::Store::Open(dir.path(), {}));
    SurveyStore surveys(*store);
    ASSERT_OK(surveys.Load());
    ASSERT_OK_AND_ASSIGN(Survey golf, ParseSurvey("golf", kGolf));
    ASSERT_OK(surveys.Put(golf));
    golf.name = "golf2";
    golf.open = false;
    ASSERT_OK(surveys.Put(golf));
  }
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<store::Store> store, store::Store::Open(dir.path(), {}));
  SurveyStore surveys(*store);
  ASSERT_OK(surveys.Load());
  ASSERT_EQ(surveys.List().size(), 2u);
  ASSERT_OK_AND_ASSIGN(Survey closed, surveys.Get("golf2"));
  EXPECT_FALSE(closed.open);
  EXPECT_EQ(surveys.Get("none").status().code(), StatusCode::kNotFound);
}

TEST(Surveys, TheNextQuestionIsTheUnknownTraitMostSegmentsRead) {
  ASSERT_OK_AND_ASSIGN(Survey golf, ParseSurvey("golf", kGolf));
  const std::vector<Survey> surveys = {golf};
  TraitMap traits = {{"age", {TraitType::kInt, int64_t{40}}}};
  std::map<std::string, size_t, std::less<>> readers = {{"golf_rounds", 3}, {"golf_level", 1}};
  AskContext context;
  context.traits = &traits;
  context.channel = "web";
  context.trait_readers = &readers;
  auto next = ChooseNextQuestion(surveys, context);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->question, "rounds");
  EXPECT_EQ(next->readers, 3u);
  EXPECT_NE(next->reason.find("3 live segments"), std::string::npos) << next->reason;
  // Known already: the next one; none read: the first unknown in order.
  traits.push_back({"golf_rounds", {TraitType::kInt, int64_t{4}}});
  EXPECT_EQ(ChooseNextQuestion(surveys, context)->question, "level");
  traits.push_back({"golf_level", {TraitType::kString, "beginner"}});
  EXPECT_EQ(ChooseNextQuestion(surveys, context)->question, "gear");
  // Another channel, the cap, a closed survey: nothing.
  context.channel = "sms";
  EXPECT_FALSE(ChooseNextQuestion(surveys, context));
  context.channel = "web";
  context.asked_recently = 3;
  EXPECT_FALSE(ChooseNextQuestion(surveys, context));
  context.asked_recently = 0;
  std::vector<Survey> closed = surveys;
  closed[0].open = false;
  EXPECT_FALSE(ChooseNextQuestion(closed, context));
}

// The expected value ranks the questions: a question fewer segments read comes first when its
// answer would change more, one whose answer changes nothing is not asked, and an answer older
// than its question's refresh_days is asked again.
TEST(Surveys, TheNextQuestionIsTheOneWhoseAnswerWouldChangeTheMost) {
  ASSERT_OK_AND_ASSIGN(Survey golf, ParseSurvey("golf", R"({"channels": ["web"], "questions": [
      {"id": "level", "text": "Level?", "kind": "single", "trait": "golf_level",
       "choices": ["beginner", "intermediate", "advanced"], "refresh_days": 180},
      {"id": "rounds", "text": "Rounds?", "kind": "scale", "min": 0, "max": 30,
       "trait": "golf_rounds"}]})"));
  EXPECT_EQ(golf.questions[0].refresh_days, 180);
  ASSERT_OK_AND_ASSIGN(Survey again, ParseSurvey("golf", SurveyJson(golf)));
  EXPECT_EQ(again.questions[0].refresh_days, 180);
  ExpectRefusedAt(R"({"questions": [{"id": "a", "text": "A?", "kind": "text", "trait": "t",
                      "refresh_days": -1}]})",
                  "$.questions[0].refresh_days");
  ExpectRefusedAt(R"({"questions": [{"id": "a", "text": "A?", "kind": "scale", "trait": "t",
                      "min": 0, "max": 1000000000000000000}]})",
                  "$.questions[0].max");
  const std::vector<Survey> surveys = {golf};
  TraitMap traits;
  std::map<std::string, size_t, std::less<>> readers = {{"golf_level", 3}, {"golf_rounds", 1}};
  std::map<std::string, double> value = {{"level", 0.25}, {"rounds", 0.9}};
  AskContext context;
  context.traits = &traits;
  context.trait_readers = &readers;
  context.expected_changes = [&](const Survey&, const Question& q) { return value.at(q.id); };
  auto next = ChooseNextQuestion(surveys, context);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->question, "rounds");  // read by fewer, worth more
  EXPECT_DOUBLE_EQ(next->expected_changes, 0.9);
  EXPECT_NE(next->reason.find("0.90"), std::string::npos) << next->reason;
  value["rounds"] = 0;  // its answer would change nothing: not asked
  EXPECT_EQ(ChooseNextQuestion(surveys, context)->question, "level");
  value["level"] = 0;
  EXPECT_FALSE(ChooseNextQuestion(surveys, context));
  // Answered 200 days ago: out of date, asked again; 100 days ago: not.
  value["level"] = 0.5;
  traits.push_back({"golf_level", {TraitType::kString, std::string("beginner")}});
  const Timestamp day = 86'400'000, now = 1'800'000'000'000;
  std::map<std::string, Timestamp, std::less<>> answered = {{"golf_level", now - 200 * day}};
  context.answered_at = &answered;
  context.now = now;
  next = ChooseNextQuestion(surveys, context);
  ASSERT_TRUE(next);
  EXPECT_TRUE(next->stale);
  EXPECT_NE(next->reason.find("out of date"), std::string::npos) << next->reason;
  answered["golf_level"] = now - 100 * day;
  EXPECT_FALSE(ChooseNextQuestion(surveys, context));
}

TEST(Surveys, PossibleAnswersOfEachKind) {
  ASSERT_OK_AND_ASSIGN(Survey golf, ParseSurvey("golf", kGolf));
  const auto texts = [](const std::vector<TypedValue>& answers) {
    std::vector<std::string> out;
    for (const TypedValue& a : answers) {
      if (const auto* s = std::get_if<std::string>(&a.value)) out.push_back(*s);
      if (const auto* i = std::get_if<int64_t>(&a.value)) out.push_back(std::to_string(*i));
      if (const auto* l = std::get_if<StringList>(&a.value)) out.push_back("[" + l->at(0) + "]");
    }
    return out;
  };
  EXPECT_EQ(texts(PossibleAnswers(golf.questions[0], {})),
            (std::vector<std::string>{"beginner", "intermediate", "advanced"}));
  const std::vector<std::string> rounds = texts(PossibleAnswers(golf.questions[1], {}));
  ASSERT_EQ(rounds.size(), 21u);  // 0..30 spread over 21 points
  EXPECT_EQ(rounds.front(), "0");
  EXPECT_EQ(rounds[1], "1");
  EXPECT_EQ(rounds.back(), "30");
  EXPECT_EQ(texts(PossibleAnswers(golf.questions[2], {})),
            (std::vector<std::string>{"[driver]", "[putter]"}));
  EXPECT_EQ(texts(PossibleAnswers(golf.questions[3], {"fun", "health"})),
            (std::vector<std::string>{"fun", "health"}));
  EXPECT_EQ(PossibleAnswers(golf.questions[3], {}).size(), 1u);  // a stand-in before anyone
  Question short_scale = golf.questions[1];
  short_scale.scale_min = 1;
  short_scale.scale_max = 5;
  EXPECT_EQ(texts(PossibleAnswers(short_scale, {})),
            (std::vector<std::string>{"1", "2", "3", "4", "5"}));
}

}  // namespace
}  // namespace tailor::surveys

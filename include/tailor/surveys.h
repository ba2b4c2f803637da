#pragma once

// Surveys: "if we don't know, ask" (zero-party data). A survey is a few questions, each bound to
// the trait its answer fills (`golf_level`), with the channels it may be shown on. Answers
// become declared traits through the ordinary write path (so live segments follow at once) and
// `survey_answer` events (survey, question, answer, channel as properties), which the reports
// count with `survey_shown` events. The next question for a person is one whose trait they
// lack and that the most live segments read, under a cap of questions per person.
//
// Surveys are stored as their JSON text in the definitions table (`survey/<name>`).

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "tailor/json_writer.h"
#include "tailor/status.h"
#include "tailor/store.h"
#include "tailor/types.h"

namespace tailor::surveys {

enum class QuestionKind : uint8_t { kSingle, kMultiple, kScale, kText };
std::string_view QuestionKindName(QuestionKind kind);  // "single", "multiple", "scale", "text"

struct Question {
  std::string id;
  std::string text;
  QuestionKind kind = QuestionKind::kSingle;
  std::vector<std::string> choices;      // single, multiple
  int64_t scale_min = 1, scale_max = 5;  // scale
  std::string trait;                     // the trait the answer fills
  // An answer older than this many days is out of date: asked again (0: never).
  int64_t refresh_days = 0;
  // The trait's type: single and text a string, multiple a string list, scale an int.
  TraitType trait_type() const;
};

struct Survey {
  std::string name;
  std::string title;
  bool open = true;
  std::vector<std::string> channels;  // where it may be shown; empty: everywhere
  std::vector<Question> questions;
  const Question* Find(std::string_view question) const;
};

// A survey from its JSON: {"title": "...", "open": true, "channels": ["web", "email"],
// "questions": [{"id": "level", "text": "...", "kind": "single", "choices": [...],
// "trait": "golf_level"}, {"id": "rating", "kind": "scale", "min": 1, "max": 10, ...}]}.
// kInvalidArgument names the field ("$.questions[1].choices: ..."): unknown fields, a question
// without id, text or trait, duplicate ids, a trait two questions fill with different kinds of
// answer, a choice question without choices, min > max.
Result<Survey> ParseSurvey(std::string_view name, std::string_view json);
std::string SurveyJson(const Survey& survey);

// The trait value of an answer, checked against the question: a choice of a single question, a
// list of distinct choices of a multiple one, a whole number in range for a scale, non-empty
// text of at most 1000 bytes. kInvalidArgument says what is wrong ("'expert' is not one of
// beginner, intermediate, advanced").
Result<TypedValue> CheckAnswer(const Question& question, const TypedValue& given);

// Questions shown (`survey_shown` events) and answered, per question over every channel (channel
// "") and per channel; the response rate is answered / shown. Per person: of the people the
// question was put to (shown, or answered without a recorded showing; on the channel it was
// shown on), how many answered every question of the survey (the completion rate) and how many
// answered neither it nor any question after it in the survey's order (they dropped off there).
struct QuestionReport {
  std::string question, channel;
  uint64_t shown = 0, answered = 0;
  uint64_t people = 0, completed = 0, dropped = 0;
};
// {"survey", "questions": [{question, channel, shown, answered, response_rate, people,
// completion_rate, drop_off_rate}]}: one spelling for `tailor survey report --json` and the HTTP
// API.
void WriteReport(JsonWriter& json, std::string_view survey,
                 const std::vector<QuestionReport>& rows);

// The surveys of a store; thread-safe.
class SurveyStore {
 public:
  explicit SurveyStore(store::Store& store) : store_(store) {}
  Status Load();
  // Creates or replaces (durably).
  Status Put(const Survey& survey);
  Result<Survey> Get(std::string_view name) const;  // kNotFound
  std::vector<Survey> List() const;

 private:
  store::Store& store_;
  mutable std::mutex mutex_;
  std::map<std::string, Survey, std::less<>> surveys_;
};

// What decides the next question for one person.
struct AskContext {
  const TraitMap* traits = nullptr;  // the person's traits (by name)
  // When they last answered for each trait (their survey_answer events), and now: an answer
  // older than its question's refresh_days is out of date.
  const std::map<std::string, Timestamp, std::less<>>* answered_at = nullptr;
  Timestamp now = 0;
  std::string_view channel;                      // where it would be shown
  uint64_t asked_recently = 0;                   // questions put to them within the cap's window
  const std::set<std::string>* asked = nullptr;  // those, as "survey/question": not asked again
  uint64_t cap = 3;                              // at most this many within the window
  // How much knowing each trait matters: the number of live segments whose rules read it.
  const std::map<std::string, size_t, std::less<>>* trait_readers = nullptr;
  // The expected value of a question's answer: how many of the person's segment memberships it
  // would change, averaged over the answers they may give (Service::NextQuestion weighs each by
  // how often others gave it). When set, it ranks the questions and one worth nothing is not
  // asked; without it, the number of segments reading the trait ranks them.
  std::function<double(const Survey&, const Question&)> expected_changes;
};

struct NextQuestion {
  std::string survey, question, trait;
  size_t readers = 0;           // live segments reading the trait
  std::string reason;           // why this question, in words
  double expected_changes = 0;  // of their memberships, on average (AskContext)
  bool stale = false;           // known, but answered longer ago than refresh_days
};

// The answers a question may get, to weigh what each would change: its choices (for a multiple
// choice question, each choice alone), the points of a scale (at most 21, spread evenly), and for
// free text `given_texts` (what others answered), else a stand-in text.
std::vector<TypedValue> PossibleAnswers(const Question& question,
                                        const std::vector<std::string>& given_texts);

// The question worth asking: open surveys allowed on the channel, questions whose trait the
// person lacks (or answered longer ago than its refresh_days) and was not asked within the cap's
// window; the one of the highest expected value first (or, without one, whose trait the most
// segments read; then survey and question order); nullopt when there is none, when no answer
// would change anything, or the cap is reached.
std::optional<NextQuestion> ChooseNextQuestion(const std::vector<Survey>& surveys,
                                               const AskContext& context);

}  // namespace tailor::surveys

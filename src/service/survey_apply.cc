// Surveys on the live profiles: an answer becomes a trait and a `survey_answer` event in one
// write (membership follows at once); the next question is chosen from what the live segments
// read and what the person lacks.

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <set>
#include <shared_mutex>

#include "service/service_impl.h"
#include "tailor/live_segments.h"

namespace tailor {

Result<Service::SurveyAnswered> Service::AnswerSurvey(std::string_view survey_name,
                                                      std::string_view profile,
                                                      std::string_view question_id,
                                                      const TypedValue& answer,
                                                      std::string_view channel, bool anonymous) {
  TAILOR_ASSIGN_OR_RETURN(surveys::Survey survey, impl_->surveys->Get(survey_name));
  if (!survey.open) return FailedPrecondition("survey '{}' is closed", survey_name);
  const surveys::Question* question = survey.Find(question_id);
  if (question == nullptr) {
    return NotFound("survey '{}' has no question '{}'", survey_name, question_id);
  }
  if (!channel.empty() && !survey.channels.empty() &&
      std::find(survey.channels.begin(), survey.channels.end(), channel) == survey.channels.end()) {
    return FailedPrecondition("survey '{}' is not shown on channel '{}' (only {})", survey_name,
                              channel, fmt::join(survey.channels, ", "));
  }
  TAILOR_ASSIGN_OR_RETURN(TypedValue value, surveys::CheckAnswer(*question, answer));
  if (profile.empty()) return InvalidArgument("the answer names no profile");
  // The trait and the event are accepted or refused one by one: refuse here what the trait would
  // refuse, so that an answer is stored whole or not at all.
  if (const TraitDef* def = engine_->shared_schema()->Find(question->trait);
      def != nullptr && def->type != value.type) {
    return FailedPrecondition("trait '{}' is {}; the question's answers are {}", question->trait,
                              TraitTypeName(def->type), TraitTypeName(value.type));
  }
  const Timestamp time = now();
  ProfileInput input{std::string(profile), {{question->trait, value}}};
  input.time = time;
  input.anonymous = anonymous;
  input.source = TraitSource::kDeclared;  // the person's own answer: inferences never replace it
  EventInput event;
  (anonymous ? event.anonymous_id : event.profile_id) = std::string(profile);
  event.type = "survey_answer";
  event.time = time;
  event.context.channel = std::string(channel);
  std::string text;
  if (const StringList* list = std::get_if<StringList>(&value.value)) {
    text = fmt::format("{}", fmt::join(*list, ","));
  } else if (const int64_t* number = std::get_if<int64_t>(&value.value)) {
    text = std::to_string(*number);
  } else {
    text = std::get<std::string>(value.value);
  }
  event.properties = {{"survey", survey.name},
                      {"question", question->id},
                      {"trait", question->trait},
                      {"answer", text}};
  BatchReport profile_report, event_report;
  TAILOR_RETURN_IF_ERROR(
      Write(std::span(&input, 1), std::span(&event, 1), profile_report, event_report));
  if (!profile_report.rejected.empty()) {
    return InvalidArgument("{}", profile_report.rejected.front().reason);
  }
  if (!event_report.rejected.empty()) {
    return InvalidArgument("{}", event_report.rejected.front().reason);
  }
  return SurveyAnswered{question->trait, std::move(value)};
}

Result<std::optional<surveys::NextQuestion>> Service::NextQuestion(std::string_view profile,
                                                                   std::string_view channel,
                                                                   uint64_t cap,
                                                                   Timestamp cap_window_ms) {
  TAILOR_ASSIGN_OR_RETURN(
      working_set::ProfileHandle resident,
      impl_->working_set->Get(profile, working_set::WorkingSet::Admit::kOnSecondMiss));
  TAILOR_ASSIGN_OR_RETURN(std::vector<StoredEventView> events, resident->Events());
  // Questions shown (or answered: an answer without a shown event still counts) in the window.
  // Questions put to them in the window: each counts once against the cap (shown, answered or
  // both), and is not asked again within it.
  std::set<std::string> asked;
  const Timestamp since = now() - cap_window_ms;
  for (const StoredEventView& e : events) {
    if ((e.type != "survey_shown" && e.type != "survey_answer") || e.time < since) continue;
    std::string survey_name, question_id;
    for (const auto& [key, value] : e.properties) {
      if (key == "survey") survey_name = value;
      if (key == "question") question_id = value;
    }
    asked.insert(survey_name + "/" + question_id);
  }
  // How many live segments read each trait: what membership already knows of every rule.
  std::map<std::string, size_t, std::less<>> readers;
  {
    std::shared_lock lock(impl_->live_mutex);
    readers = impl_->live->TraitReaders();
  }
  surveys::AskContext context;
  context.traits = &resident->view.traits;
  context.channel = channel;
  context.asked_recently = asked.size();
  context.asked = &asked;
  context.cap = cap;
  context.trait_readers = &readers;
  return surveys::ChooseNextQuestion(impl_->surveys->List(), context);
}

surveys::SurveyStore& Service::surveys() { return *impl_->surveys; }

Status Service::PutSurvey(const surveys::Survey& survey) {
  // The traits first, so that segments can name them before anyone answers; what people say of
  // themselves is a preference (declared), whatever the trait.
  std::vector<TraitDef> traits;
  for (const surveys::Question& q : survey.questions) {
    traits.push_back({q.trait, q.trait_type(), TraitCategory::kPreference});
  }
  TAILOR_RETURN_IF_ERROR(impl_->DeclareTraits(*this, traits));
  return impl_->surveys->Put(survey);
}

Result<std::vector<Service::QuestionReport>> Service::SurveyReport(std::string_view survey_name) {
  TAILOR_ASSIGN_OR_RETURN(surveys::Survey survey, impl_->surveys->Get(survey_name));
  TAILOR_ASSIGN_OR_RETURN(
      snapshot::LiveSnapshot::Version version,
      impl_->CurrentSnapshot(*engine_, {}, std::chrono::milliseconds(0),
                             {"channel", "properties.survey", "properties.question"}));
  const snapshot::EventColumns& events = version.snapshot->events();
  const uint32_t shown = events.types.Find("survey_shown");
  const uint32_t answered = events.types.Find("survey_answer");
  const snapshot::EventStringColumn& survey_of = events.extra.at("properties.survey");
  const snapshot::EventStringColumn& question_of = events.extra.at("properties.question");
  const snapshot::EventStringColumn& channel_of = events.extra.at("channel");
  const uint32_t survey_code = survey_of.dictionary.Find(survey.name);
  std::map<std::pair<std::string, std::string>, QuestionReport> by_key;
  for (const surveys::Question& q : survey.questions) by_key[{q.id, ""}].question = q.id;
  if (survey_code != snapshot::kNullCode) {
    for (size_t e = 0; e < events.size(); ++e) {
      if (events.type[e] != shown && events.type[e] != answered) continue;
      if (survey_of.codes[e] != survey_code || question_of.codes[e] == snapshot::kNullCode)
        continue;
      const std::string question(question_of.dictionary[question_of.codes[e]]);
      const std::string channel(channel_of.codes[e] == snapshot::kNullCode
                                    ? ""
                                    : channel_of.dictionary[channel_of.codes[e]]);
      // Every question has a row over all channels, and one per channel it was seen on.
      std::vector<std::string> keys = {""};
      if (!channel.empty()) keys.push_back(channel);
      for (const std::string& key : keys) {
        QuestionReport& r = by_key[{question, key}];
        r.question = question;
        r.channel = key;
        (events.type[e] == shown ? r.shown : r.answered) += 1;
      }
    }
  }
  std::vector<QuestionReport> out;
  for (auto& [key, report] : by_key) out.push_back(report);
  return out;
}

}  // namespace tailor

// Surveys on the live profiles: an answer becomes a trait and a `survey_answer` event in one
// write (membership follows at once); the next question is chosen from what the live segments
// read and what the person lacks.

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <bit>
#include <set>
#include <shared_mutex>

#include "service/service_impl.h"
#include "tailor/live_segments.h"

namespace tailor {
namespace {

// Calls `visit` with each profile that has a value in `column`.
template <typename Visit>
void ForEachPresent(const snapshot::TraitColumn& column, Visit visit) {
  const std::vector<uint64_t>& words = column.present.words;
  for (size_t w = 0; w < words.size(); ++w) {
    for (uint64_t bits = words[w]; bits != 0; bits &= bits - 1) {
      visit(static_cast<ProfileId>(w * 64 + std::countr_zero(bits)));
    }
  }
}

}  // namespace

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
  std::map<std::string, Timestamp, std::less<>> answered_at;  // per trait, the latest answer
  const Timestamp at = now();
  const Timestamp since = at - cap_window_ms;
  for (const StoredEventView& e : events) {
    if (e.type == "survey_answer") {
      const std::string_view trait = EventProperty(e, "trait");
      if (!trait.empty()) {
        Timestamp& latest = answered_at[std::string(trait)];
        latest = std::max(latest, e.time);
      }
    }
    if ((e.type != "survey_shown" && e.type != "survey_answer") || e.time < since) continue;
    asked.insert(std::string(EventProperty(e, "survey")) + "/" +
                 std::string(EventProperty(e, "question")));
  }
  // How many live segments read each trait: what membership already knows of every rule.
  std::map<std::string, size_t, std::less<>> readers;
  {
    std::shared_lock lock(impl_->live_mutex);
    readers = impl_->live->TraitReaders();
  }
  // The expected value of each answer: how many of their memberships it would change (the live
  // segments re-decided with the answer in place), weighed by how often others gave it.
  const std::shared_ptr<const segments::ItemCatalog> items = impl_->CurrentItems();
  const std::shared_ptr<const signals::StoreIndex> stores = impl_->CurrentStores();
  const auto counts_of =
      [&](const std::string& trait) -> std::shared_ptr<const Impl::AnswerCounts> {
    // A snapshot up to a minute old: how people answer moves slowly.
    auto version = impl_->CurrentSnapshot(*engine_, {}, std::chrono::seconds(60));
    if (!version.ok()) return std::make_shared<const Impl::AnswerCounts>();
    std::lock_guard lock(impl_->answer_counts_mutex);
    if (impl_->answer_counts_snapshot != version->snapshot) {
      impl_->answer_counts_snapshot = version->snapshot;
      impl_->answer_counts.clear();
    }
    auto& cached = impl_->answer_counts[trait];
    if (cached == nullptr) {
      auto counts = std::make_shared<Impl::AnswerCounts>();
      const snapshot::TraitColumn* column = version->snapshot->trait(trait);
      if (column != nullptr) {
        ForEachPresent(*column, [&](ProfileId id) {
          if (column->type == TraitType::kString) {
            ++(*counts)[std::string(column->dictionary[column->codes[id]])];
          } else if (column->type == TraitType::kInt) {
            ++(*counts)[std::to_string(column->ints[id])];
          } else if (column->type == TraitType::kStringList) {
            for (uint32_t k = column->list_offsets[id]; k < column->list_offsets[id + 1]; ++k) {
              ++(*counts)[std::string(column->dictionary[column->list_codes[k]])];
            }
          }
        });
      }
      cached = std::move(counts);
    }
    return cached;
  };
  const auto expected_changes = [&](const surveys::Survey&, const surveys::Question& q) {
    if (readers.find(q.trait) == readers.end()) return 0.0;  // no segment reads it
    const std::shared_ptr<const Impl::AnswerCounts> counts = counts_of(q.trait);
    std::vector<std::string> given;  // free text: what others answered, most often first
    if (q.kind == surveys::QuestionKind::kText) {
      std::vector<std::pair<uint64_t, std::string>> ranked;
      for (const auto& [text, n] : *counts) ranked.emplace_back(n, text);
      std::stable_sort(ranked.begin(), ranked.end(),
                       [](const auto& a, const auto& b) { return a.first > b.first; });
      for (size_t i = 0; i < ranked.size() && i < 10; ++i) given.push_back(ranked[i].second);
    }
    const std::vector<TypedValue> answers = surveys::PossibleAnswers(q, given);
    if (answers.empty()) return 0.0;
    // How many gave each answer (a list: those whose list holds it), plus one each.
    std::vector<double> weight(answers.size(), 1.0);
    for (size_t a = 0; a < answers.size(); ++a) {
      std::string key;
      if (const auto* text = std::get_if<std::string>(&answers[a].value)) key = *text;
      if (const auto* number = std::get_if<int64_t>(&answers[a].value)) {
        key = std::to_string(*number);
      }
      if (const auto* list = std::get_if<StringList>(&answers[a].value)) key = list->front();
      auto it = counts->find(key);
      if (it != counts->end()) weight[a] += static_cast<double>(it->second);
    }
    double total = 0;
    for (double w : weight) total += w;
    TraitMap traits = resident->view.traits;
    auto slot = std::find_if(traits.begin(), traits.end(),
                             [&](const auto& entry) { return entry.first == q.trait; });
    if (slot == traits.end()) {
      traits.emplace_back(q.trait, TypedValue{});
      slot = traits.end() - 1;
    }
    segments::ProfileRow row{resident->view.id, &traits, events, items.get(), at, {}};
    row.stores = stores.get();
    segments::ProfileChange change;
    change.traits = {q.trait};
    double expected = 0;
    std::shared_lock lock(impl_->live_mutex);
    for (size_t a = 0; a < answers.size(); ++a) {
      slot->second = answers[a];
      expected += weight[a] / total * impl_->live->Decide(row, change).changed.size();
    }
    return expected;
  };
  surveys::AskContext context;
  context.traits = &resident->view.traits;
  context.answered_at = &answered_at;
  context.now = at;
  context.expected_changes = expected_changes;
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
  const auto row = [&](const std::string& question, const std::string& channel) -> QuestionReport& {
    QuestionReport& r = by_key[{question, channel}];
    r.question = question;
    r.channel = channel;
    return r;
  };
  if (survey_code != snapshot::kNullCode) {
    const size_t n = survey.questions.size();
    const std::vector<uint64_t>& offsets = events.offsets;
    for (size_t p = 0; p + 1 < offsets.size(); ++p) {
      // This person's questions: put to them (on which channel) and answered, by survey order.
      std::vector<std::string> put_on(n);
      std::vector<uint8_t> put(n, 0), answered_by(n, 0);
      for (uint64_t e = offsets[p]; e < offsets[p + 1]; ++e) {
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
          (events.type[e] == shown ? row(question, key).shown : row(question, key).answered) += 1;
        }
        const surveys::Question* q = survey.Find(question);
        if (q == nullptr) continue;  // a question since removed
        const size_t i = static_cast<size_t>(q - survey.questions.data());
        if (!put[i] || (events.type[e] == shown && put_on[i].empty())) put_on[i] = channel;
        put[i] = 1;
        if (events.type[e] == answered) answered_by[i] = 1;
      }
      const bool completed =
          std::all_of(answered_by.begin(), answered_by.end(), [](uint8_t a) { return a != 0; });
      for (size_t i = 0; i < n; ++i) {
        if (!put[i]) continue;
        const bool went_on = std::any_of(answered_by.begin() + static_cast<ptrdiff_t>(i),
                                         answered_by.end(), [](uint8_t a) { return a != 0; });
        std::vector<std::string> keys = {""};
        if (!put_on[i].empty()) keys.push_back(put_on[i]);
        for (const std::string& key : keys) {
          QuestionReport& r = row(survey.questions[i].id, key);
          ++r.people;
          r.completed += completed;
          r.dropped += !went_on;
        }
      }
    }
  }
  std::vector<QuestionReport> out;
  for (auto& [key, report] : by_key) out.push_back(report);
  return out;
}

}  // namespace tailor

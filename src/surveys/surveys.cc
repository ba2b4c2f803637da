#include "tailor/surveys.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <set>

#include "tailor/json_writer.h"

namespace tailor::surveys {
namespace {

constexpr std::string_view kPrefix = "survey/";
constexpr size_t kMaxTextAnswer = 1000;

std::string KeyOf(std::string_view name) { return std::string(kPrefix) + std::string(name); }

Status Bad(std::string_view path, std::string_view what) {
  return InvalidArgument("{}: {}", path, what);
}

Result<std::string> StringField(simdjson::dom::element value, std::string_view path) {
  std::string_view text;
  if (value.get_string().get(text)) return Bad(path, "expected a string");
  return std::string(text);
}

Result<std::vector<std::string>> Strings(simdjson::dom::element value, std::string_view path) {
  simdjson::dom::array array;
  if (value.get_array().get(array)) return Bad(path, "expected an array of strings");
  std::vector<std::string> out;
  size_t i = 0;
  for (simdjson::dom::element item : array) {
    std::string_view text;
    if (item.get_string().get(text) || text.empty()) {
      return Bad(fmt::format("{}[{}]", path, i), "expected a non-empty string");
    }
    if (std::find(out.begin(), out.end(), text) != out.end()) {
      return Bad(fmt::format("{}[{}]", path, i), fmt::format("'{}' is there twice", text));
    }
    out.emplace_back(text);
    ++i;
  }
  return out;
}

bool ValidName(std::string_view name) {
  return !name.empty() && name.size() <= 128 && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

Result<Question> ParseQuestion(simdjson::dom::element element, const std::string& path) {
  simdjson::dom::object object;
  if (element.get_object().get(object)) return Bad(path, "expected an object");
  Question q;
  bool has_kind = false, has_min = false, has_max = false;
  for (auto [key, value] : object) {
    const std::string field = fmt::format("{}.{}", path, std::string_view(key));
    if (key == "id" || key == "text" || key == "trait") {
      auto text = StringField(value, field);
      if (!text.ok()) return text.status();
      (key == "id" ? q.id : key == "text" ? q.text : q.trait) = std::move(text).value();
    } else if (key == "kind") {
      auto text = StringField(value, field);
      if (!text.ok()) return text.status();
      if (*text == "single") {
        q.kind = QuestionKind::kSingle;
      } else if (*text == "multiple") {
        q.kind = QuestionKind::kMultiple;
      } else if (*text == "scale") {
        q.kind = QuestionKind::kScale;
      } else if (*text == "text") {
        q.kind = QuestionKind::kText;
      } else {
        return Bad(field, "expected single, multiple, scale or text");
      }
      has_kind = true;
    } else if (key == "choices") {
      auto choices = Strings(value, field);
      if (!choices.ok()) return choices.status();
      q.choices = std::move(choices).value();
    } else if (key == "min" || key == "max") {
      int64_t number = 0;
      if (value.get_int64().get(number) || number < -1'000'000'000 || number > 1'000'000'000) {
        return Bad(field, "expected a whole number from -1000000000 to 1000000000");
      }
      (key == "min" ? q.scale_min : q.scale_max) = number;
      (key == "min" ? has_min : has_max) = true;
    } else if (key == "refresh_days") {
      if (value.get_int64().get(q.refresh_days) || q.refresh_days < 0 || q.refresh_days > 36'500) {
        return Bad(field, "expected a whole number of days from 0 to 36500");
      }
    } else {
      return Bad(field, "unknown field (id, text, kind, choices, min, max, trait, refresh_days)");
    }
  }
  if (!ValidName(q.id)) return Bad(path + ".id", "expected letters, digits, _ or -");
  if (q.text.empty()) return Bad(path + ".text", "the question's text is missing");
  if (!ValidName(q.trait)) return Bad(path + ".trait", "the trait it fills is missing");
  if (!has_kind) return Bad(path + ".kind", "missing (single, multiple, scale or text)");
  const bool choice = q.kind == QuestionKind::kSingle || q.kind == QuestionKind::kMultiple;
  if (choice && q.choices.empty()) return Bad(path + ".choices", "a choice needs choices");
  if (!choice && !q.choices.empty()) return Bad(path + ".choices", "only for single or multiple");
  if (q.kind != QuestionKind::kScale && (has_min || has_max)) {
    return Bad(path + ".min", "only for a scale");
  }
  if (q.scale_min > q.scale_max) return Bad(path + ".min", "min is above max");
  return q;
}

}  // namespace

std::string_view QuestionKindName(QuestionKind kind) {
  switch (kind) {
    case QuestionKind::kSingle:
      return "single";
    case QuestionKind::kMultiple:
      return "multiple";
    case QuestionKind::kScale:
      return "scale";
    case QuestionKind::kText:
      return "text";
  }
  return "single";
}

TraitType Question::trait_type() const {
  switch (kind) {
    case QuestionKind::kMultiple:
      return TraitType::kStringList;
    case QuestionKind::kScale:
      return TraitType::kInt;
    default:
      return TraitType::kString;
  }
}

const Question* Survey::Find(std::string_view question) const {
  for (const Question& q : questions) {
    if (q.id == question) return &q;
  }
  return nullptr;
}

Result<Survey> ParseSurvey(std::string_view name, std::string_view json) {
  if (!ValidName(name)) return InvalidArgument("survey name '{}': letters, digits, _ or -", name);
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  simdjson::dom::element root;
  if (auto error = parser.parse(padded).get(root)) {
    return InvalidArgument("$: not JSON ({})", simdjson::error_message(error));
  }
  simdjson::dom::object object;
  if (root.get_object().get(object)) return Bad("$", "expected an object");
  Survey survey;
  survey.name = std::string(name);
  bool has_questions = false;
  for (auto [key, value] : object) {
    const std::string path = fmt::format("$.{}", std::string_view(key));
    if (key == "name") {  // as SurveyJson writes it: must be the survey's own
      auto text = StringField(value, path);
      if (!text.ok()) return text.status();
      if (*text != name) return Bad(path, fmt::format("'{}' is not the survey's name", *text));
    } else if (key == "title") {
      auto text = StringField(value, path);
      if (!text.ok()) return text.status();
      survey.title = std::move(text).value();
    } else if (key == "open") {
      if (value.get_bool().get(survey.open)) return Bad(path, "expected true or false");
    } else if (key == "channels") {
      auto channels = Strings(value, path);
      if (!channels.ok()) return channels.status();
      survey.channels = std::move(channels).value();
    } else if (key == "questions") {
      simdjson::dom::array array;
      if (value.get_array().get(array)) return Bad(path, "expected an array of questions");
      if (has_questions) return Bad(path, "given twice");
      size_t i = 0;
      std::set<std::string> ids;
      for (simdjson::dom::element item : array) {
        const std::string item_path = fmt::format("$.questions[{}]", i++);
        auto question = ParseQuestion(item, item_path);
        if (!question.ok()) return question.status();
        if (!ids.insert(question->id).second) {
          return Bad(item_path + ".id", fmt::format("'{}' is there twice", question->id));
        }
        for (const Question& earlier : survey.questions) {
          if (earlier.trait == question->trait && earlier.trait_type() != question->trait_type()) {
            return Bad(item_path + ".trait",
                       fmt::format("'{}' is filled by question '{}' with another kind of answer",
                                   question->trait, earlier.id));
          }
        }
        survey.questions.push_back(std::move(question).value());
      }
      has_questions = true;
    } else {
      return Bad(path, "unknown field (name, title, open, channels, questions)");
    }
  }
  if (!has_questions || survey.questions.empty()) {
    return Bad("$.questions", "a survey needs at least one question");
  }
  return survey;
}

std::string SurveyJson(const Survey& survey) {
  JsonWriter json;
  json.BeginObject().Key("name").String(survey.name).Key("title").String(survey.title);
  json.Key("open").Bool(survey.open).Key("channels").BeginArray();
  for (const std::string& c : survey.channels) json.String(c);
  json.EndArray().Key("questions").BeginArray();
  for (const Question& q : survey.questions) {
    json.BeginObject().Key("id").String(q.id).Key("text").String(q.text);
    json.Key("kind").String(QuestionKindName(q.kind));
    if (!q.choices.empty()) {
      json.Key("choices").BeginArray();
      for (const std::string& c : q.choices) json.String(c);
      json.EndArray();
    }
    if (q.kind == QuestionKind::kScale)
      json.Key("min").Int(q.scale_min).Key("max").Int(q.scale_max);
    json.Key("trait").String(q.trait);
    if (q.refresh_days > 0) json.Key("refresh_days").Int(q.refresh_days);
    json.EndObject();
  }
  json.EndArray().EndObject();
  return json.str();
}

Result<TypedValue> CheckAnswer(const Question& question, const TypedValue& given) {
  const auto choices_text = [&] { return fmt::format("{}", fmt::join(question.choices, ", ")); };
  switch (question.kind) {
    case QuestionKind::kSingle: {
      const std::string* text = std::get_if<std::string>(&given.value);
      if (text == nullptr) return InvalidArgument("expected one of {}", choices_text());
      if (std::find(question.choices.begin(), question.choices.end(), *text) ==
          question.choices.end()) {
        return InvalidArgument("'{}' is not one of {}", *text, choices_text());
      }
      return TypedValue{TraitType::kString, *text};
    }
    case QuestionKind::kMultiple: {
      StringList picked;
      if (const std::string* one = std::get_if<std::string>(&given.value)) {
        picked.push_back(*one);
      } else if (const StringList* list = std::get_if<StringList>(&given.value)) {
        picked = *list;
      } else {
        return InvalidArgument("expected a list of choices of {}", choices_text());
      }
      if (picked.empty()) return InvalidArgument("pick at least one of {}", choices_text());
      for (const std::string& choice : picked) {
        if (std::find(question.choices.begin(), question.choices.end(), choice) ==
            question.choices.end()) {
          return InvalidArgument("'{}' is not one of {}", choice, choices_text());
        }
        if (std::count(picked.begin(), picked.end(), choice) > 1) {
          return InvalidArgument("'{}' is picked twice", choice);
        }
      }
      return TypedValue{TraitType::kStringList, picked};
    }
    case QuestionKind::kScale: {
      const int64_t* number = std::get_if<int64_t>(&given.value);
      if (number == nullptr) {
        return InvalidArgument("expected a whole number from {} to {}", question.scale_min,
                               question.scale_max);
      }
      if (*number < question.scale_min || *number > question.scale_max) {
        return InvalidArgument("{} is outside {} to {}", *number, question.scale_min,
                               question.scale_max);
      }
      return TypedValue{TraitType::kInt, *number};
    }
    case QuestionKind::kText: {
      const std::string* text = std::get_if<std::string>(&given.value);
      if (text == nullptr || text->empty()) return InvalidArgument("expected some text");
      if (text->size() > kMaxTextAnswer) {
        return InvalidArgument("{} bytes of text; at most {}", text->size(), kMaxTextAnswer);
      }
      return TypedValue{TraitType::kString, *text};
    }
  }
  return InvalidArgument("unknown question kind");
}

void WriteReport(JsonWriter& json, std::string_view survey,
                 const std::vector<QuestionReport>& rows) {
  json.BeginObject().Key("survey").String(survey).Key("questions").BeginArray();
  for (const QuestionReport& r : rows) {
    json.BeginObject()
        .Key("question")
        .String(r.question)
        .Key("channel")
        .String(r.channel)
        .Key("shown")
        .Uint(r.shown)
        .Key("answered")
        .Uint(r.answered)
        .Key("response_rate")
        .Double(r.shown > 0 ? static_cast<double>(r.answered) / r.shown : 0)
        .Key("people")
        .Uint(r.people)
        .Key("completion_rate")
        .Double(r.people > 0 ? static_cast<double>(r.completed) / r.people : 0)
        .Key("drop_off_rate")
        .Double(r.people > 0 ? static_cast<double>(r.dropped) / r.people : 0)
        .EndObject();
  }
  json.EndArray().EndObject();
}

Status SurveyStore::Load() {
  std::map<std::string, Survey, std::less<>> loaded;
  Status parse_status;
  const std::string end = std::string(kPrefix.substr(0, kPrefix.size() - 1)) + "0";  // '/' + 1
  TAILOR_RETURN_IF_ERROR(store_.Scan(
      store::Table::kDefinitions, kPrefix, end, [&](std::string_view key, std::string_view value) {
        const std::string name(key.substr(kPrefix.size()));
        auto survey = ParseSurvey(name, value);
        if (!survey.ok()) {
          parse_status = Corruption("stored survey '{}': {}", name, survey.status().message());
          return false;
        }
        loaded.emplace(name, std::move(survey).value());
        return true;
      }));
  TAILOR_RETURN_IF_ERROR(parse_status);
  std::lock_guard lock(mutex_);
  surveys_ = std::move(loaded);
  return Status::Ok();
}

Status SurveyStore::Put(const Survey& survey) {
  std::lock_guard lock(mutex_);
  store::Batch batch = store_.NewBatch();
  batch.Put(store::Table::kDefinitions, KeyOf(survey.name), SurveyJson(survey));
  TAILOR_RETURN_IF_ERROR(store_.Commit(batch));
  surveys_[survey.name] = survey;
  return Status::Ok();
}

Result<Survey> SurveyStore::Get(std::string_view name) const {
  std::lock_guard lock(mutex_);
  auto it = surveys_.find(name);
  if (it == surveys_.end()) return NotFound("no survey '{}'", name);
  return it->second;
}

std::vector<Survey> SurveyStore::List() const {
  std::lock_guard lock(mutex_);
  std::vector<Survey> out;
  for (const auto& [name, survey] : surveys_) out.push_back(survey);
  return out;
}

std::vector<TypedValue> PossibleAnswers(const Question& q,
                                        const std::vector<std::string>& given_texts) {
  std::vector<TypedValue> out;
  switch (q.kind) {
    case QuestionKind::kSingle:
      for (const std::string& c : q.choices) out.push_back({TraitType::kString, c});
      break;
    case QuestionKind::kMultiple:
      for (const std::string& c : q.choices) out.push_back({TraitType::kStringList, StringList{c}});
      break;
    case QuestionKind::kScale: {
      // Every point, or 21 spread evenly over a long scale.
      const int64_t span = q.scale_max - q.scale_min;
      const int64_t points = std::min<int64_t>(span + 1, 21);
      for (int64_t i = 0; i < points; ++i) {
        const int64_t v = points == 1 ? q.scale_min : q.scale_min + span * i / (points - 1);
        if (!out.empty() && std::get<int64_t>(out.back().value) == v) continue;
        out.push_back({TraitType::kInt, v});
      }
      break;
    }
    case QuestionKind::kText:
      for (const std::string& t : given_texts) out.push_back({TraitType::kString, t});
      // Nobody answered yet: some text, which rules asking whether it is known tell apart.
      if (out.empty()) out.push_back({TraitType::kString, std::string("(an answer)")});
      break;
  }
  return out;
}

std::optional<NextQuestion> ChooseNextQuestion(const std::vector<Survey>& surveys,
                                               const AskContext& context) {
  if (context.asked_recently >= context.cap) return std::nullopt;
  const auto has_trait = [&](const std::string& trait) {
    if (context.traits == nullptr) return false;
    return std::any_of(context.traits->begin(), context.traits->end(), [&](const auto& entry) {
      return entry.first == trait && !std::holds_alternative<std::monostate>(entry.second.value);
    });
  };
  // Answered longer ago than the question's refresh_days: worth asking again.
  const auto stale = [&](const Question& q) {
    if (q.refresh_days <= 0 || context.answered_at == nullptr) return false;
    auto it = context.answered_at->find(q.trait);
    return it != context.answered_at->end() &&
           context.now - it->second > q.refresh_days * 86'400'000;
  };
  std::optional<NextQuestion> best;
  for (const Survey& survey : surveys) {
    if (!survey.open) continue;
    if (!survey.channels.empty() && !context.channel.empty() &&
        std::find(survey.channels.begin(), survey.channels.end(), context.channel) ==
            survey.channels.end()) {
      continue;
    }
    for (const Question& q : survey.questions) {
      const bool is_stale = has_trait(q.trait) && stale(q);
      if (has_trait(q.trait) && !is_stale) continue;
      if (context.asked != nullptr && context.asked->count(survey.name + "/" + q.id)) continue;
      size_t readers = 0;
      if (context.trait_readers != nullptr) {
        auto it = context.trait_readers->find(q.trait);
        if (it != context.trait_readers->end()) readers = it->second;
      }
      NextQuestion candidate{survey.name, q.id, q.trait, readers, "", 0, is_stale};
      double value = static_cast<double>(readers);
      if (context.expected_changes) {
        candidate.expected_changes = context.expected_changes(survey, q);
        value = candidate.expected_changes;
        if (value <= 0) continue;  // no answer would change what they are shown
      }
      const double best_value = !best                      ? -1
                                : context.expected_changes ? best->expected_changes
                                                           : static_cast<double>(best->readers);
      if (value > best_value) best = std::move(candidate);
    }
  }
  if (best) {
    const std::string what =
        fmt::format("'{}' is {}", best->trait, best->stale ? "out of date" : "unknown");
    if (context.expected_changes) {
      best->reason = fmt::format(
          "{}; the answer would change {:.2f} of their segment memberships on average ({} live "
          "segment{} read it)",
          what, best->expected_changes, best->readers, best->readers == 1 ? "" : "s");
    } else {
      best->reason = best->readers > 0 ? fmt::format("{} and {} live segment{} read it", what,
                                                     best->readers, best->readers == 1 ? "" : "s")
                                       : what;
    }
  }
  return best;
}

}  // namespace tailor::surveys

// /v1/surveys: zero-party data (tailor/surveys.h). Definitions (scope segments to change, read
// to see), answers and shown questions (scope write, so a site's public key can send them from
// the tracker), the next question for a person and the response report (scope read).

#include "server/api_impl.h"
#include "tailor/surveys.h"

namespace tailor::server {
namespace {

thread_local simdjson::dom::parser json_parser;

// {"profile": "...", "question": "...", "channel": "web"} and, for answers, "answer".
struct AnswerBody {
  std::string profile, question, channel;
  std::optional<TypedValue> answer;
};

Result<AnswerBody> ReadAnswerBody(simdjson::dom::object fields, bool with_answer) {
  AnswerBody body;
  for (auto [key, value] : fields) {
    const std::string path = fmt::format("$.{}", std::string_view(key));
    std::string_view text;
    if (key == "profile" || key == "question" || key == "channel") {
      if (value.get_string().get(text) || text.empty()) {
        return InvalidArgument("{}: expected a non-empty string", path);
      }
      (key == "profile"    ? body.profile
       : key == "question" ? body.question
                           : body.channel) = std::string(text);
    } else if (with_answer && key == "answer") {
      auto answer = TraitFromJson(value, nullptr, path);
      if (!answer.ok()) return answer.status();
      body.answer = std::move(answer).value();
    } else {
      return InvalidArgument("{}: unknown field (profile, question, {}channel)", path,
                             with_answer ? "answer, " : "");
    }
  }
  if (body.profile.empty()) return InvalidArgument("$.profile: missing");
  if (body.question.empty()) return InvalidArgument("$.question: missing");
  if (with_answer && !body.answer) return InvalidArgument("$.answer: missing");
  return body;
}

Response RawJson(std::string_view text) {
  JsonWriter json;
  json.Raw(text);
  return JsonResponse(200, json);
}

// The path an answer's error belongs to: a missing question (the survey exists: checked before),
// the answer, or the request as a whole.
std::string_view PathOf(const Status& status) {
  if (status.code() == StatusCode::kNotFound) return "$.question";
  return status.code() == StatusCode::kInvalidArgument ? "$.answer" : "$";
}

}  // namespace

void Api::Impl::AddSurveyRoutes() {
  using access::Scope;
  Add("PUT", "/v1/surveys/{name}", Scope::kSegments, [this](Call& call) -> Response {
    auto survey = surveys::ParseSurvey(call.params[0], call.request.body);
    if (!survey.ok()) {
      const std::string message(survey.status().message());
      const size_t colon = message.find(':');
      return ErrorResponse(400, "INVALID_ARGUMENT", message,
                           message.starts_with("$") ? message.substr(0, colon) : "$");
    }
    if (Status s = service.PutSurvey(*survey); !s.ok()) return ErrorResponse(s);
    return RawJson(surveys::SurveyJson(*survey));
  });
  Add("GET", "/v1/surveys", Scope::kRead, [this](Call&) -> Response {
    std::string body = "{\"surveys\":[";
    bool first = true;
    for (const surveys::Survey& survey : service.surveys().List()) {
      if (!first) body += ",";
      body += surveys::SurveyJson(survey);
      first = false;
    }
    body += "]}";
    return RawJson(body);
  });
  Add("GET", "/v1/surveys/{name}", Scope::kRead, [this](Call& call) -> Response {
    auto survey = service.surveys().Get(call.params[0]);
    if (!survey.ok()) return ErrorResponse(survey.status());
    return RawJson(surveys::SurveyJson(*survey));
  });
  Add("POST", "/v1/surveys/{name}/answers", Scope::kWrite, [this](Call& call) -> Response {
    auto fields = ParseObjectBody(json_parser, call.request.body, options.max_json_depth);
    if (!fields.ok()) return ErrorResponse(fields.status(), "$");
    auto body = ReadAnswerBody(*fields, /*with_answer=*/true);
    if (!body.ok()) return ErrorResponse(body.status());
    if (auto survey = service.surveys().Get(call.params[0]); !survey.ok()) {
      return ErrorResponse(survey.status());
    }
    auto answered = service.AnswerSurvey(call.params[0], body->profile, body->question,
                                         *body->answer, body->channel);
    if (!answered.ok()) return ErrorResponse(answered.status(), PathOf(answered.status()));
    JsonWriter json;
    json.BeginObject().Key("profile").String(body->profile).Key("trait").String(answered->trait);
    json.Key("value");
    WriteTypedValue(json, answered->value);
    json.EndObject();
    return JsonResponse(200, json);
  });
  Add("POST", "/v1/surveys/{name}/shown", Scope::kWrite, [this](Call& call) -> Response {
    auto fields = ParseObjectBody(json_parser, call.request.body, options.max_json_depth);
    if (!fields.ok()) return ErrorResponse(fields.status(), "$");
    auto body = ReadAnswerBody(*fields, /*with_answer=*/false);
    if (!body.ok()) return ErrorResponse(body.status());
    auto survey = service.surveys().Get(call.params[0]);
    if (!survey.ok()) return ErrorResponse(survey.status());
    if (survey->Find(body->question) == nullptr) {
      return ErrorResponse(404, "NOT_FOUND", "no such question", "$.question");
    }
    EventInput shown;
    shown.profile_id = body->profile;
    shown.type = "survey_shown";
    shown.time = service.now();
    shown.context.channel = body->channel;
    shown.properties = {{"survey", survey->name}, {"question", body->question}};
    BatchReport report;
    if (Status s = service.IngestEvents(std::span(&shown, 1), report); !s.ok()) {
      return ErrorResponse(s);
    }
    if (!report.rejected.empty()) {
      return ErrorResponse(400, "INVALID_ARGUMENT", report.rejected.front().reason, "$.profile");
    }
    return RawJson("{\"recorded\":true}");
  });
  Add("GET", "/v1/surveys/{name}/report", Scope::kRead, [this](Call& call) -> Response {
    auto report = service.SurveyReport(call.params[0]);
    if (!report.ok()) return ErrorResponse(report.status());
    JsonWriter json;
    surveys::WriteReport(json, call.params[0], *report);
    return JsonResponse(200, json);
  });
  Add("GET", "/v1/profiles/{id}/next-question", Scope::kRead, [this](Call& call) -> Response {
    const uint64_t cap = ParseSize(call.Query("cap"), 3, 100);
    auto next = service.NextQuestion(call.params[0], call.Query("channel"), cap);
    if (!next.ok()) return ErrorResponse(next.status());
    JsonWriter json;
    json.BeginObject().Key("profile").String(call.params[0]).Key("question");
    if (!*next) {
      json.Null().EndObject();
      return JsonResponse(200, json);
    }
    auto survey = service.surveys().Get((*next)->survey);
    const surveys::Question* q = survey.ok() ? survey->Find((*next)->question) : nullptr;
    json.BeginObject()
        .Key("survey")
        .String((*next)->survey)
        .Key("id")
        .String((*next)->question)
        .Key("text")
        .String(q ? q->text : "")
        .Key("kind")
        .String(q ? surveys::QuestionKindName(q->kind) : "")
        .Key("choices")
        .BeginArray();
    if (q) {
      for (const std::string& c : q->choices) json.String(c);
    }
    json.EndArray()
        .Key("trait")
        .String((*next)->trait)
        .Key("segments_reading")
        .Uint((*next)->readers)
        .Key("reason")
        .String((*next)->reason)
        .EndObject()
        .EndObject();
    return JsonResponse(200, json);
  });
}

}  // namespace tailor::server

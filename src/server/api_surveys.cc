// /v1/surveys: zero-party data (tailor/surveys.h). Definitions (scope segments to change, read
// to see), answers and shown questions (scope write, so a site's public key can send them from
// the tracker), the next question for a person and the response report (scope read).

#include <algorithm>

#include "server/api_impl.h"
#include "tailor/surveys.h"

namespace tailor::server {
namespace {

thread_local simdjson::dom::parser json_parser;

// {"profile": "..." or "anonymous_id": "...", "question": "...", "channel": "web"} and, for
// answers, "answer". A visitor not signed in (the tracker before identify) answers by anonymous
// id: the answer goes to the profile the id is linked to, else the visitor's own.
struct AnswerBody {
  std::string profile, question, channel;
  bool anonymous = false;
  std::optional<TypedValue> answer;
};

Result<AnswerBody> ReadAnswerBody(simdjson::dom::object fields, bool with_answer) {
  AnswerBody body;
  for (auto [key, value] : fields) {
    const std::string path = fmt::format("$.{}", std::string_view(key));
    std::string_view text;
    if (key == "profile" || key == "anonymous_id" || key == "question" || key == "channel") {
      if (value.get_string().get(text) || text.empty()) {
        return InvalidArgument("{}: expected a non-empty string", path);
      }
      if (key == "profile" || key == "anonymous_id") {
        if (!body.profile.empty()) {
          return InvalidArgument("{}: give either profile or anonymous_id", path);
        }
        body.anonymous = key == "anonymous_id";
      }
      (key == "profile" || key == "anonymous_id" ? body.profile
       : key == "question"                       ? body.question
                                                 : body.channel) = std::string(text);
    } else if (key == "writeKey") {
      continue;  // the key, in the body (the tracker's text/plain requests)
    } else if (with_answer && key == "answer") {
      auto answer = TraitFromJson(value, nullptr, path);
      if (!answer.ok()) return answer.status();
      body.answer = std::move(answer).value();
    } else {
      return InvalidArgument("{}: unknown field (profile or anonymous_id, question, {}channel)",
                             path, with_answer ? "answer, " : "");
    }
  }
  if (body.profile.empty()) return InvalidArgument("$.profile: missing (or $.anonymous_id)");
  if (body.question.empty()) return InvalidArgument("$.question: missing");
  if (with_answer && !body.answer) return InvalidArgument("$.answer: missing");
  return body;
}

// A site's public key is in its pages for anyone to read: it answers for the visitor holding
// the tracker's anonymous id (the profile that id is linked to), never for a profile it names,
// or anyone could pin declared answers on someone else.
bool PublicKeyNamesAProfile(const Call& call, const AnswerBody& body, Response& refused) {
  if (call.key == nullptr || !call.key->is_public || body.anonymous) return false;
  refused = ErrorResponse(403, "PERMISSION_DENIED",
                          "a public key answers for its visitor: give anonymous_id, not profile",
                          "$.profile");
  return true;
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
  if (status.message().find("channel") != std::string_view::npos) return "$.channel";
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
    if (Response refused; PublicKeyNamesAProfile(call, *body, refused)) return refused;
    if (auto survey = service.surveys().Get(call.params[0]); !survey.ok()) {
      return ErrorResponse(survey.status());
    }
    auto answered = service.AnswerSurvey(call.params[0], body->profile, body->question,
                                         *body->answer, body->channel, body->anonymous);
    if (!answered.ok()) return ErrorResponse(answered.status(), PathOf(answered.status()));
    JsonWriter json;
    json.BeginObject()
        .Key(body->anonymous ? "anonymous_id" : "profile")
        .String(body->profile)
        .Key("trait")
        .String(answered->trait);
    json.Key("value");
    WriteTypedValue(json, answered->value);
    json.EndObject();
    return JsonResponse(200, json);
  });
  routes.back().collect = true;  // the tracker sends it with the site's public key
  Add("POST", "/v1/surveys/{name}/shown", Scope::kWrite, [this](Call& call) -> Response {
    auto fields = ParseObjectBody(json_parser, call.request.body, options.max_json_depth);
    if (!fields.ok()) return ErrorResponse(fields.status(), "$");
    auto body = ReadAnswerBody(*fields, /*with_answer=*/false);
    if (!body.ok()) return ErrorResponse(body.status());
    if (Response refused; PublicKeyNamesAProfile(call, *body, refused)) return refused;
    auto survey = service.surveys().Get(call.params[0]);
    if (!survey.ok()) return ErrorResponse(survey.status());
    if (survey->Find(body->question) == nullptr) {
      return ErrorResponse(404, "NOT_FOUND", "no such question", "$.question");
    }
    EventInput shown;
    (body->anonymous ? shown.anonymous_id : shown.profile_id) = body->profile;
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
  routes.back().collect = true;
  // One question as a page shows it (the tracker's tailor.ask): open surveys allowed on the
  // channel only; the trait it fills is not shown.
  Add("GET", "/v1/surveys/{name}/questions/{question}", Scope::kWrite,
      [this](Call& call) -> Response {
        auto survey = service.surveys().Get(call.params[0]);
        if (!survey.ok()) return ErrorResponse(survey.status());
        const surveys::Question* question = survey->Find(call.params[1]);
        if (question == nullptr) return ErrorResponse(404, "NOT_FOUND", "no such question");
        if (!survey->open) return ErrorResponse(409, "FAILED_PRECONDITION", "the survey is closed");
        const std::string channel(call.Query("channel", "web"));
        if (!survey->channels.empty() && std::find(survey->channels.begin(), survey->channels.end(),
                                                   channel) == survey->channels.end()) {
          return ErrorResponse(403, "PERMISSION_DENIED",
                               fmt::format("the survey is not shown on {}", channel));
        }
        JsonWriter json;
        json.BeginObject().Key("survey").String(survey->name).Key("title").String(survey->title);
        json.Key("question")
            .BeginObject()
            .Key("id")
            .String(question->id)
            .Key("text")
            .String(question->text)
            .Key("kind")
            .String(surveys::QuestionKindName(question->kind));
        if (question->kind == surveys::QuestionKind::kScale) {
          json.Key("min").Int(question->scale_min).Key("max").Int(question->scale_max);
        } else if (!question->choices.empty()) {
          json.Key("choices").BeginArray();
          for (const std::string& choice : question->choices) json.String(choice);
          json.EndArray();
        }
        json.EndObject().EndObject();
        return JsonResponse(200, json);
      });
  routes.back().collect = true;
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
        .Key("expected_changes")
        .Double((*next)->expected_changes)
        .Key("stale")
        .Bool((*next)->stale)
        .Key("reason")
        .String((*next)->reason)
        .EndObject()
        .EndObject();
    return JsonResponse(200, json);
  });
  routes.back().slow = true;  // re-decides the person's segments for every answer they may give
}

}  // namespace tailor::server

// Session intent (tailor/intent.h): a profile's intent with its evidence and, once trained, the
// learned model's probabilities (scope read); the intent rules in force (read; set with scope
// segments); training the learned model (intent_model.h; scope segments) and reading it.

#include "common/time.h"
#include "server/api_impl.h"
#include "tailor/intent.h"
#include "tailor/intent_model.h"

namespace tailor::server {
namespace {

thread_local simdjson::dom::parser json_parser;

void WriteExplanation(JsonWriter& json, const segments::Explanation& e) {
  json.BeginObject()
      .Key("condition")
      .String(e.condition)
      .Key("matched")
      .Bool(e.matched)
      .Key("seen")
      .String(e.seen);
  if (!e.children.empty()) {
    json.Key("children").BeginArray();
    for (const segments::Explanation& child : e.children) WriteExplanation(json, child);
    json.EndArray();
  }
  json.EndObject();
}

}  // namespace

void Api::Impl::AddIntentRoutes() {
  using access::Scope;
  Add("GET", "/v1/profiles/{id}/intent", Scope::kRead, [this](Call& call) -> Response {
    const std::optional<Timestamp> at = NowOf(call, service.now());
    if (!at) return ErrorResponse(400, "INVALID_ARGUMENT", "expected an ISO-8601 date-time", "now");
    const Timestamp now = *at;
    auto found = service.Intent(call.params[0], now);
    if (!found.ok()) return ErrorResponse(found.status());
    const intent::Classification& c = found->classification;
    const intent::SessionFeatures& s = c.session;
    JsonWriter json;
    json.BeginObject()
        .Key("id")
        .String(found->id)
        .Key("as_of")
        .String(IsoTime(now))
        .Key("intent")
        .String(intent::IntentName(c.intent))
        .Key("reason")
        .String(c.reason)
        .Key("rule")
        .String(c.rule)
        .Key("rule_line")
        .Int(c.rule_line);
    json.Key("evidence");
    if (c.rule_line > 0) {
      WriteExplanation(json, c.evidence);
    } else {
      json.Null();
    }
    json.Key("session").BeginObject();
    for (const auto& [name, value] : intent::FeatureTraits(s)) {
      json.Key(name);
      WriteTypedValue(json, value);
    }
    json.Key("start").String(s.events ? IsoTime(s.start) : "");
    json.EndObject().Key("model");
    if (found->model_intents.empty() && !found->purchase_readiness) {
      json.Null();  // no model trained, or no session under way
    } else {
      json.BeginObject().Key("intents").BeginArray();
      for (const auto& [name, probability] : found->model_intents) {
        json.BeginObject()
            .Key("intent")
            .String(name)
            .Key("probability")
            .Double(probability)
            .EndObject();
      }
      json.EndArray().Key("purchase_readiness");
      if (found->purchase_readiness) {
        json.Double(*found->purchase_readiness);
      } else {
        json.Null();
      }
      json.EndObject();
    }
    json.EndObject();
    return JsonResponse(200, json);
  });
  // Trains the learned model from the labelled sessions (on the evaluation thread, as every
  // /v1/analytics route): {"answer_trait": "session_intent", "readiness": "boosted_trees",
  // "timeout_seconds": 60}.
  Add("POST", "/v1/analytics/intent-model", Scope::kSegments, [this](Call& call) -> Response {
    intent::LabelOptions label;
    RunControl control;
    if (!call.request.body.empty()) {
      auto body = ParseObjectBody(json_parser, call.request.body, options.max_json_depth);
      if (!body.ok()) return ErrorResponse(body.status(), "$");
      for (auto [key, value] : simdjson::dom::object(*body)) {
        const std::string path = fmt::format("$.{}", std::string_view(key));
        std::string_view text;
        if (key == "answer_trait") {
          if (value.get_string().get(text) || text.empty()) {
            return ErrorResponse(400, "INVALID_ARGUMENT", "expected a trait name", path);
          }
          label.answer_trait = std::string(text);
        } else if (key == "readiness") {
          const auto family =
              value.get_string().get(text) ? std::nullopt : intent::ParseReadinessFamily(text);
          if (!family) {
            return ErrorResponse(400, "INVALID_ARGUMENT", "expected boosted_trees or logistic",
                                 path);
          }
          label.readiness = *family;
        } else if (key == "timeout_seconds") {
          if (Status s = ReadTimeout(value, control); !s.ok()) return ErrorResponse(s, path);
        } else {
          return ErrorResponse(400, "INVALID_ARGUMENT", "unknown field", path);
        }
      }
    }
    auto run = service.TrainIntentModel(label, &control);
    if (!run.ok()) return ErrorResponse(run.status());
    JsonWriter json;
    json.BeginObject().Key("trained_at").String(IsoTime(run->model->trained_at));
    json.Key("classes").BeginArray();
    for (const std::string& name : run->model->classes) json.String(name);
    json.EndArray().Key("readiness");
    if (run->model->has_readiness()) {
      json.String(intent::ReadinessFamilyName(run->model->readiness_trees
                                                  ? intent::ReadinessFamily::kBoostedTrees
                                                  : intent::ReadinessFamily::kLogistic));
    } else {
      json.Null();
    }
    json.Key("report");
    intent::WriteTrainReport(json, run->report);
    json.EndObject();
    return JsonResponse(200, json);
  });
  Add("GET", "/v1/intent/model", Scope::kRead, [this](Call&) -> Response {
    const auto model = service.intent_model();
    if (model == nullptr) return ErrorResponse(404, "NOT_FOUND", "no intent model trained");
    JsonWriter json;
    json.Raw(intent::IntentModelJson(*model));
    return JsonResponse(200, json);
  });
  Add("GET", "/v1/intent/rules", Scope::kRead, [this](Call&) -> Response {
    const auto rules = service.intent_rules();
    JsonWriter json;
    json.BeginObject().Key("text").String(rules->text).Key("rules").BeginArray();
    for (const intent::IntentRule& rule : rules->rules) {
      json.BeginObject()
          .Key("intent")
          .String(intent::IntentName(rule.intent))
          .Key("rule")
          .String(rule.text)
          .Key("line")
          .Int(rule.line)
          .EndObject();
    }
    json.EndArray().EndObject();
    return JsonResponse(200, json);
  });
  // The body is the rules' text (`intent: rule` per line); a broken text changes nothing.
  Add("PUT", "/v1/intent/rules", Scope::kSegments, [this](Call& call) -> Response {
    if (Status s = service.SetIntentRules(call.request.body); !s.ok()) {
      if (s.code() != StatusCode::kInvalidArgument) return ErrorResponse(s);
      const std::string message(s.message());
      return ErrorResponse(400, "INVALID_ARGUMENT", message, message.substr(0, message.find(": ")));
    }
    JsonWriter json;
    json.BeginObject().Key("rules").Uint(service.intent_rules()->rules.size()).EndObject();
    return JsonResponse(200, json);
  });
}

}  // namespace tailor::server

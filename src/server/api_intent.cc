// Session intent (tailor/intent.h): a profile's intent with its evidence (scope read), and the
// intent rules in force (read; set with scope segments).

#include "common/time.h"
#include "server/api_impl.h"
#include "tailor/intent.h"

namespace tailor::server {
namespace {

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
    json.EndObject().EndObject();
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

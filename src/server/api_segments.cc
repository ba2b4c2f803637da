// Handlers: segments, schemes and the membership change feed (polling and Server-Sent Events).

#include <chrono>
#include <thread>

#include "common/time.h"
#include "server/api_impl.h"

namespace tailor::server {
namespace {

thread_local simdjson::dom::parser json_parser;

size_t ParseCount(std::string_view text, size_t fallback, size_t limit) {
  if (text.empty()) return fallback;
  size_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9' || value > UINT64_MAX / 100) return fallback;
    value = value * 10 + static_cast<size_t>(c - '0');
  }
  return std::min(value, limit);
}

// A segment definition from its JSON form; `name` from the path when given.
Result<segments::SegmentDefinition> DefinitionFromJson(simdjson::dom::element body,
                                                       std::string_view name) {
  segments::SegmentDefinition definition;
  definition.name = std::string(name);
  simdjson::dom::object object;
  if (body.get_object().get(object)) return InvalidArgument("$: expected an object");
  for (auto field : object) {
    const std::string_view key = field.key;
    const std::string path = fmt::format("$.{}", key);
    std::string_view text;
    if (key == "tags" || key == "channels") {
      TAILOR_ASSIGN_OR_RETURN(auto list, StringArray(field.value, path));
      (key == "tags" ? definition.tags : definition.channels) = std::move(list);
      continue;
    }
    if (key == "rule" && field.value.is_object()) {  // the JSON form of a rule
      TAILOR_ASSIGN_OR_RETURN(segments::Rule rule,
                              segments::RuleFromJson(simdjson::to_string(field.value)));
      definition.rule = segments::PrintRule(rule);
      continue;
    }
    if (field.value.get_string().get(text)) return InvalidArgument("{}: expected a string", path);
    if (key == "name") {
      if (!name.empty() && text != name) {
        return InvalidArgument("$.name: '{}' differs from the path's '{}'", text, name);
      }
      definition.name = std::string(text);
    } else if (key == "description") {
      definition.description = std::string(text);
    } else if (key == "objective") {
      auto objective = segments::ParseObjective(text);
      if (!objective) {
        return InvalidArgument("$.objective: '{}' is not acquire, engage, reactivate or retain",
                               text);
      }
      definition.objective = *objective;
    } else if (key == "owner") {
      definition.owner = std::string(text);
    } else if (key == "rule") {
      definition.rule = std::string(text);
    } else if (key == "exclude") {
      definition.exclude = std::string(text);
    } else {
      return InvalidArgument(
          "{}: unknown field (expected name, description, objective, owner, tags, channels, "
          "rule, exclude)",
          path);
    }
  }
  if (definition.name.empty()) return InvalidArgument("$.name: a segment needs a name");
  if (definition.rule.empty()) return InvalidArgument("$.rule: a segment needs a rule");
  return definition;
}

void WriteDefinition(JsonWriter& json, const segments::SegmentDefinition& d,
                     std::optional<uint64_t> size) {
  json.BeginObject();
  segments::WriteDefinitionFields(json, d);
  if (size) json.Key("size").Uint(*size);
  json.EndObject();
}

void WriteExplanation(JsonWriter& json, const segments::Explanation& explanation) {
  json.BeginObject()
      .Key("matched")
      .Bool(explanation.matched)
      .Key("condition")
      .String(explanation.condition)
      .Key("seen")
      .String(explanation.seen);
  if (!explanation.children.empty()) {
    json.Key("children").BeginArray();
    for (const auto& child : explanation.children) WriteExplanation(json, child);
    json.EndArray();
  }
  json.EndObject();
}

}  // namespace

void WriteChange(JsonWriter& json, const segments::MembershipChange& change,
                 std::string_view profile) {
  json.BeginObject()
      .Key("sequence")
      .Uint(change.sequence)
      .Key("segment")
      .String(change.segment)
      .Key("version")
      .Uint(change.version)
      .Key("profile")
      .String(profile)
      .Key("change")
      .String(change.entered ? "entered" : "exited")
      .Key("at")
      .String(IsoTime(change.at))
      .EndObject();
}

void Api::Impl::AddSegmentRoutes() {
  using access::Scope;
  Add("GET", "/v1/segments", Scope::kRead, [this](Call&) -> Response {
    auto all = service.catalog().List();
    if (!all.ok()) return ErrorResponse(all.status());
    JsonWriter json;
    json.BeginObject().Key("segments").BeginArray();
    for (const auto& definition : *all) {
      auto members = service.Members(definition.name);
      WriteDefinition(
          json, definition,
          members.ok() ? std::optional<uint64_t>(members->cardinality()) : std::nullopt);
    }
    json.EndArray().EndObject();
    return JsonResponse(200, json);
  });
  auto put = [this](Call& call, bool create) -> Response {
    auto body = ParseBody(json_parser, call.request.body, options.max_json_depth);
    if (!body.ok()) return ErrorResponse(body.status());
    auto definition =
        DefinitionFromJson(*body, call.params.empty() ? std::string_view() : call.params[0]);
    if (!definition.ok()) return ErrorResponse(definition.status());
    if (create && service.catalog().Get(definition->name).ok()) {
      return ErrorResponse(409, "ALREADY_EXISTS",
                           fmt::format("segment '{}' exists; PUT /v1/segments/{} updates it",
                                       definition->name, definition->name));
    }
    const std::string name = definition->name;
    Status stored = service.PutSegment(std::move(definition).value());
    if (!stored.ok()) return ErrorResponse(stored, "$.rule");
    auto saved = service.catalog().Get(name);
    if (!saved.ok()) return ErrorResponse(saved.status());
    auto members = service.Members(name);
    JsonWriter json;
    WriteDefinition(json, *saved,
                    members.ok() ? std::optional<uint64_t>(members->cardinality()) : std::nullopt);
    return JsonResponse(create ? 201 : 200, json);
  };
  Add("POST", "/v1/segments", Scope::kSegments, [put](Call& call) { return put(call, true); });
  Add("PUT", "/v1/segments/{name}", Scope::kSegments,
      [put](Call& call) { return put(call, false); });
  Add("GET", "/v1/segments/{name}", Scope::kRead, [this](Call& call) -> Response {
    auto definition = service.catalog().Get(call.params[0]);
    if (!definition.ok()) return ErrorResponse(definition.status());
    auto members = service.Members(call.params[0]);
    JsonWriter json;
    WriteDefinition(json, *definition,
                    members.ok() ? std::optional<uint64_t>(members->cardinality()) : std::nullopt);
    return JsonResponse(200, json);
  });
  Add("DELETE", "/v1/segments/{name}", Scope::kSegments, [this](Call& call) -> Response {
    Status deleted = service.DeleteSegment(call.params[0]);
    if (!deleted.ok()) return ErrorResponse(deleted);
    JsonWriter json;
    json.BeginObject().Key("deleted").String(call.params[0]).EndObject();
    return JsonResponse(200, json);
  });
  // Members in dense-id order, paged by cursor (the last dense id of the previous page).
  Add("GET", "/v1/segments/{name}/members", Scope::kRead, [this](Call& call) -> Response {
    auto members = service.Members(call.params[0]);
    if (!members.ok()) return ErrorResponse(members.status());
    const size_t limit = ParseCount(call.Query("limit"), 1000, options.max_page_size);
    const std::string_view cursor_text = call.Query("cursor");
    const uint64_t cursor = ParseCount(cursor_text, 0, UINT32_MAX);
    JsonWriter json;
    json.BeginObject()
        .Key("segment")
        .String(call.params[0])
        .Key("size")
        .Uint(members->cardinality());
    json.Key("members").BeginArray();
    size_t written = 0;
    uint64_t last = 0;
    for (auto it = members->begin(); it != members->end(); ++it) {
      const uint32_t id = *it;
      if (!cursor_text.empty() && id <= cursor) continue;
      if (written == limit) break;
      auto external = service.engine().ExternalId(id);
      if (!external.ok()) continue;  // deleted since
      json.String(*external);
      last = id;
      ++written;
    }
    json.EndArray();
    if (written == limit) json.Key("next_cursor").String(std::to_string(last));
    json.EndObject();
    return JsonResponse(200, json);
  });
  Add("GET", "/v1/segments/{name}/members/{profile}", Scope::kRead, [this](Call& call) -> Response {
    auto profile = service.engine().Resolve(call.params[1]);
    if (!profile.ok()) return ErrorResponse(profile.status());
    auto member = service.IsMember(call.params[0], *profile);
    if (!member.ok()) return ErrorResponse(member.status());
    JsonWriter json;
    json.BeginObject()
        .Key("segment")
        .String(call.params[0])
        .Key("profile")
        .String(call.params[1])
        .Key("member")
        .Bool(*member)
        .EndObject();
    return JsonResponse(200, json);
  });
  Add("GET", "/v1/segments/{name}/explain/{profile}", Scope::kRead, [this](Call& call) -> Response {
    auto explanation = service.Explain(call.params[0], call.params[1]);
    if (!explanation.ok()) return ErrorResponse(explanation.status());
    JsonWriter json;
    json.BeginObject()
        .Key("segment")
        .String(call.params[0])
        .Key("profile")
        .String(explanation->profile)
        .Key("member")
        .Bool(explanation->member)
        .Key("anonymous")
        .Bool(explanation->anonymous)
        .Key("rule");
    WriteExplanation(json, explanation->rule);
    json.Key("exclude");
    if (explanation->exclude) {
      WriteExplanation(json, *explanation->exclude);
    } else {
      json.Null();
    }
    json.EndObject();
    return JsonResponse(200, json);
  });
  Add("GET", "/v1/segments/{name}/history", Scope::kRead, [this](Call& call) -> Response {
    auto history = service.catalog().History(call.params[0]);
    if (!history.ok()) return ErrorResponse(history.status());
    JsonWriter json;
    json.BeginObject().Key("segment").String(call.params[0]).Key("history").BeginArray();
    for (const segments::SizePoint& point : *history) {
      json.BeginObject()
          .Key("evaluated_at")
          .String(IsoTime(point.evaluated_at))
          .Key("version")
          .Uint(point.version)
          .Key("size")
          .Uint(point.size)
          .Key("matched")
          .Uint(point.matched)
          .Key("excluded")
          .Uint(point.excluded)
          .EndObject();
    }
    json.EndArray().EndObject();
    return JsonResponse(200, json);
  });
  // Every version of the definition, newest first (the builder's history and diff).
  Add("GET", "/v1/segments/{name}/versions", Scope::kRead, [this](Call& call) -> Response {
    auto versions = service.catalog().Versions(call.params[0]);
    if (!versions.ok()) return ErrorResponse(versions.status());
    JsonWriter json;
    json.BeginObject().Key("segment").String(call.params[0]).Key("versions").BeginArray();
    for (const auto& definition : *versions) WriteDefinition(json, definition, std::nullopt);
    json.EndArray().EndObject();
    return JsonResponse(200, json);
  });
  // Entries and exits per UTC day from the change feed, the last ?days= (default 30, at most
  // 366) up to today; days without changes are listed with zeros.
  Add("GET", "/v1/segments/{name}/activity", Scope::kRead, [this](Call& call) -> Response {
    if (auto definition = service.catalog().Get(call.params[0]); !definition.ok()) {
      return ErrorResponse(definition.status());
    }
    const int64_t days =
        static_cast<int64_t>(std::max<size_t>(1, ParseSize(call.Query("days"), 30, kMaxDaysAsked)));
    const int64_t today = DayOf(service.now());
    const int64_t first_day = today - days + 1;
    auto changed = service.catalog().ChangesPerDay(first_day * kMillisPerDay, kMaxChangesRead);
    if (!changed.ok()) return ErrorResponse(changed.status());
    std::vector<segments::SegmentCatalog::DayCount> counts(static_cast<size_t>(days));
    if (auto found = changed->find(call.params[0]); found != changed->end()) {
      for (const auto& count : found->second) {
        if (count.day < first_day || count.day > today) continue;
        counts[static_cast<size_t>(count.day - first_day)].entered += count.entered;
        counts[static_cast<size_t>(count.day - first_day)].exited += count.exited;
      }
    }
    JsonWriter json;
    json.BeginObject().Key("segment").String(call.params[0]).Key("days").BeginArray();
    for (int64_t i = 0; i < days; ++i) {
      json.BeginObject()
          .Key("day")
          .String(DayText(first_day + i))
          .Key("entered")
          .Uint(counts[static_cast<size_t>(i)].entered)
          .Key("exited")
          .Uint(counts[static_cast<size_t>(i)].exited)
          .EndObject();
    }
    json.EndArray().EndObject();
    return JsonResponse(200, json);
  });
  routes.back().slow = true;  // reads the whole population or feed
  // Every member's user id as CSV (one column, `id`), in tailor's id order.
  Add("GET", "/v1/segments/{name}/members.csv", Scope::kRead, [this](Call& call) -> Response {
    auto members = service.Members(call.params[0]);
    if (!members.ok()) return ErrorResponse(members.status());
    Response response;
    response.content_type = "text/csv; charset=utf-8";
    response.headers.emplace_back("Content-Disposition",
                                  fmt::format("attachment; filename=\"{}.csv\"", call.params[0]));
    response.body = "id\n";
    for (const uint32_t id : *members) {
      auto external = service.engine().ExternalId(id);
      if (!external.ok()) continue;  // deleted since
      // RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled.
      if (external->find_first_of(",\"\r\n") == std::string::npos) {
        response.body += *external;
      } else {
        response.body += '"';
        for (char c : *external) {
          if (c == '"') response.body += '"';
          response.body += c;
        }
        response.body += '"';
      }
      response.body += '\n';
    }
    return response;
  });
  routes.back().slow = true;  // reads the whole population or feed
  // Size of an unsaved rule on a fresh snapshot.
  Add("POST", "/v1/segments/preview", Scope::kSegments, [this](Call& call) -> Response {
    auto body = ParseBody(json_parser, call.request.body, options.max_json_depth);
    if (!body.ok()) return ErrorResponse(body.status());
    simdjson::dom::object fields;
    if (body->get_object().get(fields) == simdjson::SUCCESS && !(*body)["name"].error()) {
      return ErrorResponse(400, "INVALID_ARGUMENT", "a preview has no name", "$.name");
    }
    auto definition = DefinitionFromJson(*body, "preview");
    if (!definition.ok()) return ErrorResponse(definition.status());
    // Broken rule text is reported at its field, before anything is evaluated.
    for (const std::string* text : {&definition->rule, &definition->exclude}) {
      if (text->empty()) continue;
      auto rule = segments::ParseRule(*text);
      if (!rule.ok()) {
        return ErrorResponse(rule.status(), text == &definition->rule ? "$.rule" : "$.exclude");
      }
    }
    // Current as of this request: the live snapshot's latest version plus the profiles changed
    // since, re-decided one by one (?max_age_ms of earlier versions is accepted and no longer
    // needed).
    const int64_t asked_at = SystemClockMillis();
    auto preview = service.PreviewDefinition(*definition);
    if (!preview.ok()) return ErrorResponse(preview.status(), "$.rule");
    const segments::SegmentResult& result = preview->result;
    JsonWriter json;
    json.BeginObject()
        .Key("size")
        .Uint(result.members.cardinality())
        .Key("matched")
        .Uint(result.matched)
        .Key("excluded")
        .Uint(result.excluded)
        .Key("profiles")
        .Uint(service.engine().Stats().profiles)
        .Key("as_of")
        .String(IsoTime(asked_at))
        .Key("snapshot_at")
        .String(IsoTime(preview->snapshot_at_ms))
        .Key("snapshot_age_ms")
        .Int(std::max<int64_t>(0, asked_at - preview->snapshot_at_ms))
        .Key("profiles_rechecked")
        .Uint(preview->profiles_rechecked)
        .EndObject();
    return JsonResponse(200, json);
  });
  Add("POST", "/v1/segments/overlap", Scope::kRead, [this](Call& call) -> Response {
    auto body = ParseBody(json_parser, call.request.body, options.max_json_depth);
    if (!body.ok()) return ErrorResponse(body.status());
    simdjson::dom::element names_json;
    if ((*body)["segments"].get(names_json)) {
      return ErrorResponse(400, "INVALID_ARGUMENT", "expected {\"segments\": [names]}",
                           "$.segments");
    }
    auto names = StringArray(names_json, "$.segments");
    if (!names.ok()) return ErrorResponse(names.status());
    std::vector<segments::ProfileSet> sets;
    for (const std::string& name : *names) {
      auto members = service.Members(name);
      if (!members.ok()) return ErrorResponse(members.status());
      sets.push_back(std::move(members).value());
    }
    JsonWriter json;
    json.BeginObject().Key("segments").BeginArray();
    for (const std::string& name : *names) json.String(name);
    json.EndArray().Key("sizes").BeginArray();
    for (const auto& set : sets) json.Uint(set.cardinality());
    json.EndArray().Key("overlap").BeginArray();
    for (const auto& a : sets) {
      json.BeginArray();
      for (const auto& b : sets) json.Uint(a.and_cardinality(b));
      json.EndArray();
    }
    json.EndArray().EndObject();
    return JsonResponse(200, json);
  });
  Add("POST", "/v1/segments/evaluate", Scope::kSegments, [this](Call&) -> Response {
    auto results = service.EvaluateAll();
    if (!results.ok()) return ErrorResponse(results.status());
    JsonWriter json;
    json.BeginObject()
        .Key("evaluated_at")
        .String(IsoTime(service.now()))
        .Key("segments")
        .BeginObject();
    for (const auto& [name, result] : *results) json.Key(name).Uint(result.members.cardinality());
    json.EndObject().EndObject();
    return JsonResponse(200, json);
  });

  Add("GET", "/v1/schemes", Scope::kRead, [this](Call&) -> Response {
    auto schemes = service.catalog().ListSchemes();
    if (!schemes.ok()) return ErrorResponse(schemes.status());
    JsonWriter json;
    json.BeginObject().Key("schemes").BeginArray();
    for (const auto& scheme : *schemes) {
      json.BeginObject()
          .Key("name")
          .String(scheme.name)
          .Key("description")
          .String(scheme.description);
      json.Key("members").BeginArray();
      for (const std::string& member : scheme.members) json.String(member);
      json.EndArray().Key("otherwise").Bool(scheme.otherwise).Key("version").Uint(scheme.version);
      json.EndObject();
    }
    json.EndArray().EndObject();
    return JsonResponse(200, json);
  });
  Add("PUT", "/v1/schemes/{name}", Scope::kSegments, [this](Call& call) -> Response {
    auto body = ParseBody(json_parser, call.request.body, options.max_json_depth);
    if (!body.ok()) return ErrorResponse(body.status());
    segments::SchemeDefinition scheme;
    scheme.name = call.params[0];
    simdjson::dom::element members;
    if ((*body)["members"].get(members)) {
      return ErrorResponse(400, "INVALID_ARGUMENT", "expected {\"members\": [segment names]}",
                           "$.members");
    }
    auto names = StringArray(members, "$.members");
    if (!names.ok()) return ErrorResponse(names.status());
    scheme.members = std::move(names).value();
    std::string_view description;
    if ((*body)["description"].get_string().get(description) == simdjson::SUCCESS) {
      scheme.description = std::string(description);
    }
    bool otherwise = false;
    if ((*body)["otherwise"].get_bool().get(otherwise) == simdjson::SUCCESS) {
      scheme.otherwise = otherwise;
    }
    Status stored = service.PutScheme(std::move(scheme));
    if (!stored.ok()) return ErrorResponse(stored, "$.members");
    JsonWriter json;
    json.BeginObject().Key("name").String(call.params[0]).EndObject();
    return JsonResponse(200, json);
  });
  // A scheme's assignment now: each profile in the first member segment it is in.
  Add("GET", "/v1/schemes/{name}", Scope::kRead, [this](Call& call) -> Response {
    auto scheme = service.catalog().GetScheme(call.params[0]);
    if (!scheme.ok()) return ErrorResponse(scheme.status());
    segments::ProfileSet assigned;
    uint64_t unprioritized_total = 0;
    JsonWriter json;
    json.BeginObject().Key("name").String(scheme->name).Key("members").BeginArray();
    for (const std::string& member : scheme->members) {
      auto members = service.Members(member);
      if (!members.ok()) return ErrorResponse(members.status());
      const segments::ProfileSet own = *members - assigned;
      assigned |= own;
      unprioritized_total += members->cardinality();
      json.BeginObject()
          .Key("segment")
          .String(member)
          .Key("count")
          .Uint(own.cardinality())
          .Key("unprioritized")
          .Uint(members->cardinality())
          .EndObject();
    }
    json.EndArray()
        .Key("assigned")
        .Uint(assigned.cardinality())
        .Key("duplicates_avoided")
        .Uint(unprioritized_total - assigned.cardinality());
    if (scheme->otherwise) {
      json.Key("everyone_else").Uint(service.engine().Stats().profiles - assigned.cardinality());
    }
    json.EndObject();
    return JsonResponse(200, json);
  });
}

void Api::Impl::AddChangeRoutes() {
  // Polling: ?after=<sequence>&limit=N&wait_ms=M (long poll up to 30 s when nothing is new).
  Add("GET", "/v1/changes", access::Scope::kRead, [this](Call& call) -> Response {
    const uint64_t after = ParseCount(call.Query("after"), 0, UINT64_MAX);
    const size_t limit = ParseCount(call.Query("limit"), 1000, options.max_page_size);
    const size_t wait_ms = ParseCount(call.Query("wait_ms"), 0, 30'000);
    if (wait_ms > 0) service.WaitForChanges(after, std::chrono::milliseconds(wait_ms));
    auto changes = service.catalog().ReadChanges(after, limit);
    if (!changes.ok()) return ErrorResponse(changes.status());
    JsonWriter json;
    json.BeginObject().Key("changes").BeginArray();
    for (const auto& change : *changes) {
      auto external = service.engine().ExternalId(change.profile);
      WriteChange(json, change, external.ok() ? std::string_view(*external) : std::string_view());
    }
    json.EndArray()
        .Key("next_after")
        .Uint(changes->empty() ? after : changes->back().sequence)
        .EndObject();
    return JsonResponse(200, json);
  });
  // Server-Sent Events: every change after ?after (or Last-Event-ID) as it is fed.
  Add("GET", "/v1/changes/stream", access::Scope::kRead, [this](Call& call) -> Response {
    uint64_t after = ParseCount(call.Query("after"), 0, UINT64_MAX);
    if (auto last_id = call.request.Header("last-event-id"); !last_id.empty()) {
      after = ParseCount(last_id, after, UINT64_MAX);
    }
    if (open_streams >= options.max_streams) {
      return ErrorResponse(503, "UNAVAILABLE", "too many open change streams");
    }
    Response response;
    response.content_type = "text/event-stream";
    response.headers.emplace_back("Cache-Control", "no-cache");
    response.stream = [this, after](const std::function<bool(std::string_view)>& write) mutable {
      ++open_streams;
      struct Closing {
        std::atomic<size_t>& streams;
        ~Closing() { --streams; }
      } closing{open_streams};
      if (!write(": tailor membership changes\n\n")) return false;
      int idle_seconds = 0;
      while (!draining) {
        if (!service.WaitForChanges(after, std::chrono::seconds(1))) {
          // A comment now and then keeps proxies from closing the stream and finds gone clients.
          if (++idle_seconds % 15 == 0 && !write(": keep-alive\n\n")) return false;
          continue;
        }
        auto changes = service.catalog().ReadChanges(after, 1000);
        if (!changes.ok()) return false;
        std::string out;
        for (const auto& change : *changes) {
          auto external = service.engine().ExternalId(change.profile);
          JsonWriter json;
          WriteChange(json, change, external.ok() ? std::string_view(*external) : "");
          out +=
              fmt::format("id: {}\nevent: membership\ndata: {}\n\n", change.sequence, json.str());
          after = change.sequence;
        }
        if (!write(out)) return false;
      }
      return false;
    };
    return response;
  });
}

}  // namespace tailor::server

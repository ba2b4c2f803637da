// Handlers: the web app's files (/ and /app/...), API keys managed while the server runs
// (/v1/keys), and the reads the app's pages are made of that no other route answers: the
// overview (/v1/overview) and the schema the segment builder completes from (/v1/schema).

#include <algorithm>
#include <set>

#include "common/time.h"
#include "server/api_impl.h"
#include "server/web_assets.h"

namespace tailor::server {
namespace {

thread_local simdjson::dom::parser json_parser;

bool AcceptsGzip(const Request& request) {
  return request.Header("accept-encoding").find("gzip") != std::string_view::npos;
}

Response AssetResponse(const Request& request, const WebAsset& asset) {
  Response response;
  response.content_type = std::string(asset.content_type);
  if (AcceptsGzip(request)) {
    response.body = std::string(asset.gzip);
    response.headers.emplace_back("Content-Encoding", "gzip");
  } else {
    response.body = std::string(asset.bytes);
  }
  response.headers.emplace_back("Vary", "Accept-Encoding");
  response.headers.emplace_back(
      "Cache-Control", asset.immutable ? "public, max-age=31536000, immutable" : "no-cache");
  // The app runs only its own scripts and talks only to this server.
  response.headers.emplace_back("Content-Security-Policy",
                                "default-src 'self'; img-src 'self' data: blob:; "
                                "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'");
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  return response;
}

// {"name", "scopes": [...], "public"?, "origins"?, "rate_per_second"?}: errors name the field.
Result<access::ApiKey> KeyFromJson(simdjson::dom::object body) {
  access::ApiKey key;
  for (auto field : body) {
    const std::string_view name = field.key;
    const std::string path = fmt::format("$.{}", name);
    if (name == "name") {
      std::string_view text;
      if (field.value.get_string().get(text)) return InvalidArgument("{}: expected a string", path);
      key.name = std::string(text);
    } else if (name == "scopes") {
      TAILOR_ASSIGN_OR_RETURN(auto scopes, StringArray(field.value, path));
      for (size_t i = 0; i < scopes.size(); ++i) {
        const auto scope = access::ParseScope(scopes[i]);
        if (!scope) {
          return InvalidArgument(
              "{}[{}]: unknown scope '{}' (admin, write, read, segments, decide)", path, i,
              scopes[i]);
        }
        key.scopes.push_back(*scope);
      }
    } else if (name == "public") {
      if (field.value.get_bool().get(key.is_public)) {
        return InvalidArgument("{}: expected true or false", path);
      }
    } else if (name == "origins") {
      TAILOR_ASSIGN_OR_RETURN(key.origins, StringArray(field.value, path));
    } else if (name == "rate_per_second") {
      if (field.value.get_double().get(key.rate_per_second)) {
        return InvalidArgument("{}: expected a number", path);
      }
    } else {
      return InvalidArgument(
          "{}: unknown field (expected name, scopes, public, origins, rate_per_second)", path);
    }
  }
  if (key.is_public && key.scopes.empty()) key.scopes.push_back(access::Scope::kWrite);
  if (key.is_public && (key.scopes.size() != 1 || key.scopes.front() != access::Scope::kWrite)) {
    return InvalidArgument("$.scopes: a public key may only send events (scope write)");
  }
  return key;
}

}  // namespace

std::string DayText(int64_t day) { return IsoTime(day * kMillisPerDay).substr(0, 10); }

void Api::Impl::AddAppRoutes() {
  using access::Scope;
  // The app: every file under its own path; the index at /.
  Add("GET", "/", std::nullopt,
      [](Call& call) { return AssetResponse(call.request, WebAssets().front()); });
  Add("GET", "/app/{file}", std::nullopt, [](Call& call) -> Response {
    const std::string path = "/app/" + call.params[0];
    for (const WebAsset& asset : WebAssets()) {
      if (asset.path == path) return AssetResponse(call.request, asset);
    }
    return ErrorResponse(404, "NOT_FOUND", fmt::format("no file {}", path));
  });

  // The key that signed the request: who is signed in to the app, and what they may do.
  Add("GET", "/v1/keys/self", Scope::kRead, [this](Call& call) -> Response {
    JsonWriter json;
    if (call.key != nullptr) {
      access::WriteApiKey(json, *call.key);
    } else {  // --no-auth: everyone may do everything
      json.BeginObject()
          .Key("id")
          .String("")
          .Key("name")
          .String("no authentication")
          .Key("scopes")
          .BeginArray()
          .String("admin")
          .EndArray()
          .Key("public")
          .Bool(false)
          .EndObject();
    }
    return JsonResponse(200, json);
  });
  Add("GET", "/v1/keys", Scope::kAdmin, [this](Call&) -> Response {
    JsonWriter json;
    json.BeginObject().Key("keys").BeginArray();
    for (const access::ApiKey& key : keys.List()) access::WriteApiKey(json, key);
    json.EndArray().EndObject();
    return JsonResponse(200, json);
  });
  // A new key; its full text is in this answer only (the store keeps its hash).
  Add("POST", "/v1/keys", Scope::kAdmin, [this](Call& call) -> Response {
    auto body = ParseObjectBody(json_parser, call.request.body, options.max_json_depth);
    if (!body.ok()) return ErrorResponse(body.status());
    auto key = KeyFromJson(*body);
    if (!key.ok()) return ErrorResponse(key.status());
    auto text = keys.Create(*key);
    if (!text.ok()) return ErrorResponse(text.status());
    const std::string id = text->substr(3, text->find('_', 3) - 3);  // tk_<id>_<secret>
    for (const access::ApiKey& created : keys.List()) {
      if (created.id != id) continue;
      JsonWriter json;
      json.BeginObject().Key("key").String(*text).Key("id").String(id).Key("definition");
      access::WriteApiKey(json, created);
      json.EndObject();
      return JsonResponse(201, json);
    }
    return ErrorResponse(500, "INTERNAL", "the new key is not listed");
  });
  Add("DELETE", "/v1/keys/{id}", Scope::kAdmin, [this](Call& call) -> Response {
    if (call.key != nullptr && call.key->id == call.params[0]) {
      return ErrorResponse(409, "FAILED_PRECONDITION",
                           "a key cannot revoke itself (sign in with another admin key)");
    }
    Status revoked = keys.Revoke(call.params[0]);
    if (!revoked.ok()) return ErrorResponse(revoked);
    JsonWriter json;
    json.BeginObject().Key("revoked").String(call.params[0]).EndObject();
    return JsonResponse(200, json);
  });

  // The schema as the segment builder completes it: traits (type, kind), the event types and
  // item attributes seen, the segments.
  Add("GET", "/v1/schema", Scope::kRead, [this](Call&) -> Response {
    auto population = service.Population({}, std::chrono::seconds(10));
    if (!population.ok()) return ErrorResponse(population.status());
    const std::shared_ptr<const Schema> schema = service.engine().shared_schema();
    JsonWriter json;
    json.BeginObject().Key("traits").BeginArray();
    for (const TraitDef& trait : schema->traits()) {
      WriteTraitDef(json, trait);
    }
    json.EndArray().Key("event_types").BeginArray();
    const snapshot::Dictionary& types = population->snapshot->events().types;
    std::vector<std::string_view> type_names;
    for (uint32_t code = 0; code < types.size(); ++code) type_names.push_back(types[code]);
    std::sort(type_names.begin(), type_names.end());
    for (std::string_view type : type_names) json.String(type);
    json.EndArray().Key("item_attributes").BeginArray();
    std::set<std::string_view> attributes;
    if (population->items != nullptr) {
      for (const auto& [id, item] : *population->items) {
        for (const auto& [name, value] : item.attributes) attributes.insert(name);
      }
    }
    for (std::string_view name : attributes) json.String(name);
    json.EndArray().Key("segments").BeginArray();
    if (auto all = service.catalog().List(); all.ok()) {
      for (const auto& definition : *all) json.String(definition.name);
    }
    json.EndArray().EndObject();
    return JsonResponse(200, json);
  });
  routes.back().slow = true;  // reads the whole population or feed

  // The overview: profiles, events per day (the live snapshot, at most 10 s old), ingestion since
  // start, each segment's size with its entries and exits of the last 24 hours, the latest
  // changes. ?days= (default 30, at most 366).
  Add("GET", "/v1/overview", Scope::kRead, [this](Call& call) -> Response {
    const size_t days = std::max<size_t>(1, ParseSize(call.Query("days"), 30, kMaxDaysAsked));
    const Timestamp now = service.now();
    auto population = service.Population({}, std::chrono::seconds(10));
    if (!population.ok()) return ErrorResponse(population.status());
    const EngineStats stats = service.engine().Stats();
    // Events per UTC day, the last `days` up to today; when the data stops earlier (an import of
    // last month's events), up to the day of the latest event, so the chart shows the data.
    const std::vector<Timestamp>& times = population->snapshot->events().time;
    int64_t last_day = DayOf(now);
    if (!times.empty()) {
      const Timestamp latest = *std::max_element(times.begin(), times.end());
      last_day = std::min(last_day, DayOf(latest));
    }
    const int64_t first_day = last_day - static_cast<int64_t>(days) + 1;
    std::vector<uint64_t> per_day(days, 0);
    for (Timestamp time : times) {
      const int64_t day = DayOf(time);
      if (day >= first_day && day <= last_day) ++per_day[static_cast<size_t>(day - first_day)];
    }
    JsonWriter json;
    json.BeginObject()
        .Key("as_of")
        .String(IsoTime(now))
        .Key("profiles")
        .BeginObject()
        .Key("known")
        .Uint(stats.profiles)
        .Key("anonymous")
        .Uint(stats.anonymous_profiles)
        .EndObject()
        .Key("events")
        .Uint(stats.events)
        .Key("items")
        .Uint(stats.items);
    json.Key("events_per_day").BeginArray();
    for (size_t i = 0; i < days; ++i) {
      json.BeginObject()
          .Key("day")
          .String(DayText(first_day + static_cast<int64_t>(i)))
          .Key("events")
          .Uint(per_day[i])
          .EndObject();
    }
    json.EndArray()
        .Key("ingestion")
        .BeginObject()
        .Key("accepted")
        .Uint(metrics.events_accepted.load())
        .Key("duplicates")
        .Uint(metrics.events_duplicate.load())
        .Key("rejected")
        .Uint(metrics.events_rejected.load())
        .Key("since")
        .String(IsoTime(started_at))
        .EndObject();
    auto changed = service.catalog().ChangesPerDay(now - kMillisPerDay, kMaxChangesRead);
    if (!changed.ok()) return ErrorResponse(changed.status());
    json.Key("segments").BeginArray();
    if (auto all = service.catalog().List(); all.ok()) {
      for (const auto& definition : *all) {
        auto members = service.Members(definition.name);
        uint64_t entered = 0, exited = 0;
        if (auto found = changed->find(definition.name); found != changed->end()) {
          for (const auto& count : found->second) {
            entered += count.entered;
            exited += count.exited;
          }
        }
        json.BeginObject()
            .Key("name")
            .String(definition.name)
            .Key("size")
            .Uint(members.ok() ? members->cardinality() : 0)
            .Key("entered_24h")
            .Uint(entered)
            .Key("exited_24h")
            .Uint(exited)
            .EndObject();
      }
    }
    json.EndArray();
    auto latest = service.catalog().LatestSequence();
    if (!latest.ok()) return ErrorResponse(latest.status());
    json.Key("latest_sequence").Uint(*latest).Key("latest_changes").BeginArray();
    constexpr uint64_t kLatestShown = 10;
    auto recent = service.catalog().ReadChanges(*latest > kLatestShown ? *latest - kLatestShown : 0,
                                                kLatestShown);
    if (!recent.ok()) return ErrorResponse(recent.status());
    std::reverse(recent->begin(), recent->end());
    for (const segments::MembershipChange& change : *recent) {
      auto external = service.engine().ExternalId(change.profile);
      WriteChange(json, change, external.ok() ? *external : std::string());
    }
    json.EndArray().EndObject();
    return JsonResponse(200, json);
  });
  routes.back().slow = true;  // reads the whole population or feed
}

}  // namespace tailor::server

// Handlers: event collection (the Segment tracking API), profiles and items.

#include <algorithm>

#include "common/time.h"
#include "server/api_impl.h"
#include "tailor/profile_json.h"
#include "tailor/signals.h"
#include "tailor/working_set.h"

namespace tailor::server {
namespace {

thread_local simdjson::dom::parser json_parser;

std::optional<collect::MessageKind> KindOfPath(std::string_view name) {
  using collect::MessageKind;
  if (name == "track") return MessageKind::kTrack;
  if (name == "identify") return MessageKind::kIdentify;
  if (name == "page") return MessageKind::kPage;
  if (name == "screen") return MessageKind::kScreen;
  if (name == "group") return MessageKind::kGroup;
  if (name == "alias") return MessageKind::kAlias;
  return std::nullopt;
}

Result<ItemInput> ItemFromJson(simdjson::dom::element body, std::string id) {
  ItemInput item;
  item.id = std::move(id);
  simdjson::dom::object object;
  if (body.get_object().get(object)) return InvalidArgument("$: expected an object");
  for (auto field : object) {
    const std::string_view key = field.key;
    if (key == "name" || key == "category") {
      std::string_view text;
      if (field.value.get_string().get(text))
        return InvalidArgument("$.{}: expected a string", key);
      (key == "name" ? item.name : item.category) = std::string(text);
    } else if (key == "price") {
      double price = 0;
      if (field.value.get_double().get(price)) return InvalidArgument("$.price: expected a number");
      item.price = Decimal::FromDouble(price);
      if (!item.price) return InvalidArgument("$.price: {} is out of range", price);
    } else if (key == "attributes") {
      simdjson::dom::object attributes;
      if (field.value.get_object().get(attributes)) {
        return InvalidArgument("$.attributes: expected an object");
      }
      for (auto attribute : attributes) {
        const std::string path = fmt::format("$.attributes.{}", attribute.key);
        TAILOR_ASSIGN_OR_RETURN(TypedValue value, TraitFromJson(attribute.value, nullptr, path));
        item.attributes.emplace_back(std::string(attribute.key), std::move(value));
      }
    } else if (key != "id") {
      return InvalidArgument("$.{}: unknown field (expected name, category, price, attributes)",
                             key);
    }
  }
  return item;
}

void WriteItem(JsonWriter& json, const ItemInput& item) {
  json.BeginObject().Key("id").String(item.id);
  if (!item.name.empty()) json.Key("name").String(item.name);
  if (!item.category.empty()) json.Key("category").String(item.category);
  if (item.price) json.Key("price").Number(*item.price);
  json.Key("attributes").BeginObject();
  for (const auto& [name, value] : item.attributes) {
    json.Key(name);
    WriteTypedValue(json, value);
  }
  json.EndObject().EndObject();
}

}  // namespace

std::optional<Timestamp> NowOf(const Call& call, Timestamp fallback) {
  const std::string_view text = call.Query("now");
  if (text.empty()) return fallback;
  return ParseIsoTimestamp(text);
}

Result<TypedValue> TraitFromJson(simdjson::dom::element value, const TraitDef* declared,
                                 std::string_view path) {
  using simdjson::dom::element_type;
  switch (value.type()) {
    case element_type::STRING: {
      std::string text(value.get_string().value_unsafe());
      if (declared != nullptr && declared->type == TraitType::kTimestamp) {
        auto time = ParseIsoTimestamp(text);
        if (!time) return InvalidArgument("{}: '{}' is not an ISO 8601 time", path, text);
        return TypedValue{TraitType::kTimestamp, *time};
      }
      return TypedValue{TraitType::kString, std::move(text)};
    }
    case element_type::INT64:
    case element_type::UINT64: {
      int64_t number = 0;
      if (value.get_int64().get(number)) return InvalidArgument("{}: integer out of range", path);
      if (declared != nullptr && declared->type == TraitType::kDouble) {
        return TypedValue{TraitType::kDouble, static_cast<double>(number)};
      }
      return TypedValue{TraitType::kInt, number};
    }
    case element_type::DOUBLE:
      return TypedValue{TraitType::kDouble, value.get_double().value_unsafe()};
    case element_type::BOOL:
      return TypedValue{TraitType::kBool, value.get_bool().value_unsafe()};
    case element_type::NULL_VALUE:
      return TypedValue{declared != nullptr ? declared->type : TraitType::kString,
                        std::monostate{}};
    case element_type::ARRAY: {
      StringList list;
      simdjson::dom::array array = value.get_array().value_unsafe();
      for (auto element : array) {
        std::string_view text;
        if (element.get_string().get(text)) {
          return InvalidArgument("{}: a list trait holds strings only", path);
        }
        list.emplace_back(text);
      }
      return TypedValue{TraitType::kStringList, std::move(list)};
    }
    case element_type::OBJECT:
      return InvalidArgument("{}: expected a value, found an object", path);
  }
  return InvalidArgument("{}: unsupported JSON value", path);
}

// --- Events: the Segment HTTP Tracking API ------------------------------------------------------

// A browser's request (public key, or no keys at all) comes from the visitor: its address locates
// messages that carry no context.ip. A secret key's request comes from the customer's servers.
CollectSource Api::Impl::CollectSourceOf(const Call& call) const {
  CollectSource source;
  if (call.key != nullptr && !call.key->is_public) return source;
  std::string_view client = call.request.remote;
  if (options.trust_forwarded_for) {
    std::string_view forwarded = call.request.Header("x-forwarded-for");
    forwarded = forwarded.substr(0, forwarded.find(','));
    while (!forwarded.empty() && forwarded.front() == ' ') forwarded.remove_prefix(1);
    while (!forwarded.empty() && forwarded.back() == ' ') forwarded.remove_suffix(1);
    if (!forwarded.empty()) client = forwarded;
  }
  source.client_ip = std::string(client);
  return source;
}

void Api::Impl::AddCollectRoutes() {
  auto collect = [this](std::optional<collect::MessageKind> kind) {
    return [this, kind](Call& call) -> Response {
      auto report = service.Collect(call.request.body, kind, CollectSourceOf(call));
      if (!report.ok()) {
        ++metrics.events_rejected;
        return ErrorResponse(report.status());
      }
      metrics.events_accepted += report->accepted;
      metrics.events_duplicate += report->duplicates;
      metrics.events_rejected += report->errors.size();
      JsonWriter json;
      json.BeginObject()
          .Key("received")
          .Uint(report->received)
          .Key("accepted")
          .Uint(report->accepted)
          .Key("duplicates")
          .Uint(report->duplicates)
          .Key("rejected")
          .Uint(report->errors.size())
          .Key("membership_changes")
          .Uint(report->membership_changes)
          .Key("errors")
          .BeginArray();
      for (const collect::MessageError& error : report->errors) {
        json.BeginObject()
            .Key("index")
            .Uint(error.index)
            .Key("path")
            .String(error.path)
            .Key("message")
            .String(error.message)
            .EndObject();
      }
      json.EndArray().EndObject();
      // Every message refused: the request as a whole failed. Some stored: 200 with the list.
      const bool nothing_stored =
          !report->errors.empty() && report->accepted + report->duplicates == 0;
      return JsonResponse(nothing_stored ? 400 : 200, json);
    };
  };
  Add("POST", "/v1/batch", access::Scope::kWrite, collect(std::nullopt));
  for (const char* name : {"track", "identify", "page", "screen", "group", "alias"}) {
    Add("POST", fmt::format("/v1/{}", name), access::Scope::kWrite, collect(KindOfPath(name)));
  }
  // analytics.js (analytics-next) posts to one-letter paths under its apiHost.
  const std::pair<const char*, std::optional<collect::MessageKind>> short_paths[] = {
      {"b", std::nullopt},
      {"t", collect::MessageKind::kTrack},
      {"i", collect::MessageKind::kIdentify},
      {"p", collect::MessageKind::kPage},
      {"s", collect::MessageKind::kScreen},
      {"g", collect::MessageKind::kGroup},
      {"a", collect::MessageKind::kAlias}};
  for (const auto& [path, kind] : short_paths) {
    Add("POST", fmt::format("/v1/{}", path), access::Scope::kWrite, collect(kind));
  }
  for (Route& route : routes) route.collect = true;  // only these so far
}

// --- Profiles and items -------------------------------------------------------------------------

void Api::Impl::AddProfileRoutes() {
  auto get_profile = [this](Call& call, size_t default_events, bool all_events) -> Response {
    const size_t limit = ParseSize(call.Query("events"), default_events, options.max_page_size);
    // From memory: the working set holds the profile (loaded once on a miss).
    auto resident =
        service.working_set().Get(call.params[0], working_set::WorkingSet::Admit::kOnSecondMiss);
    if (!resident.ok()) return ErrorResponse(resident.status());
    const ProfileView* view = &(*resident)->view;
    std::vector<EventInput> events;
    if (all_events || (limit > 0 && view->event_count > 0)) {
      auto stored = (*resident)->Events();
      if (!stored.ok()) return ErrorResponse(stored.status());
      events = std::move(stored).value();
      if (!all_events) {  // the newest `limit`, newest first
        std::reverse(events.begin(), events.end());
        if (events.size() > limit) events.resize(limit);
      }
    }
    JsonWriter json;
    const std::vector<std::string> segments = service.SegmentsOf(view->id);
    WriteProfileJson(json, *view, &segments, events);
    return JsonResponse(200, json);
  };
  Add("GET", "/v1/profiles/{id}", access::Scope::kRead,
      [get_profile](Call& call) { return get_profile(call, 20, false); });
  // Everything held about one person (right of access): all events, oldest first.
  Add("GET", "/v1/profiles/{id}/export", access::Scope::kRead,
      [get_profile](Call& call) { return get_profile(call, 0, true); });
  // Signals (tailor/signals.h) as of `now` (default the clock): acquisition, affinity, searches,
  // engagement, sessions, cadence, place.
  Add("GET", "/v1/profiles/{id}/signals", access::Scope::kRead, [this](Call& call) -> Response {
    const std::optional<Timestamp> now = NowOf(call, service.now());
    if (!now)
      return ErrorResponse(400, "INVALID_ARGUMENT", "expected an ISO-8601 date-time", "now");
    auto found = service.Signals(call.params[0], *now);
    if (!found.ok()) return ErrorResponse(found.status());
    JsonWriter json;
    json.BeginObject().Key("id").String(found->id).Key("signals");
    signals::WriteSignals(json, found->state, *now, found->place());
    json.EndObject();
    return JsonResponse(200, json);
  });
  Add("GET", "/v1/profiles/{id}/segments", access::Scope::kRead, [this](Call& call) -> Response {
    auto profile = service.engine().Resolve(call.params[0]);
    if (!profile.ok()) return ErrorResponse(profile.status());
    // The profile's own id: an anonymous or merged-away id resolves to the profile it joined.
    auto id = service.engine().ExternalId(*profile);
    if (!id.ok()) return ErrorResponse(id.status());
    JsonWriter json;
    json.BeginObject().Key("id").String(*id).Key("segments").BeginArray();
    for (const std::string& segment : service.SegmentsOf(*profile)) json.String(segment);
    json.EndArray().EndObject();
    return JsonResponse(200, json);
  });
  Add("PUT", "/v1/profiles/{id}", access::Scope::kWrite, [this](Call& call) -> Response {
    auto body = ParseBody(json_parser, call.request.body, options.max_json_depth);
    if (!body.ok()) return ErrorResponse(body.status());
    simdjson::dom::object fields, traits;
    if (body->get_object().get(fields) == simdjson::SUCCESS) {
      for (auto field : fields) {
        if (field.key != "traits") {
          return ErrorResponse(400, "INVALID_ARGUMENT",
                               fmt::format("$.{}: unknown field (expected traits)", field.key),
                               fmt::format("$.{}", field.key));
        }
      }
    }
    if ((*body)["traits"].get_object().get(traits)) {
      return ErrorResponse(400, "INVALID_ARGUMENT", "expected {\"traits\": {...}}", "$.traits");
    }
    const std::shared_ptr<const Schema> schema = service.engine().shared_schema();
    ProfileInput profile{call.params[0], {}};
    for (auto field : traits) {
      const std::string path = fmt::format("$.traits.{}", field.key);
      auto value = TraitFromJson(field.value, schema->Find(field.key), path);
      if (!value.ok()) return ErrorResponse(value.status(), path);
      profile.traits.emplace_back(std::string(field.key), std::move(value).value());
    }
    BatchReport report;
    Status stored = service.UpsertProfiles(std::span(&profile, 1), report);
    if (!stored.ok()) return ErrorResponse(stored);
    if (!report.rejected.empty()) {
      return ErrorResponse(400, "INVALID_ARGUMENT", report.rejected.front().reason, "$.traits");
    }
    JsonWriter json;
    json.BeginObject()
        .Key("id")
        .String(profile.external_id)
        .Key("traits_set")
        .Uint(profile.traits.size());
    json.EndObject();
    return JsonResponse(200, json);
  });
  Add("DELETE", "/v1/profiles/{id}", access::Scope::kAdmin, [this](Call& call) -> Response {
    Status deleted = service.DeleteProfile(call.params[0]);
    if (!deleted.ok()) return ErrorResponse(deleted);
    JsonWriter json;
    json.BeginObject().Key("deleted").String(call.params[0]).EndObject();
    return JsonResponse(200, json);
  });
  Add("POST", "/v1/profiles/{id}/merge", access::Scope::kAdmin, [this](Call& call) -> Response {
    auto body = ParseBody(json_parser, call.request.body, options.max_json_depth);
    if (!body.ok()) return ErrorResponse(body.status());
    std::string_view from;
    if ((*body)["from"].get_string().get(from)) {
      return ErrorResponse(400, "INVALID_ARGUMENT", "expected {\"from\": \"<profile id>\"}",
                           "$.from");
    }
    Status merged = service.MergeProfiles(call.params[0], from);
    if (!merged.ok()) return ErrorResponse(merged);
    JsonWriter json;
    json.BeginObject().Key("id").String(call.params[0]).Key("merged").String(from).EndObject();
    return JsonResponse(200, json);
  });

  Add("PUT", "/v1/items/{id}", access::Scope::kWrite, [this](Call& call) -> Response {
    auto body = ParseBody(json_parser, call.request.body, options.max_json_depth);
    if (!body.ok()) return ErrorResponse(body.status());
    auto item = ItemFromJson(*body, call.params[0]);
    if (!item.ok()) return ErrorResponse(item.status());
    BatchReport report;
    Status stored = service.UpsertItems(std::span(&*item, 1), report);
    if (!stored.ok()) return ErrorResponse(stored);
    if (!report.rejected.empty()) {
      return ErrorResponse(400, "INVALID_ARGUMENT", report.rejected.front().reason);
    }
    JsonWriter json;
    WriteItem(json, *item);
    return JsonResponse(200, json);
  });
  Add("GET", "/v1/items/{id}", access::Scope::kRead, [this](Call& call) -> Response {
    auto item = service.engine().GetItem(call.params[0]);
    if (!item.ok()) return ErrorResponse(item.status());
    JsonWriter json;
    WriteItem(json, *item);
    return JsonResponse(200, json);
  });
  Add("GET", "/v1/items", access::Scope::kRead, [this](Call& call) -> Response {
    auto items = service.engine().ListItems();
    if (!items.ok()) return ErrorResponse(items.status());
    const std::string_view after = call.Query("after");
    const size_t limit = ParseSize(call.Query("limit"), 100, options.max_page_size);
    JsonWriter json;
    json.BeginObject().Key("items").BeginArray();
    size_t written = 0;
    std::string last;
    for (const ItemInput& item : *items) {
      if (!after.empty() && item.id <= after) continue;
      if (written == limit) break;
      WriteItem(json, item);
      last = item.id;
      ++written;
    }
    json.EndArray();
    if (written == limit && !last.empty()) json.Key("next_after").String(last);
    json.EndObject();
    return JsonResponse(200, json);
  });
}

}  // namespace tailor::server

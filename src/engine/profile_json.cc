#include "tailor/profile_json.h"

namespace tailor {
namespace {

void WriteAggregate(JsonWriter& json, const state::Aggregate& aggregate) {
  json.BeginObject()
      .Key("count")
      .Uint(aggregate.count)
      .Key("value_sum")
      .Number(aggregate.value_sum)
      .Key("first")
      .String(IsoTime(aggregate.first))
      .Key("last")
      .String(IsoTime(aggregate.last))
      .EndObject();
}

}  // namespace

void WriteProfileJson(JsonWriter& json, const ProfileView& view,
                      const std::vector<std::string>* segments,
                      std::span<const EventInput> events) {
  json.BeginObject()
      .Key("id")
      .String(view.external_id)
      .Key("anonymous")
      .Bool(view.anonymous)
      .Key("created_at")
      .String(IsoTime(view.created_at))
      .Key("updated_at")
      .String(IsoTime(view.updated_at))
      .Key("aliases")
      .BeginArray();
  // Stored as "a:<anonymous id>" / "p:<merged profile id>"; shown as the ids.
  for (const std::string& alias : view.aliases) {
    json.String(alias.size() > 2 && alias[1] == ':' ? std::string_view(alias).substr(2) : alias);
  }
  json.EndArray().Key("traits").BeginObject();
  for (const auto& [name, value] : view.traits) {
    json.Key(name);
    WriteTypedValue(json, value);
  }
  json.EndObject();
  json.Key("declared_traits").BeginArray();
  for (const std::string& name : view.declared_traits) json.String(name);
  json.EndArray().Key("inferred_traits").BeginArray();
  for (const std::string& name : view.inferred_traits) json.String(name);
  json.EndArray();
  if (segments != nullptr) {
    json.Key("segments").BeginArray();
    for (const std::string& segment : *segments) json.String(segment);
    json.EndArray();
  }
  json.Key("event_count").Uint(view.event_count);
  const state::BehaviourState& behaviour = view.behaviour;
  json.Key("behaviour").BeginObject();
  if (behaviour.event_count > 0) {
    json.Key("first_seen").String(IsoTime(behaviour.first_seen));
    json.Key("last_seen").String(IsoTime(behaviour.last_seen));
  }
  json.Key("by_type").BeginObject();
  for (const auto& [type, aggregate] : behaviour.by_type) {
    json.Key(type);
    WriteAggregate(json, aggregate);
  }
  json.EndObject().Key("by_type_category").BeginObject();
  for (const auto& [key, aggregate] : behaviour.by_type_category) {
    json.Key(key);
    WriteAggregate(json, aggregate);
  }
  json.EndObject().EndObject().Key("events").BeginArray();
  for (const EventInput& event : events) WriteEvent(json, event);
  json.EndArray().EndObject();
}

}  // namespace tailor

#pragma once

// One JSON shape for a profile, shared by `tailor profile show --json` and the HTTP API
// (GET /v1/profiles/{id}, .../export): id, anonymous, created_at, updated_at, aliases, traits,
// segments (when known), event_count, behaviour (first/last seen, aggregates per event type and
// per type/category) and events.

#include <span>
#include <string>

#include "tailor/engine.h"
#include "tailor/json_writer.h"

namespace tailor {

// `segments`: the profile's live segments, or nullptr to leave the key out (no service at hand).
// `events`: written in the order given (the API's profile: newest first; export: oldest first).
void WriteProfileJson(JsonWriter& json, const ProfileView& view,
                      const std::vector<std::string>* segments, std::span<const EventInput> events);

}  // namespace tailor

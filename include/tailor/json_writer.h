#pragma once

// A small streaming JSON writer (CLI `--json` output, the HTTP API): keys and values in order,
// commas and escaping handled, no DOM.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tailor/types.h"

namespace tailor {

class JsonWriter {
 public:
  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(std::string_view key);
  JsonWriter& String(std::string_view value);
  JsonWriter& Int(int64_t value);
  JsonWriter& Uint(uint64_t value);
  JsonWriter& Double(double value);
  // An exact decimal as a JSON number with its shortest exact digits ("12.3", not 12.300000001).
  JsonWriter& Number(Decimal value);
  JsonWriter& Bool(bool value);
  JsonWriter& Null();
  // Writes pre-encoded JSON as one value.
  JsonWriter& Raw(std::string_view json);

  const std::string& str() const { return out_; }

 private:
  void Separate();
  std::string out_;
  std::vector<bool> first_;  // per open container: nothing written yet
  bool after_key_ = false;
};

struct TraitDef;

void AppendJsonString(std::string& out, std::string_view text);

// ISO 8601 UTC text of a timestamp: "2026-11-01T09:30:00Z" (".123Z" when it has milliseconds).
std::string IsoTime(Timestamp time);
// A trait value as JSON (timestamps as ISO text, missing as null).
void WriteTypedValue(JsonWriter& json, const TypedValue& value);
// A stored event as a JSON object: time, type, id and every field that is set.
void WriteEvent(JsonWriter& json, const EventInput& event);
// A trait's definition: {"name", "type", "category"}.
void WriteTraitDef(JsonWriter& json, const TraitDef& trait);

}  // namespace tailor

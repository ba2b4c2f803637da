#include "tailor/json_writer.h"

#include <fmt/format.h>

#include <cmath>

#include "common/time.h"
#include "tailor/schema.h"

namespace tailor {

namespace {

// Length of the valid UTF-8 sequence starting at text[i], or 0 if it is not one.
size_t Utf8SequenceLength(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  size_t length = 0;
  unsigned min_second = 0x80, max_second = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) min_second = 0xA0;  // no overlong forms
    if (lead == 0xED) max_second = 0x9F;  // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) min_second = 0x90;
    if (lead == 0xF4) max_second = 0x8F;  // <= U+10FFFF
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  if (byte(i + 1) < min_second || byte(i + 1) > max_second) return 0;
  for (size_t k = 2; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  }
  return length;
}

}  // namespace

// Control characters are escaped; bytes that are not UTF-8 (ids and paths echoed from a request
// can be anything) become U+FFFD, so the output is always valid JSON.
void AppendJsonString(std::string& out, std::string_view text) {
  out.push_back('"');
  for (size_t i = 0; i < text.size(); ++i) {
    // Plain ASCII runs (nearly everything) are appended at once.
    size_t run = i;
    while (run < text.size()) {
      const auto byte = static_cast<unsigned char>(text[run]);
      if (byte < 0x20 || byte >= 0x80 || byte == '"' || byte == '\\') break;
      ++run;
    }
    if (run > i) {
      out.append(text.data() + i, run - i);
      i = run;
      if (i == text.size()) break;
    }
    const char c = text[i];
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        } else if (static_cast<unsigned char>(c) < 0x80) {
          out.push_back(c);
        } else if (const size_t length = Utf8SequenceLength(text, i)) {
          out.append(text.substr(i, length));
          i += length - 1;
        } else {
          out += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER
        }
    }
  }
  out.push_back('"');
}

void JsonWriter::Separate() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!first_.empty()) {
    if (!first_.back()) out_.push_back(',');
    first_.back() = false;
  }
}

JsonWriter& JsonWriter::BeginObject() {
  Separate();
  out_.push_back('{');
  first_.push_back(true);
  return *this;
}
JsonWriter& JsonWriter::EndObject() {
  out_.push_back('}');
  first_.pop_back();
  return *this;
}
JsonWriter& JsonWriter::BeginArray() {
  Separate();
  out_.push_back('[');
  first_.push_back(true);
  return *this;
}
JsonWriter& JsonWriter::EndArray() {
  out_.push_back(']');
  first_.pop_back();
  return *this;
}
JsonWriter& JsonWriter::Key(std::string_view key) {
  Separate();
  AppendJsonString(out_, key);
  out_.push_back(':');
  after_key_ = true;
  return *this;
}
JsonWriter& JsonWriter::String(std::string_view value) {
  Separate();
  AppendJsonString(out_, value);
  return *this;
}
JsonWriter& JsonWriter::Int(int64_t value) {
  Separate();
  out_ += std::to_string(value);
  return *this;
}
JsonWriter& JsonWriter::Uint(uint64_t value) {
  Separate();
  out_ += std::to_string(value);
  return *this;
}
JsonWriter& JsonWriter::Double(double value) {
  Separate();
  out_ += std::isfinite(value) ? fmt::format("{}", value) : "null";
  return *this;
}
JsonWriter& JsonWriter::Bool(bool value) {
  Separate();
  out_ += value ? "true" : "false";
  return *this;
}
JsonWriter& JsonWriter::Null() {
  Separate();
  out_ += "null";
  return *this;
}
JsonWriter& JsonWriter::Number(Decimal value) { return Raw(value.ToString()); }

JsonWriter& JsonWriter::Raw(std::string_view json) {
  Separate();
  out_.append(json);
  return *this;
}

std::string IsoTime(Timestamp time) { return FormatTimestamp(time); }

void WriteTypedValue(JsonWriter& json, const TypedValue& value) {
  if (std::holds_alternative<std::monostate>(value.value)) {
    json.Null();
    return;
  }
  switch (value.type) {
    case TraitType::kString:
      json.String(std::get<std::string>(value.value));
      break;
    case TraitType::kInt:
      json.Int(std::get<int64_t>(value.value));
      break;
    case TraitType::kDouble:
      json.Double(std::get<double>(value.value));
      break;
    case TraitType::kBool:
      json.Bool(std::get<bool>(value.value));
      break;
    case TraitType::kTimestamp:
      json.String(IsoTime(std::get<int64_t>(value.value)));
      break;
    case TraitType::kStringList:
      json.BeginArray();
      for (const std::string& element : std::get<StringList>(value.value)) json.String(element);
      json.EndArray();
      break;
  }
}

void WriteEvent(JsonWriter& json, const EventInput& event) {
  json.BeginObject().Key("time").String(IsoTime(event.time)).Key("type").String(event.type);
  if (!event.id.empty()) json.Key("id").String(event.id);
  if (!event.item_id.empty()) json.Key("item_id").String(event.item_id);
  if (!event.category.empty()) json.Key("category").String(event.category);
  if (!event.order_id.empty()) json.Key("order_id").String(event.order_id);
  if (event.price) json.Key("price").Number(*event.price);
  if (event.quantity) json.Key("quantity").Int(*event.quantity);
  if (event.value) json.Key("value").Number(*event.value);
  const EventContext& c = event.context;
  const std::pair<const char*, const std::string*> context_fields[] = {
      {"channel", &c.channel},       {"page_url", &c.page_url},
      {"referrer", &c.referrer},     {"utm_source", &c.utm_source},
      {"utm_medium", &c.utm_medium}, {"utm_campaign", &c.utm_campaign},
      {"user_agent", &c.user_agent}, {"ip", &c.ip},
      {"country", &c.country},       {"city", &c.city}};
  bool any_context = false;
  for (const auto& [name, field] : context_fields) any_context = any_context || !field->empty();
  if (any_context) {
    json.Key("context").BeginObject();
    for (const auto& [name, field] : context_fields) {
      if (!field->empty()) json.Key(name).String(*field);
    }
    json.EndObject();
  }
  if (!event.properties.empty()) {
    json.Key("properties").BeginObject();
    for (const auto& [name, value] : event.properties) json.Key(name).String(value);
    json.EndObject();
  }
  json.EndObject();
}

}  // namespace tailor

namespace tailor {

void WriteTraitDef(JsonWriter& json, const TraitDef& trait) {
  json.BeginObject()
      .Key("name")
      .String(trait.name)
      .Key("type")
      .String(TraitTypeName(trait.type))
      .Key("category")
      .String(TraitCategoryName(trait.category))
      .EndObject();
}

}  // namespace tailor

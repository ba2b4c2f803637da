#include <simdjson.h>

#include <algorithm>

#include "common/strings.h"
#include "common/time.h"
#include "tailor/ingest.h"

namespace tailor::ingest {
namespace {

const std::vector<std::string_view> kProfileFields = {"id"};
const std::vector<std::string_view> kEventFields = {
    "id",         "profile_id", "anonymous_id", "type",       "time",    "item_id",  "category",
    "order_id",   "price",      "quantity",     "value",      "channel", "page_url", "referrer",
    "utm_source", "utm_medium", "utm_campaign", "user_agent", "ip",      "country",  "city"};
const std::vector<std::string_view> kItemFields = {"id", "name", "category", "price"};

Status ReadSource(simdjson::dom::element element, std::string_view key, FieldSource& source) {
  std::string_view text;
  if (!element.get_string().get(text)) {
    source.column = std::string(text);
    return Status::Ok();
  }
  simdjson::dom::object object;
  if (element.get_object().get(object)) {
    return InvalidArgument("'{}' must be a column name or an object", key);
  }
  for (auto [name, value] : object) {
    std::string_view string_value;
    const bool is_string = !value.get_string().get(string_value);
    if (name == "column") {
      if (!is_string) return InvalidArgument("'{}.column' must be a string", key);
      source.column = std::string(string_value);
    } else if (name == "constant") {
      if (is_string) {
        source.constant = std::string(string_value);
      } else if (value.is_number() || value.is_bool()) {
        source.constant = simdjson::minify(value);
      } else {
        return InvalidArgument("'{}.constant' must be a string, number or boolean", key);
      }
    } else if (name == "format") {
      if (!is_string) return InvalidArgument("'{}.format' must be a string", key);
      if (string_value == "iso") {
        source.time_format = TimeFormat::kIso;
      } else if (string_value == "epoch_seconds") {
        source.time_format = TimeFormat::kEpochSeconds;
      } else if (string_value == "epoch_millis") {
        source.time_format = TimeFormat::kEpochMillis;
      } else if (string_value == "offset_seconds") {
        source.time_format = TimeFormat::kOffsetSeconds;
      } else {
        return InvalidArgument(
            "'{}.format': unknown time format '{}' (iso, epoch_seconds, epoch_millis, "
            "offset_seconds)",
            key, string_value);
      }
    } else if (name == "base") {
      const auto base = is_string ? ParseIsoTimestamp(string_value) : std::nullopt;
      if (!base) return InvalidArgument("'{}.base' must be an ISO 8601 time", key);
      source.time_base = *base;
    } else if (name == "separator") {
      if (!is_string || string_value.size() != 1) {
        return InvalidArgument("'{}.separator' must be a single character", key);
      }
      source.list_separator = string_value[0];
    } else if (name == "type") {
      const auto type = is_string ? ParseTraitType(string_value) : std::nullopt;
      if (!type) {
        return InvalidArgument(
            "'{}.type': unknown type (string, int, double, bool, timestamp, list)", key);
      }
      source.type = type;
    } else if (name == "category") {
      const auto category = is_string ? ParseTraitCategory(string_value) : std::nullopt;
      if (!category) {
        return InvalidArgument(
            "'{}.category': unknown category (demographic, geographic, psychographic, "
            "behavioural, technographic, preference, other)",
            key);
      }
      source.category = category;
    } else if (name == "line_number") {
      bool on = false;
      if (value.get_bool().get(on) || !on) {
        return InvalidArgument("'{}.line_number' must be true", key);
      }
      source.line_number = true;
    } else if (name == "prefix") {
      if (!is_string) return InvalidArgument("'{}.prefix' must be a string", key);
      source.prefix = std::string(string_value);
    } else if (name == "values") {
      simdjson::dom::object recoding;
      if (value.get_object().get(recoding) || recoding.size() == 0) {
        return InvalidArgument("'{}.values' must be an object of texts and what they stand for",
                               key);
      }
      for (auto [from, to] : recoding) {
        std::string_view text;
        if (!to.get_string().get(text)) {
          source.values.emplace_back(std::string(from), std::string(text));
        } else if (to.is_number() || to.is_bool()) {
          source.values.emplace_back(std::string(from), simdjson::minify(to));
        } else {
          return InvalidArgument("'{}.values.{}' must be a string, number or boolean", key, from);
        }
      }
    } else {
      return InvalidArgument(
          "'{}': unknown key '{}' (column, constant, line_number, format, base, separator, type, "
          "category, prefix, values)",
          key, name);
    }
  }
  if (source.column.empty() && !source.constant && !source.line_number) {
    return InvalidArgument("'{}' needs a 'column', a 'constant' or 'line_number'", key);
  }
  return Status::Ok();
}

}  // namespace

std::string_view RecordKindName(RecordKind kind) {
  switch (kind) {
    case RecordKind::kProfiles:
      return "profiles";
    case RecordKind::kEvents:
      return "events";
    case RecordKind::kItems:
      return "items";
  }
  return "?";
}

std::optional<RecordKind> ParseRecordKind(std::string_view name) {
  if (name == "profiles") return RecordKind::kProfiles;
  if (name == "events") return RecordKind::kEvents;
  if (name == "items") return RecordKind::kItems;
  return std::nullopt;
}

const std::vector<std::string_view>& KnownFields(RecordKind kind) {
  switch (kind) {
    case RecordKind::kProfiles:
      return kProfileFields;
    case RecordKind::kEvents:
      return kEventFields;
    case RecordKind::kItems:
      return kItemFields;
  }
  return kEventFields;
}

const FieldSource* Mapping::Field(std::string_view target) const {
  for (const auto& [name, source] : fields) {
    if (name == target) return &source;
  }
  return nullptr;
}

Mapping DefaultMapping(RecordKind kind) {
  Mapping mapping;
  mapping.kind = kind;
  return mapping;
}

Result<Mapping> ParseMapping(std::string_view json_text, RecordKind kind) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json_text);
  simdjson::dom::element root;
  if (auto error = parser.parse(padded).get(root)) {
    return InvalidArgument("mapping is not valid JSON: {}", simdjson::error_message(error));
  }
  simdjson::dom::object object;
  if (root.get_object().get(object)) return InvalidArgument("mapping must be a JSON object");
  Mapping mapping = DefaultMapping(kind);
  const auto& known = KnownFields(kind);
  for (auto [key, value] : object) {
    std::string_view text;
    if (key == "kind") {
      if (value.get_string().get(text) || ParseRecordKind(text) != kind) {
        return InvalidArgument("mapping 'kind' is '{}' but the file is imported as {}",
                               simdjson::minify(value), RecordKindName(kind));
      }
    } else if (key == "format") {
      if (value.get_string().get(text) || (text != "csv" && text != "ndjson")) {
        return InvalidArgument("mapping 'format' must be \"csv\" or \"ndjson\"");
      }
      mapping.format = text == "csv" ? FileFormat::kCsv : FileFormat::kNdjson;
    } else if (key == "delimiter") {
      if (value.get_string().get(text) || text.size() != 1) {
        return InvalidArgument("mapping 'delimiter' must be a single character");
      }
      mapping.delimiter = text[0];
    } else if (key == "other_columns") {
      if (value.get_string().get(text) || (text != "keep" && text != "ignore")) {
        return InvalidArgument("mapping 'other_columns' must be \"keep\" or \"ignore\"");
      }
      mapping.keep_other_columns = text == "keep";
    } else if (key == "fields") {
      simdjson::dom::object fields;
      if (value.get_object().get(fields))
        return InvalidArgument("mapping 'fields' must be an object");
      for (auto [target, source_json] : fields) {
        if (std::find(known.begin(), known.end(), target) == known.end()) {
          std::string names;
          for (std::string_view name : known)
            names += fmt::format("{}{}", names.empty() ? "" : ", ", name);
          return InvalidArgument("mapping 'fields': unknown field '{}' for {} (known: {})", target,
                                 RecordKindName(kind), names);
        }
        FieldSource source;
        TAILOR_RETURN_IF_ERROR(ReadSource(source_json, fmt::format("fields.{}", target), source));
        if (!source.values.empty()) {
          return InvalidArgument(
              "'fields.{}.values': only traits, attributes and properties are "
              "recoded",
              target);
        }
        mapping.fields.emplace_back(std::string(target), std::move(source));
      }
    } else if (key == "traits" || key == "attributes" || key == "properties") {
      simdjson::dom::object extras;
      if (value.get_object().get(extras))
        return InvalidArgument("mapping '{}' must be an object", key);
      for (auto [name, source_json] : extras) {
        FieldSource source;
        TAILOR_RETURN_IF_ERROR(ReadSource(source_json, fmt::format("{}.{}", key, name), source));
        mapping.extras.emplace_back(std::string(name), std::move(source));
      }
    } else if (key == "description" || key == "$comment") {
      // Free text for people reading the mapping.
    } else {
      return InvalidArgument(
          "mapping: unknown key '{}' (kind, format, delimiter, fields, traits, attributes, "
          "properties, other_columns, description)",
          key);
    }
  }
  return mapping;
}

}  // namespace tailor::ingest

// Item rules by segment and the catalogue options (tailor/recommender.h): their JSON forms,
// checked field by field.

#include <simdjson.h>

#include <algorithm>
#include <set>

#include "tailor/recommender.h"

namespace tailor::reco {
namespace {

Status Bad(std::string_view path, std::string_view what) {
  return InvalidArgument("{}: {}", path, what);
}

Result<std::string> Text(simdjson::dom::element value, std::string_view path) {
  std::string_view text;
  if (value.get_string().get(text) || text.empty()) return Bad(path, "expected a non-empty string");
  return std::string(text);
}

Result<std::vector<std::string>> Texts(simdjson::dom::element value, std::string_view path) {
  simdjson::dom::array array;
  if (value.get_array().get(array)) return Bad(path, "expected an array of strings");
  std::vector<std::string> out;
  size_t i = 0;
  for (simdjson::dom::element item : array) {
    TAILOR_ASSIGN_OR_RETURN(std::string text, Text(item, fmt::format("{}[{}]", path, i++)));
    out.push_back(std::move(text));
  }
  return out;
}

// The document's root object (pointing into `parser`).
Result<simdjson::dom::object> RootObject(simdjson::dom::parser& parser,
                                         const simdjson::padded_string& padded) {
  simdjson::dom::element root;
  if (auto error = parser.parse(padded).get(root)) {
    return InvalidArgument("$: not JSON ({})", simdjson::error_message(error));
  }
  simdjson::dom::object object;
  if (root.get_object().get(object)) return Bad("$", "expected an object");
  return object;
}

Result<ItemRule> ParseRule(simdjson::dom::element element, const std::string& path) {
  simdjson::dom::object object;
  if (element.get_object().get(object)) return Bad(path, "expected an object");
  ItemRule rule;
  for (auto [key, value] : object) {
    const std::string field = fmt::format("{}.{}", path, std::string_view(key));
    if (key == "name") {
      TAILOR_ASSIGN_OR_RETURN(rule.name, Text(value, field));
    } else if (key == "segment") {
      TAILOR_ASSIGN_OR_RETURN(rule.segment, Text(value, field));
    } else if (key == "applies_to") {
      TAILOR_ASSIGN_OR_RETURN(const std::string applies, Text(value, field));
      if (applies != "members" && applies != "non_members") {
        return Bad(field, "expected \"members\" or \"non_members\"");
      }
      rule.members = applies == "members";
    } else if (key == "categories") {
      TAILOR_ASSIGN_OR_RETURN(rule.categories, Texts(value, field));
    } else if (key == "items") {
      TAILOR_ASSIGN_OR_RETURN(rule.items, Texts(value, field));
    } else {
      return Bad(field, "unknown field (name, segment, applies_to, categories, items)");
    }
  }
  if (rule.name.empty()) return Bad(path + ".name", "missing");
  if (rule.segment.empty()) return Bad(path + ".segment", "missing");
  if (rule.categories.empty() && rule.items.empty()) {
    return Bad(path, "a rule needs categories or items to keep back");
  }
  return rule;
}

}  // namespace

Result<ItemRules> ParseItemRules(std::string_view json) {
  simdjson::dom::parser parser;
  const simdjson::padded_string padded(json);
  TAILOR_ASSIGN_OR_RETURN(simdjson::dom::object object, RootObject(parser, padded));
  ItemRules out;
  std::set<std::string> names;
  for (auto [key, value] : object) {
    if (key != "rules")
      return Bad(fmt::format("$.{}", std::string_view(key)), "unknown field (rules)");
    simdjson::dom::array array;
    if (value.get_array().get(array)) return Bad("$.rules", "expected an array of rules");
    size_t i = 0;
    for (simdjson::dom::element item : array) {
      const std::string path = fmt::format("$.rules[{}]", i++);
      TAILOR_ASSIGN_OR_RETURN(ItemRule rule, ParseRule(item, path));
      if (!names.insert(rule.name).second) {
        return Bad(path + ".name", fmt::format("'{}' is there twice", rule.name));
      }
      out.rules.push_back(std::move(rule));
    }
  }
  return out;
}

void WriteItemRules(JsonWriter& json, const ItemRules& rules) {
  json.BeginObject().Key("rules").BeginArray();
  for (const ItemRule& rule : rules.rules) {
    json.BeginObject()
        .Key("name")
        .String(rule.name)
        .Key("segment")
        .String(rule.segment)
        .Key("applies_to")
        .String(rule.members ? "members" : "non_members")
        .Key("categories")
        .BeginArray();
    for (const std::string& category : rule.categories) json.String(category);
    json.EndArray().Key("items").BeginArray();
    for (const std::string& item : rule.items) json.String(item);
    json.EndArray().EndObject();
  }
  json.EndArray().EndObject();
}

Result<CatalogueOptions> ParseCatalogueOptions(std::string_view json,
                                               const CatalogueOptions& defaults) {
  simdjson::dom::parser parser;
  const simdjson::padded_string padded(json);
  TAILOR_ASSIGN_OR_RETURN(simdjson::dom::object object, RootObject(parser, padded));
  CatalogueOptions out = defaults;
  for (auto [key, value] : object) {
    const std::string path = fmt::format("$.{}", std::string_view(key));
    if (key == "level_attribute") {
      TAILOR_ASSIGN_OR_RETURN(out.level_attribute, Text(value, path));
    } else if (key == "levels") {
      TAILOR_ASSIGN_OR_RETURN(out.levels, Texts(value, path));
      if (out.levels.empty()) return Bad(path, "expected at least one level");
      std::set<std::string> seen;
      for (size_t i = 0; i < out.levels.size(); ++i) {
        if (!seen.insert(out.levels[i]).second) {
          return Bad(fmt::format("{}[{}]", path, i),
                     fmt::format("'{}' is there twice", out.levels[i]));
        }
      }
    } else if (key == "kind_attribute") {
      std::string_view text;  // may be empty: the category is the kind
      if (value.get_string().get(text)) return Bad(path, "expected a string");
      out.kind_attribute = std::string(text);
    } else if (key == "consumable_attribute") {
      TAILOR_ASSIGN_OR_RETURN(out.consumable_attribute, Text(value, path));
    } else if (key == "stock_attribute") {
      TAILOR_ASSIGN_OR_RETURN(out.stock_attribute, Text(value, path));
    } else {
      return Bad(path,
                 "unknown field (level_attribute, levels, kind_attribute, consumable_attribute, "
                 "stock_attribute)");
    }
  }
  return out;
}

void WriteCatalogueOptions(JsonWriter& json, const CatalogueOptions& options) {
  json.BeginObject()
      .Key("level_attribute")
      .String(options.level_attribute)
      .Key("levels")
      .BeginArray();
  for (const std::string& level : options.levels) json.String(level);
  json.EndArray()
      .Key("kind_attribute")
      .String(options.kind_attribute)
      .Key("consumable_attribute")
      .String(options.consumable_attribute)
      .Key("stock_attribute")
      .String(options.stock_attribute)
      .EndObject();
}

}  // namespace tailor::reco

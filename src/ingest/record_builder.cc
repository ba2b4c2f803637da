#include <algorithm>
#include <cmath>

#include "common/strings.h"
#include "common/time.h"
#include "tailor/ingest.h"

namespace tailor::ingest {
namespace {

constexpr size_t kMaxListElements = 1000;

// Column names that feed a target field when no mapping names its column.
std::vector<std::string_view> ColumnAliases(RecordKind kind, std::string_view target) {
  if (kind == RecordKind::kProfiles && target == "id") {
    return {"id", "profile_id", "user_id", "userId", "customer_id"};
  }
  if (kind == RecordKind::kItems) {
    if (target == "id") return {"id", "item_id", "product_id"};
    if (target == "name") return {"name", "title"};
    return {target};
  }
  if (target == "id") return {"event_id", "id", "message_id", "messageId"};
  if (target == "profile_id") return {"profile_id", "user_id", "userId", "customer_id"};
  if (target == "anonymous_id") return {"anonymous_id", "anonymousId"};
  if (target == "type") return {"type", "event", "event_type"};
  if (target == "time") return {"time", "ts", "timestamp"};
  if (target == "item_id") return {"item_id", "product_id"};
  return {target};
}

Status BadValue(std::string_view column, std::string_view text, std::string_view what) {
  return InvalidArgument(
      "column '{}': '{}' is not {}", column,
      text.size() > 80 ? std::string(text.substr(0, 80)) + "..." : std::string(text), what);
}

// The text after the mapping's "values" recoding; nullopt: not one of the listed texts.
std::optional<std::string_view> Recode(const FieldSource& source, std::string_view text) {
  if (source.values.empty()) return text;
  for (const auto& [from, to] : source.values) {
    if (from == text) return std::string_view(to);
  }
  return std::nullopt;
}

Status NotListed(std::string_view column, std::string_view text, const FieldSource& source) {
  std::string listed;
  for (size_t i = 0; i < source.values.size() && i < 12; ++i) {
    listed += (i ? ", " : "") + source.values[i].first;
  }
  if (source.values.size() > 12) listed += ", ...";
  return BadValue(column, text, fmt::format("one of the mapping's values ({})", listed));
}

}  // namespace

std::optional<TypedValue> ParseTypedValue(std::string_view text, TraitType type, char separator) {
  TypedValue out;
  out.type = type;
  switch (type) {
    case TraitType::kString:
      out.value = std::string(text);
      return out;
    case TraitType::kInt: {
      auto number = ParseInt64(text);
      if (!number) {
        // "42.0" is an int written by a tool that only knows doubles; "42.5" is not.
        auto real = ParseDouble(text);
        if (!real || std::trunc(*real) != *real || std::fabs(*real) > 9.0e15) return std::nullopt;
        number = static_cast<int64_t>(*real);
      }
      out.value = *number;
      return out;
    }
    case TraitType::kDouble: {
      auto number = ParseDouble(text);
      if (!number) return std::nullopt;
      out.value = *number;
      return out;
    }
    case TraitType::kBool: {
      auto flag = ParseBool(text);
      if (!flag) return std::nullopt;
      out.value = *flag;
      return out;
    }
    case TraitType::kTimestamp: {
      auto time = ParseIsoTimestamp(Trim(text));
      if (!time) return std::nullopt;
      out.value = *time;
      return out;
    }
    case TraitType::kStringList: {
      StringList list = SplitNonEmpty(text, separator);
      if (list.size() > kMaxListElements) return std::nullopt;
      out.value = std::move(list);
      return out;
    }
  }
  return std::nullopt;
}

TraitType InferTraitType(const std::vector<std::string_view>& samples, char list_separator) {
  bool all_bool = true, all_int = true, all_double = true, all_time = true, any_list = false;
  bool any = false;
  for (std::string_view sample : samples) {
    sample = Trim(sample);
    if (sample.empty()) continue;
    any = true;
    // Only the words true/false make a bool: 0/1 columns are numbers to most users.
    const bool word_bool = sample == "true" || sample == "false" || sample == "TRUE" ||
                           sample == "FALSE" || sample == "True" || sample == "False";
    all_bool = all_bool && word_bool;
    all_int = all_int && ParseInt64(sample).has_value();
    all_double = all_double && ParseDouble(sample).has_value();
    all_time = all_time && sample.size() >= 10 && ParseIsoTimestamp(sample).has_value();
    any_list = any_list || sample.find(list_separator) != std::string_view::npos;
  }
  if (!any) return TraitType::kString;
  if (all_bool) return TraitType::kBool;
  if (all_int) return TraitType::kInt;
  if (all_double) return TraitType::kDouble;
  if (all_time) return TraitType::kTimestamp;
  if (any_list) return TraitType::kStringList;
  return TraitType::kString;
}

Result<RecordBuilder> RecordBuilder::Create(const Mapping& mapping,
                                            const std::vector<std::string>& columns,
                                            const Schema& schema, const std::vector<Row>& sample) {
  RecordBuilder builder;
  builder.kind_ = mapping.kind;
  std::vector<bool> used(columns.size(), false);
  auto find_column = [&](std::string_view name) -> int {
    for (size_t i = 0; i < columns.size(); ++i) {
      if (columns[i] == name) return static_cast<int>(i);
    }
    return -1;
  };
  auto resolve = [&](std::string_view key, const FieldSource& source) -> Result<Resolved> {
    Resolved resolved{-1, source};
    if (!source.column.empty()) {
      resolved.column = find_column(source.column);
      if (resolved.column < 0) {
        return InvalidArgument("mapping '{}' names column '{}', which the file does not have", key,
                               source.column);
      }
      used[resolved.column] = true;
    }
    return resolved;
  };
  for (const auto& [target, source] : mapping.fields) {
    TAILOR_ASSIGN_OR_RETURN(Resolved resolved, resolve(target, source));
    builder.fields_.emplace_back(target, std::move(resolved));
  }
  // Targets the mapping leaves out come from columns of the same name (or a common alias).
  for (std::string_view target : KnownFields(mapping.kind)) {
    if (mapping.Field(target) != nullptr) continue;
    for (std::string_view alias : ColumnAliases(mapping.kind, target)) {
      const int column = find_column(alias);
      if (column >= 0 && !used[column]) {
        FieldSource source;
        source.column = std::string(alias);
        used[column] = true;
        builder.fields_.emplace_back(std::string(target), Resolved{column, source});
        break;
      }
    }
  }
  for (const auto& [name, source] : mapping.extras) {
    TAILOR_ASSIGN_OR_RETURN(Resolved resolved, resolve(name, source));
    builder.extras_.push_back(std::move(resolved));
    builder.extra_defs_.push_back(ExtraDef{name, TraitType::kString, TraitCategory::kOther});
  }
  if (mapping.keep_other_columns) {
    for (size_t i = 0; i < columns.size(); ++i) {
      if (used[i] || columns[i].empty()) continue;
      FieldSource source;
      source.column = columns[i];
      builder.extras_.push_back(Resolved{static_cast<int>(i), source});
      builder.extra_defs_.push_back(
          ExtraDef{columns[i], TraitType::kString, TraitCategory::kOther});
    }
  }
  // Fix each extra's type: declared in the mapping, else known to the schema, else inferred
  // from the sample. Event properties stay strings (they are free-form).
  for (size_t i = 0; i < builder.extras_.size(); ++i) {
    Resolved& extra = builder.extras_[i];
    ExtraDef& def = builder.extra_defs_[i];
    def.category = extra.source.category.value_or(GuessTraitCategory(def.name));
    if (mapping.kind == RecordKind::kEvents) continue;
    if (extra.source.type) {
      def.type = *extra.source.type;
    } else if (const TraitDef* known = schema.Find(def.name);
               known != nullptr && mapping.kind == RecordKind::kProfiles) {
      def.type = known->type;
      if (!extra.source.category) def.category = known->category;
    } else {
      std::vector<std::string_view> samples;
      if (!extra.source.values.empty()) {  // what the texts stand for
        for (const auto& [from, to] : extra.source.values) samples.push_back(to);
      } else if (extra.source.constant) {
        samples.push_back(*extra.source.constant);
      } else {
        for (const Row& row : sample) {
          if (static_cast<size_t>(extra.column) < row.values.size() && row.present[extra.column]) {
            samples.push_back(row.values[extra.column]);
          }
        }
      }
      def.type = InferTraitType(samples, extra.source.list_separator);
    }
    extra.source.type = def.type;
  }
  auto index_of = [&](std::string_view target) {
    for (size_t i = 0; i < builder.fields_.size(); ++i) {
      if (builder.fields_[i].first == target) return static_cast<int>(i);
    }
    return -1;
  };
  builder.id_ = index_of("id");
  builder.profile_id_ = index_of("profile_id");
  builder.anonymous_id_ = index_of("anonymous_id");
  builder.type_ = index_of("type");
  builder.time_ = index_of("time");
  if (builder.id_ < 0 && mapping.kind != RecordKind::kEvents) {
    return InvalidArgument("no id column: map one with \"fields\": {{\"id\": \"<column>\"}}");
  }
  if (mapping.kind == RecordKind::kEvents) {
    if (builder.profile_id_ < 0 && builder.anonymous_id_ < 0) {
      return InvalidArgument("events need a profile_id or anonymous_id column");
    }
    if (builder.type_ < 0) return InvalidArgument("events need a type column (or a constant)");
    if (builder.time_ < 0) return InvalidArgument("events need a time column (or a constant)");
  }
  return builder;
}

std::optional<std::string_view> RecordBuilder::Text(const Row& row, const Resolved& field) const {
  if (field.column < 0) {
    if (field.source.line_number) {
      line_text_ = std::to_string(row.line);
      return std::string_view(line_text_);
    }
    if (field.source.constant) return std::string_view(*field.source.constant);
    return std::nullopt;
  }
  if (static_cast<size_t>(field.column) >= row.values.size() || !row.present[field.column]) {
    return std::nullopt;
  }
  const std::string_view text = row.values[field.column];
  if (text.empty()) return std::nullopt;  // empty field = missing
  return text;
}

Status RecordBuilder::ReadExtras(const Row& row, TraitMap& out) const {
  out.clear();
  for (size_t i = 0; i < extras_.size(); ++i) {
    const Resolved& extra = extras_[i];
    const auto raw = Text(row, extra);
    if (!raw) continue;
    const std::string_view column =
        extra.source.column.empty() ? std::string_view(extra_defs_[i].name) : extra.source.column;
    const auto text = Recode(extra.source, *raw);
    if (!text) return NotListed(column, *raw, extra.source);
    auto value = ParseTypedValue(*text, *extra.source.type, extra.source.list_separator);
    if (!value) {
      return BadValue(column, *text, fmt::format("of type {}", TraitTypeName(*extra.source.type)));
    }
    out.emplace_back(extra_defs_[i].name, std::move(*value));
  }
  return Status::Ok();
}

Status RecordBuilder::BuildProfile(const Row& row, ProfileInput& out) const {
  const auto id = Text(row, fields_[id_].second);
  if (!id)
    return InvalidArgument("column '{}': the profile id is missing",
                           fields_[id_].second.source.column);
  out.external_id = fields_[id_].second.source.prefix;
  out.external_id.append(*id);
  return ReadExtras(row, out.traits);
}

Status RecordBuilder::BuildItem(const Row& row, ItemInput& out) const {
  out = ItemInput{};
  for (const auto& [target, field] : fields_) {
    const auto text = Text(row, field);
    if (!text) continue;
    if (target == "id") {
      out.id = field.source.prefix + std::string(*text);
    } else if (target == "name") {
      out.name = std::string(*text);
    } else if (target == "category") {
      out.category = field.source.prefix + std::string(*text);
    } else if (target == "price") {
      out.price = Decimal::ParseRounded(*text);
      if (!out.price) return BadValue(field.source.column, *text, "a decimal number");
    }
  }
  if (out.id.empty())
    return InvalidArgument("column '{}': the item id is missing",
                           fields_[id_].second.source.column);
  return ReadExtras(row, out.attributes);
}

// Empties `event` but keeps its strings' buffers: the importer reuses events batch after batch.
void ResetKeepingCapacity(EventInput& event) {
  for (std::string* field :
       {&event.id, &event.profile_id, &event.anonymous_id, &event.type, &event.item_id,
        &event.category, &event.order_id, &event.context.channel, &event.context.page_url,
        &event.context.referrer, &event.context.utm_source, &event.context.utm_medium,
        &event.context.utm_campaign, &event.context.user_agent, &event.context.ip,
        &event.context.country, &event.context.city}) {
    field->clear();
  }
  event.time = 0;
  event.price.reset();
  event.quantity.reset();
  event.value.reset();
  event.properties.clear();
}

Status RecordBuilder::BuildEvent(const Row& row, EventInput& out) const {
  ResetKeepingCapacity(out);
  for (const auto& [target, field] : fields_) {
    const auto text = Text(row, field);
    if (!text) continue;
    const std::string& column = field.source.column;
    const std::string& prefix = field.source.prefix;  // a structured binding is not capturable
    auto assign = [&](std::string& slot) {
      slot.assign(prefix);
      slot.append(*text);
    };
    // Dispatch on the first letters: this runs for every field of every event row.
    switch (target[0]) {
      case 'i':
        if (target == "id")
          assign(out.id);
        else if (target == "item_id")
          assign(out.item_id);
        else
          assign(out.context.ip);
        break;
      case 'p':
        if (target == "profile_id") {
          assign(out.profile_id);
        } else if (target == "price") {
          out.price = Decimal::ParseRounded(*text);
          if (!out.price) return BadValue(column, *text, "a number");
        } else {
          assign(out.context.page_url);
        }
        break;
      case 'a':
        assign(out.anonymous_id);
        break;
      case 't': {
        if (target == "type") {
          assign(out.type);
          break;
        }
        std::optional<Timestamp> time;
        switch (field.source.time_format) {
          case TimeFormat::kIso:
            time = ParseIsoTimestamp(*text);
            break;
          case TimeFormat::kEpochSeconds:
          case TimeFormat::kOffsetSeconds: {
            const auto seconds = ParseDouble(*text);
            if (seconds && std::fabs(*seconds) < 1e13) {
              time =
                  static_cast<Timestamp>(std::llround(*seconds * 1000)) +
                  (field.source.time_format == TimeFormat::kOffsetSeconds ? field.source.time_base
                                                                          : 0);
            }
            break;
          }
          case TimeFormat::kEpochMillis:
            time = ParseInt64(*text);
            break;
        }
        if (!time) return BadValue(column.empty() ? "time" : column, *text, "a valid time");
        out.time = *time;
        break;
      }
      case 'c':
        if (target == "category")
          assign(out.category);
        else if (target == "channel")
          assign(out.context.channel);
        else if (target == "country")
          assign(out.context.country);
        else
          assign(out.context.city);
        break;
      case 'o':
        assign(out.order_id);
        break;
      case 'q': {
        auto quantity = ParseTypedValue(*text, TraitType::kInt, ';');
        if (!quantity) return BadValue(column, *text, "an integer");
        out.quantity = std::get<int64_t>(quantity->value);
        break;
      }
      case 'v':
        out.value = Decimal::ParseRounded(*text);
        if (!out.value) return BadValue(column, *text, "a number");
        break;
      case 'r':
        assign(out.context.referrer);
        break;
      case 'u':
        if (target == "utm_source")
          assign(out.context.utm_source);
        else if (target == "utm_medium")
          assign(out.context.utm_medium);
        else if (target == "utm_campaign")
          assign(out.context.utm_campaign);
        else
          assign(out.context.user_agent);
        break;
      default:
        break;
    }
  }
  if (out.profile_id.empty() && out.anonymous_id.empty()) {
    return InvalidArgument("the event has neither a profile_id nor an anonymous_id");
  }
  if (out.type.empty()) return InvalidArgument("the event type is missing");
  if (time_ >= 0 && !Text(row, fields_[time_].second)) {
    return InvalidArgument("the event time is missing");
  }
  for (size_t i = 0; i < extras_.size(); ++i) {
    const auto raw = Text(row, extras_[i]);
    if (!raw) continue;
    const auto text = Recode(extras_[i].source, *raw);
    if (!text) {
      const std::string& column = extras_[i].source.column;
      return NotListed(column.empty() ? extra_defs_[i].name : column, *raw, extras_[i].source);
    }
    out.properties.emplace_back(extra_defs_[i].name, std::string(*text));
  }
  return Status::Ok();
}

}  // namespace tailor::ingest

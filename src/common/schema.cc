#include "tailor/schema.h"

#include <array>

#include "common/coding.h"
#include "common/time.h"
#include "common/value_coding.h"

namespace tailor {
namespace {

constexpr std::array<std::string_view, 6> kTypeNames = {"string", "int",       "double",
                                                        "bool",   "timestamp", "list"};
constexpr std::array<std::string_view, 7> kCategoryNames = {
    "demographic",   "geographic", "psychographic", "behavioural",
    "technographic", "preference", "other"};
constexpr uint8_t kMissingTag = 0xff;
constexpr uint8_t kSchemaFormat = 1;

}  // namespace

std::string_view TraitTypeName(TraitType type) { return kTypeNames[static_cast<size_t>(type)]; }
std::string_view TraitCategoryName(TraitCategory category) {
  return kCategoryNames[static_cast<size_t>(category)];
}
std::optional<TraitType> ParseTraitType(std::string_view name) {
  for (size_t i = 0; i < kTypeNames.size(); ++i) {
    if (kTypeNames[i] == name) return static_cast<TraitType>(i);
  }
  if (name == "integer" || name == "int64") return TraitType::kInt;
  if (name == "float" || name == "number") return TraitType::kDouble;
  if (name == "boolean") return TraitType::kBool;
  if (name == "string_list" || name == "list<string>") return TraitType::kStringList;
  return std::nullopt;
}
std::optional<TraitCategory> ParseTraitCategory(std::string_view name) {
  for (size_t i = 0; i < kCategoryNames.size(); ++i) {
    if (kCategoryNames[i] == name) return static_cast<TraitCategory>(i);
  }
  if (name == "behavioral") return TraitCategory::kBehavioural;
  return std::nullopt;
}

const TraitDef* Schema::Find(std::string_view name) const {
  // Looked up for every trait of every profile written: a hash lookup, not a scan.
  auto it = slot_by_name_.find(name);
  return it == slot_by_name_.end() ? nullptr : &traits_[it->second];
}

const TraitDef* Schema::FindSlot(uint32_t slot) const {
  return slot < traits_.size() ? &traits_[slot] : nullptr;
}

Result<const TraitDef*> Schema::Add(std::string_view name, TraitType type, TraitCategory category) {
  if (name.empty()) return InvalidArgument("a trait name must not be empty");
  if (const TraitDef* existing = Find(name)) {
    if (existing->type != type) {
      return Status(StatusCode::kAlreadyExists,
                    fmt::format("trait '{}' is declared as {}, not {}", name,
                                TraitTypeName(existing->type), TraitTypeName(type)));
    }
    return existing;
  }
  const auto slot = static_cast<uint32_t>(traits_.size());
  traits_.push_back(TraitDef{std::string(name), type, category, slot});
  slot_by_name_.emplace(traits_.back().name, slot);
  return &traits_.back();
}

Status Schema::SetCategory(std::string_view name, TraitCategory category) {
  const TraitDef* trait = Find(name);
  if (trait == nullptr) return NotFound("no trait named '{}'", name);
  traits_[trait->slot].category = category;
  return Status::Ok();
}

Status Schema::Check(std::string_view name, const TypedValue& value) const {
  const TraitDef* trait = Find(name);
  if (trait == nullptr) return NotFound("no trait named '{}'", name);
  if (IsMissing(value) || value.type == trait->type) return Status::Ok();
  return InvalidArgument("trait '{}' is {}, got a {} value '{}'", name, TraitTypeName(trait->type),
                         TraitTypeName(value.type), ValueToText(value));
}

std::string Schema::Encode() const {
  std::string out;
  out.push_back(static_cast<char>(kSchemaFormat));
  coding::PutVarint64(out, traits_.size());
  for (const TraitDef& trait : traits_) {
    coding::PutString(out, trait.name);
    out.push_back(static_cast<char>(trait.type));
    out.push_back(static_cast<char>(trait.category));
  }
  return out;
}

Result<Schema> Schema::Decode(std::string_view bytes) {
  coding::Reader reader(bytes);
  uint8_t format = 0;
  uint64_t count = 0;
  if (!reader.GetByte(format) || format != kSchemaFormat || !reader.GetVarint64(count)) {
    return Corruption("schema record has an unknown format");
  }
  Schema schema;
  for (uint64_t i = 0; i < count; ++i) {
    TraitDef trait;
    uint8_t type = 0, category = 0;
    if (!reader.GetString(trait.name) || !reader.GetByte(type) || !reader.GetByte(category) ||
        type >= kTypeNames.size() || category >= kCategoryNames.size()) {
      return Corruption("schema record is truncated at trait {}", i);
    }
    trait.type = static_cast<TraitType>(type);
    trait.category = static_cast<TraitCategory>(category);
    trait.slot = static_cast<uint32_t>(i);
    schema.slot_by_name_.emplace(trait.name, trait.slot);
    schema.traits_.push_back(std::move(trait));
  }
  return schema;
}

TraitCategory GuessTraitCategory(std::string_view name) {
  static constexpr std::string_view kGeographic[] = {
      "country",   "region", "city",     "lat",         "lon",   "latitude",
      "longitude", "zip",    "postcode", "postal_code", "state", "timezone"};
  static constexpr std::string_view kTechnographic[] = {
      "device", "device_os", "os", "browser", "device_type", "app_version", "platform"};
  static constexpr std::string_view kPsychographic[] = {
      "interests",   "price_sensitivity", "lifestyle", "values",
      "personality", "golf_level",        "hobbies"};
  static constexpr std::string_view kPreference[] = {
      "email_opt_in", "sms_opt_in", "push_opt_in", "preferred_channel", "language", "locale"};
  static constexpr std::string_view kBehavioural[] = {"loyalty_tier", "acquisition_source",
                                                      "signup_ts", "last_seen", "first_seen"};
  auto in = [name](const auto& names) {
    for (std::string_view candidate : names) {
      if (candidate == name) return true;
    }
    return false;
  };
  if (in(kGeographic)) return TraitCategory::kGeographic;
  if (in(kTechnographic)) return TraitCategory::kTechnographic;
  if (in(kPsychographic)) return TraitCategory::kPsychographic;
  if (in(kPreference)) return TraitCategory::kPreference;
  if (in(kBehavioural)) return TraitCategory::kBehavioural;
  return TraitCategory::kDemographic;
}

bool IsMissing(const TypedValue& value) {
  return std::holds_alternative<std::monostate>(value.value);
}

void EncodeTypedValue(std::string& out, const TypedValue& value) {
  if (IsMissing(value)) {
    out.push_back(static_cast<char>(kMissingTag));
    return;
  }
  out.push_back(static_cast<char>(value.type));
  switch (value.type) {
    case TraitType::kString:
      coding::PutString(out, std::get<std::string>(value.value));
      break;
    case TraitType::kInt:
    case TraitType::kTimestamp:
      coding::PutSignedVarint64(out, std::get<int64_t>(value.value));
      break;
    case TraitType::kDouble:
      coding::PutDouble(out, std::get<double>(value.value));
      break;
    case TraitType::kBool:
      out.push_back(std::get<bool>(value.value) ? 1 : 0);
      break;
    case TraitType::kStringList: {
      const auto& list = std::get<StringList>(value.value);
      coding::PutVarint64(out, list.size());
      for (const std::string& element : list) coding::PutString(out, element);
      break;
    }
  }
}

bool DecodeTypedValue(coding::Reader& reader, TypedValue& value) {
  uint8_t tag = 0;
  if (!reader.GetByte(tag)) return false;
  if (tag == kMissingTag) {
    value = TypedValue{};
    return true;
  }
  if (tag >= kTypeNames.size()) return false;
  value.type = static_cast<TraitType>(tag);
  switch (value.type) {
    case TraitType::kString: {
      std::string text;
      if (!reader.GetString(text)) return false;
      value.value = std::move(text);
      return true;
    }
    case TraitType::kInt:
    case TraitType::kTimestamp: {
      int64_t number = 0;
      if (!reader.GetSignedVarint64(number)) return false;
      value.value = number;
      return true;
    }
    case TraitType::kDouble: {
      double number = 0;
      if (!reader.GetDouble(number)) return false;
      value.value = number;
      return true;
    }
    case TraitType::kBool: {
      uint8_t flag = 0;
      if (!reader.GetByte(flag)) return false;
      value.value = flag != 0;
      return true;
    }
    case TraitType::kStringList: {
      uint64_t size = 0;
      if (!reader.GetVarint64(size) || size > reader.remaining().size()) return false;
      StringList list(size);
      for (std::string& element : list) {
        if (!reader.GetString(element)) return false;
      }
      value.value = std::move(list);
      return true;
    }
  }
  return false;
}

std::string ValueToText(const TypedValue& value) {
  if (IsMissing(value)) return "";
  switch (value.type) {
    case TraitType::kString:
      return std::get<std::string>(value.value);
    case TraitType::kInt:
      return std::to_string(std::get<int64_t>(value.value));
    case TraitType::kTimestamp:
      return FormatTimestamp(std::get<int64_t>(value.value));
    case TraitType::kDouble:
      return fmt::format("{}", std::get<double>(value.value));
    case TraitType::kBool:
      return std::get<bool>(value.value) ? "true" : "false";
    case TraitType::kStringList: {
      std::string joined;
      for (const std::string& element : std::get<StringList>(value.value)) {
        if (!joined.empty()) joined.push_back(';');
        joined += element;
      }
      return joined;
    }
  }
  return "";
}

}  // namespace tailor

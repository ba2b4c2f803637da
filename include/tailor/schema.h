#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tailor/status.h"
#include "tailor/types.h"

namespace tailor {

// One declared trait. `slot` is its stable number: stored profiles refer to traits by slot, so
// a trait keeps its slot for the life of the store.
struct TraitDef {
  std::string name;
  TraitType type = TraitType::kString;
  TraitCategory category = TraitCategory::kOther;
  uint32_t slot = 0;
};

// The profile schema: which traits exist, their types and categories. Inferred on first import,
// editable afterwards. Not thread-safe; the engine guards it.
class Schema {
 public:
  const std::vector<TraitDef>& traits() const { return traits_; }
  const TraitDef* Find(std::string_view name) const;
  const TraitDef* FindSlot(uint32_t slot) const;

  // Declares a new trait; kAlreadyExists if the name is taken with another type.
  Result<const TraitDef*> Add(std::string_view name, TraitType type, TraitCategory category);
  // Changes a trait's category (its type is fixed once data exists).
  Status SetCategory(std::string_view name, TraitCategory category);

  // Checks `value` against the declared type of trait `name`; the error names both.
  Status Check(std::string_view name, const TypedValue& value) const;

  std::string Encode() const;
  static Result<Schema> Decode(std::string_view bytes);

 private:
  // Transparent hashing: Find(string_view) looks up without building a std::string.
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view name) const { return std::hash<std::string_view>{}(name); }
  };
  std::vector<TraitDef> traits_;
  std::unordered_map<std::string, uint32_t, NameHash, std::equal_to<>> slot_by_name_;
};

// Category a trait most likely belongs to, from its name (country -> geographic, device_os ->
// technographic, ...). Used when the schema is inferred; users may change it.
TraitCategory GuessTraitCategory(std::string_view name);

}  // namespace tailor

#pragma once

// Evaluating a rule for one profile, row by row, with the reason: which conditions held, with the
// values seen. The plain definition of the rule language (segments.h evaluates the same rules
// over a whole snapshot; tests check that both agree).

#include <functional>
#include <span>
#include <string>
#include <vector>

#include "tailor/rule.h"
#include "tailor/segments.h"
#include "tailor/types.h"

namespace tailor::segments {

// One profile as the row evaluator reads it.
struct ProfileRow {
  ProfileId id = kNoProfile;
  const TraitMap* traits = nullptr;
  std::span<const EventInput> events;  // in time order
  const ItemCatalog* items = nullptr;
  Timestamp now = 0;
  // Whether the profile is in another segment (`in segment "x"`).
  std::function<bool(std::string_view)> in_segment;
  const signals::StoreIndex* stores = nullptr;  // the store list, for place.* signals
};

// A node of the rule with its outcome for the profile.
struct Explanation {
  bool matched = false;
  std::string condition;  // the rule text of this node
  std::string seen;       // the values that decided it, e.g. "age = 41", "count = 1"
  std::vector<Explanation> children;
};

Explanation Explain(const Rule& rule, const ProfileRow& row);
bool Matches(const Rule& rule, const ProfileRow& row);

// Indented text: one line per node, "yes"/"no", the condition and what was seen.
std::string ExplanationText(const Explanation& explanation);

}  // namespace tailor::segments

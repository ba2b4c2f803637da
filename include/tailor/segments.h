#pragma once

// Segment evaluation: a checked rule (rule.h) against a columnar snapshot (snapshot.h), giving
// the set of profiles that match, as a roaring bitmap over dense profile ids.

#include <functional>
#include <roaring/roaring.hh>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tailor/rule.h"
#include "tailor/snapshot.h"
#include "tailor/types.h"

namespace tailor::signals {
class StoreIndex;
}  // namespace tailor::signals

namespace tailor::segments {

// Dense profile ids of a snapshot.
using ProfileSet = Roaring;  // CRoaring 0.2 puts its C++ class in the global namespace

// The catalogue, for `item.<attribute>` fields: each item by id.
using ItemCatalog = std::unordered_map<std::string, ItemInput>;

// Conditions that several rules contain, evaluated once per snapshot and reused: what lets a
// whole catalogue share work (SegmentCatalog::EvaluateAll). Count every rule first, then
// evaluate them all with the same object in EvalContext::shared, on one snapshot and one `now`.
struct SharedConditions {
  // Leaf condition text (canonical) -> how many rules contain it; 2+ are evaluated once.
  std::unordered_map<std::string, int> uses;
  // Leaf condition text -> its matches over every known profile (64 profiles per word).
  std::unordered_map<std::string, std::vector<uint64_t>> results;
  uint64_t reused = 0;  // evaluations answered from `results`

  void Count(const Rule& rule);
};

struct EvalContext {
  const snapshot::Snapshot* snapshot = nullptr;
  Timestamp now = 0;                   // "last 30 days" ends here
  const ItemCatalog* items = nullptr;  // needed only by rules with item.* fields
  // The members of another segment (`in segment "x"`), evaluated on the same snapshot; nullptr
  // when unknown. Callers evaluate referenced segments first (SegmentReferences).
  std::function<const ProfileSet*(std::string_view)> segment;
  // Optional: share conditions between the rules evaluated with this context.
  SharedConditions* shared = nullptr;
  // The store list (place.h), for rules with place.* signals; nullptr: no stores.
  const signals::StoreIndex* stores = nullptr;
};

// The known (identified, live) profiles of `context.snapshot` that match `rule`. The rule must
// have passed CheckRule. Errors: kFailedPrecondition when the snapshot lacks an event field the
// rule reads (rebuild it with RequiredEventFields), or the catalogue is needed but missing;
// kNotFound for an unknown referenced segment. Runs on all cores.
Result<ProfileSet> Evaluate(const Rule& rule, const EvalContext& context);

// The extra event fields (snapshot::SnapshotOptions::event_fields) that evaluating `rule` reads.
std::vector<std::string> RequiredEventFields(const Rule& rule);

}  // namespace tailor::segments

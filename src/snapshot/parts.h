#pragma once

// Snapshot internals shared by the one-off build (snapshot.cc) and the live snapshot
// (live_snapshot.cc): a snapshot is built in parts, one per range of profile ids, then the parts
// are concatenated in id order.

#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "tailor/schema.h"
#include "tailor/snapshot.h"
#include "tailor/store.h"

namespace tailor::snapshot {

// What one worker builds for its range of profile ids, with dictionaries of its own; the
// ranges are then concatenated in id order and the codes remapped to shared dictionaries.
struct Part {
  ProfileId begin = 0, end = 0;
  size_t expected_events = 0;
  std::vector<bool> known, anonymous;
  std::string id_bytes;
  std::vector<uint64_t> id_offsets;  // end - begin + 1
  std::vector<TraitColumn> traits;
  EventColumns events;
  std::vector<std::pair<std::string, EventStringColumn*>> extra_columns;
  std::vector<int> extra_context_index;  // context field index, kOrderId or kProperty
  Status status;
};

// The fields asked for, each once (`fields`), and where each comes from (`extra_index`).
Status ResolveFields(const std::vector<std::string>& asked, std::vector<std::string>& fields,
                     std::vector<int>& extra_index);

// Makes `part` the ids [begin, end) read at `at` (its status says whether that worked).
void BuildPart(const store::Store& store, const Schema& schema, const store::ReadPoint& at,
               const std::vector<std::string>& fields, const std::vector<int>& extra_index,
               ProfileId begin, ProfileId end, size_t expected_events, Part& part);

// Makes `out` the ids [old.begin, end) (end >= old.end) read at `at`: the rows of `changed`
// (sorted, unique, within [old.begin, old.end)) and of the ids from old.end on are read again,
// the others copied from `old`. The new rows' strings are added to `old`'s dictionaries (codes
// in use keep their meaning), which `out` then takes over; on an error (out.status) `old` is
// still whole. `old` has the same schema and fields.
void SplicePart(const store::Store& store, const Schema& schema, const store::ReadPoint& at,
                const std::vector<std::string>& fields, const std::vector<int>& extra_index,
                Part& old, std::span<const ProfileId> changed, ProfileId end, Part& out);

// `column` the empty column of `def` for `count` profiles (no value present).
void InitTraitColumn(const TraitDef& def, size_t count, TraitColumn& column);

// Whether `after` is `before` with traits added (the others unchanged, in the same slots).
bool OnlyAddsTraits(const Schema& before, const Schema& after);
// Gives `part` (if built) an empty column for each trait of `schema` it has none for yet.
void AddEmptyTraitColumns(const Schema& schema, Part& part);

// Entries in all of a part's dictionaries: splices only add to them, so a part whose
// dictionaries hold many more entries than it has events and profiles is read again whole.
size_t DictionaryEntries(const Part& part);

struct Assembler {
  // The parts in id order as one snapshot of [0, profile_count). `release_parts`: each part's
  // columns are freed once copied (a one-off build); else the parts are kept as they were.
  static std::unique_ptr<Snapshot> Concatenate(std::vector<Part>& parts, const Schema& schema,
                                               uint32_t profile_count,
                                               const std::vector<std::string>& fields,
                                               bool release_parts);
};

}  // namespace tailor::snapshot

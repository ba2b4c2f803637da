#pragma once

// The whole population as segments read it: a columnar snapshot holding exactly the event fields
// the rules read, and the item catalogue, prepared once per evaluation. Every whole-population
// evaluation off a live service (the CLI, the benchmarks) loads it here, so they all read the
// same thing. A live service keeps one current instead (Service::Population, the live snapshot).

#include <memory>
#include <vector>

#include "tailor/engine.h"
#include "tailor/place.h"
#include "tailor/rule.h"
#include "tailor/segments.h"
#include "tailor/snapshot.h"

namespace tailor {

struct Population {
  std::unique_ptr<snapshot::Snapshot> snapshot;
  segments::ItemCatalog items;
  std::shared_ptr<const signals::StoreIndex> stores;  // the catalogue's stores (place.h)

  // An evaluation context over this population at `now` (add `segment` and `shared` as needed).
  segments::EvalContext Context(Timestamp now) const {
    segments::EvalContext context{snapshot.get(), now, &items, {}, nullptr};
    context.stores = stores.get();
    return context;
  }
};

struct PopulationOptions {
  int threads = 0;  // snapshot build threads; 0 = one per core
  // False: leave `items` empty (a caller that keeps its own catalogue points its context there).
  bool load_items = true;
};

// Every item of the catalogue, by id.
Result<segments::ItemCatalog> LoadItemCatalog(Engine& engine);
// The catalogue's stores (place.h: items of category `store` with a latitude and longitude).
std::shared_ptr<const signals::StoreIndex> StoreIndexOf(const segments::ItemCatalog& items);

// The population for evaluating `rules` (each parsed; null entries are skipped).
Result<std::unique_ptr<Population>> LoadPopulation(Engine& engine,
                                                   const std::vector<const segments::Rule*>& rules,
                                                   const PopulationOptions& options = {});

}  // namespace tailor

#include "tailor/population.h"

#include <algorithm>

namespace tailor {

Result<segments::ItemCatalog> LoadItemCatalog(Engine& engine) {
  TAILOR_ASSIGN_OR_RETURN(std::vector<ItemInput> items, engine.ListItems());
  segments::ItemCatalog catalog;
  catalog.reserve(items.size());
  for (ItemInput& item : items) {
    std::string id = item.id;
    catalog.emplace(std::move(id), std::move(item));
  }
  return catalog;
}

std::shared_ptr<const signals::StoreIndex> StoreIndexOf(const segments::ItemCatalog& items) {
  std::vector<const ItemInput*> stores;
  for (const auto& [id, item] : items) {
    if (item.category == "store") stores.push_back(&item);
  }
  return signals::StoreIndex::FromItems(stores);
}

Result<std::unique_ptr<Population>> LoadPopulation(Engine& engine,
                                                   const std::vector<const segments::Rule*>& rules,
                                                   const PopulationOptions& options) {
  snapshot::SnapshotOptions snapshot_options;
  snapshot_options.threads = options.threads;
  // Exactly what the rules read: each extra event column costs 4 bytes per event.
  std::vector<std::string>& fields = snapshot_options.event_fields;
  fields.clear();
  for (const segments::Rule* rule : rules) {
    if (rule == nullptr) continue;
    for (std::string& field : segments::RequiredEventFields(*rule)) {
      if (std::find(fields.begin(), fields.end(), field) == fields.end()) {
        fields.push_back(std::move(field));
      }
    }
  }
  auto population = std::make_unique<Population>();
  TAILOR_ASSIGN_OR_RETURN(population->snapshot, engine.BuildSnapshot(snapshot_options));
  if (options.load_items) {
    TAILOR_ASSIGN_OR_RETURN(population->items, LoadItemCatalog(engine));
    population->stores = StoreIndexOf(population->items);
  }
  return population;
}

}  // namespace tailor

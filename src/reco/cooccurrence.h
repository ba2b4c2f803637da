#pragma once

// Item-to-item co-occurrence: what item kNN (reco.h) and the serving model's also_bought share.

#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

namespace tailor::reco {

// Per user, the distinct items they touched with a weight (1 for plain co-occurrence).
using WeightedItems = std::vector<std::pair<uint32_t, double>>;
using Neighbours = std::vector<std::vector<std::pair<uint32_t, double>>>;

// S[i, j] = sum_u w_ui w_uj / (sqrt(sum_u w_ui^2) sqrt(sum_u w_uj^2) + shrink), S[i, i] = 0; each
// row keeps its k largest, ties by `rank` (an order of the items) ascending, in no given order.
// Stops early (rows left empty) once `stop`, when given, returns true; it is asked every few
// thousand items.
Neighbours CoOccurrence(const std::vector<WeightedItems>& users, size_t items, size_t k,
                        double shrink, const std::vector<uint32_t>& rank,
                        const std::function<bool()>& stop = {});

}  // namespace tailor::reco

#pragma once

// Lookalikes (acquisition: "target new customers who resemble your best ones"): a seed-vs-rest
// propensity model (logistic.h) on the profiles' features scores every profile outside the seed;
// the best scored are the lookalikes. Reports the model's drivers and how the seed's
// distinguishing features carry over to the lookalikes (standardized mean differences against
// the rest, for the seed and for the top).

#include <cstdint>
#include <string>
#include <vector>

#include "tailor/json_writer.h"
#include "tailor/kmeans.h"
#include "tailor/logistic.h"
#include "tailor/status.h"

namespace tailor::analytics {

struct LookalikeOptions {
  LogisticOptions model;
  size_t top = 1000;  // lookalikes reported (and compared with the seed)
};

struct FeatureCarryOver {
  std::string feature;
  double weight = 0;         // the model's, on the standardized feature
  double seed_smd = 0;       // seed vs everyone outside it
  double lookalike_smd = 0;  // the top lookalikes vs everyone outside the seed
};

struct Lookalikes {
  LogisticModel model;
  std::vector<double> scores;              // per row (seed rows too)
  std::vector<size_t> ranked;              // rows outside the seed, best score first, at most `top`
  double auroc = 0;                        // of the scores for seed membership (in sample)
  std::vector<FeatureCarryOver> features;  // by |weight|
};

// `in_seed` per row of `features`. kInvalidArgument: an empty seed, no one outside it.
Result<Lookalikes> FindLookalikes(const FeatureMatrix& features,
                                  const std::vector<uint8_t>& in_seed,
                                  const LookalikeOptions& options);

// The lookalikes' fields into a JSON object the caller opened (profiles, seed, auroc, threshold,
// features with weight and SMDs, lookalikes with id and score; `ids` per row): one spelling for
// `tailor lookalike --json` and the HTTP API.
void WriteLookalikeFields(JsonWriter& json, const Lookalikes& found,
                          const std::vector<uint8_t>& in_seed, const std::vector<std::string>& ids);

}  // namespace tailor::analytics

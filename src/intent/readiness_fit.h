#pragma once

// Fitting the purchase-readiness model, shared by training on a store's sessions
// (intent_model.cc) and cross-validation on recorded ones (recorded_sessions.cc).

#include <cstdint>
#include <vector>

#include "tailor/intent_model.h"
#include "tailor/kmeans.h"  // FeatureMatrix

namespace tailor::intent {

// Fits `family` on the rows (FeatureRowNames) and their labels (1: a purchase) into `model`,
// replacing its readiness model.
Status FitReadiness(const analytics::FeatureMatrix& matrix, const std::vector<uint8_t>& labels,
                    ReadinessFamily family, IntentModel& model);

}  // namespace tailor::intent

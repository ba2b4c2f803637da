// Sessions recorded elsewhere, read from a snapshot's traits, and the readiness model
// cross-validated on them (tailor/intent_model.h).

#include <algorithm>
#include <chrono>

#include "intent/readiness_fit.h"
#include "tailor/intent_model.h"
#include "tailor/propensity.h"  // AveragePrecision

namespace tailor::intent {
namespace {

// A numeric column's value for profile `id` (bool as 0 / 1); nullopt when absent.
std::optional<double> NumberOf(const snapshot::TraitColumn& column, ProfileId id) {
  if (!column.present.Test(id)) return std::nullopt;
  if (column.type == TraitType::kDouble) return column.doubles[id];
  return static_cast<double>(column.ints[id]);
}

Result<const snapshot::TraitColumn*> NumericColumn(const snapshot::Snapshot& snapshot,
                                                   std::string_view name, bool required) {
  const snapshot::TraitColumn* column = snapshot.trait(name);
  if (column == nullptr) {
    if (required) return NotFound("no trait '{}'", name);
    return nullptr;
  }
  if (column->type != TraitType::kInt && column->type != TraitType::kDouble &&
      column->type != TraitType::kBool) {
    return InvalidArgument("trait '{}' is {}, not a number", name, TraitTypeName(column->type));
  }
  return column;
}

}  // namespace

Result<std::vector<RecordedSession>> RecordedSessions(const snapshot::Snapshot& snapshot,
                                                      std::string_view label_trait,
                                                      std::string_view fold_trait) {
  TAILOR_ASSIGN_OR_RETURN(const snapshot::TraitColumn* label,
                          NumericColumn(snapshot, label_trait, /*required=*/true));
  const snapshot::TraitColumn* fold = nullptr;
  if (!fold_trait.empty()) {
    TAILOR_ASSIGN_OR_RETURN(fold, NumericColumn(snapshot, fold_trait, /*required=*/true));
  }
  std::vector<std::pair<std::string_view, const snapshot::TraitColumn*>> features;
  for (std::string_view name : signals::FeatureNames()) {
    if (name == "purchases") continue;  // what the label says
    TAILOR_ASSIGN_OR_RETURN(const snapshot::TraitColumn* column,
                            NumericColumn(snapshot, name, /*required=*/false));
    if (column != nullptr) features.emplace_back(name, column);
  }
  if (features.empty()) {
    return NotFound(
        "no trait is named as a session feature (administrative_pages, "
        "product_seconds, month, returning, ...)");
  }
  const snapshot::TraitColumn* figures[3] = {};
  const char* figure_names[3] = {"bounce_rate", "exit_rate", "page_value"};
  for (size_t i = 0; i < 3; ++i) {
    TAILOR_ASSIGN_OR_RETURN(figures[i],
                            NumericColumn(snapshot, figure_names[i], /*required=*/false));
  }
  std::vector<RecordedSession> out;
  for (ProfileId id = 0; id < snapshot.profile_count(); ++id) {
    if (!snapshot.known().Test(id)) continue;
    const std::optional<double> outcome = NumberOf(*label, id);
    if (!outcome) continue;
    RecordedSession session;
    session.purchased = *outcome != 0;
    session.fold_key = id;
    if (fold != nullptr) {
      const std::optional<double> key = NumberOf(*fold, id);
      if (!key) continue;
      session.fold_key = static_cast<int64_t>(*key);
    }
    for (const auto& [name, column] : features) {
      if (const std::optional<double> v = NumberOf(*column, id)) {
        signals::SetFeature(session.features, name, *v);
      }
    }
    double* targets[3] = {&session.figures.bounce_rate, &session.figures.exit_rate,
                          &session.figures.value};
    for (size_t i = 0; i < 3; ++i) {
      if (figures[i] == nullptr) continue;
      if (const std::optional<double> v = NumberOf(*figures[i], id)) *targets[i] = *v;
    }
    out.push_back(std::move(session));
  }
  return out;
}

Result<ReadinessValidation> CrossValidateReadiness(const std::vector<RecordedSession>& sessions,
                                                   ReadinessFamily family, size_t folds) {
  if (folds < 2) return InvalidArgument("cross-validation needs two folds or more");
  ReadinessValidation report;
  report.family = family;
  report.sessions = sessions.size();
  const IntentModel rows_of;  // Row() with recorded figures reads nothing of the model
  analytics::FeatureMatrix all;
  all.names = FeatureRowNames();
  all.columns = all.names.size();
  std::vector<uint8_t> labels;
  std::vector<size_t> fold_of;
  for (const RecordedSession& s : sessions) {
    const std::vector<double> row = rows_of.Row(s.features, &s.figures);
    all.values.insert(all.values.end(), row.begin(), row.end());
    ++all.rows;
    labels.push_back(s.purchased ? 1 : 0);
    report.purchases += s.purchased;
    const int64_t key = s.fold_key;
    fold_of.push_back(static_cast<size_t>(((key % int64_t(folds)) + int64_t(folds)) % folds));
  }
  std::chrono::steady_clock::duration scoring{};
  uint64_t scored = 0;
  for (size_t f = 0; f < folds; ++f) {
    analytics::FeatureMatrix train;
    train.names = all.names;
    train.columns = all.columns;
    std::vector<uint8_t> train_labels, test_labels;
    std::vector<size_t> test;
    for (size_t i = 0; i < all.rows; ++i) {
      if (fold_of[i] == f) {
        test.push_back(i);
        test_labels.push_back(labels[i]);
        continue;
      }
      train.values.insert(train.values.end(), all.row(i), all.row(i) + all.columns);
      ++train.rows;
      train_labels.push_back(labels[i]);
    }
    const auto both = [](const std::vector<uint8_t>& l) {
      return std::count(l.begin(), l.end(), 1) > 0 && std::count(l.begin(), l.end(), 0) > 0;
    };
    if (!both(train_labels) || !both(test_labels)) {
      return InvalidArgument(
          "fold {} of {}: sessions with and without a purchase are needed on "
          "both sides",
          f + 1, folds);
    }
    IntentModel model;
    TAILOR_RETURN_IF_ERROR(FitReadiness(train, train_labels, family, model));
    std::vector<double> scores;
    const auto start = std::chrono::steady_clock::now();
    for (size_t i : test) {
      scores.push_back(
          *model.PurchaseReadiness(std::vector<double>(all.row(i), all.row(i) + all.columns)));
    }
    scoring += std::chrono::steady_clock::now() - start;
    scored += test.size();
    report.auroc.push_back(analytics::Auroc(scores, test_labels));
    report.average_precision.push_back(analytics::AveragePrecision(scores, test_labels));
  }
  report.score_microseconds =
      std::chrono::duration<double, std::micro>(scoring).count() / std::max<uint64_t>(scored, 1);
  for (size_t f = 0; f < folds; ++f) {
    report.mean_auroc += report.auroc[f] / folds;
    report.mean_average_precision += report.average_precision[f] / folds;
  }
  return report;
}

}  // namespace tailor::intent

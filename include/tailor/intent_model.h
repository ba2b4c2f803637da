#pragma once

// The learned alternative to the intent rules, trained from a store's labelled sessions:
//  - intent: a survey answer to a question filling `answer_trait` (by default `session_intent`,
//    choices inspiration / best_offer / concerns) labels the session it was given in, summarized
//    from its events before the answer: a one-vs-rest L2 logistic regression per intent over the
//    session features (tailor/session.h) and the referrer class, probabilities normalized;
//  - purchase readiness: a session that ends in a purchase is a positive, summarized from its
//    events before the first purchase; a session without one a negative (gradient-boosted trees
//    by XGBoost, served as plain trees, or an L2 logistic regression: the probability that the
//    session under way ends in a purchase).
// Both read the session features and, as the UCI shopper sessions record them, its pages'
// site-wide figures: the means, over the pages it viewed, of each page's bounce rate (sessions
// entering on it that viewed nothing else), exit rate (its views that were a session's last) and
// page value (the revenue of sessions that viewed it before their purchase, per session viewing
// it), computed from the training sessions.
// Profiles are split by a hash of their id: a fifth held out for the report (accuracy, per-class
// precision and recall, confusion matrix; the readiness model's AUROC). The model is plain data,
// stored as JSON, and served beside the rules (Service::Intent).

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tailor/boosted_trees.h"
#include "tailor/intent.h"
#include "tailor/json_writer.h"
#include "tailor/logistic.h"
#include "tailor/snapshot.h"
#include "tailor/status.h"
#include "tailor/types.h"

namespace tailor::intent {

struct LabelledSession {
  SessionFeatures features;
  std::string label;      // an intent, or "purchase" / "no_purchase"
  bool held_out = false;  // the profile is in the held-out fifth
};

// One whole session's pages (SessionFeatures::pages), for the site-wide page figures.
struct SessionPages {
  std::vector<std::string> pages;
  size_t before_purchase = 0;  // pages viewed before the first purchase (all, without one)
  double revenue = 0;          // the value of its purchases
  bool held_out = false;
};

struct PageFigures {
  double bounce_rate = 0, exit_rate = 0, value = 0;
};

// The purchase-readiness model's family. Trees learn the thresholds and interactions of the page
// figures (a page value above zero) that a linear model cannot; the logistic regression needs
// fewer sessions.
enum class ReadinessFamily { kBoostedTrees, kLogistic };
std::string_view ReadinessFamilyName(ReadinessFamily family);  // "boosted_trees", "logistic"
std::optional<ReadinessFamily> ParseReadinessFamily(std::string_view name);

struct LabelOptions {
  std::string answer_trait = "session_intent";
  Timestamp session_gap_ms = 30 * 60 * 1000;
  ReadinessFamily readiness = ReadinessFamily::kBoostedTrees;
};

// The labelled sessions of one profile's history (time order), appended to the two lists.
void CollectLabelledSessions(std::span<const EventInput> events, const LabelOptions& options,
                             bool held_out, std::vector<LabelledSession>& intent_labelled,
                             std::vector<LabelledSession>& outcome_labelled,
                             std::vector<SessionPages>* pages = nullptr);
// Whether a profile is in the held-out fifth (a hash of its external id).
bool HeldOut(std::string_view external_id);

// The model inputs' names: the session's numbers (but purchases), the referrer class one-hot,
// then bounce_rate, exit_rate, page_value.
const std::vector<std::string>& FeatureRowNames();

struct IntentModel {
  std::vector<std::string> classes;                        // the intents seen in the labels
  std::vector<analytics::LogisticModel> per_class;         // one-vs-rest, same order
  std::optional<analytics::LogisticModel> readiness;       // kLogistic
  std::optional<analytics::TreeEnsemble> readiness_trees;  // kBoostedTrees
  std::string answer_trait;
  Timestamp trained_at = 0;
  // Site-wide figures of the most viewed pages, and of the site (for the other pages).
  std::map<std::string, PageFigures, std::less<>> pages;
  PageFigures site;

  // A session's inputs (FeatureRowNames). The page figures are the means over its pages of
  // `pages` (else `site`), or `recorded` when the session came with its own.
  std::vector<double> Row(const SessionFeatures& session,
                          const PageFigures* recorded = nullptr) const;
  bool has_readiness() const { return readiness || readiness_trees; }

  // Each class's probability (summing to 1), highest first; empty without classes.
  std::vector<std::pair<std::string, double>> Predict(const SessionFeatures& session) const;
  // The probability that the session ends in a purchase; nullopt without that model.
  std::optional<double> PurchaseReadiness(const SessionFeatures& session) const;
  std::optional<double> PurchaseReadiness(const std::vector<double>& row) const;
};

std::string IntentModelJson(const IntentModel& model);
Result<IntentModel> ParseIntentModel(std::string_view json);

struct ClassScores {
  std::string name;
  double precision = 0, recall = 0;
  uint64_t support = 0;  // held-out sessions of the class
};
struct TrainReport {
  uint64_t intent_sessions = 0, outcome_sessions = 0;  // labelled, training and held out
  uint64_t intent_held_out = 0, outcome_held_out = 0;
  double accuracy = 0;  // of the intent model on the held-out sessions
  std::vector<ClassScores> classes;
  std::vector<std::vector<uint64_t>> confusion;  // [truth][predicted], in `classes` order
  std::optional<double> readiness_auroc;         // on the held-out outcome sessions
  double positive_share = 0;                     // of outcome sessions ending in a purchase
};
void WriteTrainReport(JsonWriter& json, const TrainReport& report);

// kFailedPrecondition when neither model has two classes to learn from.
// `pages`: the training sessions' pages (CollectLabelledSessions), for the page figures.
Result<IntentModel> TrainIntentModel(const std::vector<LabelledSession>& intent_labelled,
                                     const std::vector<LabelledSession>& outcome_labelled,
                                     const std::vector<SessionPages>& pages,
                                     const LabelOptions& options, TrainReport& report);

// Sessions recorded elsewhere, one profile per session (the UCI shopper sessions imported with
// mappings/online_shoppers_session_features.json): each numeric trait named as a session feature
// (session.h FeatureNames: administrative_pages, product_seconds, month, returning, ...) fills
// it, bounce_rate, exit_rate and page_value are the session's page figures as the site computed
// them, the label trait (bool or number, non-zero: a purchase) says how it ended.
struct RecordedSession {
  SessionFeatures features;
  PageFigures figures;
  bool purchased = false;
  int64_t fold_key = 0;  // the fold trait's value (the file's line), else the profile's dense id
};
// Every known profile of `snapshot` with the label trait. kNotFound: no such label or fold trait,
// or no trait named as a feature; kInvalidArgument: one of them is not a number.
Result<std::vector<RecordedSession>> RecordedSessions(const snapshot::Snapshot& snapshot,
                                                      std::string_view label_trait,
                                                      std::string_view fold_trait);

// The readiness model fitted on all folds but one and scored on it, for each fold (session i
// of the fold key k is in fold k mod `folds`, the protocol of ../shared/bench/INTENT.md).
struct ReadinessValidation {
  ReadinessFamily family = ReadinessFamily::kBoostedTrees;
  uint64_t sessions = 0, purchases = 0;
  std::vector<double> auroc, average_precision;  // per fold
  double mean_auroc = 0, mean_average_precision = 0;
  double score_microseconds = 0;  // the mean time to score one session (its row built)
};
// kInvalidArgument when a fold, or the rest, lacks sessions with or without a purchase.
Result<ReadinessValidation> CrossValidateReadiness(const std::vector<RecordedSession>& sessions,
                                                   ReadinessFamily family, size_t folds = 5);

}  // namespace tailor::intent

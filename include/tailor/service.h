#pragma once

// The service: the engine with the segment catalogue kept live. Every write goes through here,
// stores its data, re-decides segment membership for the profiles it changed (only the segments
// that read what changed) and feeds who entered or left; window edges ("purchased in the last
// 30 days") are timers that re-decide a profile when time passes, with no full scan. What
// `tailor serve` and other long-running front ends hold.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tailor/clv.h"
#include "tailor/collect.h"
#include "tailor/engine.h"
#include "tailor/explain.h"
#include "tailor/intent.h"
#include "tailor/intent_model.h"
#include "tailor/kmeans.h"
#include "tailor/live_segments.h"
#include "tailor/profile_observer.h"
#include "tailor/recommender.h"
#include "tailor/rfm.h"
#include "tailor/segment_catalog.h"
#include "tailor/segment_profile.h"
#include "tailor/signals.h"
#include "tailor/snapshot.h"
#include "tailor/surveys.h"
#include "tailor/working_set.h"

namespace tailor {

struct ServiceOptions {
  EngineOptions engine;
  // The time windows are measured against; default the system clock. Tests and demos pin it.
  // The engine's and the catalogue's clock too, unless EngineOptions sets its own.
  Clock clock;
  collect::Limits limits;
  // Event types a collected message may have; empty = any.
  std::vector<std::string> allowed_event_types;
  // A session ends after this much inactivity (the `sessions` trait counts them).
  Timestamp session_gap_ms = 30 * 60 * 1000;
  // Evaluate every segment at open. A crash between storing a write and feeding its membership
  // changes loses those feed entries; this full evaluation finds and feeds them.
  bool evaluate_on_open = true;
  // A MaxMind-format database (GeoIP2/GeoLite2 City or Country .mmdb): collected messages are
  // located by IP (geo_* traits, the event's country/city). Empty: no IP lookup.
  std::string geoip_database;
  // Memory for the data: the profiles kept in memory (the working set) and the store's block
  // cache and memtables together, and the cache of ids. The store gets a quarter of it (at
  // least 64 MiB, at most 1 GiB), the id cache an eighth, the working set the rest; a budget
  // under 256 MiB is the working set's alone. 0: a
  // quarter of the machine's memory. The live snapshot, built while someone asks
  // whole-population questions, comes on top.
  size_t memory_budget = 0;
  // How recommendations read the catalogue and train (tailor/recommender.h).
  reco::ModelOptions recommender;
};

// Where a collect request came from, as the transport saw it.
struct CollectSource {
  // The client's address, used to locate messages without a context.ip. Only for browser
  // requests (public keys): a server-side SDK's request comes from the customer's server.
  std::string client_ip;
};

// What a collect call did, message by message.
struct CollectReport {
  size_t received = 0;    // messages in the request
  size_t accepted = 0;    // stored now
  size_t duplicates = 0;  // already stored before (same messageId): nothing written
  std::vector<collect::MessageError> errors;
  size_t membership_changes = 0;
};

// Why a profile is or is not in a segment: the rule, and the exclusions (anti-segment).
struct SegmentExplanation {
  std::string profile;  // the profile's own id (an alias resolves to it)
  // Matched by the rule and not excluded, and known: segments hold identified profiles, so an
  // anonymous visitor the rule matches is not a member (yet).
  bool member = false;
  bool anonymous = false;
  segments::Explanation rule;
  std::optional<segments::Explanation> exclude;  // when the segment has exclusions
};

class Service {
 public:
  static Result<std::unique_ptr<Service>> Open(const std::string& data_dir, ServiceOptions options);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  Engine& engine() { return *engine_; }
  // Profiles resident in memory, kept exact by every write: what live reads should ask.
  working_set::WorkingSet& working_set();
  // What the live snapshot's refreshes did so far.
  snapshot::LiveSnapshot::Stats snapshot_stats() const;
  Timestamp now() const { return clock_(); }

  // --- Writes: each is stored (durable per the engine's sync policy), then membership follows.
  // A request of the Segment HTTP Tracking API (collect.h): identify traits, enrichment
  // (technographics, touch points, sessions), identity links and events, in message order.
  // Messages are located by IP (context.ip, else `source.client_ip`) when a GeoIP database is set.
  Result<CollectReport> Collect(std::string_view body, std::optional<collect::MessageKind> kind,
                                const CollectSource& source = {});
  Status IngestEvents(std::span<const EventInput> events, BatchReport& report);
  Status UpsertProfiles(std::span<const ProfileInput> profiles, BatchReport& report);
  // Traits and events in one go: both stored, then each touched profile re-decided once.
  // Concurrent calls are coalesced into one engine write (one commit, one sync); each returns
  // when its own data is durable.
  Status Write(std::span<const ProfileInput> profiles, std::span<const EventInput> events,
               BatchReport& profile_report, BatchReport& event_report);
  // Engine::Identify, then the profile re-decided.
  Status Identify(std::string_view anonymous_id, std::string_view profile_id,
                  bool* merged = nullptr);
  Status MergeProfiles(std::string_view into, std::string_view from);
  Status DeleteProfile(std::string_view external_id);
  // Adds an observer of the profiles writes touch (profile_observer.h), after those added
  // before; live segment membership is the first.
  void AddObserver(std::unique_ptr<ProfileObserver> observer);
  // Catalogue items; segments reading item attributes see them at once.
  Status UpsertItems(std::span<const ItemInput> items, BatchReport& report);

  // --- Segments and schemes. A new or changed segment is evaluated at once (a full evaluation).
  Status PutSegment(segments::SegmentDefinition definition);
  Status DeleteSegment(std::string_view name);
  Status PutScheme(segments::SchemeDefinition scheme);
  // Read-only access for queries (definitions, history, feed); safe from any thread.
  const segments::SegmentCatalog& catalog() const { return *catalog_; }

  // Evaluates every segment on a fresh snapshot at now(), feeds the differences and restarts
  // the window timers from it.
  Result<std::vector<std::pair<std::string, segments::SegmentResult>>> EvaluateAll();
  // Re-decides every profile whose next window edge is at or before now(); returns how many
  // membership changes that fed.
  Result<size_t> AdvanceTime();
  // Profiles with a pending window-edge timer, and the earliest one.
  size_t timer_count() const;
  std::optional<Timestamp> next_timer() const;

  // --- Whole-population questions (previews, overlaps): the live snapshot, kept current from
  // the write path (snapshot::LiveSnapshot). Refreshed first when something changed and it is
  // older than `max_age`, so it holds every write acknowledged more than `max_age` before the
  // call; with at least the event fields `rules` read. Writes go on while it refreshes.
  struct LivePopulation {
    std::shared_ptr<const snapshot::Snapshot> snapshot;
    std::shared_ptr<const segments::ItemCatalog> items;  // the catalogue when it was asked
    std::shared_ptr<const signals::StoreIndex> stores;   // its stores
    int64_t refreshed_at_ms = 0;                         // wall clock of its read point
    size_t parts_rebuilt = 0;  // by the refresh this call made (0: none was needed)
    segments::EvalContext Context(Timestamp now) const {
      segments::EvalContext context{snapshot.get(), now, items.get(), {}, nullptr};
      context.stores = stores.get();
      return context;
    }
  };
  Result<LivePopulation> Population(const std::vector<const segments::Rule*>& rules,
                                    std::chrono::milliseconds max_age = std::chrono::seconds(0));
  // The size of an unsaved definition over every profile as of this call (every write
  // acknowledged before it is in it): evaluated on the live snapshot's latest version, then the
  // profiles changed since it re-decided one by one from the working set with the row evaluator.
  // The snapshot is refreshed first only when too many changed (100,000) or it lacks an event
  // field the rules read.
  struct Preview {
    segments::SegmentResult result;
    int64_t snapshot_at_ms = 0;     // read point of the version it started from
    size_t profiles_rechecked = 0;  // changed since, decided one by one
  };
  Result<Preview> PreviewDefinition(const segments::SegmentDefinition& definition);
  // What distinguishes a definition's members (current as of the call, as a preview counts
  // them) from every other known profile, or from `versus`'s members: segment_profile.h, on
  // the live snapshot (its latest version).
  Result<analytics::SegmentProfile> ProfileSegment(const segments::SegmentDefinition& segment,
                                                   const segments::SegmentDefinition* versus,
                                                   size_t top);
  // Labels of a data-driven segmentation (clusters, RFM's map) made live: `trait` set to each
  // profile's label where it changed (through the ordinary write path, so membership and the
  // change feed follow), and the scheme of one segment per label (`trait = "label"`, tagged
  // `tag`) made or updated; segments of an earlier run of the scheme that are no longer in it
  // and carry only its tag are deleted.
  struct LabelledSegment {
    std::string label, segment, description;
    segments::Objective objective = segments::Objective::kEngage;
  };
  struct LabelScheme {
    std::string trait, scheme, description, tag;
    std::vector<LabelledSegment> segments;  // in priority order
  };
  struct LabelsSaved {
    uint64_t profiles_written = 0;
    bool scheme_created = false;
  };
  // `labels`: (external profile id, label); kNotFound for an unknown profile.
  Result<LabelsSaved> SaveLabels(const LabelScheme& scheme,
                                 const std::vector<std::pair<std::string, std::string>>& labels);
  // Numeric traits as features of every known profile that has them all, from the live
  // snapshot (current as of the call): the matrix, and per row the dense and the external id.
  struct LiveFeatures {
    analytics::FeatureMatrix matrix;
    std::vector<ProfileId> dense;
    std::vector<std::string> ids;
  };
  Result<LiveFeatures> TraitFeatures(const std::vector<std::string>& traits);
  // The scheme `name` of a clustering: trait `<name>_cluster`, one segment `<name>_<i>_<slug>`
  // per cluster described from its center; `labels` gets each cluster's label.
  static LabelScheme ClusterScheme(const std::string& name,
                                   const analytics::FeatureMatrix& features,
                                   const std::vector<analytics::ClusterName>& clusters,
                                   std::vector<std::string>& labels);
  // The segment `name` of lookalikes: `<name>_score >= threshold`, the seed excluded.
  static segments::SegmentDefinition LookalikeSegment(const std::string& name,
                                                      const std::string& seed, size_t size,
                                                      const analytics::FeatureMatrix& features,
                                                      double threshold);
  // A score per profile (lookalikes, propensity) as the double trait `trait`, written where it
  // changed, and `segment` (a rule on it) made or replaced; returns the profiles written.
  Result<uint64_t> SaveScores(const std::string& trait,
                              const std::vector<std::pair<std::string, double>>& scores,
                              segments::SegmentDefinition segment);
  // RFM (tailor/rfm.h) of every customer on the live snapshot, current as of the call. With
  // `materialize`, the values and scores become traits (rfm_recency_days, rfm_frequency,
  // rfm_monetary, rfm_r, rfm_f, rfm_m, rfm_segment; written only where they changed, through
  // the ordinary write path, so live membership and the change feed follow) and the scheme `rfm`
  // of ten segments (`rfm_champions`: rfm_segment = "champions", ...) is made when missing.
  struct RfmRun {
    analytics::RfmResult rfm;
    int64_t snapshot_at_ms = 0;
    uint64_t profiles_written = 0;  // whose RFM traits changed
    bool scheme_created = false;
  };
  Result<RfmRun> RunRfm(const analytics::RfmOptions& options, bool materialize);
  // Lifetime value (tailor/clv.h) of every customer on the live snapshot, current as of the
  // call. With `materialize`, the traits clv_probability_alive, clv_expected_purchases and (when
  // spend could be fitted) clv_expected_order_value and clv_expected_value, rounded to four
  // significant digits and written only where they changed, through the ordinary write path.
  struct ClvRun {
    analytics::ClvResult clv;
    int64_t snapshot_at_ms = 0;
    uint64_t profiles_written = 0;
  };
  Result<ClvRun> RunClv(const analytics::ClvOptions& options, bool materialize);
  // Refreshes the live snapshot if anything changed and a Population call came within the last
  // minute (a background thread of `tailor serve`).
  Status RefreshSnapshot();

  // One profile's signals (tailor/signals.h) as of `at` (its events until then): the state the
  // working set keeps per event (an observer folds each write's new events), or, for an `at`
  // before the latest event or other options, its events folded on the call.
  // By external, anonymous or merged-away id; kNotFound when unknown.
  struct ProfileSignals {
    std::string id;  // the profile's own external id
    signals::SignalState state;
    // Their home (traits) and the catalogue's stores, for where they are now (place.h).
    std::optional<signals::GeoPoint> home;
    std::shared_ptr<const signals::StoreIndex> stores;
    signals::PlaceContext place() const {
      signals::PlaceContext context;
      context.home = home;
      context.stores = stores.get();
      return context;
    }
  };
  Result<ProfileSignals> Signals(std::string_view id, Timestamp at,
                                 const signals::SignalOptions& options = {});

  // --- Session intent (tailor/intent.h) with the rules in force.
  struct ProfileIntent {
    std::string id;  // the profile's own external id
    intent::Classification classification;
    // The learned model's view of the same session, when one is trained (TrainIntentModel):
    // each intent's probability, highest first, and the probability it ends in a purchase.
    std::vector<std::pair<std::string, double>> model_intents;
    std::optional<double> purchase_readiness;
  };
  // The intent of `id`'s session at `at` (the session the working set keeps per event; folded
  // from the events for an `at` before the latest one); kNotFound: unknown id.
  Result<ProfileIntent> Intent(std::string_view id, Timestamp at);
  // The rules in force: the last set (stored), else the defaults.
  std::shared_ptr<const intent::IntentRules> intent_rules() const;
  // Parses, stores and puts in force `text`; a broken text (kInvalidArgument, line:column)
  // changes nothing.
  Status SetIntentRules(std::string_view text);
  // Trains the learned intent model from every profile's labelled sessions (intent_model.h),
  // stores it and puts it in force; a failed run (kFailedPrecondition: nothing to learn from;
  // kCancelled) keeps the previous model serving.
  struct IntentModelRun {
    intent::TrainReport report;
    std::shared_ptr<const intent::IntentModel> model;
  };
  Result<IntentModelRun> TrainIntentModel(const intent::LabelOptions& options,
                                          const RunControl* control = nullptr);
  // The model in force (null: none trained).
  std::shared_ptr<const intent::IntentModel> intent_model() const;

  // --- Recommendations (tailor/recommender.h): the model in force and the profile's activity
  // and session intent, read from memory (the working set). Until a model is trained, one of
  // the catalogue alone (progressions, no popularity) serves.
  struct ProfileRecommendations {
    std::string id;      // the profile's own external id; empty for an unknown visitor
    bool known = false;  // false: an unknown id, answered as a visitor with no history
    intent::Intent intent = intent::Intent::kUnknown;  // of the current session
    uint64_t model_version = 0;
    std::shared_ptr<const reco::Model> model;  // the one that answered (items' facts)
    std::vector<reco::Recommendation> items;
    std::vector<std::string> rules_applied;  // the item rules that kept items back, by name
  };
  // `request.now` 0: now(); `request.intent` is the session's (Intent) unless the caller set one.
  Result<ProfileRecommendations> Recommendations(std::string_view id, reco::Request request);
  // Trains a model on the live snapshot (current as of the call) and the catalogue, and puts it
  // in force (the version after the last); serving goes on with the previous model meanwhile,
  // and keeps it when the run fails (kCancelled).
  Result<std::shared_ptr<const reco::Model>> TrainRecommender(const RunControl* control = nullptr);
  // The model in force (the catalogue-only one until a training run).
  std::shared_ptr<const reco::Model> recommender();
  // Whether anything was written (or the catalogue changed) since the model in force was
  // trained: what a background trainer asks before training again.
  bool RecommenderStale() const;
  // The item rules by segment in force (reco::ItemRules; none until set), applied to every
  // request as the person's live memberships say. Set from their JSON (reco::ParseItemRules),
  // stored in `definitions` (`reco/rules`); every segment they name must exist then.
  std::shared_ptr<const reco::ItemRules> recommendation_rules() const;
  Status SetRecommendationRules(std::string_view json);
  // How the catalogue's attributes are read (level attribute and order, kind, consumable, in
  // stock): ServiceOptions::recommender's until set (reco::ParseCatalogueOptions, fields left
  // out keep their value), stored in `definitions` (`reco/catalogue`). A change makes the model
  // stale: the next training run (and, before the first, the catalogue-only model) reads it.
  reco::CatalogueOptions recommender_catalogue() const;
  Status SetRecommenderCatalogue(std::string_view json);

  // --- Surveys (tailor/surveys.h): definitions, answers, the next question.
  surveys::SurveyStore& surveys();
  // Creates or replaces a survey, declaring its traits first (kFailedPrecondition when one
  // exists with another type), so segments can read them before the first answer.
  Status PutSurvey(const surveys::Survey& survey);
  // Checks `answer` against the question, then stores it as the question's trait of `profile`
  // (created when new) and a `survey_answer` event (survey, question, trait, answer, channel) in
  // one write: live membership follows at once. kNotFound: no such survey or question;
  // kFailedPrecondition: the survey is closed; kInvalidArgument: the answer (nothing stored).
  struct SurveyAnswered {
    std::string trait;
    TypedValue value;
  };
  // `anonymous`: `profile` is a visitor's anonymous id (the profile it is linked to answers, else
  // the visitor's own, created if new).
  Result<SurveyAnswered> AnswerSurvey(std::string_view survey, std::string_view profile,
                                      std::string_view question, const TypedValue& answer,
                                      std::string_view channel, bool anonymous = false);
  // The question worth asking `profile` on `channel` (surveys.h ChooseNextQuestion), at most
  // `cap` questions shown or answered per `cap_window_ms`; nullopt: none to ask.
  Result<std::optional<surveys::NextQuestion>> NextQuestion(
      std::string_view profile, std::string_view channel, uint64_t cap = 3,
      Timestamp cap_window_ms = Timestamp{30} * 86'400'000);

  // Questions shown and answered per question and channel (surveys.h), from the live snapshot
  // as of the call.
  using QuestionReport = surveys::QuestionReport;
  Result<std::vector<QuestionReport>> SurveyReport(std::string_view survey);

  // --- Live membership (current, including changes since the last full evaluation).
  std::vector<std::string> SegmentsOf(ProfileId profile) const;
  // kNotFound for an unknown segment.
  Result<bool> IsMember(std::string_view segment, ProfileId profile) const;
  Result<segments::ProfileSet> Members(std::string_view segment) const;
  // The row evaluator's view of one profile at now() (for explain).
  Result<SegmentExplanation> Explain(std::string_view segment, std::string_view profile);

  // --- The change feed. Blocks up to `timeout` until an entry after `after` exists; returns
  // whether one does (for long polls and Server-Sent Events).
  bool WaitForChanges(uint64_t after, std::chrono::milliseconds timeout) const;
  uint64_t last_sequence() const;

  // Store statistics and timings for /metrics.
  struct Counters {
    uint64_t membership_changes = 0;
    uint64_t live_updates = 0;  // profiles re-decided after a write or a timer
    uint64_t timer_updates = 0;
    uint64_t evaluations = 0;
    double last_evaluation_seconds = 0;
    uint64_t writes = 0;         // Write calls (a collect request makes one per run of events)
    uint64_t engine_writes = 0;  // commits they were coalesced into
    // Signals and session intent kept per event: events folded in, profiles whose history was
    // folded whole (first write since loaded, merges), and one event's update in microseconds
    // (its share of decoding the write's new block, and its fold; or its share of folding the
    // whole history).
    uint64_t signal_events = 0;
    uint64_t signal_rebuilds = 0;
    double signal_update_p50_us = 0, signal_update_p99_us = 0;
  };
  Counters counters() const;

  struct Impl;  // src/service/service_impl.h; opaque to callers

 private:
  Service();
  // Intent of a profile already read from the working set.
  Result<ProfileIntent> IntentOf(const working_set::ProfileHandle& profile, Timestamp at);
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<segments::SegmentCatalog> catalog_;
  std::function<Timestamp()> clock_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tailor

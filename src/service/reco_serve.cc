// Recommendations of the live profiles (tailor/recommender.h): the model in force, replaced whole
// by a training run (serving keeps the one it holds meanwhile), and each profile's activity read
// from memory with its session's intent.
//
// A profile's activity is kept beside it in the working set (an extension), folded for one model
// version and the event blocks it has read: a request finds it current and decodes nothing; after
// writes it folds only the new blocks; a new model folds the history again (the activity names
// the model's items by index). It is kept by the reads, so the write path pays nothing for it.

#include "service/service_impl.h"

namespace tailor {

namespace {

class ActivityState final : public working_set::Extension {
 public:
  ActivityState(uint64_t model_version, size_t blocks,
                std::shared_ptr<const reco::Activity> activity)
      : model_version_(model_version), blocks_(blocks), activity_(std::move(activity)) {}

  std::unique_ptr<Extension> Clone() const override {
    return std::make_unique<ActivityState>(*this);  // the activity itself is immutable: shared
  }
  size_t bytes() const override {
    size_t bytes = sizeof(*this) + sizeof(reco::Activity) +
                   activity_->touches.capacity() * sizeof(reco::Activity::Touch);
    for (const auto& [category, count] : activity_->categories) {
      bytes += 48 + category.capacity();  // a node of the map and its text
    }
    return bytes;
  }

  uint64_t model_version() const { return model_version_; }
  size_t blocks() const { return blocks_; }
  const std::shared_ptr<const reco::Activity>& activity() const { return activity_; }

 private:
  uint64_t model_version_;
  size_t blocks_;  // the profile's event blocks folded in
  std::shared_ptr<const reco::Activity> activity_;
};

// The profile's activity for `model`: the one kept if current, else folded (only the new blocks
// when the kept one is of this model) and kept for the next request.
Result<std::shared_ptr<const reco::Activity>> CurrentActivity(Service::Impl& impl,
                                                              working_set::ProfileHandle profile,
                                                              const reco::Model& model) {
  const size_t blocks = profile->event_blocks.size();
  const auto* kept = static_cast<const ActivityState*>(profile->extension(impl.reco_slot));
  if (kept != nullptr && kept->model_version() != model.version()) kept = nullptr;
  if (kept != nullptr && kept->blocks() == blocks) return kept->activity();
  // Blocks are only ever appended (merges included): the ones after those kept are new.
  const size_t from = kept != nullptr && kept->blocks() < blocks ? kept->blocks() : 0;
  auto activity = from > 0 ? std::make_shared<reco::Activity>(*kept->activity())
                           : std::make_shared<reco::Activity>();
  std::vector<EventInput>& pool = impl.scratch_events.local();
  TAILOR_ASSIGN_OR_RETURN(
      std::span<const EventInput> events,
      DecodeEventBlocks(
          std::span<const std::string>(profile->event_blocks.data() + from, blocks - from), pool));
  reco::FoldActivity(model, events, *activity);
  const ProfileId id = profile->view.id;
  profile.reset();  // not held while kept: no copy of the profile on write
  auto state = std::make_unique<ActivityState>(model.version(), blocks, activity);
  impl.working_set->UpdateExtension(id, impl.reco_slot,
                                    [&](const working_set::ResidentProfile& resident,
                                        std::unique_ptr<working_set::Extension>& slot) {
                                      if (resident.event_blocks.size() == blocks)
                                        slot = std::move(state);
                                    });
  return std::shared_ptr<const reco::Activity>(std::move(activity));
}

constexpr std::string_view kRulesKey = "reco/rules";
constexpr std::string_view kCatalogueKey = "reco/catalogue";

}  // namespace

std::shared_ptr<const reco::ItemRules> Service::recommendation_rules() const {
  std::lock_guard lock(impl_->reco_mutex);
  if (impl_->reco_rules == nullptr) {
    std::string stored;
    std::optional<reco::ItemRules> rules;
    if (engine_->store().Get(store::Table::kDefinitions, kRulesKey, stored).ok()) {
      auto parsed = reco::ParseItemRules(stored);
      if (parsed.ok()) rules = std::move(parsed).value();
    }
    impl_->reco_rules = std::make_shared<reco::ItemRules>(rules.value_or(reco::ItemRules{}));
  }
  return impl_->reco_rules;
}

Status Service::SetRecommendationRules(std::string_view json) {
  TAILOR_ASSIGN_OR_RETURN(reco::ItemRules rules, reco::ParseItemRules(json));
  {
    std::shared_lock lock(impl_->live_mutex);
    for (size_t i = 0; i < rules.rules.size(); ++i) {
      if (impl_->live->members(rules.rules[i].segment) == nullptr) {
        return InvalidArgument("$.rules[{}].segment: no segment '{}'", i, rules.rules[i].segment);
      }
    }
  }
  // Stored as written back (one form), under the lock: the store and memory agree.
  JsonWriter text;
  reco::WriteItemRules(text, rules);
  std::lock_guard lock(impl_->reco_mutex);
  TAILOR_RETURN_IF_ERROR(PutDefinition(engine_->store(), kRulesKey, text.str()));
  impl_->reco_rules = std::make_shared<reco::ItemRules>(std::move(rules));
  return Status::Ok();
}

reco::CatalogueOptions Service::recommender_catalogue() const {
  std::lock_guard lock(impl_->reco_mutex);
  if (!impl_->reco_catalogue) {
    const reco::CatalogueOptions& defaults = impl_->options.recommender.catalogue;
    std::string stored;
    if (engine_->store().Get(store::Table::kDefinitions, kCatalogueKey, stored).ok()) {
      auto parsed = reco::ParseCatalogueOptions(stored, defaults);
      if (parsed.ok()) impl_->reco_catalogue = std::move(parsed).value();
    }
    if (!impl_->reco_catalogue) impl_->reco_catalogue = defaults;
  }
  return *impl_->reco_catalogue;
}

Status Service::SetRecommenderCatalogue(std::string_view json) {
  TAILOR_ASSIGN_OR_RETURN(reco::CatalogueOptions catalogue,
                          reco::ParseCatalogueOptions(json, recommender_catalogue()));
  JsonWriter text;
  reco::WriteCatalogueOptions(text, catalogue);
  std::lock_guard lock(impl_->reco_mutex);
  TAILOR_RETURN_IF_ERROR(PutDefinition(engine_->store(), kCatalogueKey, text.str()));
  impl_->reco_catalogue = std::move(catalogue);
  impl_->reco_marks.reset();  // stale: trained again with these
  if (impl_->reco_model != nullptr && impl_->reco_model->version() == 0) {
    impl_->reco_model = nullptr;  // the catalogue-only model is made again on the next read
  }
  return Status::Ok();
}

namespace {

// The service's model options with the catalogue options in force.
reco::ModelOptions ModelOptionsWith(const reco::ModelOptions& base,
                                    const reco::CatalogueOptions& catalogue) {
  reco::ModelOptions options = base;
  options.catalogue = catalogue;
  options.interactions.level_attribute = catalogue.level_attribute;
  options.interactions.levels = catalogue.levels;
  return options;
}

}  // namespace

std::shared_ptr<const reco::Model> Service::recommender() {
  std::shared_ptr<const segments::ItemCatalog> items = impl_->CurrentItems();
  const reco::ModelOptions options =
      ModelOptionsWith(impl_->options.recommender, recommender_catalogue());
  std::lock_guard lock(impl_->reco_mutex);
  if (impl_->reco_model == nullptr) {
    // The catalogue alone (one pass over it): progressions and the catalogue's order serve until
    // the first training run, which a front end starts at once.
    impl_->reco_model = reco::Model::Train({}, *items, options, now(), /*version=*/0);
    impl_->reco_items = std::move(items);
  }
  return impl_->reco_model;
}

bool Service::RecommenderStale() const {
  std::shared_ptr<const segments::ItemCatalog> items = impl_->CurrentItems();
  std::lock_guard lock(impl_->reco_mutex);
  if (impl_->reco_model == nullptr || !impl_->reco_marks) return true;
  if (impl_->reco_items != items) return true;
  return impl_->live_snapshot != nullptr && impl_->live_snapshot->marks() != *impl_->reco_marks;
}

Result<std::shared_ptr<const reco::Model>> Service::TrainRecommender(const RunControl* control) {
  std::lock_guard training(impl_->reco_training);
  // The catalogue first: an item written meanwhile makes the model stale, never missing.
  std::shared_ptr<const segments::ItemCatalog> items = impl_->CurrentItems();
  TAILOR_ASSIGN_OR_RETURN(snapshot::LiveSnapshot::Version version,
                          impl_->CurrentSnapshot(*engine_, {}, std::chrono::milliseconds(0)));
  TAILOR_RETURN_IF_ERROR(CheckRun(control));
  const reco::ModelOptions options =
      ModelOptionsWith(impl_->options.recommender, recommender_catalogue());
  reco::InteractionOptions read = options.interactions;
  read.trait_tokens = false;  // no serving generator reads them yet
  TAILOR_ASSIGN_OR_RETURN(reco::Interactions interactions,
                          reco::InteractionsFromSnapshot(*version.snapshot, read));
  TAILOR_RETURN_IF_ERROR(CheckRun(control));
  {
    // Each live segment's members among the people with pairs (popular_in_segment).
    std::vector<uint32_t> user_of(version.snapshot->profile_count(), UINT32_MAX);
    for (uint32_t u = 0; u < interactions.user_profiles.size(); ++u) {
      user_of[interactions.user_profiles[u]] = u;
    }
    std::shared_lock lock(impl_->live_mutex);
    for (const segments::SegmentDefinition& definition : impl_->live->definitions()) {
      const segments::ProfileSet* members = impl_->live->members(definition.name);
      if (members == nullptr || members->isEmpty()) continue;
      std::vector<uint32_t> users;
      for (const ProfileId id : *members) {
        if (id < user_of.size() && user_of[id] != UINT32_MAX) users.push_back(user_of[id]);
      }
      std::sort(users.begin(), users.end());
      if (users.empty()) continue;
      interactions.segment_names.push_back(definition.name);
      interactions.segment_users.push_back(std::move(users));
    }
  }
  TAILOR_RETURN_IF_ERROR(CheckRun(control));
  uint64_t next_version = 1;
  {
    std::lock_guard lock(impl_->reco_mutex);
    if (impl_->reco_model != nullptr) next_version = impl_->reco_model->version() + 1;
  }
  std::shared_ptr<const reco::Model> model =
      reco::Model::Train(interactions, *items, options, now(), next_version, control);
  if (model == nullptr) {  // stopped by `control`
    Status stopped = CheckRun(control);
    return stopped.ok() ? Cancelled("training stopped") : stopped;
  }
  std::lock_guard lock(impl_->reco_mutex);
  impl_->reco_model = model;
  impl_->reco_items = std::move(items);
  impl_->reco_marks = version.marks_included;
  return model;
}

Result<Service::ProfileRecommendations> Service::Recommendations(std::string_view id,
                                                                 reco::Request request) {
  if (request.now == 0) request.now = now();
  const std::shared_ptr<const reco::Model> model = recommender();
  ProfileRecommendations out;
  out.model_version = model->version();
  out.model = model;
  std::shared_ptr<const reco::Activity> activity;
  ProfileId profile_id = kNoProfile;
  auto profile = impl_->working_set->Get(id, working_set::WorkingSet::Admit::kOnSecondMiss);
  if (profile.ok()) {
    out.id = (*profile)->view.external_id;
    out.known = true;
    profile_id = (*profile)->view.id;
    if (request.intent == intent::Intent::kUnknown) {
      auto session = IntentOf(*profile, request.now);
      if (session.ok()) request.intent = session->classification.intent;
    }
    TAILOR_ASSIGN_OR_RETURN(activity, CurrentActivity(*impl_, std::move(*profile), *model));
    request.segments = SegmentsOf(profile_id);
  } else if (profile.status().code() != StatusCode::kNotFound) {
    return profile.status();
  }
  out.intent = request.intent;
  // Item rules by segment: a visitor, or a profile outside a segment, is not a member.
  for (const reco::ItemRule& rule : recommendation_rules()->rules) {
    bool member = false;
    if (out.known) {
      auto is = IsMember(rule.segment, profile_id);
      member = is.ok() && *is;
    }
    if (member != rule.members) continue;
    out.rules_applied.push_back(rule.name);
    request.exclude.insert(request.exclude.end(), rule.items.begin(), rule.items.end());
    request.exclude_categories.insert(request.exclude_categories.end(), rule.categories.begin(),
                                      rule.categories.end());
  }
  static const reco::Activity kNoActivity;
  out.items = reco::Recommend(*model, activity != nullptr ? *activity : kNoActivity, request);
  return out;
}

}  // namespace tailor

// Recommendations of the live profiles (tailor/recommender.h): the model in force, replaced whole
// by a training run (serving keeps the one it holds meanwhile), and each profile's activity read
// from memory with its session's intent.

#include "service/service_impl.h"

namespace tailor {

std::shared_ptr<const reco::Model> Service::recommender() {
  std::shared_ptr<const segments::ItemCatalog> items = impl_->CurrentItems();
  std::lock_guard lock(impl_->reco_mutex);
  if (impl_->reco_model == nullptr) {
    // The catalogue alone (one pass over it): progressions and the catalogue's order serve until
    // the first training run, which a front end starts at once.
    impl_->reco_model =
        reco::Model::Train({}, *items, impl_->options.recommender, now(), /*version=*/0);
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
  reco::InteractionOptions read = impl_->options.recommender.interactions;
  read.trait_tokens = false;  // no serving generator reads them yet
  TAILOR_ASSIGN_OR_RETURN(reco::Interactions interactions,
                          reco::InteractionsFromSnapshot(*version.snapshot, read));
  TAILOR_RETURN_IF_ERROR(CheckRun(control));
  uint64_t next_version = 1;
  {
    std::lock_guard lock(impl_->reco_mutex);
    if (impl_->reco_model != nullptr) next_version = impl_->reco_model->version() + 1;
  }
  std::shared_ptr<const reco::Model> model =
      reco::Model::Train(interactions, *items, impl_->options.recommender, now(), next_version);
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
  reco::Activity activity;
  auto profile = impl_->working_set->Get(id, working_set::WorkingSet::Admit::kOnSecondMiss);
  if (profile.ok()) {
    out.id = (*profile)->view.external_id;
    out.known = true;
    std::vector<EventInput>& pool = impl_->scratch_events.local();
    TAILOR_ASSIGN_OR_RETURN(std::span<const EventInput> events, (*profile)->Events(pool));
    activity = reco::ActivityOf(*model, events);
    if (request.intent == intent::Intent::kUnknown) {
      auto session = IntentOf(*profile, request.now);
      if (session.ok()) request.intent = session->classification.intent;
    }
  } else if (profile.status().code() != StatusCode::kNotFound) {
    return profile.status();
  }
  out.intent = request.intent;
  out.items = reco::Recommend(*model, activity, request);
  return out;
}

}  // namespace tailor

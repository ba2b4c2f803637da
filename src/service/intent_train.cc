// The learned intent model (tailor/intent_model.h): trained from every profile's labelled
// sessions, stored in `definitions` as `intent/model`, and served beside the rules.

#include <tbb/parallel_for.h>

#include "service/service_impl.h"
#include "tailor/intent_model.h"

namespace tailor {
namespace {
constexpr std::string_view kModelKey = "intent/model";
}  // namespace

std::shared_ptr<const intent::IntentModel> Service::intent_model() const {
  std::lock_guard lock(impl_->intent_mutex);
  if (!impl_->intent_model_loaded) {
    std::string stored;
    const Status read = engine_->store().Get(store::Table::kDefinitions, kModelKey, stored);
    // A store error is tried again on the next call; a model this version cannot read (trained
    // on other features) is not served: train again.
    impl_->intent_model_loaded = read.ok() || read.code() == StatusCode::kNotFound;
    if (read.ok()) {
      auto parsed = intent::ParseIntentModel(stored);
      if (parsed.ok()) {
        impl_->intent_model = std::make_shared<intent::IntentModel>(std::move(parsed).value());
      }
    }
  }
  return impl_->intent_model;
}

Result<Service::IntentModelRun> Service::TrainIntentModel(const intent::LabelOptions& options,
                                                          const RunControl* control) {
  TAILOR_ASSIGN_OR_RETURN(snapshot::LiveSnapshot::Version version,
                          impl_->CurrentSnapshot(*engine_, {}, std::chrono::milliseconds(0)));
  const snapshot::Snapshot& snap = *version.snapshot;
  // Chunks of profiles, each collected apart and joined in id order: the same store gives the
  // same rows in the same order, so the same model, however the threads shared the work.
  constexpr ProfileId kChunk = 4096;
  struct Collected {
    std::vector<intent::LabelledSession> intent, outcome;
    std::vector<intent::SessionPages> pages;
    Status status;
  };
  std::vector<Collected> chunks((snap.profile_count() + kChunk - 1) / kChunk);
  tbb::parallel_for(size_t{0}, chunks.size(), [&](size_t c) {
    Collected& mine = chunks[c];
    if (CheckRun(control).code() == StatusCode::kCancelled) return;
    const ProfileId end = std::min<ProfileId>(snap.profile_count(), (c + 1) * kChunk);
    for (ProfileId id = static_cast<ProfileId>(c * kChunk); id < end; ++id) {
      if (!snap.known().Test(id) && !snap.anonymous().Test(id)) continue;
      auto events = engine_->Events(id);
      if (!events.ok()) {
        if (events.status().code() == StatusCode::kNotFound) continue;  // deleted since
        mine.status = events.status();
        return;
      }
      intent::CollectLabelledSessions(*events, options, intent::HeldOut(snap.external_id(id)),
                                      mine.intent, mine.outcome, &mine.pages);
    }
  });
  TAILOR_RETURN_IF_ERROR(CheckRun(control));
  std::vector<intent::LabelledSession> intent_labelled, outcome_labelled;
  std::vector<intent::SessionPages> pages;
  for (Collected& part : chunks) {
    TAILOR_RETURN_IF_ERROR(part.status);
    std::move(part.intent.begin(), part.intent.end(), std::back_inserter(intent_labelled));
    std::move(part.outcome.begin(), part.outcome.end(), std::back_inserter(outcome_labelled));
    std::move(part.pages.begin(), part.pages.end(), std::back_inserter(pages));
  }
  IntentModelRun run;
  TAILOR_ASSIGN_OR_RETURN(
      intent::IntentModel model,
      intent::TrainIntentModel(intent_labelled, outcome_labelled, pages, options, run.report));
  model.trained_at = now();
  // Stored and put in force together; a failed run above leaves the previous model serving.
  std::lock_guard lock(impl_->intent_mutex);
  TAILOR_RETURN_IF_ERROR(
      PutDefinition(engine_->store(), kModelKey, intent::IntentModelJson(model)));
  impl_->intent_model = std::make_shared<intent::IntentModel>(std::move(model));
  impl_->intent_model_loaded = true;
  run.model = impl_->intent_model;
  return run;
}

}  // namespace tailor

// Labels of data-driven segmentations (RFM's named map, clusters) as traits and a scheme of live
// segments, one per label.

#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <mutex>

#include "service/service_impl.h"

namespace tailor {
namespace {

constexpr size_t kWriteBatch = 5000;  // profiles per write: other writes interleave between them

// Names that go into generated rules unquoted: a letter, then letters, digits and underscores.
Status CheckGeneratedName(std::string_view name) {
  const bool ok = !name.empty() && std::isalpha(static_cast<unsigned char>(name[0])) &&
                  std::all_of(name.begin(), name.end(), [](char c) {
                    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
                  });
  if (ok) return Status::Ok();
  return InvalidArgument("name '{}': a letter first, then letters, digits and _", name);
}

}  // namespace

bool Service::Impl::Holds(const snapshot::Snapshot& snapshot, ProfileId id, const std::string& name,
                          const TypedValue& value) {
  if (id >= snapshot.profile_count()) return false;
  const snapshot::TraitColumn* column = snapshot.trait(name);
  if (std::holds_alternative<std::monostate>(value.value))
    return column == nullptr || !column->present.Test(id);  // a clear
  if (column == nullptr || column->type != value.type || !column->present.Test(id)) return false;
  switch (value.type) {
    case TraitType::kInt:
      return column->ints[id] == std::get<int64_t>(value.value);
    case TraitType::kDouble:
      return column->doubles[id] == std::get<double>(value.value);
    case TraitType::kString:
      return column->dictionary[column->codes[id]] == std::get<std::string>(value.value);
    default:
      return false;
  }
}

Result<uint64_t> Service::Impl::WriteChangedTraits(
    Service& service, const snapshot::Snapshot& snapshot,
    std::vector<std::pair<ProfileId, TraitMap>> wanted, const std::vector<TraitDef>& owned) {
  // A profile that holds one of `owned` but is not in this run (no longer a customer, no longer
  // has the features) has it cleared: a result it no longer has must not linger in its segments.
  snapshot::Bitmap in_run;
  in_run.Resize(snapshot.profile_count());
  for (const auto& [id, traits] : wanted) {
    if (id < snapshot.profile_count()) in_run.Set(id);
  }
  std::vector<const snapshot::TraitColumn*> columns;
  for (const TraitDef& trait : owned) columns.push_back(snapshot.trait(trait.name));
  for (ProfileId id = 0; id < snapshot.profile_count(); ++id) {
    if (in_run.Test(id)) continue;
    TraitMap clear;
    for (size_t t = 0; t < owned.size(); ++t) {
      if (columns[t] != nullptr && columns[t]->present.Test(id)) {
        clear.push_back({owned[t].name, TypedValue{owned[t].type, std::monostate{}}});
      }
    }
    if (!clear.empty()) wanted.emplace_back(id, std::move(clear));
  }
  uint64_t written = 0;
  std::vector<ProfileInput> batch;
  auto flush = [&]() -> Status {
    BatchReport report;
    TAILOR_RETURN_IF_ERROR(service.UpsertProfiles(batch, report));
    written += report.accepted;
    batch.clear();
    return Status::Ok();
  };
  for (auto& [id, traits] : wanted) {
    std::erase_if(
        traits, [&](const auto& entry) { return Holds(snapshot, id, entry.first, entry.second); });
    if (traits.empty()) continue;
    std::string external(id < snapshot.profile_count() ? snapshot.external_id(id) : "");
    if (external.empty()) {
      TAILOR_ASSIGN_OR_RETURN(external, service.engine_->ExternalId(id));
    }
    ProfileInput& input = batch.emplace_back(std::move(external), std::move(traits));
    input.source = TraitSource::kInferred;  // never over what the person declared
    if (batch.size() == kWriteBatch) TAILOR_RETURN_IF_ERROR(flush());
  }
  if (!batch.empty()) TAILOR_RETURN_IF_ERROR(flush());
  return written;
}

Status Service::Impl::DeclareTraits(Service& service, const std::vector<TraitDef>& traits) {
  std::vector<TraitDef> missing;
  const std::shared_ptr<const Schema> schema = service.engine_->shared_schema();
  for (const TraitDef& trait : traits) {
    const TraitDef* existing = schema->Find(trait.name);
    if (existing == nullptr) {
      missing.push_back(trait);
    } else if (existing->type != trait.type) {
      // Upserts of the other type would be refused profile by profile.
      return FailedPrecondition("trait '{}' is {}; the results are {}", trait.name,
                                TraitTypeName(existing->type), TraitTypeName(trait.type));
    }
  }
  return missing.empty() ? Status::Ok() : service.engine_->DeclareTraits(missing);
}

Result<uint64_t> Service::Impl::WriteTraitOf(
    Service& service, const TraitDef& trait,
    const std::vector<std::pair<std::string, TypedValue>>& values) {
  // Every profile is resolved before the schema or any profile changes.
  std::vector<std::pair<ProfileId, TraitMap>> wanted;
  wanted.reserve(values.size());
  for (const auto& [external, value] : values) {
    TAILOR_ASSIGN_OR_RETURN(ProfileId id, service.engine_->Resolve(external));
    wanted.emplace_back(id, TraitMap{{trait.name, value}});
  }
  TAILOR_RETURN_IF_ERROR(DeclareTraits(service, {trait}));
  TAILOR_ASSIGN_OR_RETURN(snapshot::LiveSnapshot::Version version,
                          CurrentSnapshot(*service.engine_, {}, std::chrono::milliseconds(0)));
  return WriteChangedTraits(service, *version.snapshot, std::move(wanted), {trait});
}

Result<bool> Service::Impl::PutLabelScheme(Service& service, const LabelScheme& wanted) {
  std::lock_guard lock(write_mutex);
  bool changed = false;
  segments::SchemeDefinition scheme;
  scheme.name = wanted.scheme;
  scheme.description = wanted.description;
  for (const LabelledSegment& member : wanted.segments) {
    scheme.members.push_back(member.segment);
    segments::SegmentDefinition definition;
    definition.name = member.segment;
    definition.description = member.description;
    definition.objective = member.objective;
    definition.tags = {wanted.tag};
    definition.rule = fmt::format("{} = \"{}\"", wanted.trait, member.label);
    auto existing = service.catalog_->Get(member.segment);
    if (existing.ok() && existing->rule == definition.rule &&
        existing->description == definition.description &&
        existing->objective == definition.objective && existing->tags == definition.tags) {
      continue;
    }
    definition.updated_at = service.now();
    TAILOR_RETURN_IF_ERROR(service.catalog_->Put(std::move(definition), service.engine_->schema()));
    changed = true;
  }
  // Former members (of an earlier run with other labels) go, unless another segment refers to
  // them.
  auto previous = service.catalog_->GetScheme(wanted.scheme);
  const bool scheme_changed = !previous.ok() || previous->members != scheme.members ||
                              previous->description != scheme.description;
  if (scheme_changed) TAILOR_RETURN_IF_ERROR(service.catalog_->PutScheme(scheme));
  if (previous.ok()) {
    for (const std::string& old : previous->members) {
      if (std::find(scheme.members.begin(), scheme.members.end(), old) != scheme.members.end()) {
        continue;
      }
      auto definition = service.catalog_->Get(old);
      if (!definition.ok() || definition->tags != std::vector<std::string>{wanted.tag}) continue;
      if (service.catalog_->Delete(old).ok()) changed = true;
    }
  }
  if (changed) TAILOR_RETURN_IF_ERROR(EvaluateAllLocked(service).status());
  return !previous.ok();
}

Result<Service::LabelsSaved> Service::SaveLabels(
    const LabelScheme& scheme, const std::vector<std::pair<std::string, std::string>>& labels) {
  for (const std::string* name : {&scheme.trait, &scheme.scheme}) {
    TAILOR_RETURN_IF_ERROR(CheckGeneratedName(*name));
  }
  for (const LabelledSegment& segment : scheme.segments) {
    TAILOR_RETURN_IF_ERROR(CheckGeneratedName(segment.segment));
    if (segment.label.find_first_of("\"\\") != std::string::npos) {
      return InvalidArgument("label '{}' may not hold quotes or backslashes", segment.label);
    }
  }
  // The trait's values where they changed, then the scheme.
  std::vector<std::pair<std::string, TypedValue>> values;
  values.reserve(labels.size());
  for (const auto& [external, label] : labels) {
    values.emplace_back(external, TypedValue{TraitType::kString, label});
  }
  LabelsSaved saved;
  TAILOR_ASSIGN_OR_RETURN(
      saved.profiles_written,
      impl_->WriteTraitOf(*this, {scheme.trait, TraitType::kString, TraitCategory::kBehavioural},
                          values));
  TAILOR_ASSIGN_OR_RETURN(saved.scheme_created, impl_->PutLabelScheme(*this, scheme));
  return saved;
}

Result<Service::LiveFeatures> Service::TraitFeatures(const std::vector<std::string>& traits) {
  TAILOR_ASSIGN_OR_RETURN(snapshot::LiveSnapshot::Version version,
                          impl_->CurrentSnapshot(*engine_, {}, std::chrono::milliseconds(0)));
  LiveFeatures features;
  TAILOR_ASSIGN_OR_RETURN(features.matrix,
                          analytics::TraitFeatures(*version.snapshot, traits, features.dense));
  features.ids.reserve(features.dense.size());
  for (ProfileId id : features.dense) features.ids.emplace_back(version.snapshot->external_id(id));
  return features;
}

Service::LabelScheme Service::ClusterScheme(const std::string& name,
                                            const analytics::FeatureMatrix& features,
                                            const std::vector<analytics::ClusterName>& clusters,
                                            std::vector<std::string>& labels) {
  LabelScheme scheme;
  scheme.trait = name + "_cluster";
  scheme.scheme = name;
  scheme.tag = name + "_clusters";
  scheme.description =
      fmt::format("k-means, k = {}, on {}", clusters.size(), fmt::join(features.names, ", "));
  labels.clear();
  for (size_t c = 0; c < clusters.size(); ++c) {
    labels.push_back(fmt::format("{}_{}", c + 1, clusters[c].slug));
    scheme.segments.push_back({labels.back(), name + "_" + labels.back(), clusters[c].description,
                               segments::Objective::kEngage});
  }
  return scheme;
}

segments::SegmentDefinition Service::LookalikeSegment(const std::string& name,
                                                      const std::string& seed, size_t size,
                                                      const analytics::FeatureMatrix& features,
                                                      double threshold) {
  segments::SegmentDefinition segment;
  segment.name = name;
  segment.objective = segments::Objective::kAcquire;
  segment.description =
      fmt::format("the {} profiles outside {} most like it (logistic seed-vs-rest on {})", size,
                  seed, fmt::join(features.names, ", "));
  segment.rule = fmt::format("{}_score >= {:.17g}", name, threshold);
  segment.exclude = fmt::format("in segment \"{}\"", seed);
  segment.tags = {"lookalike"};
  return segment;
}

Result<uint64_t> Service::SaveScores(const std::string& trait,
                                     const std::vector<std::pair<std::string, double>>& scores,
                                     segments::SegmentDefinition segment) {
  TAILOR_RETURN_IF_ERROR(CheckGeneratedName(trait));
  TAILOR_RETURN_IF_ERROR(CheckGeneratedName(segment.name));
  std::vector<std::pair<std::string, TypedValue>> values;
  values.reserve(scores.size());
  for (const auto& [external, score] : scores) {
    values.emplace_back(external, TypedValue{TraitType::kDouble, score});
  }
  TAILOR_ASSIGN_OR_RETURN(
      uint64_t written,
      impl_->WriteTraitOf(*this, {trait, TraitType::kDouble, TraitCategory::kBehavioural}, values));
  TAILOR_RETURN_IF_ERROR(PutSegment(std::move(segment)));
  return written;
}

}  // namespace tailor

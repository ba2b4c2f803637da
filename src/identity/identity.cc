#include "identity/identity.h"

#include "store/records.h"

namespace tailor::identity {

Result<ProfileId> IdMap::Lookup(const std::string& id_key) {
  if (!staged_.empty()) {
    if (auto it = staged_.find(id_key); it != staged_.end()) return it->second;
  }
  if (auto it = cache_.find(id_key); it != cache_.end()) return it->second;
  if (cache_is_complete_) return kNoProfile;
  std::string value;
  Status status = store_.Get(store::Table::kIds, id_key, value);
  ProfileId profile = kNoProfile;
  if (status.ok()) {
    auto decoded = store::DecodeProfileId(value);
    if (!decoded) return Corruption("ids entry '{}' is malformed", id_key);
    profile = *decoded;
  } else if (status.code() != StatusCode::kNotFound) {
    return status;
  }
  if (cache_.size() >= max_cache_entries_) cache_.clear();
  cache_.emplace(id_key, profile);
  return profile;
}

void IdMap::Link(store::Batch& batch, const std::string& id_key, ProfileId profile) {
  batch.Put(store::Table::kIds, id_key, store::EncodeProfileId(profile));
  staged_[id_key] = profile;
}

void IdMap::Unlink(store::Batch& batch, const std::string& id_key) {
  batch.Delete(store::Table::kIds, id_key);
  staged_[id_key] = kNoProfile;
}

void IdMap::Commit() {
  if (cache_.size() + staged_.size() >= max_cache_entries_) {
    cache_.clear();
    cache_is_complete_ = false;
  }
  for (auto& [key, profile] : staged_) cache_[key] = profile;
  staged_.clear();
}

void IdMap::Abort() { staged_.clear(); }

}  // namespace tailor::identity

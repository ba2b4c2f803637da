#pragma once

// Maps the ids users know (external profile ids, anonymous ids) to dense ProfileIds, and hands
// out new dense ids. The mapping lives in the store's ids table; this class caches lookups and
// stages new entries until the caller's batch commits. Not thread-safe: the engine's writer lock
// guards it.

#include <absl/container/flat_hash_map.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "tailor/store.h"
#include "tailor/types.h"

namespace tailor::identity {

class IdMap {
 public:
  // `next_id` is the first id to hand out. When it is 0 the store holds no ids yet, and as long
  // as the cache keeps every id created since, a cache miss needs no read (a fresh bulk load).
  IdMap(store::Store& store, ProfileId next_id, size_t max_cache_entries = kDefaultCacheEntries)
      : store_(store),
        max_cache_entries_(max_cache_entries),
        next_id_(next_id),
        cache_is_complete_(next_id == 0) {}

  // The profile an id key (store::KnownIdKey / AnonymousIdKey) resolves to, or kNoProfile.
  Result<ProfileId> Lookup(const std::string& id_key);
  // Stages id_key -> profile in `batch` and in the cache.
  void Link(store::Batch& batch, const std::string& id_key, ProfileId profile);
  void Unlink(store::Batch& batch, const std::string& id_key);
  ProfileId Allocate() { return next_id_++; }
  ProfileId next_id() const { return next_id_; }

  // The batch committed: staged entries become plain cache entries.
  void Commit();
  // The batch failed: forget what it staged (ids allocated by it are skipped, never reused).
  void Abort();

 private:
  // The default is enough for every id of a 10M-profile bulk load (~50 bytes each): beyond it,
  // lookups fall back to the store, which measured 5x slower per profile at 5M profiles with a 4M
  // cap.
  static constexpr size_t kDefaultCacheEntries = 16'000'000;
  store::Store& store_;
  const size_t max_cache_entries_;
  ProfileId next_id_;
  bool cache_is_complete_;  // every id in the store is in cache_ (false once it is trimmed)
  // Flat (open addressing) maps: a lookup is one probe into contiguous slots, which matters with
  // millions of cached ids.
  absl::flat_hash_map<std::string, ProfileId> cache_;
  absl::flat_hash_map<std::string, ProfileId> staged_;  // kNoProfile: unlinked in this batch
};

}  // namespace tailor::identity

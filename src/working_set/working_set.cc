#include "tailor/working_set.h"

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>
#include <unistd.h>

#include <algorithm>
#include <mutex>
#include <optional>
#include <unordered_map>

namespace tailor::working_set {
namespace {

// A hash map entry, the clock ring's slot and the shared pointer's control block, roughly.
constexpr size_t kEntryOverhead = 96;
// Ids a shard remembers as missed once (Admit::kOnSecondMiss).
constexpr size_t kMissMemory = 4096;
constexpr size_t kIdMemory = 8192;  // ids remembered per stripe
constexpr size_t kIdStripes = 64;

size_t HeapBytes(const std::string& text) {
  return text.capacity() > 15 ? text.capacity() + 1 : 0;  // beyond the small-string buffer
}

size_t HeapBytes(const TypedValue& value) {
  if (const auto* text = std::get_if<std::string>(&value.value)) return HeapBytes(*text);
  if (const auto* list = std::get_if<StringList>(&value.value)) {
    size_t bytes = list->capacity() * sizeof(std::string);
    for (const std::string& item : *list) bytes += HeapBytes(item);
    return bytes;
  }
  return 0;
}

template <typename Value>
size_t HeapBytes(const std::vector<std::pair<std::string, Value>>& entries) {
  size_t bytes = entries.capacity() * sizeof(entries.front());
  for (const auto& [name, value] : entries) {
    bytes += HeapBytes(name);
    if constexpr (std::is_same_v<Value, TypedValue>) bytes += HeapBytes(value);
  }
  return bytes;
}

size_t EstimateBytes(const ResidentProfile& profile) {
  const ProfileView& view = profile.view;
  size_t bytes = kEntryOverhead + sizeof(ResidentProfile) + HeapBytes(view.external_id) +
                 HeapBytes(view.traits) + HeapBytes(view.behaviour.by_type) +
                 HeapBytes(view.behaviour.by_type_category) +
                 view.aliases.capacity() * sizeof(std::string);
  for (const std::string& alias : view.aliases) bytes += HeapBytes(alias);
  bytes += HeapBytes(profile.stored.record) + HeapBytes(profile.stored.state);
  bytes += profile.event_blocks.capacity() * sizeof(std::string);
  for (const std::string& block : profile.event_blocks) bytes += HeapBytes(block);
  bytes += profile.extensions.capacity() * sizeof(std::unique_ptr<Extension>);
  for (const auto& extension : profile.extensions) {
    if (extension) bytes += extension->bytes();
  }
  return bytes;
}

std::shared_ptr<ResidentProfile> CopyOf(const ResidentProfile& profile) {
  auto copy = std::make_shared<ResidentProfile>();
  copy->view = profile.view;
  copy->event_blocks = profile.event_blocks;
  copy->stored = profile.stored;
  copy->extensions.reserve(profile.extensions.size());
  for (const auto& extension : profile.extensions) {
    copy->extensions.push_back(extension ? extension->Clone() : nullptr);
  }
  copy->bytes = profile.bytes;
  return copy;
}

// What a commit says about a profile, applied to its resident copy.
void ApplyCommitted(const CommittedProfile& committed, ResidentProfile& profile) {
  if (committed.record != nullptr) {
    state::BehaviourState behaviour = std::move(profile.view.behaviour);
    profile.view = *committed.record;
    profile.view.behaviour = std::move(behaviour);
  }
  if (committed.behaviour != nullptr) {
    profile.view.behaviour = *committed.behaviour;
    // Sorted by key, as a state read from the store is (Apply appends new keys at the end).
    const auto by_key = [](const auto& a, const auto& b) { return a.first < b.first; };
    std::sort(profile.view.behaviour.by_type.begin(), profile.view.behaviour.by_type.end(), by_key);
    std::sort(profile.view.behaviour.by_type_category.begin(),
              profile.view.behaviour.by_type_category.end(), by_key);
  }
  profile.view.event_count = profile.view.behaviour.event_count;
  if (!committed.event_block.empty()) profile.event_blocks.emplace_back(committed.event_block);
  if (!committed.stored_record.empty()) profile.stored.record.assign(committed.stored_record);
  if (!committed.stored_state.empty()) profile.stored.state.assign(committed.stored_state);
}

}  // namespace

size_t DefaultBudget() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page_size <= 0) return size_t{1} << 30;
  return static_cast<size_t>(pages) * static_cast<size_t>(page_size) / 4;
}

// Profiles whose id falls in this shard, and the clock that evicts them.
struct WorkingSet::Shard {
  struct Entry {
    std::shared_ptr<ResidentProfile> profile;
    size_t ring_index = 0;
    bool referenced = true;  // read since the hand last passed
  };
  mutable std::mutex mutex;
  absl::flat_hash_map<ProfileId, Entry> entries;
  std::vector<ProfileId> ring;  // the clock: resident ids, in no particular order
  size_t hand = 0;
  size_t bytes = 0;
  // Profiles missed once by a read that keeps on the second miss (Admit::kOnSecondMiss);
  // forgotten all at once when full.
  absl::flat_hash_set<ProfileId> missed_once;
  // Bumped by every commit touching a profile of the shard: a load that read the store while a
  // commit went by may have read half of it, and is not kept.
  uint64_t generation = 0;

  // The profile to change in place: a copy when a reader still holds the current one (readers
  // get their handle under the mutex, so a count of one means nobody else has it).
  ResidentProfile& Writable(Entry& entry) {
    if (entry.profile.use_count() > 1) entry.profile = CopyOf(*entry.profile);
    return *entry.profile;
  }
  void Resize(Entry& entry) {
    const size_t before = entry.profile->bytes;
    entry.profile->bytes = EstimateBytes(*entry.profile);
    bytes = bytes - before + entry.profile->bytes;
  }
  void Insert(ProfileId id, std::shared_ptr<ResidentProfile> profile) {
    profile->bytes = EstimateBytes(*profile);
    bytes += profile->bytes;
    entries[id] = Entry{std::move(profile), ring.size(), true};
    ring.push_back(id);
  }
  void RemoveAt(size_t index) {
    const ProfileId id = ring[index];
    auto it = entries.find(id);
    bytes -= it->second.profile->bytes;
    entries.erase(it);
    ring[index] = ring.back();
    ring.pop_back();
    if (index < ring.size()) entries[ring[index]].ring_index = index;
  }
  bool Remove(ProfileId id) {
    auto it = entries.find(id);
    if (it == entries.end()) return false;
    RemoveAt(it->second.ring_index);
    return true;
  }
  // Evicts until within `budget`; returns how many left.
  uint64_t EvictOver(size_t budget) {
    uint64_t evicted = 0;
    while (bytes > budget && !ring.empty()) {
      if (hand >= ring.size()) hand = 0;
      Entry& entry = entries[ring[hand]];
      if (entry.referenced) {
        entry.referenced = false;
        ++hand;
        continue;
      }
      RemoveAt(hand);  // the last id moves to `hand`: look at it next
      ++evicted;
    }
    return evicted;
  }
};

WorkingSet::WorkingSet(Engine& engine, Options options)
    : engine_(engine),
      shard_budget_((options.budget_bytes != 0 ? options.budget_bytes : DefaultBudget()) /
                    std::max<size_t>(options.shards, 1)) {
  shards_.resize(std::max<size_t>(options.shards, 1));
  for (auto& shard : shards_) shard = std::make_unique<Shard>();
  id_stripes_.resize(kIdStripes);
  for (auto& stripe : id_stripes_) stripe = std::make_unique<IdStripe>();
  observer_ = engine_.AddCommitObserver(
      [this](std::span<const CommittedProfile> committed) { OnCommit(committed); });
  engine_.SetResidentRecords(this);
}

WorkingSet::~WorkingSet() {
  engine_.SetResidentRecords(nullptr);
  engine_.RemoveCommitObserver(observer_);
}

bool WorkingSet::Find(ProfileId id, StoredProfile& out) const {
  Shard& shard = ShardOf(id);
  std::lock_guard lock(shard.mutex);
  auto it = shard.entries.find(id);
  if (it == shard.entries.end()) return false;
  out = it->second.profile->stored;
  return true;
}

WorkingSet::Shard& WorkingSet::ShardOf(ProfileId id) const {
  // Consecutive ids spread over the shards (profiles created together are written together).
  return *shards_[id % shards_.size()];
}

void WorkingSet::OnCommit(std::span<const CommittedProfile> committed) {
  for (const CommittedProfile& profile : committed) {
    Shard& shard = ShardOf(profile.id);
    std::lock_guard lock(shard.mutex);
    ++shard.generation;
    if (profile.removed) {
      shard.Remove(profile.id);
      continue;
    }
    auto it = shard.entries.find(profile.id);
    if (it != shard.entries.end()) {
      ApplyCommitted(profile, shard.Writable(it->second));
      shard.Resize(it->second);
    } else if (profile.created && profile.record != nullptr) {
      // All the profile has is in the commit: resident without reading it back.
      auto created = std::make_shared<ResidentProfile>();
      ApplyCommitted(profile, *created);
      shard.Insert(profile.id, std::move(created));
      ++created_;
    } else {
      continue;
    }
    evictions_ += shard.EvictOver(shard_budget_);
  }
}

Result<std::shared_ptr<ResidentProfile>> WorkingSet::Load(ProfileId id) {
  auto profile = std::make_shared<ResidentProfile>();
  TAILOR_ASSIGN_OR_RETURN(profile->view, engine_.GetProfile(id, 0, &profile->stored));
  TAILOR_ASSIGN_OR_RETURN(profile->event_blocks, engine_.EventBlocks(id));
  return profile;
}

Result<ProfileHandle> WorkingSet::Get(ProfileId id, Admit admit) {
  Shard& shard = ShardOf(id);
  uint64_t generation = 0;
  bool keep = true;
  {
    std::lock_guard lock(shard.mutex);
    if (auto it = shard.entries.find(id); it != shard.entries.end()) {
      it->second.referenced = true;
      ++hits_;
      return ProfileHandle(it->second.profile);
    }
    generation = shard.generation;
    if (admit == Admit::kOnSecondMiss && !shard.missed_once.erase(id)) {
      if (shard.missed_once.size() >= kMissMemory) shard.missed_once.clear();
      shard.missed_once.insert(id);
      keep = false;
    }
  }
  if (!keep) {
    ++misses_;
    TAILOR_ASSIGN_OR_RETURN(auto loaded, Load(id));
    return ProfileHandle(std::move(loaded));
  }
  ++misses_;
  std::shared_ptr<ResidentProfile> loaded;
  for (int attempt = 0; attempt < 4; ++attempt) {
    TAILOR_ASSIGN_OR_RETURN(loaded, Load(id));
    std::lock_guard lock(shard.mutex);
    if (auto it = shard.entries.find(id); it != shard.entries.end()) {
      return ProfileHandle(it->second.profile);  // another reader loaded it meanwhile
    }
    if (shard.generation == generation) {
      shard.Insert(id, loaded);
      evictions_ += shard.EvictOver(shard_budget_);
      return ProfileHandle(std::move(loaded));
    }
    generation = shard.generation;  // a commit went by: read again
  }
  return ProfileHandle(std::move(loaded));  // busy shard: answer without keeping it
}

// Known ids resolved before. An entry is only a hint: the profile it names must still exist and
// be the known profile of that id, which only a delete changes (the store resolves an id as a
// known id first, and a known id is never given to another profile while its own exists).
// Anonymous ids and aliases are not remembered: a known profile of the same text, created later,
// would take them over. Forgotten all at once when full.
struct WorkingSet::IdStripe {
  struct TextHash {
    using is_transparent = void;
    size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
  };
  std::mutex mutex;
  std::unordered_map<std::string, ProfileId, TextHash, std::equal_to<>> ids;
};

WorkingSet::IdStripe& WorkingSet::StripeOf(std::string_view id) const {
  // The upper bits: the stripe's map uses the lower ones.
  return *id_stripes_[(std::hash<std::string_view>{}(id) >> 40) % id_stripes_.size()];
}

namespace {

bool KnownAs(const ProfileView& view, std::string_view id) {
  return !view.anonymous && view.external_id == id;
}

}  // namespace

Result<ProfileHandle> WorkingSet::Get(std::string_view id, Admit admit) {
  IdStripe& stripe = StripeOf(id);
  std::optional<ProfileId> remembered;
  {
    std::lock_guard lock(stripe.mutex);
    if (auto it = stripe.ids.find(id); it != stripe.ids.end()) remembered = it->second;
  }
  if (remembered) {
    Result<ProfileHandle> profile = Get(*remembered, admit);
    if (profile.ok() && KnownAs((*profile)->view, id)) return profile;
    if (!profile.ok() && profile.status().code() != StatusCode::kNotFound) return profile;
  }
  TAILOR_ASSIGN_OR_RETURN(ProfileId resolved, engine_.Resolve(id));
  Result<ProfileHandle> profile = Get(resolved, admit);
  if (profile.ok() && KnownAs((*profile)->view, id)) {
    std::lock_guard lock(stripe.mutex);
    if (stripe.ids.size() >= kIdMemory) stripe.ids.clear();
    stripe.ids.insert_or_assign(std::string(id), resolved);
  }
  return profile;
}

ProfileHandle WorkingSet::Peek(ProfileId id) const {
  Shard& shard = ShardOf(id);
  std::lock_guard lock(shard.mutex);
  auto it = shard.entries.find(id);
  return it == shard.entries.end() ? nullptr : ProfileHandle(it->second.profile);
}

size_t WorkingSet::RegisterExtension() { return extension_slots_++; }

Status WorkingSet::SetExtension(ProfileId id, size_t slot, std::unique_ptr<Extension> state) {
  if (slot >= extension_slots_) return InvalidArgument("extension slot {} is not registered", slot);
  TAILOR_RETURN_IF_ERROR(Get(id).status());
  Shard& shard = ShardOf(id);
  std::lock_guard lock(shard.mutex);
  auto it = shard.entries.find(id);
  if (it == shard.entries.end()) return Status::Ok();  // evicted meanwhile: rebuilt when needed
  ResidentProfile& profile = shard.Writable(it->second);
  if (profile.extensions.size() <= slot) profile.extensions.resize(slot + 1);
  profile.extensions[slot] = std::move(state);
  shard.Resize(it->second);
  evictions_ += shard.EvictOver(shard_budget_);
  return Status::Ok();
}

bool WorkingSet::UpdateExtension(
    ProfileId id, size_t slot,
    const std::function<void(const ResidentProfile& profile, std::unique_ptr<Extension>& state)>&
        update) {
  if (slot >= extension_slots_) return false;
  Shard& shard = ShardOf(id);
  std::lock_guard lock(shard.mutex);
  auto it = shard.entries.find(id);
  if (it == shard.entries.end()) return false;
  ResidentProfile& profile = shard.Writable(it->second);
  if (profile.extensions.size() <= slot) profile.extensions.resize(slot + 1);
  update(profile, profile.extensions[slot]);
  shard.Resize(it->second);
  evictions_ += shard.EvictOver(shard_budget_);
  return true;
}

void WorkingSet::Evict(ProfileId id) {
  Shard& shard = ShardOf(id);
  std::lock_guard lock(shard.mutex);
  if (shard.Remove(id)) ++evictions_;
}

void WorkingSet::EvictAll() {
  for (auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    evictions_ += shard->ring.size();
    shard->entries.clear();
    shard->ring.clear();
    shard->bytes = 0;
    shard->hand = 0;
  }
}

Stats WorkingSet::stats() const {
  Stats stats;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    stats.resident += shard->entries.size();
    stats.bytes += shard->bytes;
  }
  stats.budget = shard_budget_ * shards_.size();
  stats.hits = hits_;
  stats.misses = misses_;
  stats.evictions = evictions_;
  stats.created = created_;
  return stats;
}

}  // namespace tailor::working_set

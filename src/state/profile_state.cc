#include <algorithm>

#include "common/coding.h"
#include "tailor/state.h"

namespace tailor::state {
namespace {

constexpr uint8_t kStateFormat = 1;

Aggregate& Slot(std::vector<std::pair<std::string, Aggregate>>& table, std::string_view key) {
  auto it = std::lower_bound(table.begin(), table.end(), key,
                             [](const auto& entry, std::string_view k) { return entry.first < k; });
  if (it == table.end() || it->first != key) it = table.insert(it, {std::string(key), Aggregate{}});
  return it->second;
}

void Fold(Aggregate& into, const Aggregate& from) {
  if (from.count == 0) return;
  if (into.count == 0 || from.first < into.first) into.first = from.first;
  if (into.count == 0 || from.last > into.last) into.last = from.last;
  into.count += from.count;
  into.value_sum += from.value_sum;
}

void Put(std::string& out, const std::vector<std::pair<std::string, Aggregate>>& table) {
  coding::PutVarint64(out, table.size());
  for (const auto& [key, aggregate] : table) {
    coding::PutString(out, key);
    coding::PutVarint64(out, aggregate.count);
    coding::PutDouble(out, aggregate.value_sum);
    coding::PutSignedVarint64(out, aggregate.first);
    coding::PutSignedVarint64(out, aggregate.last - aggregate.first);
  }
}

bool Get(coding::Reader& reader, std::vector<std::pair<std::string, Aggregate>>& table) {
  uint64_t size = 0;
  if (!reader.GetVarint64(size) || size > reader.remaining().size()) return false;
  table.resize(size);
  for (auto& [key, aggregate] : table) {
    int64_t span = 0;
    if (!reader.GetString(key) || !reader.GetVarint64(aggregate.count) ||
        !reader.GetDouble(aggregate.value_sum) || !reader.GetSignedVarint64(aggregate.first) ||
        !reader.GetSignedVarint64(span)) {
      return false;
    }
    aggregate.last = aggregate.first + span;
  }
  return true;
}

}  // namespace

void BehaviourState::Apply(std::string_view type, std::string_view category, Timestamp time,
                           std::optional<double> value) {
  const Aggregate single{1, value.value_or(0), time, time};
  if (event_count == 0 || time < first_seen) first_seen = time;
  if (event_count == 0 || time > last_seen) last_seen = time;
  ++event_count;
  Fold(Slot(by_type, type), single);
  if (!category.empty()) {
    std::string key;
    key.reserve(type.size() + 1 + category.size());
    key.append(type).push_back('/');
    key.append(category);
    Fold(Slot(by_type_category, key), single);
  }
}

void BehaviourState::Merge(const BehaviourState& other) {
  if (other.event_count == 0) return;
  if (event_count == 0 || other.first_seen < first_seen) first_seen = other.first_seen;
  if (event_count == 0 || other.last_seen > last_seen) last_seen = other.last_seen;
  event_count += other.event_count;
  for (const auto& [key, aggregate] : other.by_type) Fold(Slot(by_type, key), aggregate);
  for (const auto& [key, aggregate] : other.by_type_category) {
    Fold(Slot(by_type_category, key), aggregate);
  }
}

const Aggregate* BehaviourState::ForType(std::string_view type) const {
  auto it = std::lower_bound(by_type.begin(), by_type.end(), type,
                             [](const auto& entry, std::string_view k) { return entry.first < k; });
  return it != by_type.end() && it->first == type ? &it->second : nullptr;
}

std::string BehaviourState::Encode() const {
  std::string out;
  out.push_back(static_cast<char>(kStateFormat));
  coding::PutVarint64(out, event_count);
  coding::PutSignedVarint64(out, first_seen);
  coding::PutSignedVarint64(out, last_seen - first_seen);
  Put(out, by_type);
  Put(out, by_type_category);
  return out;
}

Result<BehaviourState> BehaviourState::Decode(std::string_view bytes) {
  BehaviourState state;
  if (bytes.empty()) return state;
  coding::Reader reader(bytes);
  uint8_t format = 0;
  int64_t span = 0;
  if (!reader.GetByte(format) || format != kStateFormat || !reader.GetVarint64(state.event_count) ||
      !reader.GetSignedVarint64(state.first_seen) || !reader.GetSignedVarint64(span) ||
      !Get(reader, state.by_type) || !Get(reader, state.by_type_category)) {
    return Corruption("behavioural state is malformed");
  }
  state.last_seen = state.first_seen + span;
  return state;
}

}  // namespace tailor::state

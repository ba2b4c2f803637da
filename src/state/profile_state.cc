#include <algorithm>

#include "common/coding.h"
#include "tailor/state.h"

namespace tailor::state {
namespace {

// 2: value sums as exact micros (signed varints). 1 (read only): value sums as doubles.
constexpr uint8_t kStateFormat = 2;
constexpr uint8_t kStateFormatDoubleSums = 1;

// A profile's sum past +/- 9.2 trillion stays at the limit rather than wrapping around.
Decimal SaturatingAdd(Decimal a, Decimal b) {
  if (const std::optional<Decimal> sum = Decimal::Add(a, b)) return *sum;
  return Decimal::FromMicros(b.micros() < 0 ? INT64_MIN + 1 : INT64_MAX);
}

// Tables are short (a dozen event types): a scan with a size check beats keeping them sorted.
Aggregate& Slot(std::vector<std::pair<std::string, Aggregate>>& table, std::string_view key) {
  for (auto& [name, aggregate] : table) {
    if (name.size() == key.size() && name == key) return aggregate;
  }
  return table.emplace_back(std::string(key), Aggregate{}).second;
}

// Compares `stored` with type + "/" + category without building that string (this runs per event).
int CompareJoined(std::string_view stored, std::string_view type, std::string_view category) {
  const size_t head = std::min(stored.size(), type.size());
  if (int c = stored.substr(0, head).compare(type.substr(0, head)); c != 0) return c;
  if (stored.size() == head) return -1;  // stored is a prefix of the type, so shorter than J
  // Here head == type.size() and stored goes on: compare its next byte with '/' (unsigned, as
  // std::string does).
  const auto next = static_cast<unsigned char>(stored[head]);
  if (next != '/') return next < '/' ? -1 : 1;
  return stored.substr(head + 1).compare(category);
}

Aggregate& JoinedSlot(std::vector<std::pair<std::string, Aggregate>>& table, std::string_view type,
                      std::string_view category) {
  const size_t joined_size = type.size() + 1 + category.size();
  for (auto& [key, aggregate] : table) {
    if (key.size() == joined_size && CompareJoined(key, type, category) == 0) return aggregate;
  }
  std::string key;
  key.reserve(joined_size);
  key.append(type).push_back('/');
  key.append(category);
  return table.emplace_back(std::move(key), Aggregate{}).second;
}

void Fold(Aggregate& into, const Aggregate& from) {
  if (from.count == 0) return;
  if (into.count == 0 || from.first < into.first) into.first = from.first;
  if (into.count == 0 || from.last > into.last) into.last = from.last;
  into.count += from.count;
  into.value_sum = SaturatingAdd(into.value_sum, from.value_sum);
}

void PutEntry(std::string& out, const std::string& key, const Aggregate& aggregate) {
  coding::PutString(out, key);
  coding::PutVarint64(out, aggregate.count);
  coding::PutSignedVarint64(out, aggregate.value_sum.micros());
  coding::PutSignedVarint64(out, aggregate.first);
  coding::PutSignedVarint64(out, aggregate.last - aggregate.first);
}

void Put(std::string& out, const std::vector<const std::pair<std::string, Aggregate>*>& table) {
  coding::PutVarint64(out, table.size());
  for (const auto* entry : table) PutEntry(out, entry->first, entry->second);
}

bool GetSum(coding::Reader& reader, uint8_t format, Decimal& sum) {
  if (format == kStateFormatDoubleSums) {
    double value = 0;
    if (!reader.GetDouble(value)) return false;
    sum = Decimal::FromDoubleClamped(value).value_or(Decimal());
    return true;
  }
  int64_t micros = 0;
  if (!reader.GetSignedVarint64(micros)) return false;
  sum = Decimal::FromMicros(micros);
  return true;
}

bool Get(coding::Reader& reader, uint8_t format,
         std::vector<std::pair<std::string, Aggregate>>& table) {
  uint64_t size = 0;
  if (!reader.GetVarint64(size) || size > reader.remaining().size()) return false;
  table.resize(size);
  for (auto& [key, aggregate] : table) {
    int64_t span = 0;
    if (!reader.GetString(key) || !reader.GetVarint64(aggregate.count) ||
        !GetSum(reader, format, aggregate.value_sum) ||
        !reader.GetSignedVarint64(aggregate.first) || !reader.GetSignedVarint64(span)) {
      return false;
    }
    aggregate.last = aggregate.first + span;
  }
  return true;
}

}  // namespace

void BehaviourState::Apply(std::string_view type, std::string_view category, Timestamp time,
                           std::optional<Decimal> value) {
  const Aggregate single{1, value.value_or(Decimal()), time, time};
  if (event_count == 0 || time < first_seen) first_seen = time;
  if (event_count == 0 || time > last_seen) last_seen = time;
  ++event_count;
  Fold(Slot(by_type, type), single);
  if (!category.empty()) Fold(JoinedSlot(by_type_category, type, category), single);
}

void BehaviourState::Merge(const BehaviourState& other) {
  if (other.event_count == 0) return;
  if (event_count == 0 || other.first_seen < first_seen) first_seen = other.first_seen;
  if (event_count == 0 || other.last_seen > last_seen) last_seen = other.last_seen;
  event_count += other.event_count;
  for (const auto& [key, aggregate] : other.by_type) Fold(Slot(by_type, key), aggregate);
  for (const auto& [key, aggregate] : other.by_type_category) {
    const size_t slash = key.find('/');
    Fold(JoinedSlot(by_type_category, std::string_view(key).substr(0, slash),
                    std::string_view(key).substr(slash + 1)),
         aggregate);
  }
}

const Aggregate* BehaviourState::ForType(std::string_view type) const {
  for (const auto& [name, aggregate] : by_type) {
    if (name == type) return &aggregate;
  }
  return nullptr;
}

std::string BehaviourState::Encode() const {
  std::string out;
  out.push_back(static_cast<char>(kStateFormat));
  coding::PutVarint64(out, event_count);
  coding::PutSignedVarint64(out, first_seen);
  coding::PutSignedVarint64(out, last_seen - first_seen);
  // Sorted on disk, so equal states encode to equal bytes.
  std::vector<const std::pair<std::string, Aggregate>*> sorted;
  for (const auto* table : {&by_type, &by_type_category}) {
    sorted.clear();
    for (const auto& entry : *table) sorted.push_back(&entry);
    std::sort(sorted.begin(), sorted.end(),
              [](const auto* a, const auto* b) { return a->first < b->first; });
    Put(out, sorted);
  }
  return out;
}

std::string ProfileState::Encode() const {
  std::string out;
  coding::PutVarint64(out, next_event_block);
  out += behaviour.Encode();
  event_ids.EncodeTo(out);  // last: records written before filters end with the behaviour
  return out;
}

namespace {

bool DecodeBehaviour(coding::Reader& reader, BehaviourState& state) {
  uint8_t format = 0;
  int64_t span = 0;
  if (!reader.GetByte(format) || (format != kStateFormat && format != kStateFormatDoubleSums) ||
      !reader.GetVarint64(state.event_count) || !reader.GetSignedVarint64(state.first_seen) ||
      !reader.GetSignedVarint64(span) || !Get(reader, format, state.by_type) ||
      !Get(reader, format, state.by_type_category)) {
    return false;
  }
  state.last_seen = state.first_seen + span;
  return true;
}

}  // namespace

Result<ProfileState> ProfileState::Decode(std::string_view bytes) {
  ProfileState state;
  coding::Reader reader(bytes);
  uint64_t next_block = 0;
  if (!reader.GetVarint64(next_block)) return Corruption("profile state is malformed");
  state.next_event_block = static_cast<uint32_t>(next_block);
  if (!reader.empty() && !DecodeBehaviour(reader, state.behaviour)) {
    return Corruption("behavioural state is malformed");
  }
  // The filter only saves reads: a damaged one is dropped (the next write scans and rebuilds it)
  // rather than making the profile unreadable.
  if (!state.event_ids.DecodeFrom(reader.remaining())) state.event_ids.DecodeFrom({});
  return state;
}

Result<BehaviourState> BehaviourState::Decode(std::string_view bytes) {
  BehaviourState state;
  if (bytes.empty()) return state;
  coding::Reader reader(bytes);
  if (!DecodeBehaviour(reader, state)) return Corruption("behavioural state is malformed");
  return state;
}

}  // namespace tailor::state

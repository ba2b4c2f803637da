#include <algorithm>

#include "common/coding.h"
#include "tailor/state.h"

namespace tailor::state {
namespace {

constexpr uint8_t kFilterFormat = 1;
constexpr uint32_t kBitsPerId = 10;
constexpr uint32_t kMinCapacity = 16;
constexpr int kProbes = 6;  // ~1% false positives at capacity, far fewer below it

// The probe positions from one 64-bit hash (Kirsch-Mitzenmacher double hashing).
template <typename Visit>
void Probes(uint64_t hash, size_t bit_count, Visit&& visit) {
  const uint32_t low = static_cast<uint32_t>(hash);
  const uint32_t high = static_cast<uint32_t>(hash >> 32) | 1;
  for (int i = 0; i < kProbes; ++i) visit((low + uint64_t{high} * i) % bit_count);
}

}  // namespace

bool EventIdFilter::MayContain(uint64_t id_hash) const {
  if (!valid_) return true;
  if (count_ == 0) return false;
  bool all = true;
  Probes(id_hash, bits_.size() * 8, [&](uint64_t bit) {
    all = all && (static_cast<uint8_t>(bits_[bit / 8]) >> (bit % 8) & 1);
  });
  return all;
}

bool EventIdFilter::Add(uint64_t id_hash) {
  if (!valid_ || count_ >= capacity_) return false;
  Probes(id_hash, bits_.size() * 8, [&](uint64_t bit) {
    bits_[bit / 8] = static_cast<char>(static_cast<uint8_t>(bits_[bit / 8]) | (1u << (bit % 8)));
  });
  ++count_;
  return true;
}

void EventIdFilter::Rebuild(const std::vector<uint64_t>& id_hashes) {
  valid_ = true;
  count_ = 0;
  capacity_ = std::max<uint32_t>(kMinCapacity, static_cast<uint32_t>(2 * id_hashes.size()));
  bits_.assign((uint64_t{capacity_} * kBitsPerId + 7) / 8, '\0');
  for (uint64_t id : id_hashes) Add(id);
}

void EventIdFilter::EncodeTo(std::string& out) const {
  if (!valid_) return;
  out.push_back(static_cast<char>(kFilterFormat));
  coding::PutVarint64(out, count_);
  coding::PutVarint64(out, capacity_);
  coding::PutString(out, bits_);
}

bool EventIdFilter::DecodeFrom(std::string_view bytes) {
  *this = EventIdFilter();
  if (bytes.empty()) {
    valid_ = false;
    return true;
  }
  coding::Reader reader(bytes);
  uint8_t format = 0;
  uint64_t count = 0, capacity = 0;
  std::string_view bits;
  if (!reader.GetByte(format) || format != kFilterFormat || !reader.GetVarint64(count) ||
      !reader.GetVarint64(capacity) || !reader.GetString(bits) || !reader.empty() ||
      count > capacity || capacity > UINT32_MAX || bits.size() != (capacity * kBitsPerId + 7) / 8) {
    return false;
  }
  count_ = static_cast<uint32_t>(count);
  capacity_ = static_cast<uint32_t>(capacity);
  bits_ = std::string(bits);
  return true;
}

}  // namespace tailor::state

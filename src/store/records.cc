#include "store/records.h"

#include <algorithm>

#include "common/coding.h"
#include "common/value_coding.h"

namespace tailor::store {
namespace {

// 2: each trait followed by the time it was set. 1 (read only): no trait times (updated_at).
constexpr uint8_t kProfileFormat = 2;
constexpr uint8_t kProfileFormatUntimed = 1;
constexpr uint8_t kItemFormat = 1;
constexpr uint8_t kBlockFormat = 1;

// Bits of the event field mask: which optional fields follow, in this order.
enum EventField : uint32_t {
  kId = 1u << 0,
  kItem = 1u << 1,
  kCategory = 1u << 2,
  kOrder = 1u << 3,
  kPrice = 1u << 4,
  kQuantity = 1u << 5,
  kValue = 1u << 6,
  kChannel = 1u << 7,
  kPageUrl = 1u << 8,
  kReferrer = 1u << 9,
  kUtmSource = 1u << 10,
  kUtmMedium = 1u << 11,
  kUtmCampaign = 1u << 12,
  kUserAgent = 1u << 13,
  kIp = 1u << 14,
  kCountry = 1u << 15,
  kCity = 1u << 16,
  kProperties = 1u << 17,
  // Amounts as exact decimals (signed varint of micros). kPrice / kValue (a double) are what
  // stores written before exact amounts hold; they read back as the decimal they came from.
  kPriceExact = 1u << 18,
  kValueExact = 1u << 19,
};

// Reads the amount that `mask` says follows (as a double or exact); false when malformed.
bool GetAmount(coding::Reader& reader, uint64_t mask, uint32_t double_bit, uint32_t exact_bit,
               std::optional<Decimal>& out) {
  if ((mask & exact_bit) && (mask & double_bit)) return false;  // never written: corrupt
  if (mask & exact_bit) {
    int64_t micros = 0;
    if (!reader.GetSignedVarint64(micros)) return false;
    out = Decimal::FromMicros(micros);
  } else if (mask & double_bit) {
    double value = 0;
    if (!reader.GetDouble(value)) return false;
    out = Decimal::FromDoubleClamped(value);  // NaN: missing
  } else {
    out.reset();
  }
  return true;
}

struct ContextField {
  EventField bit;
  std::string EventContext::*member;
};
constexpr ContextField kContextFields[] = {
    {kChannel, &EventContext::channel},      {kPageUrl, &EventContext::page_url},
    {kReferrer, &EventContext::referrer},    {kUtmSource, &EventContext::utm_source},
    {kUtmMedium, &EventContext::utm_medium}, {kUtmCampaign, &EventContext::utm_campaign},
    {kUserAgent, &EventContext::user_agent}, {kIp, &EventContext::ip},
    {kCountry, &EventContext::country},      {kCity, &EventContext::city},
};

size_t UpperBoundEvent(const EventInput& event) {
  size_t bound = 4 * coding::kMaxVarintBytes + 3 * 8 + coding::UpperBoundString(event.type) +
                 coding::UpperBoundString(event.id) + coding::UpperBoundString(event.item_id) +
                 coding::UpperBoundString(event.category) +
                 coding::UpperBoundString(event.order_id);
  for (const ContextField& field : kContextFields) {
    bound += coding::UpperBoundString(event.context.*field.member);
  }
  for (const auto& [name, value] : event.properties) {
    bound += coding::UpperBoundString(name) + coding::UpperBoundString(value);
  }
  return bound;
}

void EncodeEvent(coding::RawWriter& out, const EventInput& event, Timestamp previous_time) {
  uint32_t mask = 0;
  if (!event.id.empty()) mask |= kId;
  if (!event.item_id.empty()) mask |= kItem;
  if (!event.category.empty()) mask |= kCategory;
  if (!event.order_id.empty()) mask |= kOrder;
  if (event.price) mask |= kPriceExact;
  if (event.quantity) mask |= kQuantity;
  if (event.value) mask |= kValueExact;
  for (const ContextField& field : kContextFields) {
    if (!(event.context.*field.member).empty()) mask |= field.bit;
  }
  if (!event.properties.empty()) mask |= kProperties;
  // Times are deltas from the previous event of the block: small varints.
  out.PutSignedVarint64(event.time - previous_time);
  out.PutString(event.type);
  out.PutVarint64(mask);
  if (mask & kId) out.PutString(event.id);
  if (mask & kItem) out.PutString(event.item_id);
  if (mask & kCategory) out.PutString(event.category);
  if (mask & kOrder) out.PutString(event.order_id);
  if (mask & kPriceExact) out.PutSignedVarint64(event.price->micros());
  if (mask & kQuantity) out.PutSignedVarint64(*event.quantity);
  if (mask & kValueExact) out.PutSignedVarint64(event.value->micros());
  for (const ContextField& field : kContextFields) {
    if (mask & field.bit) out.PutString(event.context.*field.member);
  }
  if (mask & kProperties) {
    out.PutVarint64(event.properties.size());
    for (const auto& [name, value] : event.properties) {
      out.PutString(name);
      out.PutString(value);
    }
  }
}

// Every field is assigned (absent ones cleared), so that `event` may be a reused one: decoding
// into events whose strings already have room allocates nothing (ResidentProfile::Events).
bool DecodeEvent(coding::Reader& reader, EventInput& event, Timestamp previous_time) {
  int64_t delta = 0;
  uint64_t mask = 0;
  if (!reader.GetSignedVarint64(delta) || !reader.GetString(event.type) ||
      !reader.GetVarint64(mask)) {
    return false;
  }
  const auto text = [&](uint64_t bit, std::string& out) {
    if (mask & bit) return reader.GetString(out);
    out.clear();
    return true;
  };
  event.time = previous_time + delta;
  event.profile_id.clear();  // the owner is the key, not part of the event
  event.anonymous_id.clear();
  if (!text(kId, event.id) || !text(kItem, event.item_id) || !text(kCategory, event.category) ||
      !text(kOrder, event.order_id)) {
    return false;
  }
  if (!GetAmount(reader, mask, kPrice, kPriceExact, event.price)) return false;
  event.quantity.reset();
  if (mask & kQuantity) {
    int64_t quantity = 0;
    if (!reader.GetSignedVarint64(quantity)) return false;
    event.quantity = quantity;
  }
  if (!GetAmount(reader, mask, kValue, kValueExact, event.value)) return false;
  for (const ContextField& field : kContextFields) {
    if (!text(field.bit, event.context.*field.member)) return false;
  }
  uint64_t count = 0;
  if ((mask & kProperties) && (!reader.GetVarint64(count) || count > reader.remaining().size())) {
    return false;
  }
  event.properties.resize(count);
  for (auto& [name, value] : event.properties) {
    if (!reader.GetString(name) || !reader.GetString(value)) return false;
  }
  return true;
}

}  // namespace

int ContextFieldIndex(std::string_view name) {
  static constexpr std::string_view kNames[] = {
      "channel",      "page_url",   "referrer", "utm_source", "utm_medium",
      "utm_campaign", "user_agent", "ip",       "country",    "city"};
  for (int i = 0; i < 10; ++i) {
    if (kNames[i] == name) return i;
  }
  return -1;
}

bool DecodeBlockHeader(std::string_view& cursor, uint64_t& count, std::string_view& id_hashes) {
  coding::Reader reader(cursor);
  uint8_t format = 0;
  if (!reader.GetByte(format) || format != kBlockFormat || !reader.GetVarint64(count) ||
      count > reader.remaining().size() / 8) {
    return false;
  }
  id_hashes = reader.remaining().substr(0, count * 8);
  cursor = reader.remaining().substr(count * 8);
  return true;
}

bool DecodeEventView(std::string_view& cursor, EventView& view, Timestamp previous_time) {
  coding::Reader reader(cursor);
  int64_t delta = 0;
  uint64_t mask = 0;
  if (!reader.GetSignedVarint64(delta) || !reader.GetString(view.type) ||
      !reader.GetVarint64(mask)) {
    return false;
  }
  view.time = previous_time + delta;
  if ((mask & kId) && !reader.GetString(view.id)) return false;
  if ((mask & kItem) && !reader.GetString(view.item_id)) return false;
  if ((mask & kCategory) && !reader.GetString(view.category)) return false;
  if ((mask & kOrder) && !reader.GetString(view.order_id)) return false;
  if (!GetAmount(reader, mask, kPrice, kPriceExact, view.price)) return false;
  if (mask & kQuantity) {
    int64_t quantity = 0;
    if (!reader.GetSignedVarint64(quantity)) return false;
    view.quantity = quantity;
  }
  if (!GetAmount(reader, mask, kValue, kValueExact, view.value)) return false;
  for (int i = 0; i < 10; ++i) {
    if ((mask & kContextFields[i].bit) && !reader.GetString(view.context[i])) return false;
  }
  if (mask & kProperties) {
    const std::string_view start = reader.remaining();
    uint64_t count = 0;
    if (!reader.GetVarint64(count) || count > reader.remaining().size()) return false;
    for (uint64_t i = 0; i < count; ++i) {
      std::string_view name, value;
      if (!reader.GetString(name) || !reader.GetString(value)) return false;
    }
    view.properties = start.substr(0, start.size() - reader.remaining().size());
  }
  cursor = reader.remaining();
  return true;
}

std::string_view FindProperty(const EventView& view, std::string_view name) {
  if (view.properties.empty()) return {};
  coding::Reader reader(view.properties);
  uint64_t count = 0;
  reader.GetVarint64(count);  // checked when the view was decoded
  for (uint64_t i = 0; i < count; ++i) {
    std::string_view key, value;
    if (!reader.GetString(key) || !reader.GetString(value)) return {};
    if (key == name) return value;
  }
  return {};
}

const TypedValue* ProfileRecord::Trait(uint32_t slot) const {
  auto it = std::lower_bound(traits.begin(), traits.end(), slot,
                             [](const auto& entry, uint32_t key) { return entry.first < key; });
  return it != traits.end() && it->first == slot ? &it->second : nullptr;
}

Timestamp ProfileRecord::TraitTime(uint32_t slot) const {
  auto it = std::lower_bound(traits.begin(), traits.end(), slot,
                             [](const auto& entry, uint32_t key) { return entry.first < key; });
  return it != traits.end() && it->first == slot ? trait_times[it - traits.begin()] : 0;
}

namespace {

void MarkDeclared(std::vector<uint32_t>& declared, uint32_t slot, bool value) {
  auto it = std::lower_bound(declared.begin(), declared.end(), slot);
  const bool present = it != declared.end() && *it == slot;
  if (value && !present) declared.insert(it, slot);
  if (!value && present) declared.erase(it);
}

}  // namespace

bool ProfileRecord::SetTrait(uint32_t slot, TypedValue value, Timestamp time, TraitSource source) {
  auto it = std::lower_bound(traits.begin(), traits.end(), slot,
                             [](const auto& entry, uint32_t key) { return entry.first < key; });
  const size_t position = it - traits.begin();
  if (it != traits.end() && it->first == slot) {
    const bool over_inferred = source == TraitSource::kDeclared && IsInferred(slot);
    if (trait_times[position] > time && !over_inferred) return false;
    if (source == TraitSource::kInferred && IsDeclared(slot)) return false;
    it->second = std::move(value);
    trait_times[position] = time;
  } else {
    traits.insert(it, {slot, std::move(value)});
    trait_times.insert(trait_times.begin() + static_cast<ptrdiff_t>(position), time);
  }
  MarkDeclared(declared, slot, source == TraitSource::kDeclared);
  MarkDeclared(inferred, slot, source == TraitSource::kInferred);
  return true;
}

bool ProfileRecord::ClearTrait(uint32_t slot, Timestamp time, TraitSource source) {
  auto it = std::lower_bound(traits.begin(), traits.end(), slot,
                             [](const auto& entry, uint32_t key) { return entry.first < key; });
  if (it == traits.end() || it->first != slot) return false;
  const size_t position = it - traits.begin();
  if (trait_times[position] > time) return false;
  if (source == TraitSource::kInferred && IsDeclared(slot)) return false;
  traits.erase(it);
  trait_times.erase(trait_times.begin() + static_cast<ptrdiff_t>(position));
  MarkDeclared(declared, slot, false);
  MarkDeclared(inferred, slot, false);
  return true;
}

std::string EncodeProfile(const ProfileRecord& record) {
  std::string out;
  out.reserve(256);
  out.push_back(static_cast<char>(kProfileFormat));
  out.push_back(record.anonymous ? 1 : 0);
  coding::PutString(out, record.external_id);
  coding::PutSignedVarint64(out, record.created_at);
  coding::PutSignedVarint64(out, record.updated_at);
  coding::PutVarint64(out, record.traits.size());
  for (size_t i = 0; i < record.traits.size(); ++i) {
    coding::PutVarint64(out, record.traits[i].first);
    EncodeTypedValue(out, record.traits[i].second);
    coding::PutSignedVarint64(out, record.trait_times[i]);
  }
  coding::PutVarint64(out, record.aliases.size());
  for (const std::string& alias : record.aliases) coding::PutString(out, alias);
  // Declared, then inferred slots, only when there are any (records before them end with the
  // aliases; the inferred list may be absent).
  if (!record.declared.empty() || !record.inferred.empty()) {
    for (const std::vector<uint32_t>* slots : {&record.declared, &record.inferred}) {
      coding::PutVarint64(out, slots->size());
      for (uint32_t slot : *slots) coding::PutVarint64(out, slot);
    }
  }
  return out;
}

Result<ProfileRecord> DecodeProfile(ProfileId id, std::string_view bytes) {
  coding::Reader reader(bytes);
  ProfileRecord record;
  record.id = id;
  uint8_t format = 0, anonymous = 0;
  uint64_t trait_count = 0, alias_count = 0;
  bool ok =
      reader.GetByte(format) && (format == kProfileFormat || format == kProfileFormatUntimed) &&
      reader.GetByte(anonymous) && reader.GetString(record.external_id) &&
      reader.GetSignedVarint64(record.created_at) && reader.GetSignedVarint64(record.updated_at) &&
      reader.GetVarint64(trait_count) && trait_count <= bytes.size();
  record.anonymous = anonymous != 0;
  for (uint64_t i = 0; ok && i < trait_count; ++i) {
    uint64_t slot = 0;
    TypedValue value;
    Timestamp time = record.updated_at;
    ok = reader.GetVarint64(slot) && DecodeTypedValue(reader, value) &&
         (format == kProfileFormatUntimed || reader.GetSignedVarint64(time));
    record.traits.emplace_back(static_cast<uint32_t>(slot), std::move(value));
    record.trait_times.push_back(time);
  }
  ok = ok && reader.GetVarint64(alias_count) && alias_count <= bytes.size();
  for (uint64_t i = 0; ok && i < alias_count; ++i) {
    ok = reader.GetString(record.aliases.emplace_back());
  }
  for (std::vector<uint32_t>* slots : {&record.declared, &record.inferred}) {
    if (!ok || reader.empty()) break;
    uint64_t count = 0;
    ok = reader.GetVarint64(count) && count <= bytes.size();
    for (uint64_t i = 0; ok && i < count; ++i) {
      uint64_t slot = 0;
      ok = reader.GetVarint64(slot) && slot <= UINT32_MAX &&
           (slots->empty() || slots->back() < slot);
      slots->push_back(static_cast<uint32_t>(slot));
    }
  }
  if (!ok || !reader.empty()) return Corruption("profile record {} is malformed", id);
  return record;
}

std::string EncodeEventBlock(const std::vector<std::pair<uint64_t, const EventInput*>>& events) {
  // Size for the worst case once, write without checks, then trim: this runs for every event.
  size_t bound = 1 + coding::kMaxVarintBytes + events.size() * 8;
  for (const auto& [id_hash, event] : events) bound += UpperBoundEvent(*event);
  std::string out(bound, '\0');
  coding::RawWriter writer(out.data());
  writer.PutByte(kBlockFormat);
  writer.PutVarint64(events.size());
  for (const auto& [id_hash, event] : events) writer.PutFixed64(id_hash);
  Timestamp previous = 0;
  for (const auto& [id_hash, event] : events) {
    EncodeEvent(writer, *event, previous);
    previous = event->time;
  }
  out.resize(writer.position() - out.data());
  return out;
}

bool DecodeEventBlockIds(std::string_view bytes, std::vector<uint64_t>& ids) {
  coding::Reader reader(bytes);
  uint8_t format = 0;
  uint64_t count = 0;
  if (!reader.GetByte(format) || format != kBlockFormat || !reader.GetVarint64(count) ||
      count > reader.remaining().size() / 8) {
    return false;
  }
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t id = 0;
    reader.GetFixed64(id);
    ids.push_back(id);
  }
  return true;
}

Status AppendEventBlock(std::string_view bytes, std::vector<EventInput>& out) {
  uint64_t count = 0;
  std::string_view id_hashes;
  if (!DecodeBlockHeader(bytes, count, id_hashes)) {
    return Corruption("event block header is malformed");
  }
  coding::Reader reader(bytes);  // past the header and the id hashes
  // Grow geometrically even when blocks come one by one, but never past what is needed.
  if (out.capacity() < out.size() + count) {
    out.reserve(std::max<size_t>(out.size() + count, 2 * out.capacity()));
  }
  Timestamp previous = 0;
  for (uint64_t i = 0; i < count; ++i) {
    if (!DecodeEvent(reader, out.emplace_back(), previous)) {
      return Corruption("event block is truncated");
    }
    previous = out.back().time;
  }
  return Status::Ok();
}

namespace {

// `event` as `view` says (the strings assigned, so a reused event keeps its buffers).
void AssignFromView(const EventView& view, EventInput& event) {
  event.time = view.time;
  event.type.assign(view.type);
  event.profile_id.clear();  // the owner is the key, not part of the event
  event.anonymous_id.clear();
  event.id.assign(view.id);
  event.item_id.assign(view.item_id);
  event.category.assign(view.category);
  event.order_id.assign(view.order_id);
  event.price = view.price;
  event.quantity = view.quantity;
  event.value = view.value;
  for (size_t i = 0; i < std::size(kContextFields); ++i) {
    (event.context.*kContextFields[i].member).assign(view.context[i]);
  }
  if (view.properties.empty()) {
    event.properties.clear();
    return;
  }
  coding::Reader reader(view.properties);
  uint64_t count = 0;
  reader.GetVarint64(count);  // checked when the view was decoded
  event.properties.resize(count);
  for (auto& [name, value] : event.properties) {
    std::string_view name_view, value_view;
    reader.GetString(name_view);
    reader.GetString(value_view);
    name.assign(name_view);
    value.assign(value_view);
  }
}

}  // namespace

Result<size_t> AssignEventBlock(std::string_view bytes, std::vector<EventInput>& out, size_t at,
                                const std::function<bool(std::string_view)>& keep) {
  uint64_t count = 0;
  std::string_view id_hashes;
  if (!DecodeBlockHeader(bytes, count, id_hashes) || at + count > out.size()) {
    return Corruption("event block header is malformed");
  }
  Timestamp previous = 0;
  size_t kept = 0;
  for (uint64_t i = 0; i < count; ++i) {
    // A zero-copy look first: the type decides whether to copy the event out, once.
    EventView view;
    if (!DecodeEventView(bytes, view, previous)) return Corruption("event block is truncated");
    previous = view.time;
    if (keep && !keep(view.type)) continue;
    AssignFromView(view, out[at + kept]);
    ++kept;
  }
  return kept;
}

uint64_t EventBlockCount(std::string_view bytes) {
  uint64_t count = 0;
  std::string_view id_hashes;
  return DecodeBlockHeader(bytes, count, id_hashes) ? count : 0;
}

Result<std::vector<StoredEvent>> DecodeEventBlock(std::string_view bytes) {
  coding::Reader reader(bytes);
  uint8_t format = 0;
  uint64_t count = 0;
  if (!reader.GetByte(format) || format != kBlockFormat || !reader.GetVarint64(count) ||
      count > reader.remaining().size() / 8) {
    return Corruption("event block header is malformed");
  }
  std::vector<StoredEvent> events(count);
  for (StoredEvent& stored : events) reader.GetFixed64(stored.id_hash);
  Timestamp previous = 0;
  for (StoredEvent& stored : events) {
    if (!DecodeEvent(reader, stored.event, previous)) return Corruption("event block is truncated");
    previous = stored.event.time;
  }
  return events;
}

std::string EncodeItem(const ItemRecord& item) {
  std::string out;
  out.push_back(static_cast<char>(kItemFormat));
  coding::PutString(out, item.name);
  coding::PutString(out, item.category);
  // Price: 0 none, 1 a double (stores written before exact amounts), 2 exact micros.
  out.push_back(item.price ? 2 : 0);
  if (item.price) coding::PutSignedVarint64(out, item.price->micros());
  coding::PutVarint64(out, item.attributes.size());
  for (const auto& [name, value] : item.attributes) {
    coding::PutString(out, name);
    EncodeTypedValue(out, value);
  }
  return out;
}

Result<ItemRecord> DecodeItem(std::string_view id, std::string_view bytes) {
  coding::Reader reader(bytes);
  ItemRecord item;
  item.id = std::string(id);
  uint8_t format = 0, has_price = 0;
  uint64_t count = 0;
  bool ok = reader.GetByte(format) && format == kItemFormat && reader.GetString(item.name) &&
            reader.GetString(item.category) && reader.GetByte(has_price);
  if (ok && has_price == 2) {
    int64_t micros = 0;
    ok = reader.GetSignedVarint64(micros);
    item.price = Decimal::FromMicros(micros);
  } else if (ok && has_price == 1) {
    double price = 0;
    ok = reader.GetDouble(price);
    item.price = Decimal::FromDoubleClamped(price);
  } else {
    ok = ok && has_price == 0;
  }
  ok = ok && reader.GetVarint64(count) && count <= bytes.size();
  for (uint64_t i = 0; ok && i < count; ++i) {
    auto& [name, value] = item.attributes.emplace_back();
    ok = reader.GetString(name) && DecodeTypedValue(reader, value);
  }
  if (!ok) return Corruption("item record '{}' is malformed", id);
  return item;
}

std::string ProfileKey(ProfileId id) {
  std::string key;
  coding::PutBigEndian32(key, id);
  return key;
}
ProfileId ProfileIdFromKey(std::string_view key) {
  return key.size() >= 4 ? coding::ReadBigEndian32(key.data()) : kNoProfile;
}
std::string EventBlockKey(ProfileId owner, uint32_t block) {
  std::string key;
  coding::PutBigEndian32(key, owner);
  coding::PutBigEndian32(key, block);
  return key;
}
std::string EventRangeBegin(ProfileId owner) { return ProfileKey(owner); }
std::string KnownIdKey(std::string_view external_id) {
  std::string key("p:");
  key.append(external_id);
  return key;
}
std::string AnonymousIdKey(std::string_view anonymous_id) {
  std::string key("a:");
  key.append(anonymous_id);
  return key;
}
std::string EncodeProfileId(ProfileId id) { return ProfileKey(id); }
std::optional<ProfileId> DecodeProfileId(std::string_view bytes) {
  if (bytes.size() != 4) return std::nullopt;
  return coding::ReadBigEndian32(bytes.data());
}

}  // namespace tailor::store

#include "tailor/snapshot.h"

#include <absl/container/flat_hash_map.h>
#include <tbb/task_group.h>

#include <algorithm>
#include <bit>
#include <deque>
#include <thread>

#include "common/coding.h"
#include "snapshot/parts.h"
#include "store/records.h"
#include "tailor/store.h"

namespace tailor::snapshot {

struct Dictionary::Index {
  // Keys view into values_ (std::string moves keep heap buffers, but short strings live inline,
  // so keys view a stable copy in `arena` instead).
  absl::flat_hash_map<std::string_view, uint32_t> codes;
  std::deque<std::string> arena;
};

Dictionary::Dictionary() = default;
Dictionary::Dictionary(Dictionary&&) noexcept = default;
Dictionary& Dictionary::operator=(Dictionary&&) noexcept = default;
Dictionary::~Dictionary() = default;

uint32_t Dictionary::Intern(std::string_view text) {
  if (!index_) index_ = std::make_unique<Index>();
  auto it = index_->codes.find(text);
  if (it != index_->codes.end()) return it->second;
  const auto code = static_cast<uint32_t>(values_.size());
  values_.emplace_back(text);
  index_->codes.emplace(index_->arena.emplace_back(text), code);
  return code;
}

uint32_t Dictionary::Find(std::string_view text) const {
  if (!index_) return kNullCode;
  auto it = index_->codes.find(text);
  return it == index_->codes.end() ? kNullCode : it->second;
}

size_t Dictionary::memory_bytes() const {
  size_t bytes = values_.capacity() * sizeof(std::string);
  for (const std::string& value : values_) bytes += value.capacity() > 15 ? value.capacity() : 0;
  if (index_) bytes += index_->codes.capacity() * (sizeof(std::string_view) + 8) + bytes / 2;
  return bytes;
}

size_t Bitmap::Count() const {
  size_t count = 0;
  for (uint64_t word : words) count += std::popcount(word);
  return count;
}

size_t TraitColumn::memory_bytes() const {
  return present.words.size() * 8 + ints.capacity() * 8 + doubles.capacity() * 8 +
         codes.capacity() * 4 + list_offsets.capacity() * 4 + list_codes.capacity() * 4 +
         dictionary.memory_bytes();
}

size_t EventColumns::memory_bytes() const {
  size_t bytes = offsets.capacity() * 8 + time.capacity() * 8 + type.capacity() * 4 +
                 value.capacity() * 8 + price.capacity() * 8 + quantity.capacity() * 4 +
                 item.codes.capacity() * 4 + item.dictionary.memory_bytes() +
                 category.codes.capacity() * 4 + category.dictionary.memory_bytes() +
                 types.memory_bytes();
  for (const auto& [name, column] : extra) {
    bytes += column.codes.capacity() * 4 + column.dictionary.memory_bytes();
  }
  return bytes;
}

std::string_view Snapshot::external_id(ProfileId id) const {
  if (id >= profile_count_) return {};
  return std::string_view(id_bytes_).substr(id_offsets_[id], id_offsets_[id + 1] - id_offsets_[id]);
}

const TraitColumn* Snapshot::trait(std::string_view name) const {
  for (const TraitColumn& column : traits_) {
    if (column.name == name) return &column;
  }
  return nullptr;
}

size_t Snapshot::memory_bytes() const {
  size_t bytes = known_.words.size() * 8 * 2 + id_bytes_.capacity() + id_offsets_.capacity() * 8 +
                 events_.memory_bytes();
  for (const TraitColumn& column : traits_) bytes += column.memory_bytes();
  return bytes;
}

namespace {

// Sources of extra event columns other than context fields.
constexpr int kOrderId = -2;
constexpr int kProperty = -3;
constexpr std::string_view kPropertyPrefix = "properties.";

uint32_t CodeOrNull(EventStringColumn& column, std::string_view text) {
  return text.empty() ? kNullCode : column.dictionary.Intern(text);
}

void BuildProfiles(const store::Store& store, const Schema& schema, const store::ReadPoint& at,
                   Part& part) {
  const size_t count = part.end - part.begin;
  part.known.assign(count, false);
  part.anonymous.assign(count, false);
  part.id_offsets.assign(count + 1, 0);
  part.traits.resize(schema.traits().size());
  for (const TraitDef& def : schema.traits()) InitTraitColumn(def, count, part.traits[def.slot]);
  // Ids without a record (deleted, merged away) keep an empty external id and no traits.
  std::vector<std::string> ids(count);
  Status callback_status;
  Status scanned = store.Scan(
      store::Table::kProfiles, store::ProfileKey(part.begin), store::ProfileKey(part.end),
      [&](std::string_view key, std::string_view value) {
        const ProfileId id = store::ProfileIdFromKey(key);
        auto record = store::DecodeProfile(id, value);
        if (!record.ok()) {
          callback_status = record.status();
          return false;
        }
        const size_t index = id - part.begin;
        (record->anonymous ? part.anonymous : part.known)[index] = true;
        ids[index] = std::move(record->external_id);
        for (const auto& [slot, value] : record->traits) {
          if (slot >= part.traits.size() || std::holds_alternative<std::monostate>(value.value)) {
            continue;
          }
          TraitColumn& column = part.traits[slot];
          if (value.type != column.type) continue;  // the schema is checked on write
          column.present.Set(index);
          switch (column.type) {
            case TraitType::kInt:
            case TraitType::kTimestamp:
              column.ints[index] = std::get<int64_t>(value.value);
              break;
            case TraitType::kBool:
              column.ints[index] = std::get<bool>(value.value) ? 1 : 0;
              break;
            case TraitType::kDouble:
              column.doubles[index] = std::get<double>(value.value);
              break;
            case TraitType::kString:
              column.codes[index] = column.dictionary.Intern(std::get<std::string>(value.value));
              break;
            case TraitType::kStringList: {
              for (const std::string& element : std::get<StringList>(value.value)) {
                column.list_codes.push_back(column.dictionary.Intern(element));
              }
              column.list_offsets[index + 1] = static_cast<uint32_t>(column.list_codes.size());
              break;
            }
          }
        }
        return true;
      },
      &at);
  // A record that does not decode stops the scan, which itself went well.
  part.status = callback_status.ok() ? scanned : callback_status;
  for (size_t i = 0; i < count; ++i) {
    part.id_bytes += ids[i];
    part.id_offsets[i + 1] = part.id_bytes.size();
  }
  for (TraitColumn& column : part.traits) {
    if (column.type != TraitType::kStringList) continue;
    for (size_t i = 0; i < count; ++i) {
      column.list_offsets[i + 1] = std::max(column.list_offsets[i + 1], column.list_offsets[i]);
    }
  }
}

// Sorts events [begin, end) of every column by time, keeping arrival order on ties.
void SortRangeByTime(EventColumns& events,
                     std::vector<std::pair<std::string, EventStringColumn*>>& extra, size_t begin,
                     size_t end) {
  std::vector<size_t> order(end - begin);
  for (size_t i = 0; i < order.size(); ++i) order[i] = begin + i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return events.time[a] < events.time[b]; });
  auto permute = [&](auto& column) {
    std::vector<typename std::decay_t<decltype(column)>::value_type> sorted;
    sorted.reserve(order.size());
    for (size_t index : order) sorted.push_back(column[index]);
    std::copy(sorted.begin(), sorted.end(), column.begin() + begin);
  };
  permute(events.time);
  permute(events.type);
  permute(events.value);
  permute(events.price);
  permute(events.quantity);
  permute(events.item.codes);
  permute(events.category.codes);
  for (auto& [name, column] : extra) permute(column->codes);
}

void BuildEvents(const store::Store& store, const store::ReadPoint& at, Part& part) {
  const size_t count = part.end - part.begin;
  EventColumns& events = part.events;
  events.offsets.assign(count + 1, 0);
  // Reserving the expected size up front spares the copies and page faults of growing.
  const size_t expected = part.expected_events;
  events.time.reserve(expected);
  events.type.reserve(expected);
  events.value.reserve(expected);
  events.price.reserve(expected);
  events.quantity.reserve(expected);
  events.item.codes.reserve(expected);
  events.category.codes.reserve(expected);
  for (auto& [name, column] : part.extra_columns) column->codes.reserve(expected);
  ProfileId owner = kNoProfile;
  size_t owner_begin = 0, owner_blocks = 0;
  // Each block is sorted; a profile with several blocks gets its range sorted once at the end.
  auto finish_owner = [&] {
    if (owner == kNoProfile) return;
    if (owner_blocks > 1 && !std::is_sorted(events.time.begin() + owner_begin, events.time.end())) {
      SortRangeByTime(events, part.extra_columns, owner_begin, events.time.size());
    }
    events.offsets[owner - part.begin + 1] = events.time.size();
  };
  auto append = [&](const store::EventView& view) {
    events.time.push_back(view.time);
    events.type.push_back(events.types.Intern(view.type));
    events.price.push_back(view.price ? view.price->micros() : kNoAmount);
    // The engine refuses quantities outside int32 (and kNoQuantity itself).
    events.quantity.push_back(view.quantity ? static_cast<int32_t>(*view.quantity) : kNoQuantity);
    const std::optional<Decimal> value = EventValue(view.value, view.price, view.quantity);
    events.value.push_back(value ? value->micros() : kNoAmount);
    events.item.codes.push_back(CodeOrNull(events.item, view.item_id));
    events.category.codes.push_back(CodeOrNull(events.category, view.category));
    for (size_t i = 0; i < part.extra_columns.size(); ++i) {
      const int source = part.extra_context_index[i];
      const std::string_view text =
          source == kOrderId ? view.order_id
          : source == kProperty
              ? store::FindProperty(
                    view,
                    std::string_view(part.extra_columns[i].first).substr(kPropertyPrefix.size()))
              : view.context[source];
      part.extra_columns[i].second->codes.push_back(
          CodeOrNull(*part.extra_columns[i].second, text));
    }
  };
  Status callback_status;
  Status scanned = store.Scan(
      store::Table::kEvents, store::EventRangeBegin(part.begin), store::EventRangeBegin(part.end),
      [&](std::string_view key, std::string_view value) {
        const ProfileId block_owner = store::ProfileIdFromKey(key);
        if (block_owner != owner) {
          finish_owner();
          owner = block_owner;
          owner_begin = events.time.size();
          owner_blocks = 0;
        }
        ++owner_blocks;
        Status decoded = store::ForEachEventInBlock(value, append);
        if (!decoded.ok()) {
          callback_status = decoded;
          return false;
        }
        return true;
      },
      &at);
  part.status = callback_status.ok() ? scanned : callback_status;
  finish_owner();
  // Profiles without events repeat the previous end offset.
  for (size_t i = 0; i < count; ++i) {
    events.offsets[i + 1] = std::max(events.offsets[i + 1], events.offsets[i]);
  }
}

// Appends `codes` (from `from`) to `into`'s codes, translated into `into`'s dictionary.
void AppendRemapped(const std::vector<uint32_t>& codes, const Dictionary& from, Dictionary& into,
                    std::vector<uint32_t>& out) {
  std::vector<uint32_t> remap(from.size());
  for (uint32_t code = 0; code < from.size(); ++code) remap[code] = into.Intern(from[code]);
  for (uint32_t code : codes) out.push_back(code == kNullCode ? kNullCode : remap[code]);
}

}  // namespace

void InitTraitColumn(const TraitDef& def, size_t count, TraitColumn& column) {
  column.name = def.name;
  column.type = def.type;
  column.category = def.category;
  column.present.Resize(count);
  switch (def.type) {
    case TraitType::kInt:
    case TraitType::kTimestamp:
    case TraitType::kBool:
      column.ints.assign(count, 0);
      break;
    case TraitType::kDouble:
      column.doubles.assign(count, 0);
      break;
    case TraitType::kString:
      column.codes.assign(count, kNullCode);
      break;
    case TraitType::kStringList:
      column.list_offsets.assign(count + 1, 0);
      break;
  }
}

// The fields asked for, each once, and where each comes from: a context field (its index),
// order_id (kOrderId) or a property (kProperty, by the name after "properties.").
Status ResolveFields(const std::vector<std::string>& asked, std::vector<std::string>& fields,
                     std::vector<int>& extra_index) {
  // A field asked for twice is one column (two would each get every event's code).
  for (const std::string& field : asked) {
    if (std::find(fields.begin(), fields.end(), field) == fields.end()) fields.push_back(field);
  }
  for (const std::string& field : fields) {
    int index = store::ContextFieldIndex(field);
    if (field == "order_id") index = kOrderId;
    if (field.starts_with(kPropertyPrefix) && field.size() > kPropertyPrefix.size()) {
      index = kProperty;
    }
    if (index == -1) return InvalidArgument("unknown event field '{}' for a snapshot", field);
    extra_index.push_back(index);
  }
  return Status::Ok();
}

// Prepares `part` for the ids [begin, end) and reads them at `at`.
void BuildPart(const store::Store& store, const Schema& schema, const store::ReadPoint& at,
               const std::vector<std::string>& fields, const std::vector<int>& extra_index,
               ProfileId begin, ProfileId end, size_t expected_events, Part& part) {
  part = Part{};
  part.begin = begin;
  part.end = end;
  part.expected_events = expected_events;
  for (size_t f = 0; f < fields.size(); ++f) {
    part.extra_columns.emplace_back(fields[f], &part.events.extra[fields[f]]);
    part.extra_context_index.push_back(extra_index[f]);
  }
  BuildProfiles(store, schema, at, part);
  if (part.status.ok()) BuildEvents(store, at, part);
}

Result<std::unique_ptr<Snapshot>> Build(const store::Store& store, const Schema& schema,
                                        uint32_t profile_count, const SnapshotOptions& options) {
  const int threads =
      options.threads > 0 ? options.threads : std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::string> fields;
  std::vector<int> extra_index;
  TAILOR_RETURN_IF_ERROR(ResolveFields(options.event_fields, fields, extra_index));
  std::unique_ptr<store::ReadPoint> at = store.TakeReadPoint();
  const int part_count = std::max(1, std::min<int>(threads, profile_count / 1024 + 1));
  std::vector<Part> parts(part_count);
  const size_t expected = options.expected_events / part_count + options.expected_events / 50;
  const auto build = [&](int i) {
    BuildPart(store, schema, *at, fields, extra_index,
              static_cast<ProfileId>(uint64_t{profile_count} * i / part_count),
              static_cast<ProfileId>(uint64_t{profile_count} * (i + 1) / part_count), expected,
              parts[i]);
  };
  std::vector<std::thread> workers;
  for (int i = 1; i < part_count; ++i) workers.emplace_back(build, i);
  build(0);
  for (std::thread& worker : workers) worker.join();
  for (const Part& part : parts) TAILOR_RETURN_IF_ERROR(part.status);
  return Assembler::Concatenate(parts, schema, profile_count, fields, /*release_parts=*/true);
}

std::unique_ptr<Snapshot> Assembler::Concatenate(std::vector<Part>& parts, const Schema& schema,
                                                 uint32_t profile_count,
                                                 const std::vector<std::string>& fields,
                                                 bool release_parts) {
  // Concatenate the parts in id order.
  auto snapshot = std::unique_ptr<Snapshot>(new Snapshot());
  snapshot->profile_count_ = profile_count;
  snapshot->known_.Resize(profile_count);
  snapshot->anonymous_.Resize(profile_count);
  snapshot->id_offsets_.reserve(profile_count + 1);
  snapshot->id_offsets_.push_back(0);
  snapshot->traits_.resize(schema.traits().size());
  size_t total_events = 0;
  for (const Part& part : parts) total_events += part.events.size();
  EventColumns& events = snapshot->events_;
  events.offsets.reserve(profile_count + 1);
  events.offsets.push_back(0);
  events.time.reserve(total_events);
  events.type.reserve(total_events);
  events.value.reserve(total_events);
  events.price.reserve(total_events);
  events.quantity.reserve(total_events);
  events.item.codes.reserve(total_events);
  events.category.codes.reserve(total_events);
  for (const std::string& field : fields) events.extra[field].codes.reserve(total_events);
  for (size_t slot = 0; slot < schema.traits().size(); ++slot) {
    TraitColumn& column = snapshot->traits_[slot];
    const TraitDef& def = schema.traits()[slot];
    column.name = def.name;
    column.type = def.type;
    column.category = def.category;
    column.present.Resize(profile_count);
    if (def.type == TraitType::kStringList) column.list_offsets.push_back(0);
  }
  // Ids and bitmaps are cheap; the columns are copied in parallel, one task per column.
  for (Part& part : parts) {
    const size_t count = part.end - part.begin;
    const uint64_t id_base = snapshot->id_bytes_.size();
    snapshot->id_bytes_ += part.id_bytes;
    for (size_t i = 0; i < count; ++i) {
      if (part.known[i]) snapshot->known_.Set(part.begin + i);
      if (part.anonymous[i]) snapshot->anonymous_.Set(part.begin + i);
      snapshot->id_offsets_.push_back(id_base + part.id_offsets[i + 1]);
    }
    const uint64_t event_base = events.offsets.back();
    for (size_t i = 0; i < count; ++i) {
      events.offsets.push_back(event_base + part.events.offsets[i + 1]);
    }
  }
  tbb::task_group tasks;
  for (size_t slot = 0; slot < schema.traits().size(); ++slot) {
    tasks.run([&, slot] {
      TraitColumn& into = snapshot->traits_[slot];
      for (Part& part : parts) {
        const size_t count = part.end - part.begin;
        TraitColumn& from = part.traits[slot];
        for (size_t i = 0; i < count; ++i) {
          if (from.present.Test(i)) into.present.Set(part.begin + i);
        }
        into.ints.insert(into.ints.end(), from.ints.begin(), from.ints.end());
        into.doubles.insert(into.doubles.end(), from.doubles.begin(), from.doubles.end());
        if (into.type == TraitType::kString) {
          AppendRemapped(from.codes, from.dictionary, into.dictionary, into.codes);
        } else if (into.type == TraitType::kStringList) {
          const auto base = static_cast<uint32_t>(into.list_codes.size());
          AppendRemapped(from.list_codes, from.dictionary, into.dictionary, into.list_codes);
          for (size_t i = 0; i < count; ++i) {
            into.list_offsets.push_back(base + from.list_offsets[i + 1]);
          }
        }
        if (release_parts) from = TraitColumn{};
      }
    });
  }
  auto concat = [&](auto member) {
    tasks.run([&, member] {
      auto& into = events.*member;
      for (Part& part : parts) {
        auto& from = part.events.*member;
        into.insert(into.end(), from.begin(), from.end());
        if (release_parts) std::decay_t<decltype(from)>().swap(from);
      }
    });
  };
  concat(&EventColumns::time);
  concat(&EventColumns::value);
  concat(&EventColumns::price);
  concat(&EventColumns::quantity);
  tasks.run([&] {
    for (Part& part : parts)
      AppendRemapped(part.events.type, part.events.types, events.types, events.type);
  });
  auto remap_strings = [&](EventStringColumn& into, auto column_of) {
    tasks.run([&into, column_of, &parts, release_parts] {
      for (Part& part : parts) {
        EventStringColumn& from = column_of(part);
        AppendRemapped(from.codes, from.dictionary, into.dictionary, into.codes);
        if (release_parts) from = EventStringColumn{};
      }
    });
  };
  remap_strings(events.item, [](Part& part) -> EventStringColumn& { return part.events.item; });
  remap_strings(events.category,
                [](Part& part) -> EventStringColumn& { return part.events.category; });
  for (const std::string& field : fields) {
    remap_strings(events.extra[field],
                  [field](Part& part) -> EventStringColumn& { return part.events.extra[field]; });
  }
  tasks.wait();
  return snapshot;
}

}  // namespace tailor::snapshot

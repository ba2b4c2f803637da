// Splicing a part: the rows of the profiles that changed are read again from the store, the
// others are copied from the part as it was. A refresh then costs what changed (a seek per
// changed profile, a copy of the part's columns), not a scan of the part's whole history.

#include <algorithm>
#include <span>
#include <vector>

#include "snapshot/parts.h"

namespace tailor::snapshot {
namespace {

// How codes of a part read again translate into the old part's dictionaries (which the spliced
// part takes over). An empty table is the identity (the rows copied from the old part).
struct Translation {
  std::vector<std::vector<uint32_t>> traits;  // by slot; string and list traits
  std::vector<uint32_t> types, items, categories;
  std::vector<std::vector<uint32_t>> extras;  // by position in extra_columns
};

std::vector<uint32_t> Translate(const Dictionary& from, Dictionary& into) {
  std::vector<uint32_t> table(from.size());
  for (uint32_t code = 0; code < from.size(); ++code) table[code] = into.Intern(from[code]);
  return table;
}

Translation TranslationInto(const Part& fresh, Part& old) {
  Translation translation;
  translation.traits.resize(fresh.traits.size());
  for (size_t slot = 0; slot < fresh.traits.size(); ++slot) {
    translation.traits[slot] =
        Translate(fresh.traits[slot].dictionary, old.traits[slot].dictionary);
  }
  translation.types = Translate(fresh.events.types, old.events.types);
  translation.items = Translate(fresh.events.item.dictionary, old.events.item.dictionary);
  translation.categories =
      Translate(fresh.events.category.dictionary, old.events.category.dictionary);
  for (size_t i = 0; i < fresh.extra_columns.size(); ++i) {
    translation.extras.push_back(Translate(fresh.extra_columns[i].second->dictionary,
                                           old.extra_columns[i].second->dictionary));
  }
  return translation;
}

// Appends `codes[first, last)` to `out`, through `table` unless it is empty.
void AppendCodes(const std::vector<uint32_t>& codes, size_t first, size_t last,
                 const std::vector<uint32_t>* table, std::vector<uint32_t>& out) {
  if (table == nullptr) {
    out.insert(out.end(), codes.begin() + first, codes.begin() + last);
    return;
  }
  for (size_t i = first; i < last; ++i) {
    out.push_back(codes[i] == kNullCode ? kNullCode : (*table)[codes[i]]);
  }
}

template <typename T>
void AppendRange(const std::vector<T>& from, size_t first, size_t last, std::vector<T>& out) {
  out.insert(out.end(), from.begin() + first, from.begin() + last);
}

// Appends the rows [first, last) of `from` (indexes within it) to `out`.
void AppendRows(const Part& from, size_t first, size_t last, const Translation* translation,
                Part& out) {
  if (first >= last) return;
  const size_t out_row = out.known.size();
  for (size_t i = first; i < last; ++i) {
    out.known.push_back(from.known[i]);
    out.anonymous.push_back(from.anonymous[i]);
  }
  const uint64_t id_shift = out.id_bytes.size() - from.id_offsets[first];
  out.id_bytes.append(from.id_bytes, from.id_offsets[first],
                      from.id_offsets[last] - from.id_offsets[first]);
  for (size_t i = first; i < last; ++i) out.id_offsets.push_back(from.id_offsets[i + 1] + id_shift);

  for (size_t slot = 0; slot < from.traits.size(); ++slot) {
    const TraitColumn& source = from.traits[slot];
    TraitColumn& into = out.traits[slot];
    for (size_t i = first; i < last; ++i) {
      if (source.present.Test(i)) into.present.Set(out_row + (i - first));
    }
    const std::vector<uint32_t>* table = translation ? &translation->traits[slot] : nullptr;
    switch (source.type) {
      case TraitType::kInt:
      case TraitType::kTimestamp:
      case TraitType::kBool:
        AppendRange(source.ints, first, last, into.ints);
        break;
      case TraitType::kDouble:
        AppendRange(source.doubles, first, last, into.doubles);
        break;
      case TraitType::kString:
        AppendCodes(source.codes, first, last, table, into.codes);
        break;
      case TraitType::kStringList:
        for (size_t i = first; i < last; ++i) {
          AppendCodes(source.list_codes, source.list_offsets[i], source.list_offsets[i + 1], table,
                      into.list_codes);
          into.list_offsets.push_back(static_cast<uint32_t>(into.list_codes.size()));
        }
        break;
    }
  }

  const EventColumns& events = from.events;
  EventColumns& out_events = out.events;
  const size_t event_first = events.offsets[first], event_last = events.offsets[last];
  const uint64_t event_shift = out_events.time.size() - event_first;
  for (size_t i = first; i < last; ++i)
    out_events.offsets.push_back(events.offsets[i + 1] + event_shift);
  AppendRange(events.time, event_first, event_last, out_events.time);
  AppendRange(events.value, event_first, event_last, out_events.value);
  AppendRange(events.price, event_first, event_last, out_events.price);
  AppendRange(events.quantity, event_first, event_last, out_events.quantity);
  AppendCodes(events.type, event_first, event_last, translation ? &translation->types : nullptr,
              out_events.type);
  AppendCodes(events.item.codes, event_first, event_last,
              translation ? &translation->items : nullptr, out_events.item.codes);
  AppendCodes(events.category.codes, event_first, event_last,
              translation ? &translation->categories : nullptr, out_events.category.codes);
  for (size_t f = 0; f < from.extra_columns.size(); ++f) {
    AppendCodes(from.extra_columns[f].second->codes, event_first, event_last,
                translation ? &translation->extras[f] : nullptr,
                out.extra_columns[f].second->codes);
  }
}

// `out` empty and shaped like `old` (same fields and traits), for ids [old.begin, end).
void Prepare(const Part& old, ProfileId end, Part& out) {
  out = Part{};
  out.begin = old.begin;
  out.end = end;
  const size_t count = end - old.begin;
  for (size_t f = 0; f < old.extra_columns.size(); ++f) {
    const std::string& field = old.extra_columns[f].first;
    out.extra_columns.emplace_back(field, &out.events.extra[field]);
    out.extra_context_index.push_back(old.extra_context_index[f]);
  }
  out.id_offsets.reserve(count + 1);
  out.id_offsets.push_back(0);
  out.traits.resize(old.traits.size());
  for (size_t slot = 0; slot < old.traits.size(); ++slot) {
    TraitColumn& column = out.traits[slot];
    column.name = old.traits[slot].name;
    column.type = old.traits[slot].type;
    column.category = old.traits[slot].category;
    column.present.Resize(count);
    if (column.type == TraitType::kStringList) column.list_offsets.push_back(0);
  }
  const size_t events = old.events.size();
  out.events.offsets.reserve(count + 1);
  out.events.offsets.push_back(0);
  out.events.time.reserve(events);
  out.events.value.reserve(events);
  out.events.price.reserve(events);
  out.events.quantity.reserve(events);
  out.events.type.reserve(events);
  out.events.item.codes.reserve(events);
  out.events.category.codes.reserve(events);
  for (auto& [field, column] : out.extra_columns) column->codes.reserve(events);
}

// The old part's dictionaries, grown by the translations, become the spliced part's.
void TakeDictionaries(Part& old, Part& out) {
  for (size_t slot = 0; slot < old.traits.size(); ++slot) {
    out.traits[slot].dictionary = std::move(old.traits[slot].dictionary);
  }
  out.events.types = std::move(old.events.types);
  out.events.item.dictionary = std::move(old.events.item.dictionary);
  out.events.category.dictionary = std::move(old.events.category.dictionary);
  for (size_t f = 0; f < old.extra_columns.size(); ++f) {
    out.extra_columns[f].second->dictionary = std::move(old.extra_columns[f].second->dictionary);
  }
}

}  // namespace

bool OnlyAddsTraits(const Schema& before, const Schema& after) {
  const auto& old_traits = before.traits();
  const auto& new_traits = after.traits();
  if (new_traits.size() < old_traits.size()) return false;
  for (size_t i = 0; i < old_traits.size(); ++i) {
    const TraitDef &a = old_traits[i], &b = new_traits[i];
    if (a.name != b.name || a.type != b.type || a.category != b.category || a.slot != b.slot) {
      return false;
    }
  }
  return true;
}

void AddEmptyTraitColumns(const Schema& schema, Part& part) {
  if (part.end == 0) return;  // never built
  const size_t count = part.end - part.begin;
  for (size_t slot = part.traits.size(); slot < schema.traits().size(); ++slot) {
    InitTraitColumn(schema.traits()[slot], count, part.traits.emplace_back());
  }
}

size_t DictionaryEntries(const Part& part) {
  size_t entries = part.events.types.size() + part.events.item.dictionary.size() +
                   part.events.category.dictionary.size();
  for (const TraitColumn& column : part.traits) entries += column.dictionary.size();
  for (const auto& [field, column] : part.extra_columns) entries += column->dictionary.size();
  return entries;
}

void SplicePart(const store::Store& store, const Schema& schema, const store::ReadPoint& at,
                const std::vector<std::string>& fields, const std::vector<int>& extra_index,
                Part& old, std::span<const ProfileId> changed, ProfileId end, Part& out) {
  // The changed profiles, each read again (a seek into each table), and the ids added since
  // the part was built, read as one range.
  std::vector<Part> fresh(changed.size() + 1);
  for (size_t k = 0; k < changed.size(); ++k) {
    BuildPart(store, schema, at, fields, extra_index, changed[k], changed[k] + 1, 0, fresh[k]);
    if (!fresh[k].status.ok()) {
      out.status = fresh[k].status;
      return;
    }
  }
  Part& tail = fresh.back();
  if (end > old.end) {
    BuildPart(store, schema, at, fields, extra_index, old.end, end, 0, tail);
    if (!tail.status.ok()) {
      out.status = tail.status;
      return;
    }
  }
  std::vector<Translation> translations;
  translations.reserve(fresh.size());
  for (const Part& part : fresh) translations.push_back(TranslationInto(part, old));

  Prepare(old, end, out);
  size_t row = 0;  // the next row of `old` to copy
  for (size_t k = 0; k < changed.size(); ++k) {
    const size_t changed_row = changed[k] - old.begin;
    AppendRows(old, row, changed_row, nullptr, out);
    AppendRows(fresh[k], 0, 1, &translations[k], out);
    row = changed_row + 1;
  }
  AppendRows(old, row, old.end - old.begin, nullptr, out);
  if (end > old.end) AppendRows(tail, 0, end - old.end, &translations.back(), out);
  TakeDictionaries(old, out);
}

}  // namespace tailor::snapshot

// The features a propensity model reads: traits (numbers, flags, one-hot categories) and
// behaviour as of a cut-off, from a snapshot.

#include <algorithm>
#include <cmath>
#include <limits>

#include "tailor/propensity.h"

namespace tailor::analytics {
namespace {

constexpr double kMissing = std::numeric_limits<double>::quiet_NaN();
constexpr double kDayMs = 86'400'000.0;

// Appends `count` columns to every row of `m` (row-major, so the values move).
void Widen(FeatureMatrix& m, size_t count) {
  const size_t old_columns = m.columns, columns = old_columns + count;
  std::vector<double> values(m.rows * columns, 0.0);
  for (size_t i = 0; i < m.rows; ++i) {
    std::copy_n(m.values.data() + i * old_columns, old_columns, values.data() + i * columns);
  }
  m.values = std::move(values);
  m.columns = columns;
}

}  // namespace

Result<ModelFeatures> TraitModelFeatures(const snapshot::Snapshot& snapshot,
                                         const std::vector<std::string>& traits,
                                         const std::vector<ProfileId>* rows) {
  ModelFeatures f;
  if (rows != nullptr) {
    f.ids = *rows;
  } else {
    for (ProfileId id = 0; id < snapshot.profile_count(); ++id) {
      if (snapshot.known().Test(id)) f.ids.push_back(id);
    }
  }
  f.matrix.rows = f.ids.size();
  for (const std::string& name : traits) {
    const snapshot::TraitColumn* column = snapshot.trait(name);
    if (column == nullptr) return NotFound("no trait '{}'", name);
    FeatureMatrix& m = f.matrix;
    const size_t first = m.columns;
    FeatureSource source{name, false, {}, {}};
    switch (column->type) {
      case TraitType::kInt:
      case TraitType::kDouble:
      case TraitType::kBool:
      case TraitType::kTimestamp: {
        Widen(m, 1);
        m.names.push_back(name);
        source.columns = {first};
        for (size_t r = 0; r < m.rows; ++r) {
          const ProfileId id = f.ids[r];
          double v = kMissing;
          if (column->present.Test(id)) {
            v = column->type == TraitType::kDouble      ? column->doubles[id]
                : column->type == TraitType::kTimestamp ? column->ints[id] / kDayMs
                                                        : static_cast<double>(column->ints[id]);
          }
          m.values[r * m.columns + first] = std::isinf(v) ? kMissing : v;
        }
        break;
      }
      case TraitType::kString:
      case TraitType::kStringList: {
        // Categories in code order of the values the rows have, so unused codes (a category
        // only profiles outside `rows` have) give no column.
        const size_t codes = column->dictionary.size();
        std::vector<uint8_t> used(codes, 0);
        const auto each_code = [&](ProfileId id, auto&& visit) {
          if (!column->present.Test(id)) return;
          if (column->type == TraitType::kString) {
            visit(column->codes[id]);
          } else {
            for (uint32_t k = column->list_offsets[id]; k < column->list_offsets[id + 1]; ++k) {
              visit(column->list_codes[k]);
            }
          }
        };
        for (ProfileId id : f.ids) each_code(id, [&](uint32_t code) { used[code] = 1; });
        std::vector<size_t> column_of(codes, SIZE_MAX);
        size_t added = 0;
        for (uint32_t code = 0; code < codes; ++code) {
          if (used[code]) column_of[code] = first + added++;
        }
        Widen(m, added);
        source.categorical = true;
        for (uint32_t code = 0; code < codes; ++code) {
          if (!used[code]) continue;
          const std::string value(column->dictionary[code]);
          m.names.push_back(name + "=" + value);
          source.columns.push_back(column_of[code]);
          source.labels.push_back(value);
        }
        for (size_t r = 0; r < m.rows; ++r) {
          each_code(f.ids[r],
                    [&](uint32_t code) { m.values[r * m.columns + column_of[code]] = 1; });
        }
        break;
      }
    }
    f.sources.push_back(std::move(source));
  }
  return f;
}

Status AppendBehaviourFeatures(const snapshot::Snapshot& snapshot, Timestamp as_of,
                               const std::vector<std::string>& types, ModelFeatures& features) {
  const snapshot::EventColumns& events = snapshot.events();
  std::vector<uint32_t> codes;
  if (types.empty()) {
    for (uint32_t code = 0; code < events.types.size(); ++code) codes.push_back(code);
  } else {
    for (const std::string& type : types) {
      const uint32_t code = events.types.Find(type);
      if (code == snapshot::kNullCode) return NotFound("no event of type '{}'", type);
      if (std::find(codes.begin(), codes.end(), code) == codes.end()) codes.push_back(code);
    }
  }
  // Which types carry amounts (in any event, whatever `as_of`, so that a model fitted on one
  // date reads the same columns on another): only they get a value sum.
  std::vector<uint8_t> has_amount(events.types.size(), 0);
  for (size_t e = 0; e < events.size(); ++e) {
    if (events.value[e] != snapshot::kNoAmount) has_amount[events.type[e]] = 1;
  }
  FeatureMatrix& m = features.matrix;
  // Per type: count, count_30d, days_since_last[, value].
  std::vector<size_t> base_of(events.types.size(), SIZE_MAX);
  size_t added = 0;
  const size_t first = m.columns;
  for (uint32_t code : codes) {
    base_of[code] = first + added;
    const std::string type(events.types[code]);
    std::vector<std::string> names = {type + " count", type + " in 30 days", "days since " + type};
    if (has_amount[code]) names.push_back(type + " value");
    for (std::string& name : names) {
      features.sources.push_back({name, false, {first + added++}, {}});
      m.names.push_back(std::move(name));
    }
  }
  Widen(m, added);
  const Timestamp month_ago = as_of - static_cast<Timestamp>(30 * kDayMs);
  for (size_t r = 0; r < m.rows; ++r) {
    double* row = m.values.data() + r * m.columns;
    for (uint32_t code : codes) row[base_of[code] + 2] = kMissing;
    const ProfileId id = features.ids[r];
    for (uint64_t e = events.offsets[id]; e < events.offsets[id + 1]; ++e) {
      if (events.time[e] >= as_of) break;  // sorted by time
      const size_t base = base_of[events.type[e]];
      if (base == SIZE_MAX) continue;
      row[base] += 1;
      if (events.time[e] >= month_ago) row[base + 1] += 1;
      row[base + 2] = (as_of - events.time[e]) / kDayMs;  // the latest wins
      if (has_amount[events.type[e]] && events.value[e] != snapshot::kNoAmount) {
        row[base + 3] += events.value[e] / 1e6;
      }
    }
  }
  return Status::Ok();
}

std::vector<uint8_t> EventLabels(const snapshot::Snapshot& snapshot,
                                 const std::vector<ProfileId>& ids, std::string_view type,
                                 Timestamp from, Timestamp to) {
  const snapshot::EventColumns& events = snapshot.events();
  std::vector<uint8_t> labels(ids.size(), 0);
  const uint32_t code = events.types.Find(type);
  if (code == snapshot::kNullCode) return labels;
  for (size_t r = 0; r < ids.size(); ++r) {
    for (uint64_t e = events.offsets[ids[r]]; e < events.offsets[ids[r] + 1]; ++e) {
      if (events.time[e] >= to) break;
      if (events.type[e] == code && events.time[e] >= from) {
        labels[r] = 1;
        break;
      }
    }
  }
  return labels;
}

}  // namespace tailor::analytics

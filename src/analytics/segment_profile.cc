#include "tailor/segment_profile.h"

#include <absl/container/flat_hash_map.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "analytics/column_stats.h"
#include "tailor/json_writer.h"

namespace tailor::analytics {
namespace {

enum Group : uint8_t { kNeither = 0, kMember = 1, kOther = 2 };

struct Groups {
  std::vector<uint8_t> of;  // by dense id
  uint64_t members = 0, others = 0;
};

Result<Groups> SplitGroups(const snapshot::Snapshot& snapshot, const segments::ProfileSet& segment,
                           const segments::ProfileSet* versus) {
  Groups groups;
  groups.of.assign(snapshot.profile_count(), kNeither);
  for (ProfileId id : segment) {
    if (id < snapshot.profile_count() && snapshot.known().Test(id)) groups.of[id] = kMember;
  }
  for (ProfileId id = 0; id < snapshot.profile_count(); ++id) {
    if (groups.of[id] == kMember || !snapshot.known().Test(id)) continue;
    if (versus == nullptr || versus->contains(id)) groups.of[id] = kOther;
  }
  for (uint8_t group : groups.of) {
    groups.members += group == kMember;
    groups.others += group == kOther;
  }
  if (groups.members == 0) return InvalidArgument("the segment has no members to profile");
  if (groups.others == 0) return InvalidArgument("the comparison group has no profiles");
  return groups;
}

std::string Percent(double share) { return fmt::format("{:.1f} %", 100 * share); }

CategoryFinding MakeCategory(std::string attribute, std::string value, uint64_t members,
                             uint64_t others, const Groups& groups) {
  CategoryFinding finding;
  finding.attribute = std::move(attribute);
  finding.value = std::move(value);
  finding.members = members;
  finding.others = others;
  finding.member_share = static_cast<double>(members) / groups.members;
  finding.other_share = static_cast<double>(others) / groups.others;
  finding.lift = finding.other_share > 0 ? finding.member_share / finding.other_share
                                         : std::numeric_limits<double>::infinity();
  finding.effect = 2 * std::asin(std::sqrt(finding.member_share)) -
                   2 * std::asin(std::sqrt(finding.other_share));
  const std::string what = finding.value.empty()
                               ? finding.attribute
                               : fmt::format("{} ({})", finding.value, finding.attribute);
  finding.sentence = fmt::format("{}: {} of {} members ({}) vs {} of the others ({:.2f}x)", what,
                                 members, groups.members, Percent(finding.member_share),
                                 Percent(finding.other_share), finding.lift);
  return finding;
}

struct Summary {
  double mean = 0, median = 0, sd = 0;
};

Summary Summarize(std::vector<double>& values) {
  Summary summary;
  if (values.empty()) return summary;
  double sum = 0;
  for (double v : values) sum += v;
  summary.mean = sum / values.size();
  double squares = 0;
  for (double v : values) squares += (v - summary.mean) * (v - summary.mean);
  summary.sd = values.size() > 1 ? std::sqrt(squares / (values.size() - 1)) : 0;
  const size_t middle = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + middle, values.end());
  summary.median = values[middle];
  if (values.size() % 2 == 0) {
    summary.median =
        (summary.median + *std::max_element(values.begin(), values.begin() + middle)) / 2;
  }
  return summary;
}

NumberFinding MakeNumber(std::string attribute, std::vector<double>& member_values,
                         std::vector<double>& other_values) {
  NumberFinding finding;
  finding.attribute = std::move(attribute);
  finding.members = member_values.size();
  finding.others = other_values.size();
  const Summary a = Summarize(member_values), b = Summarize(other_values);
  finding.member_mean = a.mean;
  finding.other_mean = b.mean;
  finding.member_median = a.median;
  finding.other_median = b.median;
  finding.member_sd = a.sd;
  finding.other_sd = b.sd;
  finding.effect =
      StandardizedMeanDifference(a.mean, a.sd, finding.members, b.mean, b.sd, finding.others);
  finding.sentence =
      fmt::format("{}: mean {:.4g} vs {:.4g}, median {:.4g} vs {:.4g} (SMD {:+.2f})",
                  finding.attribute, a.mean, b.mean, a.median, b.median, finding.effect);
  return finding;
}

// Counts per code of one dictionary, for members and others.
struct CodeCounts {
  std::vector<uint64_t> members, others;
  void Add(uint32_t code, uint8_t group) {
    if (code >= members.size()) {
      members.resize(code + 1, 0);
      others.resize(code + 1, 0);
    }
    (group == kMember ? members : others)[code]++;
  }
};

void TraitCategories(const snapshot::Snapshot& snapshot, const Groups& groups,
                     std::vector<CategoryFinding>& out) {
  for (const snapshot::TraitColumn& column : snapshot.traits()) {
    CodeCounts counts;
    std::vector<uint32_t> seen;
    for (ProfileId id = 0; id < groups.of.size(); ++id) {
      const uint8_t group = groups.of[id];
      if (group == kNeither || !column.present.Test(id)) continue;
      switch (column.type) {
        case TraitType::kString:
          counts.Add(column.codes[id], group);
          break;
        case TraitType::kBool:
          if (column.ints[id] != 0) counts.Add(0, group);
          break;
        case TraitType::kStringList:
          seen.assign(column.list_codes.begin() + column.list_offsets[id],
                      column.list_codes.begin() + column.list_offsets[id + 1]);
          std::sort(seen.begin(), seen.end());
          seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
          for (uint32_t code : seen) counts.Add(code, group);
          break;
        default:
          break;
      }
    }
    for (uint32_t code = 0; code < counts.members.size(); ++code) {
      const std::string value = column.type == TraitType::kBool
                                    ? std::string("true")
                                    : std::string(column.dictionary[code]);
      out.push_back(
          MakeCategory(column.name, value, counts.members[code], counts.others[code], groups));
    }
  }
}

void EventCategories(const snapshot::Snapshot& snapshot, const Groups& groups,
                     std::vector<CategoryFinding>& out) {
  const snapshot::EventColumns& events = snapshot.events();
  // Key: type code << 32 | (category code + 1), 0 in the low half for "has an event of type".
  absl::flat_hash_map<uint64_t, std::pair<uint64_t, uint64_t>> counts;
  std::vector<uint64_t> seen;
  for (ProfileId id = 0; id < groups.of.size(); ++id) {
    const uint8_t group = groups.of[id];
    if (group == kNeither) continue;
    seen.clear();
    for (uint64_t e = events.offsets[id]; e < events.offsets[id + 1]; ++e) {
      const uint64_t type = uint64_t{events.type[e]} << 32;
      seen.push_back(type);
      const uint32_t category = events.category.codes[e];
      if (category != snapshot::kNullCode) seen.push_back(type | (uint64_t{category} + 1));
    }
    std::sort(seen.begin(), seen.end());
    seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
    for (uint64_t key : seen) {
      auto& [members, others] = counts[key];
      (group == kMember ? members : others)++;
    }
  }
  for (const auto& [key, count] : counts) {
    const std::string type(events.types[static_cast<uint32_t>(key >> 32)]);
    const auto low = static_cast<uint32_t>(key);
    if (low == 0) {
      out.push_back(MakeCategory(type, "", count.first, count.second, groups));
    } else {
      out.push_back(MakeCategory(type + ".category",
                                 std::string(events.category.dictionary[low - 1]), count.first,
                                 count.second, groups));
    }
  }
}

void Numbers(const snapshot::Snapshot& snapshot, const Groups& groups,
             std::vector<NumberFinding>& out) {
  std::vector<double> member_values, other_values;
  for (const snapshot::TraitColumn& column : snapshot.traits()) {
    if (column.type != TraitType::kInt && column.type != TraitType::kDouble) continue;
    member_values.clear();
    other_values.clear();
    for (ProfileId id = 0; id < groups.of.size(); ++id) {
      if (groups.of[id] == kNeither || !column.present.Test(id)) continue;
      const double value = column.type == TraitType::kInt ? static_cast<double>(column.ints[id])
                                                          : column.doubles[id];
      (groups.of[id] == kMember ? member_values : other_values).push_back(value);
    }
    if (member_values.empty() || other_values.empty()) continue;
    out.push_back(MakeNumber(column.name, member_values, other_values));
  }
  // Events per profile, per type (profiles without any count as 0).
  const snapshot::EventColumns& events = snapshot.events();
  const size_t types = events.types.size();
  std::vector<std::vector<double>> member_counts(types), other_counts(types);
  std::vector<uint32_t> per_type(types);
  for (ProfileId id = 0; id < groups.of.size(); ++id) {
    const uint8_t group = groups.of[id];
    if (group == kNeither) continue;
    std::fill(per_type.begin(), per_type.end(), 0);
    for (uint64_t e = events.offsets[id]; e < events.offsets[id + 1]; ++e)
      ++per_type[events.type[e]];
    for (size_t t = 0; t < types; ++t) {
      (group == kMember ? member_counts : other_counts)[t].push_back(per_type[t]);
    }
  }
  for (size_t t = 0; t < types; ++t) {
    out.push_back(MakeNumber(fmt::format("{} events", events.types[static_cast<uint32_t>(t)]),
                             member_counts[t], other_counts[t]));
  }
}

template <typename Finding>
void RankAndCut(std::vector<Finding>& findings, size_t top) {
  std::stable_sort(findings.begin(), findings.end(), [](const Finding& a, const Finding& b) {
    return std::abs(a.effect) > std::abs(b.effect);
  });
  if (findings.size() > top) findings.resize(top);
}

}  // namespace

const CategoryFinding* FindCategory(const std::vector<CategoryFinding>& all,
                                    std::string_view attribute, std::string_view value) {
  for (const CategoryFinding& finding : all) {
    if (finding.attribute == attribute && finding.value == value) return &finding;
  }
  return nullptr;
}

Result<std::vector<CategoryFinding>> AllCategories(const snapshot::Snapshot& snapshot,
                                                   const segments::ProfileSet& segment,
                                                   const SegmentProfileOptions& options) {
  TAILOR_ASSIGN_OR_RETURN(Groups groups, SplitGroups(snapshot, segment, options.versus));
  std::vector<CategoryFinding> categories;
  TraitCategories(snapshot, groups, categories);
  EventCategories(snapshot, groups, categories);
  return categories;
}

Result<SegmentProfile> ProfileSegment(const snapshot::Snapshot& snapshot,
                                      const segments::ProfileSet& segment,
                                      const SegmentProfileOptions& options) {
  TAILOR_ASSIGN_OR_RETURN(Groups groups, SplitGroups(snapshot, segment, options.versus));
  SegmentProfile profile;
  profile.size = groups.members;
  profile.others = groups.others;
  const uint64_t known = snapshot.known().Count();
  profile.share = known > 0 ? static_cast<double>(groups.members) / known : 0;
  TraitCategories(snapshot, groups, profile.categories);
  EventCategories(snapshot, groups, profile.categories);
  // Too rare among the members to say anything about them.
  const uint64_t support = std::max<uint64_t>(options.min_members, (groups.members + 99) / 100);
  std::erase_if(profile.categories,
                [support](const CategoryFinding& finding) { return finding.members < support; });
  Numbers(snapshot, groups, profile.numbers);
  RankAndCut(profile.categories, options.top);
  RankAndCut(profile.numbers, options.top);
  // The description: the strongest of both kinds, three of each at most, by effect.
  std::vector<std::pair<double, std::string>> lines;
  for (size_t i = 0; i < std::min<size_t>(3, profile.categories.size()); ++i) {
    lines.emplace_back(std::abs(profile.categories[i].effect), profile.categories[i].sentence);
  }
  for (size_t i = 0; i < std::min<size_t>(3, profile.numbers.size()); ++i) {
    lines.emplace_back(std::abs(profile.numbers[i].effect), profile.numbers[i].sentence);
  }
  std::stable_sort(lines.begin(), lines.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  for (auto& [effect, line] : lines) profile.description.push_back(std::move(line));
  return profile;
}

void WriteJson(JsonWriter& json, const SegmentProfile& profile) {
  json.BeginObject()
      .Key("size")
      .Uint(profile.size)
      .Key("others")
      .Uint(profile.others)
      .Key("share")
      .Double(profile.share)
      .Key("description")
      .BeginArray();
  for (const std::string& line : profile.description) json.String(line);
  json.EndArray().Key("categories").BeginArray();
  for (const CategoryFinding& c : profile.categories) {
    json.BeginObject()
        .Key("attribute")
        .String(c.attribute)
        .Key("value")
        .String(c.value)
        .Key("members")
        .Uint(c.members)
        .Key("others")
        .Uint(c.others)
        .Key("member_share")
        .Double(c.member_share)
        .Key("other_share")
        .Double(c.other_share)
        .Key("lift")
        .Double(std::isinf(c.lift) ? 1e300 : c.lift)
        .Key("effect")
        .Double(c.effect)
        .EndObject();
  }
  json.EndArray().Key("numbers").BeginArray();
  for (const NumberFinding& n : profile.numbers) {
    json.BeginObject()
        .Key("attribute")
        .String(n.attribute)
        .Key("members")
        .Uint(n.members)
        .Key("others")
        .Uint(n.others)
        .Key("member_mean")
        .Double(n.member_mean)
        .Key("other_mean")
        .Double(n.other_mean)
        .Key("member_median")
        .Double(n.member_median)
        .Key("other_median")
        .Double(n.other_median)
        .Key("effect")
        .Double(n.effect)
        .EndObject();
  }
  json.EndArray().EndObject();
}

}  // namespace tailor::analytics

#pragma once

// Segment profiling: what distinguishes a segment's members from the rest (or from another
// segment). For every attribute of a snapshot it compares the two groups:
//  - a category (a string trait's value, an element of a list trait, a true bool trait, and for
//    events "has an event of type T with category C" and "has an event of type T"): how many
//    members have it against the comparison group, the shares, the lift (share / share), and
//    Cohen's h = 2 asin(sqrt p1) - 2 asin(sqrt p2) as its effect size;
//  - a number (an int or double trait, and per event type the number of such events a profile
//    has): mean, median and standard deviation of each group, and the standardized mean
//    difference (mean1 - mean2) / pooled sd as its effect size.
// Findings are ranked by the absolute effect size (h and SMD are on one scale: 0.2 small, 0.5
// medium, 0.8 large), each with a sentence a marketer can read.

#include <cstdint>
#include <string>
#include <vector>

#include "tailor/json_writer.h"
#include "tailor/segments.h"
#include "tailor/snapshot.h"
#include "tailor/status.h"

namespace tailor::analytics {

struct SegmentProfileOptions {
  // Compared with these profiles; nullptr: every other known profile.
  const segments::ProfileSet* versus = nullptr;
  size_t top = 10;  // findings kept, by effect size
  // A category is reported only when at least this many members have it (and at least 1 %).
  uint64_t min_members = 5;
};

struct CategoryFinding {
  std::string attribute;  // trait name, or "<event type>.category" / "<event type>"
  std::string value;      // the category, list element or "true"; "" for "has an event of type"
  uint64_t members = 0, others = 0;          // how many of each group have it
  double member_share = 0, other_share = 0;  // of each group
  double lift = 0;                           // member_share / other_share (inf when 0)
  double effect = 0;                         // Cohen's h
  std::string sentence;
};

struct NumberFinding {
  std::string attribute;             // trait name, or "<event type> events"
  uint64_t members = 0, others = 0;  // with a value
  double member_mean = 0, other_mean = 0, member_median = 0, other_median = 0;
  double member_sd = 0, other_sd = 0;
  double effect = 0;  // standardized mean difference
  std::string sentence;
};

struct SegmentProfile {
  uint64_t size = 0;                        // members (known profiles)
  uint64_t others = 0;                      // the comparison group
  double share = 0;                         // size / (known profiles)
  std::vector<CategoryFinding> categories;  // by |effect|, at most `top`
  std::vector<NumberFinding> numbers;       // by |effect|, at most `top`
  // The strongest findings of both kinds as sentences, by |effect|.
  std::vector<std::string> description;
};

// kInvalidArgument for an empty segment or an empty comparison group.
Result<SegmentProfile> ProfileSegment(const snapshot::Snapshot& snapshot,
                                      const segments::ProfileSet& segment,
                                      const SegmentProfileOptions& options);

// A category's finding for `value` of `attribute`, from a full profile (nullptr if absent):
// for checks and for callers that ask about one attribute.
const CategoryFinding* FindCategory(const std::vector<CategoryFinding>& all,
                                    std::string_view attribute, std::string_view value);

// Every category finding, unranked and uncut (the same figures as ProfileSegment's).
Result<std::vector<CategoryFinding>> AllCategories(const snapshot::Snapshot& snapshot,
                                                   const segments::ProfileSet& segment,
                                                   const SegmentProfileOptions& options);

// The profile as one JSON object: size, others, share, description, categories, numbers (the
// CLI's --json and the HTTP API).
void WriteJson(JsonWriter& json, const SegmentProfile& profile);

}  // namespace tailor::analytics

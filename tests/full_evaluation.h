#pragma once

// Live membership checked against an independent full evaluation (service and working set tests).

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>

#include "tailor/service.h"

namespace tailor::testing {

// Every segment's members by a fresh snapshot evaluation at `now`, independent of the service.
inline std::map<std::string, segments::ProfileSet> FullEvaluation(Service& service, Timestamp now) {
  auto snap = service.engine().BuildSnapshot();
  EXPECT_TRUE(snap.ok());
  std::map<std::string, segments::ProfileSet> sets;
  auto definitions = service.catalog().List();
  EXPECT_TRUE(definitions.ok());
  // Dependencies first: the definitions here have none except the explicit reference below.
  std::vector<segments::SegmentDefinition> ordered = *definitions;
  std::stable_sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) {
    return a.rule.find("in segment") == std::string::npos &&
           b.rule.find("in segment") != std::string::npos;
  });
  for (const auto& definition : ordered) {
    segments::EvalContext context{snap->get(), now, nullptr,
                                  [&](std::string_view name) -> const segments::ProfileSet* {
                                    auto it = sets.find(std::string(name));
                                    return it == sets.end() ? nullptr : &it->second;
                                  }};
    auto result = segments::EvaluateDefinition(definition, context);
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    sets[definition.name] = result->members;
  }
  return sets;
}

inline void ExpectLiveEqualsFull(Service& service, Timestamp now, const std::string& when) {
  for (const auto& [name, expected] : FullEvaluation(service, now)) {
    auto live = service.Members(name);
    ASSERT_TRUE(live.ok());
    EXPECT_EQ(live->cardinality(), expected.cardinality()) << name << " " << when;
    EXPECT_TRUE(*live == expected) << name << " differs " << when;
  }
}

}  // namespace tailor::testing

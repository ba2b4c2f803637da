#include "tailor/segment_catalog.h"

#include <gtest/gtest.h>

#include "tailor/engine.h"
#include "test_util.h"

namespace tailor::segments {
namespace {

using ::tailor::testing::TempDir;

constexpr Timestamp kNow = 1'800'000'000'000;

class SegmentCatalogTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen() {
    engine_.reset();
    auto engine = Engine::Open(dir_.path(), EngineOptions{});
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    engine_ = std::move(engine).value();
    catalog_ = std::make_unique<SegmentCatalog>(engine_->store());
  }
  void AddData() {
    std::vector<ProfileInput> profiles;
    for (int i = 0; i < 10; ++i) {
      ProfileInput p{"c" + std::to_string(i), {{"age", {TraitType::kInt, int64_t(20 + i)}}}};
      if (i % 2) p.traits.push_back({"opt_in", {TraitType::kBool, i % 4 == 1}});
      profiles.push_back(std::move(p));
    }
    BatchReport report;
    ASSERT_OK(engine_->UpsertProfiles(profiles, report));
  }
  Result<std::vector<std::pair<std::string, SegmentResult>>> EvaluateAll(Timestamp now = kNow) {
    TAILOR_ASSIGN_OR_RETURN(snapshot_, engine_->BuildSnapshot());
    EvalContext context;
    context.snapshot = snapshot_.get();
    context.now = now;
    return catalog_->EvaluateAll(context);
  }
  SegmentDefinition Define(std::string name, std::string rule, std::string exclude = "") {
    SegmentDefinition d;
    d.name = std::move(name);
    d.rule = std::move(rule);
    d.exclude = std::move(exclude);
    d.channels = {"email"};
    return d;
  }

  TempDir dir_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<SegmentCatalog> catalog_;
  std::unique_ptr<snapshot::Snapshot> snapshot_;
};

TEST_F(SegmentCatalogTest, UpdatesMakeVersionsAndSurviveReopen) {
  AddData();
  ASSERT_OK(catalog_->Put(Define("adults", "age >= 25"), engine_->schema()));
  ASSERT_OK(catalog_->Put(Define("adults", "age >= 27"), engine_->schema()));
  Reopen();
  ASSERT_OK_AND_ASSIGN(SegmentDefinition current, catalog_->Get("adults"));
  EXPECT_EQ(current.version, 2u);
  EXPECT_EQ(current.rule, "age >= 27");
  ASSERT_OK_AND_ASSIGN(SegmentDefinition first, catalog_->GetVersion("adults", 1));
  EXPECT_EQ(first.rule, "age >= 25");
}

TEST_F(SegmentCatalogTest, RejectsBadRulesUnknownTraitsChannelsAndCycles) {
  AddData();
  EXPECT_EQ(catalog_->Put(Define("x", "age >="), engine_->schema()).code(),
            StatusCode::kInvalidArgument);
  const Status unknown = catalog_->Put(Define("x", "height > 3"), engine_->schema());
  EXPECT_NE(unknown.message().find("unknown trait 'height'"), std::string::npos)
      << unknown.message();
  SegmentDefinition bad_channel = Define("x", "age > 3");
  bad_channel.channels = {"fax"};
  EXPECT_NE(catalog_->Put(bad_channel, engine_->schema()).message().find("unknown channel 'fax'"),
            std::string::npos);
  ASSERT_OK(catalog_->Put(Define("a", "age > 3"), engine_->schema()));
  ASSERT_OK(catalog_->Put(Define("b", "in segment \"a\""), engine_->schema()));
  const Status cycle = catalog_->Put(Define("a", "in segment \"b\""), engine_->schema());
  EXPECT_EQ(cycle.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(cycle.message().find("itself"), std::string::npos) << cycle.message();
  EXPECT_EQ(catalog_->Delete("a").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(catalog_->Put(Define("bad name!", "age > 3"), engine_->schema()).code(),
            StatusCode::kInvalidArgument);
}

TEST_F(SegmentCatalogTest, ExclusionsAreCountedApartAndMembersPersist) {
  AddData();
  // Ages 20..29; opt_in is false for c3, c7 and missing for the even ones.
  ASSERT_OK(catalog_->Put(Define("mail", "age >= 23", "opt_in = false"), engine_->schema()));
  ASSERT_OK(
      catalog_->Put(Define("older_mail", "in segment \"mail\" and age >= 27"), engine_->schema()));
  ASSERT_OK_AND_ASSIGN(auto results, EvaluateAll());
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].first, "mail");  // dependencies first
  EXPECT_EQ(results[0].second.matched, 7u);
  EXPECT_EQ(results[0].second.excluded, 2u);
  EXPECT_EQ(results[0].second.members.cardinality(), 5u);
  EXPECT_EQ(results[1].second.members.cardinality(), 2u);  // c8, c9 (c7 is excluded from mail)
  Reopen();
  ASSERT_OK_AND_ASSIGN(ProfileSet members, catalog_->Members("older_mail"));
  EXPECT_EQ(members.cardinality(), 2u);
  ASSERT_OK_AND_ASSIGN(std::vector<SizePoint> history, catalog_->History("mail"));
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].size, 5u);
  EXPECT_EQ(history[0].excluded, 2u);
  EXPECT_EQ(catalog_->Members("nobody").status().code(), StatusCode::kNotFound);
}

TEST_F(SegmentCatalogTest, SchemesNeedExistingDistinctMembers) {
  AddData();
  ASSERT_OK(catalog_->Put(Define("a", "age > 3"), engine_->schema()));
  EXPECT_EQ(catalog_->PutScheme({"s", "", {"a", "missing"}, false, 0}).code(),
            StatusCode::kNotFound);
  EXPECT_EQ(catalog_->PutScheme({"s", "", {"a", "a"}, false, 0}).code(),
            StatusCode::kInvalidArgument);
  ASSERT_OK(catalog_->PutScheme({"s", "", {"a"}, true, 0}));
  ASSERT_OK_AND_ASSIGN(SchemeDefinition scheme, catalog_->GetScheme("s"));
  EXPECT_TRUE(scheme.otherwise);
  EXPECT_EQ(scheme.version, 1u);
}

}  // namespace
}  // namespace tailor::segments

namespace tailor::segments {
namespace {

TEST_F(SegmentCatalogTest, ChangeFeedRecordsEntriesAndExitsDurably) {
  AddData();  // ages 20..29
  ASSERT_OK(catalog_->Put(Define("young", "age < 22"), engine_->schema()));
  ASSERT_OK(EvaluateAll().status());
  ASSERT_OK_AND_ASSIGN(std::vector<MembershipChange> first, catalog_->ReadChanges(0, 100));
  ASSERT_EQ(first.size(), 2u);  // c0 and c1 entered
  EXPECT_TRUE(first[0].entered && first[1].entered);
  EXPECT_EQ(first[0].sequence, 1u);
  EXPECT_EQ(first[0].segment, "young");
  EXPECT_EQ(first[0].version, 1u);
  // c1 turns 30, c9 turns 21: one exit, one entry. Nothing changes for the others.
  BatchReport report;
  ASSERT_OK(engine_->UpsertProfiles(
      std::vector<ProfileInput>{{"c1", {{"age", {TraitType::kInt, int64_t{30}}}}},
                                {"c9", {{"age", {TraitType::kInt, int64_t{21}}}}}},
      report));
  ASSERT_OK(EvaluateAll().status());
  Reopen();
  ASSERT_OK_AND_ASSIGN(std::vector<MembershipChange> second,
                       catalog_->ReadChanges(first.back().sequence, 100));
  ASSERT_EQ(second.size(), 2u);
  ASSERT_OK_AND_ASSIGN(std::string entered, engine_->ExternalId(second[0].profile));
  ASSERT_OK_AND_ASSIGN(std::string exited, engine_->ExternalId(second[1].profile));
  EXPECT_TRUE(second[0].entered);
  EXPECT_EQ(entered, "c9");
  EXPECT_FALSE(second[1].entered);
  EXPECT_EQ(exited, "c1");
  EXPECT_EQ(second[0].sequence, 3u);
  // A cursor past the end reads nothing; a limit pages.
  EXPECT_TRUE(catalog_->ReadChanges(4, 100)->empty());
  EXPECT_EQ(catalog_->ReadChanges(0, 3)->size(), 3u);
}

}  // namespace
}  // namespace tailor::segments

namespace tailor::segments {
namespace {

TEST_F(SegmentCatalogTest, WindowedMembershipExpiresAsTimePasses) {
  AddData();
  constexpr Timestamp kDay = 86'400'000;
  EventInput purchase;
  purchase.id = "e1";
  purchase.profile_id = "c2";
  purchase.type = "purchase";
  purchase.time = kNow - 10 * kDay;
  BatchReport report;
  ASSERT_OK(engine_->IngestEvents(std::vector<EventInput>{purchase}, report));
  ASSERT_OK(catalog_->Put(Define("recent_buyers", "count(purchase, last 30 days) >= 1"),
                          engine_->schema()));
  ASSERT_OK_AND_ASSIGN(auto day0, EvaluateAll(kNow));
  EXPECT_EQ(day0[0].second.members.cardinality(), 1u);
  // 20 days later the purchase is exactly 30 days old: still in (now - 30 days <= t). One
  // millisecond later it has left the window.
  ASSERT_OK_AND_ASSIGN(auto day20, EvaluateAll(kNow + 20 * kDay));
  EXPECT_EQ(day20[0].second.members.cardinality(), 1u);
  ASSERT_OK_AND_ASSIGN(auto later, EvaluateAll(kNow + 20 * kDay + 1));
  EXPECT_EQ(later[0].second.members.cardinality(), 0u);
  ASSERT_OK_AND_ASSIGN(std::vector<MembershipChange> changes, catalog_->ReadChanges(0, 10));
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_TRUE(changes[0].entered);
  EXPECT_FALSE(changes[1].entered);
  ASSERT_OK_AND_ASSIGN(std::string who, engine_->ExternalId(changes[1].profile));
  EXPECT_EQ(who, "c2");
  ASSERT_OK_AND_ASSIGN(std::vector<SizePoint> history, catalog_->History("recent_buyers"));
  EXPECT_EQ(history.size(), 3u);
}

}  // namespace
}  // namespace tailor::segments

namespace tailor::segments {
namespace {

// Conditions several segments contain are evaluated once per EvaluateAll, and the results are
// the same as evaluating every rule on its own.
TEST_F(SegmentCatalogTest, SharedConditionsAreEvaluatedOnceWithTheSameResults) {
  AddData();
  const std::vector<std::pair<std::string, std::string>> rules = {
      {"a", "age >= 24 and opt_in = true"},
      {"b", "age >= 24 and not (opt_in = true)"},
      {"c", "opt_in = true or age < 22"},
      {"d", "age < 22 and (age >= 24 or opt_in exists)"},
  };
  for (const auto& [name, rule] : rules) {
    ASSERT_OK(catalog_->Put(Define(name, rule, name == "a" ? "age > 28" : ""), engine_->schema()));
  }
  ASSERT_OK_AND_ASSIGN(snapshot_, engine_->BuildSnapshot());
  SharedConditions shared;
  EvalContext context;
  context.snapshot = snapshot_.get();
  context.now = kNow;
  context.shared = &shared;
  ASSERT_OK_AND_ASSIGN(auto results, catalog_->EvaluateAll(context));
  // "age >= 24" in a, b, d; "opt_in = true" in a, b, c; "age < 22" in c, d: 8 uses, 3 first
  // evaluations, 5 answered from the cache.
  EXPECT_EQ(shared.results.size(), 3u);
  EXPECT_EQ(shared.reused, 5u);
  for (const auto& [name, result] : results) {
    auto it =
        std::find_if(rules.begin(), rules.end(), [&](const auto& r) { return r.first == name; });
    ASSERT_NE(it, rules.end());
    EvalContext alone;
    alone.snapshot = snapshot_.get();
    alone.now = kNow;
    ASSERT_OK_AND_ASSIGN(Rule rule, ParseRule(it->second));
    ASSERT_OK_AND_ASSIGN(ProfileSet expected, Evaluate(rule, alone));
    if (name == "a") {
      ASSERT_OK_AND_ASSIGN(Rule exclude, ParseRule("age > 28"));
      ASSERT_OK_AND_ASSIGN(ProfileSet excluded, Evaluate(exclude, alone));
      expected -= excluded;
    }
    EXPECT_TRUE(result.members == expected) << name;
  }
}

}  // namespace
}  // namespace tailor::segments

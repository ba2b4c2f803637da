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
  Result<std::vector<std::pair<std::string, SegmentResult>>> EvaluateAll() {
    TAILOR_ASSIGN_OR_RETURN(snapshot_, engine_->BuildSnapshot());
    EvalContext context;
    context.snapshot = snapshot_.get();
    context.now = kNow;
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

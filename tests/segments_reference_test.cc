// The 20 reference segments of ../shared/bench/segments.sql, expressed in tailor's language in
// bench/segments/, evaluated on generated data: the counts must equal DuckDB's, stored with the
// generator's arguments in ../shared/bench/reference_counts.json (10k profiles, seed 42).

#include <gtest/gtest.h>
#include <simdjson.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "common/time.h"
#include "tailor/engine.h"
#include "tailor/import.h"
#include "tailor/rfm.h"
#include "tailor/rule.h"
#include "tailor/segments.h"
#include "test_util.h"

namespace tailor {
namespace {

using ::tailor::testing::TempDir;
namespace fs = std::filesystem;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class SegmentsReferenceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!fs::exists(TAILOR_GENERATOR)) return;
    dir_ = new TempDir();
    const std::string data = dir_->File("data");
    const std::string command = std::string(TAILOR_GENERATOR) +
                                " --profiles 10000 --seed 42 --out " + data + " > /dev/null";
    ASSERT_EQ(std::system(command.c_str()), 0);
    EngineOptions options;
    options.bulk_load = true;
    auto engine = Engine::Open(dir_->File("store"), options);
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    for (auto [kind, name] : {std::pair{ingest::RecordKind::kItems, "items"},
                              std::pair{ingest::RecordKind::kProfiles, "profiles"},
                              std::pair{ingest::RecordKind::kEvents, "events"}}) {
      ImportOptions import;
      import.kind = kind;
      auto summary = ImportFile(**engine, data + "/" + name + ".csv", import);
      ASSERT_TRUE(summary.ok()) << summary.status().ToString();
      ASSERT_EQ(summary->rejected, 0u) << name;
    }
    engine_ = engine->release();
  }
  static void TearDownTestSuite() {
    delete engine_;
    delete dir_;
  }
  void SetUp() override {
    if (engine_ == nullptr) GTEST_SKIP() << "no generator at " << TAILOR_GENERATOR;
  }

  static TempDir* dir_;
  static Engine* engine_;
};
TempDir* SegmentsReferenceTest::dir_ = nullptr;
Engine* SegmentsReferenceTest::engine_ = nullptr;

TEST_F(SegmentsReferenceTest, CountsEqualDuckDbForAllTwentySegments) {
  // Expected counts for the 10k set.
  simdjson::dom::parser parser;
  simdjson::dom::element root = parser.load(TAILOR_REFERENCE_COUNTS);
  simdjson::dom::object expected_counts;
  for (simdjson::dom::element dataset : root["datasets"].get_array()) {
    if (int64_t(dataset["generator_args"]["profiles"]) == 10000) {
      expected_counts = dataset["segments"].get_object();
    }
  }
  std::map<std::string, segments::Rule> rules;
  std::vector<std::string> needed_fields;
  for (const auto& entry : fs::directory_iterator(TAILOR_SEGMENTS_DIR)) {
    if (entry.path().extension() != ".rule") continue;
    auto rule = segments::ParseRule(ReadFile(entry.path()));
    ASSERT_TRUE(rule.ok()) << entry.path() << ": " << rule.status().ToString();
    for (const std::string& field : segments::RequiredEventFields(*rule)) {
      if (std::find(needed_fields.begin(), needed_fields.end(), field) == needed_fields.end()) {
        needed_fields.push_back(field);
      }
    }
    rules.emplace(entry.path().stem().string(), std::move(rule).value());
  }
  ASSERT_EQ(rules.size(), 20u);
  snapshot::SnapshotOptions options;
  options.event_fields = needed_fields;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<snapshot::Snapshot> snap, engine_->BuildSnapshot(options));
  ASSERT_OK_AND_ASSIGN(std::vector<ItemInput> items, engine_->ListItems());
  segments::ItemCatalog catalog;
  for (ItemInput& item : items) catalog.emplace(item.id, std::move(item));
  std::map<std::string, segments::ProfileSet> members;
  segments::EvalContext context;
  context.snapshot = snap.get();
  context.now = *ParseIsoTimestamp("2026-11-01T00:00:00Z");
  context.items = &catalog;
  context.segment = [&](std::string_view name) -> const segments::ProfileSet* {
    auto it = members.find(std::string(name));
    return it == members.end() ? nullptr : &it->second;
  };
  // Segments without references first, then the ones that refer to them.
  for (int pass = 0; pass < 2; ++pass) {
    for (const auto& [name, rule] : rules) {
      const bool refers = !segments::SegmentReferences(rule).empty();
      if (refers != (pass == 1)) continue;
      ASSERT_OK_AND_ASSIGN(segments::ProfileSet set, segments::Evaluate(rule, context));
      members.emplace(name, std::move(set));
    }
  }
  for (const auto& [name, set] : members) {
    int64_t expected = 0;
    ASSERT_EQ(expected_counts[name].get(expected), simdjson::SUCCESS) << name;
    EXPECT_EQ(set.cardinality(), static_cast<uint64_t>(expected)) << name;
  }
}

simdjson::dom::element ReferenceDataset(simdjson::dom::parser& parser) {
  for (simdjson::dom::element dataset : parser.load(TAILOR_REFERENCE_COUNTS)["datasets"]) {
    if (int64_t(dataset["generator_args"]["profiles"]) == 10000) return dataset;
  }
  ADD_FAILURE() << "no 10k dataset in " << TAILOR_REFERENCE_COUNTS;
  return {};
}

// RFM against DuckDB's counts (reference_counts.json) and, customer by customer, against the
// pandas peer (../shared/bench/peer_pandas_rfm.py --out), which must run here.
TEST_F(SegmentsReferenceTest, RfmEqualsThePandasPeerForEveryCustomer) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<snapshot::Snapshot> snap, engine_->BuildSnapshot());
  analytics::RfmOptions options;
  options.now = *ParseIsoTimestamp("2026-11-01T00:00:00Z");
  ASSERT_OK_AND_ASSIGN(analytics::RfmResult rfm, analytics::ComputeRfm(*snap, options));

  simdjson::dom::parser parser;
  simdjson::dom::element expected = ReferenceDataset(parser)["rfm"];
  EXPECT_EQ(rfm.customers.size(), uint64_t(expected["n_customers"]));
  for (size_t s = 0; s < analytics::kRfmSegmentCount; ++s) {
    const std::string_view name = analytics::RfmSegmentName(static_cast<analytics::RfmSegment>(s));
    EXPECT_EQ(rfm.segment_counts[s], uint64_t(expected["segments"][name])) << name;
  }
  const char* score_names[] = {"r_score", "f_score", "m_score"};
  for (int d = 0; d < 3; ++d) {
    for (int score = 1; score <= 5; ++score) {
      EXPECT_EQ(rfm.score_counts[d][score - 1],
                uint64_t(expected["score_counts"][score_names[d]][std::to_string(score)]))
          << score_names[d] << " " << score;
    }
  }

  // The peer's rows: profile_id,recency_days,frequency,monetary,r_score,f_score,m_score,segment.
  const std::string peer_out = dir_->File("rfm_peer.csv");
  const std::string command = "/usr/bin/python3 " + std::string(TAILOR_PEER_RFM) + " --data " +
                              dir_->File("data") + " --out " + peer_out + " > /dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  std::map<std::string, std::string> peer_rows;
  std::ifstream peer(peer_out);
  std::string line;
  std::getline(peer, line);  // header
  while (std::getline(peer, line)) {
    const size_t comma = line.find(',');
    peer_rows.emplace(line.substr(0, comma), line.substr(comma + 1));
  }
  ASSERT_EQ(peer_rows.size(), rfm.customers.size());
  size_t differing = 0;
  for (const analytics::RfmCustomer& c : rfm.customers) {
    const std::string id(snap->external_id(c.id));
    const std::string ours = fmt::format("{:.6f},{},{:.6f},{},{},{},{}",
                                         static_cast<double>(c.recency_ms) / 86'400'000.0,
                                         c.frequency, c.monetary.ToDouble(), c.r_score, c.f_score,
                                         c.m_score, analytics::RfmSegmentName(c.segment));
    auto it = peer_rows.find(id);
    ASSERT_NE(it, peer_rows.end()) << id << " is not a customer for the peer";
    if (it->second != ours && ++differing <= 5) {
      ADD_FAILURE() << id << ": tailor " << ours << ", pandas " << it->second;
    }
  }
  EXPECT_EQ(differing, 0u);
}

}  // namespace
}  // namespace tailor

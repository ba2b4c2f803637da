// Propensity and drivers against slow, obvious models: model features against the profiles and
// events they were built from, information value and mutual information against their
// definitions, average precision against scikit-learn, the boosted trees on a problem a linear
// model cannot learn, the held-out period on events whose future is known, and bad input.
// (The UCI sessions against the peer's AUROC: shared_data_test.)

#include "tailor/propensity.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "tailor/boosted_trees.h"
#include "tailor/engine.h"
#include "tailor/json_writer.h"
#include "test_util.h"

namespace tailor::analytics {
namespace {

using ::tailor::testing::RunCommand;

using ::tailor::testing::TempDir;
constexpr Timestamp kDay = 86'400'000;
constexpr Timestamp kNow = 1'800'000'000'000;

// The column of `name` in the features (a test failure when there is none).
size_t ColumnOf(const ModelFeatures& f, const std::string& name) {
  auto it = std::find(f.matrix.names.begin(), f.matrix.names.end(), name);
  EXPECT_NE(it, f.matrix.names.end()) << name;
  return static_cast<size_t>(it - f.matrix.names.begin());
}

std::unique_ptr<Engine> OpenEngine(const TempDir& dir) {
  auto opened = Engine::Open(dir.path(), EngineOptions{});
  EXPECT_TRUE(opened.ok()) << opened.status().ToString();
  return opened.ok() ? std::move(opened).value() : nullptr;
}

TEST(ModelFeatures, EveryTraitTypeAgainstTheProfilesItCameFrom) {
  TempDir dir;
  auto engine = OpenEngine(dir);
  ASSERT_NE(engine, nullptr);
  std::mt19937_64 random(11);
  const std::vector<std::string> plans = {"free", "pro", "team"};
  const std::vector<std::string> tags = {"golf", "yoga", "books"};
  std::vector<ProfileInput> profiles;
  for (int i = 0; i < 200; ++i) {
    ProfileInput p{"p" + std::to_string(i), {}};
    if (random() % 4) p.traits.push_back({"age", {TraitType::kInt, int64_t(18 + random() % 60)}});
    if (random() % 3) p.traits.push_back({"spend", {TraitType::kDouble, (random() % 1000) / 8.0}});
    if (random() % 2) p.traits.push_back({"opt_in", {TraitType::kBool, bool(random() % 2)}});
    if (random() % 3) p.traits.push_back({"plan", {TraitType::kString, plans[random() % 3]}});
    if (random() % 2) {
      StringList list;
      for (const std::string& t : tags) {
        if (random() % 2) list.push_back(t);
      }
      p.traits.push_back({"tags", {TraitType::kStringList, list}});
    }
    if (random() % 2) {
      p.traits.push_back(
          {"signup", {TraitType::kTimestamp, int64_t(kNow - random() % 400 * kDay)}});
    }
    profiles.push_back(std::move(p));
  }
  BatchReport report;
  ASSERT_OK(engine->UpsertProfiles(profiles, report));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<snapshot::Snapshot> snap, engine->BuildSnapshot());
  ASSERT_OK_AND_ASSIGN(ModelFeatures f, TraitModelFeatures(*snap, {"age", "spend", "opt_in", "plan",
                                                                   "tags", "signup"}));
  ASSERT_EQ(f.matrix.rows, 200u);
  ASSERT_EQ(f.sources.size(), 6u);
  EXPECT_TRUE(f.sources[3].categorical);
  EXPECT_EQ(f.sources[3].columns.size(), 3u);
  EXPECT_EQ(f.sources[4].columns.size(), 3u);
  EXPECT_EQ(f.matrix.columns, 4u + 3u + 3u);
  const auto column = [&](const std::string& name) { return ColumnOf(f, name); };
  for (size_t r = 0; r < f.matrix.rows; ++r) {
    const std::string id(snap->external_id(f.ids[r]));
    const ProfileInput& input = profiles[std::stoi(id.substr(1))];
    std::map<std::string, TraitValue> traits;
    for (const auto& [name, value] : input.traits) traits[name] = value.value;
    const double* row = f.matrix.row(r);
    const auto number = [&](const std::string& name, double expected_if_present) {
      if (traits.count(name)) {
        EXPECT_DOUBLE_EQ(row[column(name)], expected_if_present) << id << " " << name;
      } else {
        EXPECT_TRUE(std::isnan(row[column(name)])) << id << " " << name;
      }
    };
    number("age", traits.count("age") ? std::get<int64_t>(traits["age"]) : 0);
    number("spend", traits.count("spend") ? std::get<double>(traits["spend"]) : 0);
    number("opt_in", traits.count("opt_in") ? std::get<bool>(traits["opt_in"]) : 0);
    number("signup", traits.count("signup")
                         ? static_cast<double>(std::get<int64_t>(traits["signup"])) / kDay
                         : 0);
    for (const std::string& plan : plans) {
      const bool has = traits.count("plan") && std::get<std::string>(traits["plan"]) == plan;
      EXPECT_EQ(row[column("plan=" + plan)], has ? 1.0 : 0.0) << id;
    }
    for (const std::string& tag : tags) {
      bool has = false;
      if (traits.count("tags")) {
        for (const std::string& t : std::get<StringList>(traits["tags"])) has = has || t == tag;
      }
      EXPECT_EQ(row[column("tags=" + tag)], has ? 1.0 : 0.0) << id;
    }
  }
  EXPECT_EQ(TraitModelFeatures(*snap, {"age", "nope"}).status().code(), StatusCode::kNotFound);
}

TEST(ModelFeatures, BehaviourAsOfACutOffAndLabelsAgainstTheEvents) {
  TempDir dir;
  auto engine = OpenEngine(dir);
  ASSERT_NE(engine, nullptr);
  std::mt19937_64 random(5);
  const std::vector<std::string> types = {"visit", "purchase"};
  std::vector<EventInput> events;
  for (int p = 0; p < 80; ++p) {
    const int count = random() % 12;
    for (int e = 0; e < count; ++e) {
      EventInput event;
      event.profile_id = "p" + std::to_string(p);
      event.type = types[random() % 2];
      event.time = kNow - static_cast<Timestamp>(random() % (200 * kDay));
      if (event.type == "purchase")
        event.price = Decimal::FromMicros((1 + random() % 500) * 10'000);
      events.push_back(event);
    }
  }
  BatchReport report;
  ASSERT_OK(engine->IngestEvents(events, report));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<snapshot::Snapshot> snap, engine->BuildSnapshot());
  const Timestamp as_of = kNow - 60 * kDay;
  ASSERT_OK_AND_ASSIGN(ModelFeatures f, TraitModelFeatures(*snap, {}));
  ASSERT_OK(AppendBehaviourFeatures(*snap, as_of, {}, f));
  const std::vector<uint8_t> labels =
      EventLabels(*snap, f.ids, "purchase", as_of, as_of + 30 * kDay);
  const auto column = [&](const std::string& name) { return ColumnOf(f, name); };
  for (size_t r = 0; r < f.matrix.rows; ++r) {
    const std::string id(snap->external_id(f.ids[r]));
    for (const std::string& type : types) {
      double count = 0, recent = 0, value = 0;
      Timestamp last = 0;
      bool label = false;
      for (const EventInput& e : events) {
        if (e.profile_id != id || e.type != type) continue;
        if (type == "purchase" && e.time >= as_of && e.time < as_of + 30 * kDay) label = true;
        if (e.time >= as_of) continue;
        ++count;
        recent += e.time >= as_of - 30 * kDay;
        last = std::max(last, e.time);
        if (e.price) value += e.price->micros() / 1e6;
      }
      const double* row = f.matrix.row(r);
      EXPECT_EQ(row[column(type + " count")], count) << id;
      EXPECT_EQ(row[column(type + " in 30 days")], recent) << id;
      if (count == 0) {
        EXPECT_TRUE(std::isnan(row[column("days since " + type)])) << id;
      } else {
        EXPECT_DOUBLE_EQ(row[column("days since " + type)], double(as_of - last) / kDay) << id;
      }
      if (type == "purchase") {
        EXPECT_NEAR(row[column("purchase value")], value, 1e-9) << id;
        EXPECT_EQ(labels[r], label) << id;
      }
    }
  }
  EXPECT_EQ(AppendBehaviourFeatures(*snap, as_of, {"nope"}, f).code(), StatusCode::kNotFound);
}

// Information value and mutual information by their definitions, on a category and a number.
TEST(Drivers, InformationValueAndMutualInformationByTheirDefinitions) {
  ModelFeatures f;
  FeatureMatrix& m = f.matrix;
  std::mt19937_64 random(9);
  m.rows = 1000;
  m.columns = 3;
  m.names = {"color=red", "color=blue", "noise"};
  f.sources = {{"color", true, {0, 1}, {"red", "blue"}}, {"noise", false, {2}, {}}};
  std::vector<uint8_t> labels;
  for (size_t i = 0; i < m.rows; ++i) {
    const int color = random() % 3;  // 2: no color
    m.values.push_back(color == 0);
    m.values.push_back(color == 1);
    m.values.push_back(static_cast<double>(random() % 1000));
    const double rate = color == 0 ? 0.6 : color == 1 ? 0.2 : 0.1;
    labels.push_back(std::uniform_real_distribution<double>(0, 1)(random) < rate);
  }
  ASSERT_OK_AND_ASSIGN(std::vector<Driver> drivers, RankDrivers(f, labels));
  ASSERT_EQ(drivers.size(), 2u);
  EXPECT_EQ(drivers[0].feature, "color");
  // The obvious computation over the three groups.
  double pos[3] = {0, 0, 0}, neg[3] = {0, 0, 0};
  for (size_t i = 0; i < m.rows; ++i) {
    const int g = m.values[i * 3] ? 0 : m.values[i * 3 + 1] ? 1 : 2;
    (labels[i] ? pos : neg)[g] += 1;
  }
  const double p = pos[0] + pos[1] + pos[2], n = neg[0] + neg[1] + neg[2];
  double iv = 0, mi = 0;
  for (int g = 0; g < 3; ++g) {
    const double good = (pos[g] + 0.5) / (p + 1.5), bad = (neg[g] + 0.5) / (n + 1.5);
    iv += (good - bad) * std::log(good / bad);
    const double size = (pos[g] + neg[g]) / m.rows;
    mi += pos[g] / m.rows * std::log2(pos[g] / m.rows / (size * p / m.rows));
    mi += neg[g] / m.rows * std::log2(neg[g] / m.rows / (size * n / m.rows));
  }
  EXPECT_NEAR(drivers[0].information_value, iv, 1e-12);
  EXPECT_NEAR(drivers[0].mutual_information, mi, 1e-12);
  EXPECT_EQ(drivers[0].bins.size(), 3u);
  EXPECT_NE(drivers[0].description.find("color = red"), std::string::npos)
      << drivers[0].description;
  // Noise: ten bins of 100, no information.
  EXPECT_EQ(drivers[1].bins.size(), 10u);
  for (const DriverBin& b : drivers[1].bins) EXPECT_NEAR(double(b.rows), 100, 15) << b.label;
  EXPECT_LT(drivers[1].information_value, 0.05);
  EXPECT_EQ(drivers[0].strength, "very strong");
  // One class only, wrong sizes.
  EXPECT_EQ(RankDrivers(f, std::vector<uint8_t>(m.rows, 0)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(RankDrivers(f, std::vector<uint8_t>(3, 1)).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(Propensity, AveragePrecisionEqualsScikitLearn) {
  TempDir dir;
  std::mt19937_64 random(2);
  std::ofstream csv(dir.File("scores.csv"));
  std::vector<double> scores;
  std::vector<uint8_t> labels;
  for (int i = 0; i < 2000; ++i) {
    const bool label = random() % 4 == 0;
    // Coarse scores, so that many tie.
    scores.push_back(std::round((label ? 0.3 : 0.0) + (random() % 100) / 100.0 * 10) / 10);
    labels.push_back(label);
    csv << scores.back() << "," << int(label) << "\n";
  }
  csv.close();
  std::ofstream(dir.File("peer.py"))
      << "import numpy as np\n"
         "from sklearn.metrics import average_precision_score\n"
         "d = np.loadtxt('" +
             dir.File("scores.csv") +
             "', delimiter=',')\n"
             "print(repr(average_precision_score(d[:, 1], d[:, 0])))\n";
  const std::string out = RunCommand("/usr/bin/python3 " + dir.File("peer.py"));
  ASSERT_FALSE(out.empty()) << "scikit-learn (python3-sklearn) is installed by make test";
  EXPECT_NEAR(AveragePrecision(scores, labels), std::stod(out), 1e-12);
  // By hand: thresholds 0.9 (1 of 1 right), 0.8 (2 of 3), 0.3: (1/2)(1) + (1/2)(2/3).
  EXPECT_NEAR(AveragePrecision({0.9, 0.8, 0.8, 0.3}, {1, 0, 1, 0}), 0.5 + 1.0 / 3, 1e-15);
}

// y = x1 XOR x2 (with noise columns): the trees learn it, a linear model cannot.
TEST(Propensity, BoostedTreesLearnWhatALinearModelCannot) {
  std::mt19937_64 random(4);
  FeatureMatrix m;
  m.rows = 4000;
  m.columns = 4;
  m.names = {"x1", "x2", "noise1", "noise2"};
  std::vector<uint8_t> labels;
  for (size_t i = 0; i < m.rows; ++i) {
    const bool a = random() % 2, b = random() % 2;
    m.values.insert(m.values.end(), {a + (random() % 100) / 500.0, b + (random() % 100) / 500.0,
                                     double(random() % 100), double(random() % 7)});
    if (i % 10 == 0) m.values[i * 4 + 2] = std::nan("");  // missing values are learned
    labels.push_back((a != b) == (random() % 20 != 0));   // 5 % label noise
  }
  std::vector<uint32_t> folds(m.rows);
  for (size_t i = 0; i < m.rows; ++i) folds[i] = i % 4;
  ASSERT_OK_AND_ASSIGN(std::vector<ModelValidation> models,
                       CrossValidate(m, labels, folds, PropensityOptions{}));
  ASSERT_EQ(models.size(), 2u);
  EXPECT_EQ(models[0].kind, PropensityModelKind::kLogistic);
  EXPECT_LT(models[0].mean_auroc, 0.6);
  EXPECT_GT(models[1].mean_auroc, 0.93);
  EXPECT_EQ(models[1].auroc.size(), 4u);
  ASSERT_OK_AND_ASSIGN(PropensityModel trees,
                       FitPropensity(m, labels, PropensityModelKind::kBoostedTrees, {}));
  const auto importance = trees.Importance();
  ASSERT_GE(importance.size(), 2u);
  EXPECT_TRUE((importance[0].first == "x1" && importance[1].first == "x2") ||
              (importance[0].first == "x2" && importance[1].first == "x1"));
  // Deterministic for the seed.
  ASSERT_OK_AND_ASSIGN(PropensityModel again,
                       FitPropensity(m, labels, PropensityModelKind::kBoostedTrees, {}));
  ASSERT_OK_AND_ASSIGN(std::vector<double> first, trees.Predict(m));
  ASSERT_OK_AND_ASSIGN(std::vector<double> second, again.Predict(m));
  EXPECT_EQ(first, second);
  // Columns other than the ones fitted on are refused, not scored.
  FeatureMatrix renamed = m;
  renamed.names[3] = "other";
  EXPECT_EQ(trees.Predict(renamed).status().code(), StatusCode::kInvalidArgument);
  ASSERT_OK_AND_ASSIGN(PropensityModel linear,
                       FitPropensity(m, labels, PropensityModelKind::kLogistic, {}));
  EXPECT_EQ(linear.Predict(renamed).status().code(), StatusCode::kInvalidArgument);
  // NaN scores have no rank: the metrics say NaN instead of looping or sorting undefined.
  EXPECT_TRUE(std::isnan(Auroc({0.2, std::nan(""), 0.4}, {0, 1, 1})));
  EXPECT_TRUE(std::isnan(AveragePrecision({0.2, std::nan(""), 0.4}, {0, 1, 1})));
  // Bad input.
  EXPECT_EQ(
      FitPropensity(m, std::vector<uint8_t>(m.rows, 1), PropensityModelKind::kBoostedTrees, {})
          .status()
          .code(),
      StatusCode::kInvalidArgument);
  PropensityOptions bad;
  bad.trees.learning_rate = 0;
  EXPECT_EQ(FitPropensity(m, labels, PropensityModelKind::kBoostedTrees, bad).status().code(),
            StatusCode::kInvalidArgument);
  std::vector<uint32_t> one_fold(m.rows, 0);
  EXPECT_EQ(CrossValidate(m, labels, one_fold, {}).status().code(), StatusCode::kInvalidArgument);
  std::vector<uint8_t> skewed(m.rows, 0);
  for (size_t i = 0; i < m.rows; i += 4) skewed[i] = 1;  // fold 0 all positive
  EXPECT_EQ(CrossValidate(m, skewed, folds, {}).status().code(), StatusCode::kInvalidArgument);
}

// The trees as plain data score every row as XGBoost does (missing values included), and keep
// doing so after their JSON round trip; malformed trees are refused with their place.
TEST(BoostedTrees, PlainTreesScoreAsXgboostDoes) {
  std::mt19937_64 random(11);
  FeatureMatrix m;
  m.rows = 3000;
  m.columns = 3;
  m.names = {"a", "b", "c"};
  std::vector<uint8_t> labels;
  for (size_t i = 0; i < m.rows; ++i) {
    const double a = (random() % 1000) / 100.0, b = (random() % 1000) / 7.0;
    m.values.insert(m.values.end(), {a, b, double(random() % 5)});
    if (i % 7 == 0) m.values[i * 3 + (i % 3)] = std::nan("");
    labels.push_back((a * a > 25) != (b > 70) || random() % 10 == 0);
  }
  ASSERT_OK_AND_ASSIGN(BoostedTreesModel model, FitBoostedTrees(m, labels, {}));
  ASSERT_OK_AND_ASSIGN(std::vector<double> xgboost, model.Predict(m));
  ASSERT_OK_AND_ASSIGN(TreeEnsemble plain, model.Ensemble());
  EXPECT_EQ(plain.trees(), model.rounds());
  JsonWriter json;
  plain.WriteJson(json);
  ASSERT_OK_AND_ASSIGN(TreeEnsemble reread, TreeEnsemble::ParseJson(json.str(), 3));
  double largest = 0;
  for (size_t r = 0; r < m.rows; ++r) {
    largest = std::max(largest, std::abs(plain.Predict(m.row(r)) - xgboost[r]));
    ASSERT_EQ(reread.Predict(m.row(r)), plain.Predict(m.row(r))) << r;
  }
  EXPECT_LT(largest, 1e-6);
  EXPECT_EQ(TreeEnsemble::ParseJson(json.str(), 4).status().code(), StatusCode::kInvalidArgument);
  const auto refused = [](std::string_view tree) {
    const std::string text =
        fmt::format(R"({{"columns": 2, "base_margin": 0, "trees": [{}]}})", tree);
    auto parsed = TreeEnsemble::ParseJson(text, 2);
    return parsed.ok() ? std::string("accepted") : parsed.status().message();
  };
  EXPECT_EQ(refused(R"({"left": [1, -1, -1], "right": [2, -1, -1], "feature": [1, 0, 0],)"
                    R"( "value": [0.5, 1, 2], "default_left": [0, 0, 0]})"),
            "accepted");
  EXPECT_EQ(refused(R"({"left": [1, -1, -1], "right": [2, -1, -1], "feature": [2, 0, 0],)"
                    R"( "value": [0.5, 1, 2], "default_left": [0, 0, 0]})"),
            "trees.trees[0]: node 0 splits on feature 2 of 2");
  EXPECT_EQ(refused(R"({"left": [1, 0, -1], "right": [2, 0, -1], "feature": [1, 0, 0],)"
                    R"( "value": [0.5, 1, 2], "default_left": [0, 0, 0]})"),
            "trees.trees[0]: node 1 has child 0, not a node of its own");
  EXPECT_EQ(refused(R"({"left": [1, -1], "right": [2, -1], "feature": [1, 0],)"
                    R"( "value": [0.5, 1], "default_left": [0, 0]})"),
            "trees.trees[0]: node 0 has child 2, not a node of its own");
}

// Profiles who were active in the last two weeks before a cut-off buy within 30 days after it;
// the held-out period tells the models so, and the scores (as of now) follow recent activity.
TEST(Propensity, HeldOutPeriodOnEventsWhoseFutureIsKnown) {
  TempDir dir;
  auto engine = OpenEngine(dir);
  ASSERT_NE(engine, nullptr);
  std::mt19937_64 random(8);
  std::vector<EventInput> events;
  std::vector<ProfileInput> profiles;
  const auto add = [&](int p, const std::string& type, Timestamp time) {
    EventInput e;
    e.profile_id = "p" + std::to_string(p);
    e.type = type;
    e.time = time;
    events.push_back(e);
  };
  for (int p = 0; p < 600; ++p) {
    profiles.push_back({"p" + std::to_string(p),
                        {{"segment", {TraitType::kString, std::string(p % 2 ? "a" : "b")}}}});
    // Each 30-day period: an active profile visits in its last 10 days and buys in the next.
    for (int period = 0; period < 4; ++period) {
      const Timestamp end = kNow - (3 - period) * 30 * kDay;
      const bool active = random() % 3 == 0;
      if (active) add(p, "visit", end - (1 + random() % 9) * kDay);
      if (active ? random() % 10 != 0 : random() % 10 == 0) {
        if (period < 3) add(p, "purchase", end + (1 + random() % 28) * kDay);
      }
      if (random() % 2) add(p, "visit", end - (12 + random() % 15) * kDay);  // noise
    }
  }
  BatchReport report;
  ASSERT_OK(engine->UpsertProfiles(profiles, report));
  ASSERT_OK(engine->IngestEvents(events, report));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<snapshot::Snapshot> snap, engine->BuildSnapshot());
  PropensitySpec spec;
  spec.traits = {"segment"};
  spec.target_event = "purchase";
  spec.horizon_days = 30;
  spec.cutoff = kNow - 30 * kDay;
  ASSERT_OK_AND_ASSIGN(PropensityStudy study, RunPropensity(*snap, spec, kNow));
  ASSERT_EQ(study.models.size(), 2u);
  for (const ModelValidation& m : study.models) EXPECT_GT(m.mean_auroc, 0.8);
  EXPECT_NE(study.drivers[0].feature.find("visit"), std::string::npos) << study.drivers[0].feature;
  // Scored on behaviour as of now, every profile active before it (the ones with no event are
  // no rows): the profiles active in the last 10 days score higher.
  std::set<std::string> with_events;
  for (const EventInput& e : events) with_events.insert(e.profile_id);
  ASSERT_EQ(study.scores.size(), with_events.size());
  ASSERT_LT(with_events.size(), 600u);
  double active = 0, idle = 0;
  size_t actives = 0;
  for (size_t r = 0; r < study.ids.size(); ++r) {
    bool recent = false;
    const std::string id(snap->external_id(study.ids[r]));
    for (const EventInput& e : events) {
      recent = recent || (e.profile_id == id && e.type == "visit" && e.time >= kNow - 10 * kDay);
    }
    (recent ? active : idle) += study.scores[r];
    actives += recent;
  }
  EXPECT_GT(active / actives, 2 * idle / (study.ids.size() - actives));
  const ScoreSegment segment = PropensitySegment("buyers", study, 0.25);
  EXPECT_GE(segment.size, study.ids.size() / 4);
  EXPECT_NE(segment.definition.rule.find("buyers_score >= "), std::string::npos);
  // A horizon that ends after now, no target, two targets, an unknown event type.
  spec.cutoff = kNow - 10 * kDay;
  EXPECT_EQ(RunPropensity(*snap, spec, kNow).status().code(), StatusCode::kInvalidArgument);
  spec.cutoff = 0;
  spec.target_trait = "segment";
  EXPECT_EQ(RunPropensity(*snap, spec, kNow).status().code(), StatusCode::kInvalidArgument);
  spec.target_trait.clear();
  spec.target_event = "nope";
  EXPECT_EQ(RunPropensity(*snap, spec, kNow).status().code(), StatusCode::kNotFound);
  spec.target_event.clear();
  EXPECT_EQ(RunPropensity(*snap, spec, kNow).status().code(), StatusCode::kInvalidArgument);
  spec.target_trait = "segment";  // a string is not a target
  EXPECT_EQ(RunPropensity(*snap, spec, kNow).status().code(), StatusCode::kInvalidArgument);
}

TEST(Propensity, ProgressPerModelAndFoldAndCancellation) {
  std::mt19937_64 random(6);
  FeatureMatrix m;
  m.rows = 600;
  m.columns = 2;
  m.names = {"a", "b"};
  std::vector<uint8_t> labels;
  std::vector<uint32_t> folds;
  for (size_t i = 0; i < m.rows; ++i) {
    const double a = (random() % 1000) / 100.0;
    m.values.insert(m.values.end(), {a, double(random() % 10)});
    labels.push_back(a + (random() % 300) / 100.0 > 6);
    folds.push_back(i % 3);
  }
  std::vector<std::pair<std::string, double>> reports;
  RunControl control;
  control.on_progress = [&](std::string_view stage, double fraction) {
    reports.emplace_back(std::string(stage), fraction);
  };
  PropensityOptions options;
  options.control = &control;
  ASSERT_OK_AND_ASSIGN(std::vector<ModelValidation> models,
                       CrossValidate(m, labels, folds, options));
  ASSERT_EQ(reports.size(), 6u);  // 2 models x 3 folds
  EXPECT_EQ(reports[0].first, "logistic, fold 1 of 3");
  EXPECT_EQ(reports[5].first, "boosted_trees, fold 3 of 3");
  for (size_t i = 0; i < reports.size(); ++i) EXPECT_DOUBLE_EQ(reports[i].second, i / 6.0);
  // Asked to stop, or past the deadline: kCancelled, at the first check.
  std::atomic<bool> stop{true};
  control.cancel = &stop;
  reports.clear();
  EXPECT_EQ(CrossValidate(m, labels, folds, options).status().code(), StatusCode::kCancelled);
  EXPECT_EQ(reports.size(), 1u);
  stop = false;
  control.deadline = std::chrono::steady_clock::now() - std::chrono::seconds(1);
  for (auto kind : {PropensityModelKind::kLogistic, PropensityModelKind::kBoostedTrees}) {
    EXPECT_EQ(FitPropensity(m, labels, kind, options).status().code(), StatusCode::kCancelled);
  }
  KMeansOptions kmeans;
  kmeans.k = 3;
  kmeans.restarts = 2;
  kmeans.control = &control;
  EXPECT_EQ(KMeans(m, kmeans).status().code(), StatusCode::kCancelled);
  EXPECT_EQ(ChooseK(m, 2, 4, kmeans).status().code(), StatusCode::kCancelled);
}

TEST(Propensity, HashFoldsAreStableAndBalanced) {
  std::vector<std::string> ids;
  for (int i = 0; i < 10'000; ++i) ids.push_back("customer-" + std::to_string(i));
  const std::vector<uint32_t> folds = HashFolds(ids, 5);
  EXPECT_EQ(folds, HashFolds(ids, 5));
  std::vector<size_t> sizes(5, 0);
  for (uint32_t f : folds) ++sizes.at(f);
  for (size_t s : sizes) EXPECT_NEAR(double(s), 2000, 150);
}

}  // namespace
}  // namespace tailor::analytics

// `tailor bench intent`: the intent rules and a learned model (one-vs-rest L2 logistic
// regression over the session features) scored on simulated labelled sessions
// (intent_simulation.h): accuracy, per-class precision and recall, confusion matrices, and the
// time to classify one session.

#include <fmt/format.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "commands.h"
#include "tailor/intent.h"
#include "tailor/intent_simulation.h"
#include "tailor/json_writer.h"
#include "tailor/logistic.h"

namespace tailor::cli {
namespace {

constexpr std::array<intent::Intent, 5> kClasses = {
    intent::Intent::kInspiration, intent::Intent::kBestOffer, intent::Intent::kConcerns,
    intent::Intent::kPostPurchase, intent::Intent::kUnknown};
constexpr const char* kReferrers[] = {"direct", "search",           "social",  "email",
                                      "paid",   "price_comparison", "referral"};

size_t IndexOf(intent::Intent i) {
  for (size_t k = 0; k < kClasses.size(); ++k) {
    if (kClasses[k] == i) return k;
  }
  return kClasses.size() - 1;
}

// The session features as numbers: the numeric features, then the referrer class one-hot.
std::vector<double> Row(const intent::SessionFeatures& f) {
  std::vector<double> row;
  for (const auto& [name, value] : intent::FeatureTraits(f)) {
    if (const int64_t* i = std::get_if<int64_t>(&value.value)) row.push_back(double(*i));
    if (const double* d = std::get_if<double>(&value.value)) row.push_back(*d);
  }
  for (const char* r : kReferrers) row.push_back(f.referrer_class == r ? 1 : 0);
  return row;
}

using Matrix = std::array<std::array<uint64_t, 5>, 5>;  // [truth][predicted]

void WriteScores(JsonWriter& json, const char* name, const Matrix& m) {
  uint64_t right = 0, total = 0;
  for (size_t t = 0; t < 5; ++t) {
    for (size_t p = 0; p < 5; ++p) {
      total += m[t][p];
      if (t == p) right += m[t][p];
    }
  }
  json.Key(name).BeginObject().Key("accuracy").Double(total ? double(right) / total : 0);
  json.Key("classes").BeginObject();
  for (size_t c = 0; c < 4; ++c) {
    uint64_t predicted = 0, actual = 0;
    for (size_t k = 0; k < 5; ++k) {
      predicted += m[k][c];
      actual += m[c][k];
    }
    json.Key(intent::IntentName(kClasses[c]))
        .BeginObject()
        .Key("precision")
        .Double(predicted ? double(m[c][c]) / predicted : 0)
        .Key("recall")
        .Double(actual ? double(m[c][c]) / actual : 0)
        .EndObject();
  }
  json.EndObject().Key("confusion").BeginArray();  // rows: truth; columns: predicted
  for (size_t t = 0; t < 4; ++t) {
    json.BeginArray();
    for (size_t p = 0; p < 5; ++p) json.Uint(m[t][p]);
    json.EndArray();
  }
  json.EndArray().EndObject();
}

void PrintScores(const char* name, const Matrix& m) {
  uint64_t right = 0, total = 0;
  for (size_t t = 0; t < 5; ++t) {
    for (size_t p = 0; p < 5; ++p) {
      total += m[t][p];
      if (t == p) right += m[t][p];
    }
  }
  std::printf(
      "%s: accuracy %.3f\n  truth \\ predicted  inspiration best_offer concerns "
      "post_purchase unknown   precision recall\n",
      name, total ? double(right) / total : 0);
  for (size_t t = 0; t < 4; ++t) {
    uint64_t predicted = 0, actual = 0;
    for (size_t k = 0; k < 5; ++k) {
      predicted += m[k][t];
      actual += m[t][k];
    }
    std::printf("  %-18s %11llu %10llu %8llu %13llu %7llu   %9.3f %6.3f\n",
                std::string(intent::IntentName(kClasses[t])).c_str(), (unsigned long long)m[t][0],
                (unsigned long long)m[t][1], (unsigned long long)m[t][2],
                (unsigned long long)m[t][3], (unsigned long long)m[t][4],
                predicted ? double(m[t][t]) / predicted : 0, actual ? double(m[t][t]) / actual : 0);
  }
}

struct Args {
  size_t sessions = 20000;
  uint64_t seed = 1;
  std::string rules_file;
};

int Run(const GlobalOptions& global, const Args& args) {
  intent::IntentRules rules = intent::DefaultIntentRules();
  if (!args.rules_file.empty()) {
    std::ifstream in(args.rules_file);
    std::stringstream text;
    text << in.rdbuf();
    auto parsed = intent::ParseIntentRules(text.str());
    if (!parsed.ok()) return ReportError(global, parsed.status());
    rules = std::move(parsed).value();
  }
  const std::vector<intent::SimulatedSession> sessions =
      intent::SimulateSessions(args.sessions, args.seed);
  // 70 % to fit the learned model, 30 % held out for both.
  std::vector<const intent::SimulatedSession*> train, test;
  // (by blocks of four, so both keep the intents' equal shares)
  for (size_t i = 0; i < sessions.size(); ++i) {
    (i / 4 % 10 < 7 ? train : test).push_back(&sessions[i]);
  }
  Matrix by_rules{}, by_model{};
  const auto started = std::chrono::steady_clock::now();
  for (const intent::SimulatedSession* s : test) {
    const intent::Classification c = intent::Classify(rules, s->events, s->end);
    ++by_rules[IndexOf(s->label)][IndexOf(c.intent)];
  }
  const double micros =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - started)
          .count() /
      std::max<size_t>(1, test.size());

  // One model per intent (that intent vs the rest); the most probable wins.
  analytics::FeatureMatrix x;
  for (const intent::SimulatedSession* s : train) {
    const std::vector<double> row = Row(intent::SummarizeSession(s->events, s->end));
    x.columns = row.size();
    x.values.insert(x.values.end(), row.begin(), row.end());
    ++x.rows;
  }
  for (size_t j = 0; j < x.columns; ++j) x.names.push_back(fmt::format("f{}", j));
  std::vector<analytics::LogisticModel> models;
  for (size_t c = 0; c < 4; ++c) {
    std::vector<uint8_t> labels;
    for (const intent::SimulatedSession* s : train) labels.push_back(s->label == kClasses[c]);
    auto model = analytics::FitLogistic(x, labels, {});
    if (!model.ok()) return ReportError(global, model.status());
    models.push_back(std::move(model).value());
  }
  for (const intent::SimulatedSession* s : test) {
    const std::vector<double> row = Row(intent::SummarizeSession(s->events, s->end));
    size_t best = 0;
    double best_p = -1;
    for (size_t c = 0; c < 4; ++c) {
      const double p = models[c].Predict(row.data());
      if (p > best_p) {
        best_p = p;
        best = c;
      }
    }
    ++by_model[IndexOf(s->label)][best];
  }
  if (global.json) {
    JsonWriter json;
    json.BeginObject()
        .Key("sessions")
        .Uint(sessions.size())
        .Key("held_out")
        .Uint(test.size())
        .Key("rules_micros_per_session")
        .Double(micros);
    WriteScores(json, "rules", by_rules);
    WriteScores(json, "learned", by_model);
    json.EndObject();
    std::printf("%s\n", json.str().c_str());
    return 0;
  }
  std::printf("%zu simulated sessions (seed %llu), %zu held out; rules %.2f us per session\n",
              sessions.size(), (unsigned long long)args.seed, test.size(), micros);
  PrintScores("rules", by_rules);
  PrintScores("learned (one-vs-rest L2 logistic on the session features)", by_model);
  return 0;
}

}  // namespace

void RegisterBenchIntent(CLI::App& bench, GlobalOptions& global, int& exit_code) {
  auto args = std::make_shared<Args>();
  CLI::App* command = bench.add_subcommand(
      "intent", "intent rules and a learned model on simulated labelled sessions");
  command->add_option("--sessions", args->sessions)->capture_default_str();
  command->add_option("--seed", args->seed)->capture_default_str();
  command->add_option("--rules", args->rules_file, "intent rules instead of the defaults")
      ->check(CLI::ExistingFile);
  command->callback([&, args] { exit_code = Run(global, *args); });
}

}  // namespace tailor::cli

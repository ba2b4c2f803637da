// `tailor intent ID`: the intent of a profile's current session, with the evidence
// (include/tailor/intent.h).

#include <cstdio>
#include <fstream>
#include <sstream>

#include "commands.h"
#include "tailor/intent.h"
#include "tailor/intent_model.h"
#include "tailor/json_writer.h"
#include "tailor/service.h"

namespace tailor::cli {
namespace {

struct IntentArgs {
  std::string id, now, rules_file;
  bool print_rules = false;
  bool train = false;
  std::string answer_trait = "session_intent";
  std::string readiness = "boosted_trees";
  bool validate_readiness = false;
  std::string label_trait, fold_trait;
  size_t folds = 5;
};

// --validate-readiness: the readiness model cross-validated on sessions recorded elsewhere and
// imported one per profile (intent_model.h RecordedSessions; the UCI shopper sessions with
// mappings/online_shoppers_session_features.json).
int ValidateReadiness(const GlobalOptions& global, const IntentArgs& args,
                      intent::ReadinessFamily family) {
  if (args.label_trait.empty()) {
    return ReportError(global, InvalidArgument("--validate-readiness needs --label TRAIT"));
  }
  const std::unique_ptr<snapshot::Snapshot> snapshot = StoreSnapshot(global);
  if (snapshot == nullptr) return 1;
  auto sessions = intent::RecordedSessions(*snapshot, args.label_trait, args.fold_trait);
  if (!sessions.ok()) return ReportError(global, sessions.status());
  auto report = intent::CrossValidateReadiness(*sessions, family, args.folds);
  if (!report.ok()) return ReportError(global, report.status());
  if (global.json) {
    JsonWriter json;
    json.BeginObject()
        .Key("model")
        .String(intent::ReadinessFamilyName(family))
        .Key("sessions")
        .Uint(report->sessions)
        .Key("purchases")
        .Uint(report->purchases)
        .Key("mean_auroc")
        .Double(report->mean_auroc)
        .Key("mean_average_precision")
        .Double(report->mean_average_precision)
        .Key("score_microseconds")
        .Double(report->score_microseconds)
        .Key("auroc")
        .BeginArray();
    for (double a : report->auroc) json.Double(a);
    json.EndArray().Key("average_precision").BeginArray();
    for (double a : report->average_precision) json.Double(a);
    json.EndArray().EndObject();
    std::printf("%s\n", json.str().c_str());
    return 0;
  }
  std::printf("purchase readiness (%s), %llu sessions, %llu with a purchase, %zu folds:\n",
              std::string(intent::ReadinessFamilyName(family)).c_str(),
              static_cast<unsigned long long>(report->sessions),
              static_cast<unsigned long long>(report->purchases), report->auroc.size());
  std::printf("  mean AUROC %.4f, mean average precision %.4f\n  per fold AUROC:",
              report->mean_auroc, report->mean_average_precision);
  for (double a : report->auroc) std::printf(" %.4f", a);
  std::printf("\n  scoring one session: %.2f us\n", report->score_microseconds);
  return 0;
}

// --train: the learned model from the store's labelled sessions (tailor/intent_model.h).
int Train(const GlobalOptions& global, const IntentArgs& args, intent::ReadinessFamily family) {
  ServiceOptions options;
  options.engine.store.create_if_missing = false;
  options.evaluate_on_open = false;
  auto service = Service::Open(global.data_dir, std::move(options));
  if (!service.ok()) return ReportError(global, service.status());
  intent::LabelOptions label;
  label.answer_trait = args.answer_trait;
  label.readiness = family;
  auto run = (*service)->TrainIntentModel(label);
  if (!run.ok()) return ReportError(global, run.status());
  const intent::TrainReport& r = run->report;
  if (global.json) {
    JsonWriter json;
    intent::WriteTrainReport(json, r);
    std::printf("%s\n", json.str().c_str());
    return 0;
  }
  std::printf("intent model: %llu labelled sessions (%llu held out)",
              static_cast<unsigned long long>(r.intent_sessions),
              static_cast<unsigned long long>(r.intent_held_out));
  if (!run->model->classes.empty()) {
    std::printf(", held-out accuracy %.3f\n", r.accuracy);
    for (size_t t = 0; t < r.classes.size(); ++t) {
      std::printf("  %-14s precision %.3f recall %.3f (%llu)  predicted:",
                  r.classes[t].name.c_str(), r.classes[t].precision, r.classes[t].recall,
                  static_cast<unsigned long long>(r.classes[t].support));
      for (uint64_t n : r.confusion[t]) std::printf(" %llu", static_cast<unsigned long long>(n));
      std::printf("\n");
    }
  } else {
    std::printf(": fewer than two intents answered, no intent model\n");
  }
  std::printf("purchase readiness: %llu sessions (%llu held out, %.1f %% with a purchase)",
              static_cast<unsigned long long>(r.outcome_sessions),
              static_cast<unsigned long long>(r.outcome_held_out), 100 * r.positive_share);
  if (r.readiness_auroc) {
    std::printf(", held-out AUROC %.4f\n", *r.readiness_auroc);
  } else {
    std::printf("\n");
  }
  return 0;
}

void PrintEvidence(const segments::Explanation& e, int depth) {
  std::printf("  %*s%s %s%s%s\n", depth * 2, "", e.matched ? "yes" : "no ", e.condition.c_str(),
              e.seen.empty() ? "" : "  seen: ", e.seen.c_str());
  for (const segments::Explanation& child : e.children) PrintEvidence(child, depth + 1);
}

int Run(const GlobalOptions& global, const IntentArgs& args) {
  intent::IntentRules rules = intent::DefaultIntentRules();
  if (!args.rules_file.empty()) {
    std::ifstream in(args.rules_file);
    if (!in) return ReportError(global, IoError("cannot read '{}'", args.rules_file));
    std::stringstream text;
    text << in.rdbuf();
    auto parsed = intent::ParseIntentRules(text.str());
    if (!parsed.ok()) {
      return ReportError(global,
                         InvalidArgument("{}:{}", args.rules_file, parsed.status().message()));
    }
    rules = std::move(parsed).value();
  }
  if (args.print_rules) {
    std::printf("%s", rules.text.c_str());
    return 0;
  }
  if (args.train || args.validate_readiness) {
    const auto family = intent::ParseReadinessFamily(args.readiness);
    if (!family) {
      return ReportError(global, InvalidArgument("--readiness: '{}' is not boosted_trees or "
                                                 "logistic",
                                                 args.readiness));
    }
    return args.train ? Train(global, args, *family) : ValidateReadiness(global, args, *family);
  }
  if (args.id.empty()) return ReportError(global, InvalidArgument("name a profile"));
  auto now = ParseNow(args.now);
  if (!now.ok()) return ReportError(global, now.status());
  auto events = ProfileEvents(global, args.id);
  if (!events.ok()) return ReportError(global, events.status());
  const intent::Classification c = intent::Classify(rules, *events, *now);
  if (global.json) {
    JsonWriter json;
    json.BeginObject()
        .Key("intent")
        .String(intent::IntentName(c.intent))
        .Key("reason")
        .String(c.reason)
        .Key("rule_line")
        .Int(c.rule_line)
        .Key("session")
        .BeginObject();
    for (const auto& [name, value] : intent::FeatureTraits(c.session)) {
      json.Key(name);
      WriteTypedValue(json, value);
    }
    json.EndObject().EndObject();
    std::printf("%s\n", json.str().c_str());
    return 0;
  }
  std::printf("%s: %s\n", args.id.c_str(), std::string(intent::IntentName(c.intent)).c_str());
  std::printf("  %s\n", c.reason.c_str());
  if (c.rule_line > 0) PrintEvidence(c.evidence, 0);
  if (c.session.events > 0) {
    std::printf("session: %lld events over %.1f min from %s\n",
                static_cast<long long>(c.session.events), c.session.minutes,
                c.session.referrer_class.c_str());
  }
  return 0;
}

}  // namespace

void RegisterIntent(CLI::App& app, GlobalOptions& global, int& exit_code) {
  auto args = std::make_shared<IntentArgs>();
  CLI::App* command =
      app.add_subcommand("intent", "the intent of a profile's current session, with the evidence");
  command->add_option("id", args->id, "profile, anonymous or merged-away id");
  command->add_option("--now", args->now, "as of this time (default: the clock)");
  command->add_option("--rules", args->rules_file, "intent rules (`intent: rule` per line)")
      ->check(CLI::ExistingFile);
  command->add_flag("--print-rules", args->print_rules, "print the rules (default or --rules)");
  command->add_flag("--train", args->train,
                    "train the learned model from the store's labelled sessions (survey answers "
                    "of --answer-trait, sessions with and without a purchase)");
  command
      ->add_option("--answer-trait", args->answer_trait,
                   "the trait of the survey question whose answers label session intents")
      ->capture_default_str();
  command
      ->add_option("--readiness", args->readiness,
                   "the purchase-readiness model: boosted_trees or logistic")
      ->capture_default_str();
  command->add_flag("--validate-readiness", args->validate_readiness,
                    "cross-validate the readiness model on sessions imported one per profile, "
                    "their traits named as session features (--label, --fold-trait)");
  command->add_option("--label", args->label_trait,
                      "with --validate-readiness: the trait saying the session ended in a "
                      "purchase");
  command->add_option("--fold-trait", args->fold_trait,
                      "with --validate-readiness: an int trait; fold = its value mod --folds "
                      "(default: the dense id)");
  command->add_option("--folds", args->folds, "with --validate-readiness")
      ->capture_default_str()
      ->check(CLI::Range(2, 100));
  command->callback([&, args] { exit_code = Run(global, *args); });
}

}  // namespace tailor::cli

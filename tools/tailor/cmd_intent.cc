// `tailor intent ID`: the intent of a profile's current session, with the evidence
// (include/tailor/intent.h).

#include <cstdio>
#include <fstream>
#include <sstream>

#include "commands.h"
#include "tailor/intent.h"
#include "tailor/json_writer.h"

namespace tailor::cli {
namespace {

struct IntentArgs {
  std::string id, now, rules_file;
  bool print_rules = false;
};

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
  command->callback([&, args] { exit_code = Run(global, *args); });
}

}  // namespace tailor::cli

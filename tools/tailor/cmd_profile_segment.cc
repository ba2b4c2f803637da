// `tailor profile-segment`: what distinguishes a segment from the rest (segment_profile.h).

#include <cmath>
#include <cstdio>
#include <map>

#include "commands.h"
#include "tailor/json_writer.h"
#include "tailor/population.h"
#include "tailor/segment_catalog.h"
#include "tailor/segment_profile.h"

namespace tailor::cli {
namespace {

struct ProfileSegmentArgs {
  std::string name, rule, exclude, versus, now;
  size_t top = 10;
};

int Run(const GlobalOptions& global, const ProfileSegmentArgs& args) {
  auto engine = OpenEngine(global, /*create_if_missing=*/false);
  if (!engine) return 1;
  auto now = ParseNow(args.now);
  if (!now.ok()) return ReportError(global, now.status());
  segments::SegmentCatalog catalog(engine->store());
  segments::SegmentDefinition definition;
  if (!args.name.empty()) {
    auto saved = catalog.Get(args.name);
    if (!saved.ok()) return ReportError(global, saved.status());
    definition = *saved;
  } else if (!args.rule.empty()) {
    definition.rule = args.rule;
    definition.exclude = args.exclude;
  } else {
    return ReportError(global, InvalidArgument("name a segment, or give --rule TEXT"));
  }
  std::optional<segments::SegmentDefinition> versus;
  if (!args.versus.empty()) {
    auto saved = catalog.Get(args.versus);
    if (!saved.ok()) return ReportError(global, saved.status());
    versus = *saved;
  }
  // The population with every field the rules read; referenced segments by their stored members.
  std::vector<segments::Rule> rules;
  for (const segments::SegmentDefinition* d : {&definition, versus ? &*versus : nullptr}) {
    if (d == nullptr) continue;
    for (const std::string* text : {&d->rule, &d->exclude}) {
      if (text->empty()) continue;
      auto rule = segments::ParseRule(*text);
      if (!rule.ok()) return ReportError(global, rule.status());
      rules.push_back(std::move(rule).value());
    }
  }
  std::vector<const segments::Rule*> reads;
  for (const segments::Rule& rule : rules) reads.push_back(&rule);
  auto population = LoadPopulation(*engine, reads);
  if (!population.ok()) return ReportError(global, population.status());
  segments::EvalContext context = (*population)->Context(*now);
  std::map<std::string, segments::ProfileSet, std::less<>> stored;
  context.segment = [&](std::string_view name) -> const segments::ProfileSet* {
    auto it = stored.find(name);
    if (it == stored.end()) {
      auto members = catalog.Members(name);
      if (!members.ok()) return nullptr;
      it = stored.emplace(std::string(name), std::move(members).value()).first;
    }
    return &it->second;
  };
  auto members = segments::EvaluateDefinition(definition, context);
  if (!members.ok()) return ReportError(global, members.status());
  std::optional<segments::SegmentResult> comparison;
  if (versus) {
    auto evaluated = segments::EvaluateDefinition(*versus, context);
    if (!evaluated.ok()) return ReportError(global, evaluated.status());
    comparison = std::move(evaluated).value();
  }
  analytics::SegmentProfileOptions options;
  options.top = args.top;
  options.versus = comparison ? &comparison->members : nullptr;
  auto profile = analytics::ProfileSegment(*(*population)->snapshot, members->members, options);
  if (!profile.ok()) return ReportError(global, profile.status());
  if (global.json) {
    JsonWriter json;
    analytics::WriteJson(json, *profile);
    std::printf("%s\n", json.str().c_str());
    return 0;
  }
  std::printf("%llu members (%.1f %% of known profiles), compared with %llu %s\n",
              static_cast<unsigned long long>(profile->size), 100 * profile->share,
              static_cast<unsigned long long>(profile->others),
              versus ? ("in " + args.versus).c_str() : "others");
  for (const std::string& line : profile->description) std::printf("  %s\n", line.c_str());
  std::printf("\ncategories (by effect size, Cohen's h):\n");
  for (const analytics::CategoryFinding& c : profile->categories) {
    std::printf("  %+.2f  %s\n", c.effect, c.sentence.c_str());
  }
  std::printf("\nnumbers (by standardized mean difference):\n");
  for (const analytics::NumberFinding& n : profile->numbers) {
    std::printf("  %+.2f  %s\n", n.effect, n.sentence.c_str());
  }
  return 0;
}

}  // namespace

void RegisterProfileSegment(CLI::App& app, GlobalOptions& global, int& exit_code) {
  auto args = std::make_shared<ProfileSegmentArgs>();
  CLI::App* command = app.add_subcommand("profile-segment",
                                         "what distinguishes a segment's members from the others");
  command->add_option("name", args->name, "a saved segment (or give --rule)");
  command->add_option("--rule", args->rule, "an unsaved rule to profile");
  command->add_option("--exclude", args->exclude, "with --rule: who is never in it");
  command->add_option("--versus", args->versus,
                      "compare with this saved segment (default: all others)");
  command->add_option("--top", args->top, "findings of each kind")->capture_default_str();
  command->add_option("--now", args->now, "evaluate as of this time (default: now)");
  command->callback([&, args] { exit_code = Run(global, *args); });
}

}  // namespace tailor::cli

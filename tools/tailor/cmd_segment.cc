// tailor segment create|list|show|delete|eval|members|overlap|preview|history
// tailor scheme create|show

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <map>
#include <sstream>

#include "commands.h"
#include "tailor/explain.h"
#include "tailor/json_writer.h"
#include "tailor/population.h"
#include "tailor/segment_catalog.h"

namespace tailor::cli {
namespace {

using segments::ProfileSet;
using segments::SegmentCatalog;
using segments::SegmentDefinition;

std::string TimeText(Timestamp time) { return IsoTime(time); }

void PrintJson(const JsonWriter& json) { std::printf("%s\n", json.str().c_str()); }

void WriteDefinition(JsonWriter& json, const SegmentDefinition& d) {
  json.BeginObject();
  WriteDefinitionFields(json, d);
  json.EndObject();
}

// Everything evaluation needs: the population the rules read (population.h) at `now`.
struct Evaluation {
  std::unique_ptr<Population> population;
  segments::EvalContext context;
};

Result<std::unique_ptr<Evaluation>> PrepareEvaluation(Engine& engine,
                                                      const std::vector<std::string>& rules,
                                                      const std::string& now_text) {
  auto evaluation = std::make_unique<Evaluation>();
  TAILOR_ASSIGN_OR_RETURN(const Timestamp now, ParseNow(now_text));
  std::vector<segments::Rule> parsed;
  for (const std::string& text : rules) {
    TAILOR_ASSIGN_OR_RETURN(parsed.emplace_back(), segments::ParseRule(text));
  }
  std::vector<const segments::Rule*> reads;
  for (const segments::Rule& rule : parsed) reads.push_back(&rule);
  TAILOR_ASSIGN_OR_RETURN(evaluation->population, LoadPopulation(engine, reads));
  evaluation->context = evaluation->population->Context(now);
  return evaluation;
}

Result<std::string> RuleText(const std::string& rule, const std::string& rule_file) {
  if (!rule_file.empty()) {
    std::ifstream in(rule_file);
    if (!in) return IoError("cannot read '{}'", rule_file);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  if (rule.empty()) return InvalidArgument("give the rule with --rule TEXT or --rule-file FILE");
  return rule;
}

struct CreateArgs {
  std::string name, rule, rule_file, exclude, description, objective = "engage", owner;
  std::vector<std::string> tags, channels;
};

int RunCreate(const GlobalOptions& global, const CreateArgs& args) {
  auto engine = OpenEngine(global, /*create_if_missing=*/false);
  if (!engine) return 1;
  auto rule = RuleText(args.rule, args.rule_file);
  if (!rule.ok()) return ReportError(global, rule.status());
  const auto objective = segments::ParseObjective(args.objective);
  if (!objective) {
    return ReportError(global,
                       InvalidArgument("--objective is acquire, engage, reactivate or retain"));
  }
  SegmentDefinition definition{args.name, args.description, *objective, args.owner,
                               args.tags, args.channels,    *rule,      args.exclude};
  SegmentCatalog catalog(engine->store());
  Status status = catalog.Put(definition, engine->schema());
  if (!status.ok()) return ReportError(global, status);
  auto stored = catalog.Get(args.name);
  if (!stored.ok()) return ReportError(global, stored.status());
  if (global.json) {
    JsonWriter json;
    WriteDefinition(json, *stored);
    PrintJson(json);
  } else {
    std::printf("segment %s, version %u\n", stored->name.c_str(), stored->version);
  }
  return 0;
}

int RunList(const GlobalOptions& global) {
  auto engine = OpenEngine(global, /*create_if_missing=*/false);
  if (!engine) return 1;
  SegmentCatalog catalog(engine->store());
  auto all = catalog.List();
  if (!all.ok()) return ReportError(global, all.status());
  JsonWriter json;
  json.BeginObject().Key("segments").BeginArray();
  for (const SegmentDefinition& d : *all) {
    auto history = catalog.History(d.name);
    const bool sized = history.ok() && !history->empty();
    if (global.json) {
      json.BeginObject()
          .Key("name")
          .String(d.name)
          .Key("version")
          .Uint(d.version)
          .Key("objective")
          .String(segments::ObjectiveName(d.objective))
          .Key("size");
      if (sized) {
        json.Uint(history->back().size);
      } else {
        json.Null();
      }
      json.EndObject();
    } else {
      std::printf("%-40s v%-3u %-10s %s\n", d.name.c_str(), d.version,
                  std::string(segments::ObjectiveName(d.objective)).c_str(),
                  sized ? std::to_string(history->back().size).c_str() : "(not evaluated)");
    }
  }
  json.EndArray().EndObject();
  if (global.json) PrintJson(json);
  return 0;
}

int RunShow(const GlobalOptions& global, const std::string& name) {
  auto engine = OpenEngine(global, /*create_if_missing=*/false);
  if (!engine) return 1;
  SegmentCatalog catalog(engine->store());
  auto d = catalog.Get(name);
  if (!d.ok()) return ReportError(global, d.status());
  auto history = catalog.History(name);
  if (!history.ok()) return ReportError(global, history.status());
  if (global.json) {
    JsonWriter json;
    json.BeginObject().Key("definition");
    WriteDefinition(json, *d);
    json.Key("last_evaluation");
    if (history->empty()) {
      json.Null();
    } else {
      const auto& last = history->back();
      json.BeginObject()
          .Key("at")
          .String(TimeText(last.evaluated_at))
          .Key("size")
          .Uint(last.size)
          .Key("matched")
          .Uint(last.matched)
          .Key("excluded")
          .Uint(last.excluded)
          .EndObject();
    }
    json.EndObject();
    PrintJson(json);
    return 0;
  }
  std::printf("segment %s (version %u, objective %s)\n", d->name.c_str(), d->version,
              std::string(segments::ObjectiveName(d->objective)).c_str());
  if (!d->description.empty()) std::printf("  %s\n", d->description.c_str());
  std::printf("rule     %s\n", d->rule.c_str());
  std::printf("exclude  %s\n", d->exclude.empty() ? "(nobody)" : d->exclude.c_str());
  std::printf("channels");
  for (const std::string& channel : d->channels) std::printf(" %s", channel.c_str());
  std::printf("\n");
  if (!history->empty()) {
    const auto& last = history->back();
    std::printf(
        "size     %llu (rule %llu, excluded %llu) at %s\n",
        static_cast<unsigned long long>(last.size), static_cast<unsigned long long>(last.matched),
        static_cast<unsigned long long>(last.excluded), TimeText(last.evaluated_at).c_str());
  }
  return 0;
}

int RunEval(const GlobalOptions& global, const std::string& now) {
  auto engine = OpenEngine(global, /*create_if_missing=*/false);
  if (!engine) return 1;
  SegmentCatalog catalog(engine->store());
  auto all = catalog.List();
  if (!all.ok()) return ReportError(global, all.status());
  std::vector<std::string> rules;
  for (const SegmentDefinition& d : *all) {
    rules.push_back(d.rule);
    if (!d.exclude.empty()) rules.push_back(d.exclude);
  }
  const auto start = std::chrono::steady_clock::now();
  auto evaluation = PrepareEvaluation(*engine, rules, now);
  if (!evaluation.ok()) return ReportError(global, evaluation.status());
  const auto evaluate_start = std::chrono::steady_clock::now();
  auto results = catalog.EvaluateAll((*evaluation)->context);
  if (!results.ok()) return ReportError(global, results.status());
  const auto end = std::chrono::steady_clock::now();
  const double snapshot_seconds = std::chrono::duration<double>(evaluate_start - start).count();
  const double evaluate_seconds = std::chrono::duration<double>(end - evaluate_start).count();
  JsonWriter json;
  json.BeginObject()
      .Key("snapshot_seconds")
      .Double(snapshot_seconds)
      .Key("evaluate_seconds")
      .Double(evaluate_seconds)
      .Key("segments")
      .BeginArray();
  for (const auto& [name, result] : *results) {
    if (global.json) {
      json.BeginObject()
          .Key("name")
          .String(name)
          .Key("size")
          .Uint(result.members.cardinality())
          .Key("matched")
          .Uint(result.matched)
          .Key("excluded")
          .Uint(result.excluded)
          .EndObject();
    } else {
      std::printf("%-40s %9llu  (rule %llu, excluded %llu)\n", name.c_str(),
                  static_cast<unsigned long long>(result.members.cardinality()),
                  static_cast<unsigned long long>(result.matched),
                  static_cast<unsigned long long>(result.excluded));
    }
  }
  json.EndArray().EndObject();
  if (global.json) {
    PrintJson(json);
  } else {
    std::printf("%zu segments: snapshot %.2f s, evaluation %.3f s\n", results->size(),
                snapshot_seconds, evaluate_seconds);
  }
  return 0;
}

int RunMembers(const GlobalOptions& global, const std::string& name, size_t offset, size_t limit) {
  auto engine = OpenEngine(global, /*create_if_missing=*/false);
  if (!engine) return 1;
  SegmentCatalog catalog(engine->store());
  auto members = catalog.Members(name);
  if (!members.ok()) return ReportError(global, members.status());
  JsonWriter json;
  json.BeginObject()
      .Key("segment")
      .String(name)
      .Key("size")
      .Uint(members->cardinality())
      .Key("offset")
      .Uint(offset)
      .Key("members")
      .BeginArray();
  size_t index = 0, shown = 0;
  for (uint32_t id : *members) {
    if (index++ < offset) continue;
    if (shown++ >= limit) break;
    auto external = engine->ExternalId(id);
    const std::string text = external.ok() ? *external : fmt::format("(internal {})", id);
    if (global.json) {
      json.String(text);
    } else {
      std::printf("%s\n", text.c_str());
    }
  }
  json.EndArray().EndObject();
  if (global.json) PrintJson(json);
  return 0;
}

int RunOverlap(const GlobalOptions& global, const std::vector<std::string>& names) {
  auto engine = OpenEngine(global, /*create_if_missing=*/false);
  if (!engine) return 1;
  SegmentCatalog catalog(engine->store());
  std::vector<ProfileSet> sets;
  for (const std::string& name : names) {
    auto members = catalog.Members(name);
    if (!members.ok()) return ReportError(global, members.status());
    sets.push_back(std::move(members).value());
  }
  JsonWriter json;
  json.BeginObject().Key("segments").BeginArray();
  for (const std::string& name : names) json.String(name);
  json.EndArray().Key("overlap").BeginArray();
  if (!global.json) {
    std::printf("%-30s", "");
    for (const std::string& name : names) std::printf(" %14.14s", name.c_str());
    std::printf("\n");
  }
  for (size_t i = 0; i < sets.size(); ++i) {
    json.BeginArray();
    if (!global.json) std::printf("%-30.30s", names[i].c_str());
    for (size_t j = 0; j < sets.size(); ++j) {
      const uint64_t both = sets[i].and_cardinality(sets[j]);
      json.Uint(both);
      if (!global.json) std::printf(" %14llu", static_cast<unsigned long long>(both));
    }
    json.EndArray();
    if (!global.json) std::printf("\n");
  }
  json.EndArray().EndObject();
  if (global.json) PrintJson(json);
  return 0;
}

int RunPreview(const GlobalOptions& global, const std::string& rule_text,
               const std::string& rule_file, const std::string& exclude, const std::string& now) {
  auto engine = OpenEngine(global, /*create_if_missing=*/false);
  if (!engine) return 1;
  auto text = RuleText(rule_text, rule_file);
  if (!text.ok()) return ReportError(global, text.status());
  // Check as `create` would, against the schema and the existing segments.
  SegmentCatalog catalog(engine->store());
  auto all = catalog.List();
  if (!all.ok()) return ReportError(global, all.status());
  SegmentDefinition draft;
  draft.rule = *text;
  draft.exclude = exclude;
  for (const std::string* rule : {&draft.rule, &draft.exclude}) {
    if (rule->empty()) continue;
    auto parsed = segments::ParseRule(*rule);
    if (!parsed.ok()) return ReportError(global, parsed.status());
  }
  std::vector<std::string> rules = {draft.rule};
  if (!exclude.empty()) rules.push_back(exclude);
  for (const SegmentDefinition& d : *all) rules.push_back(d.rule);
  auto evaluation = PrepareEvaluation(*engine, rules, now);
  if (!evaluation.ok()) return ReportError(global, evaluation.status());
  // Referenced segments: their stored members from the last evaluation.
  std::map<std::string, ProfileSet> stored;
  (*evaluation)->context.segment = [&](std::string_view name) -> const ProfileSet* {
    auto it = stored.find(std::string(name));
    if (it == stored.end()) {
      auto members = catalog.Members(name);
      if (!members.ok()) return nullptr;
      it = stored.emplace(std::string(name), std::move(members).value()).first;
    }
    return &it->second;
  };
  auto result = segments::EvaluateDefinition(draft, (*evaluation)->context);
  if (!result.ok()) return ReportError(global, result.status());
  if (global.json) {
    JsonWriter json;
    json.BeginObject()
        .Key("size")
        .Uint(result->members.cardinality())
        .Key("matched")
        .Uint(result->matched)
        .Key("excluded")
        .Uint(result->excluded)
        .Key("profiles")
        .Uint((*evaluation)->population->snapshot->known().Count())
        .EndObject();
    PrintJson(json);
  } else {
    std::printf("%llu profiles (rule %llu, excluded %llu) of %zu\n",
                static_cast<unsigned long long>(result->members.cardinality()),
                static_cast<unsigned long long>(result->matched),
                static_cast<unsigned long long>(result->excluded),
                (*evaluation)->population->snapshot->known().Count());
  }
  return 0;
}

int RunHistory(const GlobalOptions& global, const std::string& name) {
  auto engine = OpenEngine(global, /*create_if_missing=*/false);
  if (!engine) return 1;
  SegmentCatalog catalog(engine->store());
  auto history = catalog.History(name);
  if (!history.ok()) return ReportError(global, history.status());
  JsonWriter json;
  json.BeginObject().Key("segment").String(name).Key("history").BeginArray();
  for (const auto& point : *history) {
    if (global.json) {
      json.BeginObject()
          .Key("at")
          .String(TimeText(point.evaluated_at))
          .Key("version")
          .Uint(point.version)
          .Key("size")
          .Uint(point.size)
          .Key("matched")
          .Uint(point.matched)
          .Key("excluded")
          .Uint(point.excluded)
          .EndObject();
    } else {
      std::printf("%s  v%-3u %9llu  (rule %llu, excluded %llu)\n",
                  TimeText(point.evaluated_at).c_str(), point.version,
                  static_cast<unsigned long long>(point.size),
                  static_cast<unsigned long long>(point.matched),
                  static_cast<unsigned long long>(point.excluded));
    }
  }
  json.EndArray().EndObject();
  if (global.json) PrintJson(json);
  return 0;
}

void WriteExplanation(JsonWriter& json, const segments::Explanation& node) {
  json.BeginObject()
      .Key("matched")
      .Bool(node.matched)
      .Key("condition")
      .String(node.condition)
      .Key("seen")
      .String(node.seen)
      .Key("children")
      .BeginArray();
  for (const auto& child : node.children) WriteExplanation(json, child);
  json.EndArray().EndObject();
}

int RunExplain(const GlobalOptions& global, const std::string& name, const std::string& profile,
               const std::string& now_text) {
  auto engine = OpenEngine(global, /*create_if_missing=*/false);
  if (!engine) return 1;
  SegmentCatalog catalog(engine->store());
  auto definition = catalog.Get(name);
  if (!definition.ok()) return ReportError(global, definition.status());
  auto view = engine->GetProfile(profile, 0);
  if (!view.ok()) return ReportError(global, view.status());
  auto events = engine->Events(view->id);
  if (!events.ok()) return ReportError(global, events.status());
  auto catalog_items = LoadItemCatalog(*engine);
  if (!catalog_items.ok()) return ReportError(global, catalog_items.status());
  auto now = ParseNow(now_text);
  if (!now.ok()) return ReportError(global, now.status());
  std::map<std::string, ProfileSet> stored;
  segments::ProfileRow row{view->id, &view->traits, *events, &*catalog_items, *now, {}};
  row.in_segment = [&](std::string_view segment) {
    auto it = stored.find(std::string(segment));
    if (it == stored.end()) {
      auto members = catalog.Members(segment);
      it = stored.emplace(std::string(segment), members.ok() ? *members : ProfileSet()).first;
    }
    return it->second.contains(view->id);
  };
  auto rule = segments::ParseRule(definition->rule);
  if (!rule.ok()) return ReportError(global, rule.status());
  const segments::Explanation because = segments::Explain(*rule, row);
  std::optional<segments::Explanation> excluded;
  if (!definition->exclude.empty()) {
    auto exclude = segments::ParseRule(definition->exclude);
    if (!exclude.ok()) return ReportError(global, exclude.status());
    excluded = segments::Explain(*exclude, row);
  }
  const bool member = because.matched && !(excluded && excluded->matched);
  if (global.json) {
    JsonWriter json;
    json.BeginObject()
        .Key("segment")
        .String(name)
        .Key("profile")
        .String(view->external_id)
        .Key("member")
        .Bool(member)
        .Key("rule");
    WriteExplanation(json, because);
    json.Key("exclude");
    if (excluded) {
      WriteExplanation(json, *excluded);
    } else {
      json.Null();
    }
    json.EndObject();
    PrintJson(json);
    return 0;
  }
  std::printf("%s is %sin %s (evaluated at %s)\n\nrule:\n%s", view->external_id.c_str(),
              member ? "" : "not ", name.c_str(), TimeText(*now).c_str(),
              segments::ExplanationText(because).c_str());
  if (excluded) {
    std::printf("\nexclusions (anti-segment):\n%s", segments::ExplanationText(*excluded).c_str());
  }
  return 0;
}

int RunChanges(const GlobalOptions& global, uint64_t after, size_t limit) {
  auto engine = OpenEngine(global, /*create_if_missing=*/false);
  if (!engine) return 1;
  SegmentCatalog catalog(engine->store());
  auto changes = catalog.ReadChanges(after, limit);
  if (!changes.ok()) return ReportError(global, changes.status());
  JsonWriter json;
  json.BeginObject().Key("changes").BeginArray();
  for (const segments::MembershipChange& change : *changes) {
    auto external = engine->ExternalId(change.profile);
    const std::string profile = external.ok() ? *external : "(deleted)";
    if (global.json) {
      json.BeginObject()
          .Key("sequence")
          .Uint(change.sequence)
          .Key("segment")
          .String(change.segment)
          .Key("version")
          .Uint(change.version)
          .Key("profile")
          .String(profile)
          .Key("change")
          .String(change.entered ? "entered" : "exited")
          .Key("at")
          .String(TimeText(change.at))
          .EndObject();
    } else {
      std::printf("%8llu  %s  %-7s %-32s %s (v%u)\n",
                  static_cast<unsigned long long>(change.sequence), TimeText(change.at).c_str(),
                  change.entered ? "entered" : "exited", change.segment.c_str(), profile.c_str(),
                  change.version);
    }
  }
  const uint64_t cursor = changes->empty() ? after : changes->back().sequence;
  json.EndArray().Key("cursor").Uint(cursor).EndObject();
  if (global.json) PrintJson(json);
  return 0;
}

int RunSchemeCreate(const GlobalOptions& global, const std::string& name,
                    const std::vector<std::string>& members, bool otherwise,
                    const std::string& description) {
  auto engine = OpenEngine(global, /*create_if_missing=*/false);
  if (!engine) return 1;
  SegmentCatalog catalog(engine->store());
  Status status = catalog.PutScheme({name, description, members, otherwise, 0});
  if (!status.ok()) return ReportError(global, status);
  auto stored = catalog.GetScheme(name);
  if (!stored.ok()) return ReportError(global, stored.status());
  if (global.json) {
    JsonWriter json;
    json.BeginObject().Key("name").String(name).Key("version").Uint(stored->version).EndObject();
    PrintJson(json);
  } else {
    std::printf("scheme %s, version %u\n", name.c_str(), stored->version);
  }
  return 0;
}

// A scheme's assignment from its members' last evaluation: each profile in its first member.
int RunSchemeShow(const GlobalOptions& global, const std::string& name) {
  auto engine = OpenEngine(global, /*create_if_missing=*/false);
  if (!engine) return 1;
  SegmentCatalog catalog(engine->store());
  auto scheme = catalog.GetScheme(name);
  if (!scheme.ok()) return ReportError(global, scheme.status());
  ProfileSet assigned;
  JsonWriter json;
  json.BeginObject().Key("scheme").String(name).Key("members").BeginArray();
  uint64_t total_unprioritized = 0;
  for (const std::string& member : scheme->members) {
    auto members = catalog.Members(member);
    if (!members.ok()) return ReportError(global, members.status());
    const uint64_t unprioritized = members->cardinality();
    total_unprioritized += unprioritized;
    ProfileSet own = *members - assigned;
    assigned |= own;
    if (global.json) {
      json.BeginObject()
          .Key("member")
          .String(member)
          .Key("count")
          .Uint(own.cardinality())
          .Key("unprioritized")
          .Uint(unprioritized)
          .EndObject();
    } else {
      std::printf("%-40s %9llu  (%llu without priority)\n", member.c_str(),
                  static_cast<unsigned long long>(own.cardinality()),
                  static_cast<unsigned long long>(unprioritized));
    }
  }
  json.EndArray()
      .Key("assigned")
      .Uint(assigned.cardinality())
      .Key("duplicates_avoided")
      .Uint(total_unprioritized - assigned.cardinality());
  if (scheme->otherwise) {
    const uint64_t known = engine->Stats().profiles;
    json.Key("everyone_else").Uint(known - assigned.cardinality());
    if (!global.json) {
      std::printf("%-40s %9llu\n", "everyone_else",
                  static_cast<unsigned long long>(known - assigned.cardinality()));
    }
  }
  json.EndObject();
  if (global.json) {
    PrintJson(json);
  } else {
    std::printf("duplicates avoided: %llu\n",
                static_cast<unsigned long long>(total_unprioritized - assigned.cardinality()));
  }
  return 0;
}

}  // namespace

void RegisterSegments(CLI::App& app, GlobalOptions& global, int& exit_code) {
  CLI::App* segment = app.add_subcommand("segment", "define, evaluate and inspect segments");
  segment->require_subcommand(1);

  auto create = std::make_shared<CreateArgs>();
  CLI::App* create_command = segment->add_subcommand("create", "create or update a segment");
  create_command->add_option("name", create->name)->required();
  create_command->add_option("--rule", create->rule, "rule text (docs/rule_language.md)");
  create_command->add_option("--rule-file", create->rule_file, "file with the rule text");
  create_command->add_option("--exclude", create->exclude, "anti-segment: who is never in it");
  create_command->add_option("--description", create->description);
  create_command->add_option("--objective", create->objective, "acquire|engage|reactivate|retain")
      ->capture_default_str();
  create_command->add_option("--owner", create->owner);
  create_command->add_option("--tag", create->tags, "a tag (repeatable)");
  create_command->add_option("--channel", create->channels,
                             "email|web|app|sms|push|store (repeatable)");
  create_command->callback([&, create] { exit_code = RunCreate(global, *create); });

  segment->add_subcommand("list", "segments with their last size")->callback([&] {
    exit_code = RunList(global);
  });

  auto show_name = std::make_shared<std::string>();
  CLI::App* show = segment->add_subcommand("show", "a segment's definition and last size");
  show->add_option("name", *show_name)->required();
  show->callback([&, show_name] { exit_code = RunShow(global, *show_name); });

  auto delete_name = std::make_shared<std::string>();
  CLI::App* remove = segment->add_subcommand("delete", "delete a segment");
  remove->add_option("name", *delete_name)->required();
  remove->callback([&, delete_name] {
    auto engine = OpenEngine(global, false);
    if (!engine) {
      exit_code = 1;
      return;
    }
    Status status = SegmentCatalog(engine->store()).Delete(*delete_name);
    exit_code = status.ok() ? 0 : ReportError(global, status);
    if (status.ok() && !global.json) std::printf("deleted %s\n", delete_name->c_str());
    if (status.ok() && global.json) std::printf("{\"ok\":true}\n");
  });

  auto now = std::make_shared<std::string>();
  CLI::App* eval = segment->add_subcommand("eval", "evaluate every segment and store the members");
  eval->add_option("--now", *now, "evaluation time, ISO 8601 (default: the clock)");
  eval->callback([&, now] { exit_code = RunEval(global, *now); });

  auto members_name = std::make_shared<std::string>();
  auto offset = std::make_shared<size_t>(0);
  auto limit = std::make_shared<size_t>(100);
  CLI::App* members = segment->add_subcommand("members", "members of the last evaluation, paged");
  members->add_option("name", *members_name)->required();
  members->add_option("--offset", *offset)->capture_default_str();
  members->add_option("--limit", *limit)->capture_default_str();
  members->callback([&, members_name, offset, limit] {
    exit_code = RunMembers(global, *members_name, *offset, *limit);
  });

  auto overlap_names = std::make_shared<std::vector<std::string>>();
  CLI::App* overlap = segment->add_subcommand("overlap", "profiles in both, for every pair");
  overlap->add_option("names", *overlap_names)->required();
  overlap->callback([&, overlap_names] { exit_code = RunOverlap(global, *overlap_names); });

  auto preview_rule = std::make_shared<std::string>();
  auto preview_file = std::make_shared<std::string>();
  auto preview_exclude = std::make_shared<std::string>();
  auto preview_now = std::make_shared<std::string>();
  CLI::App* preview = segment->add_subcommand("preview", "the size of an unsaved rule");
  preview->add_option("--rule", *preview_rule);
  preview->add_option("--rule-file", *preview_file);
  preview->add_option("--exclude", *preview_exclude);
  preview->add_option("--now", *preview_now, "evaluation time, ISO 8601 (default: the clock)");
  preview->callback([&, preview_rule, preview_file, preview_exclude, preview_now] {
    exit_code = RunPreview(global, *preview_rule, *preview_file, *preview_exclude, *preview_now);
  });

  auto explain_name = std::make_shared<std::string>();
  auto explain_profile = std::make_shared<std::string>();
  auto explain_now = std::make_shared<std::string>();
  CLI::App* explain = segment->add_subcommand("explain", "why a profile is or is not in a segment");
  explain->add_option("name", *explain_name)->required();
  explain->add_option("profile", *explain_profile)->required();
  explain->add_option("--now", *explain_now, "evaluation time, ISO 8601 (default: the clock)");
  explain->callback([&, explain_name, explain_profile, explain_now] {
    exit_code = RunExplain(global, *explain_name, *explain_profile, *explain_now);
  });

  auto changes_after = std::make_shared<uint64_t>(0);
  auto changes_limit = std::make_shared<size_t>(100);
  CLI::App* changes = segment->add_subcommand("changes", "the membership change feed, by cursor");
  changes->add_option("--after", *changes_after, "the last sequence already read (0: start)")
      ->capture_default_str();
  changes->add_option("--limit", *changes_limit)->capture_default_str();
  changes->callback([&, changes_after, changes_limit] {
    exit_code = RunChanges(global, *changes_after, *changes_limit);
  });

  auto history_name = std::make_shared<std::string>();
  CLI::App* history = segment->add_subcommand("history", "size at every evaluation");
  history->add_option("name", *history_name)->required();
  history->callback([&, history_name] { exit_code = RunHistory(global, *history_name); });

  CLI::App* scheme = app.add_subcommand("scheme", "mutually exclusive segments by priority");
  scheme->require_subcommand(1);
  auto scheme_name = std::make_shared<std::string>();
  auto scheme_members = std::make_shared<std::vector<std::string>>();
  auto scheme_otherwise = std::make_shared<bool>(false);
  auto scheme_description = std::make_shared<std::string>();
  CLI::App* scheme_create = scheme->add_subcommand("create", "members in priority order");
  scheme_create->add_option("name", *scheme_name)->required();
  scheme_create
      ->add_option("--member", *scheme_members, "a segment (repeat, highest priority first)")
      ->required();
  scheme_create->add_flag("--otherwise", *scheme_otherwise, "add everyone_else for the rest");
  scheme_create->add_option("--description", *scheme_description);
  scheme_create->callback([&, scheme_name, scheme_members, scheme_otherwise, scheme_description] {
    exit_code = RunSchemeCreate(global, *scheme_name, *scheme_members, *scheme_otherwise,
                                *scheme_description);
  });
  auto scheme_show_name = std::make_shared<std::string>();
  CLI::App* scheme_show = scheme->add_subcommand("show", "each member's share of the profiles");
  scheme_show->add_option("name", *scheme_show_name)->required();
  scheme_show->callback(
      [&, scheme_show_name] { exit_code = RunSchemeShow(global, *scheme_show_name); });
}

}  // namespace tailor::cli

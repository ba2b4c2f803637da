// `tailor survey create|list|show|answer|report|next`: zero-party data (include/tailor/surveys.h)
// on a stopped server's store, through a service (answers change live membership as the server's
// would).

#include <cstdio>
#include <fstream>
#include <sstream>

#include "commands.h"
#include "tailor/json_writer.h"
#include "tailor/service.h"
#include "tailor/surveys.h"

namespace tailor::cli {
namespace {

struct SurveyArgs {
  std::string name, file, profile, question, channel;
  std::vector<std::string> answer;
  uint64_t cap = 3;
};

Result<std::unique_ptr<Service>> OpenService(const GlobalOptions& global) {
  ServiceOptions options;
  options.engine.store.create_if_missing = false;
  return Service::Open(global.data_dir, std::move(options));
}

// An answer from the command line: a whole number for a scale, several words for a multiple
// choice, else the text.
TypedValue AnswerValue(const surveys::Question& question, const std::vector<std::string>& words) {
  if (question.kind == surveys::QuestionKind::kMultiple) {
    return {TraitType::kStringList, StringList(words.begin(), words.end())};
  }
  std::string text;
  for (const std::string& w : words) text += (text.empty() ? "" : " ") + w;
  if (question.kind == surveys::QuestionKind::kScale) {
    try {
      size_t used = 0;
      const long long number = std::stoll(text, &used);
      if (used == text.size()) return {TraitType::kInt, static_cast<int64_t>(number)};
    } catch (...) {
    }
  }
  return {TraitType::kString, text};
}

int Create(const GlobalOptions& global, const SurveyArgs& args) {
  std::ifstream in(args.file);
  if (!in) return ReportError(global, IoError("cannot read '{}'", args.file));
  std::stringstream text;
  text << in.rdbuf();
  auto survey = surveys::ParseSurvey(args.name, text.str());
  if (!survey.ok()) return ReportError(global, survey.status());
  auto service = OpenService(global);
  if (!service.ok()) return ReportError(global, service.status());
  if (Status s = (*service)->PutSurvey(*survey); !s.ok()) return ReportError(global, s);
  std::printf("%s\n", global.json ? surveys::SurveyJson(*survey).c_str()
                                  : ("survey " + args.name + " saved").c_str());
  return 0;
}

int List(const GlobalOptions& global, const std::string& name) {
  auto service = OpenService(global);
  if (!service.ok()) return ReportError(global, service.status());
  std::vector<surveys::Survey> list = (*service)->surveys().List();
  if (!name.empty()) {
    auto one = (*service)->surveys().Get(name);
    if (!one.ok()) return ReportError(global, one.status());
    list = {*one};
  }
  if (global.json) {
    std::string out = name.empty() ? "{\"surveys\":[" : "";
    for (size_t i = 0; i < list.size(); ++i) {
      out += (i ? "," : "") + surveys::SurveyJson(list[i]);
    }
    if (name.empty()) out += "]}";
    std::printf("%s\n", out.c_str());
    return 0;
  }
  for (const surveys::Survey& s : list) {
    std::printf("%s%s: %s\n", s.name.c_str(), s.open ? "" : " (closed)", s.title.c_str());
    for (const surveys::Question& q : s.questions) {
      std::printf("  %-10s %-8s -> %-14s %s\n", q.id.c_str(),
                  std::string(surveys::QuestionKindName(q.kind)).c_str(), q.trait.c_str(),
                  q.text.c_str());
    }
  }
  return 0;
}

int Answer(const GlobalOptions& global, const SurveyArgs& args) {
  auto service = OpenService(global);
  if (!service.ok()) return ReportError(global, service.status());
  auto survey = (*service)->surveys().Get(args.name);
  if (!survey.ok()) return ReportError(global, survey.status());
  const surveys::Question* question = survey->Find(args.question);
  if (question == nullptr) {
    return ReportError(global,
                       NotFound("survey '{}' has no question '{}'", args.name, args.question));
  }
  auto answered = (*service)->AnswerSurvey(args.name, args.profile, args.question,
                                           AnswerValue(*question, args.answer), args.channel);
  if (!answered.ok()) return ReportError(global, answered.status());
  JsonWriter json;
  WriteTypedValue(json, answered->value);
  if (global.json) {
    std::printf("{\"profile\":\"%s\",\"trait\":\"%s\",\"value\":%s}\n", args.profile.c_str(),
                answered->trait.c_str(), json.str().c_str());
  } else {
    std::printf("%s: %s = %s\n", args.profile.c_str(), answered->trait.c_str(), json.str().c_str());
  }
  return 0;
}

int Report(const GlobalOptions& global, const SurveyArgs& args) {
  auto service = OpenService(global);
  if (!service.ok()) return ReportError(global, service.status());
  auto report = (*service)->SurveyReport(args.name);
  if (!report.ok()) return ReportError(global, report.status());
  if (global.json) {
    JsonWriter json;
    surveys::WriteReport(json, args.name, *report);
    std::printf("%s\n", json.str().c_str());
    return 0;
  }
  std::printf("question   channel   shown  answered  response  people  completed  dropped off\n");
  const auto percent = [](uint64_t part, uint64_t whole) {
    return whole ? fmt::format("{:.1f} %", 100.0 * part / whole) : std::string("-");
  };
  for (const Service::QuestionReport& r : *report) {
    std::printf("%-10s %-8s %6llu %9llu  %8s  %6llu  %9s  %11s\n", r.question.c_str(),
                r.channel.empty() ? "(all)" : r.channel.c_str(),
                static_cast<unsigned long long>(r.shown),
                static_cast<unsigned long long>(r.answered), percent(r.answered, r.shown).c_str(),
                static_cast<unsigned long long>(r.people), percent(r.completed, r.people).c_str(),
                percent(r.dropped, r.people).c_str());
  }
  return 0;
}

int Next(const GlobalOptions& global, const SurveyArgs& args) {
  auto service = OpenService(global);
  if (!service.ok()) return ReportError(global, service.status());
  auto next = (*service)->NextQuestion(args.profile, args.channel, args.cap);
  if (!next.ok()) return ReportError(global, next.status());
  if (!*next) {
    std::printf(global.json ? "{\"question\":null}\n" : "nothing to ask\n");
    return 0;
  }
  if (global.json) {
    JsonWriter json;
    json.BeginObject()
        .Key("survey")
        .String((*next)->survey)
        .Key("question")
        .String((*next)->question)
        .Key("trait")
        .String((*next)->trait)
        .Key("expected_changes")
        .Double((*next)->expected_changes)
        .Key("stale")
        .Bool((*next)->stale)
        .Key("reason")
        .String((*next)->reason)
        .EndObject();
    std::printf("%s\n", json.str().c_str());
  } else {
    std::printf("ask %s/%s: %s\n", (*next)->survey.c_str(), (*next)->question.c_str(),
                (*next)->reason.c_str());
  }
  return 0;
}

}  // namespace

void RegisterSurvey(CLI::App& app, GlobalOptions& global, int& exit_code) {
  auto args = std::make_shared<SurveyArgs>();
  CLI::App* survey = app.add_subcommand("survey", "ask what we do not know (zero-party data)");
  survey->require_subcommand(1);
  CLI::App* create = survey->add_subcommand("create", "create or replace a survey from JSON");
  create->add_option("name", args->name)->required();
  create->add_option("file", args->file, "the survey's JSON (docs/api.md, Surveys)")
      ->required()
      ->check(CLI::ExistingFile);
  create->callback([&, args] { exit_code = Create(global, *args); });
  CLI::App* list = survey->add_subcommand("list", "every survey and its questions");
  list->callback([&] { exit_code = List(global, ""); });
  CLI::App* show = survey->add_subcommand("show", "one survey");
  show->add_option("name", args->name)->required();
  show->callback([&, args] { exit_code = List(global, args->name); });
  CLI::App* answer = survey->add_subcommand("answer", "store a person's answer (a trait)");
  answer->add_option("name", args->name)->required();
  answer->add_option("profile", args->profile)->required();
  answer->add_option("question", args->question)->required();
  answer->add_option("answer", args->answer, "the choice(s), number or text")->required();
  answer->add_option("--channel", args->channel, "where it was answered");
  answer->callback([&, args] { exit_code = Answer(global, *args); });
  CLI::App* report = survey->add_subcommand("report", "shown, answered, response rate");
  report->add_option("name", args->name)->required();
  report->callback([&, args] { exit_code = Report(global, *args); });
  CLI::App* next = survey->add_subcommand("next", "the question worth asking a person");
  next->add_option("profile", args->profile)->required();
  next->add_option("--channel", args->channel);
  next->add_option("--cap", args->cap, "questions per 30 days")->capture_default_str();
  next->callback([&, args] { exit_code = Next(global, *args); });
}

}  // namespace tailor::cli

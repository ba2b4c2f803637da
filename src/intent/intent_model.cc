#include "tailor/intent_model.h"

#include <simdjson.h>
#include <xxhash.h>

#include <algorithm>
#include <map>

#include "intent/readiness_fit.h"
#include "tailor/signals.h"

namespace tailor::intent {
namespace {

constexpr const char* kReferrerClasses[] = {"direct", "search",           "social",  "email",
                                            "paid",   "price_comparison", "referral"};

analytics::FeatureMatrix Matrix(const IntentModel& model,
                                const std::vector<const LabelledSession*>& sessions) {
  analytics::FeatureMatrix matrix;
  matrix.columns = FeatureRowNames().size();
  matrix.names = FeatureRowNames();
  for (const LabelledSession* session : sessions) {
    const std::vector<double> row = model.Row(session->features);
    matrix.values.insert(matrix.values.end(), row.begin(), row.end());
    ++matrix.rows;
  }
  return matrix;
}

void WriteLogistic(JsonWriter& json, const analytics::LogisticModel& model) {
  const auto numbers = [&](const char* key, const std::vector<double>& values) {
    json.Key(key).BeginArray();
    for (double v : values) json.Double(v);
    json.EndArray();
  };
  json.BeginObject();
  numbers("mean", model.mean);
  numbers("scale", model.scale);
  numbers("weights", model.weights);
  json.Key("intercept").Double(model.intercept).EndObject();
}

Result<analytics::LogisticModel> ReadLogistic(simdjson::dom::element value, size_t columns,
                                              const std::string& path) {
  analytics::LogisticModel model;
  for (const auto& [key, target] :
       {std::pair{"mean", &model.mean}, {"scale", &model.scale}, {"weights", &model.weights}}) {
    simdjson::dom::array array;
    if (value[key].get_array().get(array))
      return InvalidArgument("{}.{}: expected an array", path, key);
    for (simdjson::dom::element number : array) {
      double v = 0;
      if (number.get_double().get(v)) return InvalidArgument("{}.{}: expected numbers", path, key);
      target->push_back(v);
    }
    if (target->size() != columns) {
      return InvalidArgument("{}.{}: expected {} numbers, found {}", path, key, columns,
                             target->size());
    }
  }
  if (value["intercept"].get_double().get(model.intercept)) {
    return InvalidArgument("{}.intercept: expected a number", path);
  }
  return model;
}

}  // namespace

bool HeldOut(std::string_view external_id) {
  return XXH3_64bits(external_id.data(), external_id.size()) % 5 == 0;
}

const std::vector<std::string>& FeatureRowNames() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (std::string_view feature : FeatureNames()) {
      if (feature != "purchases") out.emplace_back(feature);
    }
    for (const char* referrer : kReferrerClasses) out.push_back(std::string("from_") + referrer);
    for (const char* figure : {"bounce_rate", "exit_rate", "page_value"}) out.emplace_back(figure);
    return out;
  }();
  return names;
}

namespace {

// Each page's figures from the training sessions, the most viewed kMaxPages kept.
constexpr size_t kMaxPages = 20000;

void FigurePages(const std::vector<SessionPages>& sessions, IntentModel& model) {
  struct Counts {
    uint64_t entrances = 0, bounces = 0, views = 0, exits = 0, sessions = 0;
    double value = 0;
  };
  std::map<std::string_view, Counts> counts;
  uint64_t entrances = 0, bounces = 0, views = 0, viewed_sessions = 0;
  double revenue = 0;
  for (const SessionPages& s : sessions) {
    if (s.held_out || s.pages.empty()) continue;
    ++entrances;
    ++viewed_sessions;
    revenue += s.revenue;
    ++counts[s.pages.front()].entrances;
    if (s.pages.size() == 1) {
      ++counts[s.pages.front()].bounces;
      ++bounces;
    }
    ++counts[s.pages.back()].exits;
    std::vector<std::string_view> seen;
    for (size_t i = 0; i < s.pages.size(); ++i) {
      const std::string_view page = s.pages[i];
      Counts& c = counts[page];
      ++c.views;
      ++views;
      if (std::find(seen.begin(), seen.end(), page) != seen.end()) continue;
      seen.push_back(page);
      ++c.sessions;
      if (i < s.before_purchase) c.value += s.revenue;
    }
  }
  model.site = {entrances ? double(bounces) / entrances : 0,
                views ? double(viewed_sessions) / views : 0,
                viewed_sessions ? revenue / viewed_sessions : 0};
  std::vector<std::pair<std::string_view, const Counts*>> ranked;
  for (const auto& [page, c] : counts) ranked.emplace_back(page, &c);
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.second->views > b.second->views; });
  if (ranked.size() > kMaxPages) ranked.resize(kMaxPages);
  for (const auto& [page, c] : ranked) {
    model.pages.emplace(std::string(page),
                        PageFigures{c->entrances ? double(c->bounces) / c->entrances : 0,
                                    c->views ? double(c->exits) / c->views : 0,
                                    c->sessions ? c->value / c->sessions : 0});
  }
}

}  // namespace

std::vector<double> IntentModel::Row(const SessionFeatures& f, const PageFigures* recorded) const {
  std::vector<double> row;
  row.reserve(FeatureRowNames().size());
  signals::ForEachFeature(f, [&](std::string_view name, const TypedValue& value) {
    if (name == "purchases") return;
    const int64_t* whole = std::get_if<int64_t>(&value.value);
    row.push_back(whole != nullptr ? static_cast<double>(*whole) : std::get<double>(value.value));
  });
  for (const char* referrer : kReferrerClasses) row.push_back(f.referrer_class == referrer ? 1 : 0);
  if (recorded != nullptr) {
    row.insert(row.end(), {recorded->bounce_rate, recorded->exit_rate, recorded->value});
    return row;
  }
  // The means of its pages' site-wide figures, as the UCI sessions record them.
  double bounce = 0, exit = 0, value = 0;
  for (const std::string& page : f.pages) {
    auto it = pages.find(page);
    const PageFigures& figures = it != pages.end() ? it->second : site;
    bounce += figures.bounce_rate;
    exit += figures.exit_rate;
    value += figures.value;
  }
  const double n = static_cast<double>(f.pages.size());
  row.push_back(n > 0 ? bounce / n : 0);
  row.push_back(n > 0 ? exit / n : 0);
  row.push_back(n > 0 ? value / n : 0);
  return row;
}

void CollectLabelledSessions(std::span<const EventInput> events, const LabelOptions& options,
                             bool held_out, std::vector<LabelledSession>& intent_labelled,
                             std::vector<LabelledSession>& outcome_labelled,
                             std::vector<SessionPages>* pages) {
  SessionTracker tracker(options.session_gap_ms);
  bool in_session = false, purchased = false;
  SessionFeatures before_purchase;
  double revenue = 0;
  size_t pages_before_purchase = 0;
  const auto finish = [&] {
    if (!in_session) return;
    if (pages != nullptr) {
      SessionFeatures whole = tracker.Features(tracker.last());
      const size_t before = purchased ? pages_before_purchase : whole.pages.size();
      pages->push_back({std::move(whole.pages), before, revenue, held_out});
    }
    revenue = 0;
    if (purchased) {
      // A purchase as the session's first event says nothing of what came before it.
      if (before_purchase.events > 0) {
        outcome_labelled.push_back({std::move(before_purchase), "purchase", held_out});
      }
    } else {
      outcome_labelled.push_back({tracker.Features(tracker.last()), "no_purchase", held_out});
    }
    in_session = purchased = false;
    before_purchase = {};
  };
  for (const EventInput& e : events) {
    const bool own = signals::IsOwnEventType(e.type);
    if (own && in_session && e.time - tracker.last() > options.session_gap_ms) finish();
    if (e.type == "survey_answer" && EventProperty(e, "trait") == options.answer_trait) {
      const std::string_view answer = EventProperty(e, "answer");
      SessionFeatures so_far = in_session ? tracker.Features(e.time) : SessionFeatures{};
      if (!answer.empty() && so_far.events > 0) {
        intent_labelled.push_back({std::move(so_far), std::string(answer), held_out});
      }
    }
    if (e.type == "purchase" && in_session && !purchased) {
      purchased = true;
      before_purchase = tracker.Features(e.time);
      pages_before_purchase = before_purchase.pages.size();
    } else if (e.type == "purchase" && !in_session) {
      purchased = true;  // the session starts with it: nothing before
      pages_before_purchase = 0;
    }
    if (e.type == "purchase") {
      if (const std::optional<Decimal> value = EventValue(e)) revenue += value->ToDouble();
    }
    tracker.Add(e);
    if (own) in_session = true;
  }
  finish();
}

std::vector<std::pair<std::string, double>> IntentModel::Predict(
    const SessionFeatures& session) const {
  std::vector<std::pair<std::string, double>> out;
  if (classes.empty()) return out;
  const std::vector<double> row = Row(session);
  double total = 0;
  for (size_t c = 0; c < classes.size(); ++c) {
    out.emplace_back(classes[c], per_class[c].Predict(row.data()));
    total += out.back().second;
  }
  for (auto& [name, p] : out) p = total > 0 ? p / total : 1.0 / out.size();
  std::stable_sort(out.begin(), out.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  return out;
}

std::optional<double> IntentModel::PurchaseReadiness(const SessionFeatures& session) const {
  if (!has_readiness()) return std::nullopt;
  return PurchaseReadiness(Row(session));
}

std::optional<double> IntentModel::PurchaseReadiness(const std::vector<double>& row) const {
  if (readiness_trees) return readiness_trees->Predict(row.data());
  if (readiness) return readiness->Predict(row.data());
  return std::nullopt;
}

std::string_view ReadinessFamilyName(ReadinessFamily family) {
  return family == ReadinessFamily::kBoostedTrees ? "boosted_trees" : "logistic";
}

std::optional<ReadinessFamily> ParseReadinessFamily(std::string_view name) {
  if (name == "boosted_trees" || name == "trees") return ReadinessFamily::kBoostedTrees;
  if (name == "logistic") return ReadinessFamily::kLogistic;
  return std::nullopt;
}

Status FitReadiness(const analytics::FeatureMatrix& matrix, const std::vector<uint8_t>& labels,
                    ReadinessFamily family, IntentModel& model) {
  model.readiness.reset();
  model.readiness_trees.reset();
  if (family == ReadinessFamily::kLogistic) {
    TAILOR_ASSIGN_OR_RETURN(model.readiness, analytics::FitLogistic(matrix, labels, {}));
    return Status::Ok();
  }
  TAILOR_ASSIGN_OR_RETURN(analytics::BoostedTreesModel trees,
                          analytics::FitBoostedTrees(matrix, labels, {}));
  TAILOR_ASSIGN_OR_RETURN(model.readiness_trees, trees.Ensemble());
  return Status::Ok();
}

std::string IntentModelJson(const IntentModel& model) {
  JsonWriter json;
  json.BeginObject()
      .Key("answer_trait")
      .String(model.answer_trait)
      .Key("trained_at")
      .Int(model.trained_at)
      .Key("features")
      .BeginArray();
  for (const std::string& name : FeatureRowNames()) json.String(name);
  json.EndArray().Key("classes").BeginArray();
  for (size_t c = 0; c < model.classes.size(); ++c) {
    json.BeginObject().Key("intent").String(model.classes[c]).Key("model");
    WriteLogistic(json, model.per_class[c]);
    json.EndObject();
  }
  json.EndArray().Key("readiness");
  if (model.readiness) {
    WriteLogistic(json, *model.readiness);
  } else {
    json.Null();
  }
  json.Key("readiness_trees");
  if (model.readiness_trees) {
    model.readiness_trees->WriteJson(json);
  } else {
    json.Null();
  }
  const auto figures = [&](const PageFigures& f) {
    json.BeginArray().Double(f.bounce_rate).Double(f.exit_rate).Double(f.value).EndArray();
  };
  json.Key("site");  // [bounce rate, exit rate, value]
  figures(model.site);
  json.Key("pages").BeginObject();
  for (const auto& [page, f] : model.pages) {
    json.Key(page);
    figures(f);
  }
  json.EndObject().EndObject();
  return json.str();
}

Result<IntentModel> ParseIntentModel(std::string_view text) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(text.data(), text.size()).get(root)) {
    return InvalidArgument("$: the intent model is not JSON");
  }
  IntentModel model;
  const size_t columns = FeatureRowNames().size();
  simdjson::dom::array features;
  if (root["features"].get_array().get(features) || features.size() != columns) {
    return InvalidArgument("$.features: expected the {} features of this version", columns);
  }
  size_t index = 0;
  for (simdjson::dom::element name : features) {
    std::string_view text_name;
    if (name.get_string().get(text_name) || text_name != FeatureRowNames()[index++]) {
      return InvalidArgument("$.features[{}]: not the feature of this version", index - 1);
    }
  }
  std::string_view trait;
  if (root["answer_trait"].get_string().get(trait)) {
    return InvalidArgument("$.answer_trait: expected a string");
  }
  model.answer_trait = std::string(trait);
  int64_t trained_at = 0;
  if (root["trained_at"].get_int64().get(trained_at)) {
    return InvalidArgument("$.trained_at: expected a time");
  }
  model.trained_at = trained_at;
  simdjson::dom::array classes;
  if (root["classes"].get_array().get(classes))
    return InvalidArgument("$.classes: expected an array");
  index = 0;
  for (simdjson::dom::element entry : classes) {
    const std::string path = fmt::format("$.classes[{}]", index++);
    std::string_view name;
    if (entry["intent"].get_string().get(name))
      return InvalidArgument("{}.intent: expected a string", path);
    simdjson::dom::element fitted;
    if (entry["model"].get(fitted)) return InvalidArgument("{}.model: missing", path);
    TAILOR_ASSIGN_OR_RETURN(analytics::LogisticModel logistic,
                            ReadLogistic(fitted, columns, path + ".model"));
    model.classes.emplace_back(name);
    model.per_class.push_back(std::move(logistic));
  }
  simdjson::dom::element readiness;
  if (!root["readiness"].get(readiness) && !readiness.is_null()) {
    TAILOR_ASSIGN_OR_RETURN(model.readiness, ReadLogistic(readiness, columns, "$.readiness"));
  }
  simdjson::dom::element trees;
  if (!root["readiness_trees"].get(trees) && !trees.is_null()) {
    auto parsed = analytics::TreeEnsemble::ParseJson(simdjson::minify(trees), columns);
    if (!parsed.ok()) {
      return InvalidArgument("$.readiness_trees: {}", parsed.status().message());
    }
    model.readiness_trees = std::move(*parsed);
  }
  const auto read_figures = [](simdjson::dom::element value, const std::string& path,
                               PageFigures& out) -> Status {
    simdjson::dom::array array;
    double numbers[3];
    size_t n = 0;
    if (value.get_array().get(array) || array.size() != 3) {
      return InvalidArgument("{}: expected [bounce rate, exit rate, value]", path);
    }
    for (simdjson::dom::element number : array) {
      if (number.get_double().get(numbers[n++]))
        return InvalidArgument("{}: expected numbers", path);
    }
    out = {numbers[0], numbers[1], numbers[2]};
    return Status::Ok();
  };
  simdjson::dom::element site;
  if (root["site"].get(site)) return InvalidArgument("$.site: missing");
  TAILOR_RETURN_IF_ERROR(read_figures(site, "$.site", model.site));
  simdjson::dom::object pages;
  if (root["pages"].get_object().get(pages)) return InvalidArgument("$.pages: expected an object");
  for (auto [page, value] : pages) {
    PageFigures figures;
    TAILOR_RETURN_IF_ERROR(read_figures(value, fmt::format("$.pages[\"{}\"]", page), figures));
    model.pages.emplace(std::string(page), figures);
  }
  return model;
}

void WriteTrainReport(JsonWriter& json, const TrainReport& report) {
  json.BeginObject()
      .Key("intent_sessions")
      .Uint(report.intent_sessions)
      .Key("intent_held_out")
      .Uint(report.intent_held_out)
      .Key("outcome_sessions")
      .Uint(report.outcome_sessions)
      .Key("outcome_held_out")
      .Uint(report.outcome_held_out)
      .Key("purchase_share")
      .Double(report.positive_share)
      .Key("accuracy")
      .Double(report.accuracy)
      .Key("classes")
      .BeginArray();
  for (const ClassScores& c : report.classes) {
    json.BeginObject()
        .Key("intent")
        .String(c.name)
        .Key("precision")
        .Double(c.precision)
        .Key("recall")
        .Double(c.recall)
        .Key("support")
        .Uint(c.support)
        .EndObject();
  }
  json.EndArray().Key("confusion").BeginArray();  // rows: truth; columns: predicted
  for (const std::vector<uint64_t>& row : report.confusion) {
    json.BeginArray();
    for (uint64_t n : row) json.Uint(n);
    json.EndArray();
  }
  json.EndArray().Key("readiness_auroc");
  if (report.readiness_auroc) {
    json.Double(*report.readiness_auroc);
  } else {
    json.Null();
  }
  json.EndObject();
}

Result<IntentModel> TrainIntentModel(const std::vector<LabelledSession>& intent_labelled,
                                     const std::vector<LabelledSession>& outcome_labelled,
                                     const std::vector<SessionPages>& pages,
                                     const LabelOptions& options, TrainReport& report) {
  IntentModel model;
  model.answer_trait = options.answer_trait;
  FigurePages(pages, model);
  report = TrainReport{};
  report.intent_sessions = intent_labelled.size();
  report.outcome_sessions = outcome_labelled.size();
  // Intent: one model per intent seen in training.
  std::vector<const LabelledSession*> train, test;
  std::map<std::string, uint64_t> seen;
  for (const LabelledSession& s : intent_labelled) {
    (s.held_out ? test : train).push_back(&s);
    if (!s.held_out) ++seen[s.label];
  }
  report.intent_held_out = test.size();
  if (seen.size() >= 2) {
    const analytics::FeatureMatrix matrix = Matrix(model, train);
    for (const auto& [name, count] : seen) {
      std::vector<uint8_t> labels;
      for (const LabelledSession* s : train) labels.push_back(s->label == name ? 1 : 0);
      TAILOR_ASSIGN_OR_RETURN(analytics::LogisticModel fitted,
                              analytics::FitLogistic(matrix, labels, {}));
      model.classes.push_back(name);
      model.per_class.push_back(std::move(fitted));
    }
    const size_t k = model.classes.size();
    report.confusion.assign(k, std::vector<uint64_t>(k, 0));
    uint64_t right = 0, counted = 0;
    for (const LabelledSession* s : test) {
      const auto truth = std::find(model.classes.begin(), model.classes.end(), s->label);
      if (truth == model.classes.end()) continue;  // an intent training never saw
      const std::string predicted = model.Predict(s->features).front().first;
      const size_t p =
          std::find(model.classes.begin(), model.classes.end(), predicted) - model.classes.begin();
      const size_t t = truth - model.classes.begin();
      ++report.confusion[t][p];
      right += t == p;
      ++counted;
    }
    report.accuracy = counted ? double(right) / counted : 0;
    for (size_t c = 0; c < k; ++c) {
      uint64_t predicted = 0, actual = 0;
      for (size_t o = 0; o < k; ++o) {
        predicted += report.confusion[o][c];
        actual += report.confusion[c][o];
      }
      report.classes.push_back({model.classes[c],
                                predicted ? double(report.confusion[c][c]) / predicted : 0,
                                actual ? double(report.confusion[c][c]) / actual : 0, actual});
    }
  }
  // Purchase readiness.
  std::vector<const LabelledSession*> outcome_train, outcome_test;
  std::vector<uint8_t> train_labels, test_labels;
  uint64_t positives = 0;
  for (const LabelledSession& s : outcome_labelled) {
    const uint8_t positive = s.label == "purchase" ? 1 : 0;
    positives += positive;
    (s.held_out ? outcome_test : outcome_train).push_back(&s);
    (s.held_out ? test_labels : train_labels).push_back(positive);
  }
  report.outcome_held_out = outcome_test.size();
  report.positive_share =
      outcome_labelled.empty() ? 0 : double(positives) / outcome_labelled.size();
  const auto both = [](const std::vector<uint8_t>& labels) {
    return std::find(labels.begin(), labels.end(), 0) != labels.end() &&
           std::find(labels.begin(), labels.end(), 1) != labels.end();
  };
  if (both(train_labels)) {
    TAILOR_RETURN_IF_ERROR(
        FitReadiness(Matrix(model, outcome_train), train_labels, options.readiness, model));
    if (both(test_labels)) {
      std::vector<double> scores;
      for (const LabelledSession* s : outcome_test) {
        scores.push_back(*model.PurchaseReadiness(s->features));
      }
      report.readiness_auroc = analytics::Auroc(scores, test_labels);
    }
  }
  if (model.classes.empty() && !model.has_readiness()) {
    return FailedPrecondition(
        "no labelled sessions to learn from: answers to a question filling '{}' with two or more "
        "intents, or sessions with and without a purchase",
        options.answer_trait);
  }
  return model;
}

}  // namespace tailor::intent

// /v1/analytics/propensity, /v1/analytics/drivers (propensity.h) and /v1/analytics/clv (clv.h)
// on the live snapshot, on the evaluation thread (http_server.cc).

#include <algorithm>
#include <chrono>
#include <thread>

#include "common/time.h"
#include "server/api_impl.h"
#include "tailor/clv.h"
#include "tailor/propensity.h"

namespace tailor::server {
namespace {

thread_local simdjson::dom::parser json_parser;

// The request's fields into `spec` (and `save`, `top_share`, `top`, the deadline of `control`);
// an error response names the field. Models are read only where `models` (propensity, not
// drivers).
std::optional<Response> ReadSpec(simdjson::dom::object fields, bool models,
                                 analytics::PropensitySpec& spec, Timestamp& now, std::string& save,
                                 double& top_share, uint64_t& top, RunControl& control) {
  const auto bad = [](std::string_view message, const std::string& path) {
    return ErrorResponse(400, "INVALID_ARGUMENT", message, path);
  };
  if (!models) spec.options.models.clear();
  for (auto [key, value] : fields) {
    const std::string path = fmt::format("$.{}", std::string_view(key));
    std::string_view text;
    uint64_t number = 0;
    double real = 0;
    if (key == "traits" || key == "behaviour") {
      auto names = StringArray(value, path);
      if (!names.ok()) return ErrorResponse(names.status(), path);
      (key == "traits" ? spec.traits : spec.behaviour_types) = std::move(names).value();
    } else if (key == "target" || key == "target_event" || key == "fold_trait" ||
               (models && key == "save")) {
      if (value.get_string().get(text) || text.empty()) return bad("expected a name", path);
      (key == "target"         ? spec.target_trait
       : key == "target_event" ? spec.target_event
       : key == "fold_trait"   ? spec.fold_trait
                               : save) = std::string(text);
    } else if (key == "cutoff" || key == "now") {
      std::optional<Timestamp> time;
      if (value.get_string().get(text) || !(time = ParseIsoTimestamp(text))) {
        return bad("expected an ISO-8601 date-time", path);
      }
      (key == "cutoff" ? spec.cutoff : now) = *time;
    } else if (key == "horizon_days") {
      if (value.get_uint64().get(number) || number == 0 || number > 3650) {
        return bad("expected days, 1 to 3650", path);
      }
      spec.horizon_days = static_cast<int>(number);
    } else if (key == "timeout_seconds") {
      if (Status s = ReadTimeout(value, control); !s.ok()) return bad(s.message(), path);
    } else if (key == "top") {
      if (value.get_uint64().get(number) || number == 0 || number > 1000) {
        return bad("expected a count, 1 to 1000", path);
      }
      top = number;
    } else if (key == "bins") {
      if (value.get_uint64().get(number) || number < 2 || number > 100) {
        return bad("expected a count, 2 to 100", path);
      }
      spec.drivers.bins = number;
    } else if (models && key == "folds") {
      if (value.get_uint64().get(number) || number < 2 || number > 20) {
        return bad("expected a count, 2 to 20", path);
      }
      spec.folds = static_cast<uint32_t>(number);
    } else if (models && key == "models") {
      auto names = StringArray(value, path);
      if (!names.ok()) return ErrorResponse(names.status(), path);
      spec.options.models.clear();
      for (const std::string& name : *names) {
        if (name == "logistic") {
          spec.options.models.push_back(analytics::PropensityModelKind::kLogistic);
        } else if (name == "boosted_trees") {
          spec.options.models.push_back(analytics::PropensityModelKind::kBoostedTrees);
        } else {
          return bad("expected \"logistic\" or \"boosted_trees\"", path);
        }
      }
      if (spec.options.models.empty()) return bad("expected at least one model", path);
    } else if (models && key == "c") {
      if (value.get_double().get(spec.options.logistic.c) || spec.options.logistic.c <= 0) {
        return bad("expected a positive number", path);
      }
    } else if (models && key == "rounds") {
      if (value.get_uint64().get(number) || number == 0 || number > 5000) {
        return bad("expected a count, 1 to 5000", path);
      }
      spec.options.trees.rounds = number;
    } else if (models && key == "depth") {
      if (value.get_uint64().get(number) || number == 0 || number > 16) {
        return bad("expected a depth, 1 to 16", path);
      }
      spec.options.trees.max_depth = static_cast<int>(number);
    } else if (models && (key == "learning_rate" || key == "top_share")) {
      if (value.get_double().get(real) || real <= 0 || real > 1) {
        return bad("expected a number in (0, 1]", path);
      }
      (key == "learning_rate" ? spec.options.trees.learning_rate : top_share) = real;
    } else {
      return bad("unknown field", path);
    }
  }
  spec.score = !save.empty();
  return std::nullopt;
}

}  // namespace

void Api::Impl::AddPropensityRoutes() {
  using access::Scope;
  // Lifetime value of every customer: {"now": ISO, "purchase_type": "purchase",
  // "horizon_days": 365, "materialize": true, "timeout_seconds": 60}.
  Add("POST", "/v1/analytics/clv", Scope::kSegments, [this](Call& call) -> Response {
    analytics::ClvOptions clv;
    clv.now = service.now();
    bool materialize = true;
    RunControl control;
    if (!call.request.body.empty()) {
      auto body = ParseObjectBody(json_parser, call.request.body, options.max_json_depth);
      if (!body.ok()) return ErrorResponse(body.status(), "$");
      for (auto [key, value] : simdjson::dom::object(*body)) {
        const std::string path = fmt::format("$.{}", std::string_view(key));
        std::string_view text;
        if (key == "now") {
          std::optional<Timestamp> time;
          if (value.get_string().get(text) || !(time = ParseIsoTimestamp(text))) {
            return ErrorResponse(400, "INVALID_ARGUMENT", "expected an ISO-8601 date-time", path);
          }
          clv.now = *time;
        } else if (key == "purchase_type") {
          if (value.get_string().get(text) || text.empty()) {
            return ErrorResponse(400, "INVALID_ARGUMENT", "expected an event type", path);
          }
          clv.purchase_type = std::string(text);
        } else if (key == "exclude_order_types") {
          auto names = StringArray(value, path);
          if (!names.ok()) return ErrorResponse(names.status(), path);
          clv.exclude_order_types = std::move(names).value();
        } else if (key == "horizon_days") {
          if (value.get_double().get(clv.horizon_days) || !(clv.horizon_days > 0) ||
              clv.horizon_days > 36'500) {
            return ErrorResponse(400, "INVALID_ARGUMENT", "expected days, more than 0", path);
          }
        } else if (key == "materialize") {
          if (value.get_bool().get(materialize)) {
            return ErrorResponse(400, "INVALID_ARGUMENT", "expected true or false", path);
          }
        } else if (key == "timeout_seconds") {
          if (Status s = ReadTimeout(value, control); !s.ok()) return ErrorResponse(s, path);
        } else {
          return ErrorResponse(400, "INVALID_ARGUMENT", "unknown field", path);
        }
      }
    }
    clv.control = &control;
    auto run = service.RunClv(clv, materialize);
    if (!run.ok()) return ErrorResponse(run.status());
    JsonWriter json;
    json.BeginObject()
        .Key("now")
        .String(IsoTime(clv.now))
        .Key("snapshot_at")
        .String(IsoTime(run->snapshot_at_ms));
    analytics::WriteClvFields(json, run->clv);
    json.Key("materialized").Bool(materialize).Key("profiles_written").Uint(run->profiles_written);
    json.EndObject();
    return JsonResponse(200, json);
  });

  for (const bool models : {true, false}) {
    // {"target": "trait" | "target_event": "type", "horizon_days": 30, "cutoff": ISO,
    //  "traits": [...], "behaviour": [...], "folds": 5, "fold_trait": "t", "models": [...],
    //  "c", "rounds", "depth", "learning_rate", "save": "name", "top_share": 0.1, "top": 10,
    //  "timeout_seconds": 60}: past the timeout the run stops with nothing written (503).
    Add("POST", models ? "/v1/analytics/propensity" : "/v1/analytics/drivers", Scope::kSegments,
        [this, models](Call& call) -> Response {
          auto body = ParseObjectBody(json_parser, call.request.body, options.max_json_depth);
          if (!body.ok()) return ErrorResponse(body.status(), "$");
          analytics::PropensitySpec spec;
          Timestamp now = service.now();
          std::string save;
          double top_share = 0.1;
          uint64_t top = 10;
          RunControl control;
          if (auto error = ReadSpec(*body, models, spec, now, save, top_share, top, control)) {
            return *error;
          }
          spec.options.control = &control;
          // XGBoost's OpenMP workers spin while they wait: leave a core to the io threads.
          spec.options.trees.threads =
              static_cast<int>(std::max(1u, std::thread::hardware_concurrency() - 1));
          auto population = service.Population({});
          if (!population.ok()) return ErrorResponse(population.status());
          const snapshot::Snapshot& snapshot = *population->snapshot;
          auto study = analytics::RunPropensity(snapshot, spec, now);
          if (!study.ok()) return ErrorResponse(study.status());
          JsonWriter json;
          json.BeginObject();
          analytics::WriteStudyFields(json, *study, top);
          if (!save.empty()) {
            const analytics::ScoreSegment segment =
                analytics::PropensitySegment(save, *study, top_share);
            std::vector<std::pair<std::string, double>> scores;
            scores.reserve(study->ids.size());
            for (size_t i = 0; i < study->ids.size(); ++i) {
              scores.emplace_back(snapshot.external_id(study->ids[i]), study->scores[i]);
            }
            auto saved = service.SaveScores(save + "_score", scores, segment.definition);
            if (!saved.ok()) return ErrorResponse(saved.status(), "$.save");
            analytics::WriteSavedFields(json, save, *saved, segment);
          }
          json.EndObject();
          return JsonResponse(200, json);
        });
  }
}

}  // namespace tailor::server

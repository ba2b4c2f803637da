// Analytics routes (/v1/analytics/...): data-driven segmentation on the live snapshot, run on
// the evaluation thread (http_server.cc): RFM, segment profiles, clusters, lookalikes.

#include "common/time.h"
#include "server/api_impl.h"
#include "tailor/kmeans.h"
#include "tailor/lookalike.h"

namespace tailor::server {
namespace {

thread_local simdjson::dom::parser json_parser;

}  // namespace

void Api::Impl::AddAnalyticsRoutes() {
  using access::Scope;
  // RFM of every customer on the live snapshot; with "materialize" (the default) its traits
  // and the `rfm` scheme too.
  Add("POST", "/v1/analytics/rfm", Scope::kSegments, [this](Call& call) -> Response {
    analytics::RfmOptions rfm_options;
    rfm_options.now = service.now();
    bool materialize = true;
    if (!call.request.body.empty()) {
      auto body = ParseObjectBody(json_parser, call.request.body, options.max_json_depth);
      if (!body.ok()) return ErrorResponse(body.status(), "$");
      simdjson::dom::object fields = *body;
      for (auto [key, value] : fields) {
        const std::string path = fmt::format("$.{}", std::string_view(key));
        if (key == "now") {
          std::string_view text;
          std::optional<Timestamp> now;
          if (value.get_string().get(text) || !(now = ParseIsoTimestamp(text))) {
            return ErrorResponse(400, "INVALID_ARGUMENT", "expected an ISO-8601 date-time", path);
          }
          rfm_options.now = *now;
        } else if (key == "purchase_type") {
          std::string_view text;
          if (value.get_string().get(text) || text.empty()) {
            return ErrorResponse(400, "INVALID_ARGUMENT", "expected an event type", path);
          }
          rfm_options.purchase_type = std::string(text);
        } else if (key == "exclude_order_types") {
          auto names = StringArray(value, path);
          if (!names.ok()) return ErrorResponse(names.status(), path);
          rfm_options.exclude_order_types = std::move(names).value();
        } else if (key == "materialize") {
          if (value.get_bool().get(materialize)) {
            return ErrorResponse(400, "INVALID_ARGUMENT", "expected true or false", path);
          }
        } else if (key == "recency_edges" || key == "frequency_edges" || key == "monetary_edges") {
          std::vector<double>& edges = key == "recency_edges"     ? rfm_options.recency_day_edges
                                       : key == "frequency_edges" ? rfm_options.frequency_edges
                                                                  : rfm_options.monetary_edges;
          simdjson::dom::array array;
          if (value.get_array().get(array)) {
            return ErrorResponse(400, "INVALID_ARGUMENT", "expected an array of 4 numbers", path);
          }
          for (simdjson::dom::element edge : array) {
            double number = 0;
            if (edge.get_double().get(number)) {
              return ErrorResponse(400, "INVALID_ARGUMENT", "expected an array of 4 numbers", path);
            }
            edges.push_back(number);
          }
        } else {
          return ErrorResponse(400, "INVALID_ARGUMENT", "unknown field", path);
        }
      }
    }
    auto run = service.RunRfm(rfm_options, materialize);
    if (!run.ok()) return ErrorResponse(run.status());
    const analytics::RfmResult& rfm = run->rfm;
    JsonWriter json;
    json.BeginObject()
        .Key("now")
        .String(IsoTime(rfm_options.now))
        .Key("snapshot_at")
        .String(IsoTime(run->snapshot_at_ms))
        .Key("customers")
        .Uint(rfm.customers.size())
        .Key("segments")
        .BeginObject();
    for (size_t s = 0; s < analytics::kRfmSegmentCount; ++s) {
      json.Key(analytics::RfmSegmentName(static_cast<analytics::RfmSegment>(s)))
          .Uint(rfm.segment_counts[s]);
    }
    json.EndObject().Key("score_counts").BeginObject();
    const char* score_names[] = {"r_score", "f_score", "m_score"};
    for (int d = 0; d < 3; ++d) {
      json.Key(score_names[d]).BeginArray();
      for (uint64_t count : rfm.score_counts[d]) json.Uint(count);
      json.EndArray();
    }
    json.EndObject()
        .Key("materialized")
        .Bool(materialize)
        .Key("profiles_written")
        .Uint(run->profiles_written)
        .Key("scheme_created")
        .Bool(run->scheme_created)
        .EndObject();
    return JsonResponse(200, json);
  });
  // What distinguishes a segment (saved, or a rule) from the others or from another segment.
  Add("POST", "/v1/analytics/profile", Scope::kRead, [this](Call& call) -> Response {
    auto body = ParseObjectBody(json_parser, call.request.body, options.max_json_depth);
    if (!body.ok()) return ErrorResponse(body.status(), "$");
    simdjson::dom::object fields = *body;
    segments::SegmentDefinition definition;
    std::optional<segments::SegmentDefinition> versus;
    uint64_t top = 10;
    for (auto [key, value] : fields) {
      const std::string path = fmt::format("$.{}", std::string_view(key));
      std::string_view text;
      if (key == "top") {
        if (value.get_uint64().get(top) || top == 0 || top > 1000) {
          return ErrorResponse(400, "INVALID_ARGUMENT", "expected a count from 1 to 1000", path);
        }
        continue;
      }
      if (value.get_string().get(text) || text.empty()) {
        return ErrorResponse(400, "INVALID_ARGUMENT", "expected a non-empty string", path);
      }
      if (key == "segment" || key == "versus") {
        auto saved = service.catalog().Get(text);
        if (!saved.ok()) return ErrorResponse(saved.status(), path);
        (key == "segment" ? definition : versus.emplace()) = std::move(saved).value();
      } else if (key == "rule" || key == "exclude") {
        auto parsed = segments::ParseRule(text);
        if (!parsed.ok()) return ErrorResponse(parsed.status(), path);
        (key == "rule" ? definition.rule : definition.exclude) = std::string(text);
      } else {
        return ErrorResponse(400, "INVALID_ARGUMENT", "unknown field", path);
      }
    }
    if (definition.rule.empty()) {
      return ErrorResponse(400, "INVALID_ARGUMENT", "give a saved \"segment\" or a \"rule\"", "$");
    }
    auto profile =
        service.ProfileSegment(definition, versus ? &*versus : nullptr, static_cast<size_t>(top));
    if (!profile.ok()) return ErrorResponse(profile.status());
    JsonWriter json;
    analytics::WriteJson(json, *profile);
    return JsonResponse(200, json);
  });
  // k-means on numeric traits: {"traits": [...], "k": 8 | "choose_k": [2, 10], "seed", "restarts",
  // "log": [...], "save": "name"}.
  Add("POST", "/v1/analytics/cluster", Scope::kSegments, [this](Call& call) -> Response {
    auto body = ParseObjectBody(json_parser, call.request.body, options.max_json_depth);
    if (!body.ok()) return ErrorResponse(body.status(), "$");
    simdjson::dom::object fields = *body;
    std::vector<std::string> traits, logs;
    std::string save;
    std::vector<uint64_t> choose_k;
    analytics::KMeansOptions kmeans;
    for (auto [key, value] : fields) {
      const std::string path = fmt::format("$.{}", std::string_view(key));
      uint64_t number = 0;
      if (key == "traits" || key == "log") {
        auto names = StringArray(value, path);
        if (!names.ok()) return ErrorResponse(names.status(), path);
        (key == "traits" ? traits : logs) = std::move(names).value();
      } else if (key == "mini_batch" || key == "mini_batch_steps") {
        if (value.get_uint64().get(number) || number > 1'000'000 ||
            (key == "mini_batch_steps" && number == 0)) {
          return ErrorResponse(400, "INVALID_ARGUMENT", "expected a count, at most 1000000", path);
        }
        (key == "mini_batch" ? kmeans.mini_batch : kmeans.mini_batch_steps) = number;
      } else if (key == "k" || key == "seed" || key == "restarts") {
        if (value.get_uint64().get(number) || (key != "seed" && (number == 0 || number > 1000))) {
          return ErrorResponse(400, "INVALID_ARGUMENT", "expected a count", path);
        }
        (key == "k" ? kmeans.k : key == "seed" ? kmeans.seed : kmeans.restarts) = number;
      } else if (key == "choose_k") {
        // At most 50 values of k, each at most 1000: every one is a k-means run.
        simdjson::dom::array array;
        bool numbers = !value.get_array().get(array);
        if (numbers) {
          for (simdjson::dom::element e : array) {
            numbers = numbers && !e.get_uint64().get(number);
            if (numbers) choose_k.push_back(number);
          }
        }
        if (!numbers || choose_k.size() != 2 || choose_k[0] < 2 || choose_k[1] < choose_k[0] ||
            choose_k[1] > 1000 || choose_k[1] - choose_k[0] >= 50) {
          return ErrorResponse(400, "INVALID_ARGUMENT",
                               "expected [min, max]: 2 <= min <= max <= 1000, at most 50 values",
                               path);
        }
      } else if (key == "save") {
        std::string_view text;
        if (value.get_string().get(text) || text.empty()) {
          return ErrorResponse(400, "INVALID_ARGUMENT", "expected a scheme name", path);
        }
        save = std::string(text);
      } else {
        return ErrorResponse(400, "INVALID_ARGUMENT", "unknown field", path);
      }
    }
    auto features = service.TraitFeatures(traits);
    if (!features.ok()) return ErrorResponse(features.status(), "$.traits");
    kmeans.log1p.assign(features->matrix.columns, false);
    for (const std::string& name : logs) {
      auto it = std::find(traits.begin(), traits.end(), name);
      if (it == traits.end()) {
        return ErrorResponse(400, "INVALID_ARGUMENT", "not one of the traits", "$.log");
      }
      kmeans.log1p[it - traits.begin()] = true;
    }
    JsonWriter json;
    if (!choose_k.empty()) {
      auto choices = analytics::ChooseK(features->matrix, choose_k[0], choose_k[1], kmeans);
      if (!choices.ok()) return ErrorResponse(choices.status(), "$.choose_k");
      json.BeginObject();
      analytics::WriteChoiceFields(json, *choices);
      json.EndObject();
      return JsonResponse(200, json);
    }
    auto result = analytics::KMeans(features->matrix, kmeans);
    if (!result.ok()) return ErrorResponse(result.status());
    const auto names = analytics::NameClusters(features->matrix, kmeans, *result);
    uint64_t written = 0;
    if (!save.empty()) {
      std::vector<std::string> labels;
      const Service::LabelScheme scheme =
          Service::ClusterScheme(save, features->matrix, names, labels);
      std::vector<std::pair<std::string, std::string>> assigned;
      assigned.reserve(features->ids.size());
      for (size_t i = 0; i < features->ids.size(); ++i) {
        assigned.emplace_back(features->ids[i], labels[result->labels[i]]);
      }
      auto saved = service.SaveLabels(scheme, assigned);
      if (!saved.ok()) return ErrorResponse(saved.status(), "$.save");
      written = saved->profiles_written;
    }
    json.BeginObject();
    analytics::WriteClusterFields(json, features->matrix, *result, names);
    json.Key("profiles_written").Uint(written).EndObject();
    return JsonResponse(200, json);
  });
  // Lookalikes of a seed segment: {"seed": "segment", "traits": [...], "top": 1000, "c": 1.0,
  // "save": "name"}.
  Add("POST", "/v1/analytics/lookalike", Scope::kSegments, [this](Call& call) -> Response {
    auto body = ParseObjectBody(json_parser, call.request.body, options.max_json_depth);
    if (!body.ok()) return ErrorResponse(body.status(), "$");
    simdjson::dom::object fields = *body;
    std::vector<std::string> traits;
    std::string seed, save;
    analytics::LookalikeOptions lookalike;
    for (auto [key, value] : fields) {
      const std::string path = fmt::format("$.{}", std::string_view(key));
      std::string_view text;
      uint64_t number = 0;
      if (key == "traits") {
        auto names = StringArray(value, path);
        if (!names.ok()) return ErrorResponse(names.status(), path);
        traits = std::move(names).value();
      } else if (key == "seed" || key == "save") {
        if (value.get_string().get(text) || text.empty()) {
          return ErrorResponse(400, "INVALID_ARGUMENT", "expected a segment name", path);
        }
        (key == "seed" ? seed : save) = std::string(text);
      } else if (key == "top") {
        if (value.get_uint64().get(number) || number == 0) {
          return ErrorResponse(400, "INVALID_ARGUMENT", "expected a count", path);
        }
        lookalike.top = number;
      } else if (key == "c") {
        if (value.get_double().get(lookalike.model.c) || lookalike.model.c <= 0) {
          return ErrorResponse(400, "INVALID_ARGUMENT", "expected a positive number", path);
        }
      } else {
        return ErrorResponse(400, "INVALID_ARGUMENT", "unknown field", path);
      }
    }
    if (seed.empty())
      return ErrorResponse(400, "INVALID_ARGUMENT", "name the seed segment", "$.seed");
    auto members = service.Members(seed);
    if (!members.ok()) return ErrorResponse(members.status(), "$.seed");
    auto features = service.TraitFeatures(traits);
    if (!features.ok()) return ErrorResponse(features.status(), "$.traits");
    std::vector<uint8_t> in_seed(features->dense.size());
    for (size_t i = 0; i < in_seed.size(); ++i) in_seed[i] = members->contains(features->dense[i]);
    auto found = analytics::FindLookalikes(features->matrix, in_seed, lookalike);
    if (!found.ok()) return ErrorResponse(found.status(), "$.seed");
    uint64_t written = 0;
    if (!save.empty()) {
      const double threshold = found->ranked.empty() ? 1.0 : found->scores[found->ranked.back()];
      std::vector<std::pair<std::string, double>> scores;
      scores.reserve(features->ids.size());
      for (size_t i = 0; i < features->ids.size(); ++i) {
        scores.emplace_back(features->ids[i], found->scores[i]);
      }
      auto saved = service.SaveScores(
          save + "_score", scores,
          Service::LookalikeSegment(save, seed, found->ranked.size(), features->matrix, threshold));
      if (!saved.ok()) return ErrorResponse(saved.status(), "$.save");
      written = *saved;
    }
    JsonWriter json;
    json.BeginObject();
    analytics::WriteLookalikeFields(json, *found, in_seed, features->ids);
    json.Key("profiles_written").Uint(written).EndObject();
    return JsonResponse(200, json);
  });
}

}  // namespace tailor::server

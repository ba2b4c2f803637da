// Recommendations (tailor/recommender.h): a profile's top items with their reasons (scope read;
// an unknown id is a visitor with no history: popular items, not an error); the model in force
// (read) and a training run (scope segments); the item rules by segment and how the catalogue is
// read (read; set: segments).

#include <charconv>

#include "server/api_impl.h"
#include "tailor/recommender.h"

namespace tailor::server {
namespace {

// A price bound of the query: nullopt when absent; false when it is not a number.
bool PriceOf(const Call& call, std::string_view name, std::optional<double>& out) {
  const std::string_view text = call.Query(name);
  if (text.empty()) return true;
  double value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return false;
  out = value;
  return true;
}

}  // namespace

void Api::Impl::AddRecommendationRoutes() {
  using access::Scope;
  Add("GET", "/v1/profiles/{id}/recommendations", Scope::kRead, [this](Call& call) -> Response {
    reco::Request request;
    const std::optional<Timestamp> at = NowOf(call, 0);
    if (!at) return ErrorResponse(400, "INVALID_ARGUMENT", "expected an ISO-8601 date-time", "now");
    request.now = *at;
    request.count = ParseSize(call.Query("count"), 10, 100);
    request.category = std::string(call.Query("category"));
    if (!PriceOf(call, "min_price", request.min_price)) {
      return ErrorResponse(400, "INVALID_ARGUMENT", "expected a number", "min_price");
    }
    if (!PriceOf(call, "max_price", request.max_price)) {
      return ErrorResponse(400, "INVALID_ARGUMENT", "expected a number", "max_price");
    }
    if (const std::string_view name = call.Query("intent"); !name.empty()) {
      const std::optional<intent::Intent> intent = intent::ParseIntentName(name);
      if (!intent) {
        return ErrorResponse(400, "INVALID_ARGUMENT",
                             "expected unknown, inspiration, best_offer, concerns or post_purchase",
                             "intent");
      }
      request.intent = *intent;
    }
    for (std::string_view rest = call.Query("exclude"); !rest.empty();) {
      const size_t comma = rest.find(',');
      if (comma != 0) request.exclude.emplace_back(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
    auto found = service.Recommendations(call.params[0], request);
    if (!found.ok()) return ErrorResponse(found.status());
    JsonWriter json;
    json.BeginObject()
        .Key("id")
        .String(found->known ? found->id : call.params[0])
        .Key("known")
        .Bool(found->known)
        .Key("intent")
        .String(intent::IntentName(found->intent))
        .Key("model_version")
        .Int(static_cast<int64_t>(found->model_version))
        .Key("items")
        .BeginArray();
    for (const reco::Recommendation& r : found->items) {
      reco::WriteRecommendation(json, *found->model, r);
    }
    json.EndArray().Key("rules_applied").BeginArray();
    for (const std::string& rule : found->rules_applied) json.String(rule);
    json.EndArray().EndObject();
    return JsonResponse(200, json);
  });

  Add("GET", "/v1/recommendations/rules", Scope::kRead, [this](Call&) -> Response {
    JsonWriter json;
    reco::WriteItemRules(json, *service.recommendation_rules());
    return JsonResponse(200, json);
  });

  Add("PUT", "/v1/recommendations/rules", Scope::kSegments, [this](Call& call) -> Response {
    if (Status set = service.SetRecommendationRules(call.request.body); !set.ok()) {
      return ErrorResponse(set);
    }
    JsonWriter json;
    reco::WriteItemRules(json, *service.recommendation_rules());
    return JsonResponse(200, json);
  });

  Add("GET", "/v1/recommendations/catalogue", Scope::kRead, [this](Call&) -> Response {
    JsonWriter json;
    reco::WriteCatalogueOptions(json, service.recommender_catalogue());
    return JsonResponse(200, json);
  });

  Add("PUT", "/v1/recommendations/catalogue", Scope::kSegments, [this](Call& call) -> Response {
    if (Status set = service.SetRecommenderCatalogue(call.request.body); !set.ok()) {
      return ErrorResponse(set);
    }
    JsonWriter json;
    reco::WriteCatalogueOptions(json, service.recommender_catalogue());
    return JsonResponse(200, json);
  });

  Add("GET", "/v1/recommendations/model", Scope::kRead, [this](Call&) -> Response {
    JsonWriter json;
    reco::WriteModel(json, *service.recommender());
    return JsonResponse(200, json);
  });

  Add("POST", "/v1/recommendations/train", Scope::kSegments, [this](Call&) -> Response {
    auto trained = service.TrainRecommender();
    if (!trained.ok()) return ErrorResponse(trained.status());
    JsonWriter json;
    reco::WriteModel(json, **trained);
    return JsonResponse(200, json);
  });
  routes.back().slow = true;  // reads the whole population
}

}  // namespace tailor::server

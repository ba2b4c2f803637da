#include "tailor/place.h"

#include <boost/geometry.hpp>
#include <boost/geometry/index/rtree.hpp>
#include <cmath>
#include <map>
#include <numbers>

#include "common/strings.h"
#include "tailor/signal_values.h"  // kSessionGapMs

namespace tailor::signals {
namespace {

namespace bg = boost::geometry;
namespace bgi = boost::geometry::index;
using UnitPoint = bg::model::point<double, 3, bg::cs::cartesian>;
using Entry = std::pair<UnitPoint, uint32_t>;  // the store's index in ids_

constexpr double kRadians = std::numbers::pi / 180;

UnitPoint OnUnitSphere(GeoPoint p) {
  const double lat = p.latitude * kRadians, lon = p.longitude * kRadians;
  return UnitPoint(std::cos(lat) * std::cos(lon), std::cos(lat) * std::sin(lon), std::sin(lat));
}

bool InRange(double latitude, double longitude) {
  return std::isfinite(latitude) && std::isfinite(longitude) && std::abs(latitude) <= 90 &&
         std::abs(longitude) <= 180;
}

// A number attribute or trait (int, double, or a number as text).
std::optional<double> NumberOf(const TypedValue& value) {
  if (const auto* d = std::get_if<double>(&value.value)) return *d;
  if (const auto* i = std::get_if<int64_t>(&value.value)) {
    if (value.type == TraitType::kInt) return static_cast<double>(*i);
  }
  if (const auto* s = std::get_if<std::string>(&value.value)) return ParseDouble(*s);
  return std::nullopt;
}

std::optional<double> Find(const TraitMap& values, std::string_view name) {
  for (const auto& [key, value] : values) {
    if (key == name) return NumberOf(value);
  }
  return std::nullopt;
}

}  // namespace

double DistanceKm(GeoPoint a, GeoPoint b) {
  const double lat1 = a.latitude * kRadians, lat2 = b.latitude * kRadians;
  const double dlat = lat2 - lat1, dlon = (b.longitude - a.longitude) * kRadians;
  const double h = std::sin(dlat / 2) * std::sin(dlat / 2) +
                   std::cos(lat1) * std::cos(lat2) * std::sin(dlon / 2) * std::sin(dlon / 2);
  return 2 * kEarthRadiusKm * std::asin(std::min(1.0, std::sqrt(h)));
}

std::optional<GeoPoint> PointIf(double latitude, double longitude) {
  if (!InRange(latitude, longitude)) return std::nullopt;
  return GeoPoint{latitude, longitude};
}

std::optional<GeoPoint> ParsePoint(std::string_view latitude, std::string_view longitude) {
  const std::optional<double> lat = ParseDouble(latitude), lon = ParseDouble(longitude);
  if (!lat || !lon || !InRange(*lat, *lon)) return std::nullopt;
  return GeoPoint{*lat, *lon};
}

std::optional<GeoPoint> HomeOf(const TraitMap& traits) {
  const std::optional<double> lat = Find(traits, kHomeLatitudeTrait),
                              lon = Find(traits, kHomeLongitudeTrait);
  if (!lat || !lon || !InRange(*lat, *lon)) return std::nullopt;
  return GeoPoint{*lat, *lon};
}

struct StoreIndex::Tree {
  bgi::rtree<Entry, bgi::rstar<16>> rtree;
};

StoreIndex::StoreIndex() : tree_(std::make_unique<Tree>()) {}
StoreIndex::~StoreIndex() = default;

std::shared_ptr<const StoreIndex> StoreIndex::FromItems(std::span<const ItemInput* const> items) {
  std::shared_ptr<StoreIndex> index(new StoreIndex());
  // Stores at the same place are one entry, the smallest id (whatever order the items come in).
  std::map<std::pair<double, double>, std::string> at;
  for (const ItemInput* item : items) {
    if (item == nullptr || item->category != "store") continue;
    const std::optional<double> lat = Find(item->attributes, "latitude"),
                                lon = Find(item->attributes, "longitude");
    if (!lat || !lon || !InRange(*lat, *lon)) continue;
    auto [it, added] = at.try_emplace({*lat, *lon}, item->id);
    if (!added && item->id < it->second) it->second = item->id;
  }
  std::vector<Entry> entries;
  for (const auto& [point, id] : at) {
    entries.emplace_back(OnUnitSphere({point.first, point.second}),
                         static_cast<uint32_t>(index->ids_.size()));
    index->ids_.push_back(id);
    index->points_.push_back({point.first, point.second});
  }
  index->tree_->rtree =
      bgi::rtree<Entry, bgi::rstar<16>>(entries.begin(), entries.end());  // packed
  return index;
}

std::optional<StoreIndex::Nearest> StoreIndex::NearestTo(GeoPoint point) const {
  if (ids_.empty()) return std::nullopt;
  // A few candidates: stores at the same place (or equally near) are told apart by id.
  std::vector<Entry> found;
  tree_->rtree.query(bgi::nearest(OnUnitSphere(point), 4), std::back_inserter(found));
  std::optional<Nearest> best;
  for (const Entry& entry : found) {
    const double km = DistanceKm(point, points_[entry.second]);
    const std::string& id = ids_[entry.second];
    if (!best || km < best->km || (km == best->km && id < best->id)) best = Nearest{id, km};
  }
  return best;
}

Whereabouts WhereaboutsAt(std::optional<GeoPoint> position, double accuracy_km, Timestamp time,
                          Timestamp now, const PlaceContext& context) {
  Whereabouts out;
  if (!position) return out;
  out.position = position;
  out.accuracy_km = accuracy_km;
  out.time = time;
  out.current = time <= now && now - time <= kSessionGapMs;
  if (context.home) out.distance_home_km = DistanceKm(*position, *context.home);
  if (context.stores != nullptr) out.nearest_store = context.stores->NearestTo(*position);
  out.near_store = out.current && out.nearest_store &&
                   out.nearest_store->km + accuracy_km <= context.near_store_km;
  return out;
}

std::optional<GeoPoint> EventPosition(const EventInput& event, double& accuracy_km) {
  // The first of each, as EventProperty and the snapshot's property columns read them.
  const std::string_view latitude = EventProperty(event, "latitude"),
                         longitude = EventProperty(event, "longitude"),
                         accuracy = EventProperty(event, "accuracy_km");
  if (latitude.empty() || longitude.empty()) return std::nullopt;
  const std::optional<GeoPoint> point = ParsePoint(latitude, longitude);
  if (!point) return std::nullopt;
  // An accuracy that is not a distance says nothing of where they are: no position.
  const std::optional<double> radius = accuracy.empty() ? 0.0 : ParseDouble(accuracy);
  if (!radius || !(*radius >= 0) || !std::isfinite(*radius)) return std::nullopt;
  accuracy_km = *radius;
  return point;
}

}  // namespace tailor::signals

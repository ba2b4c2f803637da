#pragma once

// Where a person is now, against where they live and where the stores are: the position of
// their latest located event (a device's position from the event's `latitude` and `longitude`
// properties, `context.location` in Segment messages; else the IP address's, city-level, with its
// accuracy in `accuracy_km`), their home (the `home_latitude` and `home_longitude` traits), and
// the nearest store of the store list (the catalogue's items of category `store` with numeric
// `latitude` and `longitude` attributes: an items file or table imported as such).
//
// Distances are great-circle distances on the mean Earth radius (haversine). The nearest store is
// found in an R-tree (Boost.Geometry) of the stores as points on the unit sphere, where the
// nearest by straight-line distance is the nearest by great-circle distance.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tailor/types.h"

namespace tailor::signals {

struct GeoPoint {
  double latitude = 0, longitude = 0;  // degrees
  bool operator==(const GeoPoint&) const = default;
};

inline constexpr double kEarthRadiusKm = 6371.0088;  // the mean radius (IUGG)

double DistanceKm(GeoPoint a, GeoPoint b);

// Latitude in [-90, 90] and longitude in [-180, 180]; nullopt otherwise.
std::optional<GeoPoint> PointIf(double latitude, double longitude);
// The same from numbers written as text (common/strings.h ParseDouble).
std::optional<GeoPoint> ParsePoint(std::string_view latitude, std::string_view longitude);

// The `home_latitude` and `home_longitude` traits (numbers); nullopt without both, or out of range.
std::optional<GeoPoint> HomeOf(const TraitMap& traits);
inline constexpr std::string_view kHomeLatitudeTrait = "home_latitude";
inline constexpr std::string_view kHomeLongitudeTrait = "home_longitude";

// The stores of a catalogue, for nearest-store queries. Immutable; thread-safe to read.
class StoreIndex {
 public:
  // The items of category `store` with numeric (or numeric text) `latitude` and `longitude`
  // attributes in range; the others are not stores.
  static std::shared_ptr<const StoreIndex> FromItems(std::span<const ItemInput* const> items);
  ~StoreIndex();

  struct Nearest {
    std::string id;
    double km = 0;
  };
  // The store nearest to `point` (the smallest id among stores at the same place); nullopt when
  // there is no store.
  std::optional<Nearest> NearestTo(GeoPoint point) const;
  size_t size() const { return ids_.size(); }

 private:
  StoreIndex();
  struct Tree;
  std::unique_ptr<Tree> tree_;
  std::vector<std::string> ids_;
  std::vector<GeoPoint> points_;
};

// What the place signals need beyond the events.
struct PlaceContext {
  std::optional<GeoPoint> home;
  const StoreIndex* stores = nullptr;
  double near_store_km = 1;  // within this (accuracy included) is near a store
};

// Where they are at `now`, from the latest located event (`position`, seen at `time`).
struct Whereabouts {
  std::optional<GeoPoint> position;
  double accuracy_km = 0;  // 0: a device's position
  Timestamp time = 0;
  bool current = false;  // seen within a session's gap (30 minutes) of now
  std::optional<double> distance_home_km;
  std::optional<StoreIndex::Nearest> nearest_store;
  // Near a store now: current, and the store within near_store_km even at the far edge of the
  // position's accuracy.
  bool near_store = false;
};
Whereabouts WhereaboutsAt(std::optional<GeoPoint> position, double accuracy_km, Timestamp time,
                          Timestamp now, const PlaceContext& context);

// An event's position: its `latitude` and `longitude` properties, with `accuracy_km` (0 when
// absent); nullopt when it has none in range.
std::optional<GeoPoint> EventPosition(const EventInput& event, double& accuracy_km);

}  // namespace tailor::signals

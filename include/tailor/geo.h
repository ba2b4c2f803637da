#pragma once

// IP address → where the visitor is, from a MaxMind-format database (GeoIP2 / GeoLite2 City or
// Country, DB-IP and other .mmdb files) read with libmaxminddb.

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "tailor/status.h"

namespace tailor::geo {

struct Location {
  std::string country;  // ISO 3166-1 alpha-2 code ("ES"), the vocabulary of imported data
  std::string region;   // first subdivision, English name ("Community of Madrid"); may be empty
  std::string city;     // English name ("Madrid"); empty in country databases
  std::optional<double> latitude;
  std::optional<double> longitude;
  std::optional<double> accuracy_km;  // the radius the address is located within (MaxMind's)
  std::string time_zone;              // IANA ("Europe/Madrid")
};

// The accuracy assumed for a position from a database that gives none (DB-IP and other city
// databases): about a city's size.
inline constexpr double kUnknownAccuracyKm = 50;

// One open database, memory-mapped. Lookups are thread-safe and take no lock.
class GeoIpDatabase {
 public:
  // Fails with the file and libmaxminddb's reason when it cannot be read as a MaxMind DB.
  static Result<std::unique_ptr<GeoIpDatabase>> Open(const std::string& path);
  ~GeoIpDatabase();
  GeoIpDatabase(const GeoIpDatabase&) = delete;
  GeoIpDatabase& operator=(const GeoIpDatabase&) = delete;

  // The location of an IPv4 or IPv6 address (text). Not in the database: nullopt. Not an IP
  // address: kInvalidArgument. Private, loopback and reserved ranges are not in real databases.
  Result<std::optional<Location>> Lookup(std::string_view ip) const;

  // The database's type from its metadata ("GeoLite2-City", "GeoIP2-Country", ...).
  std::string_view database_type() const;

 private:
  struct Impl;
  explicit GeoIpDatabase(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tailor::geo

// GeoIpDatabase on libmaxminddb: the file is memory-mapped once; a lookup walks the search tree
// and reads the GeoIP2 record fields tailor keeps (country, first subdivision, city, location).

#include <maxminddb.h>

#include <cerrno>
#include <cstring>

#include "tailor/geo.h"

namespace tailor::geo {

struct GeoIpDatabase::Impl {
  MMDB_s mmdb{};
  std::string path;
};

namespace {

// The entry's value at a path ("country", "iso_code"), if it is a UTF-8 string.
std::string StringAt(MMDB_entry_s& entry, const char* const* path) {
  MMDB_entry_data_s data{};
  if (MMDB_aget_value(&entry, &data, path) != MMDB_SUCCESS || !data.has_data ||
      data.type != MMDB_DATA_TYPE_UTF8_STRING) {
    return {};
  }
  return std::string(data.utf8_string, data.data_size);
}

std::optional<double> DoubleAt(MMDB_entry_s& entry, const char* const* path) {
  MMDB_entry_data_s data{};
  if (MMDB_aget_value(&entry, &data, path) != MMDB_SUCCESS || !data.has_data) return std::nullopt;
  if (data.type == MMDB_DATA_TYPE_DOUBLE) return data.double_value;
  if (data.type == MMDB_DATA_TYPE_FLOAT) return static_cast<double>(data.float_value);
  if (data.type == MMDB_DATA_TYPE_UINT16) return static_cast<double>(data.uint16);
  if (data.type == MMDB_DATA_TYPE_UINT32) return static_cast<double>(data.uint32);
  return std::nullopt;
}

}  // namespace

GeoIpDatabase::GeoIpDatabase(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

GeoIpDatabase::~GeoIpDatabase() { MMDB_close(&impl_->mmdb); }

Result<std::unique_ptr<GeoIpDatabase>> GeoIpDatabase::Open(const std::string& path) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  const int opened = MMDB_open(path.c_str(), MMDB_MODE_MMAP, &impl->mmdb);
  if (opened != MMDB_SUCCESS) {
    std::string reason = MMDB_strerror(opened);
    if (opened == MMDB_IO_ERROR) reason += fmt::format(" ({})", std::strerror(errno));
    return InvalidArgument("GeoIP database {}: {}", path, reason);
  }
  return std::unique_ptr<GeoIpDatabase>(new GeoIpDatabase(std::move(impl)));
}

std::string_view GeoIpDatabase::database_type() const {
  const char* type = impl_->mmdb.metadata.database_type;
  return type != nullptr ? std::string_view(type) : std::string_view();
}

Result<std::optional<Location>> GeoIpDatabase::Lookup(std::string_view ip) const {
  // MMDB_lookup_string needs a NUL-terminated string; addresses are short.
  char text[64];
  if (ip.empty() || ip.size() >= sizeof(text)) {
    return InvalidArgument("'{}' is not an IP address", ip.substr(0, 64));
  }
  std::memcpy(text, ip.data(), ip.size());
  text[ip.size()] = '\0';
  int address_error = 0;
  int mmdb_error = MMDB_SUCCESS;
  MMDB_lookup_result_s result = MMDB_lookup_string(&impl_->mmdb, text, &address_error, &mmdb_error);
  if (address_error != 0) return InvalidArgument("'{}' is not an IP address", ip);
  if (mmdb_error != MMDB_SUCCESS) {
    // An IPv6 address in an IPv4-only database is not there; anything else is a broken file.
    if (mmdb_error == MMDB_IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR) return std::optional<Location>();
    return Corruption("GeoIP database {}: {}", impl_->path, MMDB_strerror(mmdb_error));
  }
  if (!result.found_entry) return std::optional<Location>();

  static constexpr const char* kCountry[] = {"country", "iso_code", nullptr};
  static constexpr const char* kRegisteredCountry[] = {"registered_country", "iso_code", nullptr};
  static constexpr const char* kRegion[] = {"subdivisions", "0", "names", "en", nullptr};
  static constexpr const char* kCity[] = {"city", "names", "en", nullptr};
  static constexpr const char* kLatitude[] = {"location", "latitude", nullptr};
  static constexpr const char* kLongitude[] = {"location", "longitude", nullptr};
  static constexpr const char* kTimeZone[] = {"location", "time_zone", nullptr};
  static constexpr const char* kAccuracy[] = {"location", "accuracy_radius", nullptr};
  Location location;
  location.country = StringAt(result.entry, kCountry);
  // Anycast and some mobile ranges only say where the network is registered.
  if (location.country.empty()) location.country = StringAt(result.entry, kRegisteredCountry);
  location.region = StringAt(result.entry, kRegion);
  location.city = StringAt(result.entry, kCity);
  location.latitude = DoubleAt(result.entry, kLatitude);
  location.longitude = DoubleAt(result.entry, kLongitude);
  location.accuracy_km = DoubleAt(result.entry, kAccuracy);
  location.time_zone = StringAt(result.entry, kTimeZone);
  if (location.country.empty() && location.city.empty() && !location.latitude) {
    return std::optional<Location>();
  }
  return std::optional<Location>(std::move(location));
}

}  // namespace tailor::geo

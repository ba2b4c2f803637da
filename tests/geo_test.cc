// IP → location with libmaxminddb on a database written by MaxMind's own writer
// (tests/geo/write_test_mmdb.pl), and its use on the collect path: geo_* traits and the event's
// country/city, located by context.ip, by a browser's address, or by X-Forwarded-For behind a
// proxy; and `tailor --config FILE serve` reading these settings from a TOML file.

#include "tailor/geo.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <simdjson.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "api_test_util.h"
#include "http_client.h"
#include "tailor/server.h"
#include "test_util.h"

namespace tailor {
namespace {

using ::tailor::testing::HttpClient;
using ::tailor::testing::TempDir;

constexpr Timestamp kNow = 1'800'000'000'000;  // 2027-01-15T08:00:00Z

std::unique_ptr<geo::GeoIpDatabase> OpenTestDatabase() {
  auto database = geo::GeoIpDatabase::Open(TAILOR_GEO_TEST_DB);
  EXPECT_TRUE(database.ok()) << database.status().ToString();
  return database.ok() ? std::move(database).value() : nullptr;
}

TEST(GeoIpDatabase, LooksUpCityCountryRegionAndLocation) {
  auto database = OpenTestDatabase();
  ASSERT_NE(database, nullptr);
  EXPECT_EQ(database->database_type(), "tailor-Test-City");

  auto london = database->Lookup("81.2.69.142");
  ASSERT_TRUE(london.ok());
  ASSERT_TRUE(london->has_value());
  EXPECT_EQ((*london)->country, "GB");
  EXPECT_EQ((*london)->region, "England");
  EXPECT_EQ((*london)->city, "London");
  ASSERT_TRUE((*london)->latitude.has_value());
  EXPECT_NEAR(*(*london)->latitude, 51.5142, 1e-9);
  EXPECT_NEAR(*(*london)->longitude, -0.0931, 1e-9);
  EXPECT_EQ((*london)->time_zone, "Europe/London");
  EXPECT_EQ((*london)->accuracy_km, 10.0);

  // UTF-8 names come through as they are.
  auto linkoping = database->Lookup("89.160.20.128");
  ASSERT_TRUE(linkoping.ok() && linkoping->has_value());
  EXPECT_EQ((*linkoping)->city, "Linköping");
  EXPECT_EQ((*linkoping)->region, "Östergötland County");

  // IPv6.
  auto san_diego = database->Lookup("2001:480:10::1");
  ASSERT_TRUE(san_diego.ok() && san_diego->has_value());
  EXPECT_EQ((*san_diego)->country, "US");
  EXPECT_EQ((*san_diego)->city, "San Diego");

  // Only the registered country (anycast ranges): the country, nothing else.
  auto registered = database->Lookup("67.43.156.1");
  ASSERT_TRUE(registered.ok() && registered->has_value());
  EXPECT_EQ((*registered)->country, "BT");
  EXPECT_EQ((*registered)->city, "");
  EXPECT_FALSE((*registered)->latitude.has_value());

  // Not in the database: none; not an address: an error.
  auto missing = database->Lookup("10.1.2.3");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
  auto next_network = database->Lookup("81.2.70.1");
  ASSERT_TRUE(next_network.ok());
  EXPECT_FALSE(next_network->has_value());
  for (const char* bad : {"", "not-an-ip", "81.2.69.1.5", "999.1.1.1"}) {
    auto result = database->Lookup(bad);
    ASSERT_FALSE(result.ok()) << bad;
    EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_FALSE(database->Lookup(std::string(300, '1')).ok());
}

TEST(GeoIpDatabase, OpenNamesTheFileAndTheReason) {
  auto missing = geo::GeoIpDatabase::Open("/nonexistent/GeoLite2-City.mmdb");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("/nonexistent/GeoLite2-City.mmdb"), std::string::npos);
  TempDir dir;
  const std::string not_mmdb = dir.Write("fake.mmdb", "this is not a MaxMind database\n");
  auto invalid = geo::GeoIpDatabase::Open(not_mmdb);
  ASSERT_FALSE(invalid.ok());
  EXPECT_NE(invalid.status().message().find("fake.mmdb"), std::string::npos);
  // A service configured with a broken database does not start half-working.
  ServiceOptions options;
  options.geoip_database = not_mmdb;
  EXPECT_FALSE(Service::Open(dir.File("data"), options).ok());
}

class GeoCollectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServiceOptions options;
    options.clock = [] { return kNow; };
    options.geoip_database = TAILOR_GEO_TEST_DB;
    auto service = Service::Open(dir_.path(), options);
    ASSERT_TRUE(service.ok()) << service.status().ToString();
    service_ = std::move(service).value();
    keys_ = std::make_unique<access::KeyStore>(service_->engine().store());
    ASSERT_OK(keys_->Load());
    writer_ = ::tailor::testing::CreateKey(*keys_, "backend",
                                           {access::Scope::kWrite, access::Scope::kRead});
    site_ = ::tailor::testing::CreateSiteKey(*keys_);
  }

  server::Response Send(server::Api& api, const std::string& key, const std::string& body,
                        const std::string& remote,
                        std::map<std::string, std::string> headers = {}) {
    server::Request request;
    request.method = "POST";
    request.target = "/v1/track";
    request.body = body;
    request.remote = remote;
    request.headers = std::move(headers);
    request.headers["authorization"] = "Bearer " + key;
    return api.Handle(request);
  }

  // The profile's trait, "" when it has none.
  std::string Trait(std::string_view user, std::string_view name) {
    auto view = service_->engine().GetProfile(user, 0);
    if (!view.ok()) return "<no profile>";
    for (const auto& [trait, value] : view->traits) {
      if (trait == name) return std::get<std::string>(value.value);
    }
    return "";
  }

  std::string EventCountry(std::string_view user) {
    auto view = service_->engine().GetProfile(user, 0);
    if (!view.ok()) return "<no profile>";
    auto events = service_->engine().Events(view->id);
    if (!events.ok() || events->empty()) return "<no events>";
    return events->back().context.country + "/" + events->back().context.city;
  }

  // The first event's position properties (tailor/place.h): "latitude,longitude,accuracy_km".
  std::string FirstEventPosition(std::string_view user) {
    auto view = service_->engine().GetProfile(user, 0);
    if (!view.ok()) return "<no profile>";
    auto events = service_->engine().Events(view->id);
    if (!events.ok() || events->empty()) return "<no events>";
    const EventInput& e = events->front();
    return fmt::format("{},{},{}", EventProperty(e, "latitude"), EventProperty(e, "longitude"),
                       EventProperty(e, "accuracy_km"));
  }

  TempDir dir_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<access::KeyStore> keys_;
  std::string writer_, site_;
};

TEST_F(GeoCollectTest, ContextIpLocatesTheProfileAndTheEvent) {
  server::Api api(*service_, *keys_, {});
  auto sent = Send(api, writer_,
                   R"({"userId":"u1","event":"Product Viewed","messageId":"m1",)"
                   R"("context":{"ip":"2.136.10.20"}})",
                   "192.0.2.1");
  ASSERT_EQ(sent.status, 200) << sent.body;
  EXPECT_EQ(Trait("u1", "geo_country"), "ES");
  EXPECT_EQ(Trait("u1", "geo_region"), "Madrid");
  EXPECT_EQ(Trait("u1", "geo_city"), "Madrid");
  EXPECT_EQ(Trait("u1", "geo_time_zone"), "Europe/Madrid");
  EXPECT_EQ(EventCountry("u1"), "ES/Madrid");
  // Its position, city-level, with the accuracy the database gives.
  EXPECT_EQ(FirstEventPosition("u1"), "40.4172,-3.684,50");
  // The visitor travels: the latest place wins, the first event keeps where it happened.
  sent = Send(api, writer_,
              R"({"userId":"u1","event":"Product Viewed","messageId":"m2","timestamp":)"
              R"("2027-01-15T08:01:00Z","context":{"ip":"81.2.69.160"}})",
              "192.0.2.1");
  ASSERT_EQ(sent.status, 200) << sent.body;
  EXPECT_EQ(Trait("u1", "geo_country"), "GB");
  EXPECT_EQ(Trait("u1", "geo_city"), "London");
  // A message that arrives late (dated before the London one) does not move the visitor back.
  sent = Send(api, writer_,
              R"({"userId":"u1","event":"Product Viewed","messageId":"m3","timestamp":)"
              R"("2027-01-15T07:59:00Z","context":{"ip":"2.136.10.20"}})",
              "192.0.2.1");
  ASSERT_EQ(sent.status, 200) << sent.body;
  EXPECT_EQ(Trait("u1", "geo_country"), "GB");
  // An address not in the database, or not an address, stores the event unlocated.
  sent =
      Send(api, writer_, R"({"userId":"u2","event":"Product Viewed","context":{"ip":"not-an-ip"}})",
           "192.0.2.1");
  ASSERT_EQ(sent.status, 200) << sent.body;
  EXPECT_EQ(Trait("u2", "geo_country"), "");
  EXPECT_EQ(EventCountry("u2"), "/");
  EXPECT_EQ(FirstEventPosition("u2"), ",,");
  // A device's own position is kept over the address's.
  sent = Send(api, writer_,
              R"({"userId":"u3","event":"Product Viewed","context":{"ip":"2.136.10.20",)"
              R"("location":{"latitude":40.45,"longitude":-3.69}}})",
              "192.0.2.1");
  ASSERT_EQ(sent.status, 200) << sent.body;
  EXPECT_EQ(FirstEventPosition("u3"), "40.45,-3.69,");
}

TEST_F(GeoCollectTest, BrowserRequestsAreLocatedByTheirAddressServerRequestsAreNot) {
  server::Api api(*service_, *keys_, {});
  const std::map<std::string, std::string> origin = {{"origin", "https://shop.example"}};
  // A website key: the request comes from the visitor's browser.
  auto sent = Send(api, site_, R"({"userId":"b1","event":"Product Viewed"})", "81.2.69.10", origin);
  ASSERT_EQ(sent.status, 200) << sent.body;
  EXPECT_EQ(Trait("b1", "geo_city"), "London");
  // A secret key: the request comes from the customer's backend, whose address says nothing.
  sent = Send(api, writer_, R"({"userId":"s1","event":"Product Viewed"})", "81.2.69.10");
  ASSERT_EQ(sent.status, 200) << sent.body;
  EXPECT_EQ(Trait("s1", "geo_city"), "");
  // X-Forwarded-For is ignored unless the server is told it sits behind a proxy.
  sent = Send(api, site_, R"({"userId":"b2","event":"Product Viewed"})", "10.0.0.7",
              {{"origin", "https://shop.example"}, {"x-forwarded-for", "2.136.0.9, 10.0.0.7"}});
  ASSERT_EQ(sent.status, 200) << sent.body;
  EXPECT_EQ(Trait("b2", "geo_city"), "");
  server::ApiOptions behind_proxy;
  behind_proxy.trust_forwarded_for = true;
  server::Api proxied(*service_, *keys_, behind_proxy);
  sent = Send(proxied, site_, R"({"userId":"b3","event":"Product Viewed"})", "10.0.0.7",
              {{"origin", "https://shop.example"}, {"x-forwarded-for", " 2.136.0.9 , 10.0.0.7"}});
  ASSERT_EQ(sent.status, 200) << sent.body;
  EXPECT_EQ(Trait("b3", "geo_city"), "Madrid");
}

// --- tailor --config FILE serve -------------------------------------------------------------

TEST(ServeConfig, SettingsComeFromTheTomlFileAndFlagsWin) {
  TempDir dir;
  const std::string port_file = dir.File("port");
  const std::string config =
      dir.Write("tailor.toml", fmt::format(R"(# tailor serve settings
data-dir = "{}"

[serve]
listen = "127.0.0.1:0"
port-file = "{}"
no-auth = true
evaluate-every = 0
geoip-database = "{}"
allow-event-type = ["product_view", "order_completed"]
max-batch-bytes = 4096
)",
                                           dir.File("data"), port_file, TAILOR_GEO_TEST_DB));
  const pid_t server = fork();
  if (server == 0) {
    const std::string log = dir.File("serve.log");
    freopen(log.c_str(), "a", stdout);
    freopen(log.c_str(), "a", stderr);
    // A flag given beside the file wins over the file's value.
    execl(TAILOR_CLI, TAILOR_CLI, "--config", config.c_str(), "serve", "--max-batch-bytes", "8192",
          nullptr);
    _exit(127);
  }
  uint16_t port = 0;
  for (int i = 0; i < 600 && port == 0; ++i) {
    std::ifstream in(port_file);
    int value = 0;
    if (in >> value && value > 0) port = static_cast<uint16_t>(value);
    if (port == 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_NE(port, 0) << "server did not start; log:\n"
                     << [&] {
                          std::ifstream in(dir.File("serve.log"));
                          return std::string(std::istreambuf_iterator<char>(in), {});
                        }();
  HttpClient http(port);
  // No key needed (no-auth), the event located (geoip-database), and the allow-list applied.
  auto reply = http.Send("POST", "/v1/batch",
                         R"({"batch":[{"type":"track","userId":"c1","event":"Product Viewed",)"
                         R"("context":{"ip":"89.160.20.7"}},)"
                         R"({"type":"track","userId":"c1","event":"Coupon Entered"}]})");
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 200) << reply->body;
  EXPECT_NE(reply->body.find(R"("accepted":1)"), std::string::npos) << reply->body;
  EXPECT_NE(reply->body.find("event type 'coupon_entered' is not allowed"), std::string::npos)
      << reply->body;
  reply = http.Send("GET", "/v1/profiles/c1");
  ASSERT_TRUE(reply.has_value());
  EXPECT_NE(reply->body.find(R"("geo_city":"Linköping")"), std::string::npos) << reply->body;
  // max-batch-bytes: the flag's 8192, not the file's 4096.
  const auto padded = [](size_t bytes) {
    return R"({"batch":[],"pad":")" + std::string(bytes, 'x') + "\"}";
  };
  reply = http.Send("POST", "/v1/batch", padded(5000));
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 200) << reply->body;
  reply = http.Send("POST", "/v1/batch", padded(9000));
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 413) << reply->body;
  ASSERT_EQ(kill(server, SIGTERM), 0);
  int status = 0;
  waitpid(server, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(ServeConfig, AMissingOrBrokenFileIsAnError) {
  TempDir dir;
  // `timeout`: were the file ignored, the server would run.
  const std::string command = "timeout 20 " + std::string(TAILOR_CLI) + " --data-dir " +
                              dir.File("data") + " --config " + dir.File("missing.toml") +
                              " serve --listen 127.0.0.1:0 2>" + dir.File("err.txt");
  EXPECT_NE(std::system(command.c_str()), 0);
  const std::string broken = dir.Write("broken.toml", "[serve]\nno-such-option = 3\n");
  const std::string second = "timeout 20 " + std::string(TAILOR_CLI) + " --data-dir " +
                             dir.File("data") + " --config " + broken +
                             " serve --listen 127.0.0.1:0 2>" + dir.File("err2.txt");
  EXPECT_NE(std::system(second.c_str()), 0);
  std::ifstream in(dir.File("err2.txt"));
  const std::string error(std::istreambuf_iterator<char>(in), {});
  EXPECT_NE(error.find("no-such-option"), std::string::npos) << error;
}

}  // namespace
}  // namespace tailor

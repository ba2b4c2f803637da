// The HTTP API: every route is in the OpenAPI document; keys, scopes, public origins, rate
// limits and body limits are enforced; errors are JSON with the right status; collection,
// profiles, segments and the change feed work through the API (in process, and over a socket).

#include "tailor/server.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <simdjson.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <csignal>
#include <set>
#include <thread>

#include "api_test_util.h"
#include "tailor/json_writer.h"
#include "test_util.h"

namespace tailor::server {
namespace {

using ::tailor::testing::TempDir;

constexpr Timestamp kNow = 1'800'000'000'000;  // 2027-01-15T08:00:00Z

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServiceOptions options;
    options.clock = [] { return kNow; };
    auto service = Service::Open(dir_.path(), options);
    ASSERT_TRUE(service.ok()) << service.status().ToString();
    service_ = std::move(service).value();
    keys_ = std::make_unique<access::KeyStore>(service_->engine().store());
    ASSERT_OK(keys_->Load());
    admin_ = MakeKey("admin", {access::Scope::kAdmin});
    reader_ = MakeKey("reader", {access::Scope::kRead});
    site_ = ::tailor::testing::CreateSiteKey(*keys_);
    api_ = std::make_unique<Api>(*service_, *keys_, ApiOptions{});
  }

  std::string MakeKey(std::string name, std::vector<access::Scope> scopes, double rate = 0) {
    return ::tailor::testing::CreateKey(*keys_, std::move(name), std::move(scopes), rate);
  }

  Response Call(std::string method, std::string target, std::string body = "", std::string key = "",
                std::map<std::string, std::string> headers = {}) {
    Request request;
    request.method = std::move(method);
    request.target = std::move(target);
    request.body = std::move(body);
    request.headers = std::move(headers);
    if (!key.empty()) request.headers["authorization"] = "Bearer " + key;
    return api_->Handle(request);
  }
  Response Admin(std::string method, std::string target, std::string body = "") {
    return Call(std::move(method), std::move(target), std::move(body), admin_);
  }

  static simdjson::dom::element Json(simdjson::dom::parser& parser, const Response& response) {
    simdjson::dom::element element;
    EXPECT_EQ(parser.parse(response.body).get(element), simdjson::SUCCESS) << response.body;
    return element;
  }

  TempDir dir_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<access::KeyStore> keys_;
  std::unique_ptr<Api> api_;
  std::string admin_, reader_, site_;
};

TEST_F(ApiTest, EveryRouteIsInTheOpenApiDocument) {
  simdjson::dom::parser parser;
  simdjson::dom::element document;
  ASSERT_EQ(parser.parse(std::string(OpenApiDocument())).get(document), simdjson::SUCCESS);
  simdjson::dom::object paths;
  ASSERT_EQ(document["paths"].get_object().get(paths), simdjson::SUCCESS);
  size_t described = 0;
  for (const Api::RouteInfo& route : api_->Routes()) {
    std::string method = route.method;
    for (char& c : method) c = static_cast<char>(std::tolower(c));
    simdjson::dom::element operation;
    EXPECT_EQ(paths[route.path][method].get(operation), simdjson::SUCCESS)
        << route.method << " " << route.path << " is not in docs/openapi.json";
    ++described;
  }
  // And nothing documented that does not exist.
  size_t documented = 0;
  for (auto path : paths) {
    simdjson::dom::object operations;
    ASSERT_EQ(path.value.get_object().get(operations), simdjson::SUCCESS);
    for (auto operation : operations) {
      const std::string_view method = operation.key;
      if (method == "get" || method == "post" || method == "put" || method == "delete") {
        ++documented;
      }
    }
  }
  EXPECT_EQ(documented, described);
  EXPECT_GT(described, 40u);
}

TEST_F(ApiTest, KeysScopesAndOrigins) {
  EXPECT_EQ(Call("GET", "/v1/segments").status, 401);
  EXPECT_EQ(Call("GET", "/v1/segments", "", "tk_nothere_000").status, 401);
  EXPECT_EQ(Call("GET", "/v1/segments", "", reader_).status, 200);
  // A read key cannot write or delete.
  EXPECT_EQ(Call("POST", "/v1/track", R"({"userId":"u","event":"x"})", reader_).status, 403);
  EXPECT_EQ(Call("DELETE", "/v1/profiles/u", "", reader_).status, 403);
  // The public key sends events only, only from its origin.
  const std::string event = R"({"userId":"u1","event":"Product Viewed","messageId":"m1"})";
  EXPECT_EQ(Call("POST", "/v1/track", event, site_, {{"origin", "https://evil.example"}}).status,
            403);
  EXPECT_EQ(Call("POST", "/v1/track", event, site_).status, 403);  // no origin at all
  Response sent = Call("POST", "/v1/track", event, site_, {{"origin", "https://shop.example"}});
  EXPECT_EQ(sent.status, 200) << sent.body;
  bool cors = false;
  for (const auto& [name, value] : sent.headers) {
    cors = cors || (name == "Access-Control-Allow-Origin" && value == "https://shop.example");
  }
  EXPECT_TRUE(cors);
  EXPECT_EQ(Call("PUT", "/v1/profiles/u1", R"({"traits":{"a":1}})", site_,
                 {{"origin", "https://shop.example"}})
                .status,
            403);
  EXPECT_EQ(Call("GET", "/v1/profiles/u1", "", site_, {{"origin", "https://shop.example"}}).status,
            403);
  // Segment's libraries send the write key as the Basic user name; beacons put it in the body.
  Request basic;
  basic.method = "POST";
  basic.target = "/v1/track";
  basic.body = R"({"userId":"u2","event":"Signed Up","messageId":"m2"})";
  const std::string writer = MakeKey("writer", {access::Scope::kWrite});
  std::string encoded(4 * ((writer.size() + 1 + 2) / 3), '\0');
  const std::string plain = writer + ":";
  EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                  reinterpret_cast<const unsigned char*>(plain.data()),
                  static_cast<int>(plain.size()));
  basic.headers["authorization"] = "Basic " + encoded;
  EXPECT_EQ(api_->Handle(basic).status, 200);
  EXPECT_EQ(Call("POST", "/v1/batch",
                 R"({"writeKey":")" + writer +
                     R"(","batch":[{"type":"track","userId":"u3","event":"e","messageId":"m3"}]})")
                .status,
            200);
  // A revoked key stops working.
  const std::string id = writer.substr(3, writer.find('_', 3) - 3);
  ASSERT_OK(keys_->Revoke(id));
  EXPECT_EQ(Call("GET", "/v1/segments", "", writer).status, 401);
}

TEST_F(ApiTest, RateLimitAnswers429WithRetryAfter) {
  const std::string limited = MakeKey("limited", {access::Scope::kRead}, 2);
  int ok = 0, limited_count = 0;
  std::string retry_after;
  for (int i = 0; i < 6; ++i) {
    Response response = Call("GET", "/v1/segments", "", limited);
    if (response.status == 200) ++ok;
    if (response.status == 429) {
      ++limited_count;
      for (const auto& [name, value] : response.headers) {
        if (name == "Retry-After") retry_after = value;
      }
    }
  }
  EXPECT_EQ(ok, 2);
  EXPECT_EQ(limited_count, 4);
  EXPECT_EQ(retry_after, "1");
}

TEST_F(ApiTest, ErrorsAreJsonWithStatusAndPath) {
  simdjson::dom::parser parser;
  Response missing = Admin("GET", "/v1/nothing");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(std::string_view(Json(parser, missing)["error"]["code"]), "NOT_FOUND");
  Response wrong_method = Admin("PATCH", "/v1/segments");
  EXPECT_EQ(wrong_method.status, 405);
  std::string allow;
  for (const auto& [name, value] : wrong_method.headers) {
    if (name == "Allow") allow = value;
  }
  EXPECT_EQ(allow, "GET, POST, OPTIONS");
  // A refusal on a single-message route names the field, not a batch position.
  Response bad_price =
      Admin("POST", "/v1/track", R"({"anonymousId":"a-1","event":"x","properties":{"price":"?"}})");
  EXPECT_EQ(bad_price.status, 400) << bad_price.body;  // nothing accepted
  EXPECT_EQ(std::string_view(Json(parser, bad_price)["errors"].at(0)["path"]), "properties.price");
  EXPECT_EQ(Admin("GET", "/v1/profiles/nobody").status, 404);
  Response malformed = Admin("POST", "/v1/batch", "{\"batch\": [");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_NE(malformed.body.find("byte"), std::string::npos) << malformed.body;
  Response too_big = Admin("POST", "/v1/batch", std::string(600 * 1024, ' '));
  EXPECT_EQ(too_big.status, 413);
  std::string deep(40, '[');
  deep += std::string(40, ']');
  EXPECT_EQ(Admin("POST", "/v1/segments", deep).status, 400);
  Response bad_rule = Admin("POST", "/v1/segments", R"({"name":"x","rule":"age >"})");
  EXPECT_EQ(bad_rule.status, 400);
  EXPECT_NE(bad_rule.body.find("1:"), std::string::npos) << bad_rule.body;
  Response unknown_field =
      Admin("POST", "/v1/segments", R"({"name":"x","rule":"age > 1","colour":"red"})");
  EXPECT_EQ(unknown_field.status, 400);
  EXPECT_EQ(std::string_view(Json(parser, unknown_field)["error"]["message"]).substr(0, 8),
            "$.colour");
  Response unknown_profile_field = Admin("PUT", "/v1/profiles/x", R"({"traits":{},"trait":{}})");
  EXPECT_EQ(unknown_profile_field.status, 400);
  EXPECT_EQ(std::string_view(Json(parser, unknown_profile_field)["error"]["path"]), "$.trait");
  // A batch with one bad message stores the others and says which failed.
  Response partial = Admin("POST", "/v1/batch", R"({"batch":[
      {"type":"track","userId":"u","event":"ok","messageId":"a"},
      {"type":"track","event":"no owner","messageId":"b"},
      {"type":"track","userId":"u","event":"ok too","messageId":"c"}]})");
  EXPECT_EQ(partial.status, 200);
  auto report = Json(parser, partial);
  EXPECT_EQ(uint64_t(report["accepted"]), 2u);
  EXPECT_EQ(uint64_t(report["errors"].at(0)["index"]), 1u);
}

TEST_F(ApiTest, GzipBodiesAreInflatedWithinTheLimit) {
  auto gzip = [](const std::string& text) {
    z_stream stream{};
    deflateInit2(&stream, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
    std::string out(deflateBound(&stream, text.size()) + 32, '\0');
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
    stream.avail_in = static_cast<uInt>(text.size());
    stream.next_out = reinterpret_cast<Bytef*>(out.data());
    stream.avail_out = static_cast<uInt>(out.size());
    deflate(&stream, Z_FINISH);
    out.resize(stream.total_out);
    deflateEnd(&stream);
    return out;
  };
  const std::map<std::string, std::string> gzipped = {{"content-encoding", "gzip"}};
  Response ok =
      Call("POST", "/v1/track", gzip(R"({"userId":"g","event":"Product Viewed","messageId":"z1"})"),
           admin_, gzipped);
  EXPECT_EQ(ok.status, 200) << ok.body;
  // A small body that expands past the limit is refused, not inflated.
  Response bomb =
      Call("POST", "/v1/track", gzip(std::string(2 * 1024 * 1024, ' ')), admin_, gzipped);
  EXPECT_EQ(bomb.status, 413);
  EXPECT_EQ(Call("POST", "/v1/track", "not gzip", admin_, gzipped).status, 400);
}

TEST_F(ApiTest, SegmentsProfilesAndTheChangeFeedThroughTheApi) {
  simdjson::dom::parser parser;
  for (int i = 0; i < 30; ++i) {
    Response put = Admin("PUT", "/v1/profiles/c" + std::to_string(i),
                         R"({"traits":{"age":)" + std::to_string(20 + i) + "}}");
    ASSERT_EQ(put.status, 200) << put.body;
  }
  Response created = Admin("POST", "/v1/segments",
                           R"({"name":"over_40","rule":"age > 40","objective":"engage",
                               "channels":["email"],"exclude":"age > 48"})");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(uint64_t(Json(parser, created)["size"]), 8u);  // 41..48
  EXPECT_EQ(Admin("POST", "/v1/segments", R"({"name":"over_40","rule":"age > 1"})").status, 409);
  // Members, paged.
  Response page = Admin("GET", "/v1/segments/over_40/members?limit=5");
  auto first = Json(parser, page);
  EXPECT_EQ(first["members"].get_array().size(), 5u);
  const std::string cursor{std::string_view(first["next_cursor"])};
  Response rest = Admin("GET", "/v1/segments/over_40/members?limit=5&cursor=" + cursor);
  EXPECT_EQ(Json(parser, rest)["members"].get_array().size(), 3u);
  // Membership follows a trait change at once, and the change is in the feed.
  const uint64_t before = service_->last_sequence();
  ASSERT_EQ(Admin("PUT", "/v1/profiles/c0", R"({"traits":{"age":45}})").status, 200);
  Response member = Admin("GET", "/v1/segments/over_40/members/c0");
  EXPECT_TRUE(bool(Json(parser, member)["member"]));
  Response changes = Admin("GET", "/v1/changes?after=" + std::to_string(before));
  auto feed = Json(parser, changes);
  ASSERT_EQ(feed["changes"].get_array().size(), 1u);
  EXPECT_EQ(std::string_view(feed["changes"].at(0)["profile"]), "c0");
  EXPECT_EQ(std::string_view(feed["changes"].at(0)["change"]), "entered");
  // null clears a trait: the member leaves at once, the exit is fed, and the profile lacks it.
  ASSERT_EQ(Admin("PUT", "/v1/profiles/c1", R"({"traits":{"age":44,"plan":"pro"}})").status, 200);
  EXPECT_TRUE(bool(Json(parser, Admin("GET", "/v1/segments/over_40/members/c1"))["member"]));
  const uint64_t before_clear = service_->last_sequence();
  ASSERT_EQ(Admin("PUT", "/v1/profiles/c1", R"({"traits":{"age":null}})").status, 200);
  EXPECT_FALSE(bool(Json(parser, Admin("GET", "/v1/segments/over_40/members/c1"))["member"]));
  auto cleared_feed =
      Json(parser, Admin("GET", "/v1/changes?after=" + std::to_string(before_clear)));
  ASSERT_EQ(cleared_feed["changes"].get_array().size(), 1u);
  EXPECT_EQ(std::string_view(cleared_feed["changes"].at(0)["change"]), "exited");
  Response cleared = Admin("GET", "/v1/profiles/c1");
  EXPECT_EQ(cleared.body.find("\"age\""), std::string::npos) << cleared.body;
  EXPECT_NE(cleared.body.find("\"plan\""), std::string::npos) << cleared.body;
  Response preview_cleared =
      Admin("POST", "/v1/segments/preview?max_age_ms=0", R"({"rule":"age > 0"})");
  EXPECT_EQ(uint64_t(Json(parser, preview_cleared)["size"]), 29u);
  ASSERT_EQ(Admin("PUT", "/v1/profiles/c1", R"({"traits":{"age":21}})").status, 200);
  // Explain, overlap, preview, history.
  auto explained = Json(parser, Admin("GET", "/v1/segments/over_40/explain/c0"));
  EXPECT_TRUE(bool(explained["member"]));
  EXPECT_TRUE(bool(explained["rule"]["matched"]));
  EXPECT_FALSE(bool(explained["exclude"]["matched"]));
  // Matched by the rule (age 49 > 40) but out by the exclusions (age > 48).
  explained = Json(parser, Admin("GET", "/v1/segments/over_40/explain/c29"));
  EXPECT_FALSE(bool(explained["member"]));
  EXPECT_TRUE(bool(explained["rule"]["matched"]));
  EXPECT_TRUE(bool(explained["exclude"]["matched"]));
  EXPECT_EQ(std::string_view(explained["exclude"]["seen"]), "49");
  // A profile's segments, under its own id.
  auto segments_of = Json(parser, Admin("GET", "/v1/profiles/c0/segments"));
  EXPECT_EQ(std::string_view(segments_of["id"]), "c0");
  EXPECT_EQ(std::string_view(segments_of["segments"].at(0)), "over_40");
  Response overlap = Admin("POST", "/v1/segments/overlap", R"({"segments":["over_40","over_40"]})");
  EXPECT_EQ(uint64_t(Json(parser, overlap)["overlap"].at(0).at(1)), 9u);
  // max_age_ms=0: the snapshot holds the write just made (the default accepts one a second old).
  Response preview = Admin("POST", "/v1/segments/preview?max_age_ms=0", R"({"rule":"age < 25"})");
  EXPECT_EQ(uint64_t(Json(parser, preview)["size"]), 4u);  // 21..24 (c0 is 45 now)
  EXPECT_EQ(
      Json(parser, Admin("GET", "/v1/segments/over_40/history"))["history"].get_array().size(), 1u);
  // Profile read, export and delete (right to be forgotten) with the exit fed.
  Response profile = Admin("GET", "/v1/profiles/c0");
  EXPECT_EQ(std::string_view(Json(parser, profile)["segments"].at(0)), "over_40");
  EXPECT_EQ(Admin("GET", "/v1/profiles/c0/export").status, 200);
  EXPECT_EQ(Admin("DELETE", "/v1/profiles/c0").status, 200);
  EXPECT_EQ(Admin("GET", "/v1/profiles/c0").status, 404);
  feed = Json(parser, Admin("GET", "/v1/changes?after=" + std::to_string(before)));
  EXPECT_EQ(feed["changes"].get_array().size(), 4u);  // c0 in, c1 in and out, c0 out
  // Schemes: each profile in its first member.
  ASSERT_EQ(Admin("POST", "/v1/segments", R"({"name":"over_30","rule":"age > 30"})").status, 201);
  ASSERT_EQ(
      Admin("PUT", "/v1/schemes/tiers", R"({"members":["over_40","over_30"],"otherwise":true})")
          .status,
      200);
  auto scheme = Json(parser, Admin("GET", "/v1/schemes/tiers"));
  EXPECT_EQ(uint64_t(scheme["members"].at(0)["count"]), 8u);
  // 31..40 and 49 (over 30, and out of over_40 by its exclusion)
  EXPECT_EQ(uint64_t(scheme["members"].at(1)["count"]), 11u);
  EXPECT_EQ(uint64_t(scheme["duplicates_avoided"]), 8u);
}

TEST_F(ApiTest, RfmScoresCustomersAndMakesItsScheme) {
  // Bad options are refused at their field, before anything runs.
  Response bad = Admin("POST", "/v1/analytics/rfm", R"({"bogus": 1})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("$.bogus"), std::string::npos) << bad.body;
  bad = Admin("POST", "/v1/analytics/rfm", R"({"recency_edges": [365, 180, 90, 30]})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("ascending"), std::string::npos) << bad.body;
  // Two customers: one bought twice this week, one once a year ago; a browser is none.
  const std::string batch = R"({"batch": [
    {"type": "track", "userId": "ann", "event": "Order Completed", "messageId": "r1",
     "timestamp": "2026-10-30T10:00:00Z", "properties": {"order_id": "a1", "revenue": 120}},
    {"type": "track", "userId": "ann", "event": "Order Completed", "messageId": "r2",
     "timestamp": "2026-10-31T10:00:00Z", "properties": {"order_id": "a2", "revenue": 80}},
    {"type": "track", "userId": "bob", "event": "Order Completed", "messageId": "r3",
     "timestamp": "2025-10-31T10:00:00Z", "properties": {"order_id": "b1", "revenue": 15}},
    {"type": "page", "userId": "cid", "messageId": "r4", "timestamp": "2026-10-31T10:00:00Z"}]})";
  ASSERT_EQ(Admin("POST", "/v1/batch", batch).status, 200);
  Response scored = Admin("POST", "/v1/analytics/rfm",
                          R"({"now": "2026-11-01T00:00:00Z", "recency_edges": [30, 90, 180, 365],
                              "frequency_edges": [2, 3, 5, 10], "monetary_edges": [50, 100, 150, 500]})");
  ASSERT_EQ(scored.status, 200) << scored.body;
  simdjson::dom::parser parser;
  simdjson::dom::element answer = Json(parser, scored);
  EXPECT_EQ(uint64_t(answer["customers"]), 2u);
  EXPECT_EQ(uint64_t(answer["profiles_written"]), 2u);
  EXPECT_TRUE(bool(answer["scheme_created"]));
  // ann: 1 day, 2 orders, 200 -> R5 F2 M5: potential_loyalists; bob: 366 days, 1 order -> R1 F1.
  EXPECT_EQ(uint64_t(answer["segments"]["potential_loyalists"]), 1u);
  EXPECT_EQ(uint64_t(answer["segments"]["hibernating"]), 1u);
  Response ann = Admin("GET", "/v1/profiles/ann");
  EXPECT_NE(ann.body.find(R"("rfm_segment":"potential_loyalists")"), std::string::npos) << ann.body;
  Response members = Admin("GET", "/v1/segments/rfm_hibernating/members");
  EXPECT_NE(members.body.find("bob"), std::string::npos) << members.body;
}

TEST_F(ApiTest, ProfileOfASegmentSaysWhatDistinguishesItsMembers) {
  std::string batch = R"({"batch": [)";
  for (int i = 0; i < 40; ++i) {
    // The first ten buy golf clubs, all forty buy socks.
    if (i > 0) batch += ",";
    batch += fmt::format(
        R"({{"type": "track", "userId": "g{0}", "event": "Order Completed", "messageId": "s{0}",
             "properties": {{"order_id": "s{0}", "products": [{{"product_id": "socks", "category": "socks", "price": 5, "quantity": 1}}{1}]}}}})",
        i,
        i < 10 ? R"(, {"product_id": "club", "category": "golf", "price": 99, "quantity": 1})"
               : "");
  }
  batch += "]}";
  ASSERT_EQ(Admin("POST", "/v1/batch", batch).status, 200);
  Response profile = Admin("POST", "/v1/analytics/profile",
                           R"({"rule": "count(purchase where category = \"golf\") >= 1"})");
  ASSERT_EQ(profile.status, 200) << profile.body;
  simdjson::dom::parser parser;
  simdjson::dom::element answer = Json(parser, profile);
  EXPECT_EQ(uint64_t(answer["size"]), 10u);
  EXPECT_GE(uint64_t(answer["others"]), 30u);
  bool golf = false;
  for (simdjson::dom::element finding : answer["categories"].get_array()) {
    if (std::string_view(finding["value"]) != "golf") continue;
    golf = true;
    EXPECT_EQ(uint64_t(finding["members"]), 10u);
    EXPECT_EQ(uint64_t(finding["others"]), 0u);
  }
  EXPECT_TRUE(golf) << profile.body;
  // Bad requests name what is wrong.
  Response bad = Admin("POST", "/v1/analytics/profile", R"({"segment": "no_such"})");
  EXPECT_EQ(bad.status, 404);
  EXPECT_NE(bad.body.find("$.segment"), std::string::npos) << bad.body;
  bad = Admin("POST", "/v1/analytics/profile", R"({"rule": "count(purchase >= 1"})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("$.rule"), std::string::npos) << bad.body;
  bad = Admin("POST", "/v1/analytics/profile", R"({"top": 0, "rule": "age > 1"})");
  EXPECT_EQ(bad.status, 400);
}

TEST_F(ApiTest, ClustersAndLookalikesOfTheLiveProfiles) {
  // Two groups of profiles far apart in spend and visits; the "big" ones are a saved segment.
  std::string batch = R"({"batch": [)";
  for (int i = 0; i < 60; ++i) {
    const bool big = i < 20;
    batch += fmt::format(R"({}{{"type": "identify", "userId": "u{}", "messageId": "t{}",
        "traits": {{"spend": {}, "visits": {}}}}})",
                         i > 0 ? "," : "", i, i, (big ? 1000 : 10) + i, (big ? 40 : 2) + i % 3);
  }
  batch += "]}";
  ASSERT_EQ(Admin("POST", "/v1/batch", batch).status, 200);
  Response cluster = Admin("POST", "/v1/analytics/cluster",
                           R"({"traits": ["spend", "visits"], "k": 2, "save": "value"})");
  ASSERT_EQ(cluster.status, 200) << cluster.body;
  simdjson::dom::parser parser;
  simdjson::dom::element answer = Json(parser, cluster);
  EXPECT_EQ(uint64_t(answer["points"]), 60u);
  EXPECT_EQ(uint64_t(answer["profiles_written"]), 60u);
  std::vector<uint64_t> sizes;
  for (simdjson::dom::element size : answer["sizes"].get_array()) sizes.push_back(uint64_t(size));
  std::sort(sizes.begin(), sizes.end());
  EXPECT_EQ(sizes, (std::vector<uint64_t>{20, 40}));
  // The clusters are a live scheme whose segments hold them.
  Response scheme = Admin("GET", "/v1/schemes/value");
  ASSERT_EQ(scheme.status, 200) << scheme.body;
  EXPECT_NE(scheme.body.find("high_spend"), std::string::npos) << scheme.body;

  ASSERT_EQ(
      Admin("PUT", "/v1/segments/big", R"({"rule": "spend >= 1000 and spend < 1010"})").status,
      200);
  Response lookalike =
      Admin("POST", "/v1/analytics/lookalike",
            R"({"seed": "big", "traits": ["spend", "visits"], "top": 5, "save": "like_big"})");
  ASSERT_EQ(lookalike.status, 200) << lookalike.body;
  simdjson::dom::parser parser2;
  answer = Json(parser2, lookalike);
  EXPECT_EQ(uint64_t(answer["seed"]), 10u);
  // The lookalikes are the other big spenders (u10..u19), not the small ones.
  for (simdjson::dom::element found : answer["lookalikes"].get_array()) {
    const std::string id{std::string_view(found["id"])};
    const int n = std::stoi(id.substr(1));
    EXPECT_TRUE(n >= 10 && n < 20) << id;
  }
  Response members = Admin("GET", "/v1/segments/like_big/members");
  EXPECT_EQ(members.status, 200);
  // Bad requests name the field.
  Response bad = Admin("POST", "/v1/analytics/cluster", R"({"traits": ["nope"], "k": 2})");
  EXPECT_EQ(bad.status, 404);
  EXPECT_NE(bad.body.find("$.traits"), std::string::npos) << bad.body;
  bad = Admin("POST", "/v1/analytics/cluster", R"({"traits": ["spend"], "k": 500})");
  EXPECT_EQ(bad.status, 400) << bad.body;
  bad = Admin("POST", "/v1/analytics/cluster", R"({"traits": ["spend"], "choose_k": [2, 100000]})");
  EXPECT_EQ(bad.status, 400) << bad.body;
  bad = Admin("POST", "/v1/analytics/cluster", R"({"traits": ["spend"], "choose_k": [2, 5.5]})");
  EXPECT_EQ(bad.status, 400) << bad.body;
  bad = Admin("POST", "/v1/analytics/cluster",
              R"({"traits": ["spend", "visits"], "k": 2, "save": "q1-2025"})");
  EXPECT_EQ(bad.status, 400) << bad.body;
  bad = Admin("POST", "/v1/analytics/lookalike", R"({"seed": "nope", "traits": ["spend"]})");
  EXPECT_EQ(bad.status, 404);
  EXPECT_NE(bad.body.find("$.seed"), std::string::npos) << bad.body;
}

TEST_F(ApiTest, DriversAndPropensityOfALiveTarget) {
  // 200 profiles: "bought" is true exactly for the ones with many visits, whatever the plan.
  std::string batch = R"({"batch": [)";
  for (int i = 0; i < 200; ++i) {
    const int visits = i % 20;
    batch += fmt::format(R"({}{{"type": "identify", "userId": "p{}", "messageId": "d{}",
        "traits": {{"visits": {}, "plan": "{}", "bought": {}}}}})",
                         i > 0 ? "," : "", i, i, visits, i % 3 == 0 ? "pro" : "free",
                         visits >= 12 ? "true" : "false");
  }
  batch += "]}";
  ASSERT_EQ(Admin("POST", "/v1/batch", batch).status, 200);
  Response drivers = Admin("POST", "/v1/analytics/drivers",
                           R"({"target": "bought", "traits": ["plan", "visits"]})");
  ASSERT_EQ(drivers.status, 200) << drivers.body;
  simdjson::dom::parser parser;
  simdjson::dom::element answer = Json(parser, drivers);
  EXPECT_EQ(uint64_t(answer["rows"]), 200u);
  EXPECT_EQ(uint64_t(answer["positives"]), 80u);
  EXPECT_EQ(std::string_view(answer["drivers"].at(0)["feature"]), "visits");
  EXPECT_EQ(std::string_view(answer["drivers"].at(1)["feature"]), "plan");
  EXPECT_LT(double(answer["drivers"].at(1)["information_value"]), 0.02);  // plan: no relation

  Response propensity = Admin("POST", "/v1/analytics/propensity",
                              R"({"target": "bought", "traits": ["plan", "visits"], "folds": 4,
                                  "save": "buyer", "top_share": 0.4})");
  ASSERT_EQ(propensity.status, 200) << propensity.body;
  simdjson::dom::parser parser2;
  answer = Json(parser2, propensity);
  for (simdjson::dom::element model : answer["models"].get_array()) {
    EXPECT_GT(double(model["auroc"]), 0.99) << propensity.body;
  }
  EXPECT_EQ(uint64_t(answer["saved"]["profiles_written"]), 200u);
  // The score is a trait rules read; the segment of the most likely is the 80 buyers.
  Response members = Admin("GET", "/v1/segments/buyer");
  ASSERT_EQ(members.status, 200) << members.body;
  Response count = Admin("POST", "/v1/segments/preview", R"({"rule": "buyer_score >= 0.5"})");
  ASSERT_EQ(count.status, 200) << count.body;
  simdjson::dom::parser parser3;
  EXPECT_EQ(uint64_t(Json(parser3, count)["size"]), 80u) << count.body;

  // Bad requests say what is wrong.
  Response bad = Admin("POST", "/v1/analytics/propensity", R"({"target": "bought"})");
  EXPECT_EQ(bad.status, 400) << bad.body;
  bad = Admin("POST", "/v1/analytics/propensity", R"({"target": "bought", "traits": ["nope"]})");
  EXPECT_EQ(bad.status, 404) << bad.body;
  EXPECT_NE(bad.body.find("nope"), std::string::npos) << bad.body;
  bad = Admin("POST", "/v1/analytics/propensity", R"({"target": "plan", "traits": ["visits"]})");
  EXPECT_EQ(bad.status, 400) << bad.body;
  bad = Admin("POST", "/v1/analytics/drivers", R"({"target": "visits", "traits": ["plan"],
                                                   "folds": 3})");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_NE(bad.body.find("$.folds"), std::string::npos) << bad.body;
  bad = Admin("POST", "/v1/analytics/propensity",
              R"({"target": "bought", "traits": ["visits"], "models": ["forest"]})");
  EXPECT_EQ(bad.status, 400) << bad.body;
  // Lifetime value needs purchases; its fields are checked.
  bad = Admin("POST", "/v1/analytics/clv", R"({"horizon_days": 90})");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_NE(bad.body.find("purchase"), std::string::npos) << bad.body;
  bad = Admin("POST", "/v1/analytics/clv", R"({"horizon": 90})");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_NE(bad.body.find("$.horizon"), std::string::npos) << bad.body;
  // Past its timeout a run stops with nothing written.
  bad = Admin("POST", "/v1/analytics/propensity",
              R"({"target": "bought", "traits": ["visits"], "save": "late",
                  "timeout_seconds": 1e-9})");
  EXPECT_EQ(bad.status, 503) << bad.body;
  EXPECT_NE(bad.body.find("CANCELLED"), std::string::npos) << bad.body;
  EXPECT_EQ(Admin("GET", "/v1/segments/late").status, 404);
  bad = Admin("POST", "/v1/analytics/propensity",
              R"({"target": "bought", "traits": ["visits"], "timeout_seconds": 0})");
  EXPECT_EQ(bad.status, 400) << bad.body;
  // A target with one class only.
  ASSERT_EQ(Admin("POST", "/v1/identify", R"({"userId": "p0", "traits": {"never": 0}})").status,
            200);
  bad = Admin("POST", "/v1/analytics/drivers", R"({"target": "never", "traits": ["visits"]})");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_NE(bad.body.find("one class"), std::string::npos) << bad.body;
}

// Signals of collected events: the touch of a search visit, affinities, a session; as of a time.
TEST_F(ApiTest, SignalsOfCollectedEvents) {
  const std::string batch = R"({"batch": [
    {"type": "page", "userId": "sig", "messageId": "s1", "timestamp": "2026-03-02T10:00:00Z",
     "properties": {"url": "https://shop.example/c/golf", "category": "golf"},
     "context": {"page": {"referrer": "https://www.google.com/search?q=golf"}}},
    {"type": "track", "userId": "sig", "messageId": "s2", "event": "Product Viewed",
     "timestamp": "2026-03-02T10:05:00Z",
     "properties": {"product_id": "club-1", "category": "golf", "price": 120, "brand": "Titleist"}},
    {"type": "track", "userId": "sig", "messageId": "s3", "event": "Product Viewed",
     "timestamp": "2026-03-02T10:07:00Z",
     "properties": {"product_id": "racket-1", "category": "tennis", "price": 40}}]})";
  ASSERT_EQ(Admin("POST", "/v1/batch", batch).status, 200);
  Response signals = Admin("GET", "/v1/profiles/sig/signals?now=2026-03-02T10:10:00Z");
  ASSERT_EQ(signals.status, 200) << signals.body;
  simdjson::dom::parser parser;
  simdjson::dom::element s = Json(parser, signals)["signals"];
  EXPECT_EQ(std::string_view(s["acquisition"]["first_touch"]["source"]), "google");
  EXPECT_EQ(std::string_view(s["acquisition"]["first_touch"]["referrer_class"]), "search");
  EXPECT_EQ(std::string_view(s["affinity"]["category"].at(0)["value"]), "golf");
  EXPECT_EQ(std::string_view(s["affinity"]["brand"].at(0)["value"]), "Titleist");
  EXPECT_EQ(uint64_t(s["sessions"]["count"]), 1u);
  EXPECT_TRUE(bool(s["sessions"]["active_now"]));
  EXPECT_NEAR(double(s["sessions"]["mean_minutes"]), 7.0, 1e-9);
  EXPECT_EQ(Admin("GET", "/v1/profiles/nobody/signals").status, 404);
  EXPECT_EQ(Admin("GET", "/v1/profiles/sig/signals?now=yesterday").status, 400);
}

// "If you don't know, ask": a survey's answer is a trait at once (live membership follows within
// the request), bad answers store nothing, the next question is the unknown trait most segments
// read, under a cap; the report counts shown and answered per channel.
TEST_F(ApiTest, SurveyAnswersChangeLiveMembershipAndTheNextQuestionIsTheOneWorthAsking) {
  Response created = Admin("PUT", "/v1/surveys/golf", R"({"title": "Your game",
      "channels": ["web", "email"],
      "questions": [
        {"id": "level", "text": "How would you rate your golf?", "kind": "single",
         "choices": ["beginner", "intermediate", "advanced"], "trait": "golf_level"},
        {"id": "rounds", "text": "Rounds a month?", "kind": "scale", "min": 0, "max": 30,
         "trait": "golf_rounds"},
        {"id": "gear", "text": "What do you own?", "kind": "multiple",
         "choices": ["driver", "irons", "putter"], "trait": "golf_gear"}]})");
  ASSERT_EQ(created.status, 200) << created.body;
  ASSERT_EQ(Admin("PUT", "/v1/profiles/jeff", R"({"traits": {"age": 41}})").status, 200);
  ASSERT_EQ(Admin("POST", "/v1/segments",
                  R"({"name": "intermediate_golfers", "rule": "golf_level = \"intermediate\""})")
                .status,
            201);
  ASSERT_EQ(Admin("POST", "/v1/segments",
                  R"({"name": "keen_golfers", "rule": "golf_rounds >= 4 and golf_level exists"})")
                .status,
            201);
  simdjson::dom::parser parser;
  // The next question may take long: the transport runs it off the io threads; short reads not.
  EXPECT_TRUE(api_->TakesLong({"GET", "/v1/profiles/jeff/next-question?channel=web", {}, "", ""}));
  EXPECT_FALSE(api_->TakesLong({"GET", "/v1/profiles/jeff/intent", {}, "", ""}));
  EXPECT_FALSE(api_->TakesLong({"POST", "/v1/profiles/jeff/next-question", {}, "", ""}));
  // golf_level is read by two segments, golf_rounds by one, golf_gear by none: ask the level.
  Response first_next = Admin("GET", "/v1/profiles/jeff/next-question?channel=web");
  ASSERT_EQ(first_next.status, 200) << first_next.body;
  auto next = Json(parser, first_next);
  EXPECT_EQ(std::string_view(next["question"]["id"]), "level") << first_next.body;
  EXPECT_EQ(uint64_t(next["question"]["segments_reading"]), 2u);
  ASSERT_EQ(Admin("POST", "/v1/surveys/golf/shown",
                  R"({"profile": "jeff", "question": "level", "channel": "web"})")
                .status,
            200);

  // Bad answers: named, nothing stored.
  Response bad = Admin("POST", "/v1/surveys/golf/answers",
                       R"({"profile": "jeff", "question": "level", "answer": "expert"})");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_NE(bad.body.find("$.answer"), std::string::npos) << bad.body;
  EXPECT_NE(bad.body.find("beginner, intermediate, advanced"), std::string::npos) << bad.body;
  bad = Admin("POST", "/v1/surveys/golf/answers",
              R"({"profile": "jeff", "question": "rounds", "answer": 99})");
  EXPECT_EQ(bad.status, 400) << bad.body;
  bad = Admin("POST", "/v1/surveys/golf/answers",
              R"({"profile": "jeff", "question": "gear", "answer": ["driver", "driver"]})");
  EXPECT_EQ(bad.status, 400) << bad.body;
  bad = Admin("POST", "/v1/surveys/golf/answers",
              R"({"profile": "jeff", "question": "nope", "answer": "x"})");
  EXPECT_EQ(bad.status, 404) << bad.body;
  EXPECT_EQ(Admin("POST", "/v1/surveys/none/answers",
                  R"({"profile": "jeff", "question": "level", "answer": "beginner"})")
                .status,
            404);
  EXPECT_EQ(Admin("POST", "/v1/surveys/golf/answers",
                  R"({"profile": "jeff", "question": "level", "answer": "beginner", "x": 1})")
                .status,
            400);
  // Not a channel the survey is shown on: refused at $.channel, nothing stored.
  bad = Admin("POST", "/v1/surveys/golf/answers",
              R"({"profile": "jeff", "question": "level", "answer": "beginner",
                  "channel": "sms"})");
  EXPECT_EQ(bad.status, 409) << bad.body;
  EXPECT_NE(bad.body.find("$.channel"), std::string::npos) << bad.body;
  Response profile = Admin("GET", "/v1/profiles/jeff");
  EXPECT_EQ(profile.body.find("golf_level"), std::string::npos) << profile.body;

  // The answer: a trait at once, and the live segment has him when the request returns.
  const auto started = std::chrono::steady_clock::now();
  Response answered = Admin("POST", "/v1/surveys/golf/answers",
                            R"({"profile": "jeff", "question": "level",
                                "answer": "intermediate", "channel": "web"})");
  ASSERT_EQ(answered.status, 200) << answered.body;
  EXPECT_TRUE(
      bool(Json(parser, Admin("GET", "/v1/segments/intermediate_golfers/members/jeff"))["member"]));
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(1));
  ASSERT_EQ(Admin("POST", "/v1/surveys/golf/answers",
                  R"({"profile": "jeff", "question": "gear", "answer": ["driver", "putter"],
                      "channel": "email"})")
                .status,
            200);
  // Next: the rounds (read by one segment), under the default cap of 3 questions per 30 days
  // (two put to him: level, shown and answered, counts once; gear); shown, it is not asked
  // again, and with a cap of 2 nothing is.
  Response later = Admin("GET", "/v1/profiles/jeff/next-question?channel=web");
  next = Json(parser, later);
  ASSERT_FALSE(next["question"].is_null()) << later.body;
  EXPECT_EQ(std::string_view(next["question"]["id"]), "rounds");
  next = Json(parser, Admin("GET", "/v1/profiles/jeff/next-question?channel=web&cap=2"));
  EXPECT_TRUE(next["question"].is_null());
  ASSERT_EQ(Admin("POST", "/v1/surveys/golf/shown",
                  R"({"profile": "jeff", "question": "rounds", "channel": "web"})")
                .status,
            200);
  next = Json(parser, Admin("GET", "/v1/profiles/jeff/next-question?channel=web&cap=10"));
  EXPECT_TRUE(next["question"].is_null());  // nothing left he was not asked
  // The report: level shown once, answered once (web); gear answered once (email).
  auto report = Json(parser, Admin("GET", "/v1/surveys/golf/report"));
  bool level_web = false, gear_email = false;
  for (simdjson::dom::element row : report["questions"].get_array()) {
    const std::string_view q = row["question"], channel = row["channel"];
    if (q == "level" && channel == "web") {
      level_web = true;
      EXPECT_EQ(uint64_t(row["shown"]), 1u);
      EXPECT_EQ(uint64_t(row["answered"]), 1u);
      EXPECT_DOUBLE_EQ(double(row["response_rate"]), 1.0);
    }
    if (q == "gear" && channel == "email") {
      gear_email = true;
      EXPECT_EQ(uint64_t(row["answered"]), 1u);
    }
  }
  EXPECT_TRUE(level_web && gear_email) << report;
  // A closed survey takes no answers; broken definitions are refused at their field.
  ASSERT_EQ(Admin("PUT", "/v1/surveys/golf",
                  R"({"open": false, "questions": [{"id": "level", "text": "?", "kind": "single",
                      "choices": ["a"], "trait": "golf_level"}]})")
                .status,
            200);
  EXPECT_EQ(Admin("POST", "/v1/surveys/golf/answers",
                  R"({"profile": "jeff", "question": "level", "answer": "a"})")
                .status,
            409);
  bad = Admin("PUT", "/v1/surveys/broken",
              R"({"questions": [{"id": "q", "text": "?", "kind": "single", "trait": "t"}]})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("$.questions[0].choices"), std::string::npos) << bad.body;
  // A survey whose trait exists with another type is refused; answers stay whole.
  bad = Admin("PUT", "/v1/surveys/ages", R"({"questions": [{"id": "a", "text": "?", "kind": "text",
              "trait": "age"}]})");
  EXPECT_EQ(bad.status, 409) << bad.body;
}

// Session intent of collected events with its evidence; intent rules replaced over the API, a
// broken file refused at line:column with the running rules kept.
TEST_F(ApiTest, SessionIntentWithItsEvidenceAndRulesAsData) {
  const std::string batch = R"({"batch": [
    {"type": "track", "userId": "shopper", "messageId": "i1", "event": "Product Viewed",
     "timestamp": "2026-03-02T10:00:00Z", "properties": {"product_id": "c1", "category": "golf"},
     "context": {"page": {"referrer": "https://www.idealo.de/preisvergleich/golf"}}},
    {"type": "track", "userId": "shopper", "messageId": "i2", "event": "Product Viewed",
     "timestamp": "2026-03-02T10:02:00Z", "properties": {"product_id": "c2", "category": "golf"}},
    {"type": "track", "userId": "shopper", "messageId": "i3", "event": "Products Searched",
     "timestamp": "2026-03-02T10:03:00Z", "properties": {"query": "driver"}}]})";
  ASSERT_EQ(Admin("POST", "/v1/batch", batch).status, 200);
  Response answer = Admin("GET", "/v1/profiles/shopper/intent?now=2026-03-02T10:05:00Z");
  ASSERT_EQ(answer.status, 200) << answer.body;
  simdjson::dom::parser parser;
  simdjson::dom::element intent = Json(parser, answer);
  EXPECT_EQ(std::string_view(intent["intent"]), "best_offer") << answer.body;
  EXPECT_EQ(std::string_view(intent["session"]["referrer_class"]), "price_comparison");
  EXPECT_EQ(int64_t(intent["session"]["product_views"]), 2);
  EXPECT_TRUE(bool(intent["evidence"]["matched"]));
  // An hour later the session is over.
  intent = Json(parser, Admin("GET", "/v1/profiles/shopper/intent?now=2026-03-02T11:05:00Z"));
  EXPECT_EQ(std::string_view(intent["intent"]), "unknown");

  // A broken file: refused at line:column, the rules in force stay.
  Response bad =
      Admin("PUT", "/v1/intent/rules", "concerns: searches >= 1\nbest_offer: serches > 0");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_NE(bad.body.find("2:13"), std::string::npos) << bad.body;
  auto rules = Json(parser, Admin("GET", "/v1/intent/rules"));
  EXPECT_EQ(rules["rules"].get_array().size(), 4u);
  // New rules take effect at once.
  ASSERT_EQ(
      Admin("PUT", "/v1/intent/rules", "# searching means doubts\nconcerns: searches >= 1").status,
      200);
  intent = Json(parser, Admin("GET", "/v1/profiles/shopper/intent?now=2026-03-02T10:05:00Z"));
  EXPECT_EQ(std::string_view(intent["intent"]), "concerns");
  EXPECT_EQ(int64_t(intent["rule_line"]), 2);
  EXPECT_EQ(Admin("GET", "/v1/profiles/nobody/intent").status, 404);
}

// The learned model over HTTP: sessions with and without a purchase train the readiness model of
// the family asked for; the intent answer then carries its probability; bad fields are refused
// at their path and keep the model in force.
TEST_F(ApiTest, IntentModelTrainedOverHttpWithTheReadinessFamilyAskedFor) {
  std::string batch = R"({"batch": [)";
  for (int i = 0; i < 60; ++i) {
    // One session each: two product views, then a purchase for every third shopper.
    const std::string day = fmt::format("2026-03-{:02d}", 1 + i % 28);
    batch += fmt::format(
        R"({}{{"type": "track", "userId": "m{}", "messageId": "a{}", "event": "Product Viewed",
             "timestamp": "{}T10:00:00Z", "properties": {{"product_id": "p{}"}}}},
           {{"type": "track", "userId": "m{}", "messageId": "b{}", "event": "Product Viewed",
             "timestamp": "{}T10:01:00Z", "properties": {{"product_id": "q{}"}}}})",
        i ? "," : "", i, i, day, i % 5, i, i, day, i % 3);
    if (i % 3 == 0) {
      batch += fmt::format(
          R"(,{{"type": "track", "userId": "m{}", "messageId": "c{}", "event": "Order Completed",
               "timestamp": "{}T10:03:00Z", "properties": {{"order_id": "o{}", "revenue": 30}}}})",
          i, i, day, i);
    }
  }
  batch += "]}";
  ASSERT_EQ(Admin("POST", "/v1/batch", batch).status, 200);
  simdjson::dom::parser parser;
  for (const char* family : {"logistic", "boosted_trees"}) {
    Response trained = Admin("POST", "/v1/analytics/intent-model",
                             fmt::format(R"({{"readiness": "{}"}})", family));
    ASSERT_EQ(trained.status, 200) << trained.body;
    simdjson::dom::element answer = Json(parser, trained);
    EXPECT_EQ(std::string_view(answer["readiness"]), family) << trained.body;
    EXPECT_GT(uint64_t(answer["report"]["outcome_sessions"]), 50u) << trained.body;
    Response model = Admin("GET", "/v1/intent/model");
    ASSERT_EQ(model.status, 200);
    EXPECT_EQ(model.body.find("\"readiness_trees\":null") == std::string::npos,
              std::string_view(family) == "boosted_trees")
        << model.body.substr(0, 200);
  }
  Response intent = Admin("GET", "/v1/profiles/m1/intent?now=2026-03-02T10:02:00Z");
  ASSERT_EQ(intent.status, 200) << intent.body;
  simdjson::dom::element read = Json(parser, intent);
  const double readiness = double(read["model"]["purchase_readiness"]);
  EXPECT_GE(readiness, 0.0);
  EXPECT_LE(readiness, 1.0);
  Response bad = Admin("POST", "/v1/analytics/intent-model", R"({"readiness": "forest"})");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_NE(bad.body.find("$.readiness"), std::string::npos) << bad.body;
  bad = Admin("POST", "/v1/analytics/intent-model", R"({"readyness": "logistic"})");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_NE(Admin("GET", "/v1/intent/model").body.find("\"readiness_trees\":{"),
            std::string::npos);  // the trees trained last stay in force
}

TEST_F(ApiTest, HealthMetricsTrackerAndOpenApiNeedNoKey) {
  EXPECT_EQ(Call("GET", "/healthz").status, 200);
  EXPECT_EQ(Call("GET", "/readyz").status, 200);
  EXPECT_EQ(Call("GET", "/tailor.js").status, 200);
  EXPECT_EQ(Call("GET", "/v1/openapi.json").status, 200);
  Admin("GET", "/v1/segments");
  Response metrics = Call("GET", "/metrics");
  EXPECT_NE(metrics.body.find("tailor_http_requests_total{method=\"GET\",route=\"/v1/segments\","
                              "status=\"2xx\"} 1"),
            std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("tailor_http_request_duration_seconds_bucket"), std::string::npos);
  for (const char* name : {"tailor_snapshot_refreshes_total", "tailor_snapshot_parts_spliced_total",
                           "tailor_snapshot_refresh_seconds", "tailor_resident_budget_bytes"}) {
    EXPECT_NE(metrics.body.find(name), std::string::npos) << name;
  }
  api_->SetDraining();
  EXPECT_EQ(Call("GET", "/readyz").status, 503);
}

// Over a real socket: keep-alive, a body over the limit, a malformed request.
TEST(HttpServer, KeepAliveLimitsAndMalformedRequests) {
  TempDir dir;
  auto service = Service::Open(dir.path(), ServiceOptions{});
  ASSERT_TRUE(service.ok());
  access::KeyStore keys((*service)->engine().store());
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.api.require_keys = false;
  std::atomic<uint16_t> port{0};
  std::thread server([&] {
    Status served = Serve(**service, keys, options, [&](uint16_t bound) { port = bound; });
    EXPECT_TRUE(served.ok()) << served.ToString();
  });
  while (port == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  auto connect_socket = [&] {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    return fd;
  };
  auto send_all = [](int fd, const std::string& text) {
    size_t sent = 0;
    while (sent < text.size()) {
      const ssize_t n = send(fd, text.data() + sent, text.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;
      sent += static_cast<size_t>(n);
    }
  };
  auto read_response = [](int fd) {
    std::string in;
    char buffer[4096];
    while (true) {
      const size_t head_end = in.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        const size_t length_at = in.find("Content-Length: ");
        const size_t length =
            length_at == std::string::npos ? 0 : std::stoul(in.substr(length_at + 16));
        if (in.size() >= head_end + 4 + length) return in.substr(0, head_end + 4 + length);
      }
      const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
      if (n <= 0) return in;
      in.append(buffer, static_cast<size_t>(n));
    }
  };
  const int fd = connect_socket();
  for (int i = 0; i < 3; ++i) {  // three requests on one connection
    send_all(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(read_response(fd).substr(0, 15), "HTTP/1.1 200 OK");
  }
  // A segment write is evaluated off the io thread, then answered on the same connection.
  const std::string segment = R"({"name":"viewers","rule":"count(page_view) >= 1"})";
  send_all(fd, "POST /v1/segments HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                   std::to_string(segment.size()) + "\r\n\r\n" + segment);
  const std::string created = read_response(fd);
  EXPECT_EQ(created.substr(0, 12), "HTTP/1.1 201") << created;
  send_all(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(read_response(fd).substr(0, 15), "HTTP/1.1 200 OK");
  send_all(fd, "POST /v1/batch HTTP/1.1\r\nHost: x\r\nContent-Length: 600000\r\n\r\n");
  EXPECT_EQ(read_response(fd).substr(0, 12), "HTTP/1.1 413");
  close(fd);
  const int garbage = connect_socket();
  send_all(garbage, "NOT HTTP AT ALL\r\n\r\n");
  EXPECT_EQ(read_response(garbage).substr(0, 12), "HTTP/1.1 400");
  close(garbage);
  kill(getpid(), SIGTERM);  // the server's handler takes it: graceful stop
  server.join();
}

// The golf case end to end, as a new user builds it over the API: a catalogue with levels,
// Jeff identified with his traits, browsing golf pages and beginner clubs as a visitor, buying a
// beginner set (an Order Completed with products, as analytics.js sends it), booking the driving
// range, coming back: intermediate clubs first, no beginner clubs, the progression as the reason.
// A golfer who bought nothing gets beginner sets; an unknown visitor gets popular items.
TEST_F(ApiTest, GolfCaseABeginnerWhoBoughtASetIsOfferedIntermediateClubs) {
  struct Club {
    const char* id;
    const char* name;
    const char* category;
    const char* level;
    double price;
  };
  for (const Club& club :
       {Club{"set-starter", "Starter Golf Set", "golf_clubs", "beginner", 299},
        Club{"set-easy", "Easy Swing Set", "golf_clubs", "beginner", 349},
        Club{"irons-forged", "Forged Irons", "golf_clubs", "intermediate", 699},
        Club{"irons-cavity", "Cavity Back Irons", "golf_clubs", "intermediate", 599},
        Club{"driver-tour", "Tour Driver", "golf_clubs", "advanced", 499},
        Club{"balls-soft", "Soft Golf Balls", "golf_balls", "", 29},
        Club{"socks", "Sport Socks", "apparel", "", 9}}) {
    const std::string attributes =
        std::string_view(club.level).empty()
            ? (std::string_view(club.category) == "golf_balls" ? R"({"consumable": true})" : "{}")
            : fmt::format(R"({{"level": "{}"}})", club.level);
    Response put =
        Admin("PUT", fmt::format("/v1/items/{}", club.id),
              fmt::format(R"({{"name": "{}", "category": "{}", "price": {}, "attributes": {}}})",
                          club.name, club.category, club.price, attributes));
    ASSERT_EQ(put.status, 200) << put.body;
  }
  // Other customers: beginners buy the starter set and balls, golfers further on the cavity irons.
  std::string others = R"({"batch": [)";
  for (int i = 0; i < 12; ++i) {
    const char* bought = i < 8 ? "set-starter" : "irons-cavity";
    others += fmt::format(
        R"({}{{"type": "track", "userId": "golfer{}", "event": "Order Completed", "timestamp": "2026-12-20T10:00:00Z",
              "properties": {{"order_id": "o{}", "products": [{{"product_id": "{}", "quantity": 1}}, {{"product_id": "balls-soft", "quantity": 2}}]}}}})",
        i == 0 ? "" : ",", i, i, bought);
  }
  others += "]}";
  ASSERT_EQ(Admin("POST", "/v1/batch", others).status, 200);

  // Jeff browses as a visitor, signs up with his traits, buys a beginner set and plays.
  const std::string jeff = R"({"batch": [
    {"type": "page", "anonymousId": "v-jeff", "name": "Golf", "timestamp": "2027-01-02T09:00:00Z",
     "properties": {"category": "golf_clubs", "url": "https://shop.example/golf"}},
    {"type": "track", "anonymousId": "v-jeff", "event": "Product Viewed", "timestamp": "2027-01-02T09:01:00Z",
     "properties": {"product_id": "set-starter", "category": "golf_clubs", "price": 299}},
    {"type": "track", "anonymousId": "v-jeff", "event": "Product Viewed", "timestamp": "2027-01-02T09:03:00Z",
     "properties": {"product_id": "set-easy", "category": "golf_clubs", "price": 349}},
    {"type": "identify", "anonymousId": "v-jeff", "userId": "jeff", "timestamp": "2027-01-02T09:05:00Z",
     "traits": {"email": "jeff@example.com", "first_name": "Jeff", "golf_level": "beginner"}},
    {"type": "track", "userId": "jeff", "event": "Order Completed", "timestamp": "2027-01-02T09:10:00Z",
     "properties": {"order_id": "j1", "revenue": 328, "products": [
       {"product_id": "set-starter", "category": "golf_clubs", "price": 299, "quantity": 1},
       {"product_id": "balls-soft", "category": "golf_balls", "price": 29, "quantity": 1}]}},
    {"type": "track", "userId": "jeff", "event": "Driving Range Booked", "timestamp": "2027-01-05T17:00:00Z",
     "properties": {"category": "driving_range", "bays": 1}},
    {"type": "track", "userId": "jeff", "event": "Driving Range Booked", "timestamp": "2027-01-10T17:00:00Z",
     "properties": {"category": "driving_range", "bays": 1}},
    {"type": "page", "userId": "jeff", "name": "Home", "timestamp": "2027-01-15T07:55:00Z",
     "properties": {"url": "https://shop.example/"}}
  ]})";
  Response sent = Admin("POST", "/v1/batch", jeff);
  ASSERT_EQ(sent.status, 200) << sent.body;

  simdjson::dom::parser parser;
  const auto check_jeff = [&](std::string_view stage) {
    Response answer = Admin("GET", "/v1/profiles/jeff/recommendations?count=5");
    ASSERT_EQ(answer.status, 200) << answer.body;
    simdjson::dom::element found = Json(parser, answer);
    EXPECT_TRUE(bool(found["known"])) << stage;
    simdjson::dom::array items = found["items"].get_array();
    ASSERT_GE(items.size(), 2u) << stage << answer.body;
    size_t position = 0;
    for (simdjson::dom::element item : items) {
      const std::string_view level =
          item["level"].is_null() ? std::string_view() : std::string_view(item["level"]);
      EXPECT_NE(level, "beginner") << stage << answer.body;
      if (position < 2) {  // both intermediate sets first, for the progression
        EXPECT_EQ(level, "intermediate") << stage << answer.body;
        simdjson::dom::element reason = item["reasons"].at(0);
        EXPECT_EQ(std::string_view(reason["generator"]), "progression") << stage;
        EXPECT_NE(
            std::string_view(reason["detail"]).find("owns beginner golf_clubs (Starter Golf Set)"),
            std::string_view::npos)
            << stage << answer.body;
      }
      ++position;
    }
    // The popular one of the two first: other golfers moved on to the cavity irons.
    EXPECT_EQ(std::string_view(items.at(0)["item"]), "irons-cavity") << stage << answer.body;
  };
  check_jeff("catalogue-only model");
  Response trained = Admin("POST", "/v1/recommendations/train");
  ASSERT_EQ(trained.status, 200) << trained.body;
  EXPECT_EQ(int64_t(Json(parser, trained)["version"]), 1);
  EXPECT_GE(int64_t(Json(parser, trained)["profiles"]), 13);
  check_jeff("trained model");

  // A golfer who bought nothing yet, browsing clubs: beginner sets first.
  ASSERT_EQ(Admin("POST", "/v1/track", R"({"userId": "ann", "event": "Product List Viewed",
      "timestamp": "2027-01-14T10:00:00Z", "properties": {"category": "golf_clubs"}})")
                .status,
            200);
  Response ann = Admin("GET", "/v1/profiles/ann/recommendations?count=2");
  ASSERT_EQ(ann.status, 200) << ann.body;
  for (simdjson::dom::element item : Json(parser, ann)["items"].get_array()) {
    EXPECT_EQ(std::string_view(item["level"]), "beginner") << ann.body;
    EXPECT_EQ(std::string_view(item["reasons"].at(0)["generator"]), "browsing") << ann.body;
  }
  // A visitor never seen: popular items, not an error; bad parameters are named.
  Response visitor = Admin("GET", "/v1/profiles/nobody-yet/recommendations?count=1");
  ASSERT_EQ(visitor.status, 200) << visitor.body;
  simdjson::dom::element popular = Json(parser, visitor);
  EXPECT_FALSE(bool(popular["known"]));
  EXPECT_EQ(std::string_view(popular["items"].at(0)["item"]), "balls-soft") << visitor.body;
  Response bad = Admin("GET", "/v1/profiles/jeff/recommendations?max_price=cheap");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("max_price"), std::string::npos) << bad.body;
  EXPECT_EQ(Admin("GET", "/v1/profiles/jeff/recommendations?intent=curious").status, 400);
  EXPECT_EQ(Call("POST", "/v1/recommendations/train", "", reader_).status, 403);

  // Item rules by segment: buyers get no more balls for now; the tour driver is reserved for
  // buyers (everyone outside the segment, visitors included, never sees it).
  ASSERT_EQ(
      Admin("POST", "/v1/segments", R"({"name":"buyers","rule":"count(purchase) >= 1"})").status,
      201);
  const std::string rules = R"({"rules": [
    {"name": "no_balls_for_buyers", "segment": "buyers", "applies_to": "members", "categories": ["golf_balls"]},
    {"name": "driver_for_buyers", "segment": "buyers", "applies_to": "non_members", "items": ["driver-tour"]}]})";
  EXPECT_EQ(Call("PUT", "/v1/recommendations/rules", rules, reader_).status, 403);
  Response unknown =
      Admin("PUT", "/v1/recommendations/rules",
            R"({"rules": [{"name": "r", "segment": "nobody", "items": ["socks"]}]})");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_NE(unknown.body.find("$.rules[0].segment"), std::string::npos) << unknown.body;
  Response unknown_field = Admin("PUT", "/v1/recommendations/rules",
                                 R"({"rules": [{"name": "r", "segment": "buyers", "colour": 1}]})");
  EXPECT_EQ(unknown_field.status, 400);
  EXPECT_NE(unknown_field.body.find("$.rules[0].colour"), std::string::npos) << unknown_field.body;
  Response set = Admin("PUT", "/v1/recommendations/rules", rules);
  ASSERT_EQ(set.status, 200) << set.body;
  Response listed = Call("GET", "/v1/recommendations/rules", "", reader_);
  ASSERT_EQ(listed.status, 200);
  EXPECT_EQ(Json(parser, listed)["rules"].get_array().size(), 2u) << listed.body;
  const auto shown = [&](std::string_view id) {
    Response answer = Admin("GET", fmt::format("/v1/profiles/{}/recommendations?count=20", id));
    EXPECT_EQ(answer.status, 200) << answer.body;
    std::set<std::string> items, applied;
    simdjson::dom::element found = Json(parser, answer);
    for (simdjson::dom::element item : found["items"].get_array()) {
      items.insert(std::string(std::string_view(item["item"])));
    }
    for (simdjson::dom::element rule : found["rules_applied"].get_array()) {
      applied.insert(std::string(std::string_view(rule)));
    }
    return std::pair(items, applied);
  };
  const auto [jeffs, jeff_rules] = shown("jeff");
  EXPECT_FALSE(jeffs.contains("balls-soft"));
  EXPECT_TRUE(jeffs.contains("driver-tour"));
  EXPECT_EQ(jeff_rules, std::set<std::string>{"no_balls_for_buyers"});
  const auto [anns, ann_rules] = shown("ann");
  EXPECT_TRUE(anns.contains("balls-soft"));
  EXPECT_FALSE(anns.contains("driver-tour"));
  EXPECT_EQ(ann_rules, std::set<std::string>{"driver_for_buyers"});
  const auto [visitors, visitor_rules] = shown("nobody-yet");
  EXPECT_TRUE(visitors.contains("balls-soft"));
  EXPECT_FALSE(visitors.contains("driver-tour"));
  EXPECT_EQ(visitor_rules, std::set<std::string>{"driver_for_buyers"});
}

// How the catalogue is read is set at run time: a shop whose skis carry a `grade` from novice to
// pro, in product lines. Until it is set those grades are outside the default order (no
// progression); once set and trained, the owner of a novice ski is offered the club grade of the
// same line first, for the progression.
TEST_F(ApiTest, TheCatalogueLevelOrderIsSetOverTheApi) {
  struct Ski {
    const char *id, *grade, *line;
  };
  for (Ski ski : {Ski{"glide-novice", "novice", "glide"}, Ski{"glide-club", "club", "glide"},
                  Ski{"glide-pro", "pro", "glide"}, Ski{"carve-club", "club", "carve"}}) {
    Response put =
        Admin("PUT", fmt::format("/v1/items/{}", ski.id),
              fmt::format(R"({{"name": "{}", "category": "skis", "price": 300, "attributes": )"
                          R"({{"grade": "{}", "line": "{}"}}}})",
                          ski.id, ski.grade, ski.line));
    ASSERT_EQ(put.status, 200) << put.body;
  }
  ASSERT_EQ(Admin("POST", "/v1/track", R"({"userId": "eva", "event": "Order Completed",
      "timestamp": "2027-01-02T09:10:00Z", "properties": {"order_id": "e1",
      "products": [{"product_id": "glide-novice", "quantity": 1}]}})")
                .status,
            200);
  simdjson::dom::parser parser;
  const auto first_reason = [&] {
    Response answer = Admin("GET", "/v1/profiles/eva/recommendations?count=3");
    EXPECT_EQ(answer.status, 200) << answer.body;
    simdjson::dom::element items = Json(parser, answer)["items"];
    if (items.get_array().size() == 0) return std::string("none");
    return std::string(std::string_view(items.at(0)["item"])) + " " +
           std::string(std::string_view(items.at(0)["reasons"].at(0)["generator"]));
  };
  EXPECT_EQ(first_reason().find("progression"), std::string::npos);

  const std::string catalogue =
      R"({"level_attribute": "grade", "levels": ["novice", "club", "pro"], "kind_attribute": "line"})";
  EXPECT_EQ(Call("PUT", "/v1/recommendations/catalogue", catalogue, reader_).status, 403);
  Response twice = Admin("PUT", "/v1/recommendations/catalogue", R"({"levels": ["a", "b", "a"]})");
  EXPECT_EQ(twice.status, 400);
  EXPECT_NE(twice.body.find("$.levels[2]"), std::string::npos) << twice.body;
  Response unknown = Admin("PUT", "/v1/recommendations/catalogue", R"({"colour": "red"})");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_NE(unknown.body.find("$.colour"), std::string::npos) << unknown.body;
  Response set = Admin("PUT", "/v1/recommendations/catalogue", catalogue);
  ASSERT_EQ(set.status, 200) << set.body;
  Response read = Call("GET", "/v1/recommendations/catalogue", "", reader_);
  ASSERT_EQ(read.status, 200);
  EXPECT_EQ(std::string_view(Json(parser, read)["levels"].at(1)), "club") << read.body;
  EXPECT_EQ(std::string_view(Json(parser, read)["stock_attribute"]), "in_stock") << read.body;
  // The catalogue-only model reads it at once; a trained one from its next run.
  EXPECT_EQ(first_reason(), "glide-club progression");
  ASSERT_EQ(Admin("POST", "/v1/recommendations/train").status, 200);
  EXPECT_EQ(first_reason(), "glide-club progression");
  Response model = Admin("GET", "/v1/recommendations/model");
  EXPECT_EQ(int64_t(Json(parser, model)["items_with_level"]), 4) << model.body;
}

// Keys are created, listed and revoked over the API while it serves (the web app's Settings).
TEST_F(ApiTest, KeysAreManagedWhileTheServerRuns) {
  simdjson::dom::parser parser;
  Response created = Admin("POST", "/v1/keys", R"({"name":"ops","scopes":["read","segments"]})");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string ops{std::string_view(Json(parser, created)["key"])};
  const std::string ops_id{std::string_view(Json(parser, created)["id"])};
  EXPECT_EQ(Call("GET", "/v1/segments", "", ops).status, 200);
  Response self = Call("GET", "/v1/keys/self", "", ops);
  ASSERT_EQ(self.status, 200) << self.body;
  EXPECT_EQ(std::string_view(Json(parser, self)["name"]), "ops");
  EXPECT_EQ(Json(parser, self)["scopes"].get_array().size(), 2u);
  EXPECT_EQ(self.body.find(ops), std::string::npos) << "the secret is never shown again";
  // Only admin keys manage keys; bad bodies name their field.
  EXPECT_EQ(Call("POST", "/v1/keys", R"({"name":"x","scopes":["read"]})", reader_).status, 403);
  EXPECT_EQ(Call("GET", "/v1/keys", "", ops).status, 403);
  Response bad_scope = Admin("POST", "/v1/keys", R"({"name":"x","scopes":["read","root"]})");
  EXPECT_EQ(bad_scope.status, 400);
  EXPECT_NE(bad_scope.body.find("$.scopes[1]: unknown scope 'root'"), std::string::npos)
      << bad_scope.body;
  Response unknown = Admin("POST", "/v1/keys", R"({"name":"x","scopes":["read"],"owner":"me"})");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_NE(unknown.body.find("$.owner: unknown field"), std::string::npos) << unknown.body;
  EXPECT_EQ(Admin("POST", "/v1/keys", R"({"name":"site","public":true})").status, 400)
      << "a public key needs its origins";
  Response site = Admin("POST", "/v1/keys",
                        R"({"name":"site","public":true,"origins":["https://shop.example"]})");
  ASSERT_EQ(site.status, 201) << site.body;
  EXPECT_EQ(std::string_view(Json(parser, site)["definition"]["scopes"].at(0)), "write");
  // Listed, then revoked: refused from the next request on.
  Response listed = Admin("GET", "/v1/keys");
  ASSERT_EQ(listed.status, 200);
  size_t found = 0;
  for (auto key : Json(parser, listed)["keys"].get_array()) {
    if (std::string_view(key["id"]) == ops_id) {
      ++found;
      EXPECT_FALSE(bool(key["revoked"]));
    }
  }
  EXPECT_EQ(found, 1u);
  EXPECT_EQ(Admin("DELETE", "/v1/keys/" + ops_id).status, 200);
  EXPECT_EQ(Call("GET", "/v1/segments", "", ops).status, 401);
  EXPECT_EQ(Admin("DELETE", "/v1/keys/nothere").status, 404);
  const std::string admin_id = admin_.substr(3, admin_.find('_', 3) - 3);
  EXPECT_EQ(Admin("DELETE", "/v1/keys/" + admin_id).status, 409) << "a key cannot revoke itself";
  EXPECT_EQ(Admin("GET", "/v1/segments").status, 200);
}

// What the web app's pages read: the overview's events per day and changes against counts made
// here, a segment's entries per day, its versions, its members as CSV, and the schema.
TEST_F(ApiTest, TheOverviewAndSegmentPagesCountWhatHappened) {
  simdjson::dom::parser parser;
  constexpr Timestamp kDay = 86'400'000;
  std::map<std::string, uint64_t> per_day;  // the obvious count
  std::string batch = R"({"batch":[)";
  const std::vector<std::pair<std::string, int>> events = {
      {"u1", 0}, {"u1", 1}, {"u2", 1}, {"u3", 5}, {"u2", 5}, {"u3", 29}, {"u1", 30}, {"u4", 45}};
  for (size_t i = 0; i < events.size(); ++i) {
    const Timestamp at = kNow - events[i].second * kDay - 3'600'000;
    if (events[i].second < 30) ++per_day[IsoTime(at).substr(0, 10)];
    batch += fmt::format(
        R"({}{{"type":"track","userId":"{}","event":"Order Completed","messageId":"m{}",)"
        R"("timestamp":"{}","properties":{{"revenue":10}}}})",
        i == 0 ? "" : ",", events[i].first, i, IsoTime(at));
  }
  batch += "]}";
  Response sent = Admin("POST", "/v1/batch", batch);
  ASSERT_EQ(sent.status, 200) << sent.body;
  Response created =
      Admin("POST", "/v1/segments", R"({"name":"buyers","rule":"count(purchase) >= 2"})");
  ASSERT_EQ(created.status, 201) << created.body;

  Response overview = Admin("GET", "/v1/overview");
  ASSERT_EQ(overview.status, 200) << overview.body;
  auto o = Json(parser, overview);
  EXPECT_EQ(uint64_t(o["profiles"]["known"]), 4u);
  EXPECT_EQ(uint64_t(o["events"]), events.size());
  EXPECT_EQ(uint64_t(o["ingestion"]["accepted"]), events.size());
  auto days = o["events_per_day"].get_array();
  ASSERT_EQ(days.size(), 30u);
  EXPECT_EQ(std::string_view(days.at(29)["day"]), IsoTime(kNow).substr(0, 10));
  uint64_t counted = 0;
  for (auto day : days) {
    const std::string name{std::string_view(day["day"])};
    const uint64_t expected = per_day.count(name) != 0 ? per_day[name] : 0;
    EXPECT_EQ(uint64_t(day["events"]), expected) << name;
    counted += uint64_t(day["events"]);
  }
  EXPECT_EQ(counted, 6u);
  ASSERT_EQ(o["segments"].get_array().size(), 1u);
  EXPECT_EQ(uint64_t(o["segments"].at(0)["size"]), 3u);  // u1 (3), u2 (2), u3 (2)
  EXPECT_EQ(uint64_t(o["segments"].at(0)["entered_24h"]), 3u);
  EXPECT_EQ(uint64_t(o["latest_sequence"]), service_->last_sequence());
  EXPECT_EQ(o["latest_changes"].get_array().size(), 3u);

  // u3 leaves after a refund is not how purchases count; deleting u2 makes an exit today.
  ASSERT_EQ(Admin("DELETE", "/v1/profiles/u2").status, 200);
  Response activity = Admin("GET", "/v1/segments/buyers/activity?days=3");
  ASSERT_EQ(activity.status, 200) << activity.body;
  auto flow = Json(parser, activity)["days"].get_array();
  ASSERT_EQ(flow.size(), 3u);
  EXPECT_EQ(std::string_view(flow.at(2)["day"]), IsoTime(kNow).substr(0, 10));
  EXPECT_EQ(uint64_t(flow.at(2)["entered"]), 3u);
  EXPECT_EQ(uint64_t(flow.at(2)["exited"]), 1u);
  EXPECT_EQ(uint64_t(flow.at(0)["entered"]) + uint64_t(flow.at(1)["entered"]), 0u);
  EXPECT_EQ(Admin("GET", "/v1/segments/nothere/activity").status, 404);

  // Members as CSV: the members route's ids, one per line under a header.
  Response csv = Admin("GET", "/v1/segments/buyers/members.csv");
  ASSERT_EQ(csv.status, 200);
  std::string expected_csv = "id\n";
  for (auto id : Json(parser, Admin("GET", "/v1/segments/buyers/members"))["members"].get_array()) {
    expected_csv += std::string(std::string_view(id)) + "\n";
  }
  EXPECT_EQ(csv.body, expected_csv);
  EXPECT_EQ(csv.body, "id\nu1\nu3\n");

  // Versions, newest first.
  ASSERT_EQ(Admin("PUT", "/v1/segments/buyers", R"({"rule":"count(purchase) >= 3"})").status, 200);
  Response versions = Admin("GET", "/v1/segments/buyers/versions");
  ASSERT_EQ(versions.status, 200) << versions.body;
  auto list = Json(parser, versions)["versions"].get_array();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(uint64_t(list.at(0)["version"]), 2u);
  EXPECT_EQ(std::string_view(list.at(0)["rule"]), "count(purchase) >= 3");
  EXPECT_EQ(std::string_view(list.at(1)["rule"]), "count(purchase) >= 2");

  // The schema names the event types seen and the segments.
  Response schema = Admin("GET", "/v1/schema");
  ASSERT_EQ(schema.status, 200) << schema.body;
  auto types = Json(parser, schema)["event_types"].get_array();
  ASSERT_EQ(types.size(), 1u);
  EXPECT_EQ(std::string_view(types.at(0)), "purchase");
  EXPECT_EQ(std::string_view(Json(parser, schema)["segments"].at(0)), "buyers");
}

}  // namespace
}  // namespace tailor::server

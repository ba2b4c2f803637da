// Segment HTTP API payloads to tailor records: every message kind, per-message errors in a
// batch, limits, clock skew, trait typing, property mapping and the enrichment helpers.

#include "tailor/collect.h"

#include <gtest/gtest.h>

#include <string>

#include "common/time.h"
#include "test_util.h"

namespace tailor::collect {
namespace {

const Timestamp kNow = *ParseIsoTimestamp("2026-03-04T12:00:00Z");

ParseOptions Options() {
  ParseOptions options;
  options.now = kNow;
  return options;
}

Timestamp Iso(std::string_view text) { return *ParseIsoTimestamp(text); }

// Parses a body that must be readable as a whole.
ParseResult Parse(std::string_view body, std::optional<MessageKind> kind,
                  const ParseOptions& options = Options()) {
  Result<ParseResult> result = ParseRequest(body, kind, options);
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  return result.ok() ? std::move(result).value() : ParseResult{};
}

// The single message of a body that must be accepted.
Message One(std::string_view body, MessageKind kind, const ParseOptions& options = Options()) {
  ParseResult result = Parse(body, kind, options);
  for (const MessageError& error : result.errors)
    ADD_FAILURE() << error.path << ": " << error.message;
  EXPECT_EQ(result.messages.size(), 1u);
  return result.messages.empty() ? Message{} : result.messages.front();
}

// The single error of a body whose only message must be refused.
MessageError Refused(std::string_view body, std::optional<MessageKind> kind,
                     const ParseOptions& options = Options()) {
  ParseResult result = Parse(body, kind, options);
  EXPECT_TRUE(result.messages.empty());
  EXPECT_EQ(result.errors.size(), 1u);
  return result.errors.empty() ? MessageError{} : result.errors.front();
}

std::string Property(const EventInput& event, std::string_view name) {
  for (const auto& [key, value] : event.properties) {
    if (key == name) return value;
  }
  return "<absent>";
}

bool HasProperty(const EventInput& event, std::string_view name) {
  return Property(event, name) != "<absent>";
}

const TypedValue* Trait(const TraitMap& traits, std::string_view name) {
  for (const auto& [key, value] : traits) {
    if (key == name) return &value;
  }
  return nullptr;
}

std::string StringTrait(const TraitMap& traits, std::string_view name) {
  const TypedValue* value = Trait(traits, name);
  if (value == nullptr || value->type != TraitType::kString) return "<absent>";
  return std::get<std::string>(value->value);
}

// --- message kinds ---------------------------------------------------------------------------

TEST(Collect, MessageKindNames) {
  EXPECT_EQ(MessageKindName(MessageKind::kTrack), "track");
  EXPECT_EQ(MessageKindName(MessageKind::kIdentify), "identify");
  EXPECT_EQ(MessageKindName(MessageKind::kPage), "page");
  EXPECT_EQ(MessageKindName(MessageKind::kScreen), "screen");
  EXPECT_EQ(MessageKindName(MessageKind::kGroup), "group");
  EXPECT_EQ(MessageKindName(MessageKind::kAlias), "alias");
}

TEST(Collect, TrackMapsIdsTypeAndTime) {
  const Message m = One(R"({"userId":"u1","anonymousId":"a1","messageId":"m-1",
      "event":"Order Completed","timestamp":"2026-03-01T10:00:00Z"})",
                        MessageKind::kTrack);
  EXPECT_EQ(m.kind, MessageKind::kTrack);
  EXPECT_EQ(m.index, 0u);
  EXPECT_EQ(m.message_id, "m-1");
  EXPECT_EQ(m.user_id, "u1");
  EXPECT_EQ(m.anonymous_id, "a1");
  EXPECT_EQ(m.event.id, "m-1");
  EXPECT_EQ(m.event.profile_id, "u1");
  EXPECT_EQ(m.event.anonymous_id, "a1");
  EXPECT_EQ(m.event.type, "purchase");
  EXPECT_EQ(m.event.time, Iso("2026-03-01T10:00:00Z"));
  EXPECT_EQ(m.event.context.channel, "server");
  EXPECT_TRUE(m.traits.empty());
}

TEST(Collect, TrackPropertiesMapToEventFields) {
  const Message m = One(R"({"userId":"u1","event":"Product Added","properties":{
      "product_id":"p-9","sku":"SKU-9","category":"Golf","price":"19.90","quantity":2,
      "order_id":"o-1","brand":"Titleist","in_stock":true,"rating":4.5,"count":3,
      "size":{"width":10,"unit":"cm"},"tags":["a","b"],"gone":null}})",
                        MessageKind::kTrack);
  const EventInput& e = m.event;
  EXPECT_EQ(e.type, "add_to_cart");
  EXPECT_EQ(e.item_id, "p-9");
  EXPECT_EQ(e.category, "Golf");
  EXPECT_EQ(e.order_id, "o-1");
  ASSERT_TRUE(e.price.has_value());
  EXPECT_EQ(*e.price, testing::Money(19.9));
  ASSERT_TRUE(e.quantity.has_value());
  EXPECT_EQ(*e.quantity, 2);
  EXPECT_FALSE(e.value.has_value());
  // Everything else, in arrival order, as text.
  EXPECT_EQ(Property(e, "sku"), "SKU-9");  // product_id took the item slot
  EXPECT_EQ(Property(e, "brand"), "Titleist");
  EXPECT_EQ(Property(e, "in_stock"), "true");
  EXPECT_EQ(Property(e, "rating"), "4.5");
  EXPECT_EQ(Property(e, "count"), "3");
  EXPECT_EQ(Property(e, "size.width"), "10");
  EXPECT_EQ(Property(e, "size.unit"), "cm");
  EXPECT_EQ(Property(e, "tags"), R"(["a","b"])");
  EXPECT_FALSE(HasProperty(e, "gone"));
  EXPECT_FALSE(HasProperty(e, "product_id"));
  EXPECT_FALSE(HasProperty(e, "price"));
  ASSERT_EQ(e.properties.size(), 8u);
  EXPECT_EQ(e.properties.front().first, "sku");
  EXPECT_EQ(e.properties.back().first, "tags");
}

TEST(Collect, ItemAndValueSynonymsInOrderOfPreference) {
  Message m = One(R"({"userId":"u","event":"Product Viewed","properties":{"item_id":"i1",
      "sku":"s1","total":30,"revenue":25}})",
                  MessageKind::kTrack);
  EXPECT_EQ(m.event.type, "product_view");
  EXPECT_EQ(m.event.item_id, "s1");  // sku before item_id
  EXPECT_EQ(Property(m.event, "item_id"), "i1");
  ASSERT_TRUE(m.event.value.has_value());
  EXPECT_EQ(*m.event.value, testing::Money(25));  // revenue before total
  EXPECT_EQ(Property(m.event, "total"), "30");

  m = One(R"({"userId":"u","event":"Survey Answered","properties":{"value":"7","revenue":25,
      "product_id":12345}})",
          MessageKind::kTrack);
  EXPECT_EQ(m.event.type, "survey_answer");
  EXPECT_EQ(m.event.item_id, "12345");
  ASSERT_TRUE(m.event.value.has_value());
  EXPECT_EQ(*m.event.value, testing::Money(7));
  EXPECT_EQ(Property(m.event, "revenue"), "25");
}

// Segment's e-commerce spec: an order's items in properties.products become its lines.
TEST(Collect, ProductsArrayBecomesTheOrdersLines) {
  const Message m = One(R"({"userId":"u1","event":"Order Completed","messageId":"m-7",
      "properties":{"order_id":"o-1","revenue":25.5,"currency":"EUR","coupon":"SPRING",
      "products":[
        {"product_id":"p1","sku":"S1","category":"golf_clubs","name":"7 iron","brand":"titleist",
         "variant":"intermediate","price":19.99,"quantity":1,"coupon":"CLUB5","position":1},
        {"sku":"S2","category":"golf_balls","price":"2.75","quantity":2,"position":2},
        {"id":"p3"}]}})",
                        MessageKind::kTrack);
  ASSERT_EQ(m.lines.size(), 3u);
  const EventInput& club = m.lines[0];
  EXPECT_EQ(club.id, "m-7/0");
  EXPECT_EQ(club.profile_id, "u1");
  EXPECT_EQ(club.type, "purchase");
  EXPECT_EQ(club.time, m.event.time);
  EXPECT_EQ(club.context.channel, m.event.context.channel);
  EXPECT_EQ(club.item_id, "p1");
  EXPECT_EQ(club.category, "golf_clubs");
  EXPECT_EQ(club.order_id, "o-1");
  EXPECT_EQ(club.price, testing::Money(19.99));
  EXPECT_EQ(club.quantity, 1);
  // A line's value is its spend: the order's revenue is not on it as a number.
  EXPECT_FALSE(club.value.has_value());
  EXPECT_EQ(Property(club, "sku"), "S1");
  EXPECT_EQ(Property(club, "name"), "7 iron");
  EXPECT_EQ(Property(club, "brand"), "titleist");
  EXPECT_EQ(Property(club, "variant"), "intermediate");
  EXPECT_EQ(Property(club, "coupon"), "CLUB5");
  EXPECT_EQ(Property(club, "position"), "1");
  EXPECT_EQ(Property(club, "order.revenue"), "25.5");
  EXPECT_EQ(Property(club, "order.currency"), "EUR");
  EXPECT_EQ(Property(club, "order.coupon"), "SPRING");
  EXPECT_FALSE(HasProperty(club, "products"));
  EXPECT_FALSE(HasProperty(club, "order.products"));
  const EventInput& balls = m.lines[1];
  EXPECT_EQ(balls.id, "m-7/1");
  EXPECT_EQ(balls.item_id, "S2");  // sku when there is no product_id
  EXPECT_EQ(balls.price, testing::Money(2.75));
  EXPECT_EQ(balls.quantity, 2);
  EXPECT_EQ(m.lines[2].item_id, "p3");
  EXPECT_FALSE(m.lines[2].price.has_value());

  // Without an order_id, the checkout's (or the cart's) id ties the lines together.
  const Message cart = One(R"({"anonymousId":"a1","event":"Cart Viewed","properties":{
      "cart_id":"c-9","products":[{"product_id":"p1"}]}})",
                           MessageKind::kTrack);
  ASSERT_EQ(cart.lines.size(), 1u);
  EXPECT_EQ(cart.lines[0].order_id, "c-9");
  EXPECT_EQ(cart.lines[0].anonymous_id, "a1");
  // No products (or an empty array): the message stays one event.
  EXPECT_TRUE(One(R"({"userId":"u","event":"Order Completed","properties":{"products":[]}})",
                  MessageKind::kTrack)
                  .lines.empty());
  // Pages keep a products property as text (the spec defines it for track only).
  EXPECT_TRUE(
      One(R"({"userId":"u","name":"x","properties":{"products":[{"a":1}]}})", MessageKind::kPage)
          .lines.empty());
}

TEST(Collect, BadProductsRefuseTheMessageWithTheirPath) {
  EXPECT_EQ(Refused(R"({"userId":"u","event":"Order Completed","properties":{"products":3}})",
                    MessageKind::kTrack)
                .path,
            "properties.products");
  EXPECT_EQ(Refused(R"({"userId":"u","event":"Order Completed","properties":{"products":[{},7]}})",
                    MessageKind::kTrack)
                .path,
            "properties.products[1]");
  EXPECT_EQ(Refused(R"({"userId":"u","event":"Order Completed","properties":{"products":[
                      {"price":1},{"price":"cheap"}]}})",
                    MessageKind::kTrack)
                .path,
            "properties.products[1].price");
  EXPECT_EQ(Refused(R"({"userId":"u","event":"Order Completed","properties":{"products":[
                      {"quantity":1.5}]}})",
                    MessageKind::kTrack)
                .path,
            "properties.products[0].quantity");
}

// A device's position (context.location) becomes the event's latitude and longitude
// properties, the order's lines included, unless the properties name them; bad coordinates
// refuse the message at their path.
TEST(Collect, DevicePositionBecomesTheEventsCoordinates) {
  const Message m = One(R"({"userId":"u","event":"Order Completed","properties":{"products":[
                          {"product_id":"a","price":1}]},
                          "context":{"location":{"latitude":40.4168,"longitude":-3.7038}}})",
                        MessageKind::kTrack);
  EXPECT_EQ(EventProperty(m.event, "latitude"), "40.4168");
  EXPECT_EQ(EventProperty(m.event, "longitude"), "-3.7038");
  ASSERT_EQ(m.lines.size(), 1u);
  EXPECT_EQ(EventProperty(m.lines[0], "latitude"), "40.4168");
  const Message own = One(R"({"userId":"u","event":"Store Visited",
                            "properties":{"latitude":"1.5","longitude":"2.5"},
                            "context":{"location":{"latitude":40,"longitude":-3}}})",
                          MessageKind::kTrack);
  EXPECT_EQ(EventProperty(own.event, "latitude"), "1.5");
  EXPECT_EQ(Refused(R"({"userId":"u","event":"x","context":{"location":{"latitude":91,
                      "longitude":0}}})",
                    MessageKind::kTrack)
                .path,
            "context.location.latitude");
  EXPECT_EQ(EventProperty(One(R"({"userId":"u","event":"x","context":{"location":{
                                "latitude":"48.85","longitude":"2.35"}}})",
                              MessageKind::kTrack)
                              .event,
                          "latitude"),
            "48.85");  // numbers as text, as some SDKs send them
  EXPECT_EQ(Refused(R"({"userId":"u","event":"x","context":{"location":{"latitude":1,
                      "longitude":"east"}}})",
                    MessageKind::kTrack)
                .path,
            "context.location.longitude");
  EXPECT_EQ(Refused(R"({"userId":"u","event":"x","context":{"location":{"latitude":1}}})",
                    MessageKind::kTrack)
                .path,
            "context.location");
  EXPECT_EQ(
      EventProperty(One(R"({"userId":"u","event":"x","context":{"location":{"city":"Lyon"}}})",
                        MessageKind::kTrack)
                        .event,
                    "latitude"),
      "");
}

TEST(Collect, BadNumericPropertiesRefuseTheMessage) {
  MessageError error =
      Refused(R"({"userId":"u","event":"x","properties":{"price":"cheap"}})", MessageKind::kTrack);
  EXPECT_EQ(error.path, "properties.price");
  error =
      Refused(R"({"userId":"u","event":"x","properties":{"quantity":1.5}})", MessageKind::kTrack);
  EXPECT_EQ(error.path, "properties.quantity");
  error = Refused(R"({"userId":"u","event":"x","properties":{"order_id":{"a":1}}})",
                  MessageKind::kTrack);
  EXPECT_EQ(error.path, "properties.order_id");
  error = Refused(R"({"userId":"u","event":"x","properties":[1]})", MessageKind::kTrack);
  EXPECT_EQ(error.path, "properties");
  // Integral doubles and integer strings are quantities.
  const Message m =
      One(R"({"userId":"u","event":"x","properties":{"quantity":"3"}})", MessageKind::kTrack);
  EXPECT_EQ(m.event.quantity, 3);
  EXPECT_EQ(One(R"({"userId":"u","event":"x","properties":{"quantity":4.0}})", MessageKind::kTrack)
                .event.quantity,
            4);
}

TEST(Collect, TrackNeedsAnEventName) {
  EXPECT_EQ(Refused(R"({"userId":"u"})", MessageKind::kTrack).path, "event");
  EXPECT_EQ(Refused(R"({"userId":"u","event":7})", MessageKind::kTrack).path, "event");
  EXPECT_EQ(Refused(R"({"userId":"u","event":"  !! "})", MessageKind::kTrack).path, "event");
}

TEST(Collect, IdentifyTypesTraits) {
  const Message m = One(R"({"userId":"u1","traits":{"age":42,"ltv":12.5,"vip":true,
      "name":"Emma","signup":"2025-01-02T03:04:05Z","tags":["golf","tennis"],
      "address":{"city":"Paris","geo":{"lat":48.8}},"nothing":null}})",
                        MessageKind::kIdentify);
  EXPECT_EQ(m.kind, MessageKind::kIdentify);
  EXPECT_EQ(m.user_id, "u1");
  ASSERT_EQ(m.traits.size(), 8u);
  const TypedValue* age = Trait(m.traits, "age");
  ASSERT_NE(age, nullptr);
  EXPECT_EQ(age->type, TraitType::kInt);
  EXPECT_EQ(std::get<int64_t>(age->value), 42);
  const TypedValue* ltv = Trait(m.traits, "ltv");
  ASSERT_NE(ltv, nullptr);
  EXPECT_EQ(ltv->type, TraitType::kDouble);
  EXPECT_DOUBLE_EQ(std::get<double>(ltv->value), 12.5);
  const TypedValue* vip = Trait(m.traits, "vip");
  ASSERT_NE(vip, nullptr);
  EXPECT_EQ(vip->type, TraitType::kBool);
  EXPECT_TRUE(std::get<bool>(vip->value));
  EXPECT_EQ(StringTrait(m.traits, "name"), "Emma");
  // Without a schema an ISO date stays a string.
  EXPECT_EQ(StringTrait(m.traits, "signup"), "2025-01-02T03:04:05Z");
  const TypedValue* tags = Trait(m.traits, "tags");
  ASSERT_NE(tags, nullptr);
  EXPECT_EQ(tags->type, TraitType::kStringList);
  EXPECT_EQ(std::get<StringList>(tags->value), (StringList{"golf", "tennis"}));
  EXPECT_EQ(StringTrait(m.traits, "address.city"), "Paris");
  const TypedValue* lat = Trait(m.traits, "address.geo.lat");
  ASSERT_NE(lat, nullptr);
  EXPECT_EQ(lat->type, TraitType::kDouble);
  EXPECT_EQ(Trait(m.traits, "nothing"), nullptr);
  EXPECT_EQ(m.traits.front().first, "age");  // in arrival order
}

TEST(Collect, IdentifyCoercesToDeclaredTypes) {
  Schema schema;
  ASSERT_TRUE(schema.Add("signup", TraitType::kTimestamp, TraitCategory::kBehavioural).ok());
  ASSERT_TRUE(schema.Add("score", TraitType::kDouble, TraitCategory::kOther).ok());
  ASSERT_TRUE(schema.Add("last_seen", TraitType::kTimestamp, TraitCategory::kBehavioural).ok());
  ParseOptions options = Options();
  options.schema = &schema;
  const Message m = One(R"({"userId":"u","traits":{"signup":"2025-01-02T03:04:05+01:00",
      "score":3,"last_seen":1700000000000,"other":"2025-01-02"}})",
                        MessageKind::kIdentify, options);
  const TypedValue* signup = Trait(m.traits, "signup");
  ASSERT_NE(signup, nullptr);
  EXPECT_EQ(signup->type, TraitType::kTimestamp);
  EXPECT_EQ(std::get<int64_t>(signup->value), Iso("2025-01-02T02:04:05Z"));
  const TypedValue* score = Trait(m.traits, "score");
  ASSERT_NE(score, nullptr);
  EXPECT_EQ(score->type, TraitType::kDouble);
  EXPECT_DOUBLE_EQ(std::get<double>(score->value), 3.0);
  const TypedValue* last_seen = Trait(m.traits, "last_seen");
  ASSERT_NE(last_seen, nullptr);
  EXPECT_EQ(last_seen->type, TraitType::kTimestamp);
  EXPECT_EQ(std::get<int64_t>(last_seen->value), 1700000000000);
  EXPECT_EQ(StringTrait(m.traits, "other"), "2025-01-02");  // undeclared: stays a string

  const MessageError error =
      Refused(R"({"userId":"u","traits":{"signup":"yesterday"}})", MessageKind::kIdentify, options);
  EXPECT_EQ(error.path, "traits.signup");
  EXPECT_NE(error.message.find("timestamp"), std::string::npos) << error.message;
}

TEST(Collect, IdentifyRefusesBadTraits) {
  EXPECT_EQ(Refused(R"({"userId":"u","traits":[1]})", MessageKind::kIdentify).path, "traits");
  EXPECT_EQ(
      Refused(R"({"userId":"u","traits":{"a":{"b":[{"c":1}]}}})", MessageKind::kIdentify).path,
      "traits.a.b");
}

TEST(Collect, PageBecomesPageView) {
  Message m = One(R"({"anonymousId":"a1","name":"Home","category":"Docs","properties":{
      "url":"https://shop.example/?utm_source=news&utm_medium=email&utm_campaign=spring+sale",
      "referrer":"https://www.google.com/search?q=x","title":"Welcome","path":"/"}})",
                  MessageKind::kPage);
  EXPECT_EQ(m.kind, MessageKind::kPage);
  EXPECT_EQ(m.event.type, "page_view");
  EXPECT_EQ(m.event.profile_id, "");
  EXPECT_EQ(m.event.anonymous_id, "a1");
  EXPECT_EQ(m.event.category, "Docs");
  EXPECT_EQ(Property(m.event, "name"), "Home");
  EXPECT_EQ(Property(m.event, "title"), "Welcome");
  EXPECT_EQ(Property(m.event, "path"), "/");
  EXPECT_FALSE(HasProperty(m.event, "url"));
  EXPECT_EQ(m.event.context.page_url,
            "https://shop.example/?utm_source=news&utm_medium=email&utm_campaign=spring+sale");
  EXPECT_EQ(m.event.context.referrer, "https://www.google.com/search?q=x");
  EXPECT_EQ(m.event.context.channel, "web");
  EXPECT_EQ(m.event.context.utm_source, "news");
  EXPECT_EQ(m.event.context.utm_medium, "email");
  EXPECT_EQ(m.event.context.utm_campaign, "spring sale");
  EXPECT_EQ(StringTrait(m.enriched_traits, "last_touch_source"), "news");
  EXPECT_EQ(StringTrait(m.enriched_traits, "last_touch_campaign"), "spring sale");

  // Without properties.url, the context's page.
  m = One(R"({"userId":"u","context":{"page":{"url":"https://shop.example/golf",
      "referrer":"https://shop.example/"}}})",
          MessageKind::kPage);
  EXPECT_EQ(m.event.context.page_url, "https://shop.example/golf");
  EXPECT_EQ(m.event.context.referrer, "https://shop.example/");
  // Navigation inside the site is no touch.
  EXPECT_EQ(Trait(m.enriched_traits, "last_touch_source"), nullptr);
}

TEST(Collect, ScreenGroupAndAlias) {
  Message m = One(R"({"userId":"u","name":"Cart","context":{"app":{"name":"Shop"}}})",
                  MessageKind::kScreen);
  EXPECT_EQ(m.event.type, "screen_view");
  EXPECT_EQ(Property(m.event, "name"), "Cart");
  EXPECT_EQ(m.event.context.channel, "app");

  m = One(R"({"userId":"u","groupId":77,"traits":{"name":"Acme"}})", MessageKind::kGroup);
  EXPECT_EQ(m.event.type, "group");
  EXPECT_EQ(Property(m.event, "group_id"), "77");
  EXPECT_TRUE(m.traits.empty());
  EXPECT_EQ(Refused(R"({"userId":"u"})", MessageKind::kGroup).path, "groupId");

  m = One(R"({"userId":"u2","previousId":"a-old"})", MessageKind::kAlias);
  EXPECT_EQ(m.kind, MessageKind::kAlias);
  EXPECT_EQ(m.user_id, "u2");
  EXPECT_EQ(m.previous_id, "a-old");
  EXPECT_EQ(Refused(R"({"userId":"u2"})", MessageKind::kAlias).path, "previousId");
}

// --- ids -------------------------------------------------------------------------------------

TEST(Collect, NeedsUserIdOrAnonymousId) {
  MessageError error = Refused(R"({"event":"x"})", MessageKind::kTrack);
  EXPECT_EQ(error.path, "userId");
  EXPECT_NE(error.message.find("anonymousId"), std::string::npos);
  error = Refused(R"({"event":"x","userId":"","anonymousId":null})", MessageKind::kTrack);
  EXPECT_EQ(error.path, "userId");
}

TEST(Collect, IntegralIdsBecomeText) {
  EXPECT_EQ(One(R"({"userId":42,"event":"x"})", MessageKind::kTrack).user_id, "42");
  EXPECT_EQ(One(R"({"userId":-7,"event":"x"})", MessageKind::kTrack).user_id, "-7");
  EXPECT_EQ(One(R"({"userId":18446744073709551615,"event":"x"})", MessageKind::kTrack).user_id,
            "18446744073709551615");
  EXPECT_EQ(One(R"({"anonymousId":12.0,"event":"x"})", MessageKind::kTrack).anonymous_id, "12");
  EXPECT_EQ(Refused(R"({"userId":1.5,"event":"x"})", MessageKind::kTrack).path, "userId");
  EXPECT_EQ(Refused(R"({"userId":{"id":1},"event":"x"})", MessageKind::kTrack).path, "userId");
  EXPECT_EQ(Refused(R"({"userId":["1"],"event":"x"})", MessageKind::kTrack).path, "userId");
  EXPECT_EQ(Refused(R"({"userId":true,"event":"x"})", MessageKind::kTrack).path, "userId");
  EXPECT_EQ(Refused(R"({"userId":"u","anonymousId":[],"event":"x"})", MessageKind::kTrack).path,
            "anonymousId");
}

TEST(Collect, MissingMessageIdIsDerivedFromTheContent) {
  const std::string body = R"({"userId":"u","event":"Clicked","timestamp":"2026-03-01T00:00:00Z"})";
  const Message a = One(body, MessageKind::kTrack);
  const Message b = One(body, MessageKind::kTrack);
  EXPECT_FALSE(a.message_id.empty());
  EXPECT_EQ(a.message_id, b.message_id);
  EXPECT_EQ(a.event.id, a.message_id);
  const Message c = One(R"({"userId":"u","event":"Clicked","timestamp":"2026-03-01T00:00:01Z"})",
                        MessageKind::kTrack);
  EXPECT_NE(a.message_id, c.message_id);
  // The same message inside a batch gets the same id as when sent alone.
  const ParseResult batch = Parse(R"({"batch":[{"type":"track","userId":"u","event":"Clicked",
      "timestamp":"2026-03-01T00:00:00Z"}]})",
                                  std::nullopt);
  ASSERT_EQ(batch.messages.size(), 1u);
  const Message alone = One(R"({"type":"track","userId":"u","event":"Clicked",
      "timestamp":"2026-03-01T00:00:00Z"})",
                            MessageKind::kTrack);
  EXPECT_EQ(batch.messages[0].message_id, alone.message_id);
  EXPECT_EQ(
      One(R"({"userId":"u","event":"x","messageId":"given"})", MessageKind::kTrack).message_id,
      "given");
}

// --- batches ---------------------------------------------------------------------------------

TEST(Collect, BatchKeepsGoodMessagesAroundABadOne) {
  const ParseResult result = Parse(R"({"batch":[
      {"type":"identify","userId":"u1","traits":{"plan":"pro"}},
      {"type":"track","userId":{"bad":true},"event":"Order Completed"},
      {"type":"track","anonymousId":"a3","event":"Signed Up"},
      {"type":"page","userId":"u4"}]})",
                                   std::nullopt);
  ASSERT_EQ(result.messages.size(), 3u);
  EXPECT_EQ(result.messages[0].index, 0u);
  EXPECT_EQ(result.messages[0].kind, MessageKind::kIdentify);
  EXPECT_EQ(result.messages[1].index, 2u);
  EXPECT_EQ(result.messages[1].event.type, "signed_up");
  EXPECT_EQ(result.messages[2].index, 3u);
  EXPECT_EQ(result.messages[2].kind, MessageKind::kPage);
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].index, 1u);
  EXPECT_EQ(result.errors[0].path, "batch[1].userId");
  EXPECT_FALSE(result.errors[0].message.empty());
}

TEST(Collect, BatchMembersNeedAKnownType) {
  const ParseResult result = Parse(R"({"batch":[{"type":"purchase","userId":"u"},
      {"userId":"u","event":"x"},"text",{"type":"alias","userId":"u","previousId":"p"}]})",
                                   std::nullopt);
  ASSERT_EQ(result.errors.size(), 3u);
  EXPECT_EQ(result.errors[0].path, "batch[0].type");
  EXPECT_NE(result.errors[0].message.find("purchase"), std::string::npos);
  EXPECT_EQ(result.errors[1].path, "batch[1].type");
  EXPECT_EQ(result.errors[2].path, "batch[2]");
  ASSERT_EQ(result.messages.size(), 1u);
  EXPECT_EQ(result.messages[0].kind, MessageKind::kAlias);
}

TEST(Collect, BatchContextSitsUnderEachMessagesContext) {
  const ParseResult result = Parse(R"({"writeKey":"k","batch":[
      {"type":"track","userId":"u","event":"x","context":{"ip":"10.0.0.2",
        "location":{"city":"Lyon"}}},
      {"type":"track","userId":"u","event":"y"}],
      "context":{"ip":"10.0.0.1","userAgent":"curl/8.0","location":{"country":"FR","city":"Paris"}}})",
                                   std::nullopt);
  ASSERT_EQ(result.messages.size(), 2u);
  const EventContext& first = result.messages[0].event.context;
  EXPECT_EQ(first.ip, "10.0.0.2");
  EXPECT_EQ(first.city, "Lyon");
  EXPECT_EQ(first.country, "FR");
  EXPECT_EQ(first.user_agent, "curl/8.0");
  const EventContext& second = result.messages[1].event.context;
  EXPECT_EQ(second.ip, "10.0.0.1");
  EXPECT_EQ(second.city, "Paris");
  EXPECT_EQ(StringTrait(result.messages[1].enriched_traits, "device_type"), "bot");
}

TEST(Collect, BatchBodyShape) {
  EXPECT_EQ(ParseRequest(R"({"messages":[]})", std::nullopt, Options()).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseRequest(R"({"batch":{}})", std::nullopt, Options()).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseRequest(R"([{"userId":"u"}])", MessageKind::kTrack, Options()).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(
      ParseRequest(R"({"batch":[],"sentAt":"soon"})", std::nullopt, Options()).status().code(),
      StatusCode::kInvalidArgument);
  const ParseResult empty = Parse(R"({"batch":[]})", std::nullopt);
  EXPECT_TRUE(empty.messages.empty());
  EXPECT_TRUE(empty.errors.empty());
}

TEST(Collect, UnknownFieldsAreIgnored) {
  const Message m = One(R"({"userId":"u","event":"x","integrations":{"All":false},
      "receivedAt":"2020-01-01T00:00:00Z","version":2,"writeKey":"w","_metadata":{"a":[1]},
      "context":{"library":{"name":"analytics.js"},"locale":"fr-FR"}})",
                        MessageKind::kTrack);
  EXPECT_EQ(m.event.type, "x");
  EXPECT_EQ(m.event.time, kNow);  // receivedAt is the server's to set, not the client's
}

// --- time ------------------------------------------------------------------------------------

TEST(Collect, TimestampsInIsoForms) {
  auto time_of = [](std::string_view stamp) {
    return One(fmt::format(R"({{"userId":"u","event":"x","timestamp":"{}"}})", stamp),
               MessageKind::kTrack)
        .event.time;
  };
  EXPECT_EQ(time_of("2026-03-01T10:00:00Z"), Iso("2026-03-01T10:00:00Z"));
  EXPECT_EQ(time_of("2026-03-01T12:00:00+02:00"), Iso("2026-03-01T10:00:00Z"));
  EXPECT_EQ(time_of("2026-03-01T05:00:00-05:00"), Iso("2026-03-01T10:00:00Z"));
  EXPECT_EQ(time_of("2026-03-01T10:00:00.250Z"), Iso("2026-03-01T10:00:00Z") + 250);
  EXPECT_EQ(time_of("2026-03-01T10:00:00.5+00:00"), Iso("2026-03-01T10:00:00Z") + 500);

  MessageError error =
      Refused(R"({"userId":"u","event":"x","timestamp":"last tuesday"})", MessageKind::kTrack);
  EXPECT_EQ(error.path, "timestamp");
  error = Refused(R"({"userId":"u","event":"x","timestamp":1700000000})", MessageKind::kTrack);
  EXPECT_EQ(error.path, "timestamp");
  error = Refused(R"({"userId":"u","event":"x","sentAt":"nope"})", MessageKind::kTrack);
  EXPECT_EQ(error.path, "sentAt");
}

TEST(Collect, ClockSkewIsCorrectedWithSentAt) {
  // The client's clock is 10 minutes fast: it says it sent at 12:10 what reached us at 12:00.
  Message m = One(R"({"userId":"u","event":"x","timestamp":"2026-03-04T11:50:00Z",
      "sentAt":"2026-03-04T12:10:00Z"})",
                  MessageKind::kTrack);
  EXPECT_EQ(m.event.time, Iso("2026-03-04T11:40:00Z"));
  // originalTimestamp stands in for timestamp, with the same correction.
  m = One(R"({"userId":"u","event":"x","originalTimestamp":"2026-03-04T11:50:00Z",
      "sentAt":"2026-03-04T12:10:00Z"})",
          MessageKind::kTrack);
  EXPECT_EQ(m.event.time, Iso("2026-03-04T11:40:00Z"));
  // timestamp wins over originalTimestamp.
  m = One(R"({"userId":"u","event":"x","timestamp":"2026-03-04T11:00:00Z",
      "originalTimestamp":"2026-03-04T11:50:00Z"})",
          MessageKind::kTrack);
  EXPECT_EQ(m.event.time, Iso("2026-03-04T11:00:00Z"));
  // No sentAt: no correction. No time at all: the server's clock.
  m = One(R"({"userId":"u","event":"x","timestamp":"2026-03-04T11:50:00Z"})", MessageKind::kTrack);
  EXPECT_EQ(m.event.time, Iso("2026-03-04T11:50:00Z"));
  m = One(R"({"userId":"u","event":"x","sentAt":"2026-03-04T12:10:00Z"})", MessageKind::kTrack);
  EXPECT_EQ(m.event.time, kNow);
  // A batch's sentAt applies to members that have none.
  const ParseResult result = Parse(R"({"sentAt":"2026-03-04T11:59:00Z","batch":[
      {"type":"track","userId":"u","event":"x","timestamp":"2026-03-04T11:00:00Z"},
      {"type":"track","userId":"u","event":"x","timestamp":"2026-03-04T11:00:00Z",
       "sentAt":"2026-03-04T11:30:00Z"}]})",
                                   std::nullopt);
  ASSERT_EQ(result.messages.size(), 2u);
  EXPECT_EQ(result.messages[0].event.time, Iso("2026-03-04T11:01:00Z"));
  EXPECT_EQ(result.messages[1].event.time, Iso("2026-03-04T11:30:00Z"));
}

TEST(Collect, FutureTimestampsAreRefused) {
  ParseOptions options = Options();
  options.limits.max_future_ms = 3600 * 1000;
  EXPECT_EQ(One(R"({"userId":"u","event":"x","timestamp":"2026-03-04T12:59:00Z"})",
                MessageKind::kTrack, options)
                .event.time,
            Iso("2026-03-04T12:59:00Z"));
  MessageError error = Refused(R"({"userId":"u","event":"x","timestamp":"2026-03-04T13:01:00Z"})",
                               MessageKind::kTrack, options);
  EXPECT_EQ(error.path, "timestamp");
  error = Refused(R"({"userId":"u","event":"x","originalTimestamp":"2027-01-01T00:00:00Z"})",
                  MessageKind::kTrack, options);
  EXPECT_EQ(error.path, "originalTimestamp");
  // A fast client clock is no future event once corrected.
  EXPECT_EQ(One(R"({"userId":"u","event":"x","timestamp":"2026-03-05T12:00:00Z",
      "sentAt":"2026-03-05T12:00:05Z"})",
                MessageKind::kTrack, options)
                .event.time,
            kNow - 5000);
}

// --- limits and malformed bodies -------------------------------------------------------------

TEST(Collect, BodyOverTheLimitFailsWhole) {
  ParseOptions options = Options();
  options.limits.max_batch_bytes = 64;
  const std::string body =
      R"({"batch":[{"type":"track","userId":"u","event":")" + std::string(100, 'x') + R"("}]})";
  const Result<ParseResult> result = ParseRequest(body, std::nullopt, options);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kResourceExhausted);
}

TEST(Collect, MessageOverTheLimitIsRefusedAlone) {
  ParseOptions options = Options();
  options.limits.max_message_bytes = 100;
  const std::string body = R"({"batch":[{"type":"track","userId":"u","event":"small"},
      {"type":"track","userId":"u","event":")" +
                           std::string(200, 'x') + R"("}]})";
  const ParseResult result = Parse(body, std::nullopt, options);
  ASSERT_EQ(result.messages.size(), 1u);
  EXPECT_EQ(result.messages[0].event.type, "small");
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].index, 1u);
  EXPECT_EQ(result.errors[0].path, "batch[1]");
  EXPECT_NE(result.errors[0].message.find("100"), std::string::npos);
}

TEST(Collect, LongArraysAreRefused) {
  ParseOptions options = Options();
  options.limits.max_array_length = 3;
  const MessageError error = Refused(R"({"userId":"u","traits":{"tags":["a","b","c","d"]}})",
                                     MessageKind::kIdentify, options);
  EXPECT_EQ(error.path, "traits.tags");
  EXPECT_EQ(ParseRequest(R"({"batch":[{},{},{},{}]})", std::nullopt, options).status().code(),
            StatusCode::kResourceExhausted);
}

TEST(Collect, DepthLimitFailsTheWholeBody) {
  ParseOptions options = Options();
  options.limits.max_depth = 4;
  // Depth 4: the body, properties, a, b.
  One(R"({"userId":"u","event":"x","properties":{"a":{"b":{}}}})", MessageKind::kTrack, options);
  const std::string deep = R"({"userId":"u","event":"x","properties":{"a":{"b":{"c":{}}}}})";
  const Result<ParseResult> result = ParseRequest(deep, MessageKind::kTrack, options);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(result.status().message().find("deeper than 4"), std::string::npos)
      << result.status().ToString();
  EXPECT_NE(result.status().message().find(fmt::format("byte {}", deep.rfind("{}"))),
            std::string::npos)
      << result.status().ToString();
}

TEST(Collect, MalformedJsonNamesTheByte) {
  struct Case {
    std::string body;
    size_t offset;
  };
  const Case cases[] = {
      {R"({"userId":"u",})", 14},  // a comma before '}'
      {R"({"userId" "u"})", 10},   // missing colon
      {R"({"userId":"u")", 13},    // cut short
      {R"({"userId":tru})", 10},   // bad literal
      {R"({"a":"\q"})", 7},        // bad escape
      {"{\"a\":\"\xff\"}", 6},     // invalid UTF-8
      {R"({"a":1} x)", 8},         // trailing text
      {"", 0},                     // empty body
  };
  for (const Case& c : cases) {
    const Result<ParseResult> result = ParseRequest(c.body, MessageKind::kTrack, Options());
    ASSERT_FALSE(result.ok()) << c.body;
    EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument) << c.body;
    EXPECT_NE(result.status().message().find(fmt::format("byte {}:", c.offset)), std::string::npos)
        << c.body << " -> " << result.status().ToString();
  }
}

// --- enrichment ------------------------------------------------------------------------------

TEST(Collect, ContextAndEnrichedTraits) {
  const Message m = One(R"({"userId":"u","event":"Product Viewed","context":{
      "ip":"203.0.113.9",
      "userAgent":"Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
      "page":{"url":"https://shop.example/p/1","referrer":"https://l.facebook.com/"},
      "campaign":{"name":"spring","source":"newsletter","medium":"email"},
      "location":{"country":"DE","city":"Berlin"}}})",
                        MessageKind::kTrack);
  const EventContext& c = m.event.context;
  EXPECT_EQ(c.ip, "203.0.113.9");
  EXPECT_EQ(c.page_url, "https://shop.example/p/1");
  EXPECT_EQ(c.referrer, "https://l.facebook.com/");
  EXPECT_EQ(c.utm_source, "newsletter");
  EXPECT_EQ(c.utm_medium, "email");
  EXPECT_EQ(c.utm_campaign, "spring");
  EXPECT_EQ(c.country, "DE");
  EXPECT_EQ(c.city, "Berlin");
  EXPECT_EQ(c.channel, "web");
  EXPECT_EQ(StringTrait(m.enriched_traits, "device_type"), "mobile");
  EXPECT_EQ(StringTrait(m.enriched_traits, "device_os"), "ios");
  EXPECT_EQ(StringTrait(m.enriched_traits, "browser"), "safari");
  EXPECT_EQ(StringTrait(m.enriched_traits, "last_touch_source"), "newsletter");
  EXPECT_EQ(StringTrait(m.enriched_traits, "last_touch_medium"), "email");
  EXPECT_EQ(StringTrait(m.enriched_traits, "last_touch_campaign"), "spring");

  // A referrer alone classifies by host; identify carries enrichment too.
  const Message identify = One(R"({"userId":"u","context":{"page":{"url":"https://shop.example/",
      "referrer":"https://www.google.de/"}}})",
                               MessageKind::kIdentify);
  EXPECT_EQ(StringTrait(identify.enriched_traits, "last_touch_source"), "google");
  EXPECT_EQ(StringTrait(identify.enriched_traits, "last_touch_medium"), "organic");
  EXPECT_EQ(Trait(identify.enriched_traits, "device_type"), nullptr);
}

TEST(Collect, ChannelRules) {
  auto channel = [](std::string_view context) {
    return One(fmt::format(R"({{"userId":"u","event":"x","context":{}}})", context),
               MessageKind::kTrack)
        .event.context.channel;
  };
  EXPECT_EQ(channel(R"({"channel":"email"})"), "email");
  EXPECT_EQ(channel(R"({"device":{"type":"ios"},"userAgent":"Mozilla"})"), "app");
  EXPECT_EQ(channel(R"({"page":{"path":"/"}})"), "web");
  EXPECT_EQ(channel(R"({"userAgent":"Mozilla/5.0"})"), "web");
  EXPECT_EQ(channel(R"({"ip":"1.2.3.4"})"), "server");
  EXPECT_EQ(Refused(R"({"userId":"u","event":"x","context":"web"})", MessageKind::kTrack).path,
            "context");
  EXPECT_EQ(
      Refused(R"({"userId":"u","event":"x","context":{"ip":["1"]}})", MessageKind::kTrack).path,
      "context.ip");
}

TEST(UserAgent, CommonBrowsers) {
  struct Case {
    std::string_view ua, device, os, browser;
  };
  const Case cases[] = {
      {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
       "Chrome/120.0.0.0 Safari/537.36",
       "desktop", "windows", "chrome"},
      {"Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
       "Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
       "mobile", "ios", "safari"},
      {"Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
       "Version/16.6 Mobile/15E148 Safari/604.1",
       "tablet", "ios", "safari"},
      {"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
       "Chrome/120.0.6099.144 Mobile Safari/537.36",
       "mobile", "android", "chrome"},
      {"Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) "
       "Chrome/120.0.0.0 Safari/537.36",
       "tablet", "android", "chrome"},
      {"Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0", "desktop", "linux",
       "firefox"},
      {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
       "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
       "desktop", "windows", "edge"},
      {"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
       "Version/17.2 Safari/605.1.15",
       "desktop", "macos", "safari"},
      {"Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
       "SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
       "mobile", "android", "samsung_internet"},
      {"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
       "Chrome/120.0.0.0 Safari/537.36",
       "desktop", "chromeos", "chrome"},
      {"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "bot", "other",
       "other"},
      {"", "other", "other", "other"},
  };
  for (const Case& c : cases) {
    const UserAgentInfo info = ParseUserAgent(c.ua);
    EXPECT_EQ(info.device_type, c.device) << c.ua;
    EXPECT_EQ(info.os, c.os) << c.ua;
    EXPECT_EQ(info.browser, c.browser) << c.ua;
  }
}

TEST(Touch, ClassifyTouch) {
  TouchPoint t = ClassifyTouch("https://www.google.com/", "newsletter", "email", "spring");
  EXPECT_EQ(t.source, "newsletter");  // utm_source wins over the referrer
  EXPECT_EQ(t.medium, "email");
  EXPECT_EQ(t.campaign, "spring");
  t = ClassifyTouch("https://www.google.co.uk/search?q=golf", "", "", "");
  EXPECT_EQ(t.source, "google");
  EXPECT_EQ(t.medium, "organic");
  EXPECT_EQ(t.campaign, "");
  t = ClassifyTouch("https://l.facebook.com/l.php?u=x", "", "", "");
  EXPECT_EQ(t.source, "facebook");
  EXPECT_EQ(t.medium, "social");
  t = ClassifyTouch("https://mail.google.com/mail/u/0/", "", "", "");
  EXPECT_EQ(t.source, "gmail");
  EXPECT_EQ(t.medium, "email");
  t = ClassifyTouch("https://t.co/abc", "", "", "");
  EXPECT_EQ(t.source, "twitter");
  t = ClassifyTouch("https://blog.Example.org:8080/post", "", "", "");
  EXPECT_EQ(t.source, "blog.example.org");
  EXPECT_EQ(t.medium, "referral");
  t = ClassifyTouch("", "", "", "");
  EXPECT_EQ(t.source, "direct");
  EXPECT_EQ(t.medium, "none");
  // A paid Google click tagged by hand keeps its medium.
  t = ClassifyTouch("https://www.google.com/", "", "cpc", "brand");
  EXPECT_EQ(t.source, "google");
  EXPECT_EQ(t.medium, "cpc");
  EXPECT_EQ(t.campaign, "brand");
}

TEST(Touch, ParseUtm) {
  UtmParams utm = ParseUtm(
      "https://shop.example/p?id=1&utm_source=news%20letter&utm_medium=e%2Dmail&"
      "utm_campaign=spring+sale%21#utm_source=ignored");
  EXPECT_EQ(utm.source, "news letter");
  EXPECT_EQ(utm.medium, "e-mail");
  EXPECT_EQ(utm.campaign, "spring sale!");
  utm = ParseUtm("https://shop.example/?utm_source=a&utm_source=b&utm_medium=%zz");
  EXPECT_EQ(utm.source, "a");    // the first wins
  EXPECT_EQ(utm.medium, "%zz");  // a malformed escape is kept
  EXPECT_EQ(utm.campaign, "");
  utm = ParseUtm("https://shop.example/utm_source=x");
  EXPECT_EQ(utm.source, "");
  EXPECT_EQ(ParseUtm("").source, "");
}

TEST(Touch, EventTypeFromName) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"Product Viewed", "product_view"},
      {"Product Added", "add_to_cart"},
      {"Product Removed", "remove_from_cart"},
      {"Order Completed", "purchase"},
      {"Order Refunded", "refund"},
      {"Products Searched", "search"},
      {"Checkout Started", "checkout_start"},
      {"Product List Viewed", "product_list_view"},
      {"Email Opened", "email_open"},
      {"Email Link Clicked", "email_click"},
      {"Application Opened", "app_open"},
      {"Push Notification Tapped", "push_open"},
      {"Survey Answered", "survey_answer"},
      {"order completed", "purchase"},
      {"Signed Up", "signed_up"},
      {"add_to_cart", "add_to_cart"},
      {"purchase", "purchase"},
      {"videoPlayed", "video_played"},
      {"  Video -- Played!! ", "video_played"},
      {"Level 2 Reached", "level_2_reached"},
      {"Café Visited", "café_visited"},
  };
  for (const auto& [name, type] : cases) EXPECT_EQ(EventTypeFromName(name), type) << name;
}

}  // namespace
}  // namespace tailor::collect

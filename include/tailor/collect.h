#pragma once

// Collecting behaviour the way web analytics sends it: the Segment HTTP Tracking API payloads
// (track, identify, page, screen, group, alias, batch) parsed into tailor's records, with
// per-message errors, size limits and enrichment (user agent, campaign, referrer). Pure
// functions: nothing here touches the store; the service applies what comes out.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tailor/schema.h"
#include "tailor/status.h"
#include "tailor/types.h"

namespace tailor::collect {

enum class MessageKind : uint8_t { kTrack, kIdentify, kPage, kScreen, kGroup, kAlias };
std::string_view MessageKindName(MessageKind kind);

struct Limits {
  size_t max_message_bytes = 32 * 1024;  // one message, as Segment's API documents
  size_t max_batch_bytes = 500 * 1024;   // a whole request body
  size_t max_depth = 16;                 // JSON nesting
  size_t max_array_length = 2000;        // any array, the batch included
  // Events later than the server's clock by more than this are refused.
  Timestamp max_future_ms = 24 * 3600 * 1000;
};

// One accepted message, translated.
struct Message {
  MessageKind kind = MessageKind::kTrack;
  size_t index = 0;        // position in the batch (0 for a single call)
  std::string message_id;  // messageId, or one derived from the content when absent
  std::string user_id;     // userId ("" if none)
  std::string anonymous_id;
  // When it happened (timestamp, else originalTimestamp, corrected for clock skew; else now).
  Timestamp time = 0;
  // kTrack / kPage / kScreen / kGroup: the event (profile_id = user_id, anonymous_id set,
  // id = message_id, type: see docs/api.md for names, time corrected for clock skew).
  EventInput event;
  // kTrack with a `products` array (Segment's e-commerce spec: Order Completed, Cart Viewed,
  // Checkout Started, Product List Viewed, ...): one event per product, stored instead of
  // `event`. Each line has the message's type, time, owner and context, the order's order_id
  // (else checkout_id, else cart_id), its own item_id (product_id, sku or id), category, price,
  // quantity, and as properties its other fields (name, brand, variant, coupon, position, url,
  // ...) and the order's, prefixed "order." (order.revenue, order.currency, order.coupon, ...).
  // A line's value is its own spend (price * quantity), so summing lines never counts the order's
  // revenue more than once; the revenue is still on every line as order.<revenue|total|value>.
  // Line ids are "<messageId>/<position in the array>", so a re-sent message stores nothing twice.
  std::vector<EventInput> lines;
  // kIdentify (traits) and kGroup (group traits are not profile traits; empty): the profile's
  // traits, typed as the JSON said (numbers: int when integral, else double; ISO-8601 strings
  // stay strings unless `schema` declares the trait a timestamp; arrays of strings: lists).
  TraitMap traits;
  // Traits derived from the context: device_type, device_os, browser (technographic), and, from the
  // campaign/referrer: last_touch_source, last_touch_medium, last_touch_campaign.
  TraitMap enriched_traits;
  // kAlias: previousId (user_id holds userId).
  std::string previous_id;
  // context.ip, any kind ("" if the message has none): the service locates it when a GeoIP
  // database is configured.
  std::string ip;
};

// One refused message: where and why.
struct MessageError {
  size_t index = 0;
  std::string path;  // JSON path of the offending field, e.g. "batch[3].timestamp"
  std::string message;
};

struct ParseResult {
  std::vector<Message> messages;  // accepted, in batch order
  std::vector<MessageError> errors;
};

struct ParseOptions {
  Limits limits;
  Timestamp now = 0;               // the server's clock, for sentAt skew correction
  const Schema* schema = nullptr;  // optional: declared trait types to coerce identify traits to
};

// Parses a request body. `kind` is the endpoint: a single message (/v1/track, ...) or, with
// std::nullopt, a batch ({"batch": [...], "sentAt", "context"}) whose members name their own
// `type`. A body that is not JSON, too large or too deep fails as a whole (kInvalidArgument or
// kResourceExhausted, message with the byte offset); otherwise every message is either accepted
// or listed in `errors`, so one bad message never loses the rest.
Result<ParseResult> ParseRequest(std::string_view body, std::optional<MessageKind> kind,
                                 const ParseOptions& options);

// The technographic reading of a User-Agent header.
struct UserAgentInfo {
  std::string device_type;  // desktop, mobile, tablet, bot, other
  std::string os;           // windows, macos, ios, android, linux, chromeos, other
  std::string browser;      // chrome, safari, firefox, edge, opera, samsung_internet, other
};
UserAgentInfo ParseUserAgent(std::string_view user_agent);

// Acquisition source from a referrer URL and UTM fields: utm_source wins; else the referrer's
// host mapped to a name (google, bing, facebook, ...) or the host itself; "direct" when neither.
struct TouchPoint {
  std::string source, medium, campaign;
};
TouchPoint ClassifyTouch(std::string_view referrer, std::string_view utm_source,
                         std::string_view utm_medium, std::string_view utm_campaign);

// utm_* parameters of a URL's query string (percent-decoded); empty when absent.
struct UtmParams {
  std::string source, medium, campaign;
};
UtmParams ParseUtm(std::string_view url);

// Segment event names to tailor's event types: the e-commerce spec's names map to the types the
// rest of tailor uses ("Order Completed" -> purchase, "Product Added" -> add_to_cart, ...);
// anything else becomes snake_case ("Signed Up" -> signed_up).
std::string EventTypeFromName(std::string_view name);

}  // namespace tailor::collect

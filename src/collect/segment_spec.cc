// Segment HTTP Tracking API payloads (track, identify, page, screen, group, alias, batch) to
// tailor's records. The body is parsed once with simdjson's DOM; each message is then checked
// and mapped on its own, so one bad message is listed in `errors` and the rest go on. Only what
// makes the body unreadable as a whole (size, syntax, depth, a batch without "batch") fails the
// call.

#include <simdjson.h>
#include <xxhash.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cmath>
#include <initializer_list>

#include "common/strings.h"
#include "common/time.h"
#include "tailor/clock.h"
#include "tailor/collect.h"

namespace tailor::collect {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

constexpr std::array<std::string_view, 6> kKindNames = {"track",  "identify", "page",
                                                        "screen", "group",    "alias"};

std::optional<MessageKind> KindFromName(std::string_view name) {
  for (size_t i = 0; i < kKindNames.size(); ++i) {
    if (kKindNames[i] == name) return static_cast<MessageKind>(i);
  }
  return std::nullopt;
}

Status ResourceExhausted(std::string message) {
  return Status(StatusCode::kResourceExhausted, std::move(message));
}

// Finds where a body that simdjson refused goes wrong, for an error message that names the byte:
// simdjson's DOM reports what failed but not where. Containers nest at most `max_depth` deep
// (`{}` is depth 1), so the recursion is bounded.
class JsonFaultFinder {
 public:
  JsonFaultFinder(std::string_view text, size_t max_depth) : text_(text), max_depth_(max_depth) {}

  // The fault, or nullopt when this scanner finds the text well-formed.
  std::optional<Status> Find() {
    SkipSpace();
    if (!Value(0)) return fault_;
    SkipSpace();
    if (pos_ != text_.size()) {
      Fail("text after the end of the JSON value");
      return fault_;
    }
    return std::nullopt;
  }

 private:
  bool Fail(std::string_view what) {
    fault_ = InvalidArgument("malformed JSON at byte {}: {}", pos_, what);
    return false;
  }
  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return AtEnd() ? '\0' : text_[pos_]; }
  void SkipSpace() {
    while (!AtEnd() && (Peek() == ' ' || Peek() == '\t' || Peek() == '\n' || Peek() == '\r')) {
      ++pos_;
    }
  }

  bool Value(size_t depth) {
    if (AtEnd()) return Fail("unexpected end of input, expected a value");
    switch (Peek()) {
      case '{':
      case '[':
        return Container(depth + 1);
      case '"':
        return String();
      case 't':
        return Literal("true");
      case 'f':
        return Literal("false");
      case 'n':
        return Literal("null");
      default:
        if (Peek() == '-' || (Peek() >= '0' && Peek() <= '9')) return Number();
        return Fail("expected a value");
    }
  }

  bool Container(size_t depth) {
    if (depth > max_depth_) {
      fault_ = InvalidArgument("JSON nested deeper than {} levels at byte {}", max_depth_, pos_);
      return false;
    }
    const bool is_object = Peek() == '{';
    const char close = is_object ? '}' : ']';
    ++pos_;
    SkipSpace();
    if (Peek() == close) {
      ++pos_;
      return true;
    }
    while (true) {
      if (is_object) {
        if (Peek() != '"') return Fail("expected a string key");
        if (!String()) return false;
        SkipSpace();
        if (Peek() != ':') return Fail("expected ':' after an object key");
        ++pos_;
        SkipSpace();
      }
      if (!Value(depth)) return false;
      SkipSpace();
      if (Peek() == ',') {
        ++pos_;
        SkipSpace();
        continue;
      }
      if (Peek() == close) {
        ++pos_;
        return true;
      }
      return Fail(is_object ? "expected ',' or '}'" : "expected ',' or ']'");
    }
  }

  bool Literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return Fail("expected a value");
    pos_ += word.size();
    return true;
  }

  bool Digits() {
    const size_t start = pos_;
    while (!AtEnd() && Peek() >= '0' && Peek() <= '9') ++pos_;
    return pos_ > start || Fail("expected a digit");
  }

  bool Number() {
    if (Peek() == '-') ++pos_;
    if (Peek() == '0') {
      ++pos_;
    } else if (!Digits()) {
      return false;
    }
    if (Peek() == '.') {
      ++pos_;
      if (!Digits()) return false;
    }
    if (Peek() == 'e' || Peek() == 'E') {
      ++pos_;
      if (Peek() == '+' || Peek() == '-') ++pos_;
      if (!Digits()) return false;
    }
    return true;
  }

  static bool IsHex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  }

  bool String() {
    ++pos_;  // the opening quote
    while (true) {
      if (AtEnd()) return Fail("unterminated string");
      const auto c = static_cast<unsigned char>(Peek());
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c < 0x20) return Fail("control character in a string");
      if (c == '\\') {
        ++pos_;
        const char escape = Peek();
        if (escape == 'u') {
          for (int i = 1; i <= 4; ++i) {
            if (pos_ + i >= text_.size() || !IsHex(text_[pos_ + i])) {
              return Fail("bad \\u escape");
            }
          }
          pos_ += 5;
        } else if (std::string_view("\"\\/bfnrt").find(escape) != std::string_view::npos &&
                   !AtEnd()) {
          ++pos_;
        } else {
          return Fail("bad escape in a string");
        }
        continue;
      }
      if (c < 0x80) {
        ++pos_;
        continue;
      }
      if (!Utf8Sequence(c)) return Fail("invalid UTF-8");
    }
  }

  // One multi-byte UTF-8 sequence starting with `lead`; no overlong forms or surrogates.
  bool Utf8Sequence(unsigned char lead) {
    size_t length;
    uint32_t code;
    if ((lead & 0xE0) == 0xC0) {
      length = 2, code = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
      length = 3, code = lead & 0x0F;
    } else if ((lead & 0xF8) == 0xF0) {
      length = 4, code = lead & 0x07;
    } else {
      return false;
    }
    if (pos_ + length > text_.size()) return false;
    for (size_t i = 1; i < length; ++i) {
      const auto next = static_cast<unsigned char>(text_[pos_ + i]);
      if ((next & 0xC0) != 0x80) return false;
      code = (code << 6) | (next & 0x3F);
    }
    static constexpr uint32_t kMinimum[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code < kMinimum[length] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) {
      return false;
    }
    pos_ += length;
    return true;
  }

  std::string_view text_;
  size_t max_depth_;
  size_t pos_ = 0;
  Status fault_;
};

// A JSON number or scalar as text: numbers as their shortest round-trip form (so "19.90" comes
// out as "19.9"), booleans true/false; containers as compact JSON.
std::string ScalarText(element value) {
  switch (value.type()) {
    case element_type::STRING:
      return std::string(value.get_string().value_unsafe());
    case element_type::INT64:
      return std::to_string(value.get_int64().value_unsafe());
    case element_type::UINT64:
      return std::to_string(value.get_uint64().value_unsafe());
    case element_type::DOUBLE:
      return fmt::format("{}", value.get_double().value_unsafe());
    case element_type::BOOL:
      return value.get_bool().value_unsafe() ? "true" : "false";
    case element_type::NULL_VALUE:
      return "null";
    case element_type::ARRAY:
    case element_type::OBJECT:
      return simdjson::minify(value);
  }
  return {};
}

bool IsNumber(element value) {
  const element_type type = value.type();
  return type == element_type::INT64 || type == element_type::UINT64 ||
         type == element_type::DOUBLE;
}

// The value of `key`, or nullopt when absent or null (JSON null means "not given" throughout).
std::optional<element> Member(object from, std::string_view key) {
  element value;
  if (from.at_key(key).get(value) || value.is_null()) return std::nullopt;
  return value;
}

// Host of a URL, lower case, without "www." and port ("" if none).
std::string HostOf(std::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return {};
  url.remove_prefix(scheme + 3);
  url = url.substr(0, url.find_first_of("/?#"));
  url = url.substr(0, url.find(':'));
  std::string host;
  for (char c : url) host.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (host.starts_with("www.")) host.erase(0, 4);
  return host;
}

// Parses one message of a request into a Message, or describes why it is refused.
class MessageParser {
 public:
  MessageParser(const ParseOptions& options, Timestamp now, std::optional<object> batch_context,
                std::optional<Timestamp> batch_sent_at)
      : options_(options),
        now_(now),
        batch_context_(batch_context),
        batch_sent_at_(batch_sent_at) {}

  // Appends to `result` the message or its error. `prefix` is the path of the message
  // ("batch[3]", or "" for a single call).
  void Parse(element root, std::optional<MessageKind> kind, size_t index, std::string prefix,
             ParseResult& result) {
    prefix_ = std::move(prefix);
    error_ = MessageError{index, {}, {}};
    Message message;
    message.index = index;
    if (Run(root, kind, message)) {
      result.messages.push_back(std::move(message));
    } else {
      result.errors.push_back(std::move(error_));
    }
  }

 private:
  std::string PathOf(std::string_view field) const {
    if (prefix_.empty()) return std::string(field);
    if (field.empty()) return prefix_;
    return fmt::format("{}.{}", prefix_, field);
  }

  bool Fail(std::string_view field, std::string message) {
    error_.path = PathOf(field);
    error_.message = std::move(message);
    return false;
  }

  bool Run(element root, std::optional<MessageKind> endpoint_kind, Message& message) {
    object fields;
    if (root.get_object().get(fields)) return Fail("", "a message must be a JSON object");
    const std::string text = simdjson::minify(root);
    if (text.size() > options_.limits.max_message_bytes) {
      return Fail("", fmt::format("message of {} bytes is over the limit of {} bytes", text.size(),
                                  options_.limits.max_message_bytes));
    }
    std::string path;
    if (!CheckArrays(root, path)) return false;

    // The kind: the endpoint's, else the member's own "type".
    if (endpoint_kind) {
      message.kind = *endpoint_kind;
    } else {
      const std::optional<element> type = Member(fields, "type");
      std::string_view name;
      if (!type || type->get_string().get(name)) {
        return Fail("type", "a batch message needs a string \"type\"");
      }
      const std::optional<MessageKind> kind = KindFromName(name);
      if (!kind) {
        return Fail("type", fmt::format("unknown message type '{}' (expected track, identify, "
                                        "page, screen, group or alias)",
                                        name));
      }
      message.kind = *kind;
    }

    if (!IdField(fields, "userId", message.user_id) ||
        !IdField(fields, "anonymousId", message.anonymous_id)) {
      return false;
    }
    if (message.user_id.empty() && message.anonymous_id.empty()) {
      return Fail("userId", "a message needs a userId or an anonymousId");
    }
    if (!IdField(fields, "messageId", message.message_id)) return false;
    if (message.message_id.empty()) {
      message.message_id = fmt::format("{:016x}", XXH3_64bits(text.data(), text.size()));
    }

    EventContext context;
    if (!MapContext(fields, message.kind, context)) return false;
    message.ip = context.ip;
    Timestamp time = 0;
    if (!EventTime(fields, time)) return false;
    message.time = time;

    switch (message.kind) {
      case MessageKind::kIdentify: {
        const std::optional<element> traits = Member(fields, "traits");
        if (traits) {
          object traits_object;
          if (traits->get_object().get(traits_object)) {
            return Fail("traits", "traits must be an object");
          }
          if (!MapTraits(traits_object, "", message.traits)) return false;
        }
        Enrich(context, message.enriched_traits);
        return true;
      }
      case MessageKind::kAlias:
        if (!IdField(fields, "previousId", message.previous_id)) return false;
        if (message.previous_id.empty()) return Fail("previousId", "an alias needs a previousId");
        if (message.user_id.empty()) return Fail("userId", "an alias needs the userId it joins");
        Enrich(context, message.enriched_traits);
        return true;
      case MessageKind::kTrack:
      case MessageKind::kPage:
      case MessageKind::kScreen:
      case MessageKind::kGroup:
        break;
    }

    EventInput& event = message.event;
    event.id = message.message_id;
    event.profile_id = message.user_id;
    event.anonymous_id = message.anonymous_id;
    event.context = std::move(context);
    event.time = time;
    switch (message.kind) {
      case MessageKind::kTrack: {
        const std::optional<element> name = Member(fields, "event");
        std::string_view name_text;
        if (!name || name->get_string().get(name_text)) {
          return Fail("event", "a track message needs a string \"event\" name");
        }
        event.type = EventTypeFromName(name_text);
        if (event.type.empty()) {
          return Fail("event", "the event name has no letter or digit");
        }
        break;
      }
      case MessageKind::kPage:
      case MessageKind::kScreen:
        event.type = message.kind == MessageKind::kPage ? "page_view" : "screen_view";
        if (std::optional<element> name = Member(fields, "name")) {
          event.properties.emplace_back("name", ScalarText(*name));
        }
        if (std::optional<element> category = Member(fields, "category")) {
          event.category = ScalarText(*category);
        }
        break;
      case MessageKind::kGroup: {
        event.type = "group";
        std::string group_id;
        if (!IdField(fields, "groupId", group_id)) return false;
        if (group_id.empty()) return Fail("groupId", "a group message needs a groupId");
        event.properties.emplace_back("group_id", std::move(group_id));
        break;
      }
      default:
        break;
    }
    if (const std::optional<element> properties = Member(fields, "properties")) {
      object properties_object;
      if (properties->get_object().get(properties_object)) {
        return Fail("properties", "properties must be an object");
      }
      if (!MapProperties(properties_object, "properties", message.kind, /*product=*/false, event)) {
        return false;
      }
      if (message.kind == MessageKind::kTrack) {
        if (const std::optional<element> products = Member(properties_object, "products")) {
          if (!products->is_array()) {
            return Fail("properties.products", "properties.products must be an array");
          }
          if (!MapProducts(properties_object, *products, event, message.lines)) return false;
        }
      }
    }
    // Page URL and campaign from the properties may only be known now.
    if (event.context.utm_source.empty() || event.context.utm_medium.empty() ||
        event.context.utm_campaign.empty()) {
      UtmParams utm = ParseUtm(event.context.page_url);
      if (event.context.utm_source.empty()) event.context.utm_source = std::move(utm.source);
      if (event.context.utm_medium.empty()) event.context.utm_medium = std::move(utm.medium);
      if (event.context.utm_campaign.empty()) event.context.utm_campaign = std::move(utm.campaign);
    }
    Enrich(event.context, message.enriched_traits);
    if (!MapPosition(fields, event)) return false;
    for (EventInput& line : message.lines) {
      line.context = event.context;
      for (const char* key : {"latitude", "longitude"}) {
        const std::string_view value = EventProperty(event, key);
        if (!value.empty() && EventProperty(line, key).empty()) {
          line.properties.emplace_back(key, std::string(value));
        }
      }
    }
    return true;
  }

  // A device's position, context.location.latitude and .longitude (numbers in range, both or
  // neither), becomes the event's `latitude` and `longitude` properties (tailor/place.h) unless
  // its properties name them.
  bool MapPosition(object fields, EventInput& event) {
    std::optional<object> context;  // checked to be an object by MapContext
    if (std::optional<element> value = Member(fields, "context")) {
      object context_object;
      if (!value->get_object().get(context_object)) context = context_object;
    }
    // The location object of one scope (the message's, else the batch's): never a latitude
    // from one and a longitude from the other.
    const std::optional<element> location = ContextValue(context, {"location"});
    object location_object;
    if (!location || location->get_object().get(location_object)) return true;
    const char* names[2] = {"latitude", "longitude"};
    const double limits[2] = {90, 180};
    double coordinates[2] = {0, 0};
    int given = 0;
    for (int i = 0; i < 2; ++i) {
      const std::optional<element> value = Member(location_object, names[i]);
      if (!value || value->is_null()) continue;
      const std::string path = fmt::format("context.location.{}", names[i]);
      std::string_view text;
      bool number = !value->get_double().get(coordinates[i]);
      if (!number && !value->get_string().get(text)) {  // "48.85", as some SDKs send it
        const std::optional<double> parsed = ParseDouble(text);
        number = parsed.has_value();
        if (number) coordinates[i] = *parsed;
      }
      if (!number || !(std::abs(coordinates[i]) <= limits[i])) {
        return Fail(path,
                    fmt::format("{} must be a number from -{} to {}", path, limits[i], limits[i]));
      }
      ++given;
    }
    if (given == 0) return true;
    if (given == 1) {
      return Fail("context.location",
                  "context.location needs both latitude and longitude, or neither");
    }
    if (!EventProperty(event, "latitude").empty() || !EventProperty(event, "longitude").empty()) {
      return true;
    }
    for (int i = 0; i < 2; ++i) {
      event.properties.emplace_back(names[i], fmt::format("{}", coordinates[i]));
    }
    return true;
  }

  // Refuses arrays longer than the limit anywhere in the message.
  bool CheckArrays(element value, std::string& path) {
    if (value.type() == element_type::ARRAY) {
      array items;
      if (value.get_array().get(items)) return true;  // cannot fail: the type was checked
      if (items.size() > options_.limits.max_array_length) {
        return Fail(path, fmt::format("array of {} elements is over the limit of {}", items.size(),
                                      options_.limits.max_array_length));
      }
      size_t i = 0;
      for (element item : items) {
        const size_t length = path.size();
        path += fmt::format("[{}]", i++);
        if (!CheckArrays(item, path)) return false;
        path.resize(length);
      }
    } else if (value.type() == element_type::OBJECT) {
      object fields;
      if (value.get_object().get(fields)) return true;  // cannot fail: the type was checked
      for (auto field : fields) {
        const size_t length = path.size();
        if (!path.empty()) path.push_back('.');
        path.append(field.key);
        if (!CheckArrays(field.value, path)) return false;
        path.resize(length);
      }
    }
    return true;
  }

  // An id: a string, or an integral number as its decimal text (Segment accepts numeric
  // userIds). Absent or null leaves `out` empty.
  bool IdField(object fields, std::string_view key, std::string& out) {
    const std::optional<element> value = Member(fields, key);
    if (!value) return true;
    switch (value->type()) {
      case element_type::STRING:
      case element_type::INT64:
      case element_type::UINT64:
        out = ScalarText(*value);
        return true;
      case element_type::DOUBLE: {
        const double number = value->get_double().value_unsafe();
        // 2^63: past it an int64_t cannot hold the value.
        if (std::trunc(number) == number && std::fabs(number) < 9.2233720368547758e18) {
          out = std::to_string(static_cast<int64_t>(number));
          return true;
        }
        break;
      }
      default:
        break;
    }
    return Fail(key, fmt::format("{} must be a string or an integer", key));
  }

  bool TimeField(object fields, std::string_view key, std::optional<Timestamp>& out) {
    const std::optional<element> value = Member(fields, key);
    if (!value) return true;
    std::string_view text;
    if (value->get_string().get(text)) {
      return Fail(key, fmt::format("{} must be an ISO-8601 date-time string", key));
    }
    out = ParseIsoTimestamp(text);
    if (!out) return Fail(key, fmt::format("'{}' is not an ISO-8601 date-time", text));
    return true;
  }

  // timestamp, else originalTimestamp, moved by the client's clock skew (now - sentAt) when
  // sentAt is known; the server's clock when neither is given.
  bool EventTime(object fields, Timestamp& time) {
    std::optional<Timestamp> timestamp, original, sent_at;
    if (!TimeField(fields, "timestamp", timestamp) ||
        !TimeField(fields, "originalTimestamp", original) ||
        !TimeField(fields, "sentAt", sent_at)) {
      return false;
    }
    if (!sent_at) sent_at = batch_sent_at_;
    const std::string_view field = timestamp ? "timestamp" : "originalTimestamp";
    if (!timestamp) timestamp = original;
    if (!timestamp) {
      time = now_;
      return true;
    }
    time = *timestamp + (sent_at ? now_ - *sent_at : 0);
    if (time > now_ + options_.limits.max_future_ms) {
      return Fail(field, fmt::format("the event time {} is more than {} ms after the server's "
                                     "clock ({})",
                                     FormatTimestamp(time), options_.limits.max_future_ms,
                                     FormatTimestamp(now_)));
    }
    return true;
  }

  // The message's context value at `keys` ("page", "url"), else the batch context's.
  std::optional<element> ContextValue(std::optional<object> context,
                                      std::initializer_list<std::string_view> keys) {
    for (std::optional<object> scope : {context, batch_context_}) {
      if (!scope) continue;
      object current = *scope;
      std::optional<element> value;
      size_t level = 0;
      for (std::string_view key : keys) {
        value = Member(current, key);
        if (!value) break;
        if (++level < keys.size() && value->get_object().get(current)) {
          value.reset();
          break;
        }
      }
      if (value) return value;
    }
    return std::nullopt;
  }

  bool ContextText(std::optional<object> context, std::initializer_list<std::string_view> keys,
                   std::string& out) {
    const std::optional<element> value = ContextValue(context, keys);
    if (!value) return true;
    if (value->is_array() || value->is_object()) {
      std::string path = "context";
      for (std::string_view key : keys) path += fmt::format(".{}", key);
      return Fail(path, fmt::format("{} must be a string", path));
    }
    out = ScalarText(*value);
    return true;
  }

  bool MapContext(object fields, MessageKind kind, EventContext& out) {
    std::optional<object> context;
    if (std::optional<element> value = Member(fields, "context")) {
      object context_object;
      if (value->get_object().get(context_object)) {
        return Fail("context", "context must be an object");
      }
      context = context_object;
    }
    if (!ContextText(context, {"ip"}, out.ip) ||
        !ContextText(context, {"userAgent"}, out.user_agent) ||
        !ContextText(context, {"page", "url"}, out.page_url) ||
        !ContextText(context, {"page", "referrer"}, out.referrer) ||
        !ContextText(context, {"campaign", "source"}, out.utm_source) ||
        !ContextText(context, {"campaign", "medium"}, out.utm_medium) ||
        !ContextText(context, {"campaign", "name"}, out.utm_campaign) ||
        !ContextText(context, {"location", "country"}, out.country) ||
        !ContextText(context, {"location", "city"}, out.city) ||
        !ContextText(context, {"channel"}, out.channel)) {
      return false;
    }
    if (out.channel.empty()) {
      if (ContextValue(context, {"app"}) || ContextValue(context, {"device"}) ||
          kind == MessageKind::kScreen) {
        out.channel = "app";
      } else if (ContextValue(context, {"page"}) || !out.user_agent.empty() ||
                 kind == MessageKind::kPage) {
        out.channel = "web";
      } else {
        out.channel = "server";
      }
    }
    UtmParams utm = ParseUtm(out.page_url);
    if (out.utm_source.empty()) out.utm_source = std::move(utm.source);
    if (out.utm_medium.empty()) out.utm_medium = std::move(utm.medium);
    if (out.utm_campaign.empty()) out.utm_campaign = std::move(utm.campaign);
    return true;
  }

  // Technographic traits from the user agent; last-touch traits from campaign and referrer.
  // Navigation inside the site (the referrer is the page's own host) is not a touch.
  static void Enrich(const EventContext& context, TraitMap& traits) {
    auto add = [&traits](std::string_view name, std::string value) {
      if (!value.empty()) {
        traits.emplace_back(std::string(name), TypedValue{TraitType::kString, std::move(value)});
      }
    };
    if (!context.user_agent.empty()) {
      UserAgentInfo agent = ParseUserAgent(context.user_agent);
      add("device_type", std::move(agent.device_type));
      add("device_os", std::move(agent.os));
      add("browser", std::move(agent.browser));
    }
    const bool has_utm =
        !context.utm_source.empty() || !context.utm_medium.empty() || !context.utm_campaign.empty();
    const std::string referrer_host = HostOf(context.referrer);
    const bool external_referrer =
        !context.referrer.empty() &&
        (referrer_host.empty() || referrer_host != HostOf(context.page_url));
    if (has_utm || external_referrer) {
      TouchPoint touch =
          ClassifyTouch(external_referrer ? std::string_view(context.referrer) : std::string_view(),
                        context.utm_source, context.utm_medium, context.utm_campaign);
      add("last_touch_source", std::move(touch.source));
      add("last_touch_medium", std::move(touch.medium));
      add("last_touch_campaign", std::move(touch.campaign));
    }
  }

  // An amount (price, revenue): a number, or text holding one ("19.90"), as an exact decimal
  // (6 decimals at most; more are rounded).
  bool AmountField(element value, std::string_view path, std::optional<Decimal>& out) {
    std::string_view text;
    if (value.type() == element_type::INT64) {
      out = Decimal::FromUnits(value.get_int64().value_unsafe());
    } else if (IsNumber(value)) {
      out = Decimal::FromDouble(value.get_double().value_unsafe());
    } else if (!value.get_string().get(text)) {
      out = Decimal::ParseRounded(text);
      if (!out && !ParseDouble(text)) return Fail(path, fmt::format("{} must be a number", path));
    } else {
      return Fail(path, fmt::format("{} must be a number", path));
    }
    if (!out) return Fail(path, fmt::format("{} is out of range", path));
    return true;
  }

  bool IntegerField(element value, std::string_view path, int64_t& out) {
    if (value.type() == element_type::INT64) {
      out = value.get_int64().value_unsafe();
      return true;
    }
    std::string_view text;
    if (!value.get_string().get(text)) {
      if (std::optional<int64_t> parsed = ParseInt64(text)) {
        out = *parsed;
        return true;
      }
    } else if (value.type() == element_type::DOUBLE) {
      const double number = value.get_double().value_unsafe();
      if (std::trunc(number) == number && std::fabs(number) < 9.2233720368547758e18) {
        out = static_cast<int64_t>(number);
        return true;
      }
    }
    return Fail(path, fmt::format("{} must be an integer", path));
  }

  // The fields of a properties object into `event`: a message's (`path` "properties"), or one
  // product of its `products` (`product`, `path` "properties.products[i]"), which has no value or
  // order id of its own (the order's are its) and may name its item `id`.
  bool MapProperties(object properties, std::string_view path_prefix, MessageKind kind,
                     bool product, EventInput& event) {
    // Which of the synonyms supplies the item and the value: the first present.
    std::string_view item_key, value_key;
    for (std::string_view key : {"product_id", "sku", "id", "item_id"}) {
      if (key == "id" && !product) continue;
      if (item_key.empty() && Member(properties, key)) item_key = key;
    }
    for (std::string_view key : {"value", "revenue", "total"}) {
      if (!product && value_key.empty() && Member(properties, key)) value_key = key;
    }
    const bool page = kind == MessageKind::kPage;
    bool has_name = false;
    for (const auto& [name, value] : event.properties) has_name = has_name || name == "name";
    for (auto field : properties) {
      const std::string_view key = field.key;
      const element value = field.value;
      if (value.is_null()) continue;
      const std::string path = fmt::format("{}.{}", path_prefix, key);
      if (key == item_key || key == "category" || (key == "order_id" && !product) ||
          (page && (key == "url" || key == "referrer"))) {
        if (value.is_array() || value.is_object()) {
          return Fail(path, fmt::format("{} must be a string", path));
        }
        std::string text = ScalarText(value);
        if (key == item_key) {
          event.item_id = std::move(text);
        } else if (key == "category") {
          event.category = std::move(text);
        } else if (key == "order_id") {
          event.order_id = std::move(text);
        } else if (key == "url") {
          event.context.page_url = std::move(text);
        } else {
          event.context.referrer = std::move(text);
        }
      } else if (key == "price") {
        if (!AmountField(value, path, event.price)) return false;
      } else if (key == "quantity") {
        int64_t quantity = 0;
        if (!IntegerField(value, path, quantity)) return false;
        event.quantity = quantity;
      } else if (key == value_key) {
        if (!AmountField(value, path, event.value)) return false;
      } else if (key == "name" && has_name) {
        continue;  // the page's own top-level name wins over properties.name
      } else if (key == "products" && !product && kind == MessageKind::kTrack && value.is_array()) {
        continue;  // one event per product (MapProducts)
      } else {
        AppendProperty(std::string(key), value, event.properties);
      }
    }
    return true;
  }

  // The lines of an order (see Message::lines in collect.h). Called after MapProperties filled
  // `order` from the same properties. An empty array leaves the message one event.
  bool MapProducts(object properties, element products, const EventInput& order,
                   std::vector<EventInput>& lines) {
    array items;
    if (products.get_array().get(items)) return true;  // cannot fail: the type was checked
    // The order's id: order_id (already in `order`), else the checkout's or the cart's.
    std::string order_id = order.order_id;
    for (std::string_view key : {"checkout_id", "cart_id"}) {
      if (!order_id.empty()) break;
      if (const std::optional<element> id = Member(properties, key)) {
        if (!id->is_array() && !id->is_object() && !id->is_null()) order_id = ScalarText(*id);
      }
    }
    // The order's own fields, on every line under "order.": its properties as mapped, and its
    // revenue (or total, or value) under the name it came with.
    std::vector<std::pair<std::string, std::string>> order_fields;
    for (const auto& [name, value] : order.properties) {
      order_fields.emplace_back("order." + name, value);
    }
    for (std::string_view key : {"value", "revenue", "total"}) {
      if (!order.value) break;
      if (Member(properties, key)) {
        order_fields.emplace_back(fmt::format("order.{}", key), order.value->ToString());
        break;
      }
    }
    size_t position = 0;
    for (element product : items) {
      const std::string path = fmt::format("properties.products[{}]", position);
      object fields;
      if (product.get_object().get(fields)) {
        return Fail(path, fmt::format("{} must be an object", path));
      }
      EventInput line;
      line.id = fmt::format("{}/{}", order.id, position);
      line.profile_id = order.profile_id;
      line.anonymous_id = order.anonymous_id;
      line.type = order.type;
      line.time = order.time;  // the context is the message's, copied when complete
      line.order_id = order_id;
      if (!MapProperties(fields, path, MessageKind::kTrack, /*product=*/true, line)) return false;
      line.properties.insert(line.properties.end(), order_fields.begin(), order_fields.end());
      lines.push_back(std::move(line));
      ++position;
    }
    return true;
  }

  // Nested objects flatten into dotted names; arrays stay compact JSON text.
  static void AppendProperty(std::string name, element value,
                             std::vector<std::pair<std::string, std::string>>& out) {
    if (value.is_null()) return;
    if (value.type() == element_type::OBJECT) {
      object fields;
      if (value.get_object().get(fields)) return;  // cannot fail: the type was checked
      for (auto field : fields) {
        AppendProperty(fmt::format("{}.{}", name, field.key), field.value, out);
      }
      return;
    }
    out.emplace_back(std::move(name), ScalarText(value));
  }

  // A JSON value as a trait, typed as the JSON says, then coerced to the type `schema` declares.
  bool MapTraits(object traits, std::string_view prefix, TraitMap& out) {
    for (auto field : traits) {
      const element value = field.value;
      if (value.is_null()) continue;
      const std::string name =
          prefix.empty() ? std::string(field.key) : fmt::format("{}.{}", prefix, field.key);
      const std::string path = fmt::format("traits.{}", name);
      TypedValue typed;
      switch (value.type()) {
        case element_type::OBJECT: {
          object nested;
          if (value.get_object().get(nested)) continue;  // cannot fail: the type was checked
          if (!MapTraits(nested, name, out)) return false;
          continue;
        }
        case element_type::STRING:
          typed = {TraitType::kString, std::string(value.get_string().value_unsafe())};
          break;
        case element_type::INT64:
          typed = {TraitType::kInt, value.get_int64().value_unsafe()};
          break;
        case element_type::UINT64:  // past INT64_MAX
          typed = {TraitType::kDouble, static_cast<double>(value.get_uint64().value_unsafe())};
          break;
        case element_type::DOUBLE:
          typed = {TraitType::kDouble, value.get_double().value_unsafe()};
          break;
        case element_type::BOOL:
          typed = {TraitType::kBool, value.get_bool().value_unsafe()};
          break;
        case element_type::ARRAY: {
          StringList list;
          array items;
          if (value.get_array().get(items)) continue;  // cannot fail: the type was checked
          for (element item : items) {
            if (item.is_null()) continue;
            if (item.is_array() || item.is_object()) {
              return Fail(path, "a list trait may hold only strings, numbers and booleans");
            }
            list.push_back(ScalarText(item));
          }
          typed = {TraitType::kStringList, std::move(list)};
          break;
        }
        case element_type::NULL_VALUE:
          continue;
      }
      if (options_.schema != nullptr) {
        if (const TraitDef* def = options_.schema->Find(name); def != nullptr) {
          std::optional<TypedValue> coerced = Coerce(typed, def->type);
          if (!coerced) {
            return Fail(path, fmt::format("trait '{}' is declared {}; {} does not convert to it",
                                          name, TraitTypeName(def->type), ScalarText(value)));
          }
          typed = std::move(*coerced);
        }
      }
      out.emplace_back(name, std::move(typed));
    }
    return true;
  }

  static std::optional<TypedValue> Coerce(const TypedValue& value, TraitType to) {
    if (value.type == to) return value;
    const TraitValue& v = value.value;
    switch (value.type) {
      case TraitType::kString: {
        const std::string& text = std::get<std::string>(v);
        switch (to) {
          case TraitType::kTimestamp:
            if (auto time = ParseIsoTimestamp(text)) return TypedValue{to, *time};
            return std::nullopt;
          case TraitType::kInt:
            if (auto number = ParseInt64(text)) return TypedValue{to, *number};
            return std::nullopt;
          case TraitType::kDouble:
            if (auto number = ParseDouble(text)) return TypedValue{to, *number};
            return std::nullopt;
          case TraitType::kBool:
            if (auto flag = ParseBool(text)) return TypedValue{to, *flag};
            return std::nullopt;
          case TraitType::kStringList:
            return TypedValue{to, StringList{text}};
          default:
            return std::nullopt;
        }
      }
      case TraitType::kInt: {
        const int64_t number = std::get<int64_t>(v);
        if (to == TraitType::kDouble) return TypedValue{to, static_cast<double>(number)};
        if (to == TraitType::kTimestamp) return TypedValue{to, number};  // ms since the epoch
        if (to == TraitType::kString) return TypedValue{to, std::to_string(number)};
        return std::nullopt;
      }
      case TraitType::kDouble: {
        const double number = std::get<double>(v);
        if (to == TraitType::kInt && std::trunc(number) == number &&
            std::fabs(number) < 9.2233720368547758e18) {
          return TypedValue{to, static_cast<int64_t>(number)};
        }
        if (to == TraitType::kString) return TypedValue{to, fmt::format("{}", number)};
        return std::nullopt;
      }
      case TraitType::kBool:
        if (to == TraitType::kString) {
          return TypedValue{to, std::string(std::get<bool>(v) ? "true" : "false")};
        }
        return std::nullopt;
      default:
        return std::nullopt;
    }
  }

  const ParseOptions& options_;
  const Timestamp now_;
  const std::optional<object> batch_context_;
  const std::optional<Timestamp> batch_sent_at_;
  std::string prefix_;
  MessageError error_;
};

}  // namespace

std::string_view MessageKindName(MessageKind kind) {
  const auto index = static_cast<size_t>(kind);
  return index < kKindNames.size() ? kKindNames[index] : "unknown";
}

Result<ParseResult> ParseRequest(std::string_view body, std::optional<MessageKind> kind,
                                 const ParseOptions& options) {
  const Limits& limits = options.limits;
  if (body.size() > limits.max_batch_bytes) {
    return ResourceExhausted(fmt::format("request body of {} bytes is over the limit of {} bytes",
                                         body.size(), limits.max_batch_bytes));
  }
  // One parser per thread, kept: its buffers grow to the largest body seen and are reused.
  // simdjson's max_depth counts containers as JsonFaultFinder does: `{}` is depth 1.
  thread_local simdjson::dom::parser parser;
  if (parser.capacity() < body.size() || parser.max_depth() != limits.max_depth) {
    if (parser.allocate(std::max({body.size(), parser.capacity(), size_t{1}}), limits.max_depth) !=
        simdjson::SUCCESS) {
      return ResourceExhausted("cannot allocate the JSON parser");
    }
  }
  element root;
  if (const simdjson::error_code code = parser.parse(body.data(), body.size()).get(root)) {
    if (std::optional<Status> fault = JsonFaultFinder(body, limits.max_depth).Find()) {
      return *fault;
    }
    return InvalidArgument("malformed JSON (byte offset unknown): {}",
                           simdjson::error_message(code));
  }
  object top;
  if (root.get_object().get(top)) {
    const size_t start = body.find_first_not_of(" \t\r\n");
    return InvalidArgument("the request body must be a JSON object (byte {})",
                           start == std::string_view::npos ? 0 : start);
  }
  const Timestamp now = options.now != 0 ? options.now : SystemClockMillis();
  ParseResult result;
  if (kind) {
    MessageParser(options, now, std::nullopt, std::nullopt).Parse(root, kind, 0, "", result);
    return result;
  }

  element batch_value;
  array batch;
  if (top.at_key("batch").get(batch_value) || batch_value.get_array().get(batch)) {
    return InvalidArgument("a batch body needs a \"batch\" array");
  }
  if (batch.size() > limits.max_array_length) {
    return ResourceExhausted(fmt::format("batch of {} messages is over the limit of {}",
                                         batch.size(), limits.max_array_length));
  }
  std::optional<object> batch_context;
  if (std::optional<element> context = Member(top, "context")) {
    object context_object;
    if (context->get_object().get(context_object)) {
      return InvalidArgument("the batch's context must be an object");
    }
    batch_context = context_object;
  }
  std::optional<Timestamp> batch_sent_at;
  if (std::optional<element> sent_at = Member(top, "sentAt")) {
    std::string_view text;
    if (sent_at->get_string().get(text) || !(batch_sent_at = ParseIsoTimestamp(text))) {
      return InvalidArgument("the batch's sentAt must be an ISO-8601 date-time");
    }
  }
  MessageParser parser_of_messages(options, now, batch_context, batch_sent_at);
  result.messages.reserve(batch.size());  // a Message is large: no moves while it grows
  size_t index = 0;
  for (element member : batch) {
    parser_of_messages.Parse(member, std::nullopt, index, fmt::format("batch[{}]", index), result);
    ++index;
  }
  return result;
}

}  // namespace tailor::collect

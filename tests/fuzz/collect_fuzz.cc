// libFuzzer target for the Segment tracking API parser (collect::ParseRequest). The first byte
// picks a message kind ('t' track, 'i' identify, 'p' page, 's' screen, 'g' group, 'a' alias,
// anything else by its value); the rest is the request body, parsed once as a single message of
// that kind and once as a batch. Either the body fails as a whole (kInvalidArgument or
// kResourceExhausted), or every message is accepted or refused exactly once, and what is
// accepted is well formed:
//   - it has an owner: userId or anonymousId; an alias has previousId and userId;
//   - an error's and a message's index is below the number of messages in the request;
//   - no event time is later than now + max_future_ms;
//   - identify traits declared by the schema carry the declared type.
// Aborts otherwise.
//
// Build and run: tests/fuzz/run.sh (docs/api.md#fuzzing). Inputs that failed are kept in
// tests/fuzz/regressions/collect/ and replayed on every run.

#include <simdjson.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "tailor/collect.h"
#include "tailor/schema.h"

namespace {

using tailor::Result;
using tailor::Schema;
using tailor::StatusCode;
using tailor::Timestamp;
using tailor::TraitCategory;
using tailor::TraitType;
using tailor::TypedValue;
using tailor::collect::Message;
using tailor::collect::MessageError;
using tailor::collect::MessageKind;
using tailor::collect::ParseOptions;
using tailor::collect::ParseRequest;
using tailor::collect::ParseResult;

constexpr Timestamp kNow = 1'800'000'000'000;  // 2027-01-15T08:00:00Z

std::string input_text;  // the input being run, for Fail

[[noreturn]] void Fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "collect_fuzz: %s\n%s\ninput: %s\n", what, detail.c_str(),
               input_text.c_str());
  std::abort();
}

const Schema& TheSchema() {
  static const Schema* schema = [] {
    auto* s = new Schema();
    (void)s->Add("signup_date", TraitType::kTimestamp, TraitCategory::kBehavioural);
    (void)s->Add("ltv", TraitType::kDouble, TraitCategory::kBehavioural);
    (void)s->Add("age", TraitType::kInt, TraitCategory::kDemographic);
    (void)s->Add("vip", TraitType::kBool, TraitCategory::kPreference);
    (void)s->Add("interests", TraitType::kStringList, TraitCategory::kPreference);
    return s;
  }();
  return *schema;
}

const ParseOptions& Options() {
  static const ParseOptions options = [] {
    ParseOptions o;
    o.now = kNow;
    o.schema = &TheSchema();
    // Smaller than the defaults so that the fuzzer reaches every limit.
    o.limits.max_message_bytes = 2048;
    o.limits.max_batch_bytes = 16 * 1024;
    o.limits.max_depth = 8;
    o.limits.max_array_length = 32;
    return o;
  }();
  return options;
}

MessageKind KindOf(uint8_t byte) {
  switch (byte) {
    case 't':
      return MessageKind::kTrack;
    case 'i':
      return MessageKind::kIdentify;
    case 'p':
      return MessageKind::kPage;
    case 's':
      return MessageKind::kScreen;
    case 'g':
      return MessageKind::kGroup;
    case 'a':
      return MessageKind::kAlias;
    default:
      return static_cast<MessageKind>(byte % 6);
  }
}

// The variant alternative a trait type is held in.
bool HoldsItsType(const TypedValue& typed) {
  if (std::holds_alternative<std::monostate>(typed.value)) return true;
  switch (typed.type) {
    case TraitType::kString:
      return std::holds_alternative<std::string>(typed.value);
    case TraitType::kInt:
    case TraitType::kTimestamp:
      return std::holds_alternative<int64_t>(typed.value);
    case TraitType::kDouble:
      return std::holds_alternative<double>(typed.value);
    case TraitType::kBool:
      return std::holds_alternative<bool>(typed.value);
    case TraitType::kStringList:
      return std::holds_alternative<tailor::StringList>(typed.value);
  }
  return false;
}

void CheckMessage(const Message& message, size_t count, std::optional<MessageKind> endpoint) {
  const std::string where = "message " + std::to_string(message.index);
  if (message.index >= count) Fail("message index out of range", where);
  if (endpoint && message.kind != *endpoint) Fail("message of another kind than asked", where);
  if (message.message_id.empty()) Fail("message without a messageId", where);
  if (message.kind == MessageKind::kAlias) {
    if (message.previous_id.empty() || (message.user_id.empty() && true)) {
      Fail("alias accepted without previousId and userId",
           where + ": userId '" + message.user_id + "', anonymousId '" + message.anonymous_id +
               "', previousId '" + message.previous_id + "'");
    }
  } else if (message.user_id.empty() && message.anonymous_id.empty()) {
    Fail("message accepted without userId or anonymousId", where);
  }
  switch (message.kind) {
    case MessageKind::kTrack:
    case MessageKind::kPage:
    case MessageKind::kScreen:
    case MessageKind::kGroup:
      if (message.event.time > kNow + Options().limits.max_future_ms) {
        Fail("event time beyond now + max_future_ms",
             where + ": time " + std::to_string(message.event.time));
      }
      if (message.event.type.empty()) Fail("event without a type", where);
      if (message.event.id != message.message_id) Fail("event id is not the messageId", where);
      break;
    case MessageKind::kIdentify:
    case MessageKind::kAlias:
      break;
  }
  for (const tailor::TraitMap* traits : {&message.traits, &message.enriched_traits}) {
    for (const auto& [name, typed] : *traits) {
      if (name.empty() && traits == &message.enriched_traits) {
        Fail("enriched trait without a name", where);
      }
      if (!HoldsItsType(typed)) Fail("trait value of another type than its TraitType", name);
      if (traits != &message.traits) continue;
      if (const tailor::TraitDef* def = TheSchema().Find(name);
          def != nullptr && typed.type != def->type) {
        Fail("declared trait not of its declared type", where + ": " + name);
      }
    }
  }
}

void CheckResult(const Result<ParseResult>& parsed, size_t count,
                 std::optional<MessageKind> endpoint) {
  if (!parsed.ok()) {
    const StatusCode code = parsed.status().code();
    if (code != StatusCode::kInvalidArgument && code != StatusCode::kResourceExhausted) {
      Fail("body refused with an unexpected status", parsed.status().ToString());
    }
    if (parsed.status().message().empty()) Fail("body refused without a message", "");
    return;
  }
  const ParseResult& result = *parsed;
  if (result.messages.size() + result.errors.size() != count) {
    Fail("messages and errors do not add up to the request's messages",
         std::to_string(result.messages.size()) + " + " + std::to_string(result.errors.size()) +
             " != " + std::to_string(count));
  }
  std::vector<bool> seen(count, false);
  for (const Message& message : result.messages) {
    CheckMessage(message, count, endpoint);
    if (seen[message.index]) Fail("index reported twice", std::to_string(message.index));
    seen[message.index] = true;
  }
  for (const MessageError& error : result.errors) {
    if (error.index >= count) {
      Fail("error index out of range",
           std::to_string(error.index) + " >= " + std::to_string(count) + ": " + error.message);
    }
    if (seen[error.index]) Fail("index reported twice", std::to_string(error.index));
    seen[error.index] = true;
    if (error.message.empty()) Fail("error without a message", error.path);
    if (!endpoint) {
      const std::string prefix = "batch[" + std::to_string(error.index) + "]";
      if (error.path.compare(0, prefix.size(), prefix) != 0) {
        Fail("batch error path does not name its message", error.path + " for " + prefix);
      }
    }
  }
}

// Number of members of the body's "batch" array (0 when it has none).
size_t BatchSize(std::string_view body) {
  static simdjson::dom::parser parser;
  simdjson::dom::element root;
  simdjson::dom::array batch;
  if (parser.parse(body.data(), body.size()).get(root) != simdjson::SUCCESS) return 0;
  if (root["batch"].get_array().get(batch) != simdjson::SUCCESS) return 0;
  return batch.size();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const MessageKind kind = KindOf(data[0]);
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  input_text.assign(reinterpret_cast<const char*>(data), size);
  CheckResult(ParseRequest(body, kind, Options()), 1, kind);
  CheckResult(ParseRequest(body, std::nullopt, Options()), BatchSize(body), std::nullopt);
  return 0;
}

// libFuzzer target for the rule front end. The bytes are read as rule text and as rule JSON;
// each either fails with an error, or gives a rule whose canonical text and JSON form both read
// back to the same rule (and printing that again gives the same text). Aborts otherwise.
//
// Build and run: docs/rule_language.md#fuzzing. Keep any input that fails as a regression case
// in tests/rule_test.cc.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tailor/rule.h"

namespace {

using tailor::Result;
using tailor::segments::ParseRule;
using tailor::segments::PrintRule;
using tailor::segments::Rule;
using tailor::segments::RuleFromJson;
using tailor::segments::RuleToJson;

[[noreturn]] void Fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "rule_fuzz: %s\n%s\n", what, detail.c_str());
  std::abort();
}

void ExpectRoundTrips(const Rule& rule) {
  const std::string printed = PrintRule(rule);
  const Result<Rule> reparsed = ParseRule(printed);
  if (!reparsed.ok()) {
    Fail("printed rule does not parse", printed + "\n" + reparsed.status().message());
  }
  if (!(*reparsed == rule)) Fail("printed rule parses to another rule", printed);
  if (PrintRule(*reparsed) != printed) Fail("printing is not stable", printed);
  const std::string json = RuleToJson(rule);
  const Result<Rule> from_json = RuleFromJson(json);
  if (!from_json.ok()) {
    Fail("JSON form does not read back", json + "\n" + from_json.status().message());
  }
  if (!(*from_json == rule)) Fail("JSON form reads back to another rule", json);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const Result<Rule> parsed = ParseRule(bytes);
  if (parsed.ok()) {
    ExpectRoundTrips(*parsed);
  } else {
    // Every syntax error points at a position: "line:column: ...".
    const std::string& message = parsed.status().message();
    if (message.empty() || message[0] < '1' || message[0] > '9') {
      Fail("syntax error without line:column", message);
    }
  }
  const Result<Rule> from_json = RuleFromJson(bytes);
  if (from_json.ok()) ExpectRoundTrips(*from_json);
  return 0;
}

// libFuzzer target for the rule parser: any bytes either fail to parse with an error, or parse
// to a rule whose canonical text and JSON form both read back to the same rule.
//
//   cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DTAILOR_BUILD_FUZZERS=ON \
//         -DTAILOR_BUILD_TESTS=OFF -DTAILOR_SANITIZE=address,undefined
//   ninja -C build-fuzz rule_fuzz && build-fuzz/rule_fuzz -max_len=512 tests/testdata/rule_corpus
//
// Crashes found are kept in tests/testdata/ and replayed by rule_test.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tailor/rule.h"

namespace {

[[noreturn]] void Fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "rule_fuzz: %s\n%s\n", what, detail.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tailor::segments;  // NOLINT(google-build-using-namespace): a tiny harness
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const tailor::Result<Rule> parsed = ParseRule(text);
  if (!parsed.ok()) {
    // Every syntax error must point at a position.
    if (parsed.status().message().empty() || parsed.status().message()[0] < '1' ||
        parsed.status().message()[0] > '9') {
      Fail("error without line:column", parsed.status().message());
    }
    return 0;
  }
  const std::string printed = PrintRule(*parsed);
  const tailor::Result<Rule> reparsed = ParseRule(printed);
  if (!reparsed.ok())
    Fail("printed rule does not parse", printed + "\n" + reparsed.status().message());
  if (!(*reparsed == *parsed)) Fail("printed rule parses to another rule", printed);
  if (PrintRule(*reparsed) != printed) Fail("printing is not stable", printed);
  const std::string json = RuleToJson(*parsed);
  const tailor::Result<Rule> from_json = RuleFromJson(json);
  if (!from_json.ok())
    Fail("JSON form does not read back", json + "\n" + from_json.status().message());
  if (!(*from_json == *parsed)) Fail("JSON form reads back to another rule", json);
  return 0;
}

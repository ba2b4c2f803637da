#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tailor {

std::string_view Trim(std::string_view text);
// Splits on `separator`; empty pieces are dropped ("a;;b" -> {a, b}).
std::vector<std::string> SplitNonEmpty(std::string_view text, char separator);

// Strict parsers: the whole text must be the number (surrounding spaces allowed).
std::optional<int64_t> ParseInt64(std::string_view text);
std::optional<double> ParseDouble(std::string_view text);
// true/false, 1/0, yes/no, t/f (any case).
std::optional<bool> ParseBool(std::string_view text);

// Masks an e-mail address or secret for logs: "emma.garcia1@hotmail.com" -> "e***@hotmail.com".
std::string MaskForLog(std::string_view text);

}  // namespace tailor

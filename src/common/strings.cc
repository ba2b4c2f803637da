#include "common/strings.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace tailor {

std::string_view Trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

std::vector<std::string> SplitNonEmpty(std::string_view text, char separator) {
  std::vector<std::string> pieces;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(separator, start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view piece = Trim(text.substr(start, end - start));
    if (!piece.empty()) pieces.emplace_back(piece);
    start = end + 1;
  }
  return pieces;
}

std::optional<int64_t> ParseInt64(std::string_view text) {
  text = Trim(text);
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

std::optional<double> ParseDouble(std::string_view text) {
  text = Trim(text);
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  double value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  // NaN and infinities are not data a segment can compare; reject them at the door.
  if (value != value || value > 1.7e308 || value < -1.7e308) return std::nullopt;
  return value;
}

std::optional<bool> ParseBool(std::string_view text) {
  text = Trim(text);
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (lower == "true" || lower == "1" || lower == "yes" || lower == "t") return true;
  if (lower == "false" || lower == "0" || lower == "no" || lower == "f") return false;
  return std::nullopt;
}

std::string MaskForLog(std::string_view text) {
  const size_t at = text.find('@');
  if (at != std::string_view::npos && at > 0) {
    return std::string(text.substr(0, 1)) + "***" + std::string(text.substr(at));
  }
  if (text.size() <= 4) return "***";
  return std::string(text.substr(0, 4)) + "***";
}

}  // namespace tailor

// User-Agent headers to device type, OS and browser: substring rules in the order that matters
// (every Chromium browser also says "Chrome/", every iOS one "like Mac OS X", every Chrome
// "Safari/"), enough for technographic segments, not a full UA database. Values are lower-case
// words, the vocabulary of the device_os / browser traits in imported data.

#include <array>
#include <cctype>

#include "tailor/collect.h"

namespace tailor::collect {
namespace {

bool Has(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

bool HasIgnoreCase(std::string_view text, std::string_view lower_part) {
  if (lower_part.size() > text.size()) return false;
  for (size_t i = 0; i + lower_part.size() <= text.size(); ++i) {
    size_t j = 0;
    while (j < lower_part.size() &&
           std::tolower(static_cast<unsigned char>(text[i + j])) == lower_part[j]) {
      ++j;
    }
    if (j == lower_part.size()) return true;
  }
  return false;
}

// Lower-case markers of crawlers, monitors and HTTP libraries.
constexpr std::array<std::string_view, 16> kBotMarkers = {
    "bot",        "crawler", "spider",  "slurp",           "facebookexternalhit", "headless",
    "lighthouse", "curl/",   "wget/",   "python-requests", "python-urllib",       "go-http-client",
    "okhttp",     "java/",   "pingdom", "apachebench",
};

std::string OsOf(std::string_view ua) {
  if (Has(ua, "Windows")) return "windows";
  if (Has(ua, "iPhone") || Has(ua, "iPad") || Has(ua, "iPod")) return "ios";
  if (Has(ua, "Android")) return "android";
  if (Has(ua, "CrOS")) return "chromeos";
  if (Has(ua, "Macintosh") || Has(ua, "Mac OS X")) return "macos";
  if (Has(ua, "Linux") || Has(ua, "X11")) return "linux";
  return "other";
}

std::string BrowserOf(std::string_view ua) {
  if (Has(ua, "Edg/") || Has(ua, "Edge/") || Has(ua, "EdgA/") || Has(ua, "EdgiOS/")) return "edge";
  if (Has(ua, "OPR/") || Has(ua, "Opera")) return "opera";
  if (Has(ua, "SamsungBrowser/")) return "samsung_internet";
  if (Has(ua, "Firefox/") || Has(ua, "FxiOS/")) return "firefox";
  if (Has(ua, "CriOS/") || Has(ua, "Chrome/")) return "chrome";
  if (Has(ua, "Safari/") && Has(ua, "Version/")) return "safari";
  return "other";
}

}  // namespace

UserAgentInfo ParseUserAgent(std::string_view ua) {
  UserAgentInfo info;
  info.os = OsOf(ua);
  info.browser = BrowserOf(ua);
  bool bot = false;
  for (std::string_view marker : kBotMarkers) bot = bot || HasIgnoreCase(ua, marker);
  if (bot) {
    info.device_type = "bot";
  } else if (Has(ua, "iPad") || Has(ua, "Tablet") || Has(ua, "Kindle") || Has(ua, "Silk/") ||
             (info.os == "android" && !Has(ua, "Mobile"))) {
    // Android phones say "Mobile"; Android tablets do not.
    info.device_type = "tablet";
  } else if (Has(ua, "Mobi") || Has(ua, "iPhone") || Has(ua, "iPod") || Has(ua, "Phone")) {
    info.device_type = "mobile";
  } else if (info.os == "windows" || info.os == "macos" || info.os == "linux" ||
             info.os == "chromeos") {
    info.device_type = "desktop";
  } else {
    info.device_type = "other";
  }
  return info;
}

}  // namespace tailor::collect

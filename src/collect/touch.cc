// Acquisition (where a visit came from) and event naming: the small text rules of collection.

#include <array>
#include <cctype>
#include <utility>

#include "tailor/collect.h"

namespace tailor::collect {
namespace {

char Lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }
bool IsAlnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
bool IsUpper(char c) { return std::isupper(static_cast<unsigned char>(c)) != 0; }
bool IsLower(char c) { return std::islower(static_cast<unsigned char>(c)) != 0; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Form decoding ('+' is a space); a malformed escape is kept as written.
std::string PercentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%' && i + 2 < text.size() && HexDigit(text[i + 1]) >= 0 &&
               HexDigit(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexDigit(text[i + 1]) * 16 + HexDigit(text[i + 2])));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// "https://www.Google.co.uk:443/search?q=x" -> "google.co.uk"; "" when there is no host.
std::string HostOf(std::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme != std::string_view::npos) {
    url.remove_prefix(scheme + 3);
  } else if (url.starts_with("//")) {
    url.remove_prefix(2);
  }
  const size_t end = url.find_first_of("/?#");
  if (end != std::string_view::npos) url = url.substr(0, end);
  const size_t at = url.rfind('@');
  if (at != std::string_view::npos) url.remove_prefix(at + 1);
  const size_t colon = url.find(':');
  if (colon != std::string_view::npos) url = url.substr(0, colon);
  std::string host;
  host.reserve(url.size());
  for (char c : url) host.push_back(Lower(c));
  if (host.starts_with("www.")) host.erase(0, 4);
  return host;
}

// True when `name` is whole labels of `host`: "google" in "google.com", "google.co.uk" and
// "news.google.de"; "t.co" in "t.co" but not in "t.com".
bool HostIsBrand(std::string_view host, std::string_view name) {
  size_t pos = 0;
  while ((pos = host.find(name, pos)) != std::string_view::npos) {
    const bool starts_label = pos == 0 || host[pos - 1] == '.';
    const size_t end = pos + name.size();
    const bool ends_label = end == host.size() || host[end] == '.';
    if (starts_label && ends_label) return true;
    ++pos;
  }
  return false;
}

struct KnownReferrer {
  std::string_view brand;  // a host label, matched by HostIsBrand
  std::string_view source;
  std::string_view medium;
};

// Checked in order: web-mail hosts of a brand before its search engine.
constexpr std::array kKnownReferrers = {
    KnownReferrer{"mail.google", "gmail", "email"},
    KnownReferrer{"outlook.live", "outlook", "email"},
    KnownReferrer{"mail.yahoo", "yahoo_mail", "email"},
    KnownReferrer{"google", "google", "organic"},
    KnownReferrer{"bing", "bing", "organic"},
    KnownReferrer{"yahoo", "yahoo", "organic"},
    KnownReferrer{"duckduckgo", "duckduckgo", "organic"},
    KnownReferrer{"baidu", "baidu", "organic"},
    KnownReferrer{"yandex", "yandex", "organic"},
    KnownReferrer{"ecosia", "ecosia", "organic"},
    KnownReferrer{"facebook", "facebook", "social"},
    KnownReferrer{"fb.com", "facebook", "social"},
    KnownReferrer{"fb.me", "facebook", "social"},
    KnownReferrer{"instagram", "instagram", "social"},
    KnownReferrer{"t.co", "twitter", "social"},
    KnownReferrer{"twitter", "twitter", "social"},
    KnownReferrer{"x.com", "twitter", "social"},
    KnownReferrer{"linkedin", "linkedin", "social"},
    KnownReferrer{"lnkd.in", "linkedin", "social"},
    KnownReferrer{"pinterest", "pinterest", "social"},
    KnownReferrer{"reddit", "reddit", "social"},
    KnownReferrer{"youtube", "youtube", "social"},
    KnownReferrer{"tiktok", "tiktok", "social"},
};

struct SpecName {
  std::string_view segment;
  std::string_view tailor;
};

// Segment's e-commerce, email, mobile and survey spec names with a tailor type of their own.
constexpr std::array kSpecNames = {
    SpecName{"Product Viewed", "product_view"},
    SpecName{"Product Added", "add_to_cart"},
    SpecName{"Product Removed", "remove_from_cart"},
    SpecName{"Order Completed", "purchase"},
    SpecName{"Order Refunded", "refund"},
    SpecName{"Products Searched", "search"},
    SpecName{"Checkout Started", "checkout_start"},
    SpecName{"Product List Viewed", "product_list_view"},
    SpecName{"Email Opened", "email_open"},
    SpecName{"Email Link Clicked", "email_click"},
    SpecName{"Application Opened", "app_open"},
    SpecName{"Push Notification Tapped", "push_open"},
    SpecName{"Survey Answered", "survey_answer"},
};

}  // namespace

UtmParams ParseUtm(std::string_view url) {
  UtmParams utm;
  const size_t question = url.find('?');
  if (question == std::string_view::npos) return utm;
  std::string_view query = url.substr(question + 1);
  const size_t hash = query.find('#');
  if (hash != std::string_view::npos) query = query.substr(0, hash);
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const size_t equals = pair.find('=');
    if (equals == std::string_view::npos) continue;
    const std::string key = PercentDecode(pair.substr(0, equals));
    std::string* target = key == "utm_source"     ? &utm.source
                          : key == "utm_medium"   ? &utm.medium
                          : key == "utm_campaign" ? &utm.campaign
                                                  : nullptr;
    // The first occurrence wins, as in browsers' URLSearchParams.get().
    if (target != nullptr && target->empty()) *target = PercentDecode(pair.substr(equals + 1));
  }
  return utm;
}

TouchPoint ClassifyTouch(std::string_view referrer, std::string_view utm_source,
                         std::string_view utm_medium, std::string_view utm_campaign) {
  TouchPoint touch;
  if (!utm_source.empty()) {
    touch.source = utm_source;
    touch.medium = utm_medium;
    touch.campaign = utm_campaign;
    return touch;
  }
  touch.campaign = utm_campaign;
  const std::string host = HostOf(referrer);
  if (host.empty()) {
    touch.source = "direct";
    touch.medium = utm_medium.empty() ? "none" : std::string(utm_medium);
    return touch;
  }
  touch.source = host;
  touch.medium = "referral";
  for (const KnownReferrer& known : kKnownReferrers) {
    if (HostIsBrand(host, known.brand)) {
      touch.source = known.source;
      touch.medium = known.medium;
      break;
    }
  }
  if (!utm_medium.empty()) touch.medium = utm_medium;
  return touch;
}

std::string EventTypeFromName(std::string_view name) {
  for (const SpecName& spec : kSpecNames) {
    if (EqualsIgnoreCase(name, spec.segment)) return std::string(spec.tailor);
  }
  // snake_case: lower case, every run of other characters one '_', a '_' between a lower-case
  // letter or digit and an upper-case one ("signedUp" -> signed_up). Bytes of UTF-8 sequences
  // count as letters. Names already in snake_case come out unchanged.
  std::string out;
  out.reserve(name.size() + 4);
  bool pending_separator = false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool word = IsAlnum(c) || static_cast<unsigned char>(c) >= 0x80;
    if (!word) {
      pending_separator = true;
      continue;
    }
    if (i > 0 && IsUpper(c) &&
        (IsLower(name[i - 1]) || std::isdigit(static_cast<unsigned char>(name[i - 1])) != 0)) {
      pending_separator = true;
    }
    if (pending_separator && !out.empty()) out.push_back('_');
    pending_separator = false;
    out.push_back(Lower(c));
  }
  return out;
}

}  // namespace tailor::collect

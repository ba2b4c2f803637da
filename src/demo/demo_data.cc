#include "tailor/demo_data.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstdio>
#include <filesystem>
#include <iterator>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace tailor::demo {
namespace {

// All arithmetic below is on integers on purpose: std:: distributions and libm differ across
// platforms (and compilers may fuse float multiply-adds), but the files must be byte-identical.
constexpr int64_t kDay = 86400;

uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// xoshiro256**; one stream per profile, so profile i's rows never depend on the profiles after it.
// Never draw twice in one expression (a + b, f(x, y)): C++ leaves the order of the draws to the
// compiler, and g++ and clang++ do pick different orders.
class Rng {
 public:
  Rng(uint64_t seed, uint64_t stream) {
    uint64_t mix = seed * 0xD1B54A32D192ED03ULL ^ (stream + 0x632BE59BD9B4E019ULL);
    for (uint64_t& word : state_) word = SplitMix64(mix);
  }
  uint64_t Next() {
    const uint64_t result = std::rotl(state_[1] * 5, 7) * 9, shifted = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= shifted;
    state_[3] = std::rotl(state_[3], 45);
    return result;
  }
  // Uniform in [0, n) for n < 2^32 (multiply-shift: no division; bias below n / 2^32).
  int64_t Below(int64_t n) {
    return n <= 0 ? 0 : static_cast<int64_t>(((Next() >> 32) * static_cast<uint64_t>(n)) >> 32);
  }
  bool PerMille(int64_t chance) { return Below(1000) < chance; }
  // About N(0, 1) in thousandths: Irwin-Hall sum of four uniforms, bounded at +-3.46 sd, which
  // suits demographics.
  int64_t NormalMilli() {
    int64_t sum = 0;
    for (int k = 0; k < 4; ++k) sum += Below(1 << 16);
    return (sum - 131070) * 1000 / 37837;
  }
  // Index i with probability (sums[i] - sums[i - 1]) / sums.back().
  template <typename Sums>
  int Pick(const Sums& sums) {
    const int64_t r = Below(sums.back());
    return static_cast<int>(std::upper_bound(sums.begin(), sums.end(), r) - sums.begin());
  }

 private:
  std::array<uint64_t, 4> state_;
};

std::vector<int64_t> Cumulative(const std::vector<int64_t>& weights) {
  std::vector<int64_t> sums(weights.size());
  for (size_t i = 0; i < weights.size(); ++i) sums[i] = weights[i] + (i > 0 ? sums[i - 1] : 0);
  return sums;
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

// value * 2^(exponent_milli / 1000), with 2^f linear inside each octave: a monotone,
// integer-only stand-in for exp() that gives lognormal-like prices, incomes and activity.
int64_t TimesPow2(int64_t value, int64_t exponent_milli) {
  const int64_t octave = FloorDiv(exponent_milli, 1000);
  const int64_t scaled = value * (1000 + exponent_milli - octave * 1000);
  const int64_t shift = std::clamp<int64_t>(octave, -40, 20);
  return (shift >= 0 ? scaled << shift : scaled >> -shift) / 1000;
}

// Calendar: H. Hinnant's days-from-civil algorithms.
struct CivilDate {
  int64_t year, month, day;
};
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = FloorDiv(y, 400), yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}
CivilDate CivilFromDays(int64_t days) {
  const int64_t z = days + 719468, era = FloorDiv(z, 146097), doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;
  return {yoe + era * 400 + (month <= 2), month, doy - (153 * mp + 2) / 5 + 1};
}
// Accepts exactly "YYYY-MM-DDTHH:MM:SSZ", the form the files use.
bool ParseIsoSeconds(std::string_view text, int64_t& seconds) {
  if (text.size() != 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' ||
      text[16] != ':' || text[19] != 'Z') {
    return false;
  }
  std::array<int64_t, 6> parts{};  // year, month, day, hour, minute, second
  constexpr std::array<int64_t, 6> kLow = {1980, 1, 1, 0, 0, 0}, kHigh = {9999, 12, 31, 23, 59, 59};
  for (size_t part = 0, at = 0; part < parts.size(); ++part, ++at) {
    for (const size_t end = part == 0 ? 4 : at + 2; at < end; ++at) {
      if (text[at] < '0' || text[at] > '9') return false;
      parts[part] = parts[part] * 10 + (text[at] - '0');
    }
    if (parts[part] < kLow[part] || parts[part] > kHigh[part]) return false;
  }
  const int64_t days = DaysFromCivil(parts[0], parts[1], parts[2]);
  seconds = days * kDay + parts[3] * 3600 + parts[4] * 60 + parts[5];
  return CivilFromDays(days).day == parts[2];  // rejects 2026-02-31
}

// Text output, hand-rolled for speed (millions of small numbers) and to never format a float.
void AppendPadded(std::string& out, uint64_t value, int width) {
  char digits[24];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  while (n < width) digits[n++] = '0';
  while (n > 0) out.push_back(digits[--n]);
}
// A number kept in units of 10^-decimals: (1234, 2) -> "12.34", (-5, 0) -> "-5".
void AppendFixed(std::string& out, int64_t value, int decimals) {
  int64_t scale = 1;
  for (int k = 0; k < decimals; ++k) scale *= 10;
  if (value < 0) out.push_back('-');
  const uint64_t magnitude = static_cast<uint64_t>(value < 0 ? -value : value);
  AppendPadded(out, magnitude / scale, 1);
  if (decimals == 0) return;
  out.push_back('.');
  AppendPadded(out, magnitude % scale, decimals);
}
void AppendTimestamp(std::string& out, int64_t epoch_seconds) {
  const int64_t days = FloorDiv(epoch_seconds, kDay), second = epoch_seconds - days * kDay;
  const CivilDate date = CivilFromDays(days);
  const std::array<std::pair<int64_t, char>, 6> parts = {{{date.year, '-'},
                                                          {date.month, '-'},
                                                          {date.day, 'T'},
                                                          {second / 3600, ':'},
                                                          {second / 60 % 60, ':'},
                                                          {second % 60, 'Z'}}};
  for (const auto& [number, separator] : parts) {
    AppendPadded(out, number, 2);
    out.push_back(separator);
  }
}
void AppendId(std::string& out, char prefix, uint64_t number, int width) {
  out.push_back(prefix);
  AppendPadded(out, number, width);
}

// One output file: rows accumulate in a buffer that is written in 4 MiB blocks.
class BufferedFile {
 public:
  ~BufferedFile() {
    if (file_ != nullptr) std::fclose(file_);
  }
  Status Open(std::string path) {
    path_ = std::move(path);
    file_ = std::fopen(path_.c_str(), "wb");
    return file_ != nullptr ? Status::Ok() : IoError("cannot create {}", path_);
  }
  std::string& buffer() { return buffer_; }
  Status Flush(size_t at_least = 0) {
    if (buffer_.size() < at_least) return Status::Ok();
    if (std::fwrite(buffer_.data(), 1, buffer_.size(), file_) != buffer_.size()) {
      return IoError("cannot write {} (disk full?)", path_);
    }
    buffer_.clear();
    return Status::Ok();
  }
  Status Close() {
    TAILOR_RETURN_IF_ERROR(Flush());
    const int rc = std::fclose(file_);
    file_ = nullptr;
    return rc == 0 ? Status::Ok() : IoError("cannot write {}", path_);
  }

 private:
  std::string path_, buffer_;
  std::FILE* file_ = nullptr;
};

// Reference tables. No value may contain a comma, a double quote or a newline.
// clang-format off
struct City {
  std::string_view name, region, country;
  int64_t lat_micro, lon_micro;
  int64_t cos_lat_milli;  // a degree of longitude shrinks with latitude: keeps the jitter round
  int64_t weight;         // Zipf-like share of customers, Madrid largest
};
constexpr std::array<City, 16> kCities = {{
    {"Madrid", "Comunidad de Madrid", "ES", 40416800, -3703800, 761, 1000},
    {"London", "England", "GB", 51507200, -127600, 622, 555},
    {"New York", "New York", "US", 40712800, -74006000, 758, 393},
    {"Paris", "Ile-de-France", "FR", 48856600, 2352200, 658, 308},
    {"Barcelona", "Cataluna", "ES", 41387400, 2168600, 750, 255},
    {"Berlin", "Berlin", "DE", 52520000, 13405000, 608, 218},
    {"Los Angeles", "California", "US", 34052200, -118243700, 829, 191},
    {"Milan", "Lombardy", "IT", 45464200, 9190000, 701, 171},
    {"Chicago", "Illinois", "US", 41878100, -87629800, 745, 154},
    {"Amsterdam", "North Holland", "NL", 52367600, 4904100, 611, 141},
    {"Munich", "Bavaria", "DE", 48135100, 11582000, 667, 130},
    {"Toronto", "Ontario", "CA", 43653200, -79383200, 724, 121},
    {"Valencia", "Comunitat Valenciana", "ES", 39469900, -376300, 772, 113},
    {"Manchester", "England", "GB", 53480800, -2242600, 595, 106},
    {"Lisbon", "Lisboa", "PT", 38722300, -9139300, 780, 100},
    {"Seville", "Andalucia", "ES", 37389100, -5984500, 795, 95},
}};

enum CategoryIndex {
  kGolfClubs, kGolfBalls, kGolfApparel, kGolfAccessories, kRunning, kCycling, kFitness, kOutdoor,
  kTravel, kBooks, kElectronics, kGaming, kHome, kKitchen, kBeauty, kFashionWomen, kFashionMen,
  kKids, kPets, kMusic, kNumCategories
};
constexpr int kFullSet = 4;  // golf_clubs subcategory
struct Category {
  std::string_view name;
  int64_t share, popularity;                       // of the catalogue; base browsing weight
  int64_t median_price_cents, price_spread_milli;  // spread: sd of log2(price)
  bool leveled;                                    // items are beginner/intermediate/advanced
  std::array<std::string_view, 5> subcategories;   // "" pads
  std::array<std::string_view, 4> brands;
};
constexpr std::array<Category, kNumCategories> kCategories = {{
    {"golf_clubs", 5, 3, 18000, 866, true, {"driver", "irons", "putter", "wedge", "full_set"},
     {"Callaway", "TaylorMade", "Titleist", "Ping"}},
    {"golf_balls", 3, 3, 3200, 577, true, {"tour", "distance", "soft", "practice"},
     {"Titleist", "Callaway", "Srixon", "Bridgestone"}},
    {"golf_apparel", 5, 2, 5500, 721, false, {"polo", "shoes", "gloves", "outerwear", "caps"},
     {"FootJoy", "Puma Golf", "Under Armour", "Adidas Golf"}},
    {"golf_accessories", 3, 2, 4000, 1010, false, {"bags", "rangefinders", "tees", "trolleys"},
     {"Bushnell", "Sun Mountain", "Garmin", "Titleist"}},
    {"running", 6, 6, 8000, 721, true, {"shoes", "apparel", "watches", "hydration"},
     {"Nike", "Asics", "Brooks", "Hoka"}},
    {"cycling", 4, 3, 12000, 1443, true, {"bikes", "helmets", "apparel", "parts"},
     {"Trek", "Specialized", "Giant", "Shimano"}},
    {"fitness", 5, 6, 4500, 1010, true, {"weights", "mats", "machines", "supplements"},
     {"Bowflex", "Reebok", "Decathlon", "Optimum"}},
    {"outdoor", 5, 4, 7000, 1010, false, {"tents", "backpacks", "jackets", "boots"},
     {"Patagonia", "The North Face", "Salomon", "Columbia"}},
    {"travel", 4, 5, 65000, 866, false, {"flights", "hotels", "packages", "luggage"},
     {"TravelCo", "SunTrips", "Samsonite", "CityBreaks"}},
    {"books", 10, 7, 1600, 577, false, {"fiction", "non_fiction", "cookbooks", "travel_guides"},
     {"Penguin", "HarperCollins", "Vintage", "Lonely Planet"}},
    {"electronics", 8, 9, 19000, 1298, false, {"phones", "laptops", "audio", "cameras"},
     {"Apple", "Samsung", "Sony", "Lenovo"}},
    {"gaming", 4, 5, 5500, 1154, false, {"consoles", "games", "accessories"},
     {"Nintendo", "Sony", "Microsoft", "Logitech"}},
    {"home", 7, 6, 6000, 1154, false, {"furniture", "decor", "lighting", "bedding"},
     {"Ikea", "West Elm", "Zara Home", "Habitat"}},
    {"kitchen", 5, 4, 4500, 1010, false, {"cookware", "appliances", "knives", "wine_accessories"},
     {"Le Creuset", "KitchenAid", "Tefal", "Zwilling"}},
    {"beauty", 5, 6, 2800, 866, false, {"skincare", "makeup", "fragrance", "haircare"},
     {"L'Oreal", "Nivea", "Clinique", "Dior"}},
    {"fashion_women", 8, 8, 4800, 866, false, {"dresses", "tops", "shoes", "bags"},
     {"Zara", "Mango", "H&M", "COS"}},
    {"fashion_men", 6, 6, 5000, 866, false, {"shirts", "trousers", "shoes", "jackets"},
     {"Zara", "Uniqlo", "Levis", "Hugo Boss"}},
    {"kids", 3, 3, 2500, 866, false, {"toys", "clothing", "school"},
     {"Lego", "Hasbro", "Mattel", "Carters"}},
    {"pets", 2, 3, 2200, 866, false, {"food", "toys", "beds"},
     {"Purina", "Royal Canin", "Kong", "Trixie"}},
    {"music", 2, 3, 3500, 1443, false, {"instruments", "vinyl", "headphones"},
     {"Yamaha", "Fender", "Roland", "Sennheiser"}},
}};

struct Interest {
  std::string_view name;
  int64_t weight;                    // Zipf-like popularity
  std::array<int8_t, 4> categories;  // browsed more by people with the interest; -1 pads
};
constexpr int kGolfInterest = 8;
constexpr std::array<Interest, 20> kInterests = {{
    {"travel", 1000, {kTravel, kOutdoor, -1, -1}},
    {"fitness", 683, {kFitness, kRunning, -1, -1}},
    {"cooking", 546, {kKitchen, kBooks, -1, -1}},
    {"music", 467, {kMusic, -1, -1, -1}},
    {"fashion", 413, {kFashionWomen, kFashionMen, kBeauty, -1}},
    {"technology", 373, {kElectronics, kGaming, -1, -1}},
    {"books", 343, {kBooks, -1, -1, -1}},
    {"outdoors", 319, {kOutdoor, kCycling, -1, -1}},
    {"golf", 299, {kGolfClubs, kGolfBalls, kGolfApparel, kGolfAccessories}},
    {"running", 282, {kRunning, -1, -1, -1}},
    {"movies", 267, {kElectronics, kBooks, -1, -1}},
    {"photography", 255, {kElectronics, -1, -1, -1}},
    {"home_decor", 244, {kHome, -1, -1, -1}},
    {"gaming", 234, {kGaming, -1, -1, -1}},
    {"beauty", 226, {kBeauty, -1, -1, -1}},
    {"wine", 218, {kKitchen, kTravel, -1, -1}},
    {"cycling", 211, {kCycling, -1, -1, -1}},
    {"yoga", 204, {kFitness, -1, -1, -1}},
    {"pets", 198, {kPets, -1, -1, -1}},
    {"tennis", 193, {kFitness, kFashionMen, -1, -1}},
}};

// A trait's values with cumulative per-mille weights, so a value and its frequency read together.
template <size_t N>
struct Choices {
  std::array<std::string_view, N> names;
  std::array<int64_t, N> sums;
};
constexpr Choices<4> kGenders = {{"female", "male", "other", ""}, {490, 960, 980, 1000}};
constexpr Choices<6> kOperatingSystems = {{"", "ios", "android", "windows", "macos", "linux"},
                                          {30, 360, 700, 870, 970, 1000}};
constexpr Choices<6> kPreferredChannels = {{"email", "web", "app", "sms", "push", "store"},
                                           {340, 600, 800, 860, 930, 1000}};
constexpr Choices<6> kAcquisitionSources = {
    {"organic", "paid_search", "social", "email", "referral", "affiliate"},
    {380, 600, 780, 860, 950, 1000}};
constexpr Choices<5> kDomains = {{"gmail.com", "yahoo.com", "outlook.com", "hotmail.com",
                                  "icloud.com"}, {450, 570, 770, 950, 1000}};
constexpr std::array<std::string_view, 6> kBrowsers = {"", "chrome", "safari", "firefox", "edge",
                                                       "samsung_internet"};
constexpr std::array<std::string_view, 20> kFemaleNames = {"Maria", "Laura", "Emma", "Olivia",
    "Sofia", "Lucia", "Anna", "Julia", "Chloe", "Mia", "Isabel", "Sarah", "Elena", "Claire",
    "Hannah", "Grace", "Paula", "Marta", "Aiko", "Ines"};
constexpr std::array<std::string_view, 20> kMaleNames = {"James", "David", "Carlos", "Lucas",
    "Daniel", "Pablo", "Thomas", "Liam", "Noah", "Marco", "Javier", "Oliver", "Hugo", "Leon",
    "Matteo", "Samuel", "Ethan", "Diego", "Kenji", "Pedro"};
constexpr std::array<std::string_view, 12> kLastNames = {"garcia", "smith", "martin", "muller",
    "rossi", "silva", "johnson", "brown", "lopez", "dubois", "schmidt", "taylor"};
constexpr std::array<std::string_view, 15> kOccupations = {"engineer", "teacher", "nurse",
    "manager", "sales", "student", "retired", "self_employed", "lawyer", "doctor", "artist",
    "clerk", "technician", "consultant", "unemployed"};
constexpr int kStudent = 5, kRetired = 6;
constexpr std::array<std::string_view, 4> kMaritalStatuses = {"single", "married", "divorced",
                                                              "widowed"};
constexpr std::array<std::string_view, 3> kLevels = {"beginner", "intermediate", "advanced"};
constexpr std::array<std::string_view, 4> kTiers = {"none", "silver", "gold", "platinum"};

enum EventType : uint8_t {
  kPageView, kProductView, kSearch, kAddToCart, kRemoveFromCart, kPurchase, kRefund, kEmailSent,
  kEmailOpen, kEmailClick, kPushOpen, kAppOpen, kSurveyAnswer
};
constexpr std::array<std::string_view, 13> kEventTypes = {"page_view", "product_view", "search",
    "add_to_cart", "remove_from_cart", "purchase", "refund", "email_sent", "email_open",
    "email_click", "push_open", "app_open", "survey_answer"};
enum Channel : uint8_t { kWeb, kApp, kEmail, kStore, kChatbot, kSms };
constexpr std::array<std::string_view, 6> kChannels = {"web", "app", "email", "store", "chatbot",
                                                       "sms"};
// page_url = prefix + a detail that depends on the page (category, query, item, answer).
enum Page : uint8_t {
  kNoPage, kHomePage, kCategoryPage, kSearchPage, kProductPage, kCartPage, kCheckoutPage,
  kWelcomePage, kSurveyPage
};
constexpr std::array<std::string_view, 9> kPagePrefixes = {"", "/", "/c/", "/search?q=", "/p/",
    "/cart", "/checkout/complete", "/account/welcome", "/survey?"};
constexpr std::array<std::string_view, 6> kSurveyAnswers = {"golf_level=beginner",
    "golf_level=intermediate", "golf_level=advanced", "shopping_for=self", "shopping_for=gift",
    "shopping_for=inspiration"};
// How a visit's landing page view was reached: utm_source, ad campaign prefix, referrer.
enum Traffic : uint8_t {
  kDirect, kNewsletter, kGoogleAds, kFacebook, kInstagram, kTiktok, kAffiliate, kSmsLink,
  kPartnerBlog, kOrganicSearch
};
struct TrafficSource {
  std::string_view utm_source, campaign_prefix, referrer;
};
constexpr std::array<TrafficSource, 10> kTrafficSources = {{
    {"", "", ""}, {"newsletter", "", ""},
    {"google", "search_", "https://www.google.com/"},
    {"facebook", "social_", "https://www.facebook.com/"},
    {"instagram", "social_", "https://www.instagram.com/"},
    {"tiktok", "social_", "https://www.tiktok.com/"},
    {"affiliate_net", "aff_", "https://deals.affiliate-net.example.com/"},
    {"sms", "", ""}, {"", "", "https://partner-blog.example.com/"},
    {"", "", "https://www.google.com/"},
}};
// clang-format on

int CountSubcategories(const Category& category) {
  return static_cast<int>(std::count_if(category.subcategories.begin(),
                                        category.subcategories.end(),
                                        [](std::string_view s) { return !s.empty(); }));
}

struct Item {
  int category = 0, subcategory = 0, level = -1, brand = 0;  // level -1: not leveled
  int64_t price_cents = 0, margin_percent = 0;
  bool in_stock = true;
};
struct Catalogue {
  std::vector<Item> items;
  std::array<std::vector<int>, kNumCategories> by_category;     // most popular first
  std::array<std::vector<int64_t>, kNumCategories> popularity;  // cumulative Zipf weights
  std::array<std::vector<int>, kNumCategories * 3> by_level;    // [category * 3 + level]
  std::vector<int> beginner_sets;                               // golf_clubs/full_set/beginner
};

Catalogue MakeCatalogue(uint64_t seed, uint32_t count) {
  Catalogue catalogue;
  Rng rng(seed, ~uint64_t{0});  // a stream no profile uses
  std::vector<int64_t> shares;
  for (const Category& category : kCategories) shares.push_back(category.share);
  const std::vector<int64_t> share_sums = Cumulative(shares);
  for (uint32_t i = 0, golf_clubs = 0; i < count; ++i) {
    Item item;
    // The first items give every category one; i000001 is a golf club.
    item.category = i < kNumCategories ? static_cast<int>(i) : rng.Pick(share_sums);
    const Category& category = kCategories[item.category];
    item.subcategory = static_cast<int>(rng.Below(CountSubcategories(category)));
    item.level = category.leveled ? static_cast<int>(rng.Below(3)) : -1;
    // Every 10th golf club (i000001 first) is a full set: the upsell story needs them.
    if (item.category == kGolfClubs && golf_clubs++ % 10 == 0) item.subcategory = kFullSet;
    const bool full_set = item.category == kGolfClubs && item.subcategory == kFullSet;
    if (full_set) item.level = 0;  // full sets are for beginners
    item.brand = static_cast<int>(rng.Below(4));
    int64_t price = TimesPow2(category.median_price_cents,
                              category.price_spread_milli * rng.NormalMilli() / 1000);
    if (item.level >= 0) price = price * (750 + 300 * item.level) / 1000;
    if (full_set) price = price * 28 / 10;
    if (rng.PerMille(500)) price = price / 100 * 100 - 1;  // charm pricing: 49.99
    item.price_cents = std::max<int64_t>(price, 99);
    item.margin_percent = 5 + rng.Below(51);
    item.in_stock = rng.PerMille(920);
    const int index = static_cast<int>(catalogue.items.size());
    catalogue.by_category[item.category].push_back(index);
    if (item.level >= 0) catalogue.by_level[item.category * 3 + item.level].push_back(index);
    if (full_set) catalogue.beginner_sets.push_back(index);
    catalogue.items.push_back(item);
  }
  for (int c = 0; c < kNumCategories; ++c) {
    std::vector<int64_t> weights;  // Zipf over catalogue order: a few bestsellers per category
    for (size_t rank = 1; rank <= catalogue.by_category[c].size(); ++rank) {
      weights.push_back(1'000'000 / static_cast<int64_t>(rank));
    }
    catalogue.popularity[c] = Cumulative(weights);
  }
  return catalogue;
}

void AppendItems(const Catalogue& catalogue, std::string& out) {
  out += "item_id,name,category,subcategory,level,brand,price,margin,in_stock\n";
  for (size_t i = 0; i < catalogue.items.size(); ++i) {
    const Item& item = catalogue.items[i];
    const Category& category = kCategories[item.category];
    const std::string_view level = item.level >= 0 ? kLevels[item.level] : "";
    const std::string_view subcategory = category.subcategories[item.subcategory];
    std::string readable(subcategory);  // the name reads "Ping beginner full set #1"
    std::replace(readable.begin(), readable.end(), '_', ' ');
    AppendId(out, 'i', i + 1, 6);
    fmt::format_to(std::back_inserter(out), ",{} {}{}{} #{},{},{},{},{},",
                   category.brands[item.brand], level, level.empty() ? "" : " ", readable, i + 1,
                   category.name, subcategory, level, category.brands[item.brand]);
    AppendFixed(out, item.price_cents, 2);
    out.push_back(',');
    AppendFixed(out, item.margin_percent, 2);
    out += item.in_stock ? ",true\n" : ",false\n";
  }
}

// Everything a profile's rows depend on besides its own random stream.
struct World {
  uint64_t seed = 0;
  int64_t now = 0, horizon = 0;  // events are kept in [horizon, now)
  Catalogue catalogue;
  std::vector<int64_t> city_sums, interest_sums;
  std::vector<int64_t> campaign_times;  // the weekly newsletter, themed by a category
  std::vector<int> campaign_categories;
  std::vector<std::string> campaign_names;
};

struct Profile {
  int64_t signup = 0, active_end = 0;  // active_end < now: churned
  int64_t value_milli = 0;             // latent customer value, about N(0, 1)
  int tier = 0, gender = 0, golf_level = -1, os = 0, preferred_channel = 0, acquisition = 0;
  uint32_t interests = 0;                // bit i: kInterests[i]
  int64_t price_sensitivity_milli = -1;  // -1: missing
  bool opt_in = false, churned = false, abandons_cart = false;
  int64_t event_budget = 0, anonymous_views = 0;
};

// Draws one profile and appends its profiles.csv row.
Profile MakeProfile(const World& world, uint32_t index, Rng& rng, std::string& out) {
  Profile p;
  const int64_t z = p.value_milli = rng.NormalMilli();
  // Signup up to 6 years back, skewed to recent ((u + u^2) / 2): the business is growing.
  const int64_t u = rng.Below(100000);
  const int64_t days_ago = 1 + 2190 * u * (100000 + u) / 20'000'000'000;
  p.signup = std::min(world.now - days_ago * kDay + rng.Below(kDay), world.now - 3600);
  const int64_t tier_score = (750 * z + 660 * rng.NormalMilli()) / 1000;
  p.tier = tier_score > 1750 ? 3 : tier_score > 1100 ? 2 : tier_score > 400 ? 1 : 0;
  if (days_ago < 60) p.tier = std::min(p.tier, 1);  // tiers take time to earn
  p.gender = rng.Pick(kGenders.sums);
  int64_t age = FloorDiv(41000 + 14 * rng.NormalMilli() + 500, 1000);
  age = age < 18 ? 18 + rng.Below(5) : std::min<int64_t>(age, 92);
  const bool age_missing = rng.PerMille(30);
  // Income: lognormal around 48k (sd 0.55 in ln, 0.79 in log2), tied to customer value.
  const int64_t income_log2_milli = 793 * (550 * z + 830 * rng.NormalMilli()) / 1'000'000;
  const int64_t income = TimesPow2(48000, income_log2_milli) * (age < 23 ? 45 : 100) / 100;
  const bool income_missing = rng.PerMille(120);
  int64_t interest_count = rng.Below(4);
  interest_count += rng.PerMille(500);
  interest_count = rng.PerMille(70) ? 0 : interest_count + rng.PerMille(200);
  for (int tries = 0; tries < 3 * interest_count && std::popcount(p.interests) < interest_count;
       ++tries) {
    p.interests |= 1u << rng.Pick(world.interest_sums);
  }
  if ((p.interests >> kGolfInterest & 1) && !rng.PerMille(60)) {
    const int64_t roll = rng.Below(1000) + (age > 50 ? 150 : 0) + (p.tier >= 2 ? 100 : 0);
    p.golf_level = roll < 450 ? 0 : roll < 820 ? 1 : 2;
  }
  p.os = rng.Pick(kOperatingSystems.sums);
  const int64_t browser_roll = rng.Below(1000);  // the browser follows the OS
  int browser = p.os == 1 || p.os == 4 ? (browser_roll < 800 ? 2 : 1)
                : p.os == 2            ? (browser_roll < 800 ? 1 : 5)
                                       : (browser_roll < 600   ? 1
                                          : browser_roll < 800 ? 3
                                                               : 4);
  if (rng.PerMille(30)) browser = 0;
  p.price_sensitivity_milli =
      std::clamp<int64_t>(500 - 180 * z / 1000 + 200 * rng.NormalMilli() / 1000 -
                              (income_missing ? 0 : 35 * income_log2_milli / 1000),
                          0, 1000);
  if (rng.PerMille(40)) p.price_sensitivity_milli = -1;
  p.opt_in = rng.PerMille(620 + 60 * std::clamp<int64_t>(z, -1000, 1500) / 1000);
  p.preferred_channel = rng.Pick(kPreferredChannels.sums);
  if (!p.opt_in && p.preferred_channel == 0) p.preferred_channel = 1;  // not email
  p.acquisition = rng.Pick(kAcquisitionSources.sums);
  // Churn: some older customers went quiet 120..700 days ago.
  p.active_end = world.now;
  if (days_ago > 330 && rng.PerMille(180)) {
    p.churned = true;
    const int64_t quiet_days = 120 + rng.Below(std::min<int64_t>(days_ago - 60, 700) - 120 + 1);
    p.active_end = world.now - quiet_days * kDay - rng.Below(kDay);
  }
  p.abandons_cart = !p.churned && rng.PerMille(35);
  // Activity: heavy-tailed (lognormal), more for valuable and long-standing customers.
  int64_t activity = TimesPow2(1000, 3400 + (1515 * rng.NormalMilli() + 433 * z) / 1000);
  if (days_ago < 730) activity = activity * (350 + 650 * days_ago / 730) / 1000;
  p.event_budget = std::min<int64_t>(activity / 1000, 2000);
  p.anonymous_views = rng.PerMille(300) ? 1 + rng.Below(5) : 0;

  const bool male_name = p.gender == 1 || (p.gender >= 2 && rng.PerMille(500));
  const std::string_view first_name = male_name ? kMaleNames[rng.Below(kMaleNames.size())]
                                                : kFemaleNames[rng.Below(kFemaleNames.size())];
  const std::string_view last_name = kLastNames[rng.Below(kLastNames.size())];
  auto out_it = std::back_inserter(out);
  AppendId(out, 'c', index + 1, 7);
  out.push_back(',');
  if (!rng.PerMille(30)) {  // email: first.last<n>@domain
    for (char ch : first_name) out.push_back(static_cast<char>(ch | 0x20));  // ASCII lower case
    fmt::format_to(out_it, ".{}{}@{}", last_name, index + 1,
                   kDomains.names[rng.Pick(kDomains.sums)]);
  }
  fmt::format_to(out_it, ",{},", rng.PerMille(20) ? "" : first_name);
  if (!age_missing) AppendFixed(out, age, 0);
  fmt::format_to(out_it, ",{},", kGenders.names[p.gender]);
  if (!income_missing) AppendFixed(out, (income + 50) / 100 * 100, 0);
  out.push_back(',');
  if (!rng.PerMille(50)) {  // marital status depends on age
    const int64_t roll = rng.Below(1000);
    out += kMaritalStatuses[age < 27   ? (roll < 800 ? 0 : 1)
                            : age > 70 ? (roll < 150   ? 0
                                          : roll < 650 ? 1
                                          : roll < 800 ? 2
                                                       : 3)
                                       : (roll < 320   ? 0
                                          : roll < 820 ? 1
                                          : roll < 970 ? 2
                                                       : 3)];
  }
  out.push_back(',');
  if (!rng.PerMille(50)) {  // students are young, the retired old
    int64_t occupation = age < 24 && rng.PerMille(600)   ? kStudent
                         : age > 66 && rng.PerMille(750) ? kRetired
                                                         : rng.Below(kOccupations.size());
    if (occupation == kRetired && age < 55) occupation = 0;
    out += kOccupations[occupation];
  }
  const City& city = kCities[rng.Pick(world.city_sums)];
  const bool city_missing = rng.PerMille(10);
  fmt::format_to(out_it, ",{},{},{},", city.country, city_missing ? "" : city.region,
                 city_missing ? "" : city.name);
  // Location: city centre + ~13 km Gaussian jitter (8% rural, ~60 km), in micro-degrees.
  const int64_t spread = rng.PerMille(80) ? 600 : 130;
  const int64_t lat = city.lat_micro + spread * rng.NormalMilli();
  const int64_t lon = city.lon_micro + spread * rng.NormalMilli() * 1000 / city.cos_lat_milli;
  if (!city_missing && !rng.PerMille(30)) {
    AppendFixed(out, lat, 6);
    out.push_back(',');
    AppendFixed(out, lon, 6);
  } else {
    out.push_back(',');
  }
  out.push_back(',');
  AppendTimestamp(out, p.signup);
  fmt::format_to(out_it, ",{},", kTiers[p.tier]);
  for (size_t i = 0, listed = 0; i < kInterests.size(); ++i) {
    if (!(p.interests >> i & 1)) continue;
    if (listed++ > 0) out.push_back(';');
    out += kInterests[i].name;
  }
  out.push_back(',');
  if (p.price_sensitivity_milli >= 0) AppendFixed(out, p.price_sensitivity_milli, 3);
  fmt::format_to(out_it, ",{},{},{},{},{},{}\n", kOperatingSystems.names[p.os], kBrowsers[browser],
                 p.opt_in ? "true" : "false", kPreferredChannels.names[p.preferred_channel],
                 kAcquisitionSources.names[p.acquisition],
                 p.golf_level >= 0 ? kLevels[p.golf_level] : "");
  return p;
}

struct Event {
  int64_t ts = 0, price_cents = -1;              // -1: empty
  int32_t item = -1, order = -1, campaign = -1;  // campaign: newsletter index
  int16_t category = -1;
  EventType type = kPageView;
  Channel channel = kWeb;
  Page page = kNoPage;
  Traffic traffic = kDirect;
  uint8_t quantity = 0, survey = 0;
  bool anonymous = false, identifies = false;  // identifies: carries both ids (the link row)
};
using CartLines = std::vector<std::pair<int, int64_t>>;  // item, quantity

// One profile's event history; behaviour follows the profile's traits.
class EventBuilder {
 public:
  EventBuilder(const World& world, const Profile& profile, Rng& rng, std::vector<Event>& events)
      : world_(world), p_(profile), rng_(rng), events_(events), budget_(profile.event_budget) {
    std::vector<int64_t> weights;  // x4 so that the cross-gender 1/4 below stays an integer
    for (const Category& category : kCategories) weights.push_back(4 * category.popularity);
    for (size_t i = 0; i < kInterests.size(); ++i) {
      if (!(p_.interests >> i & 1)) continue;
      for (int8_t c : kInterests[i].categories) {
        if (c >= 0) weights[c] *= i == kGolfInterest ? 14 : 7;  // golfers are single-minded
      }
    }
    if (p_.gender <= 1) weights[p_.gender == 0 ? kFashionMen : kFashionWomen] /= 4;
    category_sums_ = Cumulative(weights);
    const int64_t engagement = std::clamp<int64_t>(p_.value_milli, -2000, 2500);
    cart_chance_ = std::clamp<int64_t>(240 + 60 * engagement / 1000, 50, 500);
    buy_chance_ = std::clamp<int64_t>(380 + 100 * engagement / 1000 + 70 * p_.tier, 80, 900);
    open_chance_ = std::clamp<int64_t>(150 + 80 * engagement / 1000 + rng_.Below(300), 20, 750);
    const int64_t click_affinity = rng_.Below(1000);  // a product of uniforms: few click a lot
    click_chance_ = 60 + 250 * click_affinity * rng_.Below(1000) / 1'000'000;
    const int64_t sensitivity = p_.price_sensitivity_milli;
    discount_chance_ = sensitivity < 0 ? 100 : 350 * sensitivity / 1000;
  }

  // Fills events with the profile's rows in [horizon, now), in time order.
  void Build() {
    const int64_t start = std::max(p_.signup, world_.horizon), end = p_.active_end;
    Newsletters();
    // Half of the golf beginners buy a beginner set; some of them later move up to intermediate.
    const std::vector<int>& sets = world_.catalogue.beginner_sets;
    const std::vector<int>& upgrades = world_.catalogue.by_level[kGolfClubs * 3 + 1];
    if (p_.golf_level == 0 && end > start + kDay && rng_.PerMille(500)) {
      const int64_t t = start + rng_.Below(end - start - 600);
      budget_ -= Session(t, kGolfClubs, sets[rng_.Below(sets.size())], false, -1);
      if (rng_.PerMille(400) && t + 20 * kDay < end && !upgrades.empty()) {
        const int64_t later = t + 20 * kDay + rng_.Below(end - t - 20 * kDay);
        budget_ -= Session(later, kGolfClubs, upgrades[rng_.Below(upgrades.size())], false, -1);
      }
    }
    const int64_t abandoned_at = world_.now - 3600 - rng_.Below(7 * kDay - 7200);
    if (p_.abandons_cart && abandoned_at > start)
      budget_ -= Session(abandoned_at, -1, -1, true, -1);
    if (end > start + kDay && rng_.PerMille(80)) {
      const int64_t t = start + rng_.Below(end - start);
      Event& answer = Add(t, kSurveyAnswer, rng_.PerMille(500) ? kWeb : kEmail);
      answer.page = kSurveyPage;
      answer.survey = static_cast<uint8_t>(p_.golf_level >= 0 ? p_.golf_level : 3 + rng_.Below(3));
      --budget_;
    }
    while (end > start + 600 && budget_ > 0) {
      int64_t u = rng_.Below(1'000'000);
      // Customers still active lean to recent visits (the max of two uniforms has density 2u).
      if (!p_.churned && rng_.PerMille(300)) u = std::max(u, rng_.Below(1'000'000));
      const int64_t t = start + u * (end - start - 600) / 1'000'000;
      budget_ -= std::max(1, Session(t, -1, -1, false, -1));
    }
    // Anonymous browsing in the hours before signup, then the welcome page carrying both ids.
    if (p_.anonymous_views > 0 && p_.signup - kDay >= world_.horizon) {
      Event& link = Add(p_.signup, kPageView, kWeb);
      link.identifies = true;
      link.page = kWelcomePage;
      int64_t t = p_.signup - 1800 - rng_.Below(6 * 3600);
      for (int64_t k = 0; k < p_.anonymous_views; ++k, t += 20 + rng_.Below(200)) {
        const int category = rng_.Pick(category_sums_);
        Event& view = k == 0 ? Add(t, kPageView, kWeb)
                             : AddItem(t, kProductView, kWeb, PickItem(category, -1));
        view.anonymous = true;
        view.category = static_cast<int16_t>(category);
        view.page = k == 0 ? kCategoryPage : kProductPage;
      }
    }
    std::erase_if(events_,
                  [&](const Event& e) { return e.ts < world_.horizon || e.ts >= world_.now; });
    std::stable_sort(events_.begin(), events_.end(),
                     [](const Event& a, const Event& b) { return a.ts < b.ts; });
  }

 private:
  Event& Add(int64_t ts, EventType type, Channel channel) {
    Event& event = events_.emplace_back();
    event.ts = ts;
    event.type = type;
    event.channel = channel;
    return event;
  }
  Event& AddItem(int64_t ts, EventType type, Channel channel, int item, int64_t quantity = 0) {
    Event& event = Add(ts, type, channel);
    event.item = item;
    event.category = static_cast<int16_t>(world_.catalogue.items[item].category);
    event.price_cents = world_.catalogue.items[item].price_cents;
    event.quantity = static_cast<uint8_t>(quantity);
    return event;
  }
  bool premium() const { return p_.tier >= 2; }  // gold and platinum
  int LevelFor(int category) {
    if (!kCategories[category].leveled) return -1;
    if (category <= kGolfBalls && p_.golf_level >= 0 && rng_.PerMille(750)) return p_.golf_level;
    return rng_.PerMille(500) ? -1 : static_cast<int>(rng_.Below(3));
  }
  int PickItem(int category, int level) {
    const Catalogue& catalogue = world_.catalogue;
    if (level >= 0 && !catalogue.by_level[category * 3 + level].empty()) {
      const std::vector<int>& items = catalogue.by_level[category * 3 + level];
      const int64_t n = static_cast<int64_t>(items.size());
      const int64_t first_draw = rng_.Below(n);
      return items[first_draw * rng_.Below(n) / n];  // skewed to the popular first items
    }
    const std::vector<int>& items = catalogue.by_category[category];
    int item = items[rng_.Pick(catalogue.popularity[category])];
    if (premium()) {  // the better tiers take the pricier of two picks
      const int other = items[rng_.Pick(catalogue.popularity[category])];
      if (catalogue.items[other].price_cents > catalogue.items[item].price_cents) item = other;
    }
    return item;
  }
  void Purchase(int64_t& t, const CartLines& lines, Channel channel) {
    const int order = orders_++;
    for (const auto& [item, quantity] : lines) {
      int64_t paid = world_.catalogue.items[item].price_cents;
      if (rng_.PerMille(discount_chance_)) paid = paid * (rng_.PerMille(500) ? 85 : 90) / 100;
      Event& line = AddItem(t, kPurchase, channel, item, quantity);
      line.price_cents = paid;
      line.order = order;
      line.page = channel == kStore ? kNoPage : kCheckoutPage;
      if (rng_.PerMille(35)) {  // refunded 2..27 days later
        const int64_t refunded = t + (2 + rng_.Below(25)) * kDay;
        Event& refund = AddItem(refunded + rng_.Below(kDay), kRefund,
                                channel == kStore ? kStore : kWeb, item, quantity);
        refund.price_cents = paid;
        refund.order = order;
      }
      t += 1;
    }
  }
  Traffic LandingTraffic() {  // depends on how the customer was acquired
    const int64_t roll = rng_.Below(1000);
    switch (p_.acquisition) {
      case 0:
        return roll < 500 ? kOrganicSearch : kDirect;
      case 1:
        return roll < 550 ? kGoogleAds : kDirect;
      case 2:
        return roll < 500 ? static_cast<Traffic>(kFacebook + rng_.Below(3)) : kDirect;
      case 4:
        return roll < 300 ? kPartnerBlog : kDirect;
      case 5:
        return roll < 450 ? kAffiliate : kDirect;
      default:
        return kDirect;
    }
  }
  // One visit from t: landing page, maybe a search, product views, maybe a cart and a purchase.
  // category and forced_item are used when >= 0 (a forced item is bought). Returns rows added.
  int Session(int64_t t, int category, int forced_item, bool abandon, int campaign) {
    const size_t before = events_.size();
    const int64_t roll = rng_.Below(1000);
    Channel channel = kWeb;
    if (campaign < 0 && !abandon) {
      const bool app_first = p_.preferred_channel == 2 || p_.preferred_channel == 4;
      if (roll < 60) {  // a store visit leaves only the purchase
        CartLines lines;
        for (int64_t n = 1 + rng_.Below(premium() ? 3 : 2); n > 0; --n) {
          const int c = category >= 0 ? category : rng_.Pick(category_sums_);
          const int item =
              forced_item >= 0 && lines.empty() ? forced_item : PickItem(c, LevelFor(c));
          lines.emplace_back(item, 1 + rng_.PerMille(150));
        }
        Purchase(t, lines, kStore);
        return static_cast<int>(events_.size() - before);
      }
      const bool mobile = p_.os == 1 || p_.os == 2;
      channel = roll < 80                                  ? kChatbot
                : mobile && roll < (app_first ? 750 : 300) ? kApp
                : p_.preferred_channel == 3 && roll < 200  ? kSms
                                                           : kWeb;
    }
    const Channel browse = channel == kApp ? kApp : kWeb;
    if (channel == kApp) {
      if (p_.preferred_channel == 4 && rng_.PerMille(400)) Add(t, kPushOpen, kApp);
      Add(t += 2 + rng_.Below(20), kAppOpen, kApp).page = kHomePage;
      t += 3 + rng_.Below(30);
    }
    const int c = category >= 0 ? category : rng_.Pick(category_sums_);
    const int level = LevelFor(c);
    // The landing page view says how the visitor came; ads land on their category's page.
    const Traffic traffic = campaign >= 0     ? kNewsletter
                            : channel == kSms ? kSmsLink
                            : channel == kApp ? kDirect
                                              : LandingTraffic();
    const bool on_category =
        !kTrafficSources[traffic].campaign_prefix.empty() || !rng_.PerMille(300);
    Event& landing = Add(t, kPageView, browse);
    landing.traffic = traffic;
    landing.campaign = campaign;
    landing.category = static_cast<int16_t>(on_category ? c : -1);
    landing.page = on_category ? kCategoryPage : kHomePage;
    t += 5 + rng_.Below(90);
    if (channel == kChatbot || rng_.PerMille(250)) {
      Event& search = Add(t, kSearch, channel == kChatbot ? kChatbot : browse);
      search.category = static_cast<int16_t>(c);
      search.page = kSearchPage;
      t += 5 + rng_.Below(60);
    }
    std::array<int, 13> viewed;
    int views = 1;
    while (views < 13 && rng_.PerMille(535)) ++views;  // geometric, mean ~2.1
    for (int k = 0; k < views; ++k, t += 8 + rng_.Below(150)) {
      viewed[k] = k == 0 && forced_item >= 0 ? forced_item : PickItem(c, level);
      AddItem(t, kProductView, browse, viewed[k]).page = kProductPage;
    }
    if (!abandon && forced_item < 0 && !rng_.PerMille(cart_chance_)) {
      return static_cast<int>(events_.size() - before);
    }
    CartLines cart;
    const int lines = abandon ? 1 : 1 + rng_.PerMille(premium() ? 450 : 200);
    for (int k = 0; k < std::min(lines, views); ++k, t += 10 + rng_.Below(120)) {
      const int item = k == 0 && forced_item >= 0 ? forced_item : viewed[rng_.Below(views)];
      const auto same_item = [item](const auto& line) { return line.first == item; };
      if (std::any_of(cart.begin(), cart.end(), same_item)) continue;  // one line per item
      const int64_t quantity = world_.catalogue.items[item].category == kGolfBalls
                                   ? 1 + rng_.Below(premium() ? 6 : 3)
                                   : 1 + rng_.PerMille(premium() ? 250 : 100);
      AddItem(t, kAddToCart, browse, item, quantity).page = kCartPage;
      cart.emplace_back(item, quantity);
    }
    if (!abandon && cart.size() > 1 && rng_.PerMille(120)) {
      AddItem(t, kRemoveFromCart, browse, cart.back().first, cart.back().second).page = kCartPage;
      cart.pop_back();
      t += 5 + rng_.Below(60);
    }
    if (!abandon && (forced_item >= 0 || rng_.PerMille(buy_chance_))) Purchase(t, cart, browse);
    return static_cast<int>(events_.size() - before);
  }
  // The weekly newsletter goes to opted-in profiles, each getting its own share of campaigns.
  // Churned customers keep receiving it but no longer open it.
  void Newsletters() {
    const std::vector<int64_t>& sends = world_.campaign_times;
    const size_t first = std::lower_bound(sends.begin(), sends.end(), p_.signup) - sends.begin();
    if (!p_.opt_in || first == sends.size()) return;
    const int64_t wanted = budget_ / 4 + 2 + rng_.Below(4);
    const int64_t share = std::min<int64_t>(1000, wanted * 1000 / (sends.size() - first));
    for (size_t k = first; k < sends.size(); ++k) {
      if (!rng_.PerMille(share)) continue;
      const int64_t sent = sends[k] + rng_.Below(3 * 3600);
      AddEmail(sent, kEmailSent, k);
      if (sent >= p_.active_end || !rng_.PerMille(open_chance_)) continue;
      const int64_t opened = sent + 300 + rng_.Below(2 * kDay);
      AddEmail(opened, kEmailOpen, k);
      if (!rng_.PerMille(click_chance_)) continue;
      const int64_t clicked = opened + 10 + rng_.Below(600);
      AddEmail(clicked, kEmailClick, k);
      // A click starts a web visit to the campaign's category, tagged with the campaign.
      if (rng_.PerMille(700)) {
        const int theme = world_.campaign_categories[k];
        budget_ -= Session(clicked + 30, theme, -1, false, static_cast<int>(k));
      }
    }
  }
  void AddEmail(int64_t ts, EventType type, size_t campaign) {
    Event& email = Add(ts, type, kEmail);
    email.traffic = kNewsletter;
    email.campaign = static_cast<int32_t>(campaign);
    --budget_;
  }

  const World& world_;
  const Profile& p_;
  Rng& rng_;
  std::vector<Event>& events_;
  int64_t budget_;  // rows still to generate
  std::vector<int64_t> category_sums_;
  int64_t cart_chance_, buy_chance_, open_chance_, click_chance_, discount_chance_;  // per mille
  int orders_ = 0;
};

// 'a' + 12 hex digits from a bijection of the profile index on 48 bits: ids never collide.
void AppendAnonymousId(std::string& out, uint64_t seed, uint32_t index) {
  constexpr uint64_t kMask = (uint64_t{1} << 48) - 1;
  uint64_t x = (index + SplitMix64(seed)) & kMask;
  x = (x * 0x5DEECE66DULL) & kMask;
  x ^= x >> 23;
  x = (x * 0x9E3779B97F4BULL) & kMask;
  x ^= x >> 21;
  out.push_back('a');
  for (int shift = 44; shift >= 0; shift -= 4) out.push_back("0123456789abcdef"[(x >> shift) & 15]);
}

void AppendEvents(const World& world, uint32_t index, const std::vector<Event>& events,
                  uint64_t first_event_id, std::string& out) {
  auto out_it = std::back_inserter(out);
  for (size_t k = 0; k < events.size(); ++k) {
    const Event& e = events[k];
    const std::string_view category = e.category >= 0 ? kCategories[e.category].name : "";
    AppendId(out, 'e', first_event_id + k, 10);
    out.push_back(',');
    if (!e.anonymous) AppendId(out, 'c', index + 1, 7);
    out.push_back(',');
    if (e.anonymous || e.identifies) AppendAnonymousId(out, world.seed, index);
    fmt::format_to(out_it, ",{},", kEventTypes[e.type]);
    AppendTimestamp(out, e.ts);
    out.push_back(',');
    if (e.item >= 0) AppendId(out, 'i', e.item + 1, 6);
    fmt::format_to(out_it, ",{},", category);
    if (e.price_cents >= 0) AppendFixed(out, e.price_cents, 2);
    out.push_back(',');
    if (e.quantity > 0) AppendFixed(out, e.quantity, 0);
    out.push_back(',');
    if (e.order >= 0) fmt::format_to(out_it, "o{:07}-{:03}", index + 1, e.order + 1);
    const TrafficSource& traffic = kTrafficSources[e.traffic];
    fmt::format_to(out_it, ",{},{},", kChannels[e.channel], traffic.utm_source);
    if (e.campaign >= 0) {
      out += world.campaign_names[e.campaign];
    } else if (!traffic.campaign_prefix.empty()) {  // evergreen ad campaign per category
      fmt::format_to(out_it, "{}{}", traffic.campaign_prefix, category);
    }
    // Only landing page views carry a referrer.
    fmt::format_to(out_it, ",{},{}", e.type == kPageView ? traffic.referrer : "",
                   kPagePrefixes[e.page]);
    if (e.page == kCategoryPage) {
      out += category;
    } else if (e.page == kSearchPage) {  // the query is one of the category's subcategories
      const Category& searched = kCategories[e.category];
      out += searched.subcategories[e.ts % CountSubcategories(searched)];
    } else if (e.page == kProductPage) {
      AppendId(out, 'i', e.item + 1, 6);
    } else if (e.page == kSurveyPage) {
      out += kSurveyAnswers[e.survey];
    }
    out.push_back('\n');
  }
}

}  // namespace

Result<DemoDataSummary> WriteDemoData(const DemoDataOptions& options) {
  World world;
  world.seed = options.seed;
  if (options.out_dir.empty()) return InvalidArgument("demo data: out_dir is empty");
  if (options.profiles < 1 || options.profiles > 9'999'999) {
    return InvalidArgument("demo data: profiles must be 1..9999999, got {}", options.profiles);
  }
  if (options.items < kNumCategories || options.items > 999'999) {
    return InvalidArgument("demo data: items must be {}..999999, got {}", int{kNumCategories},
                           options.items);
  }
  if (!ParseIsoSeconds(options.now, world.now)) {
    return InvalidArgument("demo data: now must look like 2026-11-01T00:00:00Z, got '{}'",
                           options.now);
  }
  world.horizon = world.now - 730 * kDay;
  world.catalogue = MakeCatalogue(options.seed, options.items);
  std::vector<int64_t> weights;
  for (const City& city : kCities) weights.push_back(city.weight);
  world.city_sums = Cumulative(weights);
  weights.clear();
  for (const Interest& interest : kInterests) weights.push_back(interest.weight);
  world.interest_sums = Cumulative(weights);
  for (int64_t t = world.horizon + 10 * 3600, k = 0; t < world.now; t += 7 * kDay, ++k) {
    const CivilDate date = CivilFromDays(FloorDiv(t, kDay));
    const int theme = static_cast<int>(k * 7 % kNumCategories);  // 7 and 20 coprime: all themes
    world.campaign_times.push_back(t);
    world.campaign_categories.push_back(theme);
    world.campaign_names.push_back(fmt::format("nl_{:04}{:02}{:02}_{}", date.year, date.month,
                                               date.day, kCategories[theme].name));
  }

  std::error_code error;
  std::filesystem::create_directories(options.out_dir, error);
  if (error) return IoError("cannot create {}: {}", options.out_dir, error.message());
  BufferedFile items_file, profiles_file, events_file;
  TAILOR_RETURN_IF_ERROR(items_file.Open(options.out_dir + "/items.csv"));
  TAILOR_RETURN_IF_ERROR(profiles_file.Open(options.out_dir + "/profiles.csv"));
  TAILOR_RETURN_IF_ERROR(events_file.Open(options.out_dir + "/events.csv"));
  AppendItems(world.catalogue, items_file.buffer());
  TAILOR_RETURN_IF_ERROR(items_file.Close());
  profiles_file.buffer() =
      "profile_id,email,first_name,age,gender,income,marital_status,occupation,country,region,"
      "city,lat,lon,signup_ts,loyalty_tier,interests,price_sensitivity,device_os,browser,"
      "email_opt_in,preferred_channel,acquisition_source,golf_level\n";
  events_file.buffer() =
      "event_id,profile_id,anonymous_id,type,ts,item_id,category,price,quantity,order_id,channel,"
      "utm_source,utm_campaign,referrer,page_url\n";

  DemoDataSummary summary;
  std::vector<Event> events;
  for (uint32_t index = 0; index < options.profiles; ++index) {
    Rng rng(options.seed, index);
    const Profile profile = MakeProfile(world, index, rng, profiles_file.buffer());
    events.clear();
    EventBuilder(world, profile, rng, events).Build();
    AppendEvents(world, index, events, summary.events + 1, events_file.buffer());
    summary.events += events.size();
    constexpr size_t kFlushBytes = 4 << 20;
    TAILOR_RETURN_IF_ERROR(profiles_file.Flush(kFlushBytes));
    TAILOR_RETURN_IF_ERROR(events_file.Flush(kFlushBytes));
  }
  TAILOR_RETURN_IF_ERROR(profiles_file.Close());
  TAILOR_RETURN_IF_ERROR(events_file.Close());
  summary.profiles = options.profiles;
  summary.items = options.items;
  return summary;
}

}  // namespace tailor::demo

// The working set holds exactly what the store holds: random collects, identifies, aliases,
// merges, deletes, time moves and evictions go through the service, and after every step each
// resident profile (and each profile read through the working set) equals a fresh load from the
// store, and live membership equals a full evaluation.

#include "tailor/working_set.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "full_evaluation.h"
#include "tailor/json_writer.h"
#include "tailor/profile_json.h"
#include "tailor/profile_observer.h"
#include "tailor/service.h"
#include "test_util.h"

namespace tailor {
namespace {

using ::tailor::testing::ExpectLiveEqualsFull;
using ::tailor::testing::TempDir;

constexpr Timestamp kStart = 1'800'000'000'000;
constexpr Timestamp kHour = 3'600'000;
constexpr Timestamp kDay = 24 * kHour;

// Everything a reader sees of a profile, as one JSON text.
std::string Render(const ProfileView& view, std::span<const EventInput> events) {
  JsonWriter json;
  WriteProfileJson(json, view, nullptr, events);
  return json.str();
}

std::string Fresh(Engine& engine, ProfileId id) {
  auto view = engine.GetProfile(id, 0);
  if (!view.ok()) return "gone: " + view.status().ToString();
  auto events = engine.Events(id);
  EXPECT_TRUE(events.ok());
  return Render(*view, *events);
}

std::string Resident(const working_set::ResidentProfile& profile) {
  auto events = profile.Events();
  EXPECT_TRUE(events.ok());
  return Render(profile.view, *events);
}

// A view of profile "p" at kStart.
EventInput ViewEvent() {
  EventInput event;
  event.profile_id = "p";
  event.type = "view";
  event.time = kStart;
  return event;
}

// Stores one event; the profile it went to.
ProfileId Ingest(Engine& engine, const EventInput& event) {
  BatchReport report;
  EXPECT_TRUE(engine.IngestEvents(std::span(&event, 1), report).ok());
  return report.owners.empty() ? kNoProfile : report.owners[0];
}

// A service on `dir` whose clock stays at kStart.
std::unique_ptr<Service> OpenAtStart(const std::string& dir) {
  ServiceOptions options;
  options.clock = [] { return kStart; };
  auto opened = Service::Open(dir, std::move(options));
  EXPECT_TRUE(opened.ok()) << opened.status().ToString();
  return opened.ok() ? std::move(opened).value() : nullptr;
}

class Workload {
 public:
  Workload(uint32_t seed, Service& service, std::atomic<Timestamp>& clock)
      : random_(seed), service_(service), clock_(clock) {}

  // One random operation; returns what it did (for failure messages).
  std::string Step() {
    const int kind = Pick(100);
    if (kind < 40) return Track();
    if (kind < 52) return Identify();
    if (kind < 58) return VisitorTraits();
    if (kind < 63) return Alias();
    if (kind < 67) return Merge();
    if (kind < 71) return Delete();
    if (kind < 81) return MoveTime();
    if (kind < 90) return EvictSome();
    return Upsert();
  }

  // Every dense id any operation has seen (deleted and merged-away ones included).
  const std::set<ProfileId>& seen() const { return seen_; }
  // Every id text operations use.
  std::vector<std::string> Texts() const {
    std::vector<std::string> texts;
    for (int i = 0; i < kUsers; ++i) texts.push_back(User(i));
    for (int i = 0; i < kVisitors; ++i) texts.push_back(Visitor(i));
    return texts;
  }
  void Remember() {
    for (int i = 0; i < kUsers; ++i) Note(User(i));
    for (int i = 0; i < kVisitors; ++i) Note(Visitor(i));
  }

 private:
  static constexpr int kUsers = 10, kVisitors = 8;
  int Pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(random_); }
  std::string User(int i) const { return "u" + std::to_string(i); }
  std::string Visitor(int i) const { return "a" + std::to_string(i); }
  void Note(const std::string& id) {
    if (auto profile = service_.engine().Resolve(id); profile.ok()) seen_.insert(*profile);
  }
  std::string Collect(const std::string& body) {
    auto report = service_.Collect(body, std::nullopt);
    EXPECT_TRUE(report.ok()) << report.status().ToString() << " " << body;
    Remember();
    return body;
  }

  std::string Track() {
    // No segment reads "search": re-decisions leave those events out of the row.
    static const char* kTypes[] = {"view", "purchase", "add_to_cart", "search"};
    const std::string type = kTypes[Pick(4)];
    std::string who;
    const int form = Pick(3);
    if (form != 1) who += fmt::format(R"("userId":"{}",)", User(Pick(kUsers)));
    if (form != 0) who += fmt::format(R"("anonymousId":"{}",)", Visitor(Pick(kVisitors)));
    // Message ids from a small pool: some are re-sent (duplicates stored once).
    const Timestamp time = clock_.load() - Pick(10 * 24) * kHour;
    std::string context;
    if (Pick(4) == 0) context = R"(,"context":{"campaign":{"source":"news","medium":"email"}})";
    return Collect(fmt::format(
        R"({{"batch":[{{"type":"track",{}"event":"{}","messageId":"m{}","timestamp":{},)"
        R"("properties":{{"price":{}.{},"quantity":{},"category":"{}"}}{}}}]}})",
        who, type, Pick(400), '"' + IsoTime(time) + '"', Pick(90) + 1, Pick(100), Pick(3) + 1,
        Pick(2) == 0 ? "golf" : "tennis", context));
  }

  std::string Identify() {
    return Collect(fmt::format(R"({{"batch":[{{"type":"identify","userId":"{}","anonymousId":"{}",)"
                               R"("traits":{{"plan":"{}","age":{}}}}}]}})",
                               User(Pick(kUsers)), Visitor(Pick(kVisitors)),
                               Pick(2) == 0 ? "gold" : "silver", 20 + Pick(50)));
  }

  std::string VisitorTraits() {
    return Collect(fmt::format(
        R"({{"batch":[{{"type":"identify","anonymousId":"{}","traits":{{"plan":"{}"}}}}]}})",
        Visitor(Pick(kVisitors)), Pick(2) == 0 ? "gold" : "bronze"));
  }

  std::string Alias() {
    const std::string previous = Pick(2) == 0 ? User(Pick(kUsers)) : Visitor(Pick(kVisitors));
    return Collect(
        fmt::format(R"({{"batch":[{{"type":"alias","previousId":"{}","userId":"{}"}}]}})", previous,
                    User(Pick(kUsers))));
  }

  std::string Merge() {
    const std::string into = User(Pick(kUsers)), from = User(Pick(kUsers));
    Status status = service_.MergeProfiles(into, from);
    EXPECT_TRUE(status.ok() || status.code() == StatusCode::kNotFound) << status.ToString();
    Remember();
    return "merge " + from + " into " + into;
  }

  std::string Delete() {
    const std::string id = Pick(3) == 0 ? Visitor(Pick(kVisitors)) : User(Pick(kUsers));
    Status status = service_.DeleteProfile(id);
    EXPECT_TRUE(status.ok() || status.code() == StatusCode::kNotFound) << status.ToString();
    return "delete " + id;
  }

  std::string MoveTime() {
    const Timestamp by = Pick(48) * kHour;
    clock_ += by;
    auto advanced = service_.AdvanceTime();
    EXPECT_TRUE(advanced.ok()) << advanced.status().ToString();
    return fmt::format("time +{} h", by / kHour);
  }

  std::string EvictSome() {
    if (Pick(5) == 0) {
      service_.working_set().EvictAll();
      return "evict all";
    }
    for (ProfileId id : seen_) {
      if (Pick(2) == 0) service_.working_set().Evict(id);
    }
    return "evict some";
  }

  std::string Upsert() {
    ProfileInput input{User(Pick(kUsers)), {{"age", {TraitType::kInt, int64_t{20 + Pick(50)}}}}};
    // One upsert in four clears the age instead (a null in the API).
    const bool clear = Pick(4) == 0;
    if (clear) input.traits[0].second = TypedValue{TraitType::kInt, std::monostate{}};
    BatchReport report;
    EXPECT_TRUE(service_.UpsertProfiles(std::span(&input, 1), report).ok());
    Remember();
    return (clear ? "clear age of " : "upsert ") + input.external_id;
  }

  std::mt19937 random_;
  Service& service_;
  std::atomic<Timestamp>& clock_;
  std::set<ProfileId> seen_;
};

void Define(Service& service, const std::string& name, const std::string& rule) {
  segments::SegmentDefinition definition;
  definition.name = name;
  definition.rule = rule;
  ASSERT_OK(service.PutSegment(std::move(definition)));
}

// Every segment's preview, and one with an exclusion, equal a full evaluation of the store.
void ExpectPreviewsEqualFull(Service& service, Timestamp now, const std::string& when,
                             size_t& rechecked) {
  auto snap = service.engine().BuildSnapshot();
  ASSERT_TRUE(snap.ok());
  auto definitions = service.catalog().List();
  ASSERT_TRUE(definitions.ok());
  segments::SegmentDefinition with_exclusion;
  with_exclusion.name = "preview";
  with_exclusion.rule = "count(view) >= 1 or age > 30";
  with_exclusion.exclude = R"(plan = "gold")";
  definitions->push_back(with_exclusion);
  for (const segments::SegmentDefinition& definition : *definitions) {
    segments::EvalContext context{
        snap->get(), now, nullptr,
        [](std::string_view) -> const segments::ProfileSet* { return nullptr; }};
    auto expected = segments::EvaluateDefinition(definition, context);
    ASSERT_TRUE(expected.ok()) << expected.status().ToString();
    auto preview = service.PreviewDefinition(definition);
    ASSERT_TRUE(preview.ok()) << preview.status().ToString();
    EXPECT_TRUE(preview->result.members == expected->members)
        << definition.name << ": preview " << preview->result.members.cardinality() << ", full "
        << expected->members.cardinality() << " " << when;
    EXPECT_EQ(preview->result.matched, expected->matched) << definition.name << " " << when;
    EXPECT_EQ(preview->result.excluded, expected->excluded) << definition.name << " " << when;
    rechecked += preview->profiles_rechecked;
  }
}

class WorkingSetRandomTest : public ::testing::TestWithParam<size_t> {};

TEST_P(WorkingSetRandomTest, ResidentProfilesEqualAFreshLoadAfterEveryStep) {
  TempDir dir;
  std::atomic<Timestamp> clock{kStart};
  ServiceOptions options;
  options.clock = [&clock] { return clock.load(); };
  options.memory_budget = GetParam();  // small budgets evict as they go
  auto opened = Service::Open(dir.path(), std::move(options));
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  Service& service = **opened;
  ASSERT_OK(service.engine().DeclareTraits(
      {{"plan", TraitType::kString}, {"age", TraitType::kInt}, {"sessions", TraitType::kInt}}));
  Define(service, "buyers", "count(purchase) >= 2");
  Define(service, "golf_recent", R"(count(view where category = "golf", last 3 days) >= 1)");
  Define(service, "gold", R"(plan = "gold" and sessions >= 1)");
  Define(service, "carts", "last(add_to_cart, last 2 days) not followed by purchase");

  size_t rechecked = 0;
  for (uint32_t seed = 1; seed <= 3; ++seed) {
    Workload workload(seed, service, clock);
    for (int step = 0; step < 150; ++step) {
      const std::string what = workload.Step();
      for (ProfileId id : workload.seen()) {
        const std::string fresh = Fresh(service.engine(), id);
        if (auto resident = service.working_set().Peek(id)) {
          ASSERT_EQ(Resident(*resident), fresh) << "resident " << id << " after " << what;
          // The bytes the engine's writes take from it instead of the store are the store's.
          StoredProfile stored;
          ASSERT_TRUE(service.engine().GetProfile(id, 0, &stored).ok());
          ASSERT_EQ(resident->stored.record, stored.record) << id << " after " << what;
          ASSERT_EQ(resident->stored.state, stored.state) << id << " after " << what;
        }
        auto read = service.working_set().Get(id);
        if (read.ok()) {
          ASSERT_EQ(Resident(**read), fresh) << "read " << id << " after " << what;
        } else {
          ASSERT_EQ(read.status().code(), StatusCode::kNotFound);
          ASSERT_TRUE(fresh.starts_with("gone")) << id << " after " << what;
        }
      }
      // Reads by id text (remembered after the first) find what the store's id table says.
      for (const std::string& text : workload.Texts()) {
        auto resolved = service.engine().Resolve(text);
        auto read = service.working_set().Get(text);
        ASSERT_EQ(read.ok(), resolved.ok()) << text << " after " << what;
        if (read.ok()) ASSERT_EQ((*read)->view.id, *resolved) << text << " after " << what;
      }
      ExpectLiveEqualsFull(service, clock.load(), "after " + what);
      // Previews start from the live snapshot's latest version, refreshed only now and then, and
      // re-decide the profiles changed since.
      if (step % 9 == 0) ASSERT_OK(service.RefreshSnapshot());
      ExpectPreviewsEqualFull(service, clock.load(), "after " + what, rechecked);
      if (HasFailure()) return;
    }
  }
  EXPECT_GT(rechecked, 100u);  // most previews went by the changed profiles, not a refresh
  const working_set::Stats stats = service.working_set().stats();
  EXPECT_GT(stats.hits, 0u);
  EXPECT_GT(stats.misses, 0u);
  EXPECT_LE(stats.bytes, stats.budget + 64 * 4096) << "one profile per shard may exceed its share";
}

// Unbounded (everything stays) and small enough that most reads miss.
INSTANTIATE_TEST_SUITE_P(Budgets, WorkingSetRandomTest,
                         ::testing::Values(size_t{1} << 30, size_t{64} << 10));

// A profile read by its id text is remembered, and still found exactly as the store's id table
// says after the profile is deleted and made again, and when a known profile takes the text of
// an anonymous id.
TEST(WorkingSet, ReadsByIdFollowDeletesAndKnownIdsOverAnonymousOnes) {
  TempDir dir;
  auto service = OpenAtStart(dir.path());
  ASSERT_NE(service, nullptr);
  Engine& engine = service->engine();
  const ProfileId first = Ingest(engine, ViewEvent());
  ASSERT_OK_AND_ASSIGN(working_set::ProfileHandle read, service->working_set().Get("p"));
  EXPECT_EQ(read->view.id, first);
  ASSERT_OK_AND_ASSIGN(read, service->working_set().Get("p"));  // remembered
  EXPECT_EQ(read->view.id, first);
  ASSERT_OK(service->DeleteProfile("p"));
  EXPECT_EQ(service->working_set().Get("p").status().code(), StatusCode::kNotFound);
  EventInput again = ViewEvent();
  again.id = "second";
  const ProfileId second = Ingest(engine, again);
  ASSERT_NE(second, first);
  ASSERT_OK_AND_ASSIGN(read, service->working_set().Get("p"));
  EXPECT_EQ(read->view.id, second);

  // "x" an anonymous visitor's id, read; then a known profile "x": the known one from then on.
  EventInput visit = ViewEvent();
  visit.profile_id.clear();
  visit.anonymous_id = "x";
  visit.id = "visit";
  const ProfileId visitor = Ingest(engine, visit);
  ASSERT_OK_AND_ASSIGN(read, service->working_set().Get("x"));
  EXPECT_EQ(read->view.id, visitor);
  ASSERT_OK_AND_ASSIGN(read, service->working_set().Get("x"));
  EXPECT_EQ(read->view.id, visitor);
  EventInput known = ViewEvent();
  known.profile_id = "x";
  known.id = "known";
  const ProfileId member = Ingest(engine, known);
  ASSERT_NE(member, visitor);
  ASSERT_OK_AND_ASSIGN(read, service->working_set().Get("x"));
  EXPECT_EQ(read->view.id, member);
  ASSERT_OK_AND_ASSIGN(ProfileId resolved, engine.Resolve("x"));
  EXPECT_EQ(resolved, member);
}

// Concurrent requests are coalesced into shared commits: each request's report is its own, every
// event is stored once (re-sends by another thread included), and the working set and live
// membership come out as exact as with one writer.
TEST(WorkingSetConcurrency, CoalescedWritesKeepEveryRequestsOutcomeAndTheWorkingSetExact) {
  TempDir dir;
  std::atomic<Timestamp> clock{kStart};
  ServiceOptions options;
  options.clock = [&clock] { return clock.load(); };
  auto opened = Service::Open(dir.path(), std::move(options));
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  Service& service = **opened;
  Define(service, "buyers", "count(purchase) >= 3");
  Define(service, "viewers", "count(view, last 2 days) >= 2");
  constexpr int kThreads = 6, kRequests = 40, kPerRequest = 10, kProfiles = 25;
  std::atomic<uint64_t> accepted{0}, duplicates{0};
  std::vector<std::thread> threads;
  for (int thread = 0; thread < kThreads; ++thread) {
    threads.emplace_back([&, thread] {
      // Threads 0 and 1 send the same requests: one of each message is a duplicate.
      const int sender = thread < 2 ? 0 : thread;
      std::mt19937 random(sender);
      for (int request = 0; request < kRequests; ++request) {
        std::string body = R"({"batch":[)";
        for (int i = 0; i < kPerRequest; ++i) {
          body += fmt::format(
              R"({}{{"type":"track","userId":"u{}","event":"{}","messageId":"t{}-r{}-{}",)"
              R"("timestamp":"{}"}})",
              i == 0 ? "" : ",", random() % kProfiles, random() % 3 == 0 ? "purchase" : "view",
              sender, request, i, IsoTime(kStart - static_cast<Timestamp>(random() % 72) * kHour));
        }
        body += "]}";
        auto report = service.Collect(body, std::nullopt);
        ASSERT_TRUE(report.ok()) << report.status().ToString();
        EXPECT_TRUE(report->errors.empty());
        EXPECT_EQ(report->accepted + report->duplicates, size_t{kPerRequest});
        accepted += report->accepted;
        duplicates += report->duplicates;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  constexpr uint64_t kUnique = (kThreads - 1) * kRequests * kPerRequest;
  EXPECT_EQ(accepted.load(), kUnique);
  EXPECT_EQ(duplicates.load(), uint64_t{kRequests * kPerRequest});
  EXPECT_EQ(service.engine().Stats().events, kUnique);
  const Service::Counters counters = service.counters();
  EXPECT_LE(counters.engine_writes, counters.writes);
  for (int i = 0; i < kProfiles; ++i) {
    auto id = service.engine().Resolve("u" + std::to_string(i));
    ASSERT_TRUE(id.ok());
    auto resident = service.working_set().Get(*id);
    ASSERT_TRUE(resident.ok());
    EXPECT_EQ(Resident(**resident), Fresh(service.engine(), *id)) << "u" << i;
  }
  ExpectLiveEqualsFull(service, clock.load(), "after concurrent writes");
}

// A later module as an observer: it counts each profile's purchases from the events it is handed,
// keeps the count in the working set (an extension), and sees each touched profile once per write.
class PurchaseCounter final : public ProfileObserver {
 public:
  struct Count : working_set::Extension {
    explicit Count(size_t n) : purchases(n) {}
    std::unique_ptr<Extension> Clone() const override { return std::make_unique<Count>(purchases); }
    size_t bytes() const override { return sizeof(Count); }
    size_t purchases;
  };
  struct Decided : Decision {
    size_t purchases = 0;
    bool gone = false;
  };
  explicit PurchaseCounter(working_set::WorkingSet& set)
      : set_(set), slot_(set.RegisterExtension()) {}

  bool Concerns(const segments::ProfileChange& change) const override {
    return change.everything || std::find(change.event_types.begin(), change.event_types.end(),
                                          "purchase") != change.event_types.end();
  }
  std::optional<std::vector<std::string>> EventTypesRead() const override {
    return std::vector<std::string>{"purchase"};
  }
  Result<std::unique_ptr<Decision>> Decide(const ObservedProfile& observed) const override {
    auto decided = std::make_unique<Decided>();
    decided->gone = observed.profile == nullptr;
    for (const EventInput& event : observed.events) {
      EXPECT_EQ(event.type, "purchase");  // only what it reads was decoded for it
      ++decided->purchases;
    }
    return std::unique_ptr<Decision>(std::move(decided));
  }
  void Apply(ProfileId id, std::unique_ptr<Decision> decision) override {
    const auto& decided = static_cast<const Decided&>(*decision);
    ++applied_[id];
    if (!decided.gone) {
      EXPECT_TRUE(set_.SetExtension(id, slot_, std::make_unique<Count>(decided.purchases)).ok());
    }
  }
  Status Finish() override {
    ++finished_;
    return Status::Ok();
  }
  size_t Purchases(ProfileId id) {
    auto profile = set_.Get(id);
    if (!profile.ok() || (*profile)->extension(slot_) == nullptr) return 0;
    return static_cast<const Count*>((*profile)->extension(slot_))->purchases;
  }
  std::map<ProfileId, int> applied_;
  int finished_ = 0;

 private:
  working_set::WorkingSet& set_;
  const size_t slot_;
};

TEST(ProfileObservers, AnObserverSeesEachTouchedProfileOnceWithTheEventsItReads) {
  TempDir dir;
  std::unique_ptr<Service> opened = OpenAtStart(dir.path());
  ASSERT_NE(opened, nullptr);
  Service& service = *opened;
  auto counter = std::make_unique<PurchaseCounter>(service.working_set());
  PurchaseCounter& purchases = *counter;
  service.AddObserver(std::move(counter));
  auto report = service.Collect(
      R"({"batch":[
        {"type":"track","userId":"a","event":"purchase","messageId":"1","timestamp":"2027-01-15T08:00:00Z"},
        {"type":"track","userId":"a","event":"view","messageId":"2","timestamp":"2027-01-15T08:01:00Z"},
        {"type":"track","userId":"a","event":"purchase","messageId":"3","timestamp":"2027-01-15T08:02:00Z"},
        {"type":"track","userId":"b","event":"view","messageId":"4","timestamp":"2027-01-15T08:03:00Z"}]})",
      std::nullopt);
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->accepted, 4u);
  const ProfileId a = *service.engine().Resolve("a"), b = *service.engine().Resolve("b");
  EXPECT_EQ(purchases.applied_[a], 1);         // once for the write, though it had three events
  EXPECT_EQ(purchases.applied_.count(b), 0u);  // b's change (a view) does not concern it
  EXPECT_EQ(purchases.finished_, 1);
  EXPECT_EQ(purchases.Purchases(a), 2u);
  ASSERT_OK(service.DeleteProfile("a"));  // a change of everything: it is told a is gone
  EXPECT_EQ(purchases.applied_[a], 2);
}

// A whole-population question asking for every acknowledged write (max age 0) gets them all,
// even while the background refresh is rebuilding the snapshot (it once took the version before
// an in-flight refresh as current).
// --memory-budget covers the store's cache and memtables (a quarter, 64 MiB to 1 GiB) and the id
// cache (an eighth); the working set gets the rest; under 256 MiB it is the working set's alone.
TEST(WorkingSet, TheMemoryBudgetIsSplitWithTheStore) {
  for (const auto& [budget, working_set] :
       std::vector<std::pair<size_t, size_t>>{{size_t{1} << 30, (size_t{1024 - 256 - 128}) << 20},
                                              {size_t{8} << 30, (size_t{8192 - 1024 - 1024}) << 20},
                                              {size_t{128} << 20, size_t{128} << 20}}) {
    TempDir dir;
    ServiceOptions options;
    options.memory_budget = budget;
    auto service = Service::Open(dir.path(), std::move(options));
    ASSERT_TRUE(service.ok()) << service.status().ToString();
    EXPECT_EQ((*service)->working_set().stats().budget, working_set) << budget;
  }
}

TEST(LivePopulation, APreviewSeesATraitAddedSinceTheLatestVersion) {
  TempDir dir;
  std::unique_ptr<Service> opened = OpenAtStart(dir.path());
  ASSERT_NE(opened, nullptr);
  Service& service = *opened;
  segments::SegmentDefinition any;
  any.rule = "count(view) >= 0";
  ASSERT_TRUE(service.PreviewDefinition(any).ok());  // a version exists from here on
  BatchReport report;
  ProfileInput vip{"p1", {{"vip", {TraitType::kBool, true}}}};
  ASSERT_OK(service.UpsertProfiles(std::span(&vip, 1), report));
  segments::SegmentDefinition vips;
  vips.rule = "vip = true";
  auto preview = service.PreviewDefinition(vips);
  ASSERT_TRUE(preview.ok()) << preview.status().ToString();
  EXPECT_EQ(preview->result.members.cardinality(), 1u);
}

TEST(LivePopulation, ExactWhileTheBackgroundRefreshRuns) {
  TempDir dir;
  std::unique_ptr<Service> opened = OpenAtStart(dir.path());
  ASSERT_NE(opened, nullptr);
  Service& service = *opened;
  auto rule = segments::ParseRule("count(view) >= 1");
  ASSERT_TRUE(rule.ok());
  const std::vector<const segments::Rule*> reads = {&*rule};
  ASSERT_TRUE(service.Population(reads).ok());  // keeps the background refresh going
  std::atomic<bool> stop{false};
  std::thread refresher([&] {
    while (!stop) EXPECT_TRUE(service.RefreshSnapshot().ok());
  });
  for (int i = 0; i < 150; ++i) {
    EventInput event = ViewEvent();
    event.profile_id = "p" + std::to_string(i);
    Ingest(service.engine(), event);
    auto population = service.Population(reads, std::chrono::milliseconds(0));
    ASSERT_TRUE(population.ok());
    auto members = segments::Evaluate(*rule, population->Context(kStart));
    ASSERT_TRUE(members.ok());
    ASSERT_EQ(members->cardinality(), static_cast<uint64_t>(i + 1))
        << "after write " << i << ": snapshot of " << population->snapshot->profile_count()
        << " profiles, " << population->snapshot->known().Count() << " known, "
        << population->snapshot->events().size() << " events";
  }
  stop = true;
  refresher.join();
}

TEST(WorkingSet, StaysWithinItsBudgetAndKeepsWhatIsReadAgain) {
  TempDir dir;
  auto engine = Engine::Open(dir.path(), {.store = {.create_if_missing = true}});
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  working_set::WorkingSet set(**engine, {.budget_bytes = 256 << 10, .shards = 4});
  std::vector<EventInput> events;
  for (int i = 0; i < 2000; ++i) {
    EventInput event;
    event.profile_id = "p" + std::to_string(i);
    event.type = "view";
    event.time = kStart + i;
    events.push_back(std::move(event));
  }
  BatchReport report;
  ASSERT_OK((*engine)->IngestEvents(events, report));
  // New profiles became resident with the commit that created them, within the budget.
  working_set::Stats stats = set.stats();
  EXPECT_EQ(stats.created, 2000u);
  EXPECT_LE(stats.bytes, stats.budget);
  EXPECT_GT(stats.evictions, 0u);
  EXPECT_LT(stats.resident, 2000u);
  // A profile read over and over stays while others come and go.
  auto hot = (*engine)->Resolve("p7");
  ASSERT_TRUE(hot.ok());
  for (int i = 0; i < 2000; ++i) {
    ASSERT_TRUE(set.Get(*hot).ok());
    ASSERT_TRUE(set.Get(static_cast<ProfileId>(i)).ok());
  }
  EXPECT_NE(set.Peek(*hot), nullptr);
  EXPECT_LE(set.stats().bytes, set.stats().budget);
}

TEST(WorkingSet, AOneOffReadDoesNotPushOutWhatIsUsed) {
  TempDir dir;
  auto engine = Engine::Open(dir.path(), {.store = {.create_if_missing = true}});
  ASSERT_TRUE(engine.ok());
  const ProfileId id = Ingest(**engine, ViewEvent());
  working_set::WorkingSet set(**engine);  // opened after the write: nothing resident
  constexpr auto kOnSecondMiss = working_set::WorkingSet::Admit::kOnSecondMiss;
  auto first = set.Get(id, kOnSecondMiss);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ((*first)->view.event_count, 1u);  // answered all the same
  EXPECT_EQ(set.Peek(id), nullptr);           // but not kept
  ASSERT_TRUE(set.Get(id, kOnSecondMiss).ok());
  EXPECT_NE(set.Peek(id), nullptr);  // read again: kept
  EXPECT_EQ(set.stats().misses, 2u);
  EXPECT_TRUE(set.Get(id, kOnSecondMiss).ok());
  EXPECT_EQ(set.stats().hits, 1u);
}

// A later module's per-profile state: kept with the profile, counted, copied on write.
struct SeenCount : working_set::Extension {
  explicit SeenCount(int n) : count(n) {}
  std::unique_ptr<Extension> Clone() const override { return std::make_unique<SeenCount>(count); }
  size_t bytes() const override { return 1000; }
  int count;
};

TEST(WorkingSet, ExtensionsLiveWithTheProfileThroughWrites) {
  TempDir dir;
  auto engine = Engine::Open(dir.path(), {.store = {.create_if_missing = true}});
  ASSERT_TRUE(engine.ok());
  working_set::WorkingSet set(**engine);
  const size_t slot = set.RegisterExtension();
  EventInput event = ViewEvent();
  const ProfileId id = Ingest(**engine, event);
  const uint64_t before = set.stats().bytes;
  ASSERT_OK(set.SetExtension(id, slot, std::make_unique<SeenCount>(1)));
  EXPECT_GE(set.stats().bytes, before + 1000);
  auto held = set.Get(id);  // a reader holds this version while a write goes by
  ASSERT_TRUE(held.ok());
  event.time += kHour;
  event.id = "second";
  ASSERT_EQ(Ingest(**engine, event), id);
  EXPECT_EQ((*held)->view.event_count, 1u);  // the reader's copy did not change under it
  auto now = set.Get(id);
  ASSERT_TRUE(now.ok());
  EXPECT_EQ((*now)->view.event_count, 2u);
  ASSERT_NE((*now)->extension(slot), nullptr);
  EXPECT_EQ(static_cast<const SeenCount*>((*now)->extension(slot))->count, 1);
  // Changed in place: a reader holding the profile keeps the state it saw.
  auto before_update = set.Get(id);
  ASSERT_TRUE(before_update.ok());
  EXPECT_TRUE(set.UpdateExtension(
      id, slot,
      [](const working_set::ResidentProfile&, std::unique_ptr<working_set::Extension>& state) {
        ASSERT_NE(state, nullptr);
        static_cast<SeenCount&>(*state).count += 5;
      }));
  EXPECT_EQ(static_cast<const SeenCount*>((*before_update)->extension(slot))->count, 1);
  auto updated = set.Get(id);
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ(static_cast<const SeenCount*>((*updated)->extension(slot))->count, 6);
  EXPECT_EQ((*updated)->view.event_count, 2u);
  set.Evict(id);  // evicted: the module rebuilds its state when it finds the slot empty
  EXPECT_FALSE(
      set.UpdateExtension(id, slot, [](const auto&, auto&) { ADD_FAILURE() << "not resident"; }));
  auto reloaded = set.Get(id);
  ASSERT_TRUE(reloaded.ok());
  EXPECT_EQ((*reloaded)->extension(slot), nullptr);
  EXPECT_EQ((*reloaded)->view.event_count, 2u);
}

}  // namespace
}  // namespace tailor

#include "tailor/engine.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include "common/coding.h"
#include "common/time.h"
#include "store/records.h"
#include "tailor/import.h"
#include "tailor/json_writer.h"
#include "tailor/profile_json.h"
#include "tailor/state.h"
#include "tailor/store.h"
#include "test_util.h"

namespace tailor {
namespace {

using ::tailor::testing::TempDir;

EventInput Event(std::string id, std::string profile, std::string anonymous, std::string type,
                 std::string_view time, std::optional<double> price = std::nullopt) {
  EventInput event;
  event.id = std::move(id);
  event.profile_id = std::move(profile);
  event.anonymous_id = std::move(anonymous);
  event.type = std::move(type);
  event.time = *ParseIsoTimestamp(time);
  if (price) event.price = testing::Money(*price);
  return event;
}

// Every scenario runs with the write-ahead log and in bulk-load mode (no log, batches written
// by a background thread while the next is prepared), whose results must be the same.
class EngineTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen() {
    engine_.reset();
    EngineOptions options;
    options.bulk_load = GetParam();
    auto engine = Engine::Open(dir_.path(), options);
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    engine_ = std::move(engine).value();
  }
  BatchReport Ingest(std::vector<EventInput> events) {
    BatchReport report;
    EXPECT_OK(engine_->IngestEvents(events, report));
    return report;
  }
  std::vector<std::string> EventIds(std::string_view profile) {
    auto id = engine_->Resolve(profile);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    std::vector<std::string> ids;
    if (!id.ok()) return ids;
    auto events = engine_->Events(*id);
    EXPECT_TRUE(events.ok());
    for (const auto& event : *events) ids.push_back(event.id);
    return ids;
  }

  TempDir dir_;
  std::unique_ptr<Engine> engine_;
};

TEST_P(EngineTest, EventsSurviveReopenInTimeOrder) {
  Ingest({Event("e2", "c1", "", "page_view", "2026-01-02T00:00:00Z"),
          Event("e1", "c1", "", "page_view", "2026-01-01T00:00:00Z")});
  Ingest({Event("e0", "c1", "", "purchase", "2025-12-31T00:00:00Z", 10.5)});
  Reopen();
  EXPECT_EQ(EventIds("c1"), (std::vector<std::string>{"e0", "e1", "e2"}));
  const EngineStats stats = engine_->Stats();
  EXPECT_EQ(stats.profiles, 1u);
  EXPECT_EQ(stats.events, 3u);
  ASSERT_OK_AND_ASSIGN(ProfileView profile, engine_->GetProfile("c1"));
  EXPECT_EQ(profile.behaviour.event_count, 3u);
  ASSERT_NE(profile.behaviour.ForType("purchase"), nullptr);
  EXPECT_EQ(profile.behaviour.ForType("purchase")->value_sum, testing::Money(10.5));
  EXPECT_EQ(profile.behaviour.first_seen, *ParseIsoTimestamp("2025-12-31T00:00:00Z"));
  EXPECT_EQ(profile.latest_events.front().id, "e2");
}

TEST_P(EngineTest, ResentEventIdIsStoredOnceAndCountedOnce) {
  Ingest({Event("e1", "c1", "", "purchase", "2026-01-01T00:00:00Z", 5)});
  Reopen();
  const BatchReport report = Ingest({Event("e1", "c1", "", "purchase", "2026-01-01T00:00:00Z", 5),
                                     Event("e1", "c1", "", "purchase", "2026-01-01T00:00:00Z", 5)});
  EXPECT_EQ(report.accepted, 0u);
  EXPECT_EQ(report.duplicates, 2u);
  EXPECT_EQ(EventIds("c1").size(), 1u);
  ASSERT_OK_AND_ASSIGN(ProfileView profile, engine_->GetProfile("c1"));
  EXPECT_EQ(profile.behaviour.ForType("purchase")->count, 1u);
  EXPECT_EQ(engine_->Stats().events, 1u);
}

// The id filter answers "new" without reading stored events and never loses a duplicate; a
// state written before filters (none in it) is read by scanning and gets its filter on the
// first write.
TEST_P(EngineTest, IdFilterKeepsDedupeExactAndMigratesOldStates) {
  std::vector<EventInput> first;
  for (int i = 0; i < 40; ++i) {
    first.push_back(Event("f" + std::to_string(i), "c1", "", "page_view",
                          i % 2 ? "2026-10-01T10:00:00Z" : "2026-10-02T10:00:00Z"));
  }
  EXPECT_EQ(Ingest(first).accepted, 40u);
  auto id = engine_->Resolve("c1");
  ASSERT_TRUE(id.ok());
  // Rewrite the state as a store of the previous format holds it: no filter after the behaviour.
  engine_.reset();
  {
    auto store = store::Store::Open(dir_.path(), store::StoreOptions{});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    std::string bytes;
    ASSERT_OK((*store)->Get(store::Table::kState, store::ProfileKey(*id), bytes));
    auto state = state::ProfileState::Decode(bytes);
    ASSERT_TRUE(state.ok());
    EXPECT_TRUE(state->event_ids.valid());
    EXPECT_EQ(state->event_ids.count(), 40u);
    std::string old = bytes.substr(
        0, bytes.size() - [&] {
          std::string filter;
          state->event_ids.EncodeTo(filter);
          return filter.size();
        }());
    auto reread = state::ProfileState::Decode(old);
    ASSERT_TRUE(reread.ok());
    EXPECT_FALSE(reread->event_ids.valid());
    store::Batch batch = (*store)->NewBatch();
    batch.Put(store::Table::kState, store::ProfileKey(*id), old);
    ASSERT_OK((*store)->Commit(batch));
  }
  Reopen();
  // Every old id is still a duplicate; new ones are stored, in batches past the filter's
  // capacity (so it is rebuilt from the stored ids too).
  BatchReport again = Ingest(first);
  EXPECT_EQ(again.accepted, 0u);
  EXPECT_EQ(again.duplicates, 40u);
  for (int round = 0; round < 4; ++round) {
    std::vector<EventInput> more;
    for (int i = 0; i < 50; ++i) {
      more.push_back(Event("r" + std::to_string(round) + "-" + std::to_string(i), "c1", "",
                           "page_view", "2026-10-03T10:00:00Z"));
    }
    more.push_back(first[round]);  // one re-sent old id per batch
    BatchReport report = Ingest(more);
    EXPECT_EQ(report.accepted, 50u) << round;
    EXPECT_EQ(report.duplicates, 1u) << round;
    EXPECT_EQ(report.duplicate_indexes, std::vector<size_t>{50}) << round;
  }
  EXPECT_EQ(EventIds("c1").size(), 240u);
  engine_.reset();
  auto store = store::Store::Open(dir_.path(), store::StoreOptions{});
  ASSERT_TRUE(store.ok());
  std::string bytes;
  ASSERT_OK((*store)->Get(store::Table::kState, store::ProfileKey(*id), bytes));
  auto migrated = state::ProfileState::Decode(bytes);
  ASSERT_TRUE(migrated.ok());
  EXPECT_TRUE(migrated->event_ids.valid());
  EXPECT_EQ(migrated->event_ids.count(), 240u);
  store->reset();
  Reopen();
}

// Traits and events in one commit: a visitor's traits create their profile, an event of the same
// write links the visitor to a user, and every owner reported is where the data ended up.
TEST_P(EngineTest, WriteStoresTraitsAndEventsTogetherAndReportsFinalOwners) {
  ProfileInput visitor{"v-1", {{"golf_level", {TraitType::kString, std::string("beginner")}}}};
  visitor.anonymous = true;
  ProfileInput user{"u-7", {{"plan", {TraitType::kString, std::string("pro")}}}};
  const std::vector<ProfileInput> profiles = {visitor, user};
  const std::vector<EventInput> events = {
      Event("e1", "", "v-1", "page_view", "2026-10-01T10:00:00Z"),
      Event("e2", "u-7", "v-1", "signed_in", "2026-10-01T10:05:00Z"),
      Event("e3", "u-7", "", "page_view", "2026-10-01T10:06:00Z")};
  BatchReport profile_report, event_report;
  ASSERT_OK(engine_->Write(profiles, events, profile_report, event_report));
  auto merged = engine_->GetProfile("u-7", 0);
  ASSERT_TRUE(merged.ok());
  EXPECT_EQ(profile_report.owners, (std::vector<ProfileId>{merged->id, merged->id}));
  EXPECT_EQ(event_report.owners, (std::vector<ProfileId>(3, merged->id)));
  EXPECT_EQ(event_report.accepted, 3u);
  EXPECT_EQ(merged->event_count, 3u);
  std::map<std::string, std::string> traits;
  for (const auto& [name, value] : merged->traits) {
    if (const auto* text = std::get_if<std::string>(&value.value)) traits[name] = *text;
  }
  EXPECT_EQ(traits["golf_level"], "beginner");
  EXPECT_EQ(traits["plan"], "pro");
  Reopen();  // durable as one
  EXPECT_EQ(EventIds("v-1"), (std::vector<std::string>{"e1", "e2", "e3"}));
  // The same write again: nothing new.
  BatchReport again_profiles, again_events;
  ASSERT_OK(engine_->Write(profiles, events, again_profiles, again_events));
  EXPECT_EQ(again_events.duplicates, 3u);
  EXPECT_EQ(again_events.duplicate_indexes, (std::vector<size_t>{0, 1, 2}));
}

TEST(EventIdFilter, NoFalseNegativesFewFalsePositivesAndRoundTrips) {
  std::mt19937_64 rng(5);
  state::EventIdFilter filter;
  EXPECT_FALSE(filter.MayContain(rng()));
  std::vector<uint64_t> ids;
  for (int i = 0; i < 5000; ++i) {
    const uint64_t id = rng();
    if (!filter.Add(id)) {
      ids.push_back(id);
      filter.Rebuild(ids);  // the engine rebuilds from every id when the filter is full
    } else {
      ids.push_back(id);
    }
    ASSERT_EQ(filter.count(), ids.size());
  }
  for (uint64_t id : ids) ASSERT_TRUE(filter.MayContain(id));
  int false_positives = 0;
  for (int i = 0; i < 100'000; ++i) false_positives += filter.MayContain(rng());
  EXPECT_LT(false_positives, 2'000);  // under 2 %, sized for twice its ids
  std::string bytes;
  filter.EncodeTo(bytes);
  state::EventIdFilter decoded;
  ASSERT_TRUE(decoded.DecodeFrom(bytes));
  for (uint64_t id : ids) ASSERT_TRUE(decoded.MayContain(id));
  EXPECT_FALSE(decoded.DecodeFrom(bytes.substr(0, bytes.size() - 1)));  // truncated
  ASSERT_TRUE(decoded.DecodeFrom(""));
  EXPECT_FALSE(decoded.valid());
  EXPECT_TRUE(decoded.MayContain(42));  // without a filter, anything may be there

  // A damaged filter in a state record is dropped, not a reason to refuse the profile.
  state::ProfileState profile_state;
  profile_state.behaviour.Apply("page_view", "", 1000, std::nullopt);
  profile_state.event_ids.Rebuild(ids);
  std::string record = profile_state.Encode();
  record.back() = static_cast<char>(record.back() ^ 0x5a);
  record.push_back('x');
  auto damaged = state::ProfileState::Decode(record);
  ASSERT_TRUE(damaged.ok()) << damaged.status().ToString();
  EXPECT_EQ(damaged->behaviour.event_count, 1u);
  EXPECT_FALSE(damaged->event_ids.valid());
}

// A block header claiming more events than bytes (a count whose * 8 would wrap) is refused.
TEST(EventBlocks, AnImpossibleCountIsCorruptionNotACrash) {
  std::string block;
  block.push_back(1);
  coding::PutVarint64(block, (uint64_t{1} << 61) + 1);
  block += std::string(16, '\0');
  EXPECT_FALSE(store::DecodeEventBlock(block).ok());
  std::vector<EventInput> events;
  EXPECT_FALSE(store::AppendEventBlock(block, events).ok());
  std::vector<uint64_t> ids;
  EXPECT_FALSE(store::DecodeEventBlockIds(block, ids));
}

TEST_P(EngineTest, EventsWithoutIdsAreDeduplicatedByContent) {
  Ingest({Event("", "u1", "", "rate", "2016-01-01T00:00:00Z", 4.0),
          Event("", "u1", "", "rate", "2016-01-02T00:00:00Z", 4.0)});
  const BatchReport again = Ingest({Event("", "u1", "", "rate", "2016-01-01T00:00:00Z", 4.0)});
  EXPECT_EQ(again.duplicates, 1u);
  EXPECT_EQ(engine_->Stats().events, 2u);
}

TEST_P(EngineTest, InvalidEventsAreRejectedAndTheRestStored) {
  EventInput no_owner = Event("e2", "", "", "view", "2026-01-01T00:00:00Z");
  EventInput no_type = Event("e3", "c1", "", "", "2026-01-01T00:00:00Z");
  EventInput far_future = Event("e4", "c1", "", "view", "2026-01-01T00:00:00Z");
  far_future.time = int64_t{1} << 60;
  const BatchReport report = Ingest(
      {Event("e1", "c1", "", "view", "2026-01-01T00:00:00Z"), no_owner, no_type, far_future});
  EXPECT_EQ(report.accepted, 1u);
  ASSERT_EQ(report.rejected.size(), 3u);
  EXPECT_EQ(report.rejected[0].index, 1u);
  EXPECT_EQ(report.rejected[0].reason, "the event has neither a profile_id nor an anonymous_id");
  EXPECT_EQ(report.rejected[1].reason, "the event type is missing");
  EXPECT_NE(report.rejected[2].reason.find("outside 1970..2200"), std::string::npos);
}

TEST_P(EngineTest, LinkEventMergesAnonymousHistoryIntoTheKnownProfile) {
  Ingest({Event("e1", "", "a1", "page_view", "2026-01-01T00:00:00Z"),
          Event("e2", "", "a1", "product_view", "2026-01-01T00:01:00Z")});
  EXPECT_EQ(engine_->Stats().anonymous_profiles, 1u);
  Reopen();
  Ingest({Event("e3", "c1", "a1", "page_view", "2026-01-01T00:02:00Z"),
          Event("e4", "", "a1", "page_view", "2026-01-01T00:03:00Z")});
  EXPECT_EQ(EventIds("c1"), (std::vector<std::string>{"e1", "e2", "e3", "e4"}));
  const EngineStats stats = engine_->Stats();
  EXPECT_EQ(stats.profiles, 1u);
  EXPECT_EQ(stats.anonymous_profiles, 0u);
  EXPECT_EQ(stats.events, 4u);
  ASSERT_OK_AND_ASSIGN(ProfileView by_anonymous_id, engine_->GetProfile("a1"));
  EXPECT_EQ(by_anonymous_id.external_id, "c1");
  EXPECT_EQ(by_anonymous_id.behaviour.event_count, 4u);
  // Re-sending the anonymous events after the merge adds nothing.
  EXPECT_EQ(Ingest({Event("e1", "", "a1", "page_view", "2026-01-01T00:00:00Z")}).duplicates, 1u);
}

TEST_P(EngineTest, ReportsTheOwnerOfEveryInputAfterTheBatchsMerges) {
  // a2's first event makes an anonymous profile; the second event of the same batch links a2
  // to c2 and merges it: both events end with c2. The invalid event goes nowhere.
  BatchReport report = Ingest({Event("e1", "", "a2", "page_view", "2026-01-01T00:00:00Z"),
                               Event("e2", "c2", "a2", "page_view", "2026-01-01T00:01:00Z"),
                               Event("e3", "", "", "page_view", "2026-01-01T00:02:00Z"),
                               Event("e4", "c3", "", "page_view", "2026-01-01T00:03:00Z")});
  ASSERT_OK_AND_ASSIGN(ProfileId c2, engine_->Resolve("c2"));
  ASSERT_OK_AND_ASSIGN(ProfileId c3, engine_->Resolve("c3"));
  EXPECT_EQ(report.owners, (std::vector<ProfileId>{c2, c2, kNoProfile, c3}));
  std::vector<ProfileInput> profiles = {
      {"c3", {{"age", {TraitType::kInt, int64_t{40}}}}}, {"", {}}, {"c4", {}}};
  BatchReport upserted;
  ASSERT_OK(engine_->UpsertProfiles(profiles, upserted));
  ASSERT_OK_AND_ASSIGN(ProfileId c4, engine_->Resolve("c4"));
  EXPECT_EQ(upserted.owners, (std::vector<ProfileId>{c3, kNoProfile, c4}));
}

TEST_P(EngineTest, FirstLinkOfAnAnonymousIdWins) {
  bool merged = true;
  ASSERT_OK(engine_->Identify("a1", "c1", &merged));
  EXPECT_FALSE(merged);  // an unseen anonymous id: linked, nothing merged
  ASSERT_OK(engine_->Identify("a1", "c2", &merged));
  EXPECT_FALSE(merged);
  Ingest({Event("e1", "", "a1", "page_view", "2026-01-01T00:00:00Z")});
  EXPECT_EQ(EventIds("c1"), (std::vector<std::string>{"e1"}));
  EXPECT_TRUE(EventIds("c2").empty());
  // A visitor with a profile of their own: identify merges it, and says so.
  Ingest({Event("e2", "", "a2", "page_view", "2026-01-02T00:00:00Z")});
  ASSERT_OK(engine_->Identify("a2", "c3", &merged));
  EXPECT_TRUE(merged);
  EXPECT_EQ(EventIds("c3"), (std::vector<std::string>{"e2"}));
}

TEST_P(EngineTest, MergeKeepsEveryEventAndTheMergedIdResolves) {
  Ingest({Event("e1", "c1", "", "purchase", "2026-01-01T00:00:00Z", 3),
          Event("e2", "c2", "", "purchase", "2026-01-02T00:00:00Z", 4),
          Event("e3", "c2", "a9", "page_view", "2026-01-03T00:00:00Z")});
  BatchReport report;
  ASSERT_OK(engine_->UpsertProfiles(
      std::vector<ProfileInput>{{"c2", {{"city", {TraitType::kString, std::string("Madrid")}}}}},
      report));
  ASSERT_OK(engine_->MergeProfiles("c1", "c2"));
  Reopen();
  EXPECT_EQ(EventIds("c1"), (std::vector<std::string>{"e1", "e2", "e3"}));
  ASSERT_OK_AND_ASSIGN(ProfileView merged, engine_->GetProfile("c2"));
  EXPECT_EQ(merged.external_id, "c1");
  EXPECT_EQ(merged.behaviour.ForType("purchase")->count, 2u);
  EXPECT_EQ(merged.behaviour.ForType("purchase")->value_sum, testing::Money(7));
  ASSERT_EQ(merged.traits.size(), 1u);
  EXPECT_EQ(std::get<std::string>(merged.traits[0].second.value), "Madrid");
  ASSERT_OK_AND_ASSIGN(ProfileView by_anonymous, engine_->GetProfile("a9"));
  EXPECT_EQ(by_anonymous.external_id, "c1");
  EXPECT_EQ(engine_->Stats().profiles, 1u);
  EXPECT_EQ(engine_->Stats().events, 3u);
}

TEST_P(EngineTest, DeleteForgetsTheProfileItsEventsAndItsIds) {
  Ingest({Event("e1", "c1", "a1", "page_view", "2026-01-01T00:00:00Z"),
          Event("e2", "c2", "", "page_view", "2026-01-01T00:00:00Z")});
  ASSERT_OK(engine_->DeleteProfile("c1"));
  Reopen();
  EXPECT_EQ(engine_->GetProfile("c1").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(engine_->GetProfile("a1").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(engine_->Stats().profiles, 1u);
  EXPECT_EQ(engine_->Stats().events, 1u);
  EXPECT_EQ(engine_->DeleteProfile("c1").code(), StatusCode::kNotFound);
  // Nothing of c1 is left anywhere in the store: scan every table for its ids.
  for (int table = 0; table < store::kTableCount; ++table) {
    ASSERT_OK(engine_->store().Scan(static_cast<store::Table>(table), "", "",
                                    [&](std::string_view key, std::string_view value) {
                                      EXPECT_EQ(key.find("c1"), std::string_view::npos);
                                      EXPECT_EQ(value.find("c1"), std::string_view::npos);
                                      EXPECT_EQ(value.find("e1"), std::string_view::npos);
                                      return true;
                                    }));
  }
  // The id can come back as a new person.
  Ingest({Event("e1", "c1", "", "page_view", "2026-01-01T00:00:00Z")});
  EXPECT_EQ(EventIds("c1"), (std::vector<std::string>{"e1"}));
}

TEST_P(EngineTest, TraitOfTheWrongTypeIsRejectedWithItsName) {
  BatchReport report;
  ASSERT_OK(engine_->UpsertProfiles(
      std::vector<ProfileInput>{{"c1", {{"age", {TraitType::kInt, int64_t{41}}}}},
                                {"c2", {{"age", {TraitType::kString, std::string("old")}}}},
                                {"c3", {{"age", {TraitType::kInt, int64_t{30}}}}}},
      report));
  EXPECT_EQ(report.accepted, 2u);
  ASSERT_EQ(report.rejected.size(), 1u);
  EXPECT_EQ(report.rejected[0].index, 1u);
  EXPECT_EQ(report.rejected[0].reason, "trait 'age' is int, got a string value 'old'");
  Reopen();
  EXPECT_EQ(engine_->schema().Find("age")->type, TraitType::kInt);
  EXPECT_EQ(engine_->Stats().profiles, 2u);
}

INSTANTIATE_TEST_SUITE_P(LogAndBulkLoad, EngineTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "BulkLoad" : "Log"; });

TEST(StoreFormat, RefusesAStoreWrittenWithAnotherFormat) {
  TempDir dir;
  {
    auto store = store::Store::Open(dir.path(), store::StoreOptions{});
    ASSERT_TRUE(store.ok());
    store::Batch batch = (*store)->NewBatch();
    batch.Put(store::Table::kMeta, "format_version", "999");
    ASSERT_OK((*store)->Commit(batch));
  }
  auto reopened = store::Store::Open(dir.path(), store::StoreOptions{});
  ASSERT_FALSE(reopened.ok());
  EXPECT_EQ(reopened.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(reopened.status().message().find("format 999"), std::string::npos);
}

TEST(StoreFormat, ReadOnlyOpenOfAMissingStoreSaysWhatToDo) {
  TempDir dir;
  store::StoreOptions options;
  options.create_if_missing = false;
  auto store = store::Store::Open(dir.File("nothing"), options);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kNotFound);
}

TEST(Import, BadRowsAreRejectedWithLinesAndReimportAddsNothing) {
  TempDir dir;
  const auto path = dir.Write("events.csv",
                              "event_id,profile_id,anonymous_id,type,ts,price\n"
                              "e1,c1,,purchase,2026-01-01T00:00:00Z,10\n"
                              "e2,c1,,purchase,not-a-time,10\n"
                              "e3,,,page_view,2026-01-01T00:00:00Z,\n"
                              "e4,c2,,purchase,2026-01-01T00:00:00Z,abc\n"
                              "e5,c2,,page_view,2026-01-02T00:00:00Z,,extra\n"
                              "e6,c2,,page_view,2026-01-03T00:00:00Z,\n");
  auto engine = Engine::Open(dir.File("store"), EngineOptions{});
  ASSERT_TRUE(engine.ok());
  ImportOptions options;
  options.kind = ingest::RecordKind::kEvents;
  options.batch_rows = 2;
  options.reject_path = dir.File("rejects.tsv");
  ASSERT_OK_AND_ASSIGN(ImportSummary first, ImportFile(**engine, path, options));
  EXPECT_EQ(first.rows, 6u);
  EXPECT_EQ(first.accepted, 2u);
  EXPECT_EQ(first.rejected, 4u);
  std::ifstream rejects(options.reject_path);
  std::string text((std::istreambuf_iterator<char>(rejects)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text,
            "line\treason\n"
            "3\tcolumn 'ts': 'not-a-time' is not a valid time\n"
            "4\tthe event has neither a profile_id nor an anonymous_id\n"
            "5\tcolumn 'price': 'abc' is not a number\n"
            "6\texpected 6 fields, found 7\n");
  ASSERT_OK_AND_ASSIGN(ImportSummary second, ImportFile(**engine, path, options));
  EXPECT_EQ(second.accepted, 0u);
  EXPECT_EQ(second.duplicates, 2u);
  EXPECT_EQ((*engine)->Stats().events, 2u);
}

}  // namespace
}  // namespace tailor

// Coalesced writes (Engine::WriteGroup) store and report exactly what the same writes one after
// the other do: duplicates across requests, a visitor linked and merged by a later request,
// refused events, traits set by one request and events of another.
namespace tailor {
namespace {

EventInput Track(std::string profile, std::string anonymous, std::string id, Timestamp time,
                 std::string type = "view") {
  EventInput event;
  event.profile_id = std::move(profile);
  event.anonymous_id = std::move(anonymous);
  event.id = std::move(id);
  event.type = std::move(type);
  event.time = time;
  return event;
}

std::string Everything(Engine& engine, ProfileId up_to) {
  std::string out;
  for (ProfileId id = 0; id < up_to; ++id) {
    auto view = engine.GetProfile(id, 0);
    if (!view.ok()) {
      out += fmt::format("{}: {}\n", id, view.status().ToString());
      continue;
    }
    auto events = engine.Events(id);
    EXPECT_TRUE(events.ok());
    JsonWriter json;
    WriteProfileJson(json, *view, nullptr, *events);
    out += fmt::format("{}: {}\n", id, json.str());
  }
  return out;
}

std::string Describe(const BatchReport& report) {
  std::string out = fmt::format("accepted {} duplicates {} at [{}] rejected [", report.accepted,
                                report.duplicates, fmt::join(report.duplicate_indexes, ","));
  for (const auto& rejection : report.rejected) {
    out += fmt::format("{}: {}; ", rejection.index, rejection.reason);
  }
  return out + "]";
}

TEST(EngineWriteGroup, OneCommitEqualsTheWritesOneAfterTheOther) {
  constexpr Timestamp kT = 1'800'000'000'000;
  const std::vector<ProfileInput> profiles1 = {
      {"u1", {{"plan", {TraitType::kString, std::string("gold")}}}}};
  const std::vector<EventInput> events1 = {Track("u1", "", "e1", kT), Track("u1", "", "e2", kT + 1),
                                           Track("", "v1", "e9", kT + 2, "page")};
  const std::vector<EventInput> events2 = {
      Track("u1", "", "e2", kT + 1),    // already sent by request 1
      Track("u1", "", "e3", kT - 5),    // older than what request 1 stored
      Track("u2", "v1", "e4", kT + 3),  // links the visitor: its profile merges into u2
      Track("u3", "", "bad", kT, ""),   // refused: no type
      Track("u3", "", "e5", kT + 4, "purchase")};
  const std::vector<ProfileInput> profiles3 = {
      {"u2", {{"plan", {TraitType::kString, std::string("silver")}}}},
      {"v1", {{"plan", {TraitType::kString, std::string("bronze")}}}, /*anonymous=*/true}};
  const std::vector<EventInput> events3 = {Track("u3", "", "e5", kT + 4, "purchase"),
                                           Track("u4", "", "e6", kT + 5)};

  TempDir grouped_dir, sequential_dir;
  EngineOptions options;
  options.store.create_if_missing = true;
  options.clock = [] { return kT + 1000; };
  auto grouped = Engine::Open(grouped_dir.path(), options);
  auto sequential = Engine::Open(sequential_dir.path(), options);
  ASSERT_TRUE(grouped.ok() && sequential.ok());

  BatchReport g[6], s[6];
  const std::vector<Engine::WriteRequest> requests = {{profiles1, events1, &g[0], &g[1]},
                                                      {{}, events2, &g[2], &g[3]},
                                                      {profiles3, events3, &g[4], &g[5]}};
  ASSERT_OK((*grouped)->WriteGroup(requests));
  ASSERT_OK((*sequential)->Write(profiles1, events1, s[0], s[1]));
  ASSERT_OK((*sequential)->Write({}, events2, s[2], s[3]));
  ASSERT_OK((*sequential)->Write(profiles3, events3, s[4], s[5]));
  for (int i = 0; i < 6; ++i) EXPECT_EQ(Describe(g[i]), Describe(s[i])) << "report " << i;
  // Owners are where each input is once the whole group is stored: the visitor's event of
  // request 1 is on u2 (id 2), which took in the visitor's profile (id 1) in request 2.
  EXPECT_EQ(s[1].owners, (std::vector<ProfileId>{0, 0, 1}));
  EXPECT_EQ(g[1].owners, (std::vector<ProfileId>{0, 0, 2}));
  for (int i : {0, 2, 3, 4, 5}) EXPECT_EQ(g[i].owners, s[i].owners) << "report " << i;
  EXPECT_EQ(g[3].duplicate_indexes, std::vector<size_t>{0});
  EXPECT_EQ(g[5].duplicates, 1u);  // e5 was in request 2
  ASSERT_EQ(g[3].rejected.size(), 1u);
  EXPECT_EQ(Everything(**grouped, 8), Everything(**sequential, 8));
  EXPECT_EQ((*grouped)->Stats().events, (*sequential)->Stats().events);
}

}  // namespace
}  // namespace tailor

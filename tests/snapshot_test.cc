#include "tailor/snapshot.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "tailor/engine.h"
#include "test_util.h"

namespace tailor {
namespace {

using ::tailor::testing::TempDir;

// Builds a store of random profiles and events (with identity links, merges and a delete),
// then checks every column of the snapshot against what the engine returns row by row.
class SnapshotTest : public ::testing::TestWithParam<bool> {};

TEST_P(SnapshotTest, EveryColumnMatchesTheStoreRowByRow) {
  std::mt19937_64 rng(20261123);  // fixed so that a failure replays exactly
  TempDir dir;
  EngineOptions engine_options;
  engine_options.bulk_load = GetParam();  // bulk load: writes in flight must be seen too
  auto opened = Engine::Open(dir.path(), engine_options);
  ASSERT_TRUE(opened.ok());
  Engine& engine = **opened;
  const std::vector<std::string> cities = {"Madrid", "London", "Paris", "Berlin"};
  const std::vector<std::string> interests = {"golf", "travel", "yoga", "books"};
  const std::vector<std::string> types = {"page_view", "purchase", "add_to_cart"};
  std::vector<ProfileInput> profiles;
  for (int i = 0; i < 300; ++i) {
    ProfileInput profile{"c" + std::to_string(i), {}};
    if (rng() % 4) profile.traits.push_back({"age", {TraitType::kInt, int64_t(18 + rng() % 60)}});
    if (rng() % 3) profile.traits.push_back({"city", {TraitType::kString, cities[rng() % 4]}});
    if (rng() % 2)
      profile.traits.push_back({"score", {TraitType::kDouble, double(rng() % 1000) / 8}});
    if (rng() % 2) profile.traits.push_back({"opt_in", {TraitType::kBool, bool(rng() % 2)}});
    if (rng() % 2) {
      profile.traits.push_back(
          {"signup", {TraitType::kTimestamp, int64_t(1700000000000 + rng() % 1000000)}});
    }
    StringList list;
    for (const std::string& interest : interests) {
      if (rng() % 3 == 0) list.push_back(interest);
    }
    if (!list.empty()) profile.traits.push_back({"interests", {TraitType::kStringList, list}});
    profiles.push_back(std::move(profile));
  }
  BatchReport report;
  ASSERT_OK(engine.UpsertProfiles(profiles, report));
  for (int batch = 0; batch < 20; ++batch) {
    std::vector<EventInput> events(200);
    for (size_t i = 0; i < events.size(); ++i) {
      EventInput& event = events[i];
      event.id = "e" + std::to_string(batch * 1000 + i);
      const uint64_t who = rng() % 350;  // some anonymous-only visitors
      if (who < 300) event.profile_id = "c" + std::to_string(who);
      if (who >= 280) event.anonymous_id = "a" + std::to_string(who % 40);
      event.type = types[rng() % types.size()];
      event.time = 1700000000000 + static_cast<int64_t>(rng() % 100000000);
      if (rng() % 2) event.item_id = "i" + std::to_string(rng() % 50);
      if (rng() % 2) event.category = "cat" + std::to_string(rng() % 5);
      if (rng() % 3 == 0) event.price = Decimal::FromMicros(int64_t(rng() % 10000) * 10000);
      if (rng() % 4 == 0) event.quantity = int64_t(1 + rng() % 3);
      if (rng() % 5 == 0) event.context.page_url = "/p/" + std::to_string(rng() % 9);
      if (rng() % 7 == 0) event.order_id = "o" + std::to_string(rng() % 20);
    }
    BatchReport events_report;
    ASSERT_OK(engine.IngestEvents(events, events_report));
  }
  ASSERT_OK(engine.MergeProfiles("c1", "c2"));
  ASSERT_OK(engine.DeleteProfile("c3"));

  snapshot::SnapshotOptions options;
  options.threads = 3;  // several parts, so the merge of parts is exercised
  options.event_fields = {"order_id", "page_url"};
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<snapshot::Snapshot> snap, engine.BuildSnapshot(options));
  const snapshot::EventColumns& events = snap->events();
  const Schema schema = engine.schema();
  size_t live = 0;
  for (ProfileId id = 0; id < snap->profile_count(); ++id) {
    const std::string external(snap->external_id(id));
    SCOPED_TRACE(external);
    if (!snap->known().Test(id) && !snap->anonymous().Test(id)) {
      EXPECT_EQ(events.offsets[id], events.offsets[id + 1]) << "a removed profile has no events";
      continue;
    }
    ++live;
    ASSERT_OK_AND_ASSIGN(ProfileView view, engine.GetProfile(external, 0));
    ASSERT_EQ(view.id, id);
    EXPECT_EQ(snap->anonymous().Test(id), view.anonymous);
    for (const TraitDef& def : schema.traits()) {
      const snapshot::TraitColumn& column = *snap->trait(def.name);
      const TypedValue* value = nullptr;
      for (const auto& [name, trait_value] : view.traits) {
        if (name == def.name) value = &trait_value;
      }
      ASSERT_EQ(column.present.Test(id), value != nullptr) << def.name;
      if (value == nullptr) continue;
      switch (def.type) {
        case TraitType::kInt:
        case TraitType::kTimestamp:
          EXPECT_EQ(column.ints[id], std::get<int64_t>(value->value));
          break;
        case TraitType::kBool:
          EXPECT_EQ(column.ints[id], std::get<bool>(value->value));
          break;
        case TraitType::kDouble:
          EXPECT_EQ(column.doubles[id], std::get<double>(value->value));
          break;
        case TraitType::kString:
          EXPECT_EQ(column.dictionary[column.codes[id]], std::get<std::string>(value->value));
          break;
        case TraitType::kStringList: {
          StringList got;
          for (uint32_t i = column.list_offsets[id]; i < column.list_offsets[id + 1]; ++i) {
            got.emplace_back(column.dictionary[column.list_codes[i]]);
          }
          EXPECT_EQ(got, std::get<StringList>(value->value));
          break;
        }
      }
    }
    ASSERT_OK_AND_ASSIGN(std::vector<StoredEventView> stored, engine.Events(id));
    ASSERT_EQ(events.offsets[id + 1] - events.offsets[id], stored.size());
    for (size_t i = 0; i < stored.size(); ++i) {
      const size_t row = events.offsets[id] + i;
      const StoredEventView& event = stored[i];
      EXPECT_EQ(events.time[row], event.time);
      EXPECT_EQ(events.types[events.type[row]], event.type);
      const auto text = [](const snapshot::EventStringColumn& column, size_t at) {
        return column.codes[at] == snapshot::kNullCode
                   ? std::string()
                   : std::string(column.dictionary[column.codes[at]]);
      };
      EXPECT_EQ(text(events.item, row), event.item_id);
      EXPECT_EQ(text(events.category, row), event.category);
      EXPECT_EQ(text(events.extra.at("order_id"), row), event.order_id);
      EXPECT_EQ(text(events.extra.at("page_url"), row), event.context.page_url);
      EXPECT_EQ(events.price[row] == snapshot::kNoAmount, !event.price.has_value());
      if (event.price) {
        EXPECT_EQ(events.price[row], event.price->micros());
        // value = price * quantity, or the price alone when there is no quantity.
        const int64_t quantity = event.quantity.value_or(1);
        EXPECT_EQ(events.value[row], event.price->micros() * quantity);
      }
      EXPECT_EQ(events.quantity[row],
                event.quantity ? int32_t(*event.quantity) : snapshot::kNoQuantity);
    }
  }
  EXPECT_EQ(live, engine.Stats().profiles + engine.Stats().anonymous_profiles);
  EXPECT_EQ(snap->known().Count(), engine.Stats().profiles);
  EXPECT_EQ(events.size(), engine.Stats().events);
  EXPECT_GT(snap->memory_bytes(), events.size() * 28);
}

INSTANTIATE_TEST_SUITE_P(LogAndBulkLoad, SnapshotTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "BulkLoad" : "Log"; });

TEST(Snapshot, RejectsAnUnknownEventField) {
  TempDir dir;
  auto engine = Engine::Open(dir.path(), EngineOptions{});
  ASSERT_TRUE(engine.ok());
  snapshot::SnapshotOptions options;
  options.event_fields = {"colour"};
  auto snap = (*engine)->BuildSnapshot(options);
  ASSERT_FALSE(snap.ok());
  EXPECT_EQ(snap.status().message(), "unknown event field 'colour' for a snapshot");
}

}  // namespace
}  // namespace tailor

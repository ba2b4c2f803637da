// crash_stress: a randomized crash test of tailor::Engine, after RocksDB's db_crashtest.py
// driving db_stress.
//
// The parent process loops over rounds. Each round it starts a child (fork + exec of this very
// program with --child, so the child never inherits RocksDB threads from the parent) that opens
// the engine on one data directory with sync = every-write and applies random operations:
// IngestEvents batches, Identify, MergeProfiles and DeleteProfile over a small universe of ids,
// plus now and then Flush and CompactAll, so kills also land in flushes and compactions.
// Before each operation the child appends an "intent" line (the operation as text) to a log and
// fsyncs it; after the call returns it appends an "ack" line with the outcome. The parent
// SIGKILLs the child at a random moment, reopens the engine itself and checks it against a
// model: plain containers replaying every acknowledged operation since round 0. The operation
// in flight at the kill may or may not have committed, so the store must equal the model either
// without it or with it. The model also checks every acknowledged outcome (status code,
// accepted and duplicate counts) when it replays it.
//
// Short run (registered with CTest as crash_stress_short):
//   crash_stress --seed 1 --rounds 20 --max-ops 500   (about 10 s)
// Long run (minutes to hours; vary the seed between runs):
//   crash_stress --seed 7 --rounds 500 --max-ops 5000
// Other flags: --dir PATH (work directory; kept afterwards), --round-timeout SECONDS.
// Replaying a cut-down history in one process, without kills (to minimize a failure):
//   crash_stress --replay ops.txt   (one operation per line, e.g. "merge p1 p2"; lines copied
//                                    from history.txt are accepted as they are)
//
// Determinism: the operations of round r depend only on --seed and r, and the kill plan of each
// round only on --seed; where exactly the kill lands inside an operation is up to the scheduler.
// On a mismatch the program prints the seed, the round, the last operations and the difference,
// writes the full operation history to <dir>/history.txt, keeps <dir> and exits 1.

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tailor/engine.h"
#include "tailor/status.h"
#include "tailor/store.h"
#include "tailor/types.h"

namespace tailor::crash_stress {
namespace {

// A small universe, so that ids collide often: links, merges, deletes and re-creations of the
// same ids happen many times per round.
constexpr int kProfileUniverse = 30;
constexpr int kAnonymousUniverse = 20;
constexpr int kMaxBatchEvents = 20;
constexpr Timestamp kFirstEventTime = 1'767'225'600'000;  // 2026-01-01T00:00:00Z
constexpr Timestamp kEventTimeSpan = int64_t{30} * 24 * 3600 * 1000;
constexpr const char* kEventTypes[] = {"page_view", "product_view", "add_to_cart", "purchase"};
// How many of the latest operations a failure report prints (the full history goes to a file).
constexpr size_t kReportedOperations = 60;

std::string ProfileName(int index) { return fmt::format("p{}", index); }
std::string AnonymousName(int index) { return fmt::format("a{}", index); }

// Every id the checker resolves: the ids operations may use, in a fixed order.
std::vector<std::string> UniverseIds() {
  std::vector<std::string> ids;
  for (int i = 0; i < kProfileUniverse; ++i) ids.push_back(ProfileName(i));
  for (int i = 0; i < kAnonymousUniverse; ++i) ids.push_back(AnonymousName(i));
  return ids;
}

std::vector<std::string_view> Split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    const size_t end = text.find(separator, start);
    parts.push_back(text.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

std::optional<int64_t> ParseInt(std::string_view text) {
  if (text.empty()) return std::nullopt;
  int64_t value = 0;
  bool negative = false;
  size_t i = 0;
  if (text[0] == '-') {
    negative = true;
    i = 1;
    if (text.size() == 1) return std::nullopt;
  }
  for (; i < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    value = value * 10 + (text[i] - '0');
  }
  return negative ? -value : value;
}

// ---------------------------------------------------------------------------------------------
// Operations and their text form (one line of the log).

// kFlush and kCompact change no data: they push memtables into files and files through
// compaction (range deletions included), so kills also land in those paths and recovery has to
// combine files with the log.
enum class OpKind { kIngest, kIdentify, kMerge, kDelete, kFlush, kCompact };

struct Operation {
  OpKind kind = OpKind::kIngest;
  std::vector<EventInput> events;  // kIngest
  // kIdentify: anonymous id, profile id. kMerge: into, from. kDelete: the id; second unused.
  std::string first, second;
};

// Empty ids are written as "-" so that every field of the line is non-empty.
std::string IdField(std::string_view id) { return id.empty() ? "-" : std::string(id); }
std::string FromIdField(std::string_view field) {
  return field == "-" ? std::string() : std::string(field);
}

// "ingest id,profile,anonymous,type,time ...", "identify a3 p4", "merge p1 p2", "delete p3",
// "flush", "compact".
std::string ToText(const Operation& operation) {
  switch (operation.kind) {
    case OpKind::kIngest: {
      std::string text = "ingest";
      for (const EventInput& event : operation.events) {
        text += fmt::format(" {},{},{},{},{}", IdField(event.id), IdField(event.profile_id),
                            IdField(event.anonymous_id), event.type, event.time);
      }
      return text;
    }
    case OpKind::kIdentify:
      return fmt::format("identify {} {}", operation.first, operation.second);
    case OpKind::kMerge:
      return fmt::format("merge {} {}", operation.first, operation.second);
    case OpKind::kDelete:
      return fmt::format("delete {}", operation.first);
    case OpKind::kFlush:
      return "flush";
    case OpKind::kCompact:
      return "compact";
  }
  return "?";
}

std::optional<Operation> ParseOperation(std::string_view text) {
  const std::vector<std::string_view> words = Split(text, ' ');
  Operation operation;
  if (words[0] == "ingest" && words.size() >= 2) {
    operation.kind = OpKind::kIngest;
    for (size_t i = 1; i < words.size(); ++i) {
      const std::vector<std::string_view> fields = Split(words[i], ',');
      if (fields.size() != 5) return std::nullopt;
      EventInput event;
      event.id = FromIdField(fields[0]);
      event.profile_id = FromIdField(fields[1]);
      event.anonymous_id = FromIdField(fields[2]);
      event.type = std::string(fields[3]);
      const std::optional<int64_t> time = ParseInt(fields[4]);
      if (!time) return std::nullopt;
      event.time = *time;
      operation.events.push_back(std::move(event));
    }
    return operation;
  }
  if (words.size() == 1 && (words[0] == "flush" || words[0] == "compact")) {
    operation.kind = words[0] == "flush" ? OpKind::kFlush : OpKind::kCompact;
    return operation;
  }
  if (words[0] == "identify" && words.size() == 3) {
    operation.kind = OpKind::kIdentify;
  } else if (words[0] == "merge" && words.size() == 3) {
    operation.kind = OpKind::kMerge;
  } else if (words[0] == "delete" && words.size() == 2) {
    operation.kind = OpKind::kDelete;
  } else {
    return std::nullopt;
  }
  operation.first = std::string(words[1]);
  if (words.size() == 3) operation.second = std::string(words[2]);
  return operation;
}

// What a call returned, as the ack line records it.
struct Outcome {
  std::string code = "OK";  // StatusCodeName
  uint64_t accepted = 0, duplicates = 0, rejected = 0;

  bool operator==(const Outcome&) const = default;
  std::string ToText() const {
    return fmt::format("{} {} {} {}", code, accepted, duplicates, rejected);
  }
};

// ---------------------------------------------------------------------------------------------
// The model: what the engine must show, kept in plain containers. It implements the engine's
// semantics (engine.h, docs/storage_format.md) directly, without its storage or its caching.

class Model {
 public:
  Outcome Apply(const Operation& operation) {
    Outcome outcome;
    switch (operation.kind) {
      case OpKind::kIngest:
        for (const EventInput& event : operation.events) {
          pending_[OwnerOf(event)].push_back({event.id, /*from_store=*/false});
        }
        break;
      case OpKind::kIdentify:
        Link(KnownProfile(operation.second), operation.first);
        break;
      case OpKind::kMerge: {
        const auto into = known_ids_.find(operation.first);
        const auto from = known_ids_.find(operation.second);
        if (into == known_ids_.end() || from == known_ids_.end()) {
          outcome.code = StatusCodeName(StatusCode::kNotFound);
        } else if (into->second != from->second) {
          MergeInto(into->second, from->second);
        }
        break;
      }
      case OpKind::kDelete: {
        std::optional<Serial> profile = Lookup(operation.first);
        if (!profile) {
          outcome.code = StatusCodeName(StatusCode::kNotFound);
        } else {
          Forget(*profile);
        }
        break;
      }
      case OpKind::kFlush:
      case OpKind::kCompact:
        break;
    }
    ApplyPending(outcome);
    return outcome;
  }

  // The canonical description the checker compares line by line with DescribeEngine's.
  std::vector<std::string> Describe(const std::vector<std::string>& universe) const {
    std::vector<std::string> lines;
    uint64_t known = 0, anonymous = 0, events = 0;
    for (const auto& [serial, profile] : profiles_) {
      ++(profile.anonymous ? anonymous : known);
      events += profile.event_ids.size();
    }
    lines.push_back(fmt::format("stats: profiles={} anonymous_profiles={} events={}", known,
                                anonymous, events));
    // Which universe id first names each profile: two ids share an owner iff they name the same.
    std::map<Serial, std::string> first_name;
    for (const std::string& id : universe) {
      if (std::optional<Serial> owner = Lookup(id)) first_name.emplace(*owner, id);
    }
    for (const std::string& id : universe) {
      const std::optional<Serial> owner = Lookup(id);
      if (!owner) {
        lines.push_back(fmt::format("{} -> NOT_FOUND", id));
        continue;
      }
      const Profile& profile = profiles_.at(*owner);
      const std::vector<std::string> ids(profile.event_ids.begin(), profile.event_ids.end());
      lines.push_back(fmt::format("{} -> {}{} same_owner_as={} event_count={}/{} events=[{}]", id,
                                  profile.external_id, profile.anonymous ? " (anonymous)" : "",
                                  first_name.at(*owner), ids.size(), ids.size(),
                                  fmt::join(ids, ",")));
    }
    lines.push_back(
        fmt::format("storage: profile_records={} unreachable_records=0 id_entries={} "
                    "event_blocks_of_missing_profiles=0 states_of_missing_profiles=0",
                    profiles_.size(), known_ids_.size() + anonymous_ids_.size()));
    return lines;
  }

 private:
  // The model's own profile identity: a re-created external id is a new profile.
  using Serial = uint64_t;
  struct Profile {
    std::string external_id;
    bool anonymous = false;
    std::set<std::string> event_ids;
  };

  std::optional<Serial> Lookup(const std::string& id) const {
    // As Engine::Resolve: an external id first, then an anonymous id.
    if (auto it = known_ids_.find(id); it != known_ids_.end()) return it->second;
    if (auto it = anonymous_ids_.find(id); it != anonymous_ids_.end()) return it->second;
    return std::nullopt;
  }

  Serial Create(const std::string& external_id, bool anonymous) {
    const Serial serial = next_serial_++;
    profiles_[serial] = Profile{external_id, anonymous, {}};
    (anonymous ? anonymous_ids_ : known_ids_)[external_id] = serial;
    return serial;
  }

  Serial KnownProfile(const std::string& external_id) {
    auto it = known_ids_.find(external_id);
    return it != known_ids_.end() ? it->second : Create(external_id, /*anonymous=*/false);
  }

  Serial OwnerOf(const EventInput& event) {
    if (!event.profile_id.empty()) {
      const Serial known = KnownProfile(event.profile_id);
      if (!event.anonymous_id.empty()) Link(known, event.anonymous_id);
      return known;
    }
    auto it = anonymous_ids_.find(event.anonymous_id);
    return it != anonymous_ids_.end() ? it->second : Create(event.anonymous_id, /*anonymous=*/true);
  }

  // First link of an anonymous id to a known profile wins; an anonymous profile holding the id
  // is merged into the known one.
  void Link(Serial known, const std::string& anonymous_id) {
    auto it = anonymous_ids_.find(anonymous_id);
    if (it == anonymous_ids_.end()) {
      anonymous_ids_[anonymous_id] = known;
    } else if (it->second != known && profiles_.at(it->second).anonymous) {
      MergeInto(known, it->second);
    }
  }

  // Every id that resolved to `from` resolves to `into`, and `into` is handed the events of
  // `from`: the stored ones, then those this batch routed to `from`.
  void MergeInto(Serial into, Serial from) {
    std::vector<PendingEvent>& target = pending_[into];
    for (const std::string& event_id : profiles_.at(from).event_ids) {
      target.push_back({event_id, /*from_store=*/true});
    }
    if (auto it = pending_.find(from); it != pending_.end()) {
      target.insert(target.end(), it->second.begin(), it->second.end());
      pending_.erase(it);
    }
    for (auto* ids : {&known_ids_, &anonymous_ids_}) {
      for (auto& [id, owner] : *ids) {
        if (owner == from) owner = into;
      }
    }
    profiles_.erase(from);
  }

  // As the engine, a batch routes each event to its owner first and de-duplicates at the end,
  // against the owner the batch leaves it with, in the order the events reached that owner.
  // So an event sent to an anonymous profile that the same batch then merges into a profile
  // already holding its id counts as a duplicate, not as accepted.
  void ApplyPending(Outcome& outcome) {
    for (const auto& [owner, events] : pending_) {
      std::set<std::string>& event_ids = profiles_.at(owner).event_ids;
      for (const PendingEvent& event : events) {
        const bool added = event_ids.insert(event.id).second;
        if (!event.from_store) ++(added ? outcome.accepted : outcome.duplicates);
      }
    }
    pending_.clear();
  }

  // Right to be forgotten: the profile, its events and every id resolving to it.
  void Forget(Serial profile) {
    for (auto* ids : {&known_ids_, &anonymous_ids_}) {
      std::erase_if(*ids, [&](const auto& entry) { return entry.second == profile; });
    }
    profiles_.erase(profile);
  }

  struct PendingEvent {
    std::string id;
    bool from_store;  // moved by a merge (never counted), or sent by the caller
  };

  std::map<Serial, Profile> profiles_;
  // Events routed by the operation being applied, by owner, not yet de-duplicated.
  std::map<Serial, std::vector<PendingEvent>> pending_;
  std::map<std::string, Serial> known_ids_;      // external id -> profile
  std::map<std::string, Serial> anonymous_ids_;  // anonymous id -> profile
  Serial next_serial_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Reading the engine back in the same canonical form as Model::Describe.

uint32_t BigEndian32(std::string_view bytes) {
  uint32_t value = 0;
  for (size_t i = 0; i < 4 && i < bytes.size(); ++i) {
    value = (value << 8) | static_cast<uint8_t>(bytes[i]);
  }
  return value;
}

std::vector<std::string> DescribeEngine(Engine& engine, const std::vector<std::string>& universe) {
  std::vector<std::string> lines;
  const EngineStats stats = engine.Stats();
  lines.push_back(fmt::format("stats: profiles={} anonymous_profiles={} events={}", stats.profiles,
                              stats.anonymous_profiles, stats.events));
  std::map<ProfileId, std::string> first_name;
  std::vector<Result<ProfileId>> resolved;
  for (const std::string& id : universe) {
    resolved.push_back(engine.Resolve(id));
    if (resolved.back().ok()) first_name.emplace(*resolved.back(), id);
  }
  for (size_t i = 0; i < universe.size(); ++i) {
    const std::string& id = universe[i];
    const Result<ProfileId>& profile_id = resolved[i];
    if (!profile_id.ok()) {
      lines.push_back(fmt::format("{} -> {}", id,
                                  profile_id.status().code() == StatusCode::kNotFound
                                      ? "NOT_FOUND"
                                      : "resolve error: " + profile_id.status().ToString()));
      continue;
    }
    Result<ProfileView> view = engine.GetProfile(id, /*latest_events=*/0);
    if (!view.ok()) {
      lines.push_back(fmt::format("{} -> profile {}: GetProfile error: {}", id, *profile_id,
                                  view.status().ToString()));
      continue;
    }
    Result<std::vector<StoredEventView>> events = engine.Events(*profile_id);
    if (!events.ok()) {
      lines.push_back(fmt::format("{} -> profile {}: Events error: {}", id, *profile_id,
                                  events.status().ToString()));
      continue;
    }
    std::vector<std::string> event_ids;
    for (const StoredEventView& event : *events) event_ids.push_back(event.id);
    std::sort(event_ids.begin(), event_ids.end());
    // Kept with duplicates: a profile holding one event id twice must show up as a difference.
    lines.push_back(fmt::format("{} -> {}{} same_owner_as={} event_count={}/{} events=[{}]", id,
                                view->external_id, view->anonymous ? " (anonymous)" : "",
                                first_name.at(*profile_id), view->event_count,
                                view->behaviour.event_count, fmt::join(event_ids, ",")));
  }

  // Leftovers no id reaches: profile records, id entries, event blocks and behavioural states of
  // deleted profiles.
  uint64_t profile_records = 0, unreachable_records = 0, id_entries = 0, orphan_blocks = 0,
           orphan_states = 0;
  std::set<ProfileId> record_ids;
  std::string scan_errors;
  auto note = [&](const Status& status) {
    if (!status.ok()) scan_errors += " scan error: " + status.ToString();
  };
  note(engine.store().Scan(store::Table::kProfiles, "", "",
                           [&](std::string_view key, std::string_view) {
                             const ProfileId id = BigEndian32(key);
                             ++profile_records;
                             record_ids.insert(id);
                             if (!first_name.contains(id)) ++unreachable_records;
                             return true;
                           }));
  note(engine.store().Scan(store::Table::kIds, "", "", [&](std::string_view, std::string_view) {
    ++id_entries;
    return true;
  }));
  note(engine.store().Scan(store::Table::kEvents, "", "",
                           [&](std::string_view key, std::string_view) {
                             if (!record_ids.contains(BigEndian32(key))) ++orphan_blocks;
                             return true;
                           }));
  note(engine.store().Scan(store::Table::kState, "", "",
                           [&](std::string_view key, std::string_view) {
                             if (!record_ids.contains(BigEndian32(key))) ++orphan_states;
                             return true;
                           }));
  lines.push_back(fmt::format(
      "storage: profile_records={} unreachable_records={} id_entries={} "
      "event_blocks_of_missing_profiles={} "
      "states_of_missing_profiles={}{}",
      profile_records, unreachable_records, id_entries, orphan_blocks, orphan_states, scan_errors));
  return lines;
}

// The lines that differ, "-" expected (model) and "+" found (engine), or empty when equal.
std::string Difference(const std::vector<std::string>& expected,
                       const std::vector<std::string>& found) {
  std::string text;
  const size_t count = std::max(expected.size(), found.size());
  for (size_t i = 0; i < count; ++i) {
    const std::string none = "(no line)";
    const std::string& want = i < expected.size() ? expected[i] : none;
    const std::string& got = i < found.size() ? found[i] : none;
    if (want != got) text += fmt::format("  - {}\n  + {}\n", want, got);
  }
  return text;
}

// ---------------------------------------------------------------------------------------------
// The child: random operations, each bracketed by fsynced intent and ack lines.

class OperationGenerator {
 public:
  OperationGenerator(uint64_t seed, int round) : round_(round) {
    std::seed_seq sequence{seed, static_cast<uint64_t>(round), uint64_t{0x5eed}};
    rng_.seed(sequence);
  }

  Operation Next() {
    Operation operation;
    const int dice = Uniform(0, 99);
    if (dice < 72) {
      operation.kind = OpKind::kIngest;
      const int count = Uniform(1, kMaxBatchEvents);
      for (int i = 0; i < count; ++i) {
        operation.events.push_back(NextEvent(i > 0 ? &operation.events.back() : nullptr));
      }
    } else if (dice < 84) {
      operation.kind = OpKind::kIdentify;
      operation.first = AnonymousName(Uniform(0, kAnonymousUniverse - 1));
      operation.second = ProfileName(Uniform(0, kProfileUniverse - 1));
    } else if (dice < 93) {
      operation.kind = OpKind::kMerge;
      // Now and then an anonymous id or the same profile twice: NotFound and a no-op.
      operation.first = Uniform(0, 19) == 0 ? AnonymousName(Uniform(0, kAnonymousUniverse - 1))
                                            : ProfileName(Uniform(0, kProfileUniverse - 1));
      operation.second =
          Uniform(0, 19) == 0 ? operation.first : ProfileName(Uniform(0, kProfileUniverse - 1));
    } else if (dice < 99) {
      operation.kind = OpKind::kDelete;
      operation.first = Uniform(0, 6) == 0 ? AnonymousName(Uniform(0, kAnonymousUniverse - 1))
                                           : ProfileName(Uniform(0, kProfileUniverse - 1));
    } else {
      operation.kind = Uniform(0, 4) == 0 ? OpKind::kCompact : OpKind::kFlush;
    }
    return operation;
  }

 private:
  int Uniform(int low, int high) { return std::uniform_int_distribution<int>(low, high)(rng_); }

  void ChooseOwner(EventInput& event) {
    event.profile_id.clear();
    event.anonymous_id.clear();
    const int dice = Uniform(0, 9);
    if (dice < 4 || dice >= 7) event.profile_id = ProfileName(Uniform(0, kProfileUniverse - 1));
    if (dice >= 4) event.anonymous_id = AnonymousName(Uniform(0, kAnonymousUniverse - 1));
  }

  // `previous`: the event before this one in the batch, if any.
  EventInput NextEvent(const EventInput* previous) {
    const int dice = Uniform(0, 99);
    if (dice < 8 && !sent_.empty()) {
      // Re-sent exactly as before: a duplicate unless a merge or delete came in between.
      return sent_[Uniform(0, static_cast<int>(sent_.size()) - 1)];
    }
    EventInput event;
    if (dice < 14 && !sent_.empty()) {
      // A known event id under a new owner: stored again there, de-duplicated after a merge.
      event.id = sent_[Uniform(0, static_cast<int>(sent_.size()) - 1)].id;
    } else if (dice < 17 && round_ > 0) {
      event.id = fmt::format("r{}e{}", Uniform(0, round_ - 1), Uniform(0, 40));  // earlier round
    } else {
      event.id = fmt::format("r{}e{}", round_, next_event_++);
    }
    if (previous != nullptr && Uniform(0, 3) == 0) {
      // Events of one visitor often arrive together (the engine takes a shortcut for them).
      event.profile_id = previous->profile_id;
      event.anonymous_id = previous->anonymous_id;
    } else {
      ChooseOwner(event);
    }
    event.type = kEventTypes[Uniform(0, std::size(kEventTypes) - 1)];
    event.time =
        kFirstEventTime + std::uniform_int_distribution<Timestamp>(0, kEventTimeSpan)(rng_);
    sent_.push_back(event);
    return event;
  }

  std::mt19937_64 rng_;
  int round_;
  uint64_t next_event_ = 0;
  std::vector<EventInput> sent_;  // this round's events, for re-sends
};

Outcome Execute(Engine& engine, const Operation& operation) {
  Outcome outcome;
  Status status;
  switch (operation.kind) {
    case OpKind::kIngest: {
      BatchReport report;
      status = engine.IngestEvents(operation.events, report);
      outcome.accepted = report.accepted;
      outcome.duplicates = report.duplicates;
      outcome.rejected = report.rejected.size();
      break;
    }
    case OpKind::kIdentify:
      status = engine.Identify(operation.first, operation.second);
      break;
    case OpKind::kMerge:
      status = engine.MergeProfiles(operation.first, operation.second);
      break;
    case OpKind::kDelete:
      status = engine.DeleteProfile(operation.first);
      break;
    case OpKind::kFlush:
      status = engine.Flush();
      break;
    case OpKind::kCompact:
      status = engine.store().CompactAll();
      break;
  }
  outcome.code = std::string(StatusCodeName(status.code()));
  return outcome;
}

// One write() per line, so a kill never leaves half a line behind a whole one; then fsync, so
// the line is on disk before the operation it announces (or acknowledges) goes on.
bool AppendDurably(int fd, const std::string& line) {
  size_t written = 0;
  while (written < line.size()) {
    const ssize_t n = write(fd, line.data() + written, line.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    written += static_cast<size_t>(n);
  }
  return fsync(fd) == 0;
}

EngineOptions StressOptions() {
  EngineOptions options;
  options.store.sync = store::SyncPolicy::kEveryWrite;
  return options;
}

struct ChildArgs {
  std::string data_dir, log_path;
  uint64_t seed = 0;
  int round = 0, operations = 0;
};

int RunChild(const ChildArgs& args) {
  const int log_fd = open(args.log_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    fmt::print(stderr, "child: cannot open {}: {}\n", args.log_path, std::strerror(errno));
    return 2;
  }
  Result<std::unique_ptr<Engine>> engine = Engine::Open(args.data_dir, StressOptions());
  if (!engine.ok()) {
    fmt::print(stderr, "child: opening the engine failed: {}\n", engine.status().ToString());
    return 2;
  }
  OperationGenerator generator(args.seed, args.round);
  for (int sequence = 0; sequence < args.operations; ++sequence) {
    const Operation operation = generator.Next();
    if (!AppendDurably(log_fd, fmt::format("intent {} {}\n", sequence, ToText(operation)))) {
      fmt::print(stderr, "child: writing the log failed: {}\n", std::strerror(errno));
      return 2;
    }
    const Outcome outcome = Execute(**engine, operation);
    // Errors are logged like successes: the model decides whether an error was right.
    if (!AppendDurably(log_fd, fmt::format("ack {} {}\n", sequence, outcome.ToText()))) {
      fmt::print(stderr, "child: writing the log failed: {}\n", std::strerror(errno));
      return 2;
    }
  }
  engine->reset();  // a clean close, for the rounds that are not killed
  close(log_fd);
  return 0;
}

// ---------------------------------------------------------------------------------------------
// The parent: rounds of start, kill, reopen, compare.

struct LoggedOperation {
  Operation operation;
  std::string text;
  std::optional<Outcome> outcome;  // absent: in flight when the child died
};

// Parses a round's log. A last line without its newline was torn by the kill and is dropped;
// anything else malformed is an error.
Result<std::vector<LoggedOperation>> ReadRoundLog(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<LoggedOperation> logged;
  size_t start = 0;
  while (true) {
    const size_t end = content.find('\n', start);
    if (end == std::string::npos) break;
    const std::string_view line(content.data() + start, end - start);
    start = end + 1;
    const size_t first_space = line.find(' ');
    const size_t second_space = line.find(' ', first_space + 1);
    if (first_space == std::string_view::npos || second_space == std::string_view::npos) {
      return Corruption("malformed log line '{}'", line);
    }
    const std::string_view tag = line.substr(0, first_space);
    const std::optional<int64_t> sequence =
        ParseInt(line.substr(first_space + 1, second_space - first_space - 1));
    const std::string_view rest = line.substr(second_space + 1);
    if (!sequence) return Corruption("malformed log line '{}'", line);
    if (tag == "intent") {
      if (*sequence != static_cast<int64_t>(logged.size()) ||
          (!logged.empty() && !logged.back().outcome)) {
        return Corruption("intent out of order: '{}'", line);
      }
      std::optional<Operation> operation = ParseOperation(rest);
      if (!operation) return Corruption("unparsable operation: '{}'", line);
      logged.push_back({std::move(*operation), std::string(rest), std::nullopt});
    } else if (tag == "ack") {
      const std::vector<std::string_view> fields = Split(rest, ' ');
      if (logged.empty() || logged.back().outcome ||
          *sequence != static_cast<int64_t>(logged.size()) - 1 || fields.size() != 4) {
        return Corruption("ack out of order: '{}'", line);
      }
      Outcome outcome;
      outcome.code = std::string(fields[0]);
      const auto accepted = ParseInt(fields[1]), duplicates = ParseInt(fields[2]),
                 rejected = ParseInt(fields[3]);
      if (!accepted || !duplicates || !rejected) return Corruption("malformed ack '{}'", line);
      outcome.accepted = *accepted;
      outcome.duplicates = *duplicates;
      outcome.rejected = *rejected;
      logged.back().outcome = outcome;
    } else {
      return Corruption("unknown log line '{}'", line);
    }
  }
  return logged;
}

// Counts the complete ack lines of a growing log without re-reading it from the start.
class AckCounter {
 public:
  explicit AckCounter(const std::string& path) : path_(path) {}
  int Poll() {
    std::ifstream in(path_, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(offset_));
    std::string chunk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    pending_ += chunk;
    offset_ += chunk.size();
    size_t end;
    while ((end = pending_.find('\n')) != std::string::npos) {
      if (pending_.starts_with("ack ")) ++acks_;
      pending_.erase(0, end + 1);
    }
    return acks_;
  }

 private:
  std::string path_;
  size_t offset_ = 0;
  std::string pending_;
  int acks_ = 0;
};

struct Options {
  uint64_t seed = 1;
  int rounds = 12;
  int max_ops = 400;
  int round_timeout_seconds = 300;
  std::string dir;  // empty: a fresh temporary directory, removed on success
};

// How a round ends: the child runs to the end, is killed after `kill_after_acks` acks plus
// `extra_delay_us` (to land inside an operation), or is killed `extra_delay_us` after it started
// (often inside Engine::Open, i.e. during recovery).
struct KillPlan {
  enum class Mode { kFinish, kAfterAcks, kAfterTime } mode = Mode::kFinish;
  int kill_after_acks = 0;
  int extra_delay_us = 0;
};

KillPlan ChooseKillPlan(std::mt19937_64& rng, int max_ops) {
  auto uniform = [&](int low, int high) {
    return std::uniform_int_distribution<int>(low, high)(rng);
  };
  KillPlan plan;
  const int dice = uniform(0, 99);
  if (dice < 8) {
    plan.mode = KillPlan::Mode::kFinish;
  } else if (dice < 16) {
    plan.mode = KillPlan::Mode::kAfterTime;
    plan.extra_delay_us = uniform(0, 40'000);
  } else {
    plan.mode = KillPlan::Mode::kAfterAcks;
    plan.kill_after_acks = uniform(0, std::max(0, max_ops - 1));
    plan.extra_delay_us = uniform(0, 2'000);
  }
  return plan;
}

class Stress {
 public:
  explicit Stress(Options options) : options_(std::move(options)), rng_(options_.seed) {}

  int Run() {
    if (options_.dir.empty()) {
      std::random_device random;
      options_.dir = (std::filesystem::temp_directory_path() /
                      fmt::format("tailor-crash-stress-{}-{}", getpid(), random()))
                         .string();
      remove_dir_on_success_ = true;
    }
    std::error_code error;
    std::filesystem::create_directories(options_.dir, error);
    if (error) {
      fmt::print(stderr, "cannot create {}: {}\n", options_.dir, error.message());
      return 1;
    }
    data_dir_ = (std::filesystem::path(options_.dir) / "data").string();
    std::filesystem::remove_all(data_dir_, error);  // a kept --dir from an earlier run
    const auto started = std::chrono::steady_clock::now();
    for (int round = 0; round < options_.rounds; ++round) {
      if (!RunRound(round)) {
        WriteHistory();
        fmt::print(stderr,
                   "FAILED: seed {} round {}; full history in {}/history.txt, store kept "
                   "in {}\n",
                   options_.seed, round, options_.dir, data_dir_);
        return 1;
      }
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    fmt::print(
        "crash_stress OK: seed {} rounds {} acknowledged_ops {} kills {} "
        "in_flight_applied {} in_flight_not_applied {} ({:.1f} s)\n",
        options_.seed, options_.rounds, acknowledged_ops_, kills_, in_flight_applied_,
        in_flight_not_applied_, seconds);
    if (remove_dir_on_success_) std::filesystem::remove_all(options_.dir, error);
    return 0;
  }

 private:
  bool RunRound(int round) {
    const std::string log_path =
        (std::filesystem::path(options_.dir) / fmt::format("round-{}.log", round)).string();
    std::filesystem::remove(log_path);
    const KillPlan plan = ChooseKillPlan(rng_, options_.max_ops);

    const pid_t child = StartChild(round, log_path);
    if (child < 0) return false;
    bool killed = false;
    int wait_status = 0;
    if (!Supervise(child, plan, log_path, killed, wait_status)) return false;
    if (killed) {
      ++kills_;
    } else if (!WIFEXITED(wait_status) || WEXITSTATUS(wait_status) != 0) {
      fmt::print(stderr, "round {}: the child failed on its own (wait status {:#x})\n", round,
                 wait_status);
      return false;
    }

    Result<std::vector<LoggedOperation>> logged = ReadRoundLog(log_path);
    if (!logged.ok()) {
      fmt::print(stderr, "round {}: {}\n", round, logged.status().ToString());
      return false;
    }
    // Replay the acknowledged operations; each outcome the child saw must be the model's.
    const LoggedOperation* in_flight = nullptr;
    for (const LoggedOperation& entry : *logged) {
      if (!entry.outcome) {
        in_flight = &entry;
        break;
      }
      const Outcome expected = model_.Apply(entry.operation);
      history_.push_back(fmt::format("round {} op {}: {} => {}", round, history_.size(), entry.text,
                                     entry.outcome->ToText()));
      ++acknowledged_ops_;
      if (expected != *entry.outcome) {
        PrintRecentHistory();
        fmt::print(stderr,
                   "seed {} round {}: the engine answered {} but the model expects {} "
                   "for: {}\n",
                   options_.seed, round, entry.outcome->ToText(), expected.ToText(), entry.text);
        return false;
      }
    }
    return CheckStore(round, in_flight);
  }

  // Reopens the store as a restarted server would and compares it with the model, without and
  // with the operation that was in flight.
  bool CheckStore(int round, const LoggedOperation* in_flight) {
    Result<std::unique_ptr<Engine>> engine = Engine::Open(data_dir_, StressOptions());
    if (!engine.ok()) {
      PrintRecentHistory();
      fmt::print(stderr, "seed {} round {}: reopening after the kill failed: {}\n", options_.seed,
                 round, engine.status().ToString());
      return false;
    }
    const std::vector<std::string> found = DescribeEngine(**engine, universe_);
    engine->reset();

    const std::string without = Difference(model_.Describe(universe_), found);
    if (without.empty()) {
      if (in_flight != nullptr) ++in_flight_not_applied_;
      return true;
    }
    std::string with;
    if (in_flight != nullptr) {
      Model applied = model_;
      const Outcome outcome = applied.Apply(in_flight->operation);
      with = Difference(applied.Describe(universe_), found);
      if (with.empty()) {
        model_ = std::move(applied);
        history_.push_back(
            fmt::format("round {} op {}: {} => (in flight at the kill; committed, "
                        "model says {})",
                        round, history_.size(), in_flight->text, outcome.ToText()));
        ++in_flight_applied_;
        return true;
      }
      history_.push_back(fmt::format("round {} op {}: {} => (in flight at the kill)", round,
                                     history_.size(), in_flight->text));
    }
    PrintRecentHistory();
    fmt::print(stderr,
               "seed {} round {}: the reopened store differs from the model "
               "(- model, + engine).\nWithout the in-flight operation:\n{}",
               options_.seed, round, without);
    if (in_flight != nullptr) {
      fmt::print(stderr, "With the in-flight operation ({}):\n{}", in_flight->text, with);
    } else {
      fmt::print(stderr, "(no operation was in flight)\n");
    }
    return false;
  }

  pid_t StartChild(int round, const std::string& log_path) {
    const std::vector<std::string> args = {"crash_stress", "--child",
                                           "--dir",        data_dir_,
                                           "--log",        log_path,
                                           "--seed",       std::to_string(options_.seed),
                                           "--round",      std::to_string(round),
                                           "--ops",        std::to_string(options_.max_ops)};
    const pid_t pid = fork();
    if (pid < 0) {
      fmt::print(stderr, "fork failed: {}\n", std::strerror(errno));
      return -1;
    }
    if (pid == 0) {
      // exec rather than run in the forked copy: the parent's RocksDB left threads behind, and
      // a forked child would inherit their locks but not the threads.
      std::vector<char*> argv;
      for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
      argv.push_back(nullptr);
      execv("/proc/self/exe", argv.data());
      std::fprintf(stderr, "exec failed: %s\n", std::strerror(errno));
      _exit(127);
    }
    return pid;
  }

  // Waits for the child, killing it as `plan` says. Returns false on a hung child.
  bool Supervise(pid_t child, const KillPlan& plan, const std::string& log_path, bool& killed,
                 int& wait_status) {
    using Clock = std::chrono::steady_clock;
    const auto started = Clock::now();
    const auto deadline = started + std::chrono::seconds(options_.round_timeout_seconds);
    AckCounter acks(log_path);
    std::optional<Clock::time_point> kill_at;
    if (plan.mode == KillPlan::Mode::kAfterTime) {
      kill_at = started + std::chrono::microseconds(plan.extra_delay_us);
    }
    killed = false;
    while (true) {
      const pid_t done = waitpid(child, &wait_status, WNOHANG);
      if (done == child) return true;
      const auto now = Clock::now();
      if (now > deadline) {
        kill(child, SIGKILL);
        waitpid(child, &wait_status, 0);
        fmt::print(stderr, "the child made no end within {} s: hung?\n",
                   options_.round_timeout_seconds);
        return false;
      }
      if (!kill_at && plan.mode == KillPlan::Mode::kAfterAcks &&
          acks.Poll() >= plan.kill_after_acks) {
        kill_at = now + std::chrono::microseconds(plan.extra_delay_us);
      }
      if (kill_at && now >= *kill_at) {
        kill(child, SIGKILL);
        waitpid(child, &wait_status, 0);
        // The child may have finished just before the signal: then it was not a kill.
        killed = WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == SIGKILL;
        return true;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(kill_at ? 50 : 300));
    }
  }

  void PrintRecentHistory() const {
    const size_t first =
        history_.size() > kReportedOperations ? history_.size() - kReportedOperations : 0;
    fmt::print(stderr, "seed {}: last {} of {} operations:\n", options_.seed,
               history_.size() - first, history_.size());
    for (size_t i = first; i < history_.size(); ++i) fmt::print(stderr, "  {}\n", history_[i]);
  }

  void WriteHistory() const {
    std::ofstream out(std::filesystem::path(options_.dir) / "history.txt");
    out << fmt::format("seed {}\n", options_.seed);
    for (const std::string& line : history_) out << line << '\n';
  }

  Options options_;
  std::mt19937_64 rng_;  // kill plans
  bool remove_dir_on_success_ = false;
  std::string data_dir_;
  const std::vector<std::string> universe_ = UniverseIds();
  Model model_;
  std::vector<std::string> history_;
  uint64_t acknowledged_ops_ = 0, kills_ = 0, in_flight_applied_ = 0, in_flight_not_applied_ = 0;
};

// Applies the operations of `path` (one per line, in the log's text form, e.g. "merge p1 p2";
// blank lines and "#" comments skipped) to a fresh store in this process, checking the outcome
// and the whole state after each one. For cutting a failure down to a minimal reproduction.
int Replay(const std::string& path) {
  std::random_device random;
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() /
      fmt::format("tailor-crash-stress-replay-{}-{}", getpid(), random());
  Result<std::unique_ptr<Engine>> engine = Engine::Open(dir.string(), StressOptions());
  if (!engine.ok()) {
    fmt::print(stderr, "opening the engine failed: {}\n", engine.status().ToString());
    return 1;
  }
  const std::vector<std::string> universe = UniverseIds();
  Model model;
  std::ifstream in(path);
  std::string line;
  int line_number = 0, failures = 0;
  while (failures == 0 && std::getline(in, line)) {
    ++line_number;
    if (line.empty() || line[0] == '#') continue;
    if (line.starts_with("round ")) {
      // A history line, "round R op N: <operation> => <outcome>": keep the operation.
      const size_t begin = line.find(": "), end = line.find(" => ");
      if (begin != std::string::npos && end != std::string::npos && begin < end) {
        line = line.substr(begin + 2, end - begin - 2);
      }
    }
    const std::optional<Operation> operation = ParseOperation(line);
    if (!operation) {
      fmt::print(stderr, "{}:{}: cannot parse '{}'\n", path, line_number, line);
      ++failures;
      break;
    }
    const Outcome expected = model.Apply(*operation);
    const Outcome found = Execute(**engine, *operation);
    fmt::print("{}: {} => engine {}, model {}\n", line_number, line, found.ToText(),
               expected.ToText());
    if (found != expected) ++failures;
    const std::string difference =
        Difference(model.Describe(universe), DescribeEngine(**engine, universe));
    if (!difference.empty()) {
      fmt::print("state differs (- model, + engine):\n{}", difference);
      ++failures;
    }
  }
  engine->reset();
  std::error_code error;
  std::filesystem::remove_all(dir, error);
  fmt::print("{}\n", failures == 0 ? "replay OK" : "replay FAILED");
  return failures == 0 ? 0 : 1;
}

int Usage() {
  fmt::print(stderr,
             "usage: crash_stress [--seed N] [--rounds N] [--max-ops N] [--dir PATH] "
             "[--round-timeout SECONDS]\n"
             "       crash_stress --replay FILE\n");
  return 2;
}

int Main(int argc, char** argv) {
  Options options;
  ChildArgs child;
  bool is_child = false;
  std::string replay_path;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (flag == "--child") {
      is_child = true;
      continue;
    }
    if (i + 1 >= argc) return Usage();
    const std::string value = argv[++i];
    const std::optional<int64_t> number = ParseInt(value);
    auto need_number = [&]() -> bool {
      if (!number || *number < 0) fmt::print(stderr, "{} needs a number, got '{}'\n", flag, value);
      return number && *number >= 0;
    };
    if (flag == "--dir") {
      options.dir = value;
      child.data_dir = value;
    } else if (flag == "--replay") {
      replay_path = value;
    } else if (flag == "--log") {
      child.log_path = value;
    } else if (flag == "--seed") {
      if (!need_number()) return Usage();
      options.seed = child.seed = static_cast<uint64_t>(*number);
    } else if (flag == "--rounds") {
      if (!need_number()) return Usage();
      options.rounds = static_cast<int>(*number);
    } else if (flag == "--max-ops" || flag == "--ops") {
      if (!need_number()) return Usage();
      options.max_ops = child.operations = static_cast<int>(*number);
    } else if (flag == "--round") {
      if (!need_number()) return Usage();
      child.round = static_cast<int>(*number);
    } else if (flag == "--round-timeout") {
      if (!need_number()) return Usage();
      options.round_timeout_seconds = static_cast<int>(*number);
    } else {
      return Usage();
    }
  }
  if (is_child) return RunChild(child);
  if (!replay_path.empty()) return Replay(replay_path);
  return Stress(std::move(options)).Run();
}

}  // namespace
}  // namespace tailor::crash_stress

int main(int argc, char** argv) { return tailor::crash_stress::Main(argc, argv); }

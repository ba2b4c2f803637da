// kill -9 during `tailor import`, then reopen: every batch the import reported as durable is
// there, the store opens cleanly, and running the import again completes without duplicates.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <set>
#include <sstream>

#include "tailor/engine.h"
#include "tailor/import.h"
#include "test_util.h"

namespace tailor {
namespace {

using ::tailor::testing::TempDir;

constexpr int kProfiles = 4000;
constexpr int kEventsPerProfile = 25;

// events.csv in the reference shape, grouped by profile; row r (1-based) is event e<r>.
std::string WriteEvents(const TempDir& dir) {
  std::string text = "event_id,profile_id,anonymous_id,type,ts,item_id,price\n";
  int row = 0;
  for (int profile = 0; profile < kProfiles; ++profile) {
    for (int i = 0; i < kEventsPerProfile; ++i) {
      ++row;
      char line[160];
      std::snprintf(line, sizeof(line), "e%d,c%d,,%s,2026-%02d-%02dT10:00:%02dZ,i%d,%d.50\n", row,
                    profile, i % 3 ? "page_view" : "purchase", 1 + i % 12, 1 + i % 28, i % 60,
                    i * 7 % 100, i);
      text += line;
    }
  }
  return dir.Write("events.csv", text);
}

struct Child {
  pid_t pid;
  FILE* out;
};

Child StartImport(const std::string& data_dir, const std::string& file, bool wal) {
  int pipe_fds[2];
  EXPECT_EQ(pipe(pipe_fds), 0);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(pipe_fds[1], STDOUT_FILENO);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    std::vector<std::string> args = {TAILOR_CLI,
                                     "--data-dir",
                                     data_dir,
                                     "import",
                                     "events",
                                     file,
                                     "--log-batches",
                                     "--batch-rows",
                                     "500",
                                     "--checkpoint-batches",
                                     "4",
                                     "--reject-file",
                                     data_dir + ".rejects"};
    if (wal) args.push_back("--wal");
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(pipe_fds[1]);
  return Child{pid, fdopen(pipe_fds[0], "r")};
}

class CrashImportTest : public ::testing::TestWithParam<bool> {};

TEST_P(CrashImportTest, KillNineKeepsReportedBatchesAndReimportAddsNoDuplicates) {
  const bool wal = GetParam();
  TempDir dir;
  const std::string file = WriteEvents(dir);
  const std::string data_dir = dir.File(wal ? "store-wal" : "store-bulk");
  // Kill after a few durable reports, while the import is in full flow.
  Child child = StartImport(data_dir, file, wal);
  uint64_t durable_accepted = 0, durable_last_line = 0;
  int reports = 0;
  char line[256];
  const int kill_after = wal ? 37 : 7;
  while (std::fgets(line, sizeof(line), child.out) != nullptr) {
    unsigned long long batch, rows, accepted, last_line;
    if (std::sscanf(line, "committed batch=%llu rows=%llu accepted=%llu last_line=%llu", &batch,
                    &rows, &accepted, &last_line) == 4) {
      durable_accepted = accepted;
      durable_last_line = last_line;
      if (++reports == kill_after) break;
    }
  }
  ASSERT_EQ(reports, kill_after) << "the import ended before it could be killed";
  kill(child.pid, SIGKILL);
  int status = 0;
  waitpid(child.pid, &status, 0);
  std::fclose(child.out);
  ASSERT_TRUE(WIFSIGNALED(status));
  ASSERT_GT(durable_accepted, 0u);

  {
    auto engine = Engine::Open(data_dir, EngineOptions{});
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    const EngineStats stats = (*engine)->Stats();
    EXPECT_GE(stats.events, durable_accepted);
    // Every row up to the last durable line is stored, under its profile.
    const int full_profiles = static_cast<int>((durable_last_line - 1) / kEventsPerProfile);
    for (int profile = 0; profile < full_profiles; ++profile) {
      auto id = (*engine)->Resolve("c" + std::to_string(profile));
      ASSERT_TRUE(id.ok()) << "profile c" << profile << " lost: " << id.status().ToString();
      auto events = (*engine)->Events(*id);
      ASSERT_TRUE(events.ok());
      ASSERT_EQ(events->size(), static_cast<size_t>(kEventsPerProfile)) << "c" << profile;
    }
  }

  // Running the import again completes and adds each event exactly once.
  Child rerun = StartImport(data_dir, file, wal);
  while (std::fgets(line, sizeof(line), rerun.out) != nullptr) {
  }
  waitpid(rerun.pid, &status, 0);
  std::fclose(rerun.out);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  auto engine = Engine::Open(data_dir, EngineOptions{});
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  const EngineStats stats = (*engine)->Stats();
  EXPECT_EQ(stats.profiles, static_cast<uint64_t>(kProfiles));
  EXPECT_EQ(stats.events, static_cast<uint64_t>(kProfiles) * kEventsPerProfile);
  for (int profile = 0; profile < kProfiles; profile += 97) {
    auto id = (*engine)->Resolve("c" + std::to_string(profile));
    ASSERT_TRUE(id.ok());
    auto events = (*engine)->Events(*id);
    ASSERT_TRUE(events.ok());
    std::set<std::string> ids;
    for (const auto& event : *events) ids.insert(event.id);
    EXPECT_EQ(ids.size(), events->size()) << "duplicate events in c" << profile;
    EXPECT_EQ(events->size(), static_cast<size_t>(kEventsPerProfile));
    ASSERT_OK_AND_ASSIGN(ProfileView view, (*engine)->GetProfile("c" + std::to_string(profile), 0));
    EXPECT_EQ(view.behaviour.event_count, static_cast<uint64_t>(kEventsPerProfile));
  }
}

INSTANTIATE_TEST_SUITE_P(BulkAndLog, CrashImportTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Wal" : "BulkLoad"; });

}  // namespace
}  // namespace tailor

// kill -9 of `tailor serve` while clients send batches: after a restart every event that was
// acknowledged with 2xx is stored, and sending every batch again (as clients retry) stores
// nothing twice.

#include <gtest/gtest.h>
#include <signal.h>
#include <simdjson.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "http_client.h"
#include "test_util.h"

namespace tailor {
namespace {

using ::tailor::testing::HttpClient;
using ::tailor::testing::TempDir;

constexpr int kClients = 6;  // concurrent: their batches are coalesced into shared commits
constexpr int kBatchSize = 50;
constexpr int kUsers = 40;

pid_t StartServer(const std::string& data_dir, const std::string& port_file) {
  std::filesystem::remove(port_file);
  const pid_t pid = fork();
  if (pid == 0) {
    const std::string log = data_dir + "/serve.log";
    freopen(log.c_str(), "a", stdout);
    freopen(log.c_str(), "a", stderr);
    std::vector<std::string> args = {
        TAILOR_CLI, "--data-dir",  data_dir,      "serve",   "--no-auth",
        "--listen", "127.0.0.1:0", "--port-file", port_file, "--evaluate-every",
        "0"};
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

uint16_t WaitForPort(const std::string& port_file) {
  for (int i = 0; i < 600; ++i) {
    std::ifstream in(port_file);
    int port = 0;
    if (in >> port && port > 0) return static_cast<uint16_t>(port);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return 0;
}

std::string BatchBody(int client, int batch) {
  std::string body = R"({"batch":[)";
  for (int i = 0; i < kBatchSize; ++i) {
    if (i > 0) body += ",";
    const int user = (client * 7919 + batch * 31 + i) % kUsers;
    body += R"({"type":"track","event":"Product Viewed","userId":"u)" + std::to_string(user) +
            R"(","messageId":"c)" + std::to_string(client) + "-b" + std::to_string(batch) + "-" +
            std::to_string(i) + R"(","properties":{"product_id":"i)" + std::to_string(i) + "\"}}";
  }
  return body + "]}";
}

std::string MessageId(int client, int batch, int i) {
  return "c" + std::to_string(client) + "-b" + std::to_string(batch) + "-" + std::to_string(i);
}

TEST(ServerCrash, KillNineKeepsAcknowledgedEventsAndRetriesStoreNothingTwice) {
  TempDir dir;
  const std::string data = dir.File("data");
  const std::string port_file = dir.File("port");
  pid_t server = StartServer(data, port_file);
  uint16_t port = WaitForPort(port_file);
  ASSERT_NE(port, 0) << "server did not start";

  std::mutex mutex;
  std::set<std::string> acknowledged;
  std::map<int, int> batches_sent;  // client -> batches attempted
  std::atomic<bool> stop{false};
  std::atomic<int> acked_batches{0};
  std::vector<std::thread> clients;
  for (int client = 0; client < kClients; ++client) {
    clients.emplace_back([&, client] {
      HttpClient http(port);
      for (int batch = 0; !stop; ++batch) {
        {
          std::lock_guard lock(mutex);
          batches_sent[client] = batch + 1;
        }
        auto reply = http.Send("POST", "/v1/batch", BatchBody(client, batch));
        if (!reply) return;  // the server is gone
        if (reply->status / 100 != 2) continue;
        std::lock_guard lock(mutex);
        for (int i = 0; i < kBatchSize; ++i) acknowledged.insert(MessageId(client, batch, i));
        ++acked_batches;
      }
    });
  }
  // Let some batches land, then kill it mid-stream.
  for (int i = 0; i < 400 && acked_batches < 30; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(kill(server, SIGKILL), 0);
  int wait_status = 0;
  waitpid(server, &wait_status, 0);
  stop = true;
  for (std::thread& client : clients) client.join();
  ASSERT_GE(acked_batches.load(), 10);

  server = StartServer(data, port_file);
  port = WaitForPort(port_file);
  ASSERT_NE(port, 0) << "server did not restart";
  HttpClient http(port);
  // Every acknowledged event is there, once.
  simdjson::dom::parser parser;
  auto stored_ids = [&]() {
    std::multiset<std::string> ids;
    for (int user = 0; user < kUsers; ++user) {
      auto reply = http.Send("GET", "/v1/profiles/u" + std::to_string(user) + "/export");
      if (!reply || reply->status == 404) continue;
      EXPECT_EQ(reply->status, 200);
      simdjson::dom::element profile;
      EXPECT_EQ(parser.parse(reply->body).get(profile), simdjson::SUCCESS);
      for (auto event : profile["events"].get_array()) {
        ids.insert(std::string(std::string_view(event["id"])));
      }
    }
    return ids;
  };
  std::multiset<std::string> after_crash = stored_ids();
  for (const std::string& id : acknowledged) {
    EXPECT_EQ(after_crash.count(id), 1u) << "acknowledged event " << id;
  }
  // Clients retry everything they sent, acknowledged or not: nothing is stored twice.
  size_t sent_events = 0;
  for (const auto& [client, batches] : batches_sent) {
    for (int batch = 0; batch < batches; ++batch) {
      auto reply = http.Send("POST", "/v1/batch", BatchBody(client, batch));
      ASSERT_TRUE(reply.has_value());
      EXPECT_EQ(reply->status, 200) << reply->body;
      sent_events += kBatchSize;
    }
  }
  std::multiset<std::string> after_retry = stored_ids();
  EXPECT_EQ(after_retry.size(), sent_events);
  for (const std::string& id : after_retry) EXPECT_EQ(after_retry.count(id), 1u) << id;

  ASSERT_EQ(kill(server, SIGTERM), 0);
  waitpid(server, &wait_status, 0);
  EXPECT_TRUE(WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0) << "graceful stop";
}

}  // namespace
}  // namespace tailor

// tailor serve | keys create|list|revoke

#include <cstdio>

#include "commands.h"
#include "tailor/api_keys.h"
#include "tailor/json_writer.h"
#include "tailor/server.h"

namespace tailor::cli {
namespace {

struct ServeFlags {
  std::string listen = "127.0.0.1:8080";
  std::string port_file;
  std::string now;  // pins the clock (demos, tests)
  int threads = 0;
  int write_threads = 0;
  int evaluate_every = 3600;
  int rfm_every = 0;
  int recommender_every = 300;
  int read_timeout = 30;
  bool no_auth = false;
  std::vector<std::string> allowed_event_types;
  std::string geoip_database;
  bool trust_forwarded_for = false;
  size_t max_message_bytes = collect::Limits{}.max_message_bytes;
  size_t max_batch_bytes = collect::Limits{}.max_batch_bytes;
  size_t max_streams = server::ApiOptions{}.max_streams;
  size_t memory_budget = 0;  // ServiceOptions::memory_budget
};

int RunServe(const GlobalOptions& global, const ServeFlags& flags) {
  ServiceOptions options;
  options.engine.store.create_if_missing = true;
  const auto sync = store::ParseSyncPolicy(global.sync);
  if (!sync)
    return ReportError(global, InvalidArgument("--sync: unknown policy '{}'", global.sync));
  options.engine.store.sync = *sync;
  options.allowed_event_types = flags.allowed_event_types;
  options.geoip_database = flags.geoip_database;
  options.memory_budget = flags.memory_budget;
  options.limits.max_message_bytes = flags.max_message_bytes;
  options.limits.max_batch_bytes = flags.max_batch_bytes;
  if (!flags.now.empty()) {
    auto now = ParseNow(flags.now);
    if (!now.ok()) return ReportError(global, now.status());
    options.clock = [pinned = *now] { return pinned; };
  }
  std::fprintf(stderr, "tailor serve: opening %s and evaluating its segments...\n",
               global.data_dir.c_str());
  auto service = Service::Open(global.data_dir, std::move(options));
  if (!service.ok()) return ReportError(global, service.status());
  access::KeyStore keys((*service)->engine().store());
  if (Status loaded = keys.Load(); !loaded.ok()) return ReportError(global, loaded);
  std::string first_key;
  if (keys.size() == 0 && !flags.no_auth) {
    access::ApiKey admin;
    admin.name = "admin";
    admin.scopes = {access::Scope::kAdmin};
    auto created = keys.Create(admin);
    if (!created.ok()) return ReportError(global, created.status());
    first_key = *created;
  }
  server::ServerOptions server_options;
  server_options.listen = flags.listen;
  server_options.port_file = flags.port_file;
  server_options.threads = flags.threads;
  server_options.write_threads = flags.write_threads;
  server_options.evaluate_every = std::chrono::seconds(flags.evaluate_every);
  server_options.rfm_every = std::chrono::seconds(flags.rfm_every);
  server_options.recommender_every = std::chrono::seconds(flags.recommender_every);
  server_options.read_timeout = std::chrono::seconds(flags.read_timeout);
  server_options.api.require_keys = !flags.no_auth;
  server_options.api.trust_forwarded_for = flags.trust_forwarded_for;
  server_options.api.max_body_bytes = flags.max_batch_bytes;
  server_options.api.max_streams = flags.max_streams;
  const EngineStats stats = (*service)->engine().Stats();
  auto segment_count = (*service)->catalog().List();
  Status served = server::Serve(**service, keys, server_options, [&](uint16_t port) {
    const std::size_t colon = flags.listen.rfind(':');
    std::string host = flags.listen.substr(0, colon);
    if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
    std::printf("tailor serving %s on http://%s:%u  (%llu profiles, %llu events, %zu segments)\n",
                global.data_dir.c_str(), host.c_str(), port,
                static_cast<unsigned long long>(stats.profiles),
                static_cast<unsigned long long>(stats.events),
                segment_count.ok() ? segment_count->size() : size_t{0});
    const std::string key = first_key.empty() ? std::string("$TAILOR_KEY") : first_key;
    if (!first_key.empty()) {
      std::printf("no API keys yet: created admin key (shown once, keep it): %s\n",
                  first_key.c_str());
    }
    std::printf("open the web app: http://%s:%u/  (sign in with %s)\n", host.c_str(), port,
                first_key.empty() ? "an API key" : "the admin key above");
    std::printf("try:\n  curl -s -H 'Authorization: Bearer %s' http://%s:%u/v1/segments\n",
                key.c_str(), host.c_str(), port);
    std::printf(
        "  curl -s -H 'Authorization: Bearer %s' -d "
        "'{\"userId\":\"c0000001\",\"event\":\"Product Viewed\",\"properties\":"
        "{\"product_id\":\"i000001\"}}' http://%s:%u/v1/track\n",
        key.c_str(), host.c_str(), port);
    std::printf("stop with Ctrl-C (finishes in-flight requests, flushes the store)\n");
    std::fflush(stdout);
  });
  if (!served.ok()) return ReportError(global, served);
  std::fprintf(stderr, "tailor serve: stopped cleanly\n");
  return 0;
}

struct KeyFlags {
  std::string name;
  std::vector<std::string> scopes;
  std::vector<std::string> origins;
  bool is_public = false;
  double rate = 0;
  std::string revoke_id;
};

int RunKeysCreate(const GlobalOptions& global, const KeyFlags& flags) {
  auto engine = OpenEngine(global, /*create_if_missing=*/true);
  if (!engine) return 1;
  access::KeyStore keys(engine->store());
  if (Status loaded = keys.Load(); !loaded.ok()) return ReportError(global, loaded);
  access::ApiKey key;
  key.name = flags.name;
  for (const std::string& name : flags.scopes) {
    auto scope = access::ParseScope(name);
    if (!scope) {
      return ReportError(global, InvalidArgument("--scope '{}': expected admin, write, read, "
                                                 "segments or decide",
                                                 name));
    }
    key.scopes.push_back(*scope);
  }
  key.is_public = flags.is_public;
  key.origins = flags.origins;
  key.rate_per_second = flags.rate;
  auto created = keys.Create(key);
  if (!created.ok()) return ReportError(global, created.status());
  const std::string id = created->substr(3, created->find('_', 3) - 3);
  if (global.json) {
    JsonWriter json;
    json.BeginObject().Key("id").String(id).Key("key").String(*created).EndObject();
    std::printf("%s\n", json.str().c_str());
  } else {
    std::printf("created key %s (%s); shown once, keep it:\n%s\n", id.c_str(), flags.name.c_str(),
                created->c_str());
  }
  return 0;
}

int RunKeysList(const GlobalOptions& global) {
  auto engine = OpenEngine(global, /*create_if_missing=*/false);
  if (!engine) return 1;
  access::KeyStore keys(engine->store());
  if (Status loaded = keys.Load(); !loaded.ok()) return ReportError(global, loaded);
  JsonWriter json;
  json.BeginObject().Key("keys").BeginArray();
  for (const access::ApiKey& key : keys.List()) {
    access::WriteApiKey(json, key);
    std::string scopes;
    for (access::Scope scope : key.scopes) {
      scopes += (scopes.empty() ? "" : ",") + std::string(access::ScopeName(scope));
    }
    if (!global.json) {
      std::printf("%s  %-16s %-24s%s%s\n", key.id.c_str(), key.name.c_str(), scopes.c_str(),
                  key.is_public ? " public" : "", key.revoked ? " REVOKED" : "");
    }
  }
  json.EndArray().EndObject();
  if (global.json) std::printf("%s\n", json.str().c_str());
  return 0;
}

int RunKeysRevoke(const GlobalOptions& global, const std::string& id) {
  auto engine = OpenEngine(global, /*create_if_missing=*/false);
  if (!engine) return 1;
  access::KeyStore keys(engine->store());
  if (Status loaded = keys.Load(); !loaded.ok()) return ReportError(global, loaded);
  if (Status revoked = keys.Revoke(id); !revoked.ok()) return ReportError(global, revoked);
  if (!global.json) std::printf("revoked key %s\n", id.c_str());
  if (global.json) std::printf("{\"revoked\":\"%s\"}\n", id.c_str());
  return 0;
}

}  // namespace

void RegisterServe(CLI::App& app, GlobalOptions& global, int& exit_code) {
  auto flags = std::make_shared<ServeFlags>();
  CLI::App* serve = app.add_subcommand("serve", "run the HTTP API server (docs/api.md)");
  serve->add_option("--listen", flags->listen, "host:port (port 0: any free port)")
      ->capture_default_str();
  serve->add_option("--port-file", flags->port_file, "write the bound port here once listening");
  serve->add_option("--threads", flags->threads, "io threads (0: one per core)");
  serve->add_option("--write-threads", flags->write_threads,
                    "threads writes run on, waiting for the commit they share (0: 16, or twice "
                    "the cores if more)");
  serve->add_option("--now", flags->now, "pin the clock for segment windows (demos, tests)");
  serve
      ->add_option("--evaluate-every", flags->evaluate_every,
                   "seconds between full segment evaluations (0: never)")
      ->capture_default_str();
  serve
      ->add_option("--rfm-every", flags->rfm_every,
                   "seconds between RFM re-scorings written as traits and the rfm scheme (0: "
                   "only on POST /v1/analytics/rfm)")
      ->capture_default_str();
  serve
      ->add_option("--recommender-every", flags->recommender_every,
                   "at most this many seconds between recommender trainings when data changed "
                   "(0: only on POST /v1/recommendations/train)")
      ->capture_default_str();
  serve
      ->add_option("--read-timeout", flags->read_timeout, "seconds before a slow client is dropped")
      ->capture_default_str();
  serve->add_option("--allow-event-type", flags->allowed_event_types,
                    "accept only these event types (repeat; default: any)");
  serve->add_flag("--no-auth", flags->no_auth, "serve without API keys (local experiments only)");
  serve->add_option("--geoip-database", flags->geoip_database,
                    "MaxMind-format .mmdb (GeoIP2/GeoLite2 City or Country): locate events by IP");
  serve->add_flag("--trust-forwarded-for", flags->trust_forwarded_for,
                  "behind a reverse proxy: the client is the first X-Forwarded-For address");
  serve->add_option("--max-message-bytes", flags->max_message_bytes, "largest tracking message")
      ->capture_default_str();
  serve
      ->add_option("--max-batch-bytes", flags->max_batch_bytes,
                   "largest request body (a batch), after gzip")
      ->capture_default_str();
  serve->add_option("--max-streams", flags->max_streams, "concurrent change-feed waiters")
      ->capture_default_str();
  serve
      ->add_option("--memory-budget", flags->memory_budget,
                   "memory for profiles kept in memory and the store's cache, e.g. 2GiB "
                   "(default: a quarter of the machine's memory)")
      ->transform(CLI::AsSizeValue(false));
  serve->callback([&global, &exit_code, flags] { exit_code = RunServe(global, *flags); });

  auto key_flags = std::make_shared<KeyFlags>();
  CLI::App* keys = app.add_subcommand("keys", "API keys (while the server is stopped)");
  keys->require_subcommand(1);
  CLI::App* create = keys->add_subcommand("create", "create a key; prints it once");
  create->add_option("--name", key_flags->name, "what the key is for")->required();
  create->add_option("--scope", key_flags->scopes, "admin, write, read, segments, decide (repeat)")
      ->required();
  create->add_flag("--public", key_flags->is_public,
                   "a website key: may only send events, only from --origin");
  create->add_option("--origin", key_flags->origins, "allowed browser origin (repeat)");
  create->add_option("--rate", key_flags->rate, "requests per second (0: unlimited)");
  create->callback(
      [&global, &exit_code, key_flags] { exit_code = RunKeysCreate(global, *key_flags); });
  keys->add_subcommand("list", "list keys (never their secrets)")->callback([&global, &exit_code] {
    exit_code = RunKeysList(global);
  });
  CLI::App* revoke = keys->add_subcommand("revoke", "revoke a key by id");
  revoke->add_option("id", key_flags->revoke_id, "key id")->required();
  revoke->callback([&global, &exit_code, key_flags] {
    exit_code = RunKeysRevoke(global, key_flags->revoke_id);
  });
}

}  // namespace tailor::cli

// The HTTP/1.1 transport: Boost.Beast on Asio, one io_context per core, each run by its own
// thread, which runs every handler of the connections it accepted. Reads are handled on the io
// threads (handlers are short). Writes (and reads that may take long: Api::TakesLong) run on a pool
// of write threads: a write waits for its coalesced commit (Service::Write: the writes queued
// meanwhile share one commit and one sync), and while some wait others parse the requests that join
// the next commit, without holding up the reads; change-feed requests that wait (long polls,
// Server-Sent Events) get a thread of their own, and requests that evaluate segments over the whole
// store run on an evaluation thread, so that neither holds an io thread. SIGINT/SIGTERM: stop
// accepting, close idle connections, finish in-flight requests, flush the store.

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/version.hpp>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "tailor/server.h"

namespace tailor::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

class Session;

// Live sessions, so that shutdown can close the idle ones.
struct Registry {
  std::mutex mutex;
  std::set<std::weak_ptr<Session>, std::owner_less<std::weak_ptr<Session>>> sessions;
  std::atomic<bool> stopping{false};
  std::atomic<size_t> waiting_threads{0};
  // Segment and scheme writes, previews and overlaps evaluate over every profile (seconds on
  // millions): they run here, one at a time, never on an io thread.
  asio::thread_pool* evaluation_pool = nullptr;
  asio::thread_pool* write_pool = nullptr;
};

bool IsRead(const Request& request) {
  return request.method == "GET" || request.method == "OPTIONS" || request.method == "HEAD";
}

// Requests that evaluate segments over the whole store.
bool Evaluates(const Request& request) {
  if (IsRead(request)) return false;
  return request.target.starts_with("/v1/segments") || request.target.starts_with("/v1/schemes") ||
         request.target.starts_with("/v1/analytics");
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, Api& api, const ServerOptions& options, Registry& registry)
      : stream_(std::move(socket)), api_(api), options_(options), registry_(registry) {}

  void Start() {
    {
      std::lock_guard lock(registry_.mutex);
      registry_.sessions.insert(weak_from_this());
    }
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->Read(); });
  }

  // From shutdown: close now if waiting for a request; else after the current response.
  void CloseIfIdle() {
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
      if (!self->busy_) self->Close();
    });
  }

  ~Session() {
    std::lock_guard lock(registry_.mutex);
    registry_.sessions.erase(weak_from_this());
  }

 private:
  void Read() {
    if (registry_.stopping) return Close();
    busy_ = false;
    parser_.emplace();
    parser_->header_limit(16 * 1024);
    parser_->body_limit(options_.api.max_body_bytes);
    stream_.expires_after(options_.read_timeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code error, size_t) { self->OnRead(error); });
  }

  void OnRead(beast::error_code error) {
    if (error == http::error::end_of_stream || error == asio::error::operation_aborted ||
        error == beast::error::timeout) {
      return Close();
    }
    if (error == http::error::body_limit) {
      return Fail(413, fmt::format("{{\"error\":{{\"code\":\"RESOURCE_EXHAUSTED\",\"message\":"
                                   "\"the body is larger than {} bytes\"}}}}\n",
                                   options_.api.max_body_bytes));
    }
    if (error == http::error::header_limit) {
      return Fail(431,
                  "{\"error\":{\"code\":\"RESOURCE_EXHAUSTED\",\"message\":"
                  "\"request headers are too large\"}}\n");
    }
    if (error) {
      if (buffer_.size() == 0 && !parser_->got_some()) return Close();
      return Fail(400, fmt::format("{{\"error\":{{\"code\":\"INVALID_ARGUMENT\",\"message\":"
                                   "\"malformed HTTP request: {}\"}}}}\n",
                                   error.message()));
    }
    busy_ = true;
    http::request<http::string_body> message = parser_->release();
    Request request;
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    for (const auto& field : message) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      request.headers[std::move(name)] = std::string(field.value());
    }
    request.body = std::move(message.body());
    beast::error_code ignored;
    auto endpoint = stream_.socket().remote_endpoint(ignored);
    if (!ignored) request.remote = endpoint.address().to_string();
    keep_alive_ = message.keep_alive();
    stream_.expires_never();
    const bool may_wait = request.target.starts_with("/v1/changes/stream") ||
                          (request.target.starts_with("/v1/changes?") &&
                           request.target.find("wait_ms=") != std::string::npos);
    if (may_wait && registry_.waiting_threads >= options_.api.max_streams) {
      return Fail(503,
                  "{\"error\":{\"code\":\"UNAVAILABLE\",\"message\":"
                  "\"too many waiting change-feed requests\"}}\n");
    }
    if (may_wait) {
      // May wait: off the io threads.
      ++registry_.waiting_threads;
      std::thread([self = shared_from_this(), request = std::move(request)] {
        self->HandleBlocking(request);
        --self->registry_.waiting_threads;
      }).detach();
      return;
    }
    if (Evaluates(request) && registry_.evaluation_pool != nullptr) {
      // The guard keeps the io threads running until the answer is posted back.
      asio::post(*registry_.evaluation_pool,
                 [self = shared_from_this(), request = std::move(request),
                  guard = asio::make_work_guard(stream_.get_executor())] {
                   self->HandleBlocking(request);
                 });
      return;
    }
    // Reads that may take long (Api::TakesLong) go there too: on an io thread they would hold up
    // every other connection of that thread.
    if ((!IsRead(request) || api_.TakesLong(request)) && registry_.write_pool != nullptr) {
      asio::post(*registry_.write_pool, [self = shared_from_this(), request = std::move(request),
                                         guard = asio::make_work_guard(stream_.get_executor())] {
        self->HandleBlocking(request);
      });
      return;
    }
    Write(api_.Handle(request));
  }

  // Runs on its own thread; the socket has no pending operation meanwhile.
  void HandleBlocking(const Request& request) {
    Response response = api_.Handle(request);
    if (!response.stream) {
      asio::post(stream_.get_executor(),
                 [self = shared_from_this(), response = std::move(response)]() mutable {
                   self->Write(std::move(response));
                 });
      return;
    }
    std::string head =
        fmt::format("HTTP/1.1 {} OK\r\nServer: tailor\r\nContent-Type: {}\r\nConnection: close\r\n",
                    response.status, response.content_type);
    for (const auto& [name, value] : response.headers)
      head += fmt::format("{}: {}\r\n", name, value);
    head += "\r\n";
    tcp::socket& socket = stream_.socket();
    auto write = [&socket](std::string_view text) {
      beast::error_code error;
      asio::write(socket, asio::buffer(text.data(), text.size()), error);
      return !error;
    };
    if (write(head)) response.stream(write);
    asio::post(stream_.get_executor(), [self = shared_from_this()] { self->Close(); });
  }

  void Write(Response response) {
    auto message = std::make_shared<http::response<http::string_body>>();
    message->result(static_cast<http::status>(response.status));
    message->version(11);
    message->set(http::field::server, "tailor");
    if (!response.content_type.empty()) {
      message->set(http::field::content_type, response.content_type);
    }
    for (auto& [name, value] : response.headers) message->insert(name, value);
    message->body() = std::move(response.body);
    message->keep_alive(keep_alive_ && !registry_.stopping);
    message->prepare_payload();
    stream_.expires_after(options_.read_timeout);
    http::async_write(stream_, *message,
                      [self = shared_from_this(), message](beast::error_code error, size_t) {
                        if (error || !message->keep_alive()) return self->Close();
                        self->Read();
                      });
  }

  // A request that could not be parsed: answer and close (the stream is out of step).
  void Fail(int status, std::string body) {
    busy_ = true;
    keep_alive_ = false;
    Response response;
    response.status = status;
    response.body = std::move(body);
    Write(std::move(response));
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Api& api_;
  const ServerOptions& options_;
  Registry& registry_;
  bool keep_alive_ = true;
  bool busy_ = false;
};

Result<tcp::endpoint> ParseListen(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos)
    return InvalidArgument("--listen '{}': expected host:port", listen);
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  unsigned port = 0;
  for (char c : listen.substr(colon + 1)) {
    if (c < '0' || c > '9' || port > 65535)
      return InvalidArgument("--listen '{}': bad port", listen);
    port = port * 10 + static_cast<unsigned>(c - '0');
  }
  if (port > 65535 || colon + 1 == listen.size()) {
    return InvalidArgument("--listen '{}': bad port", listen);
  }
  beast::error_code error;
  auto address = asio::ip::make_address(host.empty() ? "0.0.0.0" : host, error);
  if (error) return InvalidArgument("--listen '{}': '{}' is not an IP address", listen, host);
  return tcp::endpoint(address, static_cast<uint16_t>(port));
}

}  // namespace

int DefaultWriteThreads() {
  // Measured on 2 cores (docs/benchmarks.md): 2 writers coalesce about 1 write per commit,
  // 16 about 10, for twice the events per second; 32 adds 5 %.
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::max(16, 2 * cores);
}

Status Serve(Service& service, access::KeyStore& keys, const ServerOptions& options,
             const std::function<void(uint16_t)>& on_ready) {
  TAILOR_ASSIGN_OR_RETURN(tcp::endpoint endpoint, ParseListen(options.listen));
  const int threads = options.threads > 0
                          ? options.threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  Api api(service, keys, options.api);
  // One io_context per io thread, each run by its thread alone: a connection's handlers all run
  // on the thread that accepted it, without strands and without waking another thread for
  // each completion (measured: docs/benchmarks.md, per-person reads).
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  for (int i = 0; i < threads; ++i) contexts.push_back(std::make_unique<asio::io_context>(1));
  using WorkGuard = asio::executor_work_guard<asio::io_context::executor_type>;
  std::vector<WorkGuard> keep_running;  // until shutdown: a context without connections waits
  for (auto& context : contexts) keep_running.push_back(asio::make_work_guard(*context));
  asio::io_context& io = *contexts[0];
  tcp::acceptor acceptor(io);
  beast::error_code error;
  acceptor.open(endpoint.protocol(), error);
  if (!error) acceptor.set_option(asio::socket_base::reuse_address(true), error);
  if (!error) acceptor.bind(endpoint, error);
  if (!error) acceptor.listen(asio::socket_base::max_listen_connections, error);
  if (error) return IoError("cannot listen on {}: {}", options.listen, error.message());
  const uint16_t port = acceptor.local_endpoint().port();

  Registry registry;
  size_t next_context = 0;  // connections go to the io threads in turn
  std::function<void()> accept = [&] {
    asio::io_context& context = *contexts[next_context++ % contexts.size()];
    acceptor.async_accept(context, [&](beast::error_code error, tcp::socket socket) {
      if (error) return;  // closed at shutdown
      socket.set_option(tcp::no_delay(true), error);
      std::make_shared<Session>(std::move(socket), api, options, registry)->Start();
      accept();
    });
  };
  accept();

  // Time passes for windowed segments; full evaluations now and then.
  std::mutex ticker_mutex;
  std::condition_variable ticker_wake;
  bool ticker_stop = false;
  std::thread ticker([&] {
    auto last_evaluation = std::chrono::steady_clock::now();
    auto last_rfm = std::chrono::steady_clock::now();
    std::unique_lock lock(ticker_mutex);
    while (!ticker_wake.wait_for(lock, std::chrono::seconds(1), [&] { return ticker_stop; })) {
      lock.unlock();
      auto advanced = service.AdvanceTime();
      if (!advanced.ok()) {
        std::fprintf(stderr, "tailor serve: window timers: %s\n",
                     advanced.status().ToString().c_str());
      }
      if (options.evaluate_every.count() > 0 &&
          std::chrono::steady_clock::now() - last_evaluation >= options.evaluate_every) {
        auto evaluated = service.EvaluateAll();
        if (!evaluated.ok()) {
          std::fprintf(stderr, "tailor serve: evaluation: %s\n",
                       evaluated.status().ToString().c_str());
        }
        last_evaluation = std::chrono::steady_clock::now();
      }
      if (options.rfm_every.count() > 0 &&
          std::chrono::steady_clock::now() - last_rfm >= options.rfm_every) {
        analytics::RfmOptions rfm;
        rfm.now = service.now();
        auto scored = service.RunRfm(rfm, /*materialize=*/true);
        if (!scored.ok()) {
          std::fprintf(stderr, "tailor serve: RFM: %s\n", scored.status().ToString().c_str());
        }
        last_rfm = std::chrono::steady_clock::now();
      }
      lock.lock();
    }
  });

  // The live snapshot refreshed in the background, so that previews (which accept a snapshot a
  // second old by default) find a fresh one instead of refreshing it themselves.
  std::thread refresher([&] {
    std::unique_lock lock(ticker_mutex);
    auto pause = std::chrono::milliseconds(250);
    while (!ticker_wake.wait_for(lock, pause, [&] { return ticker_stop; })) {
      lock.unlock();
      const auto start = std::chrono::steady_clock::now();
      Status refreshed = service.RefreshSnapshot();
      if (!refreshed.ok()) {
        std::fprintf(stderr, "tailor serve: snapshot refresh: %s\n", refreshed.ToString().c_str());
      }
      // At most half of a core: pause at least as long as the refresh took.
      pause = std::max(std::chrono::milliseconds(250),
                       std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - start));
      lock.lock();
    }
  });

  // Recommendations trained in the background: serving keeps the model it holds meanwhile. A
  // run under way when the server is asked to stop is cancelled, not waited for.
  std::atomic<bool> stop_training{false};
  RunControl training_control;
  training_control.cancel = &stop_training;
  std::thread trainer([&] {
    if (options.recommender_every.count() <= 0) return;
    std::unique_lock lock(ticker_mutex);
    auto pause = std::chrono::seconds(0);
    while (!ticker_wake.wait_for(lock, pause, [&] { return ticker_stop; })) {
      lock.unlock();
      if (service.RecommenderStale()) {
        auto trained = service.TrainRecommender(&training_control);
        if (!trained.ok() && trained.status().code() != StatusCode::kCancelled) {
          std::fprintf(stderr, "tailor serve: recommender training: %s\n",
                       trained.status().ToString().c_str());
        }
      }
      pause = options.recommender_every;
      lock.lock();
    }
  });

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](beast::error_code, int) {
    registry.stopping = true;
    stop_training = true;
    api.SetDraining();
    beast::error_code ignored;
    acceptor.close(ignored);
    std::vector<std::shared_ptr<Session>> live;
    {
      std::lock_guard lock(registry.mutex);
      for (const auto& weak : registry.sessions) {
        if (auto session = weak.lock()) live.push_back(std::move(session));
      }
    }
    for (auto& session : live) session->CloseIfIdle();
    for (WorkGuard& guard : keep_running) guard.reset();
  });

  if (!options.port_file.empty()) {
    const std::string temporary = options.port_file + ".tmp";
    {
      std::ofstream out(temporary);
      out << port << "\n";
    }
    std::rename(temporary.c_str(), options.port_file.c_str());  // readers never see half a file
  }
  if (on_ready) on_ready(port);

  asio::thread_pool evaluation_pool(1);
  registry.evaluation_pool = &evaluation_pool;
  asio::thread_pool write_pool(static_cast<size_t>(
      options.write_threads > 0 ? options.write_threads : DefaultWriteThreads()));
  registry.write_pool = &write_pool;
  std::vector<std::thread> workers;
  for (int i = 1; i < threads; ++i) workers.emplace_back([&, i] { contexts[i]->run(); });
  io.run();
  for (std::thread& worker : workers) worker.join();
  evaluation_pool.join();
  write_pool.join();
  {
    std::lock_guard lock(ticker_mutex);
    ticker_stop = true;
  }
  ticker_wake.notify_all();
  ticker.join();
  refresher.join();
  trainer.join();
  // Detached change-feed threads notice draining within a second.
  for (int i = 0; i < 50 && registry.waiting_threads > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return service.engine().Flush();
}

}  // namespace tailor::server

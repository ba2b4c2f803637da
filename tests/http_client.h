#pragma once

// A minimal blocking HTTP/1.1 client over one keep-alive loopback connection, for tests that
// talk to a real `tailor serve`.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>
#include <string>

namespace tailor::testing {

struct HttpReply {
  int status = 0;
  std::string body;
};

class HttpClient {
 public:
  explicit HttpClient(uint16_t port) : port_(port) {}
  ~HttpClient() { Disconnect(); }

  // Sends one request; nullopt when the connection fails (server gone).
  std::optional<HttpReply> Send(const std::string& method, const std::string& target,
                                const std::string& body = "", const std::string& key = "") {
    if (fd_ < 0 && !Connect()) return std::nullopt;
    std::string request = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    if (!key.empty()) request += "Authorization: Bearer " + key + "\r\n";
    request += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
               "\r\n\r\n" + body;
    if (!SendAll(request)) return Fail();
    std::string in;
    char buffer[16384];
    while (true) {
      const size_t head_end = in.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        size_t length = 0;
        const size_t at = in.find("Content-Length: ");
        if (at != std::string::npos && at < head_end) length = std::stoul(in.substr(at + 16));
        if (in.size() >= head_end + 4 + length) {
          HttpReply reply;
          reply.status = std::stoi(in.substr(9, 3));
          reply.body = in.substr(head_end + 4, length);
          if (in.find("Connection: close") < head_end) Disconnect();
          return reply;
        }
      }
      const ssize_t n = recv(fd_, buffer, sizeof(buffer), 0);
      if (n <= 0) return Fail();
      in.append(buffer, static_cast<size_t>(n));
    }
  }

 private:
  bool Connect() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port_);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
      Disconnect();
      return false;
    }
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return true;
  }
  bool SendAll(const std::string& text) {
    size_t sent = 0;
    while (sent < text.size()) {
      const ssize_t n = send(fd_, text.data() + sent, text.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<size_t>(n);
    }
    return true;
  }
  std::optional<HttpReply> Fail() {
    Disconnect();
    return std::nullopt;
  }
  void Disconnect() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }
  uint16_t port_;
  int fd_ = -1;
};

}  // namespace tailor::testing

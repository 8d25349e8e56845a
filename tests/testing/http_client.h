// A raw HTTP client for tests: sends exactly the bytes a test writes to a
// loopback port and reads the answer until the server closes, so tests can
// speak malformed, slow or partial HTTP to common/http's server.
#ifndef PYSERVICE_TESTS_TESTING_HTTP_CLIENT_H_
#define PYSERVICE_TESTS_TESTING_HTTP_CLIENT_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace pyservice::testing {

// How long any read here waits before failing the test: a guard against a
// hang, not a performance threshold.
inline constexpr absl::Duration kHttpHangGuard = absl::Seconds(60);

// An open TCP connection to 127.0.0.1:port; closes on destruction.
class HttpConnection {
 public:
  static absl::StatusOr<HttpConnection> Open(int port) {
    HttpConnection connection(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr = {};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(connection.fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      return absl::UnavailableError(absl::StrCat("connect to 127.0.0.1:", port, " failed"));
    }
    return connection;
  }
  HttpConnection(HttpConnection&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  HttpConnection& operator=(HttpConnection&&) = delete;
  ~HttpConnection() {
    if (fd_ >= 0) close(fd_);
  }

  bool Send(absl::string_view data) {
    while (!data.empty()) {
      const ssize_t sent = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (sent <= 0) return false;
      data.remove_prefix(static_cast<size_t>(sent));
    }
    return true;
  }

  // Reads until `text` has arrived (true) or the server closes or the hang
  // guard passes (false). Everything read so far is in received().
  bool ReadUntil(absl::string_view text) {
    const absl::Time deadline = absl::Now() + kHttpHangGuard;
    while (!absl::StrContains(received_, text)) {
      if (!ReadSome(deadline)) return false;
    }
    return true;
  }

  // Reads until the server closes the connection; false on the hang guard.
  bool ReadToEnd() {
    const absl::Time deadline = absl::Now() + kHttpHangGuard;
    while (true) {
      pollfd fd = {fd_, POLLIN, 0};
      const int wait = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
      if (wait <= 0 || poll(&fd, 1, wait) <= 0) return false;
      char buffer[4096];
      const ssize_t got = recv(fd_, buffer, sizeof(buffer), 0);
      if (got <= 0) return true;  // closed (or reset after the answer)
      received_.append(buffer, static_cast<size_t>(got));
    }
  }

  const std::string& received() const { return received_; }

 private:
  explicit HttpConnection(int fd) : fd_(fd) {}

  bool ReadSome(absl::Time deadline) {
    pollfd fd = {fd_, POLLIN, 0};
    const int wait = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    if (wait <= 0 || poll(&fd, 1, wait) <= 0) return false;
    char buffer[4096];
    const ssize_t got = recv(fd_, buffer, sizeof(buffer), 0);
    if (got <= 0) return false;
    received_.append(buffer, static_cast<size_t>(got));
    return true;
  }

  int fd_;
  std::string received_;
};

struct HttpAnswer {
  int status = 0;
  absl::flat_hash_map<std::string, std::string> headers;  // lower-cased names
  std::string body;
};

// Splits a whole answer (status line, headers, body up to the close).
inline absl::StatusOr<HttpAnswer> ParseHttpAnswer(absl::string_view raw) {
  const size_t end = raw.find("\r\n\r\n");
  if (end == absl::string_view::npos) {
    return absl::DataLossError(absl::StrCat("no complete head in: ", raw));
  }
  std::vector<absl::string_view> lines = absl::StrSplit(raw.substr(0, end), "\r\n");
  std::vector<absl::string_view> status_line = absl::StrSplit(lines[0], absl::MaxSplits(' ', 2));
  HttpAnswer answer;
  if (status_line.size() < 2 || !absl::SimpleAtoi(status_line[1], &answer.status)) {
    return absl::DataLossError(absl::StrCat("bad status line: ", lines[0]));
  }
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t colon = lines[i].find(':');
    if (colon == absl::string_view::npos) continue;
    answer.headers[absl::AsciiStrToLower(lines[i].substr(0, colon))] =
        std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1)));
  }
  answer.body = std::string(raw.substr(end + 4));
  return answer;
}

// Sends `request` as is and returns the parsed answer.
inline absl::StatusOr<HttpAnswer> HttpExchange(int port, absl::string_view request) {
  absl::StatusOr<HttpConnection> connection = HttpConnection::Open(port);
  if (!connection.ok()) return connection.status();
  if (!connection->Send(request)) return absl::UnavailableError("send failed");
  if (!connection->ReadToEnd()) {
    return absl::DeadlineExceededError(
        absl::StrCat("no complete answer; got: ", connection->received()));
  }
  return ParseHttpAnswer(connection->received());
}

inline absl::StatusOr<HttpAnswer> HttpGet(int port, absl::string_view path) {
  // Connection: close, or a keep-alive server (Prometheus) never ends the
  // answer.
  return HttpExchange(port, absl::StrCat("GET ", path,
                                         " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                         "Connection: close\r\n\r\n"));
}

}  // namespace pyservice::testing

#endif  // PYSERVICE_TESTS_TESTING_HTTP_CLIENT_H_

#include "agent/health/http_check.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace pyservice::agent {
namespace {

struct Url {
  std::string host;
  std::string port = "80";
  std::string path = "/";
};

absl::StatusOr<Url> ParseHttpUrl(const std::string& url) {
  if (!absl::StartsWith(url, "http://")) {
    return absl::InvalidArgumentError(absl::StrCat("health URL must be http://: ", url));
  }
  Url parsed;
  std::string rest = url.substr(7);
  const size_t slash = rest.find('/');
  if (slash != std::string::npos) {
    parsed.path = rest.substr(slash);
    rest = rest.substr(0, slash);
  }
  // [::1]:8000, 127.0.0.1:8000, localhost
  if (!rest.empty() && rest[0] == '[') {
    const size_t close = rest.find(']');
    if (close == std::string::npos) return absl::InvalidArgumentError("bad IPv6 host in " + url);
    parsed.host = rest.substr(1, close - 1);
    if (close + 1 < rest.size() && rest[close + 1] == ':') parsed.port = rest.substr(close + 2);
  } else if (const size_t colon = rest.rfind(':'); colon != std::string::npos) {
    parsed.host = rest.substr(0, colon);
    parsed.port = rest.substr(colon + 1);
  } else {
    parsed.host = rest;
  }
  return parsed;
}

// Waits until `fd` is ready for `events` or the deadline passes.
bool WaitFor(int fd, short events, absl::Time deadline) {
  while (true) {
    const int64_t left = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (left <= 0) return false;
    pollfd p = {fd, events, 0};
    const int n = poll(&p, 1, static_cast<int>(left));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return false;
  }
}

}  // namespace

absl::Status CheckHttp(const std::string& url, absl::Duration timeout) {
  absl::StatusOr<Url> parsed = ParseHttpUrl(url);
  if (!parsed.ok()) return parsed.status();
  const absl::Time deadline = absl::Now() + timeout;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* addresses = nullptr;
  if (getaddrinfo(parsed->host.c_str(), parsed->port.c_str(), &hints, &addresses) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot resolve ", parsed->host));
  }
  std::string last_error = "no address";
  int fd = -1;
  for (addrinfo* a = addresses; a != nullptr && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    if (connect(fd, a->ai_addr, a->ai_addrlen) == 0 ||
        (errno == EINPROGRESS && WaitFor(fd, POLLOUT, deadline))) {
      int error = 0;
      socklen_t length = sizeof(error);
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
      if (error == 0) break;
      last_error = std::strerror(error);
    } else {
      last_error = errno == EINPROGRESS ? "timed out" : std::strerror(errno);
    }
    close(fd);
    fd = -1;
  }
  freeaddrinfo(addresses);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("GET ", url, ": ", last_error));

  const std::string request = absl::StrCat("GET ", parsed->path, " HTTP/1.0\r\nHost: ",
                                           parsed->host, "\r\nUser-Agent: pyservice-agent\r\n\r\n");
  size_t sent = 0;
  while (sent < request.size() && WaitFor(fd, POLLOUT, deadline)) {
    const ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  std::string response;
  char buffer[1024];
  // The status line is all we need.
  while (response.find("\r\n") == std::string::npos && response.size() < 4096 &&
         WaitFor(fd, POLLIN, deadline)) {
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) break;
    response.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  const std::string status_line = response.substr(0, response.find("\r\n"));
  // "HTTP/1.x NNN Reason"
  int code = 0;
  if (status_line.size() < 12 || !absl::StartsWith(status_line, "HTTP/") ||
      !absl::SimpleAtoi(status_line.substr(9, 3), &code)) {
    return absl::UnavailableError(absl::StrCat("GET ", url, ": no HTTP answer"));
  }
  if (code < 200 || code > 299) {
    return absl::FailedPreconditionError(absl::StrCat("GET ", url, ": ", status_line));
  }
  return absl::OkStatus();
}

}  // namespace pyservice::agent

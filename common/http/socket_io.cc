#include "common/http/socket_io.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/net/listen_address.h"
#include "common/status/status_macros.h"

namespace pyservice::http {
namespace {

constexpr int kBacklog = 64;

absl::Status BadListen(absl::string_view listen, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("bad listen address \"", listen, "\": ", why,
                                                 " (want HOST:PORT or [IPV6]:PORT)"));
}

int PollTimeoutMs(absl::Time deadline) {
  if (deadline == absl::InfiniteFuture()) return -1;
  const absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return 0;
  // Round up so a wait never returns just before its deadline and spins.
  return static_cast<int>(absl::ToInt64Milliseconds(left + absl::Milliseconds(1)));
}

}  // namespace

ScopedFd& ScopedFd::operator=(ScopedFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = other.Release();
  }
  return *this;
}

ScopedFd::~ScopedFd() {
  if (fd_ >= 0) close(fd_);
}

int ScopedFd::Release() {
  const int fd = fd_;
  fd_ = -1;
  return fd;
}

absl::StatusOr<Listener> Listen(absl::string_view listen) {
  ASSIGN_OR_RETURN(const ListenAddress address, ParseListenAddress(listen));
  if (address.kind != ListenAddress::Kind::kTcp) {
    return BadListen(listen, "HTTP listens on TCP only");
  }
  std::string host = address.host;
  std::string bare_host = host;
  if (absl::StartsWith(host, "[")) bare_host = host.substr(1, host.size() - 2);
  const int port = address.port;
  addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* results = nullptr;
  const std::string port_text = absl::StrCat(port);
  if (const int rc = getaddrinfo(bare_host.c_str(), port_text.c_str(), &hints, &results);
      rc != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", listen, ": ", gai_strerror(rc)));
  }
  std::string reason = "no address";
  Listener listener;
  for (addrinfo* ai = results; ai != nullptr; ai = ai->ai_next) {
    ScopedFd fd(socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                       ai->ai_protocol));
    if (fd.get() < 0) {
      reason = std::strerror(errno);
      continue;
    }
    // A restarted process must rebind while the old connections sit in
    // TIME_WAIT.
    const int one = 1;
    setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd.get(), kBacklog) != 0) {
      reason = std::strerror(errno);
      continue;
    }
    sockaddr_storage bound = {};
    socklen_t length = sizeof(bound);
    getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &length);
    listener.port = ntohs(bound.ss_family == AF_INET6
                              ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                              : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    listener.fd = std::move(fd);
    break;
  }
  freeaddrinfo(results);
  if (listener.fd.get() < 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", listen, ": ", reason));
  }
  listener.host = std::move(host);
  return listener;
}

Wait WaitFor(int fd, short events, int stop_fd, absl::Time deadline) {
  while (true) {
    pollfd fds[2] = {{fd, events, 0}, {stop_fd, POLLIN, 0}};
    const int rc = poll(fds, 2, PollTimeoutMs(deadline));
    if (rc < 0) {
      if (errno == EINTR) continue;
      return Wait::kHangup;
    }
    if (fds[1].revents != 0) return Wait::kStopped;
    if (rc == 0) {
      if (absl::Now() >= deadline) return Wait::kTimeout;
      continue;
    }
    // A peer that closed its side shows as readable (recv then returns 0),
    // so only errors are a hangup here.
    if (fds[0].revents & (POLLERR | POLLNVAL)) return Wait::kHangup;
    if ((fds[0].revents & POLLHUP) && !(fds[0].revents & POLLIN)) return Wait::kHangup;
    return Wait::kReady;
  }
}

bool WriteAll(int fd, absl::string_view data, int stop_fd, absl::Time deadline) {
  while (!data.empty()) {
    const ssize_t sent = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (sent > 0) {
      data.remove_prefix(static_cast<size_t>(sent));
      continue;
    }
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (WaitFor(fd, POLLOUT, stop_fd, deadline) != Wait::kReady) return false;
      continue;
    }
    return false;
  }
  return true;
}

}  // namespace pyservice::http

#include "common/net/listen_address.h"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace pyservice {
namespace {

constexpr absl::string_view kUnixPrefix = "unix:";

absl::Status BadAddress(absl::string_view text, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("bad listen address \"", text, "\": ", why,
                   " (want HOST:PORT, [IPV6]:PORT or unix:/absolute/path)"));
}

// Closes a descriptor on every path out of the probes below.
class ScopedFd {
 public:
  explicit ScopedFd(int fd) : fd_(fd) {}
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  ~ScopedFd() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

absl::StatusOr<sockaddr_un> UnixSockaddr(const std::string& path) {
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(
        absl::StrCat("unix socket path \"", path, "\" is too long (at most ",
                     sizeof(addr.sun_path) - 1, " bytes)"));
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  return addr;
}

std::string DiagnoseTcp(const ListenAddress& address) {
  std::string host = address.host;
  if (absl::StartsWith(host, "[") && absl::EndsWith(host, "]")) {
    host = host.substr(1, host.size() - 2);
  }
  addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* results = nullptr;
  const std::string port = absl::StrCat(address.port);
  if (const int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &results);
      rc != 0) {
    return gai_strerror(rc);
  }
  std::string reason;
  for (addrinfo* ai = results; ai != nullptr && reason.empty();
       ai = ai->ai_next) {
    ScopedFd fd(socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
                       ai->ai_protocol));
    if (fd.get() < 0) {
      reason = std::strerror(errno);
      break;
    }
    // gRPC sets SO_REUSEADDR too; without it a socket in TIME_WAIT would be
    // blamed for a failure it did not cause.
    const int one = 1;
    setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0) {
      reason = std::strerror(errno);
    }
  }
  freeaddrinfo(results);
  return reason;
}

std::string DiagnoseUnix(const ListenAddress& address) {
  absl::StatusOr<sockaddr_un> addr = UnixSockaddr(address.path);
  if (!addr.ok()) return std::string(addr.status().message());
  ScopedFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return std::strerror(errno);
  if (bind(fd.get(), reinterpret_cast<const sockaddr*>(&*addr),
           sizeof(*addr)) != 0) {
    return std::strerror(errno);
  }
  unlink(address.path.c_str());  // ours: the probe just created it
  return "";
}

}  // namespace

std::string ListenAddress::ToString() const {
  if (kind == Kind::kUnix) return absl::StrCat(kUnixPrefix, path);
  return absl::StrCat(host, ":", port);
}

ListenAddress ListenAddress::WithPort(int new_port) const {
  ListenAddress copy = *this;
  copy.port = new_port;
  return copy;
}

absl::StatusOr<ListenAddress> ParseListenAddress(absl::string_view text) {
  ListenAddress address;
  if (absl::StartsWith(text, kUnixPrefix)) {
    address.kind = ListenAddress::Kind::kUnix;
    address.path = std::string(text.substr(kUnixPrefix.size()));
    if (!absl::StartsWith(address.path, "/")) {
      return BadAddress(text, "a unix socket path must be absolute");
    }
    if (absl::StatusOr<sockaddr_un> addr = UnixSockaddr(address.path);
        !addr.ok()) {
      return BadAddress(text, addr.status().message());
    }
    return address;
  }
  const size_t colon = text.rfind(':');
  if (colon == absl::string_view::npos) return BadAddress(text, "no port");
  address.host = std::string(text.substr(0, colon));
  const absl::string_view port_text = text.substr(colon + 1);
  int port = 0;
  if (port_text.empty() ||
      port_text.find_first_not_of("0123456789") != absl::string_view::npos ||
      !absl::SimpleAtoi(port_text, &port) || port > 65535) {
    return BadAddress(text, "the port must be a number from 0 to 65535");
  }
  address.port = port;
  if (address.host.empty()) {
    return BadAddress(text,
                      "no host (use 0.0.0.0 or [::] for every interface)");
  }
  if (absl::StartsWith(address.host, "[") !=
      absl::EndsWith(address.host, "]")) {
    return BadAddress(text, "unbalanced brackets around the host");
  }
  if (!absl::StartsWith(address.host, "[") &&
      address.host.find(':') != std::string::npos) {
    return BadAddress(text, "an IPv6 host needs brackets, e.g. [::1]:7070");
  }
  return address;
}

absl::Status PrepareUnixSocketPath(const ListenAddress& address) {
  if (address.kind != ListenAddress::Kind::kUnix) return absl::OkStatus();
  const std::string& path = address.path;
  const std::filesystem::path parent =
      std::filesystem::path(path).parent_path();
  std::error_code error;
  std::filesystem::create_directories(parent, error);
  if (error) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create directory ", parent.string(), " for ",
                     address.ToString(), ": ", error.message()));
  }
  struct stat info;
  if (lstat(path.c_str(), &info) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot inspect ", path, ": ", std::strerror(errno)));
  }
  if (!S_ISSOCK(info.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot listen on ", address.ToString(), ": ", path,
        " exists and is not a socket"));
  }
  // A socket file outlives its server. Only a refused connection proves
  // nobody accepts on it any more.
  absl::StatusOr<sockaddr_un> addr = UnixSockaddr(path);
  if (!addr.ok()) return addr.status();
  ScopedFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) {
    return absl::InternalError(
        absl::StrCat("socket(AF_UNIX): ", std::strerror(errno)));
  }
  if (connect(fd.get(), reinterpret_cast<const sockaddr*>(&*addr),
              sizeof(*addr)) == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot listen on ", address.ToString(),
                     ": another server is listening there"));
  }
  if (errno != ECONNREFUSED) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot listen on ", address.ToString(),
                     ": probing the existing socket: ", std::strerror(errno)));
  }
  if (unlink(path.c_str()) != 0 && errno != ENOENT) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot remove stale socket ", path, ": ",
                     std::strerror(errno)));
  }
  return absl::OkStatus();
}

std::string DiagnoseBindFailure(const ListenAddress& address) {
  std::string reason = address.kind == ListenAddress::Kind::kUnix
                           ? DiagnoseUnix(address)
                           : DiagnoseTcp(address);
  if (reason.empty()) {
    // Our own bind worked: the port was freed meanwhile, or gRPC failed for
    // a reason of its own, which its log (above this line) states.
    return "gRPC could not bind it (see the gRPC log)";
  }
  return reason;
}

}  // namespace pyservice

// The socket plumbing under the HTTP server: binding the listener, and reads
// and writes that give up at a deadline or when the server stops.
//
// "Stops" is a pipe: Stop() writes one byte to it and nothing ever reads it,
// so its read end stays readable and every poll below that includes it
// returns at once, however many threads wait.
#ifndef PYSERVICE_COMMON_HTTP_SOCKET_IO_H_
#define PYSERVICE_COMMON_HTTP_SOCKET_IO_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace pyservice::http {

// Owns a file descriptor; closes it when destroyed.
class ScopedFd {
 public:
  ScopedFd() = default;
  explicit ScopedFd(int fd) : fd_(fd) {}
  ScopedFd(ScopedFd&& other) noexcept : fd_(other.Release()) {}
  ScopedFd& operator=(ScopedFd&& other) noexcept;
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  ~ScopedFd();

  int get() const { return fd_; }
  int Release();

 private:
  int fd_ = -1;
};

struct Listener {
  ScopedFd fd;      // non-blocking, listening
  std::string host;  // as written, brackets kept for IPv6
  int port = 0;      // the bound one
};

// Binds and listens on "HOST:PORT" / "[IPV6]:PORT". INVALID_ARGUMENT naming
// `listen` for a malformed one (the host is required: an empty one would
// silently mean every interface); UNAVAILABLE with the OS's reason when the
// bind fails.
absl::StatusOr<Listener> Listen(absl::string_view listen);

enum class Wait { kReady, kTimeout, kStopped, kHangup };

// Waits until `fd` has `events` (POLLIN/POLLOUT), `deadline` passes, or
// `stop_fd` becomes readable. kHangup when the peer closed or errored.
Wait WaitFor(int fd, short events, int stop_fd, absl::Time deadline);

// Writes all of `data` to the non-blocking `fd`; false when the peer is gone,
// `deadline` passes with bytes unsent, or the server stops.
bool WriteAll(int fd, absl::string_view data, int stop_fd, absl::Time deadline);

}  // namespace pyservice::http

#endif  // PYSERVICE_COMMON_HTTP_SOCKET_IO_H_

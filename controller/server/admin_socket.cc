#include "controller/server/admin_socket.h"

#include <grp.h>
#include <grpcpp/server_posix.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace pyservice::controller {

namespace {

std::string ErrnoMessage(int err) { return std::error_code(err, std::generic_category()).message(); }

absl::Status Failed(const std::string& path, absl::string_view what, int err) {
  return absl::FailedPreconditionError(
      absl::StrCat("admin socket ", path, ": ", what, ": ", ErrnoMessage(err)));
}

// Only a socket may be replaced: a typo must not delete a file.
absl::Status RemoveStaleSocket(const std::string& path) {
  struct stat info;
  if (lstat(path.c_str(), &info) != 0) {
    return errno == ENOENT ? absl::OkStatus() : Failed(path, "stat", errno);
  }
  if (!S_ISSOCK(info.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("admin socket ", path, ": exists and is not a socket"));
  }
  if (unlink(path.c_str()) != 0) return Failed(path, "remove stale socket", errno);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<AdminSocket>> AdminSocket::Start(const std::string& path,
                                                                 const std::string& group,
                                                                 grpc::Server& server,
                                                                 auth::LocalPeers& peers) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.empty() || path[0] != '/' || path.size() >= sizeof(address.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "admin socket \"", path, "\": must be an absolute path shorter than ",
        sizeof(address.sun_path), " bytes"));
  }
  gid_t gid = static_cast<gid_t>(-1);
  if (!group.empty()) {
    struct group entry;
    struct group* found = nullptr;
    char buffer[4096];
    if (getgrnam_r(group.c_str(), &entry, buffer, sizeof(buffer), &found) != 0 ||
        found == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat("admin socket group \"", group, "\": no such group"));
    }
    gid = found->gr_gid;
  }
  if (absl::Status removed = RemoveStaleSocket(path); !removed.ok()) return removed;
  std::memcpy(address.sun_path, path.data(), path.size());

  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Failed(path, "socket", errno);
  // The file gets its mode at bind(2) from the umask: make it private from
  // the first instant (a chmod afterwards would leave a window). umask is
  // process-wide; for this moment it can only make other new files
  // stricter, never looser.
  const mode_t previous_umask = umask(0177);
  const int bound = bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  const int bind_errno = errno;
  umask(previous_umask);
  if (bound != 0) {
    close(fd);
    return Failed(path, "bind", bind_errno);
  }
  if (!group.empty() && (chown(path.c_str(), static_cast<uid_t>(-1), gid) != 0 ||
                         chmod(path.c_str(), 0660) != 0)) {
    const int err = errno;
    close(fd);
    unlink(path.c_str());
    return Failed(path, absl::StrCat("give it to group ", group), err);
  }
  if (listen(fd, 64) != 0) {
    const int err = errno;
    close(fd);
    unlink(path.c_str());
    return Failed(path, "listen", err);
  }
  std::unique_ptr<AdminSocket> socket(new AdminSocket(path, fd, server, peers));
  socket->thread_ = std::thread([raw = socket.get()] { raw->AcceptLoop(); });
  return socket;
}

AdminSocket::AdminSocket(std::string path, int fd, grpc::Server& server, auth::LocalPeers& peers)
    : path_(std::move(path)), fd_(fd), server_(server), peers_(peers) {}

AdminSocket::~AdminSocket() { Stop(); }

void AdminSocket::AcceptLoop() {
  while (true) {
    // Non-blocking: gRPC polls the descriptors it is given and would block
    // a poller thread on a read otherwise.
    const int connection = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (connection < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE) {
        spdlog::warn("admin socket {}: accept: {}", path_, ErrnoMessage(errno));
        usleep(100 * 1000);
        continue;
      }
      return;  // shut down by Stop()
    }
    ucred credentials{};
    socklen_t length = sizeof(credentials);
    if (getsockopt(connection, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) {
      spdlog::warn("admin socket {}: cannot read the peer's credentials: {}", path_,
                   ErrnoMessage(errno));
      close(connection);
      continue;
    }
    // Recorded before gRPC owns the descriptor (local_peers.h).
    peers_.Remember(connection, {credentials.pid, credentials.uid, credentials.gid});
    grpc::AddInsecureChannelFromFd(&server_, connection);
  }
}

void AdminSocket::Stop() {
  if (stopped_) return;
  stopped_ = true;
  // Wakes the blocked accept4 with EINVAL.
  shutdown(fd_, SHUT_RDWR);
  if (thread_.joinable()) thread_.join();
  close(fd_);
  unlink(path_.c_str());
}

}  // namespace pyservice::controller

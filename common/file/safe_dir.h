// Directory-fd based file operations for a process running as root in trees
// other users own (the agent in /applications/APP/...).
//
// Threat: the app user (or a compromised app) owns directories the agent
// writes into; between the agent's check and its write it can replace a
// directory or a file with a symlink to /etc or /root, so that a path-based
// open/chown/chmod/unlink as root lands outside the app's tree.
//
// Defense: paths are walked one component at a time with
// openat(O_NOFOLLOW | O_DIRECTORY), and every operation is then made on the
// opened directory fd with a single name (openat, mkdirat, renameat,
// unlinkat, fchownat(AT_SYMLINK_NOFOLLOW)): a name swapped after the walk is
// never re-resolved through a symlink. A symlink met during the walk is
// followed only when it is trusted: owned by root (or by this process's
// own user) in a directory owned by root (or by it) that no one else may
// write to (or that is sticky), i.e. one only root could have put there
// (/var/run -> /run). Anything else refuses with FAILED_PRECONDITION naming
// the path. New files are written to a temporary
// name created O_EXCL|O_NOFOLLOW with mode 0600, chowned, chmodded, written
// and fsynced on the fd, and only then renamed into place.
#ifndef PYSERVICE_COMMON_FILE_SAFE_DIR_H_
#define PYSERVICE_COMMON_FILE_SAFE_DIR_H_

#include <sys/stat.h>
#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace pyservice {

// Owner for created files; nullopt keeps the creating process's.
struct Owner {
  uid_t uid;
  gid_t gid;
};

// The most a file read whole into memory may hold (repo files such as
// pyproject.toml, state files): a file that links to /dev/zero or is huge
// fails with a clear error instead of filling memory.
inline constexpr size_t kMaxReadBytes = size_t{16} << 20;

// An open directory. Operations take one entry name (no '/') and never
// follow a symlink at that name: it is replaced, removed or refused.
class Dir {
 public:
  // Opens directory `path` (absolute, or relative to the working
  // directory), walking each component without following untrusted
  // symlinks (see the top of this file).
  static absl::StatusOr<Dir> Open(const std::string& path);
  // Opens `path` like Open, creating each missing directory on the way with
  // `mode` and `owner` (chowned and chmodded on its fd before anything is
  // put in it). Existing directories are left as they are.
  static absl::StatusOr<Dir> OpenOrCreate(const std::string& path, mode_t mode,
                                          std::optional<Owner> owner);

  Dir(Dir&& other) noexcept;
  Dir& operator=(Dir&& other) noexcept;
  Dir(const Dir&) = delete;
  Dir& operator=(const Dir&) = delete;
  ~Dir();

  int fd() const { return fd_; }
  // The path it was opened as, for messages.
  const std::string& path() const { return path_; }

  // The directory `relative` below this one; every component must be a
  // real directory (symlinks are refused, trusted or not).
  absl::StatusOr<Dir> OpenBeneath(absl::string_view relative) const;

  // The names in this directory (not "." and ".."), unsorted.
  absl::StatusOr<std::vector<std::string>> List() const;

  // lstat of `name`; nullopt if it does not exist.
  absl::StatusOr<std::optional<struct stat>> Stat(absl::string_view name) const;

  // The content of regular file `name`, nullopt if it does not exist.
  // FAILED_PRECONDITION "PATH: not a regular file" for a symlink, device,
  // FIFO or directory; INVALID_ARGUMENT "PATH: larger than N MiB" beyond
  // `max_bytes`.
  absl::StatusOr<std::optional<std::string>> ReadFile(absl::string_view name,
                                                      size_t max_bytes = kMaxReadBytes) const;

  // Writes `content` to a temporary file beside `name` and renames it over
  // `name` (replacing a symlink there, never writing through it); fsyncs
  // the file and this directory.
  absl::Status WriteFile(absl::string_view name, absl::string_view content, mode_t mode,
                         std::optional<Owner> owner) const;

  // Creates directory `name` if missing, then sets mode and owner on its
  // O_NOFOLLOW fd. FAILED_PRECONDITION if `name` is anything but a
  // directory (a symlink included). Returns whether anything changed.
  absl::StatusOr<bool> EnsureDirectory(absl::string_view name, mode_t mode,
                                       std::optional<Owner> owner) const;

  // Makes `name` a symlink to `target` (symlinkat to a temporary name, then
  // renameat over `name`).
  absl::Status ReplaceSymlink(absl::string_view name, const std::string& target) const;
  // The target of symlink `name`; nullopt if it does not exist.
  absl::StatusOr<std::optional<std::string>> ReadSymlink(absl::string_view name) const;

  // Removes `name` (a file or symlink itself, or an empty directory); OK if
  // it does not exist.
  absl::Status Remove(absl::string_view name) const;
  // Removes `name` and, if it is a real directory, everything below it,
  // through fds: symlinks inside are removed, never followed. OK if missing.
  absl::Status RemoveTree(absl::string_view name) const;
  // chown -R of `name` through fds: symlinks themselves are chowned, never
  // followed; a regular file with more than one hard link is refused (it
  // could be a link to a file outside the tree).
  absl::Status ChownTree(absl::string_view name, Owner owner) const;

  // renameat(`from` here, `to` in `target`).
  absl::Status Rename(absl::string_view from, const Dir& target, absl::string_view to) const;

  absl::Status Sync() const;

 private:
  Dir(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  // Open/OpenOrCreate; when `all_root` is given, clears it if any
  // directory on the way could be changed by someone but root.
  static absl::StatusOr<Dir> Walk(const std::string& path, bool create, mode_t mode,
                                  std::optional<Owner> owner, bool* all_root = nullptr);
  friend absl::StatusOr<bool> OnlyRootCanChange(const std::string& path);
  std::string Join(absl::string_view name) const;

  int fd_ = -1;
  std::string path_;
};

// Whether only root can change what `path` names (a program the agent is
// about to run as root): the file and every directory on the way are
// root's and writable by no one else (sticky directories, where others
// cannot rename root's entries, count as root's), and every symlink on the
// way is a trusted one. false, not an error, when the walk meets an
// untrusted symlink; NOT_FOUND when the file does not exist.
absl::StatusOr<bool> OnlyRootCanChange(const std::string& path);

// Splits `path` into its directory and its last component ("/a/b" -> "/a",
// "b"; "b" -> ".", "b").
std::pair<std::string, std::string> SplitPath(const std::string& path);

}  // namespace pyservice

#endif  // PYSERVICE_COMMON_FILE_SAFE_DIR_H_

// File system operations with the guarantees a deploy tool needs: atomic
// replacement (a reader sees the old or the new file, never half of one),
// durability (fsync of the file and its directory before returning), and
// owner and mode set before the content becomes visible.
//
// Every function here goes through common/file/safe_dir.h: the path's
// directories are walked without following symlinks other users could have
// planted, and the last component is replaced, removed or refused, never
// followed. So they are safe for root in trees other users own (the app
// trees) as well as in root's own (unit files, the state dir). Code that
// does several things in one directory can use Dir directly.
#ifndef PYSERVICE_COMMON_FILE_FILE_OPS_H_
#define PYSERVICE_COMMON_FILE_FILE_OPS_H_

#include <sys/types.h>

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/file/safe_dir.h"

namespace pyservice {

// Writes `content` to a temporary file beside `path` (created 0600, then
// chowned and chmodded), fsyncs it, renames it over `path` and fsyncs the
// directory. The parent directory must exist.
absl::Status WriteFileAtomically(const std::string& path, absl::string_view content, mode_t mode,
                                 std::optional<Owner> owner);

// Creates `path` if missing (not its parents) and then sets its mode and
// owner, so a directory changed by hand is put back. Returns whether
// anything changed. FAILED_PRECONDITION if `path` is not a directory (a
// symlink to one included).
absl::StatusOr<bool> EnsureDirectory(const std::string& path, mode_t mode,
                                     std::optional<Owner> owner);

// Creates the directories missing on the way to `path` (and `path`), each
// with `mode` and `owner`; existing ones are left as they are. Returns
// whether it created any.
absl::StatusOr<bool> CreateMissingDirectories(const std::string& path, mode_t mode,
                                              std::optional<Owner> owner);

// Makes `path` a regular file with exactly this content, mode and owner,
// writing it (atomically) only when something differs. Returns whether it
// wrote.
absl::StatusOr<bool> EnsureFile(const std::string& path, absl::string_view content, mode_t mode,
                                std::optional<Owner> owner);

// The content of regular file `path`, or nullopt if it does not exist;
// FAILED_PRECONDITION if it is not a regular file (symlinks are not
// followed), INVALID_ARGUMENT beyond `max_bytes`.
absl::StatusOr<std::optional<std::string>> ReadFileIfExists(const std::string& path,
                                                            size_t max_bytes = kMaxReadBytes);

// Makes `link` a symlink to `target`, atomically replacing whatever symlink
// was there (symlink to a temporary name, then rename(2) over `link`).
absl::Status ReplaceSymlink(const std::string& link, const std::string& target);

// The target of symlink `link`, or nullopt if `link` does not exist.
absl::StatusOr<std::optional<std::string>> ReadSymlink(const std::string& link);

// Removes `path` and everything below it (symlinks removed, never
// followed); OK if it does not exist.
absl::Status RemoveTree(const std::string& path);

// Removes a file (a symlink itself); OK if it or its directory does not
// exist.
absl::Status RemoveFile(const std::string& path);

// chown -R without following symlinks (see Dir::ChownTree).
absl::Status ChownTree(const std::string& path, Owner owner);

}  // namespace pyservice

#endif  // PYSERVICE_COMMON_FILE_FILE_OPS_H_

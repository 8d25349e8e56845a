#include "controller/secrets/key_file.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status/status_macros.h"
#include "spdlog/spdlog.h"

namespace pyservice::controller {
namespace {

namespace fs = std::filesystem;

// strerror() is not thread-safe; the error_code message is.
std::string ErrnoMessage(int err) {
  return std::error_code(err, std::generic_category()).message();
}

absl::Status Failed(absl::string_view what, const std::string& path, int err) {
  return absl::FailedPreconditionError(
      absl::StrCat(what, " secrets key file ", path, ": ", ErrnoMessage(err)));
}

// `path` made absolute and normal, symlinks of its existing part resolved,
// without a trailing separator: comparable component by component.
fs::path Resolved(const std::string& path) {
  std::error_code ignored;
  fs::path resolved = fs::weakly_canonical(fs::absolute(path, ignored), ignored);
  if (resolved.filename().empty()) resolved = resolved.parent_path();
  return resolved;
}

absl::Status CheckOutsideDataDir(const std::string& path, const std::string& data_dir) {
  const fs::path key = Resolved(path);
  const fs::path data = Resolved(data_dir);
  if (std::mismatch(data.begin(), data.end(), key.begin(), key.end()).first != data.end()) {
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "secrets key file ", path, " is inside the data dir ", data_dir,
      ": a copy of the data dir would carry the key to its secrets; keep the key elsewhere "
      "(default ",
      kDefaultSecretsKeyFile, ")"));
}

// Creates the missing directories of `dir` like mkdir -p, each 0700: they
// lead to a key.
absl::Status MakePrivateDirs(const fs::path& dir) {
  if (dir.empty()) return absl::OkStatus();
  struct stat st;
  if (stat(dir.c_str(), &st) == 0) return absl::OkStatus();
  RETURN_IF_ERROR(MakePrivateDirs(dir.parent_path()));
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::FailedPreconditionError(
        absl::StrCat("create directory ", dir.string(), ": ", ErrnoMessage(errno)));
  }
  return absl::OkStatus();
}

absl::Status WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return absl::UnknownError(ErrnoMessage(errno));
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

// The key is written whole to a temporary file (created O_EXCL, 0600, by
// mkstemp) and synced, then link(2)ed to `path`: link never replaces a file,
// so a controller started twice at once cannot end up with two keys, and
// `path` never exists half written.
absl::Status CreateKeyFile(const std::string& path) {
  const fs::path parent = fs::path(path).parent_path();
  RETURN_IF_ERROR(MakePrivateDirs(parent));
  std::string key(kSecretsKeyBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), static_cast<int>(key.size())) != 1) {
    return absl::InternalError("OpenSSL's random generator failed");
  }
  std::string temp = absl::StrCat(path, ".XXXXXX");
  const int fd = mkostemp(temp.data(), O_CLOEXEC);
  if (fd < 0) return Failed("create", path, errno);
  absl::Status written =
      fchmod(fd, 0600) == 0 ? WriteAll(fd, key) : absl::UnknownError(ErrnoMessage(errno));
  if (written.ok() && fsync(fd) != 0) written = absl::UnknownError(ErrnoMessage(errno));
  close(fd);
  if (written.ok() && link(temp.c_str(), path.c_str()) != 0 && errno != EEXIST) {
    written = absl::UnknownError(ErrnoMessage(errno));
  }
  unlink(temp.c_str());
  if (!written.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("write secrets key file ", path, ": ", written.message()));
  }
  // The new name must survive a crash too.
  if (const int dir =
          open(parent.empty() ? "." : parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      dir >= 0) {
    fsync(dir);
    close(dir);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadKeyFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Failed("read", path, errno);
  struct stat st;
  absl::Status valid;
  if (fstat(fd, &st) != 0) {
    valid = Failed("stat", path, errno);
  } else if (!S_ISREG(st.st_mode)) {
    valid = absl::FailedPreconditionError(
        absl::StrCat("secrets key file ", path, " is not a regular file"));
  } else if ((st.st_mode & 077) != 0) {
    valid = absl::FailedPreconditionError(absl::StrFormat(
        "secrets key file %s is readable by group or others (mode %04o): chmod 600 %s", path,
        st.st_mode & 07777, path));
  } else if (st.st_size != static_cast<off_t>(kSecretsKeyBytes)) {
    // Never "delete it and start again": that would lose every stored spec.
    valid = absl::FailedPreconditionError(absl::StrCat(
        "secrets key file ", path, " has ", st.st_size, " bytes, not ", kSecretsKeyBytes,
        ": it is not a pyservice secrets key; restore the right file from its backup"));
  }
  std::string key(kSecretsKeyBytes, '\0');
  if (valid.ok()) {
    const ssize_t n = pread(fd, key.data(), key.size(), 0);
    if (n != static_cast<ssize_t>(key.size())) valid = Failed("read", path, n < 0 ? errno : EIO);
  }
  close(fd);
  if (!valid.ok()) return valid;
  return key;
}

}  // namespace

absl::StatusOr<SecretKeys> LoadOrCreateSecretsKey(const std::string& path,
                                                  const std::string& data_dir) {
  if (path.empty()) return absl::InvalidArgumentError("the secrets key file path is empty");
  RETURN_IF_ERROR(CheckOutsideDataDir(path, data_dir));
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) return Failed("stat", path, errno);
    RETURN_IF_ERROR(CreateKeyFile(path));
    spdlog::warn(
        "created the secrets key file {}: back it up now, apart from the data dir; without it "
        "no stored app spec can be read",
        path);
  }
  ASSIGN_OR_RETURN(const std::string master, ReadKeyFile(path));
  return DeriveSecretKeys(master);
}

}  // namespace pyservice::controller

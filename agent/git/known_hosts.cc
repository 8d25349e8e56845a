#include "agent/git/known_hosts.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "absl/base/const_init.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "common/file/read_file.h"
#include "common/status/status_macros.h"
#include "spdlog/spdlog.h"

namespace pyservice::agent {
namespace {

// One lock for every known_hosts file in the process: mirrors of different
// apps fetch concurrently and usually share one file. Appends are rare.
ABSL_CONST_INIT absl::Mutex file_mutex(absl::kConstInit);

constexpr size_t kMaxFileBytes = 4 << 20;

// The key type ("ssh-ed25519", …) is the first string of the wire format:
// a big-endian uint32 length and that many bytes.
absl::StatusOr<std::string> KeyType(absl::string_view blob) {
  if (blob.size() < 4) return absl::InvalidArgumentError("host key too short");
  const auto* bytes = reinterpret_cast<const unsigned char*>(blob.data());
  const size_t length = (size_t{bytes[0]} << 24) | (size_t{bytes[1]} << 16) |
                        (size_t{bytes[2]} << 8) | size_t{bytes[3]};
  if (length == 0 || length > 64 || 4 + length > blob.size()) {
    return absl::InvalidArgumentError("host key has no valid type");
  }
  const absl::string_view type = blob.substr(4, length);
  for (char c : type) {
    if (!absl::ascii_isgraph(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError("host key has no valid type");
    }
  }
  return std::string(type);
}

absl::Status AppendLine(const std::string& path, absl::string_view line) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  std::error_code error;
  if (!parent.empty()) std::filesystem::create_directories(parent, error);
  if (error) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create ", parent.string(), ": ", error.message()));
  }
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot write ", path, ": ", std::strerror(errno)));
  }
  size_t written = 0;
  while (written < line.size()) {
    const ssize_t n = write(fd, line.data() + written, line.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    written += static_cast<size_t>(n);
  }
  const bool ok = written == line.size() && fsync(fd) == 0;
  const int saved_errno = errno;
  close(fd);
  if (!ok) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot write ", path, ": ", std::strerror(saved_errno)));
  }
  return absl::OkStatus();
}

}  // namespace

std::string KnownHostsNameForUrl(absl::string_view url) {
  absl::string_view authority;
  if (absl::ConsumePrefix(&url, "ssh://")) {
    authority = url.substr(0, url.find('/'));
    const size_t at = authority.rfind('@');
    if (at != authority.npos) authority.remove_prefix(at + 1);
  } else if (absl::StrContains(url, "://")) {
    return "";
  } else {
    // scp-like [user@]host:path; the port is always 22.
    const size_t at = url.find('@');
    if (at != url.npos && at < url.find(':')) url.remove_prefix(at + 1);
    if (absl::StartsWith(url, "[")) {
      authority = url.substr(0, url.find(']') + 1);
    } else {
      const size_t colon = url.find(':');
      if (colon == url.npos) return "";
      authority = url.substr(0, colon);
    }
  }
  absl::string_view host = authority;
  absl::string_view port;
  if (absl::StartsWith(authority, "[")) {
    const size_t close = authority.find(']');
    if (close == authority.npos) return "";
    host = authority.substr(1, close - 1);
    absl::string_view rest = authority.substr(close + 1);
    if (absl::ConsumePrefix(&rest, ":")) port = rest;
  } else if (const size_t colon = authority.rfind(':'); colon != authority.npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return "";
  const std::string lower_host = absl::AsciiStrToLower(host);
  if (port.empty() || port == "22") return lower_host;
  return absl::StrCat("[", lower_host, "]:", port);
}

std::string HostKeyFingerprint(absl::string_view key_blob) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_length = 0;
  EVP_Digest(key_blob.data(), key_blob.size(), digest, &digest_length, EVP_sha256(),
             nullptr);
  std::string encoded = absl::Base64Escape(
      absl::string_view(reinterpret_cast<const char*>(digest), digest_length));
  while (!encoded.empty() && encoded.back() == '=') encoded.pop_back();
  return absl::StrCat("SHA256:", encoded);
}

absl::Status KnownHostsFile::Verify(absl::string_view name,
                                    absl::string_view key_blob) const {
  absl::StatusOr<std::string> type = KeyType(key_blob);
  if (!type.ok()) return type.status();
  const std::string encoded = absl::Base64Escape(key_blob);
  const std::string lower_name = absl::AsciiStrToLower(name);

  absl::MutexLock lock(&file_mutex);
  absl::StatusOr<std::string> content = ReadFileToString(path_, kMaxFileBytes);
  if (!content.ok() && !absl::IsNotFound(content.status())) return content.status();
  if (!content.ok()) content = std::string();

  // Hashed names ("|1|…") and markers ("@revoked", "@cert-authority") are
  // not written by us and not understood: such lines are skipped.
  std::vector<std::string> listed_fingerprints;
  for (absl::string_view line : absl::StrSplit(*content, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#' || line[0] == '@' || line[0] == '|') continue;
    const std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (fields.size() < 3) continue;
    bool names_match = false;
    for (absl::string_view listed : absl::StrSplit(fields[0], ',')) {
      if (absl::EqualsIgnoreCase(listed, lower_name)) names_match = true;
    }
    if (!names_match) continue;
    if (fields[1] == *type && fields[2] == encoded) return absl::OkStatus();
    std::string listed_blob;
    listed_fingerprints.push_back(absl::Base64Unescape(fields[2], &listed_blob)
                                      ? HostKeyFingerprint(listed_blob)
                                      : std::string(fields[2]));
  }
  if (!listed_fingerprints.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "ssh host key of ", name, " has changed: it presented ", *type, " ",
        HostKeyFingerprint(key_blob), " but ", path_, " lists ",
        absl::StrJoin(listed_fingerprints, ", "),
        "; if the server's key was replaced on purpose, delete the line for ", name,
        " from ", path_));
  }
  const std::string separator =
      (content->empty() || content->back() == '\n') ? "" : "\n";
  RETURN_IF_ERROR(AppendLine(
      path_, absl::StrCat(separator, lower_name, " ", *type, " ", encoded, "\n")));
  spdlog::info("git: remembered ssh host key {} {} of {} in {}", *type,
               HostKeyFingerprint(key_blob), std::string(name), path_);
  return absl::OkStatus();
}

}  // namespace pyservice::agent

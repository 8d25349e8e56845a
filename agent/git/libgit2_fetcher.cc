#include "agent/git/libgit2_fetcher.h"

#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <random>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "agent/git/known_hosts.h"
#include "agent/git/libgit2_callbacks.h"
#include "agent/git/libgit2_handles.h"
#include "agent/git/tree_writer.h"
#include "common/file/safe_dir.h"
#include "common/spec/validators.h"
#include "common/status/status_macros.h"
#include "common/text/url_credentials.h"
#include "spdlog/spdlog.h"

namespace pyservice::agent {
namespace {

using libgit2::CommitPtr;
using libgit2::LastErrorMessage;
using libgit2::ObjectPtr;
using libgit2::ReferencePtr;
using libgit2::RemotePtr;
using libgit2::RepositoryPtr;
using libgit2::TreePtr;

constexpr char kRemoteName[] = "origin";
constexpr char kHeadsRefspec[] = "+refs/heads/*:refs/heads/*";
constexpr char kTagsRefspec[] = "+refs/tags/*:refs/tags/*";
// git's own minimum for an abbreviated object id.
constexpr size_t kMinAbbreviation = 4;

bool IsHex(absl::string_view text) {
  for (char c : text) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return !text.empty();
}

bool IsFullCommitId(absl::string_view text) {
  return text.size() == GIT_OID_HEXSZ && IsHex(text);
}

std::string StripTrailingSlashes(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

std::string DefaultKnownHostsPath(const std::string& mirror_dir) {
  const std::filesystem::path parent =
      std::filesystem::path(StripTrailingSlashes(mirror_dir)).parent_path();
  return (parent / "known_hosts").string();
}

absl::Status WithPrefix(const absl::Status& status, absl::string_view prefix) {
  return absl::Status(status.code(), absl::StrCat(prefix, status.message()));
}

absl::StatusOr<RepositoryPtr> OpenMirror(const std::string& mirror_dir) {
  git_repository* repo = nullptr;
  const int rc = git_repository_open_bare(&repo, mirror_dir.c_str());
  if (rc == GIT_ENOTFOUND) {
    return absl::NotFoundError(absl::StrCat("no git mirror at ", mirror_dir));
  }
  if (rc < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot open the git mirror ", mirror_dir, ": ", LastErrorMessage()));
  }
  return RepositoryPtr(repo);
}

absl::StatusOr<RepositoryPtr> OpenOrCreateMirror(const std::string& mirror_dir) {
  absl::StatusOr<RepositoryPtr> existing = OpenMirror(mirror_dir);
  if (!absl::IsNotFound(existing.status())) return existing;
  git_repository_init_options options;
  git_repository_init_options_init(&options, GIT_REPOSITORY_INIT_OPTIONS_VERSION);
  options.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_MKPATH;
  git_repository* repo = nullptr;
  if (git_repository_init_ext(&repo, mirror_dir.c_str(), &options) < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create the git mirror ", mirror_dir, ": ", LastErrorMessage()));
  }
  spdlog::debug("git: created mirror {}", mirror_dir);
  return RepositoryPtr(repo);
}

// "origin" with the request's URL: created on first use, re-pointed when the
// app's repo changed (prune then drops the old remote's refs).
absl::StatusOr<RemotePtr> OriginRemote(git_repository& repo, const std::string& url) {
  git_remote* remote = nullptr;
  int rc = git_remote_lookup(&remote, &repo, kRemoteName);
  if (rc == GIT_ENOTFOUND) {
    rc = git_remote_create_with_fetchspec(&remote, &repo, kRemoteName, url.c_str(),
                                          kHeadsRefspec);
    if (rc == 0) rc = git_remote_add_fetch(&repo, kRemoteName, kTagsRefspec);
  } else if (rc == 0 && url != git_remote_url(remote)) {
    git_remote_free(remote);
    remote = nullptr;
    rc = git_remote_set_url(&repo, kRemoteName, url.c_str());
    if (rc == 0) rc = git_remote_lookup(&remote, &repo, kRemoteName);
  }
  RemotePtr owned(remote);
  if (rc < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot configure the mirror's remote: ", LastErrorMessage()));
  }
  return owned;
}

absl::Status FetchAll(git_remote& remote, libgit2::RemoteCallbackState& state) {
  git_fetch_options options;
  git_fetch_options_init(&options, GIT_FETCH_OPTIONS_VERSION);
  libgit2::SetRemoteCallbacks(state, options.callbacks);
  options.prune = GIT_FETCH_PRUNE;
  options.update_fetchhead = 0;
  // The tags refspec fetches every tag; no extra tag following.
  options.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
  // Like git: http.proxy from config, else the *_proxy environment.
  options.proxy_opts.type = GIT_PROXY_AUTO;
  // The refspecs are passed, not only configured, so a mirror created by an
  // older agent with other refspecs still fetches what we resolve against.
  char* refspecs[] = {const_cast<char*>(kHeadsRefspec), const_cast<char*>(kTagsRefspec)};
  const git_strarray refspec_array = {refspecs, 2};
  const int rc = git_remote_fetch(&remote, &refspec_array, &options, /*reflog_message=*/nullptr);
  if (rc >= 0) return absl::OkStatus();
  if (!state.refusal.ok()) return state.refusal;
  const std::string detail = LastErrorMessage();
  if (rc == GIT_EAUTH) {
    return absl::PermissionDeniedError(absl::StrCat("authentication failed: ", detail));
  }
  if (rc == GIT_ECERTIFICATE) {
    return absl::FailedPreconditionError(
        absl::StrCat("the server's certificate or host key was refused: ", detail));
  }
  // Everything else — DNS, refused connections, a missing repository on the
  // server, a dropped connection — is worth retrying.
  return absl::UnavailableError(absl::StrCat("cannot fetch: ", detail));
}

// refs/tags/REF or refs/heads/REF peeled to its commit; nullopt when the ref
// does not exist.
absl::StatusOr<std::optional<std::string>> ResolveRefName(git_repository& repo,
                                                          const std::string& full_name) {
  git_reference* raw = nullptr;
  const int rc = git_reference_lookup(&raw, &repo, full_name.c_str());
  if (rc == GIT_ENOTFOUND || rc == GIT_EINVALIDSPEC) return std::nullopt;
  if (rc < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read ", full_name, " in the mirror: ", LastErrorMessage()));
  }
  ReferencePtr reference(raw);
  git_object* peeled = nullptr;
  if (git_reference_peel(&peeled, reference.get(), GIT_OBJECT_COMMIT) < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(full_name, " does not point to a commit: ", LastErrorMessage()));
  }
  ObjectPtr commit(peeled);
  return libgit2::OidToHex(*git_object_id(commit.get()));
}

// A commit id or unique abbreviation among the mirror's objects (an id of an
// annotated tag object is peeled too); nullopt when nothing matches.
absl::StatusOr<std::optional<std::string>> ResolveObjectId(git_repository& repo,
                                                           const std::string& hex) {
  git_oid prefix;
  if (git_oid_fromstrn(&prefix, hex.data(), hex.size()) < 0) return std::nullopt;
  git_object* raw = nullptr;
  const int rc = git_object_lookup_prefix(&raw, &repo, &prefix, hex.size(), GIT_OBJECT_ANY);
  if (rc == GIT_ENOTFOUND) return std::nullopt;
  if (rc == GIT_EAMBIGUOUS) {
    return absl::InvalidArgumentError(
        absl::StrCat("the abbreviated commit id ", hex, " is ambiguous; give more digits"));
  }
  if (rc < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot look up ", hex, " in the mirror: ", LastErrorMessage()));
  }
  ObjectPtr object(raw);
  git_object* peeled = nullptr;
  if (git_object_peel(&peeled, object.get(), GIT_OBJECT_COMMIT) < 0) {
    return absl::NotFoundError(absl::StrCat(hex, " is not a commit"));
  }
  ObjectPtr commit(peeled);
  return libgit2::OidToHex(*git_object_id(commit.get()));
}

absl::StatusOr<std::string> Resolve(git_repository& repo, const std::string& ref) {
  for (const char* prefix : {"refs/tags/", "refs/heads/"}) {
    ASSIGN_OR_RETURN(std::optional<std::string> commit,
                     ResolveRefName(repo, absl::StrCat(prefix, ref)));
    if (commit.has_value()) return *std::move(commit);
  }
  if (IsHex(ref) && ref.size() >= kMinAbbreviation && ref.size() <= GIT_OID_HEXSZ) {
    ASSIGN_OR_RETURN(std::optional<std::string> commit, ResolveObjectId(repo, ref));
    if (commit.has_value()) return *std::move(commit);
  }
  return absl::NotFoundError("no tag, branch or commit of that name in the repository");
}

// A key file opened for libssh2: its /proc/self/fd path, valid while this
// lives.
struct KeyFile {
  KeyFile() = default;
  KeyFile(KeyFile&& other) noexcept : fd(other.fd), proc_path(std::move(other.proc_path)) {
    other.fd = -1;
  }
  KeyFile& operator=(KeyFile&& other) noexcept {
    std::swap(fd, other.fd);
    std::swap(proc_path, other.proc_path);
    return *this;
  }
  ~KeyFile() {
    if (fd >= 0) close(fd);
  }
  int fd = -1;
  std::string proc_path;
};

absl::StatusOr<KeyFile> OpenKeyFile(const std::string& path) {
  const auto failed = [&](absl::string_view why) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read the ssh key file ", path, ": ", why));
  };
  const auto [parent_path, name] = SplitPath(path);
  absl::StatusOr<Dir> parent = Dir::Open(parent_path);
  if (!parent.ok()) return failed(parent.status().message());
  KeyFile key;
  key.fd = openat(parent->fd(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (key.fd < 0) {
    return failed(errno == ELOOP ? "it is a symlink (not followed)" : std::strerror(errno));
  }
  struct stat info;
  if (fstat(key.fd, &info) != 0 || !S_ISREG(info.st_mode)) return failed("not a regular file");
  key.proc_path = absl::StrCat("/proc/self/fd/", key.fd);
  return key;
}

absl::StatusOr<std::string> FetchAndResolve(const FetchRequest& request,
                                            const Libgit2FetcherOptions& options,
                                            const std::string& display_url) {
  if (absl::Status valid = spec::ValidateRepoUrl(request.repo_url); !valid.ok()) {
    return WithPrefix(valid, "repo: ");
  }
  if (absl::Status valid = spec::ValidateGitRef(request.ref); !valid.ok()) {
    return WithPrefix(valid, "ref: ");
  }
  if (request.mirror_dir.empty()) return absl::InvalidArgumentError("no mirror directory");
  // The key sits in the app user's config dir, and libssh2 opens it by path
  // as root: open it here without following symlinks (the app user could
  // point it at root's own key) and hand libssh2 that very file through
  // /proc/self/fd. Opening first also gives the operator the real cause of a
  // missing key; libssh2's comes late and reads like a network error.
  KeyFile key;
  if (!request.ssh_key_path.empty()) {
    absl::StatusOr<KeyFile> opened = OpenKeyFile(request.ssh_key_path);
    if (!opened.ok()) return opened.status();
    key = *std::move(opened);
  }
  ASSIGN_OR_RETURN(RepositoryPtr repo, OpenOrCreateMirror(request.mirror_dir));

  if (IsFullCommitId(request.ref)) {
    absl::StatusOr<std::optional<std::string>> local = ResolveObjectId(*repo, request.ref);
    if (local.ok() && local->has_value()) {
      spdlog::debug("git: {} is already in {}; not fetching", request.ref, request.mirror_dir);
      return **std::move(local);
    }
  }

  ASSIGN_OR_RETURN(RemotePtr remote, OriginRemote(*repo, request.repo_url));
  libgit2::RemoteCallbackState state;
  state.display_url = display_url;
  state.ssh_key_path = key.proc_path;
  state.ssh_key_name = request.ssh_key_path;
  state.known_hosts_path = options.known_hosts_path.empty()
                               ? DefaultKnownHostsPath(request.mirror_dir)
                               : options.known_hosts_path;
  state.known_hosts_name = KnownHostsNameForUrl(request.repo_url);
  state.deadline = absl::Now() + options.fetch_timeout;
  RETURN_IF_ERROR(FetchAll(*remote, state));
  return Resolve(*repo, request.ref);
}

absl::Status ExportTo(const std::string& mirror_dir, const std::string& commit,
                      const std::string& dest) {
  if (!IsFullCommitId(commit)) {
    return absl::InvalidArgumentError("not a full 40-digit commit id");
  }
  if (dest.empty() || dest == "/") return absl::InvalidArgumentError("no destination directory");
  // dest's parent may be owned by the app user (APP_DIR/releases): every
  // step below works on its fd, never re-resolving the path.
  const auto [parent_path, dest_name] = SplitPath(dest);
  absl::StatusOr<Dir> opened = Dir::Open(parent_path);
  if (!opened.ok()) {
    // A missing parent is the caller's state to fix, like any other.
    return absl::FailedPreconditionError(opened.status().message());
  }
  const Dir parent = *std::move(opened);
  ASSIGN_OR_RETURN(std::optional<struct stat> existing, parent.Stat(dest_name));
  if (existing) return absl::AlreadyExistsError(absl::StrCat(dest, " already exists"));
  ASSIGN_OR_RETURN(RepositoryPtr repo, OpenMirror(mirror_dir));
  git_oid oid;
  git_oid_fromstrn(&oid, commit.data(), commit.size());
  git_commit* raw_commit = nullptr;
  if (git_commit_lookup(&raw_commit, repo.get(), &oid) < 0) {
    return absl::NotFoundError(
        absl::StrCat("the commit is not in the mirror ", mirror_dir, " (fetch it first)"));
  }
  CommitPtr commit_object(raw_commit);
  git_tree* raw_tree = nullptr;
  if (git_commit_tree(&raw_tree, commit_object.get()) < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read the commit's tree: ", LastErrorMessage()));
  }
  TreePtr tree(raw_tree);

  // Same parent as dest, so the final rename stays on one filesystem.
  std::random_device random;
  const std::string partial_name =
      absl::StrCat(dest_name, ".partial-", absl::Hex(random(), absl::kZeroPad8));
  const std::string partial = absl::StrCat(parent_path, "/", partial_name);
  if (mkdirat(parent.fd(), partial_name.c_str(), 0700) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot create a directory next to ", dest, ": ", std::strerror(errno)));
  }
  absl::Status status = parent.EnsureDirectory(partial_name, 0755, std::nullopt).status();
  absl::StatusOr<Dir> partial_dir = status.ok() ? parent.OpenBeneath(partial_name)
                                                : absl::StatusOr<Dir>(status);
  status = partial_dir.status();
  if (status.ok()) status = libgit2::WriteTree(*repo, *tree, *partial_dir);
  // A crash after the rename must not leave a release whose files are
  // still only in the page cache: the agent would trust it on restart.
  if (status.ok() && syncfs(partial_dir->fd()) != 0) {
    status = absl::FailedPreconditionError(
        absl::StrCat("cannot sync ", partial, ": ", std::strerror(errno)));
  }
  if (status.ok() && renameat2(parent.fd(), partial_name.c_str(), parent.fd(), dest_name.c_str(),
                               RENAME_NOREPLACE) != 0) {
    status = errno == EEXIST ? absl::AlreadyExistsError(absl::StrCat(dest, " already exists"))
                             : absl::FailedPreconditionError(absl::StrCat(
                                   "cannot rename ", partial, " to ", dest, ": ",
                                   std::strerror(errno)));
  }
  if (!status.ok()) parent.RemoveTree(partial_name).IgnoreError();
  return status;
}

}  // namespace

Libgit2Fetcher::Libgit2Fetcher(Libgit2FetcherOptions options) : options_(std::move(options)) {
  libgit2::EnsureInitialized();
}

absl::StatusOr<std::string> Libgit2Fetcher::Fetch(const FetchRequest& request) {
  const std::string display_url = text::RedactUrlCredentials(request.repo_url);
  absl::StatusOr<std::string> commit = FetchAndResolve(request, options_, display_url);
  if (!commit.ok()) {
    // libgit2's messages may quote the URL it was given, credentials and all.
    return absl::Status(commit.status().code(),
                        absl::StrCat("repo ", display_url, " ref ", request.ref, ": ",
                                     text::RedactUrlCredentialsIn(commit.status().message(),
                                                                  request.repo_url)));
  }
  spdlog::debug("git: {} {} is commit {}", display_url, request.ref, *commit);
  return commit;
}

absl::Status Libgit2Fetcher::Export(const std::string& mirror_dir, const std::string& commit,
                                    const std::string& dest_dir) {
  const std::string dest = StripTrailingSlashes(dest_dir);
  absl::Status status = ExportTo(mirror_dir, commit, dest);
  if (!status.ok()) {
    return WithPrefix(status, absl::StrCat("export of commit ", commit, " to ", dest, ": "));
  }
  spdlog::debug("git: exported {} to {}", commit, dest);
  return absl::OkStatus();
}

void SetHomeForLibgit2() {
  const auto is_directory = [](const char* path) {
    struct stat info;
    return path != nullptr && *path != '\0' && stat(path, &info) == 0 && S_ISDIR(info.st_mode);
  };
  if (is_directory(getenv("HOME"))) return;
  std::string home = "/";
  std::vector<char> buffer(16384);
  struct passwd entry;
  struct passwd* found = nullptr;
  if (getpwuid_r(geteuid(), &entry, buffer.data(), buffer.size(), &found) == 0 &&
      found != nullptr && is_directory(found->pw_dir)) {
    home = found->pw_dir;
  }
  setenv("HOME", home.c_str(), /*overwrite=*/1);
}

}  // namespace pyservice::agent

#include "agent/git/libgit2_handles.h"

#include "spdlog/spdlog.h"

namespace pyservice::agent::libgit2 {

void EnsureInitialized() {
  // A function-local static: C++ guarantees one initialisation even when
  // several threads race here. libgit2 is never shut down; the agent uses it
  // for its whole life.
  static const bool initialized = [] {
    if (git_libgit2_init() < 0) {
      spdlog::error("git: libgit2 initialisation failed: {}", LastErrorMessage());
      return false;
    }
    // Owner validation (git's safe.directory) protects a user from programs
    // named in the config of a repository someone else owns (core.fsmonitor,
    // hooks). libgit2 runs no such programs, and the agent (root) must read
    // file:// remotes owned by their maintainers, so it is turned off.
    git_libgit2_opts(GIT_OPT_SET_OWNER_VALIDATION, 0);
    return true;
  }();
  (void)initialized;
}

std::string LastErrorMessage() {
  const git_error* error = git_error_last();
  if (error == nullptr || error->message == nullptr) return "unknown libgit2 error";
  return error->message;
}

std::string OidToHex(const git_oid& oid) {
  char hex[GIT_OID_HEXSZ + 1];
  git_oid_tostr(hex, sizeof(hex), &oid);
  return hex;
}

}  // namespace pyservice::agent::libgit2

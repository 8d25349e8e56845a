#include "agent/host/shadow_user_manager.h"

#include <grp.h>
#include <pwd.h>

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"

namespace pyservice::agent {
namespace {

// getpwnam_r/getgrnam_r need a caller buffer; 16 KiB covers groups with
// many members, and ERANGE doubles it.
template <typename Entry, typename Lookup>
absl::StatusOr<bool> LookupEntry(const std::string& name, Entry& entry, std::vector<char>& buffer,
                                 Lookup lookup) {
  buffer.resize(16384);
  while (true) {
    Entry* result = nullptr;
    const int error = lookup(name.c_str(), &entry, buffer.data(), buffer.size(), &result);
    if (error == ERANGE && buffer.size() < (1u << 24)) {
      buffer.resize(buffer.size() * 2);
      continue;
    }
    if (error != 0 && error != ENOENT && error != ESRCH) {
      return absl::InternalError(absl::StrCat("looking up \"", name, "\": ", strerror(error)));
    }
    return result != nullptr;
  }
}

}  // namespace

absl::Status ShadowUserManager::RunTool(const std::vector<std::string>& argv) {
  ProcessOptions options;
  options.argv = argv;
  options.timeout = timeout_;
  absl::StatusOr<ProcessResult> result = runner_.Run(options);
  if (!result.ok()) return result.status();
  if (absl::Status interrupted = InterruptionStatus(*result, argv.front()); !interrupted.ok()) {
    return interrupted;
  }
  if (!result->Succeeded()) {
    return absl::InternalError(absl::StrCat(absl::StrJoin(argv, " "), ": ", result->Describe(),
                                            ": ", absl::StripTrailingAsciiWhitespace(result->stderr_text)));
  }
  return absl::OkStatus();
}

absl::Status ShadowUserManager::EnsureGroup(const std::string& group) {
  if (LookupGroup(group).ok()) return absl::OkStatus();
  return RunTool({"groupadd", "--system", group});
}

absl::Status ShadowUserManager::EnsureUser(const std::string& user, const std::string& primary_group,
                                           const std::string& home, const std::string& comment) {
  if (LookupUser(user).ok()) return absl::OkStatus();
  // --no-create-home: the pipeline creates the app tree with its own modes.
  return RunTool({"useradd", "--system", "--gid", primary_group, "--home-dir", home,
                  "--no-create-home", "--shell", "/usr/sbin/nologin", "--comment", comment, user});
}

absl::Status ShadowUserManager::EnsureMembership(const std::string& user, const std::string& group) {
  struct group entry;
  std::vector<char> buffer;
  absl::StatusOr<bool> found = LookupEntry(group, entry, buffer, getgrnam_r);
  if (!found.ok()) return found.status();
  if (!*found) return absl::NotFoundError(absl::StrCat("group \"", group, "\" does not exist"));
  for (char** member = entry.gr_mem; *member != nullptr; ++member) {
    if (user == *member) return absl::OkStatus();
  }
  return RunTool({"usermod", "--append", "--groups", group, user});
}

absl::StatusOr<uid_t> ShadowUserManager::LookupUser(const std::string& user) {
  struct passwd entry;
  std::vector<char> buffer;
  absl::StatusOr<bool> found = LookupEntry(user, entry, buffer, getpwnam_r);
  if (!found.ok()) return found.status();
  if (!*found) return absl::NotFoundError(absl::StrCat("user \"", user, "\" does not exist"));
  return entry.pw_uid;
}

absl::StatusOr<spec::HostUser> ShadowUserManager::DescribeUser(const std::string& user) {
  struct passwd entry;
  std::vector<char> buffer;
  absl::StatusOr<bool> found = LookupEntry(user, entry, buffer, getpwnam_r);
  if (!found.ok()) return found.status();
  if (!*found) return absl::NotFoundError(absl::StrCat("user \"", user, "\" does not exist"));
  return spec::HostUser{entry.pw_uid, entry.pw_gid, entry.pw_dir ? entry.pw_dir : "",
                        entry.pw_gecos ? entry.pw_gecos : ""};
}

absl::StatusOr<spec::HostGroup> ShadowUserManager::DescribeGroup(const std::string& group) {
  struct group entry;
  std::vector<char> buffer;
  absl::StatusOr<bool> found = LookupEntry(group, entry, buffer, getgrnam_r);
  if (!found.ok()) return found.status();
  if (!*found) return absl::NotFoundError(absl::StrCat("group \"", group, "\" does not exist"));
  spec::HostGroup described{entry.gr_gid, {}};
  for (char** member = entry.gr_mem; *member != nullptr; ++member) {
    described.members.emplace_back(*member);
  }
  return described;
}

absl::StatusOr<gid_t> ShadowUserManager::LookupGroup(const std::string& group) {
  struct group entry;
  std::vector<char> buffer;
  absl::StatusOr<bool> found = LookupEntry(group, entry, buffer, getgrnam_r);
  if (!found.ok()) return found.status();
  if (!*found) return absl::NotFoundError(absl::StrCat("group \"", group, "\" does not exist"));
  return entry.gr_gid;
}

}  // namespace pyservice::agent

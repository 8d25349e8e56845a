// System users and groups behind an interface: the real one runs shadow's
// groupadd/useradd/usermod as the role does; tests use a fake.
#ifndef PYSERVICE_AGENT_HOST_USER_MANAGER_H_
#define PYSERVICE_AGENT_HOST_USER_MANAGER_H_

#include <sys/types.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/spec/spec_policy.h"

namespace pyservice::agent {

struct Account {
  uid_t uid;
  gid_t gid;  // the user's primary group
};

class UserManager {
 public:
  virtual ~UserManager() = default;
  // Creates the group if missing (a system group).
  virtual absl::Status EnsureGroup(const std::string& group) = 0;
  // Creates the user if missing: a system user whose primary group is
  // `primary_group` (which must exist), home `home` (not created), comment
  // `comment`. An existing user is left as it is.
  virtual absl::Status EnsureUser(const std::string& user, const std::string& primary_group,
                                  const std::string& home, const std::string& comment) = 0;
  // Adds `user` to the supplementary `group` unless already a member.
  virtual absl::Status EnsureMembership(const std::string& user, const std::string& group) = 0;
  // NOT_FOUND when the user or group does not exist.
  virtual absl::StatusOr<uid_t> LookupUser(const std::string& user) = 0;
  virtual absl::StatusOr<gid_t> LookupGroup(const std::string& group) = 0;
  // What the spec policy checks of an existing account (ids, home, comment,
  // members); NOT_FOUND when it does not exist.
  virtual absl::StatusOr<spec::HostUser> DescribeUser(const std::string& user) = 0;
  virtual absl::StatusOr<spec::HostGroup> DescribeGroup(const std::string& group) = 0;
};

}  // namespace pyservice::agent

#endif  // PYSERVICE_AGENT_HOST_USER_MANAGER_H_

// UserManager over shadow's tools, the way the role creates users, with one
// fix from running the role on minimal hosts: the group is created
// explicitly, because useradd only creates a same-named group when
// /etc/login.defs says so, and minimal hosts may have no login.defs.
#ifndef PYSERVICE_AGENT_HOST_SHADOW_USER_MANAGER_H_
#define PYSERVICE_AGENT_HOST_SHADOW_USER_MANAGER_H_

#include "absl/time/time.h"
#include "agent/host/process_runner.h"
#include "agent/host/user_manager.h"

namespace pyservice::agent {

class ShadowUserManager final : public UserManager {
 public:
  // Each of groupadd/useradd/usermod is killed after `timeout` (agent
  // config timeouts.user).
  explicit ShadowUserManager(ProcessRunner& runner, absl::Duration timeout = absl::Minutes(1))
      : runner_(runner), timeout_(timeout) {}

  absl::Status EnsureGroup(const std::string& group) override;
  absl::Status EnsureUser(const std::string& user, const std::string& primary_group,
                          const std::string& home, const std::string& comment) override;
  absl::Status EnsureMembership(const std::string& user, const std::string& group) override;
  absl::StatusOr<uid_t> LookupUser(const std::string& user) override;
  absl::StatusOr<gid_t> LookupGroup(const std::string& group) override;
  absl::StatusOr<spec::HostUser> DescribeUser(const std::string& user) override;
  absl::StatusOr<spec::HostGroup> DescribeGroup(const std::string& group) override;

 private:
  absl::Status RunTool(const std::vector<std::string>& argv);

  ProcessRunner& runner_;
  const absl::Duration timeout_;
};

}  // namespace pyservice::agent

#endif  // PYSERVICE_AGENT_HOST_SHADOW_USER_MANAGER_H_

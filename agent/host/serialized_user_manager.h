// A UserManager that lets one call through at a time. The daemon deploys
// apps in parallel, and shadow's check-then-create (EnsureGroup looks the
// group up, then runs groupadd) races when two apps share a group or user:
// the loser's groupadd fails with "group already exists". Serialized, the
// second call finds what the first created.
#ifndef PYSERVICE_AGENT_HOST_SERIALIZED_USER_MANAGER_H_
#define PYSERVICE_AGENT_HOST_SERIALIZED_USER_MANAGER_H_

#include <string>

#include "absl/synchronization/mutex.h"
#include "agent/host/user_manager.h"

namespace pyservice::agent {

class SerializedUserManager final : public UserManager {
 public:
  explicit SerializedUserManager(UserManager& inner) : inner_(inner) {}

  absl::Status EnsureGroup(const std::string& group) override {
    absl::MutexLock lock(&mu_);
    return inner_.EnsureGroup(group);
  }
  absl::Status EnsureUser(const std::string& user, const std::string& primary_group,
                          const std::string& home, const std::string& comment) override {
    absl::MutexLock lock(&mu_);
    return inner_.EnsureUser(user, primary_group, home, comment);
  }
  absl::Status EnsureMembership(const std::string& user, const std::string& group) override {
    absl::MutexLock lock(&mu_);
    return inner_.EnsureMembership(user, group);
  }
  absl::StatusOr<uid_t> LookupUser(const std::string& user) override {
    absl::MutexLock lock(&mu_);
    return inner_.LookupUser(user);
  }
  absl::StatusOr<gid_t> LookupGroup(const std::string& group) override {
    absl::MutexLock lock(&mu_);
    return inner_.LookupGroup(group);
  }
  absl::StatusOr<spec::HostUser> DescribeUser(const std::string& user) override {
    absl::MutexLock lock(&mu_);
    return inner_.DescribeUser(user);
  }
  absl::StatusOr<spec::HostGroup> DescribeGroup(const std::string& group) override {
    absl::MutexLock lock(&mu_);
    return inner_.DescribeGroup(group);
  }

 private:
  UserManager& inner_;
  absl::Mutex mu_;
};

}  // namespace pyservice::agent

#endif  // PYSERVICE_AGENT_HOST_SERIALIZED_USER_MANAGER_H_

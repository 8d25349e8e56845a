// Users and groups in memory; every account maps to the test process's own
// uid/gid so files can really be chowned to "the app user" without root.
// What the spec policy sees (DescribeUser/DescribeGroup) is separate: the
// accounts it creates get system ids from 999 down, as useradd --system
// gives, with the home and comment they were created with; tests add the
// host's other accounts with AddUser/AddGroup. Safe to call from several
// threads.
#ifndef PYSERVICE_TESTS_TESTING_FAKE_USER_MANAGER_H_
#define PYSERVICE_TESTS_TESTING_FAKE_USER_MANAGER_H_

#include <unistd.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "agent/host/user_manager.h"

namespace pyservice::testing {

class FakeUserManager final : public agent::UserManager {
 public:
  absl::Status EnsureGroup(const std::string& group) override {
    absl::MutexLock lock(&mu_);
    if (groups_.insert(group).second) {
      created_.push_back("group " + group);
      described_groups_[group] = spec::HostGroup{next_system_id_--, {}};
    }
    return absl::OkStatus();
  }
  absl::Status EnsureUser(const std::string& user, const std::string& primary_group,
                          const std::string& home, const std::string& comment) override {
    absl::MutexLock lock(&mu_);
    if (!groups_.count(primary_group)) return absl::NotFoundError("no group " + primary_group);
    if (users_.insert(user).second) {
      created_.push_back(absl::StrCat("user ", user, " group=", primary_group, " home=", home,
                                      " comment=", comment));
      described_users_[user] = spec::HostUser{next_system_id_--, described_groups_[primary_group].gid,
                                              home, comment};
    }
    return absl::OkStatus();
  }
  absl::Status EnsureMembership(const std::string& user, const std::string& group) override {
    absl::MutexLock lock(&mu_);
    if (memberships_.insert(user + ":" + group).second) {
      created_.push_back("member " + user + ":" + group);
      described_groups_[group].members.push_back(user);
    }
    return absl::OkStatus();
  }
  absl::StatusOr<uid_t> LookupUser(const std::string& user) override {
    absl::MutexLock lock(&mu_);
    if (!users_.count(user)) return absl::NotFoundError(absl::StrCat("user \"", user, "\" does not exist"));
    return getuid();
  }
  absl::StatusOr<gid_t> LookupGroup(const std::string& group) override {
    absl::MutexLock lock(&mu_);
    if (!groups_.count(group)) return absl::NotFoundError(absl::StrCat("group \"", group, "\" does not exist"));
    return getgid();
  }

  absl::StatusOr<spec::HostUser> DescribeUser(const std::string& user) override {
    absl::MutexLock lock(&mu_);
    auto it = described_users_.find(user);
    if (it == described_users_.end()) return absl::NotFoundError(absl::StrCat("user \"", user, "\" does not exist"));
    return it->second;
  }
  absl::StatusOr<spec::HostGroup> DescribeGroup(const std::string& group) override {
    absl::MutexLock lock(&mu_);
    auto it = described_groups_.find(group);
    if (it == described_groups_.end()) return absl::NotFoundError(absl::StrCat("group \"", group, "\" does not exist"));
    return it->second;
  }

  // An account the host has already (not created by the agent).
  void AddUser(const std::string& user, spec::HostUser described) {
    absl::MutexLock lock(&mu_);
    users_.insert(user);
    described_users_[user] = std::move(described);
  }
  void AddGroup(const std::string& group, spec::HostGroup described) {
    absl::MutexLock lock(&mu_);
    groups_.insert(group);
    described_groups_[group] = std::move(described);
  }

  std::vector<std::string> created() const {
    absl::MutexLock lock(&mu_);
    return created_;
  }

 private:
  mutable absl::Mutex mu_;
  std::set<std::string> users_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> groups_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> memberships_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> created_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, spec::HostUser> described_users_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, spec::HostGroup> described_groups_ ABSL_GUARDED_BY(mu_);
  uint32_t next_system_id_ ABSL_GUARDED_BY(mu_) = 999;
};

}  // namespace pyservice::testing

#endif  // PYSERVICE_TESTS_TESTING_FAKE_USER_MANAGER_H_

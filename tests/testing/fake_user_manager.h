// Users and groups in memory; every account maps to the test process's own
// uid/gid so files can really be chowned to "the app user" without root.
// Safe to call from several threads.
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
    if (groups_.insert(group).second) created_.push_back("group " + group);
    return absl::OkStatus();
  }
  absl::Status EnsureUser(const std::string& user, const std::string& primary_group,
                          const std::string& home, const std::string& comment) override {
    absl::MutexLock lock(&mu_);
    if (!groups_.count(primary_group)) return absl::NotFoundError("no group " + primary_group);
    if (users_.insert(user).second) {
      created_.push_back(absl::StrCat("user ", user, " group=", primary_group, " home=", home,
                                      " comment=", comment));
    }
    return absl::OkStatus();
  }
  absl::Status EnsureMembership(const std::string& user, const std::string& group) override {
    absl::MutexLock lock(&mu_);
    if (memberships_.insert(user + ":" + group).second) created_.push_back("member " + user + ":" + group);
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
};

}  // namespace pyservice::testing

#endif  // PYSERVICE_TESTS_TESTING_FAKE_USER_MANAGER_H_

// user: the app's system user and group, as the role creates them.
// Reads: spec user, group, ensure_user, paths.app_root.
// Writes: /etc/passwd, /etc/group (through UserManager); Deploy::owner.
// With ensure_user: false it only checks that both exist.
#include "absl/strings/str_cat.h"
#include "agent/install/steps/steps.h"
#include "common/status/status_macros.h"

namespace pyservice::agent {
namespace {

class UserStep final : public Step {
 public:
  absl::string_view name() const override { return "user"; }

  absl::StatusOr<bool> Run(Deploy& deploy, HostServices& host, const AgentSettings&) override {
    const v1::AppSpec& spec = deploy.expanded;
    UserManager& users = host.users;
    const bool existed = users.LookupUser(spec.user()).ok() && users.LookupGroup(spec.group()).ok();
    if (spec.ensure_user()) {
      // The user's own group first (explicitly: see shadow_user_manager.h),
      // then the user, then membership of a distinct app group.
      RETURN_IF_ERROR(users.EnsureGroup(spec.user()));
      RETURN_IF_ERROR(users.EnsureUser(spec.user(), spec.user(), spec.paths().app_root(),
                                       absl::StrCat("User for ", spec.name(), " service")));
      if (spec.group() != spec.user()) {
        RETURN_IF_ERROR(users.EnsureGroup(spec.group()));
        RETURN_IF_ERROR(users.EnsureMembership(spec.user(), spec.group()));
      }
    }
    absl::StatusOr<uid_t> uid = users.LookupUser(spec.user());
    absl::StatusOr<gid_t> gid = users.LookupGroup(spec.group());
    if (!uid.ok() || !gid.ok()) {
      return absl::FailedPreconditionError(absl::StrCat(
          !uid.ok() ? uid.status().message() : gid.status().message(),
          spec.ensure_user() ? "" : " (ensure_user is false: create it first)"));
    }
    deploy.owner = Owner{*uid, *gid};
    if (!existed) deploy.notes.push_back(absl::StrCat("created user ", spec.user()));
    return !existed;
  }
};

}  // namespace

std::unique_ptr<Step> NewUserStep() { return std::make_unique<UserStep>(); }

}  // namespace pyservice::agent

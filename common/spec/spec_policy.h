// The spec policy: what an app spec may ask of a host. The agent acts on
// specs as root: it creates the spec's user and group, chowns the app's tree
// to them, writes files and units running the spec's commands as that user.
// So a spec must not name root or another account (its units would run with
// that account's rights), a privileged group, or paths outside its own tree
// (they would be created, chowned or overwritten). The same rules run twice:
// at apply on the controller (ParseAppSpec with a policy, which locates each
// violation in app.yaml) and on the host before any step (the agent, which
// also sees the host's accounts). Each end enforces its own admin's policy:
// the host's admin has the last word on the host.
#ifndef PYSERVICE_COMMON_SPEC_SPEC_POLICY_H_
#define PYSERVICE_COMMON_SPEC_SPEC_POLICY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "pyservice/v1/spec.pb.h"

namespace pyservice::spec {

// The admin's exceptions (`spec_policy:` in the controller's and the
// agent's config files): accounts an app may use although the rules refuse
// them, e.g. an existing service account for an `ensure_user: false` app.
struct SpecPolicy {
  std::vector<std::string> allow_users;
  std::vector<std::string> allow_groups;

  bool AllowsUser(absl::string_view user) const;
  bool AllowsGroup(absl::string_view group) const;
};

// One refused field: `message` completes "FIELD: ...".
struct PolicyViolation {
  std::string field;  // "user", "paths.app_dir", "files[0].dest"
  std::string message;
};

// The rules that need no host, for a normalized spec (defaults filled, as
// stored), templates unexpanded: every required field non-blank; every
// value valid again (validators.h, calendar.h), templated fields after
// expansion; no root, well-known system account or privileged group unless
// allowed; `ensure_user: false` only with an allowed user; every path of
// `paths:` and every `files:` dest inside the app root; the roots not
// system directories. Empty when the spec passes.
std::vector<PolicyViolation> CheckSpecPolicy(const v1::AppSpec& spec, const SpecPolicy& policy);

// What the host's account database says about the spec's user and group
// (nullopt: no such account).
struct HostUser {
  uint32_t uid = 0;
  uint32_t gid = 0;  // primary group
  std::string home;
  std::string comment;  // GECOS
};
struct HostGroup {
  uint32_t gid = 0;
  std::vector<std::string> members;  // supplementary members
};
struct HostAccounts {
  std::optional<HostUser> user;
  std::optional<HostGroup> group;
};

// The comment the agent gives the user it creates for an app, as the role
// does: with the home at the app root it marks the account as the app's own.
std::string AppUserComment(absl::string_view app);

// The host's rules, for the expanded spec: an existing user must be the one
// created for this app (AppUserComment, home at the app root; never uid 0
// or 65534) unless allowed; an existing group with gid < 1000 (or 0, 65534)
// must be that user's primary group or one it is a member of, unless
// allowed.
std::vector<PolicyViolation> CheckHostAccounts(const v1::AppSpec& expanded,
                                               const SpecPolicy& policy,
                                               const HostAccounts& host);

// INVALID_ARGUMENT "spec policy: FIELD: MESSAGE" (one per line), or OK.
absl::Status PolicyStatus(const std::vector<PolicyViolation>& violations);

}  // namespace pyservice::spec

#endif  // PYSERVICE_COMMON_SPEC_SPEC_POLICY_H_

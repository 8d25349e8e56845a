#include "agent/install/spec_policy_gate.h"

#include <optional>
#include <vector>

#include "common/spec/template.h"

namespace pyservice::agent {
namespace {

// The account, nullopt when the host has none of that name.
template <typename T>
absl::StatusOr<std::optional<T>> Existing(absl::StatusOr<T> described) {
  if (described.ok()) return std::optional<T>(*std::move(described));
  if (absl::IsNotFound(described.status())) return std::optional<T>();
  return described.status();
}

}  // namespace

absl::Status CheckSpecOnHost(const v1::AppSpec& spec, const spec::SpecPolicy& policy,
                             UserManager& users) {
  std::vector<spec::PolicyViolation> violations = spec::CheckSpecPolicy(spec, policy);
  if (!violations.empty()) return spec::PolicyStatus(violations);
  // The spec's rules passed, so it expands.
  absl::StatusOr<v1::AppSpec> expanded = spec::ExpandSpec(spec);
  if (!expanded.ok()) return expanded.status();
  spec::HostAccounts host;
  absl::StatusOr<std::optional<spec::HostUser>> user =
      Existing(users.DescribeUser(expanded->user()));
  if (!user.ok()) return user.status();
  absl::StatusOr<std::optional<spec::HostGroup>> group =
      Existing(users.DescribeGroup(expanded->group()));
  if (!group.ok()) return group.status();
  host.user = *std::move(user);
  host.group = *std::move(group);
  return spec::PolicyStatus(spec::CheckHostAccounts(*expanded, policy, host));
}

}  // namespace pyservice::agent

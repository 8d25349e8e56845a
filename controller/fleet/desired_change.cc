#include "controller/fleet/desired_change.h"

#include "absl/container/flat_hash_set.h"

namespace pyservice::controller::fleet {
namespace {

// Same revision and spec digest: the digest covers the whole spec, the
// targets included.
bool SameRevision(const DesiredRevision& a, const DesiredRevision& b) {
  return a.revision == b.revision && a.digest == b.digest &&
         (a.spec == nullptr) == (b.spec == nullptr);
}

// Adds the members of `a` that `b` lacks.
void AddMissing(const absl::flat_hash_set<std::string>& a,
                const absl::flat_hash_set<std::string>& b, std::vector<std::string>& out) {
  for (const std::string& host : a) {
    if (!b.contains(host)) out.push_back(host);
  }
}

}  // namespace

std::optional<std::vector<std::string>> HostsWithChangedWork(const DesiredApp* before,
                                                             const DesiredApp* after) {
  if (before == nullptr || after == nullptr) return std::nullopt;
  if (!SameRevision(*before, *after) || !SameRevision(before->from, after->from)) {
    return std::nullopt;
  }
  const rollout::Placement* old_placement = before->placement.get();
  const rollout::Placement* new_placement = after->placement.get();
  if (old_placement == nullptr && new_placement == nullptr) return std::vector<std::string>();
  // Without a placement every host runs the current revision: a rollout
  // that starts or ends moves every host not in a wave.
  if (old_placement == nullptr || new_placement == nullptr) return std::nullopt;
  if (old_placement->others_on_to != new_placement->others_on_to) return std::nullopt;
  std::vector<std::string> hosts;
  AddMissing(old_placement->on_to, new_placement->on_to, hosts);
  AddMissing(new_placement->on_to, old_placement->on_to, hosts);
  AddMissing(old_placement->prepare, new_placement->prepare, hosts);
  AddMissing(new_placement->prepare, old_placement->prepare, hosts);
  return hosts;
}

}  // namespace pyservice::controller::fleet

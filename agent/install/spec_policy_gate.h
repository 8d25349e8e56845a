// The spec policy on this host (common/spec/spec_policy.h): the pipeline
// asks it before any step, so a refused spec touches nothing on the host.
// Here the rules meet the host: an existing user or group is looked up to
// tell the app's own account from a system or someone else's one.
#ifndef PYSERVICE_AGENT_INSTALL_SPEC_POLICY_GATE_H_
#define PYSERVICE_AGENT_INSTALL_SPEC_POLICY_GATE_H_

#include "absl/status/status.h"
#include "agent/host/user_manager.h"
#include "common/spec/spec_policy.h"
#include "pyservice/v1/spec.pb.h"

namespace pyservice::agent {

// OK, or INVALID_ARGUMENT with one "spec policy: FIELD: MESSAGE" line per
// violation (spec::PolicyStatus); a failed account lookup is returned as is.
// Only looks accounts up: never creates or changes anything.
absl::Status CheckSpecOnHost(const v1::AppSpec& spec, const spec::SpecPolicy& policy,
                             UserManager& users);

}  // namespace pyservice::agent

#endif  // PYSERVICE_AGENT_INSTALL_SPEC_POLICY_GATE_H_

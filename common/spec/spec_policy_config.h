// The `spec_policy:` section of the controller's and the agent's config
// files: the admin's exceptions to the spec policy (spec_policy.h).
//   spec_policy:
//     allow_users: [postgres]      # accounts apps may run as anyway
//     allow_groups: [ssl-cert]     # groups apps may use anyway
#ifndef PYSERVICE_COMMON_SPEC_SPEC_POLICY_CONFIG_H_
#define PYSERVICE_COMMON_SPEC_SPEC_POLICY_CONFIG_H_

#include "common/spec/spec_policy.h"
#include "common/spec/yaml_reader.h"
#include "yaml-cpp/yaml.h"

namespace pyservice::spec {

// Reads the section at `node` (a mapping with the two optional lists of
// user or group names) into `policy`; problems go to `reader`, located.
void ReadSpecPolicy(const YAML::Node& node, YamlReader& reader, SpecPolicy& policy);

}  // namespace pyservice::spec

#endif  // PYSERVICE_COMMON_SPEC_SPEC_POLICY_CONFIG_H_

// One step of the install pipeline (pipeline.cc lists them in order).
//
// Contract for every step:
//  * idempotent: running it again after it succeeded changes nothing and
//    reports kUnchanged; after a crash halfway, running it again completes it;
//  * it compares inputs (content, modes, digests), never timestamps;
//  * it reads and writes only what its header comment says;
//  * errors name what failed; the runner prefixes the step's name;
//  * secrets (ssh_key, file contents) never appear in notes or errors.
#ifndef PYSERVICE_AGENT_INSTALL_STEP_H_
#define PYSERVICE_AGENT_INSTALL_STEP_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent/install/deploy.h"

namespace pyservice::agent {

class Step {
 public:
  virtual ~Step() = default;
  // Short, stable name: shown in progress and persisted in state.
  virtual absl::string_view name() const = 0;
  // Returns whether anything on the host changed.
  virtual absl::StatusOr<bool> Run(Deploy& deploy, HostServices& host,
                                   const AgentSettings& settings) = 0;
};

}  // namespace pyservice::agent

#endif  // PYSERVICE_AGENT_INSTALL_STEP_H_

// The pipeline's steps. Each .cc beside this header holds one, with its
// contract (what it reads, what it writes) at the top. pipeline.cc puts
// them in order.
#ifndef PYSERVICE_AGENT_INSTALL_STEPS_STEPS_H_
#define PYSERVICE_AGENT_INSTALL_STEPS_STEPS_H_

#include <memory>

#include "agent/install/step.h"

namespace pyservice::agent {

std::unique_ptr<Step> NewUserStep();
std::unique_ptr<Step> NewDirectoriesStep();
std::unique_ptr<Step> NewSshKeyStep();
std::unique_ptr<Step> NewCheckoutStep();
std::unique_ptr<Step> NewEnvironmentStep();
std::unique_ptr<Step> NewFilesStep();
std::unique_ptr<Step> NewConfigStep();
std::unique_ptr<Step> NewSwitchStep();
std::unique_ptr<Step> NewUnitsStep();
std::unique_ptr<Step> NewVerifyStep();

}  // namespace pyservice::agent

#endif  // PYSERVICE_AGENT_INSTALL_STEPS_STEPS_H_

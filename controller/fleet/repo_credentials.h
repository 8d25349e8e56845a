// Repo URL credentials in what agents report. Agents keep them out of their
// messages (common/text/url_credentials.h), but an agent from before that
// kept a token given as the URL's user, and did not scrub libgit2's own
// messages; whatever a host says is shown to every operator and logged, so
// the controller scrubs it again, with the credentials it knows.
#ifndef PYSERVICE_CONTROLLER_FLEET_REPO_CREDENTIALS_H_
#define PYSERVICE_CONTROLLER_FLEET_REPO_CREDENTIALS_H_

#include <optional>

#include "controller/fleet/host_view.h"
#include "pyservice/v1/agent.pb.h"

namespace pyservice::controller::fleet {

// `message` with the credentials of its app's repos (the desired revision's
// and, mid-rollout, the previous one's) replaced by "***" in its free text
// (step message, error, health message); nullopt when there is nothing to
// replace, the common case, so nothing is copied.
std::optional<v1::AgentMessage> RedactRepoCredentials(const DesiredSet& desired,
                                                      const v1::AgentMessage& message);

}  // namespace pyservice::controller::fleet

#endif  // PYSERVICE_CONTROLLER_FLEET_REPO_CREDENTIALS_H_

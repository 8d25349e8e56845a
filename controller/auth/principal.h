// Who is calling, as the authenticator established it: an operator (token,
// certificate or local root on the admin socket) or an agent (its host
// certificate). The two kinds never stand in for each other: the policy
// (policy.h) gives operator RPCs only to operators and agent RPCs only to
// agents.
#ifndef PYSERVICE_CONTROLLER_AUTH_PRINCIPAL_H_
#define PYSERVICE_CONTROLLER_AUTH_PRINCIPAL_H_

#include <map>
#include <string>
#include <vector>

#include "pyservice/v1/controller.pb.h"

namespace pyservice::controller::auth {

struct Principal {
  enum class Kind {
    // No credential at all: may only enroll (with an enrollment token).
    kAnonymous,
    kOperator,
    kAgent,
  };
  Kind kind = Kind::kAnonymous;
  // For people and logs: "token:ci-deploy", "unix-uid:0", "host:web-1".
  std::string name;
  // How it was established: "bearer token 3", "unix socket peer uid 0",
  // "agent certificate 5f…".
  std::string credential;

  // Operators: what they may do, and the app name patterns they are
  // limited to (empty: every app).
  v1::Role role = v1::ROLE_UNSPECIFIED;
  std::vector<std::string> apps;

  // Agents: the host the certificate names, and the labels bound when it
  // enrolled (`labels_bound`); without a certificate
  // (--insecure-agents) the host and labels are the Hello's to claim.
  std::string host;
  std::map<std::string, std::string> labels;
  bool labels_bound = false;
};

// "admin", "deployer", "viewer", "none".
const char* RoleName(v1::Role role);

}  // namespace pyservice::controller::auth

#endif  // PYSERVICE_CONTROLLER_AUTH_PRINCIPAL_H_

// The two certificate calls of AgentService (Enroll, RenewCertificate), each
// on a channel of its own: they happen once at the first start and then
// every few weeks, apart from the long-lived stream.
//
// With several controllers (on one etcd store, one leading) a call goes to
// the addresses in turn until one answers: a follower answers UNAVAILABLE
// "not the leader: the leader is ADDR", and when ADDR is one of the list it
// is asked next. Only UNAVAILABLE and DEADLINE_EXCEEDED move on; any other
// answer (a refused token above all) is the answer, so a single-use token
// is never handed to more controllers than it takes to find the leader.
#ifndef PYSERVICE_AGENT_ENROLL_ENROLLMENT_CALLS_H_
#define PYSERVICE_AGENT_ENROLL_ENROLLMENT_CALLS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/security/credentials.h"
#include "pyservice/v1/agent.pb.h"

namespace pyservice::agent {

struct ControllerEndpoint {
  // HOST:PORT or unix:PATH each; at least one.
  std::vector<std::string> addresses;
  // With TLS: verify the controller's certificate as this name instead of
  // the address's host. Empty: the address's host.
  std::string tls_server_name;
  // Deadline of each call.
  absl::Duration timeout = absl::Seconds(30);
};

// Enroll: the controller's status as it sent it (its message says why, e.g.
// "enrollment token already used"), prefixed with where it came from; when
// no address answered, UNAVAILABLE naming each one's answer.
// `credentials` are TLS without a client certificate.
absl::StatusOr<v1::EnrollResponse> CallEnroll(
    const ControllerEndpoint& controller,
    std::shared_ptr<grpc::ChannelCredentials> credentials,
    const std::string& token, const std::string& csr_pem);

// RenewCertificate, likewise; `credentials` carry the current certificate.
absl::StatusOr<v1::EnrollResponse> CallRenewCertificate(
    const ControllerEndpoint& controller,
    std::shared_ptr<grpc::ChannelCredentials> credentials,
    const std::string& csr_pem);

}  // namespace pyservice::agent

#endif  // PYSERVICE_AGENT_ENROLL_ENROLLMENT_CALLS_H_

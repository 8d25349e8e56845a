// pyctl's connection to the controller: dial, wait briefly for the
// connection, then unary calls with a deadline, their errors turned into
// absl statuses with messages an operator can act on.
#ifndef PYSERVICE_CLI_CLIENT_CONTROLLER_CLIENT_H_
#define PYSERVICE_CLI_CLIENT_CONTROLLER_CLIENT_H_

#include <functional>
#include <memory>
#include <string>

#include <grpcpp/channel.h>
#include <grpcpp/security/credentials.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/tls/credentials.h"
#include "google/protobuf/arena.h"
#include "pyservice/v1/controller.grpc.pb.h"

namespace pyservice::cli {

// INTERFACES.md: the default controller address.
inline constexpr char kDefaultControllerAddress[] = "127.0.0.1:7070";

struct ControllerClientOptions {
  // Transport security: TLS when tls.ca_file is set (with a client
  // certificate when tls.cert_file/key_file are: mutual TLS). Without a CA,
  // plaintext, allowed only where tls::CheckPlaintextAllowed(address,
  // insecure) does: unix: sockets, loopback addresses, or with `insecure`.
  tls::TlsClientOptions tls;
  bool insecure = false;
  // The operator's bearer token ("pst_…"), sent with every call; empty:
  // none (then only the admin socket lets the caller in).
  std::string token;
  // How long Connect waits for a connection. Short: a wrong address should
  // fail fast, not hang a script.
  absl::Duration connect_timeout = absl::Seconds(5);
  // Deadline of each call once connected.
  absl::Duration call_timeout = absl::Seconds(30);
};

class ControllerClient {
 public:
  // Dials `address` (HOST:PORT or unix:/path) and waits until the
  // connection is up. UNAVAILABLE with the message
  //   controller unreachable at ADDR (HINT): GRPC DETAIL
  // when it fails or takes longer than options.connect_timeout (the hint
  // mentions the TLS flags: a TLS mismatch fails the same way). The TLS
  // files' errors (tls::MakeChannelCredentials) and INVALID_ARGUMENT for
  // refused plaintext come before any dialling.
  static absl::StatusOr<std::unique_ptr<ControllerClient>> Connect(
      const std::string& address, const ControllerClientOptions& options = {});

 private:
  // Connect for "A,B,C" (controllers on one etcd store): the first address
  // that answers as the leader (docs/INTERFACES.md).
  static absl::StatusOr<std::unique_ptr<ControllerClient>> ConnectToLeader(
      const std::string& addresses, const ControllerClientOptions& options);

 public:

  // The ControllerService RPCs (controller.proto). Errors keep the
  // controller's code and message, except: UNAVAILABLE and
  // DEADLINE_EXCEEDED name the address; UNIMPLEMENTED says the controller
  // is too old; INTERNAL/UNKNOWN say "controller error".
  absl::StatusOr<v1::ApplyAppResponse> ApplyApp(
      const v1::ApplyAppRequest& request);
  absl::StatusOr<v1::GetAppResponse> GetApp(const v1::GetAppRequest& request);
  absl::StatusOr<v1::ListAppsResponse> ListApps(
      const v1::ListAppsRequest& request);
  absl::StatusOr<v1::DeleteAppResponse> DeleteApp(
      const v1::DeleteAppRequest& request);
  absl::StatusOr<v1::ListRevisionsResponse> ListRevisions(
      const v1::ListRevisionsRequest& request);
  // The two answers that grow with the fleet (a line per host) are parsed
  // into `arena`, which must outlive them: at 10,000 hosts a few block
  // allocations instead of ~100,000 small ones, and one release.
  absl::StatusOr<const v1::ListHostsResponse*> ListHosts(
      google::protobuf::Arena& arena);
  absl::StatusOr<const v1::GetStatusResponse*> GetStatus(
      const v1::GetStatusRequest& request, google::protobuf::Arena& arena);
  absl::StatusOr<v1::Rollout> StartRollout(
      const v1::StartRolloutRequest& request);
  absl::StatusOr<v1::Rollout> GetRollout(const v1::GetRolloutRequest& request);
  absl::StatusOr<v1::Rollout> ControlRollout(
      const v1::ControlRolloutRequest& request);
  absl::StatusOr<v1::Rollout> UndoRollout(
      const v1::UndoRolloutRequest& request);
  absl::StatusOr<v1::ListRolloutsResponse> ListRollouts(
      const v1::ListRolloutsRequest& request);
  absl::StatusOr<v1::WhoAmIResponse> WhoAmI(const v1::WhoAmIRequest& request);
  absl::StatusOr<v1::CreateTokenResponse> CreateToken(const v1::CreateTokenRequest& request);
  absl::StatusOr<v1::ListTokensResponse> ListTokens(const v1::ListTokensRequest& request);
  absl::StatusOr<v1::RevokeTokenResponse> RevokeToken(const v1::RevokeTokenRequest& request);
  absl::StatusOr<v1::CreateEnrollmentTokenResponse> CreateEnrollmentToken(
      const v1::CreateEnrollmentTokenRequest& request);
  absl::StatusOr<v1::RevokeHostResponse> RevokeHost(const v1::RevokeHostRequest& request);

  // Follows a deploy: calls `on_event` for every event of the WatchApp
  // stream, then returns how the stream ended (OK after the done event).
  // No deadline: a deploy takes as long as its health gates take; the
  // operator interrupts pyctl to stop waiting. Errors as for the unary calls.
  absl::Status WatchApp(
      const v1::WatchAppRequest& request,
      const std::function<void(const v1::WatchAppEvent&)>& on_event);

  // Follows a rollout: calls `on_rollout` with every snapshot of the
  // WatchRollout stream until the stream ends (OK once the rollout is
  // settled) or `on_rollout` returns false (then the call is cancelled and
  // the result is OK). No deadline, as for WatchApp.
  absl::Status WatchRollout(
      const v1::GetRolloutRequest& request,
      const std::function<bool(const v1::Rollout&)>& on_rollout);

  // An app's journal (TailLogs): calls `on_response` with every response
  // until the stream ends or `on_response` returns false (then the call is
  // cancelled and the result is OK). No deadline: with follow it lasts
  // until the operator interrupts pyctl.
  absl::Status TailLogs(const v1::TailLogsRequest& request,
                        const std::function<bool(const v1::TailLogsResponse&)>& on_response);

  // Fleet events (WatchEvents), as for TailLogs.
  absl::Status WatchEvents(const v1::WatchEventsRequest& request,
                           const std::function<bool(const v1::FleetEvent&)>& on_event);

 private:
  // Reads a server stream until it ends or `on_message` returns false.
  template <typename Request, typename Response>
  absl::Status ReadStream(
      std::unique_ptr<grpc::ClientReader<Response>> (v1::ControllerService::Stub::*method)(
          grpc::ClientContext*, const Request&),
      const Request& request, const std::function<bool(const Response&)>& on_message);

  ControllerClient(std::string address, std::shared_ptr<grpc::Channel> channel,
                   const ControllerClientOptions& options);

  template <typename Request, typename Response>
  absl::StatusOr<Response> Call(
      grpc::Status (v1::ControllerService::Stub::*method)(
          grpc::ClientContext*, const Request&, Response*),
      const Request& request);
  // Call, with the answer parsed into `response`.
  template <typename Request, typename Response>
  absl::Status CallInto(
      grpc::Status (v1::ControllerService::Stub::*method)(
          grpc::ClientContext*, const Request&, Response*),
      const Request& request, Response* response);

  absl::Status FromGrpc(const grpc::Status& status) const;
  // Every call's context gets the token here, and nowhere else.
  void Authorize(grpc::ClientContext& context) const;

  const std::string address_;
  const std::shared_ptr<grpc::Channel> channel_;
  const std::unique_ptr<v1::ControllerService::Stub> stub_;
  const ControllerClientOptions options_;
};

}  // namespace pyservice::cli

#endif  // PYSERVICE_CLI_CLIENT_CONTROLLER_CLIENT_H_

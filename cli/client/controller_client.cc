#include "cli/client/controller_client.h"

#include <utility>

#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/str_replace.h"
#include "common/status/status_macros.h"
#include "common/tls/plaintext.h"
#include "absl/time/clock.h"

namespace pyservice::cli {
namespace {

std::string Unreachable(const std::string& address,
                        const ControllerClientOptions& options,
                        grpc::Channel& channel) {
  const std::string hint =
      options.tls.ca_file.empty()
          ? "is pyservice-controller running there, without TLS? if it "
            "serves TLS, give its CA with --tls-ca or PYCTL_TLS_CA; choose "
            "another controller with --controller ADDR or PYCTL_CONTROLLER"
          : absl::StrCat(
                "is pyservice-controller running there, with TLS? its "
                "certificate must chain to --tls-ca ",
                options.tls.ca_file,
                options.tls.cert_file.empty()
                    ? "; if it requires client certificates (mutual TLS), "
                      "give --tls-cert and --tls-key"
                    : absl::StrCat(", and it must accept the client "
                                   "certificate ",
                                   options.tls.cert_file));
  // One call for gRPC's own account of the failure (e.g. a TLS handshake
  // error); it fails at once on a channel in TRANSIENT_FAILURE.
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
  v1::WhoAmIResponse response;
  const grpc::Status status = v1::ControllerService::NewStub(
      std::shared_ptr<grpc::Channel>(&channel, [](grpc::Channel*) {}))
      ->WhoAmI(&context, v1::WhoAmIRequest(), &response);
  std::string detail = status.ok() ? "" : status.error_message();
  absl::StrReplaceAll({{"\n", " "}}, &detail);
  return absl::StrCat("controller unreachable at ", address, " (", hint, ")",
                      detail.empty() ? "" : ": ", detail);
}

constexpr int kMaxReceiveMessageBytes = 64 << 20;

}  // namespace

absl::StatusOr<std::unique_ptr<ControllerClient>> ControllerClient::Connect(
    const std::string& address, const ControllerClientOptions& options) {
  if (absl::StrContains(address, ',')) return ConnectToLeader(address, options);
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  grpc::ChannelArguments arguments;
  if (!options.tls.ca_file.empty()) {
    absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> made =
        tls::MakeChannelCredentials(options.tls);
    if (!made.ok()) return made.status();
    credentials = *std::move(made);
    tls::ApplyTlsChannelArguments(options.tls, &arguments);
  } else if (!options.tls.cert_file.empty() || !options.tls.key_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls-cert and --tls-key need --tls-ca (PYCTL_TLS_CA): the CA the "
        "controller's certificate must chain to");
  } else {
    absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> plaintext =
        tls::MakeInsecureChannelCredentials(address, options.insecure);
    if (!plaintext.ok()) return plaintext.status();
    credentials = *std::move(plaintext);
  }
  // The largest answer the controller sends (its max_send_message_bytes,
  // controller/server/transport_limits.h): a GetStatus or ListHosts of a
  // fleet of tens of thousands of hosts. Anything bigger is refused.
  arguments.SetMaxReceiveMessageSize(kMaxReceiveMessageBytes);
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(address, credentials, arguments);
  // Not WaitForConnected: that sleeps through the whole timeout even when
  // the first attempt was refused. TRANSIENT_FAILURE means every address
  // the target resolved to failed once, which is answer enough for a CLI.
  const auto deadline = absl::ToChronoTime(absl::Now() + options.connect_timeout);
  grpc_connectivity_state state = channel->GetState(/*try_to_connect=*/true);
  while (state != GRPC_CHANNEL_READY) {
    if (state == GRPC_CHANNEL_TRANSIENT_FAILURE ||
        state == GRPC_CHANNEL_SHUTDOWN ||
        !channel->WaitForStateChange(state, deadline)) {
      return absl::UnavailableError(Unreachable(address, options, *channel));
    }
    state = channel->GetState(/*try_to_connect=*/true);
  }
  return std::unique_ptr<ControllerClient>(
      new ControllerClient(address, std::move(channel), options));
}

absl::StatusOr<std::unique_ptr<ControllerClient>> ControllerClient::ConnectToLeader(
    const std::string& addresses, const ControllerClientOptions& options) {
  std::vector<std::string> answers;
  for (const std::string& address : std::vector<std::string>(absl::StrSplit(addresses, ','))) {
    absl::StatusOr<std::unique_ptr<ControllerClient>> client = Connect(address, options);
    if (!client.ok()) {
      answers.push_back(std::string(client.status().message()));
      continue;
    }
    // One cheap call: a follower refuses every call with UNAVAILABLE "not
    // the leader"; anything else (an answer, or a refusal of this caller's
    // rights) comes from the leader. WhoAmI's answer is a few bytes
    // whatever the fleet's size.
    const absl::Status probe = (*client)->WhoAmI(v1::WhoAmIRequest()).status();
    if (absl::IsUnavailable(probe)) {
      answers.push_back(absl::StrCat(address, ": ", probe.message()));
      continue;
    }
    return client;
  }
  return absl::UnavailableError(absl::StrCat("no controller of ", addresses,
                                             " answers as the leader (",
                                             absl::StrJoin(answers, "; "), ")"));
}

ControllerClient::ControllerClient(std::string address,
                                   std::shared_ptr<grpc::Channel> channel,
                                   const ControllerClientOptions& options)
    : address_(std::move(address)),
      channel_(std::move(channel)),
      stub_(v1::ControllerService::NewStub(channel_)),
      options_(options) {}

template <typename Request, typename Response>
absl::Status ControllerClient::CallInto(
    grpc::Status (v1::ControllerService::Stub::*method)(
        grpc::ClientContext*, const Request&, Response*),
    const Request& request, Response* response) {
  grpc::ClientContext context;
  Authorize(context);
  context.set_deadline(absl::ToChronoTime(absl::Now() + options_.call_timeout));
  // Fail rather than queue if the connection dropped since Connect.
  context.set_wait_for_ready(false);
  const grpc::Status status = ((*stub_).*method)(&context, request, response);
  if (!status.ok()) return FromGrpc(status);
  return absl::OkStatus();
}

template <typename Request, typename Response>
absl::StatusOr<Response> ControllerClient::Call(
    grpc::Status (v1::ControllerService::Stub::*method)(
        grpc::ClientContext*, const Request&, Response*),
    const Request& request) {
  Response response;
  RETURN_IF_ERROR(CallInto(method, request, &response));
  return response;
}

void ControllerClient::Authorize(grpc::ClientContext& context) const {
  if (!options_.token.empty()) context.AddMetadata("authorization", "Bearer " + options_.token);
}

absl::Status ControllerClient::FromGrpc(const grpc::Status& status) const {
  const auto code = static_cast<absl::StatusCode>(status.error_code());
  const std::string& message = status.error_message();
  switch (code) {
    case absl::StatusCode::kUnavailable:
      // With TLS 1.3 the client's handshake completes before the server has
      // checked the client's certificate, so a refused one shows here.
      return absl::UnavailableError(absl::StrCat(
          "controller at ", address_, " is unavailable: ", message,
          !options_.tls.ca_file.empty() && options_.tls.cert_file.empty()
              ? " (if it requires client certificates (mutual TLS), give "
                "--tls-cert and --tls-key or PYCTL_TLS_CERT and PYCTL_TLS_KEY)"
              : ""));
    case absl::StatusCode::kDeadlineExceeded:
      return absl::DeadlineExceededError(
          absl::StrCat("controller at ", address_, " did not answer within ",
                       absl::FormatDuration(options_.call_timeout)));
    case absl::StatusCode::kUnauthenticated:
      return absl::UnauthenticatedError(absl::StrCat("not authenticated: ", message));
    case absl::StatusCode::kPermissionDenied:
      return absl::PermissionDeniedError(absl::StrCat("permission denied: ", message));
    case absl::StatusCode::kUnimplemented:
      return absl::UnimplementedError(
          absl::StrCat("the controller at ", address_,
                       " does not support this request (is it older than "
                       "pyctl?): ", message));
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kDataLoss:
      return absl::Status(code, absl::StrCat("controller error: ", message));
    default:
      return absl::Status(code, message);
  }
}

absl::StatusOr<v1::ApplyAppResponse> ControllerClient::ApplyApp(
    const v1::ApplyAppRequest& request) {
  return Call(&v1::ControllerService::Stub::ApplyApp, request);
}

absl::StatusOr<v1::GetAppResponse> ControllerClient::GetApp(
    const v1::GetAppRequest& request) {
  return Call(&v1::ControllerService::Stub::GetApp, request);
}

absl::StatusOr<v1::ListAppsResponse> ControllerClient::ListApps(
    const v1::ListAppsRequest& request) {
  return Call(&v1::ControllerService::Stub::ListApps, request);
}

absl::StatusOr<v1::DeleteAppResponse> ControllerClient::DeleteApp(
    const v1::DeleteAppRequest& request) {
  return Call(&v1::ControllerService::Stub::DeleteApp, request);
}

absl::StatusOr<v1::ListRevisionsResponse> ControllerClient::ListRevisions(
    const v1::ListRevisionsRequest& request) {
  return Call(&v1::ControllerService::Stub::ListRevisions, request);
}

absl::StatusOr<const v1::ListHostsResponse*> ControllerClient::ListHosts(
    google::protobuf::Arena& arena) {
  auto* response = google::protobuf::Arena::CreateMessage<v1::ListHostsResponse>(&arena);
  RETURN_IF_ERROR(CallInto(&v1::ControllerService::Stub::ListHosts, v1::ListHostsRequest(),
                           response));
  return response;
}

absl::StatusOr<const v1::GetStatusResponse*> ControllerClient::GetStatus(
    const v1::GetStatusRequest& request, google::protobuf::Arena& arena) {
  auto* response = google::protobuf::Arena::CreateMessage<v1::GetStatusResponse>(&arena);
  RETURN_IF_ERROR(CallInto(&v1::ControllerService::Stub::GetStatus, request, response));
  return response;
}

absl::StatusOr<v1::Rollout> ControllerClient::StartRollout(
    const v1::StartRolloutRequest& request) {
  return Call(&v1::ControllerService::Stub::StartRollout, request);
}

absl::StatusOr<v1::Rollout> ControllerClient::GetRollout(
    const v1::GetRolloutRequest& request) {
  return Call(&v1::ControllerService::Stub::GetRollout, request);
}

absl::StatusOr<v1::Rollout> ControllerClient::ControlRollout(
    const v1::ControlRolloutRequest& request) {
  return Call(&v1::ControllerService::Stub::ControlRollout, request);
}

absl::StatusOr<v1::Rollout> ControllerClient::UndoRollout(
    const v1::UndoRolloutRequest& request) {
  return Call(&v1::ControllerService::Stub::UndoRollout, request);
}

absl::StatusOr<v1::ListRolloutsResponse> ControllerClient::ListRollouts(
    const v1::ListRolloutsRequest& request) {
  return Call(&v1::ControllerService::Stub::ListRollouts, request);
}

absl::Status ControllerClient::WatchApp(
    const v1::WatchAppRequest& request,
    const std::function<void(const v1::WatchAppEvent&)>& on_event) {
  grpc::ClientContext context;
  Authorize(context);
  context.set_wait_for_ready(false);
  std::unique_ptr<grpc::ClientReader<v1::WatchAppEvent>> reader =
      stub_->WatchApp(&context, request);
  v1::WatchAppEvent event;
  while (reader->Read(&event)) on_event(event);
  const grpc::Status status = reader->Finish();
  if (!status.ok()) return FromGrpc(status);
  return absl::OkStatus();
}

template <typename Request, typename Response>
absl::Status ControllerClient::ReadStream(
    std::unique_ptr<grpc::ClientReader<Response>> (v1::ControllerService::Stub::*method)(
        grpc::ClientContext*, const Request&),
    const Request& request, const std::function<bool(const Response&)>& on_message) {
  grpc::ClientContext context;
  Authorize(context);
  context.set_wait_for_ready(false);
  std::unique_ptr<grpc::ClientReader<Response>> reader = (stub_.get()->*method)(&context, request);
  Response message;
  bool stopped = false;
  while (reader->Read(&message)) {
    if (!on_message(message)) {
      stopped = true;
      context.TryCancel();
      break;
    }
  }
  const grpc::Status status = reader->Finish();
  if (stopped) return absl::OkStatus();
  if (!status.ok()) return FromGrpc(status);
  return absl::OkStatus();
}

absl::Status ControllerClient::WatchRollout(
    const v1::GetRolloutRequest& request,
    const std::function<bool(const v1::Rollout&)>& on_rollout) {
  return ReadStream(&v1::ControllerService::Stub::WatchRollout, request, on_rollout);
}

absl::Status ControllerClient::TailLogs(
    const v1::TailLogsRequest& request,
    const std::function<bool(const v1::TailLogsResponse&)>& on_response) {
  return ReadStream(&v1::ControllerService::Stub::TailLogs, request, on_response);
}

absl::Status ControllerClient::WatchEvents(
    const v1::WatchEventsRequest& request,
    const std::function<bool(const v1::FleetEvent&)>& on_event) {
  return ReadStream(&v1::ControllerService::Stub::WatchEvents, request, on_event);
}

absl::StatusOr<v1::WhoAmIResponse> ControllerClient::WhoAmI(const v1::WhoAmIRequest& request) {
  return Call(&v1::ControllerService::Stub::WhoAmI, request);
}

absl::StatusOr<v1::CreateTokenResponse> ControllerClient::CreateToken(
    const v1::CreateTokenRequest& request) {
  return Call(&v1::ControllerService::Stub::CreateToken, request);
}

absl::StatusOr<v1::ListTokensResponse> ControllerClient::ListTokens(
    const v1::ListTokensRequest& request) {
  return Call(&v1::ControllerService::Stub::ListTokens, request);
}

absl::StatusOr<v1::RevokeTokenResponse> ControllerClient::RevokeToken(
    const v1::RevokeTokenRequest& request) {
  return Call(&v1::ControllerService::Stub::RevokeToken, request);
}

absl::StatusOr<v1::CreateEnrollmentTokenResponse> ControllerClient::CreateEnrollmentToken(
    const v1::CreateEnrollmentTokenRequest& request) {
  return Call(&v1::ControllerService::Stub::CreateEnrollmentToken, request);
}

absl::StatusOr<v1::RevokeHostResponse> ControllerClient::RevokeHost(
    const v1::RevokeHostRequest& request) {
  return Call(&v1::ControllerService::Stub::RevokeHost, request);
}

}  // namespace pyservice::cli

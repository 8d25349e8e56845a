// A real gRPC server for the transport security tests, serving the test-only
// WhoAmI service through the sync or the callback API, and a client call to
// it. The handler answers with PeerIdentity() and counts the calls that
// reached it, so a test can tell "refused at the handshake" from "refused
// later".
#ifndef PYSERVICE_TESTS_COMMON_TLS_WHO_AM_I_SERVER_H_
#define PYSERVICE_TESTS_COMMON_TLS_WHO_AM_I_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status/grpc_status.h"
#include "common/tls/peer_identity.h"
#include "tests/common/tls/who_am_i.grpc.pb.h"

namespace pyservice::tls::testing {

using pyservice::test::v1::AskRequest;
using pyservice::test::v1::AskResponse;
using pyservice::test::v1::WhoAmI;

class SyncWhoAmI final : public WhoAmI::Service {
 public:
  grpc::Status Ask(grpc::ServerContext* context, const AskRequest* /*request*/,
                   AskResponse* response) override {
    ++calls;
    response->set_peer_identity(PeerIdentity(*context));
    return grpc::Status::OK;
  }
  std::atomic<int> calls{0};
};

class CallbackWhoAmI final : public WhoAmI::CallbackService {
 public:
  grpc::ServerUnaryReactor* Ask(grpc::CallbackServerContext* context,
                                const AskRequest* /*request*/,
                                AskResponse* response) override {
    ++calls;
    response->set_peer_identity(PeerIdentity(*context));
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  std::atomic<int> calls{0};
};

class WhoAmIServer {
 public:
  enum class Api { kSync, kCallback };

  // Listens on `address` ("127.0.0.1:0" picks a port) with `credentials`.
  static absl::StatusOr<std::unique_ptr<WhoAmIServer>> Start(
      std::shared_ptr<grpc::ServerCredentials> credentials,
      Api api = Api::kSync, const std::string& address = "127.0.0.1:0") {
    auto server = std::unique_ptr<WhoAmIServer>(new WhoAmIServer());
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort(address, std::move(credentials), &port);
    if (api == Api::kSync) {
      builder.RegisterService(&server->sync_);
    } else {
      builder.RegisterService(&server->callback_);
    }
    server->server_ = builder.BuildAndStart();
    // A Unix socket reports no port.
    const bool unix_socket = absl::StartsWith(address, "unix:");
    if (server->server_ == nullptr || (!unix_socket && port == 0)) {
      return absl::InternalError(absl::StrCat("cannot listen on ", address));
    }
    server->target_ = unix_socket ? address
                          : absl::StrCat("127.0.0.1:", port);
    return server;
  }

  ~WhoAmIServer() {
    server_->Shutdown(std::chrono::system_clock::now() +
                      std::chrono::seconds(1));
  }

  // Where clients dial it.
  const std::string& target() const { return target_; }
  // Calls that reached the handler.
  int calls() const { return sync_.calls + callback_.calls; }

 private:
  WhoAmIServer() = default;

  SyncWhoAmI sync_;
  CallbackWhoAmI callback_;
  std::unique_ptr<grpc::Server> server_;
  std::string target_;
};

// One Ask on a new channel: the identity the server saw, or the call's
// status (UNAVAILABLE when the connection or its handshake fails).
inline absl::StatusOr<std::string> AskWhoAmI(
    const std::string& target,
    std::shared_ptr<grpc::ChannelCredentials> credentials,
    const grpc::ChannelArguments& args = grpc::ChannelArguments()) {
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(target, std::move(credentials), args);
  std::unique_ptr<WhoAmI::Stub> stub = WhoAmI::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  AskResponse response;
  const grpc::Status status = stub->Ask(&context, AskRequest(), &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return response.peer_identity();
}

}  // namespace pyservice::tls::testing

#endif  // PYSERVICE_TESTS_COMMON_TLS_WHO_AM_I_SERVER_H_

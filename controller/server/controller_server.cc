#include "controller/server/controller_server.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <utility>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status/status_macros.h"
#include "common/tls/plaintext.h"

namespace pyservice::controller {

absl::StatusOr<std::unique_ptr<ControllerServer>> ControllerServer::Start(
    const ControllerServerOptions& options) {
  if (options.listen.empty()) {
    return absl::InvalidArgumentError("no address to listen on");
  }
  std::vector<ListenAddress> addresses;
  std::vector<std::shared_ptr<grpc::ServerCredentials>> credentials;
  for (const std::string& text : options.listen) {
    ASSIGN_OR_RETURN(ListenAddress address, ParseListenAddress(text));
    if (options.credentials != nullptr) {
      credentials.push_back(options.credentials);
    } else {
      ASSIGN_OR_RETURN(credentials.emplace_back(),
                       tls::MakeInsecureServerCredentials(address.ToString(),
                                                          options.insecure));
    }
    RETURN_IF_ERROR(PrepareUnixSocketPath(address));
    addresses.push_back(std::move(address));
  }

  // Process-wide switches, read when a builder is created: the standard
  // health service (grpc.health.v1) for probes and load balancers, and
  // reflection so grpcurl works without the .proto files.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  grpc::ServerBuilder builder;
  // gRPC sets SO_REUSEPORT by default, which lets a second controller bind
  // the same port and silently share the traffic. A taken port must be an
  // error instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  ApplyTransportLimits(options.limits, builder);
  // BuildAndStart binds in order and stops at the first failure, so the
  // first entry still at -1 afterwards names the address that failed.
  std::vector<int> selected_ports(addresses.size(), -1);
  for (size_t i = 0; i < addresses.size(); ++i) {
    builder.AddListeningPort(addresses[i].ToString(), credentials[i],
                             &selected_ports[i]);
  }
  if (options.generic_service != nullptr) {
    builder.RegisterCallbackGenericService(options.generic_service);
  }
  for (grpc::Service* service : options.services) {
    builder.RegisterService(service);
  }
  for (CompletionQueueService* service : options.queue_services) {
    builder.RegisterService(service->service());
    service->AddCompletionQueues(builder);
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  // Queues of a server that does not run are shut down with it.
  auto stop_queue_services = [&] {
    if (server != nullptr) server->Shutdown();
    for (CompletionQueueService* service : options.queue_services) service->Stop();
  };

  for (size_t i = 0; i < addresses.size(); ++i) {
    if (selected_ports[i] > 0) continue;
    stop_queue_services();
    return absl::FailedPreconditionError(
        absl::StrCat("cannot listen on ", addresses[i].ToString(), ": ",
                     DiagnoseBindFailure(addresses[i])));
  }
  if (server == nullptr) {
    stop_queue_services();
    return absl::InternalError("gRPC could not start the server");
  }
  for (CompletionQueueService* service : options.queue_services) service->Start();

  std::vector<ListenAddress> bound;
  std::vector<OwnedSocket> sockets;
  for (size_t i = 0; i < addresses.size(); ++i) {
    const ListenAddress& address = addresses[i];
    if (address.kind == ListenAddress::Kind::kTcp) {
      bound.push_back(address.WithPort(selected_ports[i]));
      continue;
    }
    bound.push_back(address);
    struct stat info;
    if (lstat(address.path.c_str(), &info) == 0) {
      sockets.push_back({address.path, info.st_dev, info.st_ino});
    }
  }
  std::unique_ptr<ControllerServer> started(new ControllerServer(
      std::move(server), options.queue_services, std::move(bound), std::move(sockets),
      options.shutdown_grace));
  if (!options.admin_socket.empty()) {
    if (options.local_peers == nullptr) {
      return absl::InternalError("an admin socket needs local_peers to record its peers");
    }
    ASSIGN_OR_RETURN(started->admin_socket_,
                     AdminSocket::Start(options.admin_socket, options.admin_socket_group,
                                        *started->server_, *options.local_peers));
  }
  return started;
}

ControllerServer::ControllerServer(std::unique_ptr<grpc::Server> server,
                                   std::vector<CompletionQueueService*> queue_services,
                                   std::vector<ListenAddress> bound_addresses,
                                   std::vector<OwnedSocket> sockets,
                                   absl::Duration grace)
    : server_(std::move(server)),
      queue_services_(std::move(queue_services)),
      bound_addresses_(std::move(bound_addresses)),
      sockets_(std::move(sockets)),
      grace_(grace) {}

ControllerServer::~ControllerServer() { Shutdown(); }

std::vector<int> ControllerServer::tcp_ports() const {
  std::vector<int> ports;
  for (const ListenAddress& address : bound_addresses_) {
    if (address.kind == ListenAddress::Kind::kTcp) {
      ports.push_back(address.port);
    }
  }
  return ports;
}

void ControllerServer::Shutdown() {
  absl::MutexLock lock(&mu_);
  if (shut_down_) return;
  shut_down_ = true;
  if (admin_socket_ != nullptr) admin_socket_->Stop();
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace_));
  server_->Wait();
  for (CompletionQueueService* service : queue_services_) service->Stop();
  for (const OwnedSocket& socket : sockets_) {
    struct stat info;
    if (lstat(socket.path.c_str(), &info) == 0 &&
        info.st_dev == socket.device && info.st_ino == socket.inode) {
      unlink(socket.path.c_str());
    }
  }
}

}  // namespace pyservice::controller

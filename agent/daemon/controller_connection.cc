#include "agent/daemon/controller_connection.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "grpcpp/create_channel.h"
#include "spdlog/spdlog.h"

namespace pyservice::agent {
namespace {

// "1.234s", "20ms".
std::string Seconds(absl::Duration d) {
  return absl::FormatDuration(absl::Trunc(d, absl::Milliseconds(1)));
}

}  // namespace

std::vector<std::string> ControllerAddresses(absl::string_view addresses) {
  return absl::StrSplit(addresses, ',');
}

absl::Status ValidateControllerAddresses(absl::string_view addresses) {
  for (const std::string& address : ControllerAddresses(addresses)) {
    if (absl::Status valid = ValidateControllerAddress(address); !valid.ok()) return valid;
  }
  return absl::OkStatus();
}

absl::Status ValidateControllerAddress(absl::string_view address) {
  const auto invalid = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("controller address \"", address, "\": ", why,
                                                   " (want HOST:PORT or unix:/absolute/path)"));
  };
  if (absl::StartsWith(address, "unix:")) {
    if (!absl::StartsWith(address, "unix:/") || address.size() == 6) {
      return invalid("the socket path must be absolute");
    }
    return absl::OkStatus();
  }
  const size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos || colon == 0) return invalid("no host or port");
  absl::string_view host = address.substr(0, colon);
  int port = 0;
  if (!absl::SimpleAtoi(address.substr(colon + 1), &port) || port < 1 || port > 65535) {
    return invalid("the port must be a number from 1 to 65535");
  }
  if (absl::StrContains(host, ':') && !(absl::StartsWith(host, "[") && absl::EndsWith(host, "]"))) {
    return invalid("IPv6 hosts go in brackets");
  }
  return absl::OkStatus();
}

ControllerConnection::ControllerConnection(ConnectionOptions options,
                                           ControllerSession::Handler& handler,
                                           std::function<double()> uniform, const Clock& clock)
    : options_(std::move(options)),
      handler_(handler),
      addresses_(ControllerAddresses(options_.address)),
      backoff_(options_.backoff, std::move(uniform), clock) {}

std::shared_ptr<grpc::Channel> ControllerConnection::Dial(const std::string& address) const {
  grpc::ChannelArguments arguments;
  // The controller permits pings this often (controller/server/
  // transport_limits.h); the stream's heartbeats are data, so pings are not
  // limited to two without data.
  arguments.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS,
                   static_cast<int>(absl::ToInt64Milliseconds(options_.keepalive_time)));
  arguments.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                   static_cast<int>(absl::ToInt64Milliseconds(options_.keepalive_timeout)));
  arguments.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  arguments.SetMaxReceiveMessageSize(options_.max_receive_message_bytes);
  std::shared_ptr<grpc::ChannelCredentials> credentials =
      options_.credentials ? options_.credentials() : nullptr;
  if (credentials == nullptr) {
    credentials = grpc::InsecureChannelCredentials();
  } else if (!options_.tls_server_name.empty()) {
    arguments.SetSslTargetNameOverride(options_.tls_server_name);
  }
  return grpc::CreateCustomChannel(address, credentials, arguments);
}

void ControllerConnection::Run() {
  // Addresses tried since the last Welcome or backoff wait.
  size_t tried_in_round = 0;
  while (true) {
    ControllerSession::Handler& handler = *this;
    const std::string& address = addresses_[next_address_];
    auto session = std::make_shared<ControllerSession>(Dial(address), handler, options_.session);
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      current_ = session;
    }
    const ControllerSession::End end = session->Run();
    if (end.welcomed && options_.on_link_change) options_.on_link_change(false);
    {
      absl::MutexLock lock(&mu_);
      current_.reset();
      if (stopping_) return;
    }
    // With several controllers (one leading, docs/INTERFACES.md), the next
    // attempt goes to the next address: a follower's refusal or a dead
    // leader sends the agent on at once, and only a whole round of
    // failures waits out the backoff.
    next_address_ = (next_address_ + 1) % addresses_.size();
    tried_in_round = end.welcomed ? 1 : tried_in_round + 1;
    if (tried_in_round < addresses_.size()) {
      spdlog::info("controller {}: {}; trying {}", address, end.status.ToString(),
                   addresses_[next_address_]);
      continue;
    }
    tried_in_round = 0;
    const absl::Duration wait = backoff_.Next();
    const std::string reason = end.status.ToString();
    if (absl::IsResourceExhausted(end.status)) {
      // A limit ended the stream: this agent's (a DeployRequest over
      // max_receive_message_bytes: "Received message larger than max (N
      // vs. M)"), or the controller's (too many messages). Not a network
      // problem: an error, saying which limit.
      spdlog::error("stream to the controller {} ended by a limit (this agent accepts messages "
                    "of at most {} bytes): {}; reconnecting in {}",
                    address, options_.max_receive_message_bytes, reason, Seconds(wait));
    } else if (end.welcomed) {
      spdlog::warn("stream to the controller {} ended: {}; reconnecting in {}", address,
                   reason, Seconds(wait));
    } else if (failures_in_row_++ == 0) {
      spdlog::warn("cannot connect to the controller {}: {}; retrying in {}", address,
                   reason, Seconds(wait));
    } else {
      spdlog::info("cannot connect to the controller {} (attempt {}): {}; retrying in {}",
                   address, failures_in_row_, reason, Seconds(wait));
    }
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), wait);
    if (stopping_) return;
  }
}

void ControllerConnection::Stop() {
  std::shared_ptr<ControllerSession> session;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    session = current_;
  }
  if (session != nullptr) session->Cancel();
}

void ControllerConnection::Send(v1::AgentMessage message) {
  std::shared_ptr<ControllerSession> session;
  {
    absl::MutexLock lock(&mu_);
    session = current_;
  }
  if (session != nullptr) session->Send(std::move(message));
}

void ControllerConnection::OnWelcome(const v1::Welcome& welcome) {
  backoff_.Connected();
  if (failures_in_row_ > 0) {
    spdlog::info("connected to the controller {} after {} failed attempts",
                 addresses_[next_address_], failures_in_row_);
  } else {
    spdlog::info("connected to the controller {}", addresses_[next_address_]);
  }
  failures_in_row_ = 0;
  if (options_.on_link_change) options_.on_link_change(true);
  handler_.OnWelcome(welcome);
}

}  // namespace pyservice::agent

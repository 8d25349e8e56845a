#include "controller/server/transport_limits.h"

#include <algorithm>

#include <grpc/grpc.h>

namespace pyservice::controller {
namespace {

int Milliseconds(absl::Duration duration) {
  return static_cast<int>(absl::ToInt64Milliseconds(duration));
}

}  // namespace

TransportLimits WithKeepalive(absl::Duration time, absl::Duration timeout) {
  TransportLimits limits;
  limits.keepalive_time = time;
  limits.keepalive_timeout = timeout;
  limits.min_client_ping_interval = std::min(limits.min_client_ping_interval, time);
  return limits;
}

void ApplyTransportLimits(const TransportLimits& limits, grpc::ServerBuilder& builder) {
  builder.SetMaxReceiveMessageSize(limits.max_receive_message_bytes);
  builder.SetMaxSendMessageSize(limits.max_send_message_bytes);

  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, Milliseconds(limits.keepalive_time));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                             Milliseconds(limits.keepalive_timeout));
  // The controller's pings must go out although it rarely sends data on an
  // agent's stream (gRPC otherwise stops pinging after two pings without
  // data, and a dead host would never be noticed).
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  // Agents' own keepalive pings: allowed this often, with or without calls.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             Milliseconds(limits.min_client_ping_interval));

  // No bandwidth-delay probing of what peers send us: it sends PINGs as
  // data arrives and arms a timer after each ack, which at 10,000
  // agents was a third of the controller's idle CPU (and Debian's libgrpc,
  // built without NDEBUG, walks a hash of every armed timer on each). What
  // the controller receives is small (agents' messages, app.yaml); the
  // default 64 KiB window is enough for it and keeps what 10,000 peers
  // may buffer here bounded. Big answers (status, get hosts) flow the
  // other way, on the client's window, which probes as before.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, limits.max_concurrent_streams);
  builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS,
                             Milliseconds(limits.handshake_timeout));
}

}  // namespace pyservice::controller

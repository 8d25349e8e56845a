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

  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, limits.max_concurrent_streams);
  builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS,
                             Milliseconds(limits.handshake_timeout));
}

}  // namespace pyservice::controller

// What one connection to the controller may cost it, set on every listener
// as gRPC channel arguments in one place (ApplyTransportLimits):
//  * message size: the largest message received is an ApplyApp carrying
//    an app.yaml, which the parser caps at 1 MiB; anything bigger is
//    refused by gRPC with RESOURCE_EXHAUSTED before it is parsed. Agent
//    messages are far smaller, and are bounded field by field
//    (fleet/agent_message_limits.h).
//  * keepalive: the controller pings every connection that has been quiet
//    for `keepalive_time` and drops it when no answer comes within
//    `keepalive_timeout`, so a host whose connection died silently (powered
//    off, a firewall dropping packets) is disconnected in bounded time, not
//    when TCP gives up (~15 minutes). Agents ping too (agent/daemon/
//    controller_connection.cc); the controller accepts their pings as often
//    as every `min_client_ping_interval` instead of answering them with
//    GOAWAY "too_many_pings".
//  * concurrent streams per connection: an agent needs one, an operator a
//    few watches; a client over the limit waits for a free stream.
//  * handshake timeout: a connection that never completes its TLS and
//    HTTP/2 handshake is closed (streams that never say Hello are ended by
//    the fleet's hello_timeout).
// Per connection, not per server: 10,000 agents, each on its own
// connection, are each within them.
#ifndef PYSERVICE_CONTROLLER_SERVER_TRANSPORT_LIMITS_H_
#define PYSERVICE_CONTROLLER_SERVER_TRANSPORT_LIMITS_H_

#include <grpcpp/server_builder.h>

#include "absl/time/time.h"

namespace pyservice::controller {

struct TransportLimits {
  // 1 MiB of app.yaml plus the request around it.
  int max_receive_message_bytes = (1 << 20) + (64 << 10);
  // The largest answer: a ListHosts or GetStatus of a large fleet.
  int max_send_message_bytes = 64 << 20;
  absl::Duration keepalive_time = absl::Minutes(1);
  absl::Duration keepalive_timeout = absl::Seconds(20);
  // Agents ping every minute by default (their keepalive_time); an agent
  // set to ping more often than this is sent GOAWAY "too_many_pings".
  // WithKeepalive lowers it to a keepalive_time below it.
  absl::Duration min_client_ping_interval = absl::Seconds(10);
  int max_concurrent_streams = 32;
  absl::Duration handshake_timeout = absl::Seconds(20);
};

// The defaults with the controller's keepalive settings (controller
// config keys keepalive_time and keepalive_timeout): agents may ping as
// often as the controller does.
TransportLimits WithKeepalive(absl::Duration time, absl::Duration timeout);

// Sets `limits` on every listener `builder` will serve.
void ApplyTransportLimits(const TransportLimits& limits, grpc::ServerBuilder& builder);

}  // namespace pyservice::controller

#endif  // PYSERVICE_CONTROLLER_SERVER_TRANSPORT_LIMITS_H_

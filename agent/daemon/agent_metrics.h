// The agent's metrics for GET /metrics, read off what the daemon already
// tells the controller: MeteredSink sits between the daemon's parts and the
// connection, so every step progress, deploy result and health report is
// counted whether or not a stream is up (a prepare's steps, which are not
// sent, JobRunner counts itself). The link to the controller is
// reported by ControllerConnection (ConnectionOptions::on_link_change).
//
// Labels carry app and step names only: no unit text, error or spec content.
#ifndef PYSERVICE_AGENT_DAEMON_AGENT_METRICS_H_
#define PYSERVICE_AGENT_DAEMON_AGENT_METRICS_H_

#include <memory>

#include "absl/status/statusor.h"
#include "agent/daemon/message_sink.h"
#include "common/metrics/registry.h"
#include "pyservice/v1/agent.pb.h"

namespace pyservice::agent {

class AgentMetrics {
 public:
  // Registers the families in `registry`, which must outlive the result.
  static absl::StatusOr<std::unique_ptr<AgentMetrics>> Register(metrics::Registry& registry);

  // Counts what `message` reports: a finished step's duration, a deploy's
  // result, an app's health (also the live app of a result).
  void Record(const v1::AgentMessage& message);
  // The stream to the controller came up (Welcome) or ended.
  void LinkChanged(bool connected);

 private:
  AgentMetrics() = default;
  void RecordHealth(const v1::AppHealth& health);

  metrics::HistogramFamily* step_seconds_ = nullptr;
  metrics::CounterFamily* deploys_ = nullptr;
  metrics::GaugeFamily* app_health_ = nullptr;
  metrics::GaugeFamily* connected_ = nullptr;
  metrics::CounterFamily* sessions_ = nullptr;
};

// Counts each message in `metrics`, then passes it on to `next`.
class MeteredSink final : public MessageSink {
 public:
  // `metrics` may be null (counts nothing); both must outlive the sink.
  MeteredSink(MessageSink& next, AgentMetrics* metrics) : next_(next), metrics_(metrics) {}
  void Send(v1::AgentMessage message) override {
    if (metrics_ != nullptr) metrics_->Record(message);
    next_.Send(std::move(message));
  }

 private:
  MessageSink& next_;
  AgentMetrics* const metrics_;
};

}  // namespace pyservice::agent

#endif  // PYSERVICE_AGENT_DAEMON_AGENT_METRICS_H_

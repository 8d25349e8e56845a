// `pyservice-agent --controller ADDR`: the host daemon. It connects to the
// controller (controller_connection.h), tells it what runs here (Hello from
// the state dir and the units' live states), runs the controller's requests
// through the install pipeline — one job at a time per app, apps in
// parallel (app_workers.h, job_runner.h) — and pushes unit health changes
// (health_watcher.h). It also serves `pyctl logs`: the journal of an app's
// units, read by log tails (agent/logs/log_tailer.h).
//
// Nothing here stops an app because the controller is away: a lost stream
// only means reconnecting, and jobs already running finish.
#ifndef PYSERVICE_AGENT_DAEMON_AGENT_DAEMON_H_
#define PYSERVICE_AGENT_DAEMON_AGENT_DAEMON_H_

#include <functional>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "agent/daemon/agent_metrics.h"
#include "agent/daemon/app_workers.h"
#include "agent/daemon/controller_connection.h"
#include "agent/daemon/drift_scheduler.h"
#include "agent/daemon/health_watcher.h"
#include "agent/daemon/job_runner.h"
#include "agent/host/serialized_user_manager.h"
#include "agent/install/deploy.h"
#include "agent/logs/journal_reader.h"
#include "agent/logs/log_tailer.h"
#include "agent/state/state_store.h"

namespace pyservice::agent {

struct DaemonOptions {
  // The controller's address, backoff and stream settings.
  ConnectionOptions connection;
  // This host's name and labels, as sent in every Hello.
  std::string host;
  std::map<std::string, std::string> labels;
  // Unit health changes are pushed at most this often per round.
  absl::Duration health_push_interval = absl::Seconds(1);
  // How often every app is checked for drift (agent config
  // drift_check_interval); zero: never.
  absl::Duration drift_check_interval = absl::Minutes(1);
  // Uniform [0, 1) for the backoff's jitter; empty: SystemRandom().
  std::function<double()> random;
  // Counts what the daemon reports (agent_metrics.h); null counts nothing.
  // Must outlive the daemon.
  AgentMetrics* metrics = nullptr;
};

class AgentDaemon final : private ControllerSession::Handler {
 public:
  // `host`'s mechanisms are shared by every app's jobs (user management is
  // serialized here; the rest must be safe from several threads).
  AgentDaemon(DaemonOptions options, HostServices& host, const AgentSettings& settings);
  AgentDaemon(const AgentDaemon&) = delete;
  AgentDaemon& operator=(const AgentDaemon&) = delete;

  // Loads the state dir, watches the apps' units, and serves the
  // controller until Stop(); then asks running jobs to stop at their next
  // step boundary and waits for them. An error only when it cannot start.
  absl::Status Run();
  // Makes Run return. Any thread, also before Run.
  void Stop();

  // The agent's version (the project's), as sent in Hello.
  static std::string Version();

 private:
  v1::Hello MakeHello() override;
  void OnWelcome(const v1::Welcome& welcome) override;
  void OnWork(const v1::ControllerMessage& message) override;
  // Queues `job`; answers for a job it replaces.
  void Submit(Job job);

  const DaemonOptions options_;
  const AgentSettings settings_;
  SerializedUserManager users_;
  HostServices host_;
  StateStore store_;
  // Declared in dependency order: destroyed workers first, connection last.
  ControllerConnection connection_;
  // Every message for the controller goes through it, to be counted.
  MeteredSink sink_;
  HealthWatcher health_;
  JobRunner runner_;
  AppWorkers workers_;
  // Tails send on connection_, so they go before it.
  JournalctlReader journal_;
  LogTailer logs_;
  DriftScheduler drift_;
};

}  // namespace pyservice::agent

#endif  // PYSERVICE_AGENT_DAEMON_AGENT_DAEMON_H_

// The controller's fleet side, wired together: agent sessions report to it
// (AgentSessionListener), the operator API reads it and tells it when an
// app changed, and it keeps every connected host converged on the desired
// state.
//
// Threads (none per agent):
//  * gRPC reactions call the listener methods: they update the registry in
//    memory, queue a reconcile or a store write, notify watchers; never
//    block.
//  * one reconcile thread plans and sends DeployRequests / RemoveRequests
//    (FleetRegistry::Plan, then AgentConnection::Send), for the hosts
//    queued since its last pass (coalesced: a burst of hellos is one pass);
//  * one sweep thread runs Sweep() every sweep_period (real time; whether a
//    host is lost is decided on the injected Clock);
//  * one HostPersister thread writes host records in batches.
//
// Lock order (a lock may be held while taking one to its right, never the
// reverse): WatchApp reactor → DesiredState → FleetRegistry → HostPersister;
// AgentSessionHandle → AgentSession. FleetEvents and the fleet's own mu_
// are leaves, and so are EventLog and LogTails. Connections and observers are always called with no fleet
// lock held.
#ifndef PYSERVICE_CONTROLLER_FLEET_FLEET_H_
#define PYSERVICE_CONTROLLER_FLEET_FLEET_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/time/clock.h"
#include "controller/fleet/agent_connection.h"
#include "controller/fleet/agent_session.h"
#include "controller/fleet/desired_state.h"
#include "controller/fleet/event_log.h"
#include "controller/fleet/fleet_events.h"
#include "controller/fleet/fleet_metrics.h"
#include "controller/fleet/fleet_registry.h"
#include "controller/fleet/host_persister.h"
#include "controller/fleet/log_tails.h"
#include "controller/rollout/rollout_driver.h"
#include "controller/store/store.h"
#include "pyservice/v1/controller.pb.h"

namespace pyservice::controller::fleet {

struct FleetOptions {
  // Sent to agents in Welcome: how often they send a Heartbeat.
  absl::Duration heartbeat_interval = absl::Seconds(5);
  // A host silent for this many heartbeat intervals is flagged lost.
  int lost_after_heartbeats = 3;
  // last_seen is written to the store at most this often per host.
  absl::Duration last_seen_write_interval = absl::Seconds(30);
  // How often the lost-host sweep runs (real time). Lost is detected within
  // lost_after + sweep_period.
  absl::Duration sweep_period = absl::Seconds(1);
  // A stream without a Hello after this long is ended (DEADLINE_EXCEEDED).
  absl::Duration hello_timeout = absl::Seconds(10);
  // Messages one agent stream may send (agent_session.h): over it, the
  // stream is ended with RESOURCE_EXHAUSTED. 10,000 agents each under it
  // are fine; it is per stream.
  RateLimit agent_message_rate = {.per_second = 100, .burst = 1000};
  // A rollout wave not healthy this long after it started fails its gate.
  absl::Duration wave_timeout = absl::Minutes(30);
  // How often active rollouts are checked without any event (real time).
  absl::Duration rollout_tick = absl::Seconds(1);
  // How long a rollout waits for a host whose stream ended to come back
  // before its wave fails (rollout::RolloutOptions::reconnect_grace).
  absl::Duration reconnect_grace = absl::Seconds(45);
  // Reconcile passes start at least this far apart (real time): results
  // arrive one host at a time, thousands a second during a rollout wave,
  // and each queues its host; a pass per result would wake the reconcile
  // thread once per host instead of once per batch.
  absl::Duration reconcile_gather = absl::Milliseconds(2);
  // Counts sessions, deploys, step durations and gate failures for
  // /metrics; null counts nothing. Must outlive the fleet.
  FleetMetrics* metrics = nullptr;
};

class Fleet final : public AgentSessionListener {
 public:
  // Loads known hosts and the desired state from `store` and starts the
  // threads. `store` and `clock` must outlive the fleet.
  static absl::StatusOr<std::unique_ptr<Fleet>> Create(Store& store, const Clock& clock,
                                                       const FleetOptions& options);
  Fleet(const Fleet&) = delete;
  Fleet& operator=(const Fleet&) = delete;
  // Shutdown().
  ~Fleet() override;

  // AgentSessionListener.
  absl::Status OnHello(uint64_t session_id, const v1::Hello& hello,
                       std::shared_ptr<AgentConnection> session) override;
  void OnMessage(const std::string& host, uint64_t session_id,
                 const v1::AgentMessage& message) override;
  void OnSessionEnded(const std::string& host, uint64_t session_id) override;
  void OnSessionStarted(uint64_t session_id, std::shared_ptr<AgentConnection> session) override;
  void OnSessionAbandoned(uint64_t session_id) override;

  // An app was applied or deleted, or its rollout moved: re-reads it from
  // the store (blocking; call from the operator API's threads), tells its
  // watchers and queues a reconcile of the hosts whose work changed
  // (desired_change.h; every host unless only a rollout's waves moved).
  absl::Status AppChanged(const std::string& app);
  // Ends the host's live stream with `status` (a revoked certificate);
  // nothing when it has none.
  void DisconnectHost(const std::string& host, const grpc::Status& status);

  // ---- reads for the operator API ----
  std::shared_ptr<const DesiredSet> Desired() const { return desired_.Snapshot(); }
  const FleetRegistry& registry() const { return registry_; }
  rollout::RolloutDriver& rollouts() { return *rollouts_; }
  FleetEvents& events() { return events_; }
  // What happened lately, for `pyctl events`. The operator API records
  // applies and deletes here; the fleet and the rollouts the rest.
  EventLog& history() { return history_; }
  absl::Duration heartbeat_interval() const { return options_.heartbeat_interval; }
  // What each new agent stream is told and held to.
  AgentSessionOptions session_options() const {
    return {.heartbeat_interval = options_.heartbeat_interval,
            .rate_limit = options_.agent_message_rate,
            .clock = &clock_};
  }

  // Per app, every host that runs it or is targeted by it. `app` empty:
  // every present app, then apps hosts still run although deleted
  // (revision 0). NOT_FOUND for a named app that is not present.
  absl::StatusOr<std::vector<v1::AppStatus>> Status(const std::string& app) const;
  // Hosts reporting each app (any revision).
  std::map<std::string, uint32_t> HostsRunning() const;

  // ---- logs ----
  struct LogTailOpened {
    uint64_t id = 0;
    std::shared_ptr<LogStream> stream;
  };
  // Asks every connected host that runs `request.app()` (only `host` when
  // not empty) for the app's journal; what they send arrives in the
  // stream. NOT_FOUND when no such host is connected, UNAVAILABLE while
  // shutting down. `request.tail_id` is set here.
  absl::StatusOr<LogTailOpened> OpenLogTail(v1::LogTailRequest request, const std::string& host,
                                            size_t max_buffered_entries);
  // Ends the tail: the hosts still sending are told to stop.
  void CloseLogTail(uint64_t id);

  // ---- control ----
  // Runs the lost-host sweep now (tests; the sweep thread calls it too).
  void SweepNow();
  // Blocks until every queued reconcile pass has run (tests).
  void WaitForReconcile();
  // Blocks until every host record change so far is in the store (tests).
  void FlushHostRecords() { persister_.Flush(); }
  // Refuses new sessions and watchers, closes the open ones (UNAVAILABLE),
  // stops the threads and writes pending host records. Call before the
  // gRPC server's Shutdown so it does not wait for long-lived streams.
  // Idempotent.
  void Shutdown();

 private:
  Fleet(Store& store, const Clock& clock, const FleetOptions& options);

  // Queues a reconcile pass for `host`, or for every host when nullopt.
  void QueueReconcile(const std::optional<std::string>& host);
  void QueueReconcile(const std::vector<std::string>& hosts);
  void ReconcileLoop();
  void SweepLoop();
  // Sends the planned work; called by the reconcile thread.
  void Send(const std::vector<PlannedSend>& sends, const DesiredSet& desired);

  const Clock& clock_;
  const FleetOptions options_;
  DesiredState desired_;
  HostPersister persister_;
  FleetRegistry registry_;
  FleetEvents events_;
  EventLog history_;
  LogTails log_tails_;
  std::unique_ptr<rollout::RolloutDriver> rollouts_;
  // Deploy ids grow across restarts too: they start at the clock's
  // microseconds, not at 1 (nobody sends a million deploys a second).
  std::atomic<uint64_t> next_deploy_id_;

  absl::Mutex mu_;
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  bool reconcile_all_ ABSL_GUARDED_BY(mu_) = false;
  std::set<std::string> reconcile_hosts_ ABSL_GUARDED_BY(mu_);
  // A pass is running (so WaitForReconcile also waits for it).
  bool reconciling_ ABSL_GUARDED_BY(mu_) = false;
  bool threads_stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread reconcile_thread_;
  std::thread sweep_thread_;

  // Streams waiting for their Hello, with when they started. A leaf lock:
  // nothing else is locked or called while it is held.
  struct PendingSession {
    std::shared_ptr<AgentConnection> session;
    absl::Time started;
  };
  absl::Mutex pending_mu_;
  std::map<uint64_t, PendingSession> pending_ ABSL_GUARDED_BY(pending_mu_);

  // The last Status() per app argument ("" for all), reused while neither
  // the hosts (FleetRegistry::Generation) nor the desired set changed: at
  // 10,000 hosts a status built from the hosts costs ~10 ms of CPU under
  // the registry lock, and a fleet at rest changes only by heartbeats,
  // which change no status. A leaf lock.
  struct CachedStatus {
    uint64_t generation = 0;
    std::shared_ptr<const DesiredSet> desired;
    std::vector<v1::AppStatus> apps;
  };
  absl::StatusOr<std::vector<v1::AppStatus>> BuildStatus(const std::string& app,
                                                         const DesiredSet& desired) const;
  mutable absl::Mutex status_mu_;
  mutable std::map<std::string, CachedStatus> status_cache_ ABSL_GUARDED_BY(status_mu_);
};

}  // namespace pyservice::controller::fleet

#endif  // PYSERVICE_CONTROLLER_FLEET_FLEET_H_

// Every host the controller knows, in memory: whether it is connected, its
// labels, agent version, when it was last heard from, every app it reports,
// and what it has been asked to do. The live source for `pyctl get hosts`,
// `pyctl status` and the reconciler; host records are persisted through the
// HostPersister (first Hello, label changes, and last_seen at most every
// FleetOptions::last_seen_write_interval per host).
//
// Connected means: its stream is up and it is not lost. A host whose
// messages stop for `lost_after` (three heartbeat intervals) is flagged lost
// by Sweep() and counts as disconnected until it is heard from again.
// Nothing is stopped on a lost host: it just gets no new work.
//
// Every method takes mu_ briefly and never calls out while holding it
// (sessions are returned to the caller, who sends after unlocking), so it
// is safe from gRPC reactions.
#ifndef PYSERVICE_CONTROLLER_FLEET_FLEET_REGISTRY_H_
#define PYSERVICE_CONTROLLER_FLEET_FLEET_REGISTRY_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/time/clock.h"
#include "controller/fleet/agent_connection.h"
#include "controller/fleet/host_persister.h"
#include "controller/fleet/host_view.h"
#include "controller/fleet/reconciler.h"
#include "controller/store/store.h"

namespace pyservice::controller::fleet {

struct RegistryOptions {
  // A host silent this long is lost.
  absl::Duration lost_after = absl::Seconds(15);
  // last_seen is written to the store at most this often per host.
  absl::Duration last_seen_write_interval = absl::Seconds(30);
};

// One host for listings.
struct HostSummary {
  std::string name;
  bool connected = false;
  bool lost = false;
  Labels labels;
  std::string agent_version;
  absl::Time first_seen;
  absl::Time last_seen;
  size_t apps = 0;
};

// One host as listings show it, read in place under the registry's lock
// (ForEachListedHost): the references live only during the visit.
struct ListedHost {
  const std::string& name;
  const Labels& labels;
  const std::string& agent_version;
  absl::Time first_seen;
  absl::Time last_seen;
  bool connected = false;
  bool lost = false;
  size_t apps = 0;
  // Changes whenever labels, agent_version or first_seen may have (the
  // host's Hello, or its record loaded at start), and only then: a listing
  // cached at one value shows them as they still are.
  uint64_t hello_generation = 0;

  // A copy that outlives the visit.
  HostSummary Summary() const {
    return HostSummary{.name = name,
                       .connected = connected,
                       .lost = lost,
                       .labels = labels,
                       .agent_version = agent_version,
                       .first_seen = first_seen,
                       .last_seen = last_seen,
                       .apps = apps};
  }
};

// A DeployRequest or RemoveRequest the registry has recorded as in flight
// (or a CancelRequest for one, deploy_id naming the deploy canceled);
// the caller builds and sends it.
struct PlannedSend {
  std::shared_ptr<AgentConnection> session;
  std::string host;
  ReconcileAction action;
  uint64_t deploy_id = 0;
};

// What a DeployResult meant, for logs and watchers.
struct ResultOutcome {
  // The result answered the deploy in flight (else it was stale: ignored
  // for tracking, though its `live` report is kept).
  bool matched = false;
  InFlightDeploy deploy;
};

class FleetRegistry {
 public:
  // `clock` and `persister` must outlive the registry.
  FleetRegistry(const Clock& clock, HostPersister& persister, RegistryOptions options);

  // Adds the stored hosts (at start, before any session): known, not
  // connected, reporting nothing until they say Hello.
  void Load(const std::vector<StoredHost>& hosts);

  // Makes `session` the current session of hello.host(): registers a new
  // host, takes the Hello's labels, version and apps (replacing earlier
  // reports), forgets deploys in flight (the agent's Hello is the truth now;
  // their results may still arrive and are kept as reports) and persists the
  // host record. Returns the session it replaced, if any, for the caller to
  // close.
  std::shared_ptr<AgentConnection> Attach(uint64_t session_id, const v1::Hello& hello,
                                             std::shared_ptr<AgentConnection> session);
  // The session ended: the host is disconnected, unless a newer session has
  // replaced this one. True when it was the host's current session.
  bool Detach(const std::string& host, uint64_t session_id);
  // The host's current session; null when it has none.
  std::shared_ptr<AgentConnection> Session(const std::string& host) const;

  // The methods below record a message of session `session_id` of `host`;
  // a message of a replaced session is ignored (returns false / nullopt).
  // Every one counts as hearing from the host (last_seen, no longer lost).

  // True if the host was lost and is connected again (it may need work).
  bool Heard(const std::string& host, uint64_t session_id);
  bool RecordProgress(const std::string& host, uint64_t session_id,
                      const v1::StepProgress& progress);
  // A DeployResult: clears the matching in-flight deploy, records a failure
  // (or clears the app's failure on success) and takes `live` as the app's
  // report (a successful removal drops the report).
  std::optional<ResultOutcome> RecordResult(const std::string& host, uint64_t session_id,
                                            const v1::DeployResult& result);
  bool RecordHealth(const std::string& host, uint64_t session_id, const v1::AppHealth& health);

  // Runs the reconciler for the named hosts (all hosts when `hosts` is
  // nullopt) against `desired`, records each planned action as in flight
  // with an id from `next_deploy_id`, and returns them with their sessions.
  // Planning and recording happen under one lock hold, so two passes can
  // never send the same work twice. Preparations come last, in host order
  // like the rest: they are for later waves, and the deploys of the wave
  // that runs now should not wait behind them in the send loop.
  std::vector<PlannedSend> Plan(const std::optional<std::vector<std::string>>& hosts,
                                const DesiredSet& desired,
                                const std::function<uint64_t()>& next_deploy_id);

  // Flags hosts silent for lost_after as lost; returns their names.
  std::vector<std::string> Sweep();

  // Detaches every session (controller shutdown) and returns them to close.
  std::vector<std::shared_ptr<AgentConnection>> DetachAll();

  // Reads under the lock; `visit` must be quick and must not call back into
  // the registry.
  void ForEachHost(const std::function<void(const HostView&)>& visit) const;
  // How long a host has been out of touch, for gates that must tell a host
  // that is gone from one that is reconnecting.
  struct Liveness {
    bool lost = false;
    absl::Time last_seen;
  };
  // Visits each named host under the lock (`view` null for an unknown
  // one); `visit` must be quick and must not call back into the registry.
  void ForHosts(const std::vector<std::string>& names,
                const std::function<void(const std::string& name, const HostView* view,
                                         const Liveness& liveness)>& visit) const;
  // nullopt for an unknown host.
  std::optional<HostView> GetHost(const std::string& name) const;
  // Grows with every change of a HostView (connected, labels, apps, deploys
  // in flight, failures, preparations), not with a heartbeat that changes
  // none of them: a view built from the hosts at one generation is still
  // current while the generation is the same (Fleet::Status caches by it).
  uint64_t Generation() const;
  std::vector<HostSummary> ListHosts() const;
  // Every host by name, without copying it; `visit` must be quick and must
  // not call back into the registry.
  void ForEachListedHost(const std::function<void(const ListedHost&)>& visit) const;

 private:
  struct Host {
    HostView view;
    std::string agent_version;
    absl::Time first_seen;
    absl::Time last_seen;
    // last_seen as last handed to the persister.
    absl::Time last_seen_written;
    bool lost = false;
    // The generation of its last Hello (or load): ListedHost::hello_generation.
    uint64_t hello_generation = 0;
    uint64_t session_id = 0;
    std::shared_ptr<AgentConnection> session;  // null when disconnected
  };

  // The host if `session_id` is its current session, after marking it
  // heard from; else null. Sets *recovered when it was lost.
  Host* HearLocked(const std::string& host, uint64_t session_id, bool* recovered = nullptr)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PersistLocked(Host& host) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PlanHostLocked(Host& host, const DesiredSet& desired,
                      const std::function<uint64_t()>& next_deploy_id,
                      std::vector<PlannedSend>& out) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Clock& clock_;
  HostPersister& persister_;
  const RegistryOptions options_;
  // A leaf lock: nothing else is locked while it is held (the persister's
  // lock is taken inside it, and takes nothing else).
  mutable absl::Mutex mu_;
  std::map<std::string, Host> hosts_ ABSL_GUARDED_BY(mu_);
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace pyservice::controller::fleet

#endif  // PYSERVICE_CONTROLLER_FLEET_FLEET_REGISTRY_H_

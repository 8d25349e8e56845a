#include "controller/fleet/fleet_registry.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace pyservice::controller::fleet {

FleetRegistry::FleetRegistry(const Clock& clock, HostPersister& persister,
                             RegistryOptions options)
    : clock_(clock), persister_(persister), options_(options) {}

void FleetRegistry::Load(const std::vector<StoredHost>& hosts) {
  absl::MutexLock lock(&mu_);
  ++generation_;
  for (const StoredHost& stored : hosts) {
    Host& host = hosts_[stored.name];
    host.view.name = stored.name;
    host.view.labels = stored.labels;
    host.agent_version = stored.agent_version;
    host.first_seen = stored.first_seen;
    host.last_seen = stored.last_seen;
    host.last_seen_written = stored.last_seen;
    host.hello_generation = generation_;
  }
}

std::shared_ptr<AgentConnection> FleetRegistry::Attach(
    uint64_t session_id, const v1::Hello& hello, std::shared_ptr<AgentConnection> session) {
  const absl::Time now = clock_.Now();
  absl::MutexLock lock(&mu_);
  ++generation_;
  auto [it, inserted] = hosts_.try_emplace(hello.host());
  Host& host = it->second;
  if (inserted) host.first_seen = now;
  host.view.name = hello.host();
  host.view.labels = Labels(hello.labels().begin(), hello.labels().end());
  host.view.apps.clear();
  for (const v1::AppHealth& app : hello.apps()) host.view.apps[app.app()] = app;
  host.view.in_flight.clear();
  host.view.connected = true;
  host.agent_version = hello.agent_version();
  host.last_seen = now;
  host.lost = false;
  host.hello_generation = generation_;
  std::shared_ptr<AgentConnection> replaced = std::move(host.session);
  host.session = std::move(session);
  host.session_id = session_id;
  PersistLocked(host);
  return replaced;
}

bool FleetRegistry::Detach(const std::string& name, uint64_t session_id) {
  absl::MutexLock lock(&mu_);
  const auto it = hosts_.find(name);
  if (it == hosts_.end() || it->second.session_id != session_id || !it->second.session) {
    return false;
  }
  Host& host = it->second;
  ++generation_;
  host.session.reset();
  host.view.connected = false;
  host.lost = false;
  // Its deploys are no longer followed; the next Hello says what runs.
  host.view.in_flight.clear();
  if (host.last_seen != host.last_seen_written) PersistLocked(host);
  return true;
}

FleetRegistry::Host* FleetRegistry::HearLocked(const std::string& name, uint64_t session_id,
                                               bool* recovered) {
  const auto it = hosts_.find(name);
  if (it == hosts_.end() || it->second.session_id != session_id || !it->second.session) {
    return nullptr;
  }
  Host& host = it->second;
  host.last_seen = clock_.Now();
  if (host.lost) {
    ++generation_;
    host.lost = false;
    host.view.connected = true;
    if (recovered != nullptr) *recovered = true;
  }
  if (host.last_seen - host.last_seen_written >= options_.last_seen_write_interval) {
    PersistLocked(host);
  }
  return &host;
}

void FleetRegistry::PersistLocked(Host& host) {
  StoredHost stored;
  stored.name = host.view.name;
  stored.labels = host.view.labels;
  stored.agent_version = host.agent_version;
  stored.first_seen = host.first_seen;
  stored.last_seen = host.last_seen;
  persister_.Enqueue(std::move(stored));
  host.last_seen_written = host.last_seen;
}

bool FleetRegistry::Heard(const std::string& name, uint64_t session_id) {
  absl::MutexLock lock(&mu_);
  bool recovered = false;
  HearLocked(name, session_id, &recovered);
  return recovered;
}

bool FleetRegistry::RecordProgress(const std::string& name, uint64_t session_id,
                                   const v1::StepProgress& progress) {
  absl::MutexLock lock(&mu_);
  Host* host = HearLocked(name, session_id);
  if (host == nullptr) return false;
  const auto it = host->view.in_flight.find(progress.app());
  if (it == host->view.in_flight.end() || it->second.deploy_id != progress.deploy_id()) {
    return false;  // a deploy we no longer follow
  }
  ++generation_;
  InFlightDeploy& deploy = it->second;
  deploy.step = progress.step();
  deploy.step_state = progress.state();
  deploy.step_elapsed_ms = progress.elapsed_ms();
  deploy.step_message = progress.message();
  return true;
}

std::optional<ResultOutcome> FleetRegistry::RecordResult(const std::string& name,
                                                         uint64_t session_id,
                                                         const v1::DeployResult& result) {
  absl::MutexLock lock(&mu_);
  Host* host = HearLocked(name, session_id);
  if (host == nullptr) return std::nullopt;
  ++generation_;
  const std::string& app = result.app();
  HostView& view = host->view;
  const bool has_live = result.has_live() && !result.live().app().empty();
  auto keep_live = [&] {
    v1::AppHealth live = result.live();
    live.set_app(app);
    view.apps[app] = std::move(live);
  };

  ResultOutcome outcome;
  const auto it = view.in_flight.find(app);
  if (it != view.in_flight.end() && it->second.deploy_id == result.deploy_id()) {
    outcome.matched = true;
    outcome.deploy = std::move(it->second);
    view.in_flight.erase(it);
  }
  if (!outcome.matched) {
    if (has_live) keep_live();
    return outcome;
  }
  const InFlightDeploy& deploy = outcome.deploy;
  if (deploy.prepare) {
    // Nothing live changed: the result only says whether the next wave
    // finds the release ready.
    view.preparations[app] = {deploy.digest, result.ok(), result.error()};
    if (has_live) keep_live();
    return outcome;
  }
  if (!result.ok() && deploy.cancel_sent) {
    // Canceled because another revision is wanted: not that revision's
    // failure, so it may be sent again later (an undo of the rollback).
    if (has_live) keep_live();
    return outcome;
  }
  if (!result.ok()) {
    view.failures[app] = {deploy.revision, deploy.remove, result.failed_step(), result.error()};
    if (has_live) keep_live();
    return outcome;
  }
  view.failures.erase(app);
  if (deploy.remove) {
    view.apps.erase(app);
    return outcome;
  }
  if (!has_live) {
    // An agent that says only "ok" runs what it was sent.
    v1::AppHealth& live = view.apps[app];
    live.set_app(app);
    live.set_revision(deploy.revision);
    live.set_spec_digest(deploy.digest);
    live.set_health(v1::HEALTH_STATE_HEALTHY);
    return outcome;
  }
  keep_live();
  if (result.live().spec_digest() != deploy.digest) {
    // Success, yet something else runs (e.g. the agent digests specs
    // differently): recorded as a failure of this revision, so it is shown
    // to operators instead of being redeployed forever.
    view.failures[app] = {
        deploy.revision, false, "",
        absl::StrCat("the agent reported success but runs spec digest \"",
                     result.live().spec_digest(), "\", not revision ", deploy.revision,
                     "'s \"", deploy.digest, "\"")};
  } else if (result.live().unverified()) {
    // The deploy sent to verify that release says it did, yet the release
    // is still unverified: a failure, so it is not sent again forever (the
    // reconciler resends unverified releases).
    view.failures[app] = {deploy.revision, false, "verify",
                          "the agent reported success but its release is still unverified"};
  }
  return outcome;
}

bool FleetRegistry::RecordHealth(const std::string& name, uint64_t session_id,
                                 const v1::AppHealth& health) {
  if (health.app().empty()) return false;
  absl::MutexLock lock(&mu_);
  Host* host = HearLocked(name, session_id);
  if (host == nullptr) return false;
  ++generation_;
  host->view.apps[health.app()] = health;
  return true;
}

std::vector<PlannedSend> FleetRegistry::Plan(
    const std::optional<std::vector<std::string>>& names, const DesiredSet& desired,
    const std::function<uint64_t()>& next_deploy_id) {
  std::vector<PlannedSend> out;
  {
    absl::MutexLock lock(&mu_);
    if (!names.has_value()) {
      for (auto& [name, host] : hosts_) PlanHostLocked(host, desired, next_deploy_id, out);
    } else {
      for (const std::string& name : *names) {
        const auto it = hosts_.find(name);
        if (it != hosts_.end()) PlanHostLocked(it->second, desired, next_deploy_id, out);
      }
    }
  }
  std::stable_partition(out.begin(), out.end(), [](const PlannedSend& send) {
    return send.action.kind != ReconcileAction::Kind::kPrepare;
  });
  return out;
}

void FleetRegistry::PlanHostLocked(Host& host, const DesiredSet& desired,
                                   const std::function<uint64_t()>& next_deploy_id,
                                   std::vector<PlannedSend>& out) {
  if (!host.view.connected || host.session == nullptr) return;
  std::vector<ReconcileAction> actions = PlanHost(host.view, desired);
  if (!actions.empty()) ++generation_;  // deploys in flight change
  for (ReconcileAction& action : actions) {
    if (action.kind == ReconcileAction::Kind::kCancel) {
      host.view.in_flight[action.app].cancel_sent = true;
      const uint64_t id = action.deploy_id;
      out.push_back({host.session, host.view.name, std::move(action), id});
      continue;
    }
    InFlightDeploy deploy;
    deploy.deploy_id = next_deploy_id();
    deploy.remove = action.kind == ReconcileAction::Kind::kRemove;
    deploy.prepare = action.kind == ReconcileAction::Kind::kPrepare;
    if (!deploy.remove) {
      const DesiredApp& app = desired.at(action.app);
      deploy.revision = action.revision;
      deploy.digest = action.revision == app.revision ? app.digest : app.from.digest;
    }
    host.view.in_flight[action.app] = deploy;
    out.push_back({host.session, host.view.name, std::move(action), deploy.deploy_id});
  }
}

std::vector<std::string> FleetRegistry::Sweep() {
  const absl::Time now = clock_.Now();
  std::vector<std::string> lost;
  absl::MutexLock lock(&mu_);
  for (auto& [name, host] : hosts_) {
    if (host.session == nullptr || host.lost) continue;
    if (now - host.last_seen < options_.lost_after) continue;
    ++generation_;
    host.lost = true;
    host.view.connected = false;
    lost.push_back(name);
  }
  return lost;
}

std::shared_ptr<AgentConnection> FleetRegistry::Session(const std::string& host) const {
  absl::MutexLock lock(&mu_);
  auto it = hosts_.find(host);
  return it == hosts_.end() ? nullptr : it->second.session;
}

std::vector<std::shared_ptr<AgentConnection>> FleetRegistry::DetachAll() {
  std::vector<std::shared_ptr<AgentConnection>> sessions;
  absl::MutexLock lock(&mu_);
  for (auto& [name, host] : hosts_) {
    if (host.session == nullptr) continue;
    ++generation_;
    sessions.push_back(std::move(host.session));
    host.session.reset();
    host.view.connected = false;
    host.lost = false;
    host.view.in_flight.clear();
    if (host.last_seen != host.last_seen_written) PersistLocked(host);
  }
  return sessions;
}

void FleetRegistry::ForEachHost(const std::function<void(const HostView&)>& visit) const {
  absl::MutexLock lock(&mu_);
  for (const auto& [name, host] : hosts_) visit(host.view);
}

void FleetRegistry::ForHosts(
    const std::vector<std::string>& names,
    const std::function<void(const std::string&, const HostView*, const Liveness&)>& visit) const {
  absl::MutexLock lock(&mu_);
  for (const std::string& name : names) {
    const auto it = hosts_.find(name);
    if (it == hosts_.end()) {
      visit(name, nullptr, Liveness());
    } else {
      visit(name, &it->second.view, Liveness{it->second.lost, it->second.last_seen});
    }
  }
}

std::optional<HostView> FleetRegistry::GetHost(const std::string& name) const {
  absl::MutexLock lock(&mu_);
  const auto it = hosts_.find(name);
  if (it == hosts_.end()) return std::nullopt;
  return it->second.view;
}

uint64_t FleetRegistry::Generation() const {
  absl::MutexLock lock(&mu_);
  return generation_;
}

std::vector<HostSummary> FleetRegistry::ListHosts() const {
  std::vector<HostSummary> hosts;
  ForEachListedHost([&hosts](const ListedHost& host) { hosts.push_back(host.Summary()); });
  return hosts;
}

void FleetRegistry::ForEachListedHost(
    const std::function<void(const ListedHost&)>& visit) const {
  absl::MutexLock lock(&mu_);
  for (const auto& [name, host] : hosts_) {
    visit(ListedHost{.name = name,
                     .labels = host.view.labels,
                     .agent_version = host.agent_version,
                     .first_seen = host.first_seen,
                     .last_seen = host.last_seen,
                     .connected = host.view.connected,
                     .lost = host.lost,
                     .apps = host.view.apps.size(),
                     .hello_generation = host.hello_generation});
  }
}

}  // namespace pyservice::controller::fleet

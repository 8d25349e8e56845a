#include "controller/fleet/fleet.h"

#include <map>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "common/text/log_text.h"
#include "controller/fleet/deploy_status.h"
#include "controller/fleet/reconciler.h"
#include "controller/fleet/repo_credentials.h"
#include "spdlog/spdlog.h"

namespace pyservice::controller::fleet {
namespace {

// The `kind` label of a request sent to an agent.
absl::string_view SendKind(const ReconcileAction& action) {
  switch (action.kind) {
    case ReconcileAction::Kind::kCancel:
      return "cancel";
    case ReconcileAction::Kind::kRemove:
      return "remove";
    case ReconcileAction::Kind::kPrepare:
      return "prepare";
    default:
      return "deploy";
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<Fleet>> Fleet::Create(Store& store, const Clock& clock,
                                                     const FleetOptions& options) {
  if (options.heartbeat_interval < absl::Milliseconds(1) || options.lost_after_heartbeats < 1) {
    return absl::InvalidArgumentError("heartbeat interval must be at least 1ms");
  }
  std::unique_ptr<Fleet> fleet(new Fleet(store, clock, options));
  ASSIGN_OR_RETURN(const std::vector<StoredHost> hosts, store.ListHosts());
  fleet->registry_.Load(hosts);
  RETURN_IF_ERROR(fleet->desired_.LoadAll());
  spdlog::info("fleet: {} known host(s), {} app(s)", hosts.size(), fleet->Desired()->size());
  fleet->reconcile_thread_ = std::thread([f = fleet.get()] { f->ReconcileLoop(); });
  fleet->sweep_thread_ = std::thread([f = fleet.get()] { f->SweepLoop(); });
  rollout::RolloutOptions rollout_options;
  rollout_options.engine.wave_timeout = options.wave_timeout;
  rollout_options.tick = options.rollout_tick;
  rollout_options.reconnect_grace = options.reconnect_grace;
  rollout_options.metrics = options.metrics;
  fleet->rollouts_ = std::make_unique<rollout::RolloutDriver>(
      store, clock, fleet->registry_, fleet->events_, fleet->history_,
      [f = fleet.get()](const std::string& app) { return f->AppChanged(app); }, rollout_options);
  RETURN_IF_ERROR(fleet->rollouts_->Start());
  return fleet;
}

Fleet::Fleet(Store& store, const Clock& clock, const FleetOptions& options)
    : clock_(clock),
      options_(options),
      desired_(store),
      persister_(store),
      registry_(clock, persister_,
                RegistryOptions{options.heartbeat_interval * options.lost_after_heartbeats,
                                options.last_seen_write_interval}),
      history_(clock),
      next_deploy_id_(static_cast<uint64_t>(absl::ToUnixMicros(clock.Now()))) {}

Fleet::~Fleet() { Shutdown(); }

void Fleet::OnSessionStarted(uint64_t session_id, std::shared_ptr<AgentConnection> session) {
  absl::MutexLock lock(&pending_mu_);
  pending_[session_id] = PendingSession{std::move(session), clock_.Now()};
}

void Fleet::OnSessionAbandoned(uint64_t session_id) {
  absl::MutexLock lock(&pending_mu_);
  pending_.erase(session_id);
}

absl::Status Fleet::OnHello(uint64_t session_id, const v1::Hello& hello,
                            std::shared_ptr<AgentConnection> session) {
  {
    absl::MutexLock lock(&pending_mu_);
    pending_.erase(session_id);
  }
  {
    absl::MutexLock lock(&mu_);
    if (shutting_down_) return absl::UnavailableError("the controller is shutting down");
  }
  std::shared_ptr<AgentConnection> replaced =
      registry_.Attach(session_id, hello, std::move(session));
  if (replaced != nullptr) {
    replaced->Close(grpc::Status(grpc::StatusCode::ABORTED,
                                 absl::StrCat("replaced by a newer session of host ", hello.host())));
    spdlog::info("host {} reconnected (agent {}); its previous session is closed", hello.host(),
                 text::ForLog(hello.agent_version()));
  } else {
    spdlog::info("host {} connected (agent {}, {} app(s))", hello.host(),
                 text::ForLog(hello.agent_version()), hello.apps_size());
  }
  v1::FleetEvent connected;
  connected.set_kind(v1::FLEET_EVENT_KIND_HOST_CONNECTED);
  connected.set_host(hello.host());
  connected.set_message(absl::StrCat("agent ", text::ForLog(hello.agent_version()),
                                     replaced != nullptr ? ", replacing its previous session" : ""));
  history_.Record(std::move(connected));
  if (options_.metrics != nullptr) options_.metrics->SessionStarted();
  events_.HostChanged("", hello.host());
  QueueReconcile(hello.host());
  return absl::OkStatus();
}

void Fleet::OnMessage(const std::string& host, uint64_t session_id,
                      const v1::AgentMessage& received) {
  if (received.has_logs()) {
    // App output, for the operator who asked: never logged here.
    log_tails_.Deliver(host, received.logs());
    return;
  }
  // Before anything keeps or logs it (repo_credentials.h).
  const std::optional<v1::AgentMessage> scrubbed =
      RedactRepoCredentials(*desired_.Snapshot(), received);
  const v1::AgentMessage& message = scrubbed.has_value() ? *scrubbed : received;
  switch (message.message_case()) {
    case v1::AgentMessage::kHeartbeat:
      if (registry_.Heard(host, session_id)) {
        spdlog::info("host {} is heard from again", host);
        events_.HostChanged("", host);
        QueueReconcile(host);
      }
      break;
    case v1::AgentMessage::kProgress:
      // Only progress of a deploy the controller sent is counted, so agents
      // cannot invent series.
      if (registry_.RecordProgress(host, session_id, message.progress())) {
        if (options_.metrics != nullptr) options_.metrics->StepFinished(message.progress());
        events_.HostChanged(message.progress().app(), host);
      }
      break;
    case v1::AgentMessage::kResult: {
      const v1::DeployResult& result = message.result();
      const std::optional<ResultOutcome> outcome =
          registry_.RecordResult(host, session_id, result);
      if (!outcome.has_value()) break;
      if (outcome->matched) {
        const InFlightDeploy& deploy = outcome->deploy;
        if (options_.metrics != nullptr) {
          options_.metrics->DeployFinished(result.app(), result.ok());
        }
        const std::string what =
            deploy.remove ? std::string("removal")
                          : absl::StrCat(deploy.prepare ? "preparing revision " : "revision ",
                                         deploy.revision);
        v1::FleetEvent ended;
        ended.set_kind(result.ok() ? v1::FLEET_EVENT_KIND_DEPLOY_SUCCEEDED
                                   : v1::FLEET_EVENT_KIND_DEPLOY_FAILED);
        ended.set_app(result.app());
        ended.set_host(host);
        ended.set_revision(deploy.revision);
        ended.set_id(result.deploy_id());
        // Agent text, printed in operators' terminals: quoted as for logs.
        ended.set_step(text::ForLog(result.failed_step()));
        ended.set_message(absl::StrCat(
            what, result.ok() ? "" : ": ", text::ForLog(result.error(), 1000),
            result.rolled_back() ? "; rolled back" : ""));
        history_.Record(std::move(ended));
        if (result.ok()) {
          spdlog::info("host {}: {} {} succeeded (deploy {})", host, text::ForLog(result.app()),
                       what, result.deploy_id());
        } else {
          spdlog::warn("host {}: {} {} failed at step {}: {}{} (deploy {})", host,
                       text::ForLog(result.app()), what, text::ForLog(result.failed_step()),
                       text::ForLog(result.error(), 1000),
                       result.rolled_back() ? "; rolled back" : "", result.deploy_id());
        }
      }
      events_.HostChanged(result.app(), host);
      QueueReconcile(host);
      break;
    }
    case v1::AgentMessage::kHealth:
      if (registry_.RecordHealth(host, session_id, message.health())) {
        events_.HostChanged(message.health().app(), host);
      }
      break;
    default:
      break;
  }
}

void Fleet::OnSessionEnded(const std::string& host, uint64_t session_id) {
  // The agent stops its tails when its next stream starts.
  log_tails_.HostGone(host);
  if (registry_.Detach(host, session_id)) {
    v1::FleetEvent disconnected;
    disconnected.set_kind(v1::FLEET_EVENT_KIND_HOST_DISCONNECTED);
    disconnected.set_host(host);
    history_.Record(std::move(disconnected));
  }
  spdlog::info("host {}: session {} ended", host, session_id);
  events_.HostChanged("", host);
}

absl::Status Fleet::AppChanged(const std::string& app) {
  absl::StatusOr<std::optional<std::vector<std::string>>> changed = desired_.Refresh(app);
  if (!changed.ok()) {
    spdlog::error("app {}: cannot load its desired state: {}", app,
                  std::string(changed.status().message()));
    return changed.status();
  }
  events_.AppChanged(app);
  if (changed->has_value()) {
    // A rollout's wave started: only that wave's hosts and the ones now
    // preparing have new work.
    QueueReconcile(**changed);
  } else {
    QueueReconcile(std::nullopt);
  }
  return absl::OkStatus();
}

void Fleet::QueueReconcile(const std::optional<std::string>& host) {
  absl::MutexLock lock(&mu_);
  if (threads_stopping_) return;
  if (host.has_value()) {
    reconcile_hosts_.insert(*host);
  } else {
    reconcile_all_ = true;
  }
}

void Fleet::QueueReconcile(const std::vector<std::string>& hosts) {
  if (hosts.empty()) return;
  absl::MutexLock lock(&mu_);
  if (threads_stopping_) return;
  reconcile_hosts_.insert(hosts.begin(), hosts.end());
}

void Fleet::ReconcileLoop() {
  while (true) {
    std::optional<std::vector<std::string>> hosts;
    {
      absl::MutexLock lock(&mu_);
      auto has_work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return reconcile_all_ || !reconcile_hosts_.empty() || threads_stopping_;
      };
      mu_.Await(absl::Condition(&has_work));
      if (threads_stopping_) return;
      if (!reconcile_all_) hosts.emplace(reconcile_hosts_.begin(), reconcile_hosts_.end());
      reconcile_all_ = false;
      reconcile_hosts_.clear();
      reconciling_ = true;
    }
    const std::shared_ptr<const DesiredSet> desired = desired_.Snapshot();
    const std::vector<PlannedSend> sends =
        registry_.Plan(hosts, *desired, [this] { return next_deploy_id_++; });
    Send(sends, *desired);
    absl::MutexLock lock(&mu_);
    reconciling_ = false;
    // Hosts queued meanwhile wait for the next pass together.
    if (mu_.AwaitWithTimeout(absl::Condition(&threads_stopping_), options_.reconcile_gather)) {
      return;
    }
  }
}

void Fleet::Send(const std::vector<PlannedSend>& sends, const DesiredSet& desired) {
  size_t deploys = 0;
  size_t prepares = 0;
  for (const PlannedSend& send : sends) {
    v1::ControllerMessage message;
    const ReconcileAction& action = send.action;
    if (action.kind == ReconcileAction::Kind::kCancel) {
      message.mutable_cancel()->set_deploy_id(send.deploy_id);
      spdlog::info("host {}: canceling deploy {} of {}: another revision is wanted now",
                   send.host, send.deploy_id, action.app);
    } else if (action.kind != ReconcileAction::Kind::kRemove) {
      const DesiredApp& app = desired.at(action.app);
      const DesiredRevision& revision = action.revision == app.revision ? app : app.from;
      const bool prepare = action.kind == ReconcileAction::Kind::kPrepare;
      v1::DeployRequest& deploy = *message.mutable_deploy();
      deploy.set_deploy_id(send.deploy_id);
      deploy.set_revision(revision.revision);
      *deploy.mutable_spec() = *revision.spec;
      // Agents cannot compute the keyed digest; they report this one.
      deploy.set_spec_digest(revision.digest);
      deploy.set_prepare_only(prepare);
      ++(prepare ? prepares : deploys);
      if (!prepare) {
        v1::FleetEvent started;
        started.set_kind(v1::FLEET_EVENT_KIND_DEPLOY_STARTED);
        started.set_app(action.app);
        started.set_host(send.host);
        started.set_revision(revision.revision);
        started.set_id(send.deploy_id);
        started.set_message(absl::StrCat("revision ", revision.revision, " (", revision.tag, ")"));
        history_.Record(std::move(started));
      }
      spdlog::debug("host {}: {} {} revision {} (deploy {})", send.host,
                    prepare ? "preparing" : "deploying", action.app, revision.revision,
                    send.deploy_id);
    } else {
      v1::RemoveRequest& remove = *message.mutable_remove();
      remove.set_deploy_id(send.deploy_id);
      remove.set_app(action.app);
      v1::FleetEvent started;
      started.set_kind(v1::FLEET_EVENT_KIND_DEPLOY_STARTED);
      started.set_app(action.app);
      started.set_host(send.host);
      started.set_id(send.deploy_id);
      started.set_message("removal");
      history_.Record(std::move(started));
      spdlog::info("host {}: removing {} (deploy {})", send.host, action.app, send.deploy_id);
    }
    send.session->Send(std::move(message));
    if (options_.metrics != nullptr) options_.metrics->DeploySent(action.app, SendKind(action));
    events_.HostChanged(action.app, send.host);
  }
  if (deploys > 0) spdlog::info("sent {} deploy request(s)", deploys);
  if (prepares > 0) spdlog::info("sent {} prepare request(s)", prepares);
}

void Fleet::SweepLoop() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (mu_.AwaitWithTimeout(absl::Condition(&threads_stopping_), options_.sweep_period)) {
        return;
      }
    }
    SweepNow();
  }
}

void Fleet::SweepNow() {
  std::vector<std::shared_ptr<AgentConnection>> silent;
  {
    absl::MutexLock lock(&pending_mu_);
    const absl::Time now = clock_.Now();
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (now - it->second.started >= options_.hello_timeout) {
        silent.push_back(std::move(it->second.session));
        it = pending_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (const std::shared_ptr<AgentConnection>& session : silent) {
    session->Close(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                                absl::StrCat("no Hello within ",
                                             absl::FormatDuration(options_.hello_timeout))));
  }
  for (const std::string& host : registry_.Sweep()) {
    spdlog::warn("host {} is lost: not heard from for {}; its apps are left running", host,
                 absl::FormatDuration(options_.heartbeat_interval * options_.lost_after_heartbeats));
    events_.HostChanged("", host);
  }
}

void Fleet::WaitForReconcile() {
  absl::MutexLock lock(&mu_);
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return threads_stopping_ || (!reconcile_all_ && reconcile_hosts_.empty() && !reconciling_);
  };
  mu_.Await(absl::Condition(&idle));
}

void Fleet::DisconnectHost(const std::string& host, const grpc::Status& status) {
  if (std::shared_ptr<AgentConnection> session = registry_.Session(host); session != nullptr) {
    spdlog::info("closing the stream of host {}: {}", host, status.error_message());
    session->Close(status);
  }
}

void Fleet::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    if (shutting_down_) return;
    shutting_down_ = true;
  }
  if (rollouts_ != nullptr) rollouts_->Stop();
  std::vector<std::shared_ptr<AgentConnection>> sessions = registry_.DetachAll();
  {
    absl::MutexLock lock(&pending_mu_);
    for (auto& [id, pending] : pending_) sessions.push_back(std::move(pending.session));
    pending_.clear();
  }
  for (const std::shared_ptr<AgentConnection>& session : sessions) {
    session->Close(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the controller is shutting down"));
  }
  events_.Shutdown();
  history_.Shutdown();
  log_tails_.Shutdown();
  {
    absl::MutexLock lock(&mu_);
    threads_stopping_ = true;
  }
  if (reconcile_thread_.joinable()) reconcile_thread_.join();
  if (sweep_thread_.joinable()) sweep_thread_.join();
  persister_.Stop();
}

absl::StatusOr<Fleet::LogTailOpened> Fleet::OpenLogTail(v1::LogTailRequest request,
                                                        const std::string& host,
                                                        size_t max_buffered_entries) {
  std::map<std::string, std::shared_ptr<AgentConnection>> sessions;
  registry_.ForEachHost([&](const HostView& view) {
    if (!view.connected || !view.apps.contains(request.app())) return;
    if (!host.empty() && view.name != host) return;
    sessions[view.name] = nullptr;
  });
  for (auto& [name, session] : sessions) session = registry_.Session(name);
  std::erase_if(sessions, [](const auto& entry) { return entry.second == nullptr; });
  if (sessions.empty()) {
    return absl::NotFoundError(
        host.empty() ? absl::StrCat("no connected host runs app ", request.app())
                     : absl::StrCat("host ", host, " is not connected or does not run app ",
                                    request.app()));
  }
  std::set<std::string> names;
  for (const auto& [name, session] : sessions) names.insert(name);
  LogTails::Opened opened = log_tails_.Open(names, max_buffered_entries);
  if (opened.stream == nullptr) return absl::UnavailableError("the controller is shutting down");
  request.set_tail_id(opened.id);
  for (const auto& [name, session] : sessions) {
    v1::ControllerMessage message;
    *message.mutable_tail_logs() = request;
    session->Send(std::move(message));
  }
  return LogTailOpened{opened.id, std::move(opened.stream)};
}

void Fleet::CloseLogTail(uint64_t id) {
  for (const std::string& host : log_tails_.Close(id)) {
    if (std::shared_ptr<AgentConnection> session = registry_.Session(host); session != nullptr) {
      v1::ControllerMessage message;
      message.mutable_stop_logs()->set_tail_id(id);
      session->Send(std::move(message));
    }
  }
}

std::map<std::string, uint32_t> Fleet::HostsRunning() const {
  std::map<std::string, uint32_t> counts;
  registry_.ForEachHost([&](const HostView& host) {
    for (const auto& [app, health] : host.apps) ++counts[app];
  });
  return counts;
}

namespace {

// One host's line for `app` (desired, or nullptr when not present).
std::optional<v1::HostAppStatus> HostLine(const HostView& host, const std::string& app,
                                          const DesiredApp* desired) {
  const auto reported = host.apps.find(app);
  const bool runs = reported != host.apps.end();
  const bool targeted = desired != nullptr && desired->spec != nullptr &&
                        Targets(*desired->spec, host.labels);
  if (!runs && !targeted) return std::nullopt;
  v1::HostAppStatus line;
  line.set_host(host.name);
  line.set_connected(host.connected);
  line.set_targeted(targeted);
  if (runs) {
    const v1::AppHealth& health = reported->second;
    line.set_revision(health.revision());
    line.set_tag(health.tag());
    line.set_commit(health.commit());
    line.set_health(health.health());
    *line.mutable_units() = health.units();
    line.set_message(health.message());
    *line.mutable_drift() = health.drift();
  }
  if (targeted) {
    const DesiredRevision& wanted = desired->For(host.name);
    const v1::HostDeployProgress progress =
        DeployProgressOf(host, app, wanted.revision, wanted.digest);
    line.set_state(progress.state());
    line.set_failed_step(progress.failed_step());
    if (!progress.error().empty()) line.set_message(progress.error());
  } else if (runs && reported->second.revision() != 0) {
    line.set_state(v1::HOST_DEPLOY_STATE_REMOVING);
  }
  return line;
}

}  // namespace

absl::StatusOr<std::vector<v1::AppStatus>> Fleet::Status(const std::string& app) const {
  // The generation is read before the hosts are: a change while they are
  // read makes this result stale at the next call, never current.
  const uint64_t generation = registry_.Generation();
  const std::shared_ptr<const DesiredSet> desired = Desired();
  {
    absl::MutexLock lock(&status_mu_);
    const auto cached = status_cache_.find(app);
    if (cached != status_cache_.end() && cached->second.generation == generation &&
        cached->second.desired == desired) {
      return cached->second.apps;
    }
  }
  absl::StatusOr<std::vector<v1::AppStatus>> built = BuildStatus(app, *desired);
  if (!built.ok()) return built;
  absl::MutexLock lock(&status_mu_);
  // Entries of an older desired set can never match again.
  std::erase_if(status_cache_, [&](const auto& entry) { return entry.second.desired != desired; });
  status_cache_[app] = CachedStatus{generation, desired, *built};
  return built;
}

absl::StatusOr<std::vector<v1::AppStatus>> Fleet::BuildStatus(const std::string& app,
                                                              const DesiredSet& wanted) const {
  const DesiredSet* desired = &wanted;
  std::map<std::string, v1::AppStatus> statuses;
  if (!app.empty()) {
    if (!desired->contains(app)) {
      return absl::NotFoundError(absl::StrCat("app \"", app, "\" not found"));
    }
    statuses[app];
  } else {
    for (const auto& [name, wanted] : *desired) statuses[name];
  }
  if (app.empty()) {
    // Apps hosts still run though they are not present (being removed, or
    // deployed locally) are listed too.
    registry_.ForEachHost([&](const HostView& host) {
      for (const auto& [name, health] : host.apps) statuses[name];
    });
  }
  for (auto& [name, status] : statuses) {
    status.set_app(name);
    if (const auto it = desired->find(name); it != desired->end()) {
      status.set_revision(it->second.revision);
      status.set_tag(it->second.tag);
    }
  }
  registry_.ForEachHost([&](const HostView& host) {
    for (auto& [name, status] : statuses) {
      const auto it = desired->find(name);
      std::optional<v1::HostAppStatus> line =
          HostLine(host, name, it == desired->end() ? nullptr : &it->second);
      if (line.has_value()) *status.add_hosts() = *std::move(line);
    }
  });
  std::vector<v1::AppStatus> out;
  out.reserve(statuses.size());
  for (auto& [name, status] : statuses) out.push_back(std::move(status));
  return out;
}

}  // namespace pyservice::controller::fleet

#include "agent/daemon/health_watcher.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "common/api/agent_message_limits.h"
#include "spdlog/spdlog.h"

namespace pyservice::agent {
namespace {

std::vector<std::string> Names(const std::vector<WatchedUnit>& units) {
  std::vector<std::string> names;
  for (const WatchedUnit& unit : units) names.push_back(unit.state.name);
  return names;
}

}  // namespace

HealthWatcher::HealthWatcher(SystemdManager& systemd, StateStore& store, MessageSink& sink,
                             absl::Duration min_push_interval)
    : systemd_(systemd), store_(store), sink_(sink), min_push_interval_(min_push_interval) {}

HealthWatcher::~HealthWatcher() { Stop(); }

void HealthWatcher::Start() {
  absl::StatusOr<std::vector<std::string>> apps = store_.ListApps();
  if (!apps.ok()) {
    spdlog::error("cannot list the apps of the state dir: {}",
                  std::string(apps.status().message()));
  } else {
    for (const std::string& app : *apps) Refresh(app, [](const v1::AppHealth&) {});
  }
  absl::MutexLock lock(&mu_);
  if (!stopping_ && !pusher_.joinable()) pusher_ = std::thread([this] { PushLoop(); });
}

void HealthWatcher::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (pusher_.joinable()) pusher_.join();
  std::vector<std::unique_ptr<UnitWatch>> watches;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [name, app] : apps_) watches.push_back(std::move(app.watch));
  }
  // Destroyed outside mu_: destroying a watch waits for its callback,
  // which takes mu_.
  watches.clear();
}

void HealthWatcher::BeginJob(const std::string& app) {
  absl::MutexLock lock(&mu_);
  TrackedApp& tracked = apps_[app];
  if (tracked.state.app().empty()) tracked.state.set_app(app);
  tracked.job_running = true;
  PushIfChanged(tracked);
}

void HealthWatcher::Refresh(const std::string& app, const Report& report) {
  absl::StatusOr<std::optional<v1::AppState>> loaded = store_.Load(app);
  std::optional<v1::AppState> state;
  if (!loaded.ok()) {
    spdlog::error("{}: cannot read its state: {}", app, std::string(loaded.status().message()));
  } else {
    state = loaded->value_or(v1::AppState());
    state->set_app(app);
  }
  std::vector<std::string> names;
  bool rewatch = false;
  {
    absl::MutexLock lock(&mu_);
    TrackedApp& tracked = apps_[app];
    if (state) tracked.state = *state;
    tracked.state.set_app(app);
    std::vector<WatchedUnit> units = LiveUnits(tracked.state);
    names = Names(units);
    if (names != Names(tracked.units)) {
      tracked.units = std::move(units);
      tracked.versions.assign(tracked.units.size(), 0);
      rewatch = true;
    }
    rewatch = rewatch || (tracked.watch == nullptr && !names.empty());
  }
  // Watch first, then read: a change after the read is signalled.
  std::unique_ptr<UnitWatch> watch;
  if (rewatch && !names.empty()) {
    absl::StatusOr<std::unique_ptr<UnitWatch>> watched =
        systemd_.WatchUnits(names, [this, app](const UnitState& unit) { OnUnitChange(app, unit); });
    if (watched.ok()) {
      watch = *std::move(watched);
    } else {
      // Health then only changes with jobs and Hellos; the next Refresh
      // tries again.
      spdlog::warn("{}: cannot watch its units: {}", app, std::string(watched.status().message()));
    }
  }
  ReadUnitStates(app);
  {
    absl::MutexLock lock(&mu_);
    TrackedApp& tracked = apps_[app];
    if (rewatch) std::swap(watch, tracked.watch);
    tracked.job_running = false;
    if (report) {
      const v1::AppHealth health = Build(tracked);
      report(health);
      tracked.last_sent = health.SerializeAsString();
    } else {
      PushIfChanged(tracked);
    }
  }
  // `watch` now holds the replaced watch, destroyed outside mu_.
}

void HealthWatcher::ReadUnitStates(const std::string& app) {
  std::vector<std::string> names;
  std::vector<uint64_t> versions;
  {
    absl::MutexLock lock(&mu_);
    auto it = apps_.find(app);
    if (it == apps_.end()) return;
    names = Names(it->second.units);
    versions = it->second.versions;
  }
  std::vector<std::optional<UnitState>> read(names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    absl::StatusOr<UnitState> state = systemd_.GetUnitState(names[i]);
    if (state.ok()) {
      read[i] = *std::move(state);
    } else {
      spdlog::warn("{}: cannot read the state of {}: {}", app, names[i],
                   std::string(state.status().message()));
    }
  }
  absl::MutexLock lock(&mu_);
  auto it = apps_.find(app);
  if (it == apps_.end() || Names(it->second.units) != names) return;  // re-rendered meanwhile
  TrackedApp& tracked = it->second;
  for (size_t i = 0; i < names.size(); ++i) {
    if (read[i] && tracked.versions[i] == versions[i]) tracked.units[i].state = *read[i];
  }
}

void HealthWatcher::OnUnitChange(const std::string& app, const UnitState& state) {
  absl::MutexLock lock(&mu_);
  auto it = apps_.find(app);
  if (it == apps_.end()) return;
  TrackedApp& tracked = it->second;
  for (size_t i = 0; i < tracked.units.size(); ++i) {
    UnitState& unit = tracked.units[i].state;
    if (unit.name != state.name) continue;
    spdlog::debug("{}: {} is {}/{}", app, state.name, state.active_state, state.sub_state);
    unit.active_state = state.active_state;
    unit.sub_state = state.sub_state;
    if (!state.load_state.empty()) unit.load_state = state.load_state;
    // How a run ended belongs to the state before this change; the push
    // round re-reads it.
    unit.result.clear();
    unit.exec_main_status = 0;
    ++tracked.versions[i];
    if (!tracked.job_running) dirty_.insert(app);
    return;
  }
}

void HealthWatcher::PushLoop() {
  absl::MutexLock lock(&mu_);
  auto has_work = [this]()
                      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || !dirty_.empty(); };
  while (true) {
    mu_.Await(absl::Condition(&has_work));
    if (stopping_) return;
    std::set<std::string> dirty;
    dirty.swap(dirty_);
    // A signal carries ActiveState and SubState only: the rest (a timer's
    // service's Result and exit status, which name why its run failed) is
    // read once per round, without mu_ (its callbacks take it).
    mu_.Unlock();
    for (const std::string& name : dirty) ReadUnitStates(name);
    mu_.Lock();
    if (stopping_) return;
    for (const std::string& name : dirty) {
      auto it = apps_.find(name);
      if (it != apps_.end() && !it->second.job_running) PushIfChanged(it->second);
    }
    // Changes meanwhile wait for the next round: one push per interval.
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), min_push_interval_);
  }
}

void HealthWatcher::SetDrift(const std::string& app, const std::vector<DriftFinding>& findings,
                             bool repaired, absl::Time now) {
  absl::MutexLock lock(&mu_);
  auto it = apps_.find(app);
  if (it == apps_.end()) return;
  TrackedApp& tracked = it->second;
  const auto seen_before = [&](const DriftFinding& finding) -> const v1::Drift* {
    for (const v1::Drift& drift : tracked.drift) {
      if (!drift.repaired() && drift.path() == finding.path && drift.reason() == finding.reason) {
        return &drift;
      }
    }
    return nullptr;
  };
  std::vector<v1::Drift> next;
  for (const DriftFinding& finding : findings) {
    v1::Drift& drift = next.emplace_back();
    drift.set_path(finding.path);
    drift.set_reason(finding.reason);
    drift.set_repaired(repaired);
    const v1::Drift* before = seen_before(finding);
    drift.set_detected_at_unix_ms(before != nullptr ? before->detected_at_unix_ms()
                                                    : absl::ToUnixMillis(now));
  }
  // Earlier repairs stay on record, except of a path repaired again now.
  for (const v1::Drift& drift : tracked.drift) {
    if (!drift.repaired()) continue;
    const bool again = std::any_of(next.begin(), next.end(), [&](const v1::Drift& d) {
      return d.repaired() && d.path() == drift.path();
    });
    if (!again) next.push_back(drift);
  }
  // The stream's bound (common/api/agent_message_limits.h): the newest
  // first, so what is drifted now is never the part cut.
  if (next.size() > AgentMessageLimits::kDrift) next.resize(AgentMessageLimits::kDrift);
  tracked.drift = std::move(next);
  if (!tracked.job_running) PushIfChanged(tracked);
}

void HealthWatcher::ClearDrift(const std::string& app) {
  absl::MutexLock lock(&mu_);
  if (auto it = apps_.find(app); it != apps_.end()) it->second.drift.clear();
}

v1::AppHealth HealthWatcher::Build(const TrackedApp& app) const {
  v1::AppHealth health = BuildHealthWithoutDrift(app);
  *health.mutable_drift() = {app.drift.begin(), app.drift.end()};
  return health;
}

v1::AppHealth HealthWatcher::BuildHealthWithoutDrift(const TrackedApp& app) const {
  if (app.state.live().id().empty() && !app.job_running) {
    // Nothing runs: removed, or the first deploy failed (before switching:
    // nothing was ever live, so FAILED says the app is not running).
    v1::AppHealth health;
    health.set_app(app.state.app());
    health.set_health(LastDeployFailed(app.state) ? v1::HEALTH_STATE_FAILED
                                                  : v1::HEALTH_STATE_UNKNOWN);
    health.set_message(app.state.last_result());
    return health;
  }
  return BuildAppHealth(app.state, app.units, app.job_running);
}

void HealthWatcher::PushIfChanged(TrackedApp& app) {
  // Only what runs (or is being deployed) is the controller's business: a
  // removed app must not come back as one the host reports.
  if (app.state.live().id().empty() && !app.job_running) return;
  v1::AgentMessage message;
  *message.mutable_health() = Build(app);
  std::string serialized = message.health().SerializeAsString();
  if (serialized == app.last_sent) return;
  app.last_sent = std::move(serialized);
  sink_.Send(std::move(message));
}

v1::AppHealth HealthWatcher::Current(const std::string& app) const {
  absl::MutexLock lock(&mu_);
  auto it = apps_.find(app);
  if (it == apps_.end()) {
    v1::AppHealth health;
    health.set_app(app);
    return health;
  }
  return Build(it->second);
}

v1::AppState HealthWatcher::State(const std::string& app) const {
  absl::MutexLock lock(&mu_);
  auto it = apps_.find(app);
  return it == apps_.end() ? v1::AppState() : it->second.state;
}

std::vector<v1::AppHealth> HealthWatcher::Snapshot() {
  std::vector<std::string> names;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [name, app] : apps_) names.push_back(name);
  }
  for (const std::string& name : names) ReadUnitStates(name);
  std::vector<v1::AppHealth> snapshot;
  absl::MutexLock lock(&mu_);
  for (auto& [name, app] : apps_) {
    if (app.state.live().id().empty() && !app.job_running) continue;
    snapshot.push_back(Build(app));
    app.last_sent = snapshot.back().SerializeAsString();
  }
  return snapshot;
}

}  // namespace pyservice::agent

#include "controller/rollout/rollout_driver.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/api/rollout_names.h"
#include "common/status/status_macros.h"
#include "controller/fleet/reconciler.h"
#include "controller/rollout/rollout_events.h"
#include "controller/rollout/rollout_view.h"
#include "controller/store/stored_spec.h"
#include "spdlog/spdlog.h"

namespace pyservice::controller::rollout {

// Marks its app dirty on every fleet change that may move its gate.
class RolloutDriver::Observer final : public fleet::FleetObserver {
 public:
  Observer(RolloutDriver& driver, std::string app) : driver_(driver), app_(std::move(app)) {}
  void OnHostChanged(const std::string&) override { driver_.MarkDirty(app_); }
  void OnAppChanged() override {}
  void OnShutdown() override {}

 private:
  RolloutDriver& driver_;
  const std::string app_;
};

RolloutDriver::RolloutDriver(Store& store, const Clock& clock,
                             const fleet::FleetRegistry& registry, fleet::FleetEvents& events,
                             fleet::EventLog& history,
                             std::function<absl::Status(const std::string&)> app_changed,
                             const RolloutOptions& options)
    : store_(store),
      clock_(clock),
      registry_(registry),
      events_(events),
      history_(history),
      app_changed_(std::move(app_changed)),
      options_(options),
      engine_(options.engine),
      gone_{options.reconnect_grace, clock.Now()} {}

RolloutDriver::~RolloutDriver() { Stop(); }

absl::StatusOr<RolloutDriver::Active> RolloutDriver::Load(const StoredRollout& stored) {
  Active active;
  active.stored = stored;
  ASSIGN_OR_RETURN(active.record, DecodeRecord(stored));
  ASSIGN_OR_RETURN(active.revisions, ReadRevisions(store_, stored));
  ASSIGN_OR_RETURN(const StoredRevision to, store_.GetRevision(stored.app, stored.to_revision));
  ASSIGN_OR_RETURN(v1::AppSpec spec, DecodeStoredSpec(to));
  active.to_spec = std::make_shared<const v1::AppSpec>(std::move(spec));
  return active;
}

absl::Status RolloutDriver::Start() {
  gone_.listening_since = clock_.Now();
  ASSIGN_OR_RETURN(const std::vector<StoredRollout> stored, store_.ActiveRollouts());
  for (const StoredRollout& rollout : stored) RETURN_IF_ERROR(Adopt(rollout));
  if (!stored.empty()) spdlog::info("resuming {} active rollout(s)", stored.size());
  thread_ = std::thread([this] { Loop(); });
  return absl::OkStatus();
}

void RolloutDriver::Stop() {
  {
    absl::MutexLock lock(&dirty_mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
  absl::MutexLock lock(&mu_);
  for (auto& [app, active] : active_) events_.Unsubscribe(active.subscription);
  active_.clear();
}

absl::Status RolloutDriver::Adopt(const StoredRollout& stored) {
  ASSIGN_OR_RETURN(Active active, Load(stored));
  std::optional<uint64_t> subscription =
      events_.Subscribe(stored.app, std::make_shared<Observer>(*this, stored.app));
  if (!subscription.has_value()) return absl::UnavailableError("the controller is shutting down");
  active.subscription = *subscription;
  {
    absl::MutexLock lock(&mu_);
    if (auto old = active_.find(stored.app); old != active_.end()) {
      events_.Unsubscribe(old->second.subscription);
    }
    active_[stored.app] = std::move(active);
  }
  RETURN_IF_ERROR(app_changed_(stored.app));
  MarkDirty(stored.app);
  return absl::OkStatus();
}

absl::StatusOr<StoredRollout> RolloutDriver::Control(const std::string& app,
                                                     v1::ControlRolloutRequest::Action action) {
  absl::MutexLock lock(&mu_);
  const auto it = active_.find(app);
  if (it == active_.end()) {
    return absl::FailedPreconditionError(absl::StrCat("app ", app, " has no active rollout"));
  }
  Active& active = it->second;
  v1::RolloutRecord record = active.record;
  if (absl::Status done = engine_.Control(record, action, clock_.Now()); !done.ok()) {
    return absl::Status(done.code(), absl::StrCat("rollout ", active.stored.id, " of ", app,
                                                  ": ", done.message()));
  }
  RETURN_IF_ERROR(Commit(active, record));
  StoredRollout stored = active.stored;
  if (!IsActive(record.state())) {
    events_.Unsubscribe(active.subscription);
    active_.erase(it);
  } else {
    MarkDirty(app);  // e.g. a resumed rollout whose wave finished meanwhile
  }
  return stored;
}

void RolloutDriver::RunPass() {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> apps;
  for (const auto& [app, active] : active_) apps.push_back(app);
  for (const std::string& app : apps) Pass(app);
}

void RolloutDriver::Pass(const std::string& app) {
  const auto it = active_.find(app);
  if (it == active_.end()) return;
  Active& active = it->second;
  const absl::Time now = clock_.Now();

  std::vector<std::string> targeted;
  if (active.record.state() == v1::ROLLOUT_STATE_PENDING) {
    bool reconnecting = false;
    for (const fleet::HostSummary& host : registry_.ListHosts()) {
      if (!fleet::Targets(*active.to_spec, host.labels)) continue;
      if (host.connected) {
        targeted.push_back(host.name);
      } else if (!host.lost) {
        reconnecting = true;
      }
    }
    // Right after a controller start, known hosts are still dialing in: a
    // plan made now would leave them out (and they would get the new
    // revision ungated once it succeeds). They get the reconnect grace. A
    // lost host (stream up, heartbeats stopped) is not waited for.
    if (reconnecting && now - gone_.listening_since < gone_.reconnect_grace) return;
  }
  // The gate reads a whole wave under one registry lock; a pass that starts
  // the next wave reads that one when the engine first asks for it.
  std::map<std::string, HostObservation> seen;
  v1::RolloutRecord record = active.record;
  auto observe = [&](const std::string& host) -> HostObservation {
    if (auto found = seen.find(host); found != seen.end()) return found->second;
    const v1::WaveRecord& wave = record.waves(record.current_wave());
    const std::vector<std::string> names(wave.hosts().begin(), wave.hosts().end());
    registry_.ForHosts(names, [&](const std::string& name, const fleet::HostView* view,
                                  const fleet::FleetRegistry::Liveness& liveness) {
      seen[name] = ObserveHost(view, liveness, active.revisions, gone_, now);
    });
    return seen[host];
  };
  if (!engine_.Advance(record, targeted, observe, now, gone_.listening_since)) return;
  if (absl::Status committed = Commit(active, record); !committed.ok()) {
    spdlog::error("rollout {} of {}: cannot persist its next state, will retry: {}",
                  active.stored.id, app, std::string(committed.message()));
    return;
  }
  if (!IsActive(record.state())) {
    events_.Unsubscribe(active.subscription);
    active_.erase(it);
  }
}

absl::Status RolloutDriver::Commit(Active& active, const v1::RolloutRecord& record) {
  StoredRollout stored = active.stored;
  stored.active = IsActive(record.state());
  stored.updated_at = clock_.Now();
  stored.record = record.SerializeAsString();
  RETURN_IF_ERROR(store_.UpdateRollout(stored));
  const v1::RolloutRecord before = std::exchange(active.record, record);
  active.stored = std::move(stored);

  const std::string& app = active.stored.app;
  const uint32_t id = active.stored.id;
  for (v1::FleetEvent& event : RolloutEvents(active.stored, before, record)) {
    history_.Record(std::move(event));
  }
  if (before.state() != record.state()) {
    if (options_.metrics != nullptr && (record.state() == v1::ROLLOUT_STATE_FAILED ||
                                        record.state() == v1::ROLLOUT_STATE_ROLLED_BACK)) {
      options_.metrics->RolloutGateFailed(app);
    }
    spdlog::info("rollout {} of {}: {} → {}{}{}", id, app, RolloutStateName(before.state()),
                 RolloutStateName(record.state()), record.message().empty() ? "" : ": ",
                 record.message());
  }
  if (before.current_wave() != record.current_wave() && record.current_wave() >= 0) {
    const v1::WaveRecord& wave = record.waves(record.current_wave());
    spdlog::info("rollout {} of {}: wave {}{} of {} started ({} host(s))", id, app,
                 record.current_wave(), wave.canary() ? " (canary)" : "", record.waves_size(),
                 wave.hosts_size());
  }
  if (absl::Status changed = app_changed_(app); !changed.ok()) {
    // Persisted, so not lost: the next refresh of the app picks it up.
    spdlog::error("rollout {} of {}: cannot apply its new state yet: {}", id, app,
                  std::string(changed.message()));
  }
  return absl::OkStatus();
}

void RolloutDriver::MarkDirty(const std::string& app) {
  absl::MutexLock lock(&dirty_mu_);
  dirty_.insert(app);
}

void RolloutDriver::Loop() {
  while (true) {
    std::set<std::string> dirty;
    bool tick = false;
    {
      absl::MutexLock lock(&dirty_mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(dirty_mu_) {
        return stopping_ || !dirty_.empty();
      };
      tick = !dirty_mu_.AwaitWithTimeout(absl::Condition(&ready), options_.tick);
      if (stopping_) return;
      dirty.swap(dirty_);
    }
    {
      absl::MutexLock lock(&mu_);
      if (tick) {
        for (const auto& [app, active] : active_) dirty.insert(app);
      }
      for (const std::string& app : dirty) Pass(app);
    }
    // Events meanwhile gather in dirty_ for the next pass.
    absl::MutexLock lock(&dirty_mu_);
    if (dirty_mu_.AwaitWithTimeout(absl::Condition(&stopping_), options_.min_pass_interval)) {
      return;
    }
  }
}

}  // namespace pyservice::controller::rollout

#include "controller/service/watch_app_reactor.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status/grpc_status.h"
#include "controller/fleet/deploy_status.h"
#include "controller/fleet/reconciler.h"

namespace pyservice::controller {

// Forwards notifications to the reactor while it lives. FleetEvents holds
// it by shared_ptr, so a notification racing with OnDone finds it detached
// instead of a deleted reactor.
class WatchAppReactor::Observer final : public fleet::FleetObserver {
 public:
  explicit Observer(WatchAppReactor* reactor) : reactor_(reactor) {}

  void OnHostChanged(const std::string& host) override {
    absl::MutexLock lock(&mu_);
    if (reactor_ != nullptr) reactor_->HostChanged(host);
  }
  void OnAppChanged() override {
    absl::MutexLock lock(&mu_);
    if (reactor_ != nullptr) reactor_->AppChanged();
  }
  void OnShutdown() override {
    absl::MutexLock lock(&mu_);
    if (reactor_ == nullptr) return;
    absl::MutexLock reactor_lock(&reactor_->mu_);
    reactor_->FinishOnce(
        grpc::Status(grpc::StatusCode::UNAVAILABLE, "the controller is shutting down"));
  }
  void Detach() {
    absl::MutexLock lock(&mu_);
    reactor_ = nullptr;
  }

 private:
  absl::Mutex mu_;
  WatchAppReactor* reactor_ ABSL_GUARDED_BY(mu_);
};

WatchAppReactor::WatchAppReactor(fleet::Fleet& fleet, const v1::WatchAppRequest& request,
                                 const absl::Status& precheck)
    : fleet_(fleet) {
  if (!precheck.ok()) {
    absl::MutexLock lock(&mu_);
    FinishOnce(ToGrpcStatus(precheck));
    return;
  }
  Start(request);
}

void WatchAppReactor::Start(const v1::WatchAppRequest& request) {
  absl::MutexLock lock(&mu_);
  app_ = request.app();
  const std::shared_ptr<const fleet::DesiredSet> desired = fleet_.Desired();
  const auto it = desired->find(app_);
  if (it == desired->end()) {
    FinishOnce(grpc::Status(grpc::StatusCode::NOT_FOUND, absl::StrCat("app \"", app_, "\" not found")));
    return;
  }
  const fleet::DesiredApp& current = it->second;
  revision_ = request.revision() == 0 ? current.revision : request.revision();
  if (revision_ > current.revision) {
    FinishOnce(grpc::Status(grpc::StatusCode::NOT_FOUND,
                            absl::StrCat("app \"", app_, "\" has no revision ", revision_)));
    return;
  }
  if (revision_ < current.revision) {
    FinishOnce(grpc::Status(grpc::StatusCode::ABORTED,
                            absl::StrCat(app_, " revision ", revision_,
                                         " is superseded by revision ", current.revision)));
    return;
  }
  digest_ = current.digest;
  spec_ = current.spec;

  // Subscribed before the first snapshot, so no change falls in between.
  // Notifications wait for mu_, held until the first write has started.
  observer_ = std::make_shared<Observer>(this);
  subscription_ = fleet_.events().Subscribe(app_, observer_);
  if (!subscription_.has_value()) {
    FinishOnce(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the controller is shutting down"));
    return;
  }
  v1::WatchAppEvent event;
  fleet_.registry().ForEachHost([&](const fleet::HostView& host) {
    std::optional<v1::HostDeployProgress> progress = Progress(host);
    if (!progress.has_value()) return;
    hosts_[host.name] = *progress;
    *event.add_hosts() = *std::move(progress);
  });
  StartWriteLocked(std::move(event));
}

std::optional<v1::HostDeployProgress> WatchAppReactor::Progress(
    const fleet::HostView& host) const {
  if (!host.connected || spec_ == nullptr || !fleet::Targets(*spec_, host.labels)) {
    return std::nullopt;
  }
  return fleet::DeployProgressOf(host, app_, revision_, digest_);
}

void WatchAppReactor::StartWriteLocked(v1::WatchAppEvent event) {
  event.set_app(app_);
  event.set_revision(revision_);
  uint32_t healthy = 0;
  uint32_t failed = 0;
  for (const auto& [name, progress] : hosts_) {
    if (progress.state() == v1::HOST_DEPLOY_STATE_HEALTHY) ++healthy;
    if (progress.state() == v1::HOST_DEPLOY_STATE_FAILED) ++failed;
  }
  event.set_targeted(static_cast<uint32_t>(hosts_.size()));
  event.set_healthy(healthy);
  event.set_failed(failed);
  done_ = healthy + failed == hosts_.size();
  event.set_done(done_);
  writing_ = std::move(event);
  write_in_flight_ = true;
  // Safe under mu_: gRPC never runs OnWriteDone inline from StartWrite.
  StartWrite(&writing_);
}

void WatchAppReactor::HostChanged(const std::string& host) {
  absl::MutexLock lock(&mu_);
  if (done_ || finish_status_.has_value()) return;
  dirty_.insert(host);
  if (!write_in_flight_) WriteChangesLocked();
}

void WatchAppReactor::AppChanged() {
  absl::MutexLock lock(&mu_);
  if (done_ || finish_status_.has_value()) return;
  app_changed_ = true;
  if (!write_in_flight_) WriteChangesLocked();
}

void WatchAppReactor::WriteChangesLocked() {
  if (app_changed_) {
    app_changed_ = false;
    const std::shared_ptr<const fleet::DesiredSet> desired = fleet_.Desired();
    const auto it = desired->find(app_);
    if (it == desired->end()) {
      FinishOnce(grpc::Status(grpc::StatusCode::ABORTED,
                              absl::StrCat("app \"", app_, "\" was deleted")));
      return;
    }
    if (it->second.revision != revision_) {
      FinishOnce(grpc::Status(grpc::StatusCode::ABORTED,
                              absl::StrCat(app_, " revision ", revision_,
                                           " is superseded by revision ", it->second.revision)));
      return;
    }
  }
  v1::WatchAppEvent event;
  for (const std::string& name : dirty_) {
    const std::optional<fleet::HostView> host = fleet_.registry().GetHost(name);
    std::optional<v1::HostDeployProgress> progress;
    if (host.has_value()) progress = Progress(*host);
    const auto known = hosts_.find(name);
    if (!progress.has_value()) {
      if (known == hosts_.end()) continue;
      v1::HostDeployProgress left = known->second;
      left.set_left(true);
      *event.add_hosts() = std::move(left);
      hosts_.erase(known);
      continue;
    }
    if (known != hosts_.end() &&
        known->second.SerializeAsString() == progress->SerializeAsString()) {
      continue;  // nothing new for this host
    }
    hosts_[name] = *progress;
    *event.add_hosts() = *std::move(progress);
  }
  dirty_.clear();
  if (event.hosts_size() == 0) return;
  StartWriteLocked(std::move(event));
}

void WatchAppReactor::OnWriteDone(bool ok) {
  absl::MutexLock lock(&mu_);
  write_in_flight_ = false;
  if (!ok) {
    FinishOnce(grpc::Status(grpc::StatusCode::UNAVAILABLE, "write to the watcher failed"));
    return;
  }
  if (finish_status_.has_value()) {
    FinishOnce(*finish_status_);
    return;
  }
  if (done_) {
    FinishOnce(grpc::Status::OK);
    return;
  }
  if (!dirty_.empty() || app_changed_) WriteChangesLocked();
}

void WatchAppReactor::FinishOnce(const grpc::Status& status) {
  if (!finish_status_.has_value()) finish_status_ = status;
  if (write_in_flight_ || finish_called_) return;  // OnWriteDone finishes
  finish_called_ = true;
  Finish(*finish_status_);
}

void WatchAppReactor::OnCancel() {
  absl::MutexLock lock(&mu_);
  FinishOnce(grpc::Status(grpc::StatusCode::CANCELLED, "watch cancelled"));
}

void WatchAppReactor::OnDone() {
  if (observer_ != nullptr) observer_->Detach();
  if (subscription_.has_value()) fleet_.events().Unsubscribe(*subscription_);
  delete this;
}

}  // namespace pyservice::controller

// ControllerService.WatchApp: one server-streaming callback-API reactor per
// watcher (`pyctl apply` waiting for its deploy), so watchers cost no
// thread while they wait.
//
// The reactor subscribes to the fleet's change notifications for its app,
// then writes a first event with every targeted connected host. Each
// notification marks a host dirty; whenever no write is in flight, the
// dirty hosts are re-read from the registry and those whose progress
// changed go out in one event. A slow client therefore gets coalesced
// events (the latest step of each host), never an unbounded queue. When
// every host counted is healthy or failed, the last event has done=true and
// the stream finishes OK.
#ifndef PYSERVICE_CONTROLLER_SERVICE_WATCH_APP_REACTOR_H_
#define PYSERVICE_CONTROLLER_SERVICE_WATCH_APP_REACTOR_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include <grpcpp/support/server_callback.h>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "controller/fleet/fleet.h"
#include "pyservice/v1/controller.pb.h"

namespace pyservice::controller {

class WatchAppReactor final : public grpc::ServerWriteReactor<v1::WatchAppEvent> {
 public:
  // Finishes at once with `precheck` when it is not OK (a bad request).
  // `fleet` must outlive the reactor.
  WatchAppReactor(fleet::Fleet& fleet, const v1::WatchAppRequest& request,
                  const absl::Status& precheck);

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  class Observer;
  ~WatchAppReactor() override = default;

  void Start(const v1::WatchAppRequest& request);
  void HostChanged(const std::string& host);
  void AppChanged();
  void FinishOnce(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Writes what changed since the last event, if anything.
  void WriteChangesLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The host's progress, or nullopt when it does not count (disconnected,
  // lost, not targeted, unknown).
  std::optional<v1::HostDeployProgress> Progress(const fleet::HostView& host) const;
  void StartWriteLocked(v1::WatchAppEvent event) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  fleet::Fleet& fleet_;
  // Set once in Start, before any notification can arrive.
  std::string app_;
  uint32_t revision_ = 0;
  std::string digest_;
  std::shared_ptr<const v1::AppSpec> spec_;
  std::shared_ptr<Observer> observer_;
  std::optional<uint64_t> subscription_;

  // Lock order: Observer's lock, then mu_, then the fleet's locks.
  absl::Mutex mu_;
  // Every host that counts, with the progress last sent.
  std::map<std::string, v1::HostDeployProgress> hosts_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> dirty_ ABSL_GUARDED_BY(mu_);
  bool app_changed_ ABSL_GUARDED_BY(mu_) = false;
  v1::WatchAppEvent writing_ ABSL_GUARDED_BY(mu_);
  bool write_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  // The done event has been queued; finish once it is written.
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<grpc::Status> finish_status_ ABSL_GUARDED_BY(mu_);
  bool finish_called_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace pyservice::controller

#endif  // PYSERVICE_CONTROLLER_SERVICE_WATCH_APP_REACTOR_H_

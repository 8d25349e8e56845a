#include "controller/service/controller_service.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/spec/canonical.h"
#include "common/spec/validators.h"
#include "controller/fleet/wake_on_change.h"
#include "controller/service/apply.h"
#include "controller/service/fleet_views.h"
#include "controller/rollout/rollout_view.h"
#include "controller/service/rollouts.h"
#include "controller/service/watch_app_reactor.h"
#include "controller/store/stored_spec.h"
#include "common/status/grpc_status.h"
#include "common/time/rfc3339.h"
#include "spdlog/spdlog.h"

namespace pyservice::controller {
namespace {

absl::Status CheckAppName(const std::string& name) {
  absl::Status valid = spec::ValidateName(name);
  if (!valid.ok()) return absl::InvalidArgumentError(absl::StrCat("app name: ", valid.message()));
  return absl::OkStatus();
}

absl::Status AppNotFound(const std::string& name) {
  return absl::NotFoundError(absl::StrCat("app \"", name, "\" not found"));
}

}  // namespace

grpc::Status ControllerServiceImpl::ApplyApp(grpc::ServerContext*,
                                             const v1::ApplyAppRequest* request,
                                             v1::ApplyAppResponse* response) {
  absl::StatusOr<v1::ApplyAppResponse> result = controller::ApplyApp(store_, clock_, fingerprints_, spec_policy_, *request);
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = *std::move(result);
  if (response->changed() && !request->dry_run()) {
    v1::FleetEvent event;
    event.set_kind(v1::FLEET_EVENT_KIND_APP_APPLIED);
    event.set_app(response->app());
    event.set_revision(response->revision());
    event.set_id(response->rollout());
    if (response->rollout() != 0) {
      event.set_message(absl::StrCat("rollout ", response->rollout()));
    }
    fleet_.history().Record(std::move(event));
    // The revision is stored whatever happens here; a failure to load it
    // into the fleet is logged and only delays its deploy.
    if (response->rollout() == 0) {
      (void)fleet_.AppChanged(response->app());
    } else if (absl::StatusOr<StoredRollout> stored =
                   store_.GetRollout(response->app(), response->rollout());
               !stored.ok() || !fleet_.rollouts().Adopt(*stored).ok()) {
      spdlog::error("app {}: rollout {} is stored but not started yet", response->app(),
                    response->rollout());
    }
  }
  return grpc::Status::OK;
}

grpc::Status ControllerServiceImpl::GetApp(grpc::ServerContext*, const v1::GetAppRequest* request,
                                           v1::GetAppResponse* response) {
  if (absl::Status s = CheckAppName(request->name()); !s.ok()) return ToGrpcStatus(s);
  absl::StatusOr<std::optional<StoredRevision>> current = store_.CurrentRevision(request->name());
  if (!current.ok()) return ToGrpcStatus(current.status());
  std::optional<StoredRevision> shown = *current;
  if (request->revision() != 0 &&
      (!shown.has_value() || shown->number != request->revision())) {
    // A past revision (of a deleted app too): no hosts, they run the current one.
    absl::StatusOr<StoredRevision> past = store_.GetRevision(request->name(), request->revision());
    if (absl::IsNotFound(past.status())) {
      return ToGrpcStatus(absl::NotFoundError(absl::StrCat(
          "app \"", request->name(), "\" has no revision ", request->revision())));
    }
    if (!past.ok()) return ToGrpcStatus(past.status());
    absl::StatusOr<v1::AppSpec> spec = DecodeStoredSpec(*past);
    if (!spec.ok()) return ToGrpcStatus(spec.status());
    *response->mutable_revision() = ToApiRevision(*past);
    *response->mutable_revision()->mutable_spec() = spec::RedactSecrets(*spec, fingerprints_);
    response->set_canonical_yaml(spec::RedactedCanonicalYaml(*spec, fingerprints_));
    return grpc::Status::OK;
  }
  if (!shown.has_value()) return ToGrpcStatus(AppNotFound(request->name()));
  absl::StatusOr<v1::AppSpec> spec = DecodeStoredSpec(*shown);
  if (!spec.ok()) return ToGrpcStatus(spec.status());
  *response->mutable_revision() = ToApiRevision(*shown);
  *response->mutable_revision()->mutable_spec() = spec::RedactSecrets(*spec, fingerprints_);
  response->set_canonical_yaml(spec::RedactedCanonicalYaml(*spec, fingerprints_));
  // Per-host state; empty if the fleet has not caught up with a concurrent
  // delete.
  absl::StatusOr<std::vector<v1::AppStatus>> status = fleet_.Status(request->name());
  if (status.ok() && status->size() == 1) {
    *response->mutable_hosts() = std::move(*(*status)[0].mutable_hosts());
  }
  return grpc::Status::OK;
}

grpc::Status ControllerServiceImpl::ListApps(grpc::ServerContext*, const v1::ListAppsRequest*,
                                             v1::ListAppsResponse* response) {
  absl::StatusOr<std::vector<StoredApp>> apps = store_.ListApps();
  if (!apps.ok()) return ToGrpcStatus(apps.status());
  const std::map<std::string, uint32_t> running = fleet_.HostsRunning();
  for (const StoredApp& app : *apps) {
    v1::AppSummary* summary = response->add_apps();
    summary->set_name(app.name);
    summary->set_revision(app.latest.number);
    summary->set_tag(app.latest.tag);
    const auto hosts = running.find(app.name);
    summary->set_hosts(hosts == running.end() ? 0 : hosts->second);
    summary->set_updated_at(FormatRfc3339(app.latest.created_at));
  }
  return grpc::Status::OK;
}

grpc::Status ControllerServiceImpl::DeleteApp(grpc::ServerContext*,
                                              const v1::DeleteAppRequest* request,
                                              v1::DeleteAppResponse*) {
  if (absl::Status s = CheckAppName(request->name()); !s.ok()) return ToGrpcStatus(s);
  // Its active rollout, if any, ends first: a deleted app moves no host.
  if (absl::StatusOr<StoredRollout> aborted = fleet_.rollouts().Control(
          request->name(), v1::ControlRolloutRequest::ACTION_ABORT);
      aborted.ok()) {
    spdlog::info("app {}: rollout {} aborted by the delete", request->name(), aborted->id);
  }
  absl::Status deleted = store_.DeleteApp(request->name());
  if (absl::IsNotFound(deleted)) return ToGrpcStatus(AppNotFound(request->name()));
  if (!deleted.ok()) return ToGrpcStatus(deleted);
  spdlog::info("app {}: deleted", request->name());
  v1::FleetEvent event;
  event.set_kind(v1::FLEET_EVENT_KIND_APP_DELETED);
  event.set_app(request->name());
  fleet_.history().Record(std::move(event));
  // Hosts running it get a RemoveRequest.
  (void)fleet_.AppChanged(request->name());
  return grpc::Status::OK;
}

grpc::Status ControllerServiceImpl::ListRevisions(grpc::ServerContext*,
                                                  const v1::ListRevisionsRequest* request,
                                                  v1::ListRevisionsResponse* response) {
  if (absl::Status s = CheckAppName(request->name()); !s.ok()) return ToGrpcStatus(s);
  absl::StatusOr<std::vector<StoredRevision>> revisions = store_.ListRevisions(request->name());
  if (!revisions.ok()) return ToGrpcStatus(revisions.status());
  if (revisions->empty()) return ToGrpcStatus(AppNotFound(request->name()));
  for (const StoredRevision& stored : *revisions) *response->add_revisions() = ToApiRevision(stored);
  return grpc::Status::OK;
}

grpc::ServerUnaryReactor* ControllerServiceImpl::ListHosts(grpc::CallbackServerContext* context,
                                                           const grpc::ByteBuffer*,
                                                           grpc::ByteBuffer* response) {
  grpc::Slice answer(host_listing_.SerializedResponse());
  *response = grpc::ByteBuffer(&answer, 1);
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::Status ControllerServiceImpl::GetStatus(grpc::ServerContext*,
                                              const v1::GetStatusRequest* request,
                                              v1::GetStatusResponse* response) {
  if (!request->app().empty()) {
    if (absl::Status s = CheckAppName(request->app()); !s.ok()) return ToGrpcStatus(s);
  }
  absl::StatusOr<std::vector<v1::AppStatus>> apps = fleet_.Status(request->app());
  if (!apps.ok()) return ToGrpcStatus(apps.status());
  for (v1::AppStatus& app : *apps) *response->add_apps() = std::move(app);
  return grpc::Status::OK;
}

grpc::ServerWriteReactor<v1::WatchAppEvent>* ControllerServiceImpl::WatchApp(
    grpc::CallbackServerContext*, const v1::WatchAppRequest* request) {
  // Deleted by itself in OnDone.
  return new WatchAppReactor(fleet_, *request, CheckAppName(request->app()));
}

grpc::Status ControllerServiceImpl::Describe(const absl::StatusOr<StoredRollout>& stored,
                                             v1::Rollout* response) {
  if (!stored.ok()) return ToGrpcStatus(stored.status());
  absl::StatusOr<v1::Rollout> rollout =
      DescribeStoredRollout(store_, fleet_.registry(), *stored);
  if (!rollout.ok()) return ToGrpcStatus(rollout.status());
  *response = *std::move(rollout);
  return grpc::Status::OK;
}

grpc::Status ControllerServiceImpl::Adopted(const absl::StatusOr<StoredRollout>& stored,
                                            v1::Rollout* response) {
  if (!stored.ok()) return ToGrpcStatus(stored.status());
  if (absl::Status adopted = fleet_.rollouts().Adopt(*stored); !adopted.ok()) {
    return ToGrpcStatus(adopted);
  }
  return Describe(stored, response);
}

grpc::Status ControllerServiceImpl::StartRollout(grpc::ServerContext*,
                                                 const v1::StartRolloutRequest* request,
                                                 v1::Rollout* response) {
  return Adopted(controller::StartRollout(store_, clock_, fingerprints_, *request), response);
}

grpc::Status ControllerServiceImpl::UndoRollout(grpc::ServerContext*,
                                                const v1::UndoRolloutRequest* request,
                                                v1::Rollout* response) {
  return Adopted(controller::UndoRollout(store_, clock_, fingerprints_, request->app(),
                                         request->to_revision()), response);
}

grpc::Status ControllerServiceImpl::GetRollout(grpc::ServerContext*,
                                               const v1::GetRolloutRequest* request,
                                               v1::Rollout* response) {
  return Describe(FindRollout(store_, request->app(), request->id()), response);
}

grpc::Status ControllerServiceImpl::WatchRollout(grpc::ServerContext* context,
                                                 const v1::GetRolloutRequest* request,
                                                 grpc::ServerWriter<v1::Rollout>* writer) {
  // A whole rollout per message, at most every kMinInterval: a watcher of a
  // 10,000-host rollout costs the controller a few snapshots a second, and
  // sees the latest state rather than every step of every host.
  constexpr absl::Duration kMinInterval = absl::Milliseconds(200);
  auto wake = std::make_shared<fleet::WakeOnChange>();
  const std::optional<uint64_t> subscription = fleet_.events().Subscribe(request->app(), wake);
  if (!subscription.has_value()) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the controller is shutting down");
  }
  struct Unsubscribe {
    fleet::FleetEvents& events;
    uint64_t id;
    ~Unsubscribe() { events.Unsubscribe(id); }
  } unsubscribe{fleet_.events(), *subscription};

  absl::StatusOr<StoredRollout> stored = FindRollout(store_, request->app(), request->id());
  if (!stored.ok()) return ToGrpcStatus(stored.status());
  // A rollout's revisions never change: read once, not per snapshot.
  const absl::StatusOr<rollout::RolloutRevisions> revisions =
      rollout::ReadRevisions(store_, *stored);
  if (!revisions.ok()) return ToGrpcStatus(revisions.status());
  std::string last_sent;
  while (true) {
    absl::StatusOr<v1::RolloutRecord> record = rollout::DecodeRecord(*stored);
    if (!record.ok()) return ToGrpcStatus(record.status());
    const v1::Rollout snapshot =
        rollout::DescribeRollout(*stored, *record, *revisions, fleet_.registry());
    std::string serialized = snapshot.SerializeAsString();
    if (serialized != last_sent) {
      if (!writer->Write(snapshot)) return grpc::Status(grpc::StatusCode::CANCELLED, "watcher gone");
      last_sent = std::move(serialized);
    }
    if (snapshot.settled()) return grpc::Status::OK;
    absl::SleepFor(kMinInterval);
    if (!wake->Wait(absl::Seconds(1))) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the controller is shutting down");
    }
    if (context->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "watch cancelled");
    stored = store_.GetRollout(stored->app, stored->id);
    if (!stored.ok()) return ToGrpcStatus(stored.status());
  }
}

grpc::Status ControllerServiceImpl::ControlRollout(grpc::ServerContext*,
                                                   const v1::ControlRolloutRequest* request,
                                                   v1::Rollout* response) {
  if (absl::Status s = CheckAppName(request->app()); !s.ok()) return ToGrpcStatus(s);
  return Describe(fleet_.rollouts().Control(request->app(), request->action()), response);
}

grpc::Status ControllerServiceImpl::ListRollouts(grpc::ServerContext*,
                                                 const v1::ListRolloutsRequest* request,
                                                 v1::ListRolloutsResponse* response) {
  if (absl::Status s = CheckAppName(request->app()); !s.ok()) return ToGrpcStatus(s);
  absl::StatusOr<std::vector<StoredRollout>> rollouts = store_.ListRollouts(request->app());
  if (!rollouts.ok()) return ToGrpcStatus(rollouts.status());
  for (const StoredRollout& stored : *rollouts) {
    absl::StatusOr<v1::RolloutRecord> record = rollout::DecodeRecord(stored);
    if (!record.ok()) return ToGrpcStatus(record.status());
    *response->add_rollouts() = rollout::SummarizeRollout(stored, *record);
  }
  return grpc::Status::OK;
}

}  // namespace pyservice::controller

#include "controller/service/controller_service.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/spec/canonical.h"
#include "common/spec/validators.h"
#include "controller/service/apply.h"
#include "controller/service/watch_app_reactor.h"
#include "common/status/grpc_status.h"
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
  absl::StatusOr<v1::ApplyAppResponse> result = controller::ApplyApp(store_, clock_, *request);
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = *std::move(result);
  if (response->changed() && !request->dry_run()) {
    // The revision is stored whatever happens here; a failure to load it
    // into the fleet is logged by the fleet and only delays its deploy.
    (void)fleet_.AppChanged(response->app());
  }
  return grpc::Status::OK;
}

grpc::Status ControllerServiceImpl::GetApp(grpc::ServerContext*, const v1::GetAppRequest* request,
                                           v1::GetAppResponse* response) {
  if (absl::Status s = CheckAppName(request->name()); !s.ok()) return ToGrpcStatus(s);
  absl::StatusOr<std::optional<StoredRevision>> current = store_.CurrentRevision(request->name());
  if (!current.ok()) return ToGrpcStatus(current.status());
  if (!current->has_value()) return ToGrpcStatus(AppNotFound(request->name()));
  absl::StatusOr<v1::Revision> revision = ToApiRevision(**current, /*with_spec=*/true);
  if (!revision.ok()) return ToGrpcStatus(revision.status());
  // The spec in the revision is redacted already; so is its canonical text.
  response->set_canonical_yaml(spec::CanonicalYaml(revision->spec(), spec::Secrets::kInclude));
  *response->mutable_revision() = *std::move(revision);
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
  absl::Status deleted = store_.DeleteApp(request->name());
  if (absl::IsNotFound(deleted)) return ToGrpcStatus(AppNotFound(request->name()));
  if (!deleted.ok()) return ToGrpcStatus(deleted);
  spdlog::info("app {}: deleted", request->name());
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
  for (const StoredRevision& stored : *revisions) {
    absl::StatusOr<v1::Revision> revision = ToApiRevision(stored, /*with_spec=*/false);
    if (!revision.ok()) return ToGrpcStatus(revision.status());
    *response->add_revisions() = *std::move(revision);
  }
  return grpc::Status::OK;
}

grpc::Status ControllerServiceImpl::ListHosts(grpc::ServerContext*, const v1::ListHostsRequest*,
                                              v1::ListHostsResponse* response) {
  for (const fleet::HostSummary& summary : fleet_.registry().ListHosts()) {
    v1::Host* host = response->add_hosts();
    host->set_name(summary.name);
    host->set_connected(summary.connected);
    host->mutable_labels()->insert(summary.labels.begin(), summary.labels.end());
    host->set_last_seen(FormatRfc3339(summary.last_seen));
    host->set_agent_version(summary.agent_version);
    host->set_first_seen(FormatRfc3339(summary.first_seen));
    host->set_lost(summary.lost);
    host->set_apps(static_cast<uint32_t>(summary.apps));
  }
  return grpc::Status::OK;
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

}  // namespace pyservice::controller

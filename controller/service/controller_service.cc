#include "controller/service/controller_service.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/spec/canonical.h"
#include "common/spec/validators.h"
#include "controller/service/apply.h"
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
  return grpc::Status::OK;
}

grpc::Status ControllerServiceImpl::ListApps(grpc::ServerContext*, const v1::ListAppsRequest*,
                                             v1::ListAppsResponse* response) {
  absl::StatusOr<std::vector<StoredApp>> apps = store_.ListApps();
  if (!apps.ok()) return ToGrpcStatus(apps.status());
  for (const StoredApp& app : *apps) {
    v1::AppSummary* summary = response->add_apps();
    summary->set_name(app.name);
    summary->set_revision(app.latest.number);
    summary->set_tag(app.latest.tag);
    summary->set_hosts(0);  // hosts arrive with the fleet
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

}  // namespace pyservice::controller

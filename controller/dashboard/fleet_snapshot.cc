#include "controller/dashboard/fleet_snapshot.h"

#include <utility>
#include <vector>

#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "controller/service/fleet_views.h"

namespace pyservice::controller::dashboard {

absl::StatusOr<v1::FleetSnapshot> BuildFleetSnapshot(Store& store, const fleet::Fleet& fleet) {
  v1::FleetSnapshot snapshot;
  for (v1::Host& host : HostViews(fleet.registry())) *snapshot.add_hosts() = std::move(host);
  ASSIGN_OR_RETURN(std::vector<v1::AppStatus> apps, fleet.Status(""));
  for (v1::AppStatus& app : apps) *snapshot.add_apps() = std::move(app);
  ASSIGN_OR_RETURN(std::vector<v1::Rollout> rollouts,
                   ActiveRolloutViews(store, fleet.registry()));
  for (v1::Rollout& rollout : rollouts) *snapshot.add_rollouts() = std::move(rollout);
  StripForDashboard(snapshot);
  return snapshot;
}

void StripForDashboard(v1::FleetSnapshot& snapshot) {
  for (v1::Rollout& rollout : *snapshot.mutable_rollouts()) rollout.clear_strategy();
}

absl::StatusOr<std::string> FleetSnapshotJson(const v1::FleetSnapshot& snapshot) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string json;
  const auto status = google::protobuf::util::MessageToJsonString(snapshot, &json, options);
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat("fleet snapshot as JSON: ", status.ToString()));
  }
  return json;
}

}  // namespace pyservice::controller::dashboard

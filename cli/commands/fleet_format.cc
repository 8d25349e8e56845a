#include "cli/commands/fleet_format.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "common/time/rfc3339.h"

namespace pyservice::cli {

std::string HealthName(v1::HealthState health) {
  switch (health) {
    case v1::HEALTH_STATE_HEALTHY:
      return "healthy";
    case v1::HEALTH_STATE_PROGRESSING:
      return "progressing";
    case v1::HEALTH_STATE_DEGRADED:
      return "degraded";
    case v1::HEALTH_STATE_FAILED:
      return "failed";
    default:
      return "unknown";
  }
}

std::string DeployStateName(v1::HostDeployState state) {
  switch (state) {
    case v1::HOST_DEPLOY_STATE_PENDING:
      return "pending";
    case v1::HOST_DEPLOY_STATE_DEPLOYING:
      return "deploying";
    case v1::HOST_DEPLOY_STATE_HEALTHY:
      return "healthy";
    case v1::HOST_DEPLOY_STATE_FAILED:
      return "failed";
    case v1::HOST_DEPLOY_STATE_REMOVING:
      return "removing";
    default:
      return "";
  }
}

Document HostAppStatusDocument(const v1::HostAppStatus& status) {
  Document units = Document::List();
  for (const v1::UnitHealth& unit : status.units()) {
    units.Append(Document::Map()
                     .Set("unit", Document::String(unit.unit()))
                     .Set("active_state", Document::String(unit.active_state()))
                     .Set("sub_state", Document::String(unit.sub_state()))
                     .Set("result", Document::String(unit.result()))
                     .Set("exec_main_status", Document::Int(unit.exec_main_status())));
  }
  Document drift = Document::List();
  for (const v1::Drift& entry : status.drift()) {
    drift.Append(
        Document::Map()
            .Set("path", Document::String(entry.path()))
            .Set("reason", Document::String(entry.reason()))
            .Set("detected_at",
                 Document::String(FormatRfc3339(absl::FromUnixMillis(entry.detected_at_unix_ms()))))
            .Set("repaired", Document::Bool(entry.repaired())));
  }
  return Document::Map()
      .Set("host", Document::String(status.host()))
      .Set("connected", Document::Bool(status.connected()))
      .Set("revision", Document::Int(status.revision()))
      .Set("tag", Document::String(status.tag()))
      .Set("commit", Document::String(status.commit()))
      .Set("health", Document::String(HealthName(status.health())))
      .Set("units", std::move(units))
      .Set("targeted", Document::Bool(status.targeted()))
      .Set("state", Document::String(DeployStateName(status.state())))
      .Set("message", Document::String(status.message()))
      .Set("failed_step", Document::String(status.failed_step()))
      .Set("drift", std::move(drift));
}

Document AppStatusDocument(const v1::AppStatus& status) {
  Document hosts = Document::List();
  for (const v1::HostAppStatus& host : status.hosts()) {
    hosts.Append(HostAppStatusDocument(host));
  }
  return Document::Map()
      .Set("app", Document::String(status.app()))
      .Set("hosts", std::move(hosts))
      .Set("revision", Document::Int(status.revision()))
      .Set("tag", Document::String(status.tag()));
}

std::string UnitsText(const v1::HostAppStatus& status) {
  std::vector<std::string> units;
  for (const v1::UnitHealth& unit : status.units()) {
    std::string text = absl::StrCat(unit.unit(), " ", unit.active_state(), "/", unit.sub_state());
    // A timer's service whose last run failed: how.
    if (!unit.result().empty() && unit.result() != "success") {
      absl::StrAppend(&text, " (last run ", unit.result(), ", status ", unit.exec_main_status(),
                      ")");
    }
    units.push_back(std::move(text));
  }
  return absl::StrJoin(units, ", ");
}

std::string DriftText(const v1::HostAppStatus& status) {
  if (status.drift().empty()) return "-";
  std::vector<std::string> entries;
  for (const v1::Drift& entry : status.drift()) {
    entries.push_back(absl::StrCat(entry.path(), " (", entry.reason(),
                                   entry.repaired() ? ", repaired" : "", ")"));
  }
  return absl::StrJoin(entries, ", ");
}

std::vector<std::string> HostStatusHeader() {
  return {"HOST", "CONNECTED", "REVISION", "TAG", "HEALTH", "STATE", "UNITS", "DRIFT"};
}

std::vector<std::string> HostStatusRow(const v1::HostAppStatus& status) {
  const bool runs = status.revision() != 0 || !status.tag().empty();
  return {status.host(),
          status.connected() ? "yes" : "no",
          runs ? absl::StrCat(status.revision()) : "-",
          runs ? status.tag() : "-",
          HealthName(status.health()),
          DeployStateName(status.state()),
          UnitsText(status),
          DriftText(status)};
}

std::string ProgressLine(const v1::HostDeployProgress& progress) {
  const std::string& host = progress.host();
  if (progress.left()) {
    return absl::StrCat(host, ": no longer counted (disconnected or not targeted)");
  }
  switch (progress.state()) {
    case v1::HOST_DEPLOY_STATE_HEALTHY:
      return absl::StrCat(host, ": healthy");
    case v1::HOST_DEPLOY_STATE_FAILED:
      if (progress.failed_step().empty()) {
        return absl::StrCat(host, ": failed: ", progress.error());
      }
      return absl::StrCat(host, ": failed at ", progress.failed_step(), ": ", progress.error());
    case v1::HOST_DEPLOY_STATE_DEPLOYING: {
      if (progress.step().empty()) return absl::StrCat(host, ": deploying");
      std::string line = absl::StrCat(host, ": ", progress.step(), " ",
                                      StepStateName(progress.step_state()));
      if (progress.step_state() != v1::STEP_STATE_RUNNING && progress.step_elapsed_ms() > 0) {
        absl::StrAppend(&line, absl::StrFormat(" (%.1fs)", progress.step_elapsed_ms() / 1000.0));
      }
      if (!progress.step_message().empty()) absl::StrAppend(&line, ": ", progress.step_message());
      return line;
    }
    default:
      return absl::StrCat(host, ": pending");
  }
}

}  // namespace pyservice::cli

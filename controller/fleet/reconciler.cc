#include "controller/fleet/reconciler.h"

#include <set>

#include "controller/fleet/deploy_status.h"

namespace pyservice::controller::fleet {

bool Targets(const v1::AppSpec& app, const Labels& labels) {
  for (const auto& [key, value] : app.targets().labels()) {
    const auto found = labels.find(key);
    if (found == labels.end() || found->second != value) return false;
  }
  return true;
}

namespace {

// Whether the deploy or preparation in flight is still what `host` should
// get for the app (`wanted`: null when the app is deleted or does not
// target the host). Removals always are: see reconciler.h.
bool StillWanted(const InFlightDeploy& deploy, const DesiredApp* wanted, const HostView& host) {
  if (deploy.remove) return true;
  if (wanted == nullptr) return false;
  if (deploy.prepare) return wanted->PreparesOn(host.name) && deploy.digest == wanted->digest;
  return deploy.digest == wanted->For(host.name).digest;
}

}  // namespace

std::vector<ReconcileAction> PlanHost(const HostView& host, const DesiredSet& desired) {
  std::vector<ReconcileAction> actions;
  if (!host.connected) return actions;

  // Every app name that is desired, reported or in flight, in order.
  std::set<std::string> names;
  for (const auto& [name, app] : desired) names.insert(name);
  for (const auto& [name, health] : host.apps) names.insert(name);
  for (const auto& [name, deploy] : host.in_flight) names.insert(name);

  for (const std::string& name : names) {
    const auto failure = host.failures.find(name);
    const auto reported = host.apps.find(name);
    const auto wanted = desired.find(name);
    const bool targeted = wanted != desired.end() && wanted->second.spec != nullptr &&
                          Targets(*wanted->second.spec, host.labels);
    if (const auto in_flight = host.in_flight.find(name); in_flight != host.in_flight.end()) {
      const InFlightDeploy& deploy = in_flight->second;
      if (!deploy.cancel_sent &&
          !StillWanted(deploy, targeted ? &wanted->second : nullptr, host)) {
        actions.push_back({ReconcileAction::Kind::kCancel, name, 0, deploy.deploy_id});
      }
      continue;  // wait for its result
    }
    if (targeted) {
      const DesiredApp& app = wanted->second;
      const DesiredRevision& revision = app.For(host.name);
      // An unverified release (its deploy stopped during verify) is sent
      // again: the agent resumes that deploy and verifies it.
      const bool runs_it = reported != host.apps.end() &&
                           reported->second.spec_digest() == revision.digest &&
                           RunsVerified(reported->second);
      if (!runs_it) {
        if (failure != host.failures.end() && !failure->second.remove &&
            failure->second.revision == revision.revision) {
          continue;  // failed here already: not again until another revision
        }
        actions.push_back({ReconcileAction::Kind::kDeploy, name, revision.revision});
        continue;
      }
      if (!app.PreparesOn(host.name) || revision.digest == app.digest) continue;
      const auto prepared = host.preparations.find(name);
      if (prepared != host.preparations.end() && prepared->second.digest == app.digest) continue;
      actions.push_back({ReconcileAction::Kind::kPrepare, name, app.revision});
      continue;
    }
    if (reported == host.apps.end()) continue;
    if (reported->second.revision() == 0) continue;  // deployed locally: the operator's
    if (failure != host.failures.end() && failure->second.remove) continue;
    actions.push_back({ReconcileAction::Kind::kRemove, name, 0});
  }
  return actions;
}

}  // namespace pyservice::controller::fleet

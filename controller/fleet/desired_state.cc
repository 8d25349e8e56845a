#include "controller/fleet/desired_state.h"

#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "controller/fleet/desired_change.h"
#include "controller/store/stored_spec.h"
#include "pyservice/v1/rollout_record.pb.h"

namespace pyservice::controller::fleet {
namespace {

absl::StatusOr<DesiredRevision> ToDesired(const StoredRevision& stored) {
  ASSIGN_OR_RETURN(v1::AppSpec spec, DecodeStoredSpec(stored));
  DesiredRevision revision;
  revision.revision = stored.number;
  revision.tag = stored.tag;
  revision.digest = stored.digest;
  revision.spec = std::make_shared<const v1::AppSpec>(std::move(spec));
  return revision;
}

}  // namespace

absl::StatusOr<DesiredApp> DesiredState::Load(const StoredRevision& current) {
  DesiredApp app;
  app.name = current.app;
  ASSIGN_OR_RETURN(DesiredRevision revision, ToDesired(current));
  static_cast<DesiredRevision&>(app) = std::move(revision);
  ASSIGN_OR_RETURN(const std::optional<StoredRollout> rollout, store_.LatestRollout(current.app));
  // A rollout counts while the current revision is the one it rolls out
  // (an app deleted and applied again starts over without one).
  if (!rollout.has_value() || rollout->to_revision != current.number ||
      rollout->from_revision == 0) {
    return app;
  }
  v1::RolloutRecord record;
  if (!record.ParseFromString(rollout->record)) {
    return absl::DataLossError(absl::StrCat("stored rollout ", rollout->id, " of ", current.app,
                                            " does not decode"));
  }
  auto placement = std::make_shared<rollout::Placement>(rollout::PlaceHosts(rollout->id, record));
  if (placement->others_on_to && placement->prepare.empty()) return app;  // reached every host
  ASSIGN_OR_RETURN(const StoredRevision from,
                   store_.GetRevision(current.app, rollout->from_revision));
  ASSIGN_OR_RETURN(app.from, ToDesired(from));
  app.placement = std::move(placement);
  return app;
}

absl::Status DesiredState::LoadAll() {
  absl::MutexLock refresh(&refresh_mu_);
  ASSIGN_OR_RETURN(const std::vector<StoredApp> apps, store_.ListApps());
  auto set = std::make_shared<DesiredSet>();
  for (const StoredApp& stored : apps) {
    ASSIGN_OR_RETURN(DesiredApp app, Load(stored.latest));
    set->emplace(app.name, std::move(app));
  }
  absl::MutexLock lock(&mu_);
  current_ = std::move(set);
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::vector<std::string>>> DesiredState::Refresh(
    const std::string& name) {
  absl::MutexLock refresh(&refresh_mu_);
  ASSIGN_OR_RETURN(const std::optional<StoredRevision> current, store_.CurrentRevision(name));
  std::optional<DesiredApp> app;
  if (current.has_value()) {
    ASSIGN_OR_RETURN(app, Load(*current));
  }
  absl::MutexLock lock(&mu_);
  auto set = std::make_shared<DesiredSet>(*current_);
  if (app.has_value()) {
    (*set)[name] = *std::move(app);
  } else {
    set->erase(name);
  }
  // Against the set this one replaces: refreshes are serialized, so the
  // changes returned chain up with nothing missed between two of them.
  const auto old_app = current_->find(name);
  const auto new_app = set->find(name);
  std::optional<std::vector<std::string>> changed =
      HostsWithChangedWork(old_app == current_->end() ? nullptr : &old_app->second,
                           new_app == set->end() ? nullptr : &new_app->second);
  current_ = std::move(set);
  return changed;
}

std::shared_ptr<const DesiredSet> DesiredState::Snapshot() const {
  absl::MutexLock lock(&mu_);
  return current_;
}

}  // namespace pyservice::controller::fleet

#include "controller/fleet/desired_state.h"

#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"

namespace pyservice::controller::fleet {
namespace {

absl::StatusOr<DesiredApp> ToDesired(const StoredRevision& stored) {
  auto spec = std::make_shared<v1::AppSpec>();
  if (!spec->ParseFromString(stored.spec)) {
    return absl::DataLossError(absl::StrCat("stored spec of ", stored.app, " revision ",
                                            stored.number, " does not decode"));
  }
  DesiredApp app;
  app.name = stored.app;
  app.revision = stored.number;
  app.tag = stored.tag;
  app.digest = stored.digest;
  app.spec = std::move(spec);
  return app;
}

}  // namespace

absl::Status DesiredState::LoadAll() {
  absl::MutexLock refresh(&refresh_mu_);
  ASSIGN_OR_RETURN(const std::vector<StoredApp> apps, store_.ListApps());
  auto set = std::make_shared<DesiredSet>();
  for (const StoredApp& stored : apps) {
    ASSIGN_OR_RETURN(DesiredApp app, ToDesired(stored.latest));
    set->emplace(app.name, std::move(app));
  }
  absl::MutexLock lock(&mu_);
  current_ = std::move(set);
  return absl::OkStatus();
}

absl::Status DesiredState::Refresh(const std::string& name) {
  absl::MutexLock refresh(&refresh_mu_);
  ASSIGN_OR_RETURN(const std::optional<StoredRevision> current, store_.CurrentRevision(name));
  std::optional<DesiredApp> app;
  if (current.has_value()) {
    ASSIGN_OR_RETURN(app, ToDesired(*current));
  }
  absl::MutexLock lock(&mu_);
  auto set = std::make_shared<DesiredSet>(*current_);
  if (app.has_value()) {
    (*set)[name] = *std::move(app);
  } else {
    set->erase(name);
  }
  current_ = std::move(set);
  return absl::OkStatus();
}

std::shared_ptr<const DesiredSet> DesiredState::Snapshot() const {
  absl::MutexLock lock(&mu_);
  return current_;
}

}  // namespace pyservice::controller::fleet

// Per-app agent state on disk: STATE_DIR/apps/APP/state.pb, rewritten
// crash-safely (temp file, fsync, rename, fsync dir) after every pipeline
// step, so an agent killed at any moment finds either the old or the new
// state, never a torn one.
#ifndef PYSERVICE_AGENT_STATE_STATE_STORE_H_
#define PYSERVICE_AGENT_STATE_STATE_STORE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "pyservice/v1/agent_state.pb.h"

namespace pyservice::agent {

class StateStore {
 public:
  explicit StateStore(std::string state_dir) : state_dir_(std::move(state_dir)) {}

  // Creates STATE_DIR/apps (0700: the state holds specs with secrets).
  absl::Status Initialize();

  // nullopt when the app was never deployed here.
  absl::StatusOr<std::optional<v1::AppState>> Load(const std::string& app) const;
  absl::Status Save(const v1::AppState& state);
  // Every app with a state file, by name.
  absl::StatusOr<std::vector<std::string>> ListApps() const;

  // STATE_DIR/apps/APP: the app's private agent-side directory (state file,
  // git mirror). Created by Save.
  std::string AppDir(const std::string& app) const;

 private:
  std::string state_dir_;
};

}  // namespace pyservice::agent

#endif  // PYSERVICE_AGENT_STATE_STATE_STORE_H_

// The objects every pipeline step works with: the host's mechanisms
// (HostServices), the settings of this agent (AgentSettings), the deploy in
// progress (Deploy) and where progress goes (ProgressSink).
#ifndef PYSERVICE_AGENT_INSTALL_DEPLOY_H_
#define PYSERVICE_AGENT_INSTALL_DEPLOY_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agent/git/git_fetcher.h"
#include "agent/host/process_runner.h"
#include "agent/host/user_manager.h"
#include "agent/systemd/systemd_manager.h"
#include "agent/units/unit_renderer.h"
#include "common/file/file_ops.h"
#include "common/spec/spec_policy.h"
#include "common/time/clock.h"
#include "pyservice/v1/agent_state.pb.h"

namespace pyservice::agent {

// Every side effect a step may have goes through one of these (STYLE.md:
// interfaces apart from mechanisms), except plain file operations, which
// tests run for real in temporary directories.
struct HostServices {
  SystemdManager& systemd;
  GitFetcher& git;
  ProcessRunner& processes;
  UserManager& users;
  const Clock& clock;
  // Waits between health polls; tests pass a function that advances a
  // FakeClock instead of sleeping.
  std::function<void(absl::Duration)> sleep;
};

struct AgentSettings {
  std::string state_dir = "/var/lib/pyservice-agent";
  std::string unit_dir = "/etc/systemd/system";
  std::string python = "/usr/bin/python3";
  // Extra pip arguments for the venv backend, e.g. {"--no-index",
  // "--find-links", "/srv/wheels"} on offline fleets.
  std::vector<std::string> pip_options;
  // Releases kept on disk, the live one included.
  int keep_releases = 3;
  // This host's admin's exceptions to the spec policy (agent config
  // `spec_policy:`), checked before any step of a deploy.
  spec::SpecPolicy spec_policy;
  // How often verify looks at the units.
  absl::Duration health_poll_interval = absl::Milliseconds(500);
  // Deadlines of the child processes a deploy runs (agent config
  // `timeouts:`); on one, the command's whole process group is killed.
  // uv/pip/python -m venv, each:
  absl::Duration environment_timeout = absl::Minutes(15);
  // One git fetch (the fetch runs in a child process of its own):
  absl::Duration fetch_timeout = absl::Minutes(10);
};

enum class StepState { kRunning, kDone, kUnchanged, kFailed };

absl::string_view StepStateName(StepState state);

struct StepProgress {
  std::string app;
  std::string step;
  StepState state = StepState::kRunning;
  absl::Duration elapsed;
  std::string message;  // never contains secrets
};

class ProgressSink {
 public:
  virtual ~ProgressSink() = default;
  virtual void Report(const StepProgress& progress) = 0;
};

// One pipeline run for one app.
struct Deploy {
  // The spec being deployed: normalized (what is stored) and expanded
  // (what is written to the host).
  v1::AppSpec spec;
  v1::AppSpec expanded;
  std::string spec_digest;
  // The app's persisted state; steps update it, the runner saves it.
  v1::AppState* state = nullptr;
  // The release being deployed; checkout fills id and commit, environment
  // fills backend and environment_digest.
  v1::ReleaseRecord release;
  // The app user's ids; set by the user step.
  Owner owner{0, 0};
  // What the activation steps changed, so only affected units restart.
  bool release_switched = false;
  bool files_changed = false;
  // Files written for this deploy (files:, config.yaml, ssh key, units),
  // recorded in the state when it succeeds.
  std::vector<v1::WrittenFile> written;
  // True once the run is canceled (DeployOptions::canceled; never empty
  // while a step runs): steps pass it to the child processes and fetches
  // they start, which are then killed at once.
  std::function<bool()> canceled = [] { return false; };
  // Human-readable notes of the current step ("clone 3.1 MiB", "repaired
  // drift in hello-web.service"), reported with its result.
  std::vector<std::string> notes;
};

}  // namespace pyservice::agent

#endif  // PYSERVICE_AGENT_INSTALL_DEPLOY_H_

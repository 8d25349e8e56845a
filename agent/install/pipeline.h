// The install pipeline: the role's `setup` + `activate`, as ordered steps.
//
//   user → directories → ssh-key → checkout → environment      (prepare)
//   → files → config → switch → units → verify                  (activate)
//
// Preparation builds the new release next to the live one, which keeps
// running; activation writes files and config, swaps the code symlink,
// rewrites units and restarts only what changed, then verifies health. A
// deploy that fails after the switch is rolled back to the previous release
// by running the activation steps with that release's spec. Deploying the
// spec of a kept release again (a rollback or undo from the controller)
// re-activates it the same way: no fetch, no build.
//
// After every step the app's state is saved (crash-safe), with the steps
// done so far, so a restarted agent resumes: every step is idempotent, so
// resuming means running the pipeline again, and the finished steps find
// nothing to do.
#ifndef PYSERVICE_AGENT_INSTALL_PIPELINE_H_
#define PYSERVICE_AGENT_INSTALL_PIPELINE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "agent/install/deploy.h"
#include "agent/install/step.h"
#include "agent/state/state_store.h"

namespace pyservice::agent {

// What a run is asked beyond the spec (the daemon's requests carry these).
struct DeployOptions {
  // The controller revision being deployed, recorded in the release
  // (ReleaseRecord.revision); 0 for a local apply.
  uint32_t revision = 0;
  // The digest to record and report for the spec (DeployDigest).
  std::string spec_digest;
  // Asked before every step, and while a step's child process or git fetch
  // runs (which is then killed at once); once it returns true the run stops
  // with ABORTED "STEP: canceled" (a canceled activation is rolled back like
  // a failed one). Empty: never canceled.
  std::function<bool()> canceled;
};

// How a run ended, beyond its status.
struct DeployOutcome {
  // The step that failed or was canceled; empty on success or when the run
  // failed outside any step (e.g. loading the state).
  std::string failed_step;
  // The previous release was re-activated after a failed activation.
  bool rolled_back = false;
};

// The digest a deploy of `spec` records and reports: `sent`, the
// controller's (DeployRequest.spec_digest, keyed: agents cannot compute it),
// or the agent's own spec::UnkeyedSpecDigest when there is none (a local
// apply, an older controller).
std::string DeployDigest(const v1::AppSpec& spec, const std::string& sent);

class Pipeline {
 public:
  Pipeline(HostServices& host, const AgentSettings& settings, StateStore& store,
           ProgressSink& progress);

  // Deploys `spec` (normalized, as parsed). On success the release is live
  // and healthy; on failure before the switch nothing live changed; on
  // failure after it the previous release is live again (if there was one).
  // A spec that a kept previous release was built from (the same spec,
  // whatever its digest; release directory still on disk; e.g. the controller's rollback or
  // undo) re-activates that release without checkout and environment,
  // unless an unfinished deploy of the spec is resumed; it then becomes live
  // under options.revision like any new release.
  // Deploy and Prepare first check the spec against the spec policy on this
  // host (spec_policy_gate.h): a refused spec fails INVALID_ARGUMENT with
  // outcome->failed_step "policy", and nothing on the host is touched.
  absl::Status Deploy(const v1::AppSpec& spec, const DeployOptions& options = {},
                      DeployOutcome* outcome = nullptr);

  // Runs only the prepare steps (user → environment): the release is built
  // next to the live one, which keeps running untouched. The state keeps
  // the prepared release as an unfinished deploy, so a later Deploy of the
  // same spec resumes it and only activates.
  absl::Status Prepare(const v1::AppSpec& spec, const DeployOptions& options = {},
                       DeployOutcome* outcome = nullptr);

  // Takes the app off this host (the app was deleted, or no longer targets
  // the host): stops, disables and deletes every unit file a deploy wrote,
  // then deletes its secrets: the ssh key, every files: entry, config.yaml,
  // the git mirror (its config holds the repo URL), and the specs kept in
  // the state; all as one step "remove". The app tree and its release
  // directories stay; the state keeps the release records (the live one
  // becomes the newest previous one) without their specs, so a later deploy
  // of the app (with its whole spec) reuses the release directories but
  // nothing can be rolled back to. Idempotent; OK for an app never deployed
  // here.
  absl::Status Remove(const std::string& app);

  // Makes the newest kept previous release live again: no fetch, no build.
  absl::Status Rollback(const std::string& app);

  // Puts back what was changed by hand on the live release (drift,
  // agent/drift/): runs its activation steps again (user → ssh-key, files,
  // config, switch, units, verify), which rewrite only what differs from
  // the live spec, re-enable what was disabled, and restart only the units
  // that affects, as a deploy would. The live release and last_result stay:
  // a repair is not a deploy. FAILED_PRECONDITION while a deploy is
  // unfinished (its next run repairs); OK with nothing live.
  absl::Status Repair(const std::string& app);

 private:
  // Runs `steps` in order for `deploy`, reporting progress and saving the
  // state after each. Returns the first failure, prefixed with its step,
  // whose name goes to `failed_step`. `canceled` (may be empty) is asked
  // before each step. `first_note` (may be empty) is reported with the
  // first step's result, before that step's own notes.
  // `on_done` (may be empty) is called with each step that succeeded, before
  // the state is saved, so what it records is saved with the step.
  absl::Status RunSteps(struct Deploy& deploy, const std::vector<Step*>& steps,
                        const std::function<bool()>& canceled = {},
                        std::string* failed_step = nullptr, absl::string_view first_note = {},
                        const std::function<void(absl::string_view step)>& on_done = {});
  // Deploy and Prepare: loads the state, resumes or starts the unfinished
  // deploy, runs prepare and (when `activate`) activation.
  absl::Status Run(const v1::AppSpec& spec, const DeployOptions& options, bool activate,
                   DeployOutcome& outcome);
  // The steps named, in pipeline order.
  std::vector<Step*> Steps(std::initializer_list<absl::string_view> names) const;
  // Re-activates `release` (a kept one) after a failed deploy or on request.
  absl::Status Activate(v1::AppState& state, const v1::ReleaseRecord& release, bool verify);
  // Moves `deploy`'s release live in the state, the old live one first
  // among the kept ones (at most keep_releases in all).
  void RecordLive(v1::AppState& state, const struct Deploy& deploy) const;
  // RecordLive, and removes release directories no record refers to.
  absl::Status Promote(v1::AppState& state, const struct Deploy& deploy);

  HostServices& host_;
  const AgentSettings& settings_;
  StateStore& store_;
  ProgressSink& progress_;
  // The pipeline's steps in order, as described at the top of this file.
  std::vector<std::unique_ptr<Step>> steps_;
};

}  // namespace pyservice::agent

#endif  // PYSERVICE_AGENT_INSTALL_PIPELINE_H_

#include "agent/install/pipeline.h"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/install/release_layout.h"
#include "agent/install/spec_policy_gate.h"
#include "agent/install/steps/steps.h"
#include "common/spec/canonical.h"
#include "common/spec/template.h"
#include "common/status/status_macros.h"
#include "spdlog/spdlog.h"

namespace pyservice::agent {
namespace {

// Before the switch nothing live has changed; after it, a failure means
// rolling back.
constexpr std::initializer_list<absl::string_view> kPrepare = {"user", "directories", "ssh-key",
                                                               "checkout", "environment"};
constexpr std::initializer_list<absl::string_view> kActivate = {"files", "config", "switch",
                                                                "units", "verify"};
// Re-activating a kept release: everything but fetching and building
// (kPrepareKept, then kActivate).
constexpr std::initializer_list<absl::string_view> kReactivate = {
    "user", "directories", "ssh-key", "files", "config", "switch", "units", "verify"};
constexpr std::initializer_list<absl::string_view> kPrepareKept = {"user", "directories",
                                                                   "ssh-key"};

// Records what a step wrote, by path, so that the state always lists every
// file on disk that some deploy of this app wrote — also after a failed
// deploy, whose rollback must then remove the files it added.
void MergeWritten(v1::AppState& state, const std::vector<v1::WrittenFile>& written) {
  for (const v1::WrittenFile& file : written) {
    auto* files = state.mutable_files();
    auto it = std::find_if(files->begin(), files->end(),
                           [&](const v1::WrittenFile& f) { return f.path() == file.path(); });
    if (it != files->end()) {
      *it = file;
    } else {
      *files->Add() = file;
    }
  }
}

absl::StatusOr<struct Deploy> NewDeploy(const v1::AppSpec& spec, const std::string& digest,
                                        v1::AppState& state) {
  struct Deploy deploy;
  deploy.spec = spec;
  ASSIGN_OR_RETURN(deploy.expanded, spec::ExpandSpec(spec));
  deploy.spec_digest = digest;
  deploy.state = &state;
  return deploy;
}

// The kept previous release built from exactly this spec, if its directory
// is still on disk: deploying the spec again (a controller's rollback or
// undo) re-activates it instead of fetching and building. Specs, not
// digests, are compared: a controller's digests change with its key, and a
// release recorded under an older one is still the same release.
std::optional<v1::ReleaseRecord> KeptRelease(const v1::AppState& state,
                                             const struct Deploy& deploy) {
  for (const v1::ReleaseRecord& release : state.previous()) {
    if (spec::SameSpec(release.spec(), deploy.spec) && !release.id().empty() &&
        Dir::Open(ReleaseDir(deploy.expanded, release.id())).ok()) {
      return release;
    }
  }
  return std::nullopt;
}

// lstat of `path` through the safe layer; nullopt when it (or its
// directory) does not exist.
absl::StatusOr<std::optional<struct stat>> StatPath(const std::string& path) {
  const auto [parent, name] = SplitPath(path);
  absl::StatusOr<Dir> dir = Dir::Open(parent);
  if (absl::IsNotFound(dir.status())) return std::optional<struct stat>();
  if (!dir.ok()) return dir.status();
  return dir->Stat(name);
}

// Drops the spec of every release record: see Remove.
void ScrubSpecs(v1::AppState& state) {
  state.mutable_live()->clear_spec();
  for (v1::ReleaseRecord& record : *state.mutable_previous()) record.clear_spec();
  if (state.has_in_flight()) {
    state.mutable_in_flight()->clear_spec();
    state.mutable_in_flight()->mutable_release()->clear_spec();
  }
}

// A record scrubbed by Remove: it names a release directory a deploy may
// reuse, but it can no longer be re-activated on its own.
bool Scrubbed(const v1::ReleaseRecord& record) { return record.spec().name().empty(); }

}  // namespace

std::string DeployDigest(const v1::AppSpec& spec, const std::string& sent) {
  return sent.empty() ? spec::UnkeyedSpecDigest(spec) : sent;
}

Pipeline::Pipeline(HostServices& host, const AgentSettings& settings, StateStore& store,
                   ProgressSink& progress)
    : host_(host), settings_(settings), store_(store), progress_(progress) {
  steps_.push_back(NewUserStep());
  steps_.push_back(NewDirectoriesStep());
  steps_.push_back(NewSshKeyStep());
  steps_.push_back(NewCheckoutStep());
  steps_.push_back(NewEnvironmentStep());
  steps_.push_back(NewFilesStep());
  steps_.push_back(NewConfigStep());
  steps_.push_back(NewSwitchStep());
  steps_.push_back(NewUnitsStep());
  steps_.push_back(NewVerifyStep());
}

std::vector<Step*> Pipeline::Steps(std::initializer_list<absl::string_view> names) const {
  std::vector<Step*> selected;
  for (const auto& step : steps_) {
    if (std::find(names.begin(), names.end(), step->name()) != names.end()) {
      selected.push_back(step.get());
    }
  }
  return selected;
}

absl::Status Pipeline::RunSteps(struct Deploy& deploy, const std::vector<Step*>& steps,
                                const std::function<bool()>& canceled,
                                std::string* failed_step, absl::string_view first_note,
                                const std::function<void(absl::string_view step)>& on_done) {
  v1::AppState& state = *deploy.state;
  for (Step* step : steps) {
    StepProgress progress{state.app(), std::string(step->name()), StepState::kRunning,
                          absl::ZeroDuration(), ""};
    // A run stops early at a step boundary, or inside a step whose child
    // process or fetch is killed (Deploy::canceled): every step is
    // idempotent, so the next run picks up here.
    if (canceled && canceled()) {
      progress.state = StepState::kFailed;
      progress.message = "canceled";
      progress_.Report(progress);
      if (failed_step != nullptr) *failed_step = progress.step;
      return absl::AbortedError(absl::StrCat(step->name(), ": canceled"));
    }
    progress_.Report(progress);
    const absl::Time start = host_.clock.Now();
    if (canceled) deploy.canceled = canceled;
    deploy.notes.clear();
    if (step == steps.front() && !first_note.empty()) deploy.notes.emplace_back(first_note);
    absl::StatusOr<bool> changed = step->Run(deploy, host_, settings_);
    MergeWritten(state, deploy.written);
    if (state.has_in_flight()) {
      state.mutable_in_flight()->add_completed_steps(std::string(step->name()));
      *state.mutable_in_flight()->mutable_release() = deploy.release;
    }
    if (changed.ok() && on_done) on_done(step->name());
    absl::Status saved = store_.Save(state);
    progress.elapsed = host_.clock.Now() - start;
    progress.message = absl::StrJoin(deploy.notes, "; ");
    if (!changed.ok() && canceled && canceled()) {
      // Killed midway: reported as canceled like a cancel at the boundary.
      changed = absl::AbortedError("canceled");
    }
    if (!changed.ok()) {
      progress.state = StepState::kFailed;
      progress.message = std::string(changed.status().message());
      progress_.Report(progress);
      if (failed_step != nullptr) *failed_step = progress.step;
      return absl::Status(changed.status().code(),
                          absl::StrCat(step->name(), ": ", changed.status().message()));
    }
    progress.state = *changed ? StepState::kDone : StepState::kUnchanged;
    progress_.Report(progress);
    if (!saved.ok()) {
      return absl::Status(saved.code(), absl::StrCat("saving state: ", saved.message()));
    }
  }
  return absl::OkStatus();
}

absl::Status Pipeline::Deploy(const v1::AppSpec& spec, const DeployOptions& options,
                              DeployOutcome* outcome) {
  DeployOutcome ignored;
  return Run(spec, options, /*activate=*/true, outcome != nullptr ? *outcome : ignored);
}

absl::Status Pipeline::Prepare(const v1::AppSpec& spec, const DeployOptions& options,
                               DeployOutcome* outcome) {
  DeployOutcome ignored;
  return Run(spec, options, /*activate=*/false, outcome != nullptr ? *outcome : ignored);
}

absl::Status Pipeline::Run(const v1::AppSpec& spec, const DeployOptions& options, bool activate,
                           DeployOutcome& outcome) {
  outcome = DeployOutcome();
  // The agent runs as root: a spec the policy refuses (root, another
  // account, a path outside the app root...) stops here, before any step,
  // whatever the controller allowed (this host's admin has the last word).
  if (absl::Status allowed = CheckSpecOnHost(spec, settings_.spec_policy, host_.users);
      !allowed.ok()) {
    outcome.failed_step = "policy";
    spdlog::warn("{}: refused: {}", spec.name(), std::string(allowed.message()));
    return allowed;
  }
  RETURN_IF_ERROR(store_.Initialize());
  ASSIGN_OR_RETURN(std::optional<v1::AppState> loaded, store_.Load(spec.name()));
  v1::AppState state = loaded.value_or(v1::AppState());
  state.set_app(spec.name());
  ASSIGN_OR_RETURN(struct Deploy deploy,
                   NewDeploy(spec, DeployDigest(spec, options.spec_digest), state));
  // An unfinished deploy of the same revision (crash, or a failure before
  // the switch) is resumed: its prepared release is reused. One of another
  // revision is abandoned. Otherwise a deploy of the spec a kept release was
  // built from re-activates that release: no fetch, no build.
  std::optional<v1::ReleaseRecord> kept;
  const bool resumes = state.has_in_flight() && spec::SameSpec(state.in_flight().spec(), spec);
  if (!activate && !resumes) {
    if (std::optional<v1::ReleaseRecord> ready = KeptRelease(state, deploy)) {
      // Nothing to prepare: the Deploy that follows re-activates it.
      spdlog::info("{}: kept release {} is ready; nothing to prepare", spec.name(), ready->id());
      return absl::OkStatus();
    }
  }
  if (resumes) {
    spdlog::info("{}: resuming an interrupted deploy (done: {})", spec.name(),
                 absl::StrJoin(state.in_flight().completed_steps(), ", "));
    state.mutable_in_flight()->clear_completed_steps();
    state.mutable_in_flight()->set_spec_digest(deploy.spec_digest);
    deploy.release = state.in_flight().release();
  } else {
    if (state.has_in_flight()) {
      spdlog::warn("{}: abandoning an unfinished deploy of another revision", spec.name());
    }
    v1::InFlightDeploy* in_flight = state.mutable_in_flight();
    in_flight->Clear();
    in_flight->set_spec_digest(deploy.spec_digest);
    *in_flight->mutable_spec() = spec;
    *in_flight->mutable_rollback_to() = state.live();
    *in_flight->mutable_previous_before() = state.previous();
    if (activate) kept = KeptRelease(state, deploy);
  }
  std::string note;
  if (kept) {
    note = absl::StrCat("re-activating kept release ", kept->id());
    spdlog::info("{}: {} (revision {})", spec.name(), note, options.revision);
    deploy.release = *kept;
  }
  deploy.release.set_revision(options.revision);
  if (kept) *state.mutable_in_flight()->mutable_release() = deploy.release;
  RETURN_IF_ERROR(store_.Save(state));

  // A kept release skips checkout and environment; the rest (activation,
  // promotion, rollback on failure) is the same as for a new release.
  absl::Status status = RunSteps(deploy, Steps(kept ? kPrepareKept : kPrepare), options.canceled,
                                 &outcome.failed_step, note);
  const bool prepared = status.ok();
  if (prepared && !activate) {
    // The prepared release waits in in_flight for the Deploy that switches.
    *state.mutable_in_flight()->mutable_release() = deploy.release;
    return store_.Save(state);
  }
  // The release that runs once the units step has restarted the services:
  // from then on the state names it live, so that an agent killed during
  // verify (or before its final save) reports what runs.
  const std::function<void(absl::string_view)> record_live = [&](absl::string_view step) {
    if (step == "units") RecordLive(state, deploy);
  };
  if (prepared) {
    status = RunSteps(deploy, Steps(kActivate), options.canceled, &outcome.failed_step, {},
                      record_live);
  }
  if (status.ok()) {
    state.clear_in_flight();
    RETURN_IF_ERROR(Promote(state, deploy));
    state.set_last_result(absl::StrCat("deployed ", deploy.release.id()));
    state.set_live_broken(false);
    return store_.Save(state);
  }
  // A failure after the switch may have left the app half-new: put the
  // previous release back (it is still on disk, so this takes seconds).
  // It is the one live when the deploy began (the new one may have been
  // recorded live after its units step).
  const v1::InFlightDeploy& in_flight = state.in_flight();
  const v1::ReleaseRecord previous =
      in_flight.has_rollback_to() ? in_flight.rollback_to() : state.live();
  if (prepared && previous.id().empty()) {
    state.set_live_broken(true);  // the first release, half switched in
  } else if (prepared) {
    const auto previous_before = in_flight.has_rollback_to()
                                     ? in_flight.previous_before()
                                     : state.previous();
    absl::Status rollback = Activate(state, previous, /*verify=*/true);
    outcome.rolled_back = rollback.ok();
    state.set_live_broken(!rollback.ok());
    if (rollback.ok()) {
      *state.mutable_live() = previous;
      *state.mutable_previous() = previous_before;
    }
    status = absl::Status(status.code(),
                          rollback.ok()
                              ? absl::StrCat(status.message(), "; rolled back to ", previous.id())
                              : absl::StrCat(status.message(), "; rollback to ", previous.id(),
                                             " failed too: ", rollback.message()));
  }
  state.set_last_result(absl::StrCat("failed: ", status.message()));
  RETURN_IF_ERROR(store_.Save(state));
  return status;
}

absl::Status Pipeline::Activate(v1::AppState& state, const v1::ReleaseRecord& release,
                                bool verify) {
  ASSIGN_OR_RETURN(struct Deploy deploy, NewDeploy(release.spec(), release.spec_digest(), state));
  deploy.release = release;
  const std::string dir = ReleaseDir(deploy.expanded, release.id());
  if (!Dir::Open(dir).ok()) {
    return absl::FailedPreconditionError(absl::StrCat("release ", release.id(), " is gone from ", dir));
  }
  std::vector<Step*> steps = Steps(kReactivate);
  if (!verify) steps.pop_back();
  RETURN_IF_ERROR(RunSteps(deploy, steps));
  *state.mutable_files() = {deploy.written.begin(), deploy.written.end()};
  return absl::OkStatus();
}

absl::Status Pipeline::Rollback(const std::string& app) {
  ASSIGN_OR_RETURN(std::optional<v1::AppState> loaded, store_.Load(app));
  if (!loaded || loaded->previous().empty() || Scrubbed(loaded->previous(0))) {
    return absl::FailedPreconditionError(absl::StrCat(
        "no previous release of ", app, " to roll back to",
        loaded && !loaded->previous().empty() ? " (it was removed: deploy it again)" : ""));
  }
  v1::AppState state = *std::move(loaded);
  const v1::ReleaseRecord target = state.previous(0);
  RETURN_IF_ERROR(Activate(state, target, /*verify=*/true));
  const v1::ReleaseRecord was_live = state.live();
  *state.mutable_live() = target;
  if (was_live.id().empty()) {
    state.mutable_previous()->erase(state.mutable_previous()->begin());  // after a Remove
  } else {
    *state.mutable_previous(0) = was_live;
  }
  state.set_last_result(absl::StrCat("rolled back to ", target.id()));
  state.set_live_broken(false);
  return store_.Save(state);
}

absl::Status Pipeline::Repair(const std::string& app) {
  ASSIGN_OR_RETURN(std::optional<v1::AppState> loaded, store_.Load(app));
  if (!loaded || loaded->live().id().empty()) return absl::OkStatus();
  if (loaded->has_in_flight()) {
    return absl::FailedPreconditionError(
        absl::StrCat(app, ": a deploy is unfinished; its next run repairs"));
  }
  v1::AppState state = *std::move(loaded);
  const v1::ReleaseRecord live = state.live();
  RETURN_IF_ERROR(Activate(state, live, /*verify=*/true));
  return store_.Save(state);
}

void Pipeline::RecordLive(v1::AppState& state, const struct Deploy& deploy) const {
  v1::ReleaseRecord live = deploy.release;
  *live.mutable_spec() = deploy.spec;
  live.set_spec_digest(deploy.spec_digest);
  const v1::ReleaseRecord old = state.live();
  // Newest first; one entry per (release, revision), never the live one
  // (after a Remove, the live release comes back from the previous ones).
  auto* previous = state.mutable_previous();
  previous->erase(std::remove_if(previous->begin(), previous->end(),
                                 [&](const v1::ReleaseRecord& r) {
                                   return spec::SameSpec(r.spec(), live.spec()) || Scrubbed(r);
                                 }),
                  previous->end());
  if (!old.id().empty() && !spec::SameSpec(old.spec(), live.spec())) {
    previous->erase(std::remove_if(previous->begin(), previous->end(),
                                   [&](const v1::ReleaseRecord& r) {
                                     return spec::SameSpec(r.spec(), old.spec());
                                   }),
                    previous->end());
    *previous->Add() = old;
    std::rotate(previous->rbegin(), previous->rbegin() + 1, previous->rend());
    while (previous->size() > std::max(0, settings_.keep_releases - 1)) previous->RemoveLast();
  }
  *state.mutable_live() = live;
  *state.mutable_files() = {deploy.written.begin(), deploy.written.end()};
}

absl::Status Pipeline::Promote(v1::AppState& state, const struct Deploy& deploy) {
  RecordLive(state, deploy);
  const v1::ReleaseRecord& live = state.live();

  // Release directories nothing refers to any more go (and leftovers of
  // interrupted exports).
  std::set<std::string> kept = {live.id()};
  for (const v1::ReleaseRecord& r : state.previous()) kept.insert(r.id());
  ASSIGN_OR_RETURN(const Dir releases, Dir::Open(ReleasesDir(deploy.expanded)));
  ASSIGN_OR_RETURN(std::vector<std::string> names, releases.List());
  for (const std::string& name : names) {
    if (kept.count(name) == 0) RETURN_IF_ERROR(releases.RemoveTree(name));
  }
  return absl::OkStatus();
}

absl::Status Pipeline::Remove(const std::string& app) {
  ASSIGN_OR_RETURN(std::optional<v1::AppState> loaded, store_.Load(app));
  if (!loaded) return absl::OkStatus();
  v1::AppState state = *std::move(loaded);
  StepProgress progress{app, "remove", StepState::kRunning, absl::ZeroDuration(), ""};
  progress_.Report(progress);
  const absl::Time start = host_.clock.Now();
  const uint32_t deadline_ms = state.live().spec().health().deadline_ms();
  const absl::Duration timeout =
      deadline_ms > 0 ? absl::Milliseconds(deadline_ms) : absl::Minutes(2);
  // Timers first, so none starts its service while the services stop.
  std::vector<std::string> units;
  for (const v1::WrittenFile& file : state.files()) {
    if (file.kind() == "unit") units.push_back(file.path());
  }
  std::stable_sort(units.begin(), units.end(), [](const std::string& a, const std::string& b) {
    return absl::EndsWith(a, ".timer") && !absl::EndsWith(b, ".timer");
  });
  std::vector<std::string> notes;
  absl::Status status = [&]() -> absl::Status {
    for (const std::string& path : units) {
      const std::string unit = std::filesystem::path(path).filename().string();
      ASSIGN_OR_RETURN(UnitState unit_state, host_.systemd.GetUnitState(unit));
      if (unit_state.load_state != "not-found" && unit_state.active_state != "inactive") {
        RETURN_IF_ERROR(host_.systemd.StopUnit(unit, timeout));
      }
      // NOT_FOUND: the file is gone already (deleted by hand).
      if (absl::Status disabled = host_.systemd.DisableUnitFiles({unit});
          !disabled.ok() && !absl::IsNotFound(disabled)) {
        return disabled;
      }
      RETURN_IF_ERROR(RemoveFile(path));
      notes.push_back(absl::StrCat("removed ", unit));
    }
    if (!units.empty()) RETURN_IF_ERROR(host_.systemd.Reload());
    // The app's secrets leave with it: the ssh key, files: entries and
    // config.yaml (only after its services stopped reading them).
    for (const v1::WrittenFile& file : state.files()) {
      if (file.kind() == "unit") continue;
      ASSIGN_OR_RETURN(std::optional<struct stat> present, StatPath(file.path()));
      if (!present) continue;
      RETURN_IF_ERROR(RemoveFile(file.path()));
      notes.push_back(absl::StrCat("removed ", file.path()));
    }
    // The mirror's config holds the repo URL, credentials and all.
    const std::string mirror = MirrorDir(settings_.state_dir, app);
    ASSIGN_OR_RETURN(std::optional<struct stat> mirrored, StatPath(mirror));
    if (mirrored) {
      RETURN_IF_ERROR(RemoveTree(mirror));
      notes.push_back("removed the git mirror");
    }
    return absl::OkStatus();
  }();
  // Whatever was removed is off the record, also after a failure halfway.
  auto* files = state.mutable_files();
  files->erase(std::remove_if(files->begin(), files->end(),
                              [&](const v1::WrittenFile& file) {
                                absl::StatusOr<std::optional<struct stat>> present =
                                    StatPath(file.path());
                                return present.ok() && !*present;
                              }),
               files->end());
  // Kept specs hold secrets in plaintext (ssh_key, file contents, config,
  // repo credentials): only what lets a later deploy reuse a release
  // directory stays (id, commit, tree digest). The controller sends the
  // whole spec again to deploy the app back.
  ScrubSpecs(state);
  if (status.ok()) {
    if (!state.live().id().empty()) {
      auto* previous = state.mutable_previous();
      *previous->Add() = state.live();
      std::rotate(previous->rbegin(), previous->rbegin() + 1, previous->rend());
      state.clear_live();
    }
    state.clear_in_flight();
    state.set_last_result("removed");
  } else {
    state.set_last_result(absl::StrCat("failed: remove: ", status.message()));
  }
  absl::Status saved = store_.Save(state);
  progress.elapsed = host_.clock.Now() - start;
  progress.message = status.ok() ? absl::StrJoin(notes, "; ") : std::string(status.message());
  progress.state = !status.ok() ? StepState::kFailed
                   : notes.empty() ? StepState::kUnchanged
                                   : StepState::kDone;
  progress_.Report(progress);
  if (!status.ok()) return absl::Status(status.code(), absl::StrCat("remove: ", status.message()));
  return saved;
}

}  // namespace pyservice::agent

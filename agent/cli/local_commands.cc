#include "agent/cli/local_commands.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "agent/cli/terminal_progress.h"
#include "agent/install/pipeline.h"
#include "agent/install/running_release.h"
#include "agent/state/state_store.h"
#include "common/file/file_ops.h"
#include "common/file/read_file.h"
#include "common/spec/app_spec_parser.h"
#include "common/spec/template.h"
#include "common/spec/validators.h"

namespace pyservice::agent {
namespace {

int Fail(absl::string_view message) {
  absl::FPrintF(stderr, "pyservice-agent: %s\n", message);
  return 1;
}

// A deploy left unfinished (killed, or failed before the switch): which
// steps it completed, and, when it got as far as switching, which release
// the code symlink names, so that the report says what runs on its next
// (re)start even before the deploy is resumed.
void PrintInterruptedDeploy(const v1::AppState& state, std::FILE* out) {
  if (!state.has_in_flight()) return;
  const v1::InFlightDeploy& in_flight = state.in_flight();
  const auto& done = in_flight.completed_steps();
  absl::FPrintF(out, "  in flight: tag %s  release %s  done: %s\n", in_flight.spec().tag(),
                in_flight.release().id().empty() ? "-" : in_flight.release().id(),
                done.empty() ? "-" : absl::StrJoin(done, ", "));
  absl::StatusOr<v1::AppSpec> expanded = spec::ExpandSpec(in_flight.spec());
  if (!expanded.ok()) return;
  absl::StatusOr<std::optional<std::string>> code = ReadSymlink(expanded->paths().app_code_dir());
  if (!code.ok() || !code->has_value()) return;
  const std::string id = std::filesystem::path(**code).filename().string();
  if (id != state.live().id()) {
    absl::FPrintF(out, "  code: release %s  (switched by the deploy in flight)\n", id);
  }
}

// What the services' processes run, when it is not the state's live
// release: an agent killed after systemd accepted the units step's restart
// and before it saved the state leaves the old release recorded live.
void PrintRunningRelease(const v1::AppState& state, SystemdManager& systemd, std::FILE* out) {
  const v1::AppSpec& spec = state.live().id().empty() && state.has_in_flight()
                                ? state.in_flight().spec()
                                : state.live().spec();
  absl::StatusOr<v1::AppSpec> expanded = spec::ExpandSpec(spec);
  if (!expanded.ok()) return;
  absl::StatusOr<std::string> running = RunningReleaseId(*expanded, systemd);
  if (!running.ok()) {
    absl::FPrintF(out, "  runs: unknown (%s)\n", running.status().message());
  } else if (!running->empty() && *running != state.live().id()) {
    absl::FPrintF(out,
                  "  runs: release %s  (its services' processes; the state "
                  "names %s live)\n",
                  *running, state.live().id().empty() ? "none" : state.live().id());
  }
}

}  // namespace

int ApplyCommand(const std::string& app_yaml, const std::string& tag, HostServices& host,
                 const AgentSettings& settings) {
  absl::StatusOr<std::string> text = ReadFileToString(app_yaml, spec::kMaxDocumentBytes);
  if (!text.ok()) return Fail(text.status().message());
  // The policy located in app.yaml first; the pipeline checks it again on
  // the host's accounts.
  absl::StatusOr<v1::AppSpec> spec = spec::ParseAppSpec(*text, app_yaml, settings.spec_policy);
  if (!spec.ok()) return Fail(spec.status().message());
  if (!tag.empty()) {
    if (absl::Status valid = spec::ValidateGitRef(tag); !valid.ok()) {
      return Fail(absl::StrCat("--tag: ", valid.message()));
    }
    spec->set_tag(tag);
  }
  StateStore store(settings.state_dir);
  TerminalProgress progress(stdout);
  Pipeline pipeline(host, settings, store, progress);
  absl::FPrintF(stdout, "%s: deploying %s\n", spec->name(), spec->tag());
  std::fflush(stdout);  // before the first step: a log file shows the deploy began
  absl::Status deployed = pipeline.Deploy(*spec);
  if (!deployed.ok()) return Fail(absl::StrCat(spec->name(), ": ", deployed.message()));
  absl::FPrintF(stdout, "%s: %s is live and healthy\n", spec->name(), spec->tag());
  return 0;
}

int RollbackCommand(const std::string& app, HostServices& host, const AgentSettings& settings) {
  if (absl::Status valid = spec::ValidateName(app); !valid.ok()) {
    return Fail(absl::StrCat("app name: ", valid.message()));
  }
  StateStore store(settings.state_dir);
  TerminalProgress progress(stdout);
  Pipeline pipeline(host, settings, store, progress);
  absl::Status rolled_back = pipeline.Rollback(app);
  if (!rolled_back.ok()) return Fail(absl::StrCat(app, ": ", rolled_back.message()));
  absl::StatusOr<std::optional<v1::AppState>> state = store.Load(app);
  absl::FPrintF(stdout, "%s: rolled back to %s\n", app,
                state.ok() && *state ? (*state)->live().id() : "the previous release");
  return 0;
}

int RemoveCommand(const std::string& app, HostServices& host, const AgentSettings& settings) {
  if (absl::Status valid = spec::ValidateName(app); !valid.ok()) {
    return Fail(absl::StrCat("app name: ", valid.message()));
  }
  StateStore store(settings.state_dir);
  TerminalProgress progress(stdout);
  Pipeline pipeline(host, settings, store, progress);
  absl::Status removed = pipeline.Remove(app);
  if (!removed.ok()) return Fail(absl::StrCat(app, ": ", removed.message()));
  absl::FPrintF(stdout, "%s: removed from this host\n", app);
  return 0;
}

int StatusCommand(const std::string& app, SystemdManager& systemd, const AgentSettings& settings,
                  std::FILE* out) {
  StateStore store(settings.state_dir);
  absl::StatusOr<std::vector<std::string>> apps = store.ListApps();
  if (!apps.ok()) return Fail(apps.status().message());
  if (!app.empty()) {
    if (std::find(apps->begin(), apps->end(), app) == apps->end()) {
      return Fail(absl::StrCat("app \"", app, "\" is not deployed on this host"));
    }
    *apps = {app};
  }
  for (const std::string& name : *apps) {
    absl::StatusOr<std::optional<v1::AppState>> state = store.Load(name);
    if (!state.ok() || !*state) return Fail(state.status().message());
    const v1::ReleaseRecord& live = (*state)->live();
    absl::FPrintF(out, "%s  release %s  tag %s  commit %s  env %s\n  last: %s\n", name,
                  live.id().empty() ? "-" : live.id(), live.spec().tag(),
                  live.commit().substr(0, 12), live.backend(), (*state)->last_result());
    PrintInterruptedDeploy(**state, out);
    PrintRunningRelease(**state, systemd, out);
    absl::StatusOr<v1::AppSpec> expanded = spec::ExpandSpec(live.spec());
    if (!expanded.ok() || live.id().empty()) continue;
    for (const UnitFile& unit : RenderUnits(*expanded, EnvironmentBackend::kVenv)) {
      absl::StatusOr<UnitState> unit_state = systemd.GetUnitState(unit.name);
      absl::FPrintF(out, "  %-32s %s\n", unit.name,
                    unit_state.ok()
                        ? absl::StrCat(unit_state->active_state, "/", unit_state->sub_state)
                        : std::string(unit_state.status().message()));
    }
  }
  return 0;
}

}  // namespace pyservice::agent

// systemd unit files for an app, rendered from its expanded spec: what the
// role's templates write, with systemd's escaping applied.
#ifndef PYSERVICE_AGENT_UNITS_UNIT_RENDERER_H_
#define PYSERVICE_AGENT_UNITS_UNIT_RENDERER_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "pyservice/v1/spec.pb.h"

namespace pyservice::agent {

// How the app's Python environment was built, which decides how commands run.
enum class EnvironmentBackend {
  kUv,    // ExecStart is the role's `uv run` line
  kVenv,  // plain venv: the command runs with the venv's bin first on PATH
};

absl::string_view BackendName(EnvironmentBackend backend);

struct UnitFile {
  std::string name;     // "hello-web.service"
  std::string content;  // the whole file
  // Started (services) or enabled and started (timers) on activation. A
  // timer's service is false: its timer starts it.
  bool activate = false;
};

// Every unit of the app, services first, in spec order. `spec` must be
// expanded (spec::ExpandSpec) and valid (spec::ParseAppSpec).
std::vector<UnitFile> RenderUnits(const v1::AppSpec& spec, EnvironmentBackend backend);

// systemd expands "%x" specifiers in most settings; a literal '%' is "%%".
std::string EscapeSpecifiers(absl::string_view text);

}  // namespace pyservice::agent

#endif  // PYSERVICE_AGENT_UNITS_UNIT_RENDERER_H_

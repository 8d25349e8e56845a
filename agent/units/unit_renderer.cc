#include "agent/units/unit_renderer.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/spec/template.h"

namespace pyservice::agent {
namespace {

constexpr char kHeader[] =
    "# Written by pyservice-agent; edits are reverted on the next deploy.\n";

std::string Description(const std::string& description, const std::string& fallback) {
  return EscapeSpecifiers(description.empty() ? fallback : description);
}

// The [Service] lines shared by services and timer jobs: who runs the
// command, where, and through which environment.
std::string ServiceExecution(const v1::AppSpec& spec, const std::string& command,
                             EnvironmentBackend backend) {
  const v1::Paths& paths = spec.paths();
  std::string out = absl::StrCat("User=", spec.user(), "\nGroup=", spec.group(),
                                 "\nWorkingDirectory=", paths.app_code_dir(), "\n");
  // Commands keep systemd's own quoting rules (as the role writes them);
  // only '%' is escaped, so a literal percent sign stays literal.
  if (backend == EnvironmentBackend::kUv) {
    const std::string uv_run = spec::RoleVariables(spec).at("uv_run");
    // uv_run starts with "env"; systemd gets its absolute path.
    absl::StrAppend(&out, "ExecStart=/usr/bin/", EscapeSpecifiers(uv_run), " ",
                    EscapeSpecifiers(command), "\n");
  } else {
    // What `uv run` does for a venv: its bin directory first on PATH. env(1)
    // resolves the command's first word on that PATH; systemd itself would
    // only search its built-in path.
    const std::string venv = absl::StrCat(paths.app_code_dir(), "/.venv");
    absl::StrAppend(&out, "Environment=VIRTUAL_ENV=", venv, "\n",
                    "Environment=PATH=", venv, "/bin:/usr/local/bin:/usr/bin:/bin\n",
                    "ExecStart=/usr/bin/env ", EscapeSpecifiers(command), "\n");
  }
  return out;
}

}  // namespace

absl::string_view BackendName(EnvironmentBackend backend) {
  return backend == EnvironmentBackend::kUv ? "uv" : "venv";
}

std::string EscapeSpecifiers(absl::string_view text) {
  return absl::StrReplaceAll(text, {{"%", "%%"}});
}

std::vector<UnitFile> RenderUnits(const v1::AppSpec& spec, EnvironmentBackend backend) {
  std::vector<UnitFile> units;
  for (const v1::Service& service : spec.services()) {
    const std::string name = absl::StrCat(spec.name(), "-", service.name(), ".service");
    units.push_back(
        {name,
         absl::StrCat(kHeader, "[Unit]\nDescription=",
                      Description(service.description(),
                                  absl::StrCat(spec.name(), " ", service.name())),
                      "\nAfter=network.target\n\n[Service]\nType=simple\n",
                      ServiceExecution(spec, service.command(), backend),
                      "Restart=always\n\n[Install]\nWantedBy=multi-user.target\n"),
         /*activate=*/true});
  }
  for (const v1::Timer& timer : spec.timers()) {
    const std::string base = absl::StrCat(spec.name(), "-", timer.name());
    const std::string description =
        Description(timer.description(), absl::StrCat(spec.name(), " ", timer.name()));
    // The job runs to completion once per trigger: oneshot, no Restart=, and
    // no [Install]: the timer is what gets enabled.
    units.push_back({base + ".service",
                     absl::StrCat(kHeader, "[Unit]\nDescription=", description,
                                  "\nAfter=network.target\n\n[Service]\nType=oneshot\n",
                                  ServiceExecution(spec, timer.command(), backend)),
                     /*activate=*/false});
    units.push_back({base + ".timer",
                     absl::StrCat(kHeader, "[Unit]\nDescription=", description,
                                  "\n\n[Timer]\nOnCalendar=", EscapeSpecifiers(timer.schedule()),
                                  "\nPersistent=true\nUnit=", base,
                                  ".service\n\n[Install]\nWantedBy=timers.target\n"),
                     /*activate=*/true});
  }
  return units;
}

}  // namespace pyservice::agent

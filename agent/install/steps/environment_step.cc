// environment: the release's Python environment, in APP_DIR/releases/<id>/.venv.
// Reads: the release's uv.lock / pyproject.toml / pinned-requirements.txt,
// the uv binary at uv_location (its presence picks the backend), agent pip
// options. Writes: <release>/.venv, the release's environment marker,
// Deploy::release backend/environment_digest; pins uv (`uv self update`).
//
// Backends, as the role's:
//  * uv, when uv_location holds an executable: `uv sync --frozen` with the
//    role's UV_* variables, the environment inside the release;
//  * venv otherwise: `python3 -m venv --without-pip`, then ONE pip run,
//    Debian's pip under the venv's interpreter, for pinned-requirements.txt
//    and the editable install together — what offline hosts use, with the
//    agent's pip options (--no-index --find-links DIR). docs/DESIGN.md says
//    why this way.
// Builds run as the app user. A marker holding the digest of the inputs
// makes an unchanged environment a no-op and a half-built one (crash) a
// rebuild. A kept release whose marker holds the same digest lends its
// environment instead of a build (environment_copy.h).
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "agent/install/environment_copy.h"
#include "agent/install/release_layout.h"
#include "agent/install/steps/steps.h"
#include "common/file/safe_dir.h"
#include "common/status/status_macros.h"
#include "common/text/sha256.h"

namespace pyservice::agent {
namespace {

// The last lines of a failed tool's output: pip and uv put the reason last.
std::string Tail(const std::string& output, size_t lines) {
  std::vector<absl::string_view> all =
      absl::StrSplit(absl::StripTrailingAsciiWhitespace(output), '\n');
  if (all.size() > lines) all.erase(all.begin(), all.end() - lines);
  return absl::StrJoin(all, "\n");
}

class EnvironmentStep final : public Step {
 public:
  absl::string_view name() const override { return "environment"; }

  absl::StatusOr<bool> Run(Deploy& deploy, HostServices& host,
                           const AgentSettings& settings) override {
    const v1::AppSpec& spec = deploy.expanded;
    const std::string release = ReleaseDir(spec, deploy.release.id());
    const bool uv = access(spec.paths().uv_location().c_str(), X_OK) == 0;
    const EnvironmentBackend backend = uv ? EnvironmentBackend::kUv : EnvironmentBackend::kVenv;
    deploy.release.set_backend(std::string(BackendName(backend)));
    if (uv && !spec.uv_version().empty()) {
      ASSIGN_OR_RETURN(bool updated, PinUv(spec, deploy, host, settings));
      if (updated) deploy.notes.push_back(absl::StrCat("uv pinned to ", spec.uv_version()));
    }

    ASSIGN_OR_RETURN(std::string digest, InputsDigest(release, backend, spec, settings));
    deploy.release.set_environment_digest(digest);
    const std::string marker = absl::StrCat(release, "/", kEnvironmentMarker);
    ASSIGN_OR_RETURN(std::optional<std::string> built, ReadFileIfExists(marker));
    if (built && *built == digest) return false;

    // The marker goes first: a release whose marker names a digest lends
    // its environment to others, so it must never stand beside a half one.
    RETURN_IF_ERROR(RemoveFile(marker));
    RETURN_IF_ERROR(RemoveTree(absl::StrCat(release, "/.venv")));
    ASSIGN_OR_RETURN(bool reused, ReuseKeptEnvironment(spec, release, digest, deploy));
    if (reused) return true;
    if (uv) {
      RETURN_IF_ERROR(BuildWithUv(spec, release, deploy, host, settings));
    } else {
      RETURN_IF_ERROR(BuildWithVenv(release, deploy, host, settings));
    }
    RETURN_IF_ERROR(WriteFileAtomically(marker, digest, 0644, deploy.owner));
    deploy.notes.push_back(absl::StrCat("built with ", BackendName(backend)));
    return true;
  }

 private:
  // Copies the environment of another release of this app built from the
  // same inputs, and marks it built. False when there is none, or the copy
  // failed (noted; the caller builds instead).
  static absl::StatusOr<bool> ReuseKeptEnvironment(const v1::AppSpec& spec,
                                                   const std::string& release,
                                                   const std::string& digest, Deploy& deploy) {
    const std::optional<std::string> donor = ReleaseBuiltFrom(spec, release, digest);
    if (!donor) return false;
    const std::string donor_id = std::filesystem::path(*donor).filename().string();
    absl::StatusOr<EnvironmentCopyCounts> copied = CopyEnvironment(*donor, release, deploy.owner);
    if (!copied.ok()) {
      deploy.notes.push_back(absl::StrCat("could not reuse the environment of ", donor_id, " (",
                                          copied.status().message(), "), building"));
      RETURN_IF_ERROR(RemoveTree(absl::StrCat(release, "/.venv")));
      return false;
    }
    RETURN_IF_ERROR(WriteFileAtomically(absl::StrCat(release, "/", kEnvironmentMarker), digest,
                                        0644, deploy.owner));
    deploy.notes.push_back(absl::StrCat("reused the environment of ", donor_id, " (",
                                        copied->shared, " files shared, ", copied->rewritten,
                                        " rewritten)"));
    return true;
  }

  // Another release directory of the app whose environment was built from
  // `digest`, the first by name; nullopt if none.
  static std::optional<std::string> ReleaseBuiltFrom(const v1::AppSpec& spec,
                                                     const std::string& release,
                                                     const std::string& digest) {
    // Through fds, like every look into the app user's tree: a release
    // swapped for a symlink is not a candidate.
    absl::StatusOr<Dir> releases = Dir::Open(ReleasesDir(spec));
    if (!releases.ok()) return std::nullopt;
    absl::StatusOr<std::vector<std::string>> names = releases->List();
    if (!names.ok()) return std::nullopt;
    std::sort(names->begin(), names->end());
    for (const std::string& name : *names) {
      const std::string candidate = absl::StrCat(releases->path(), "/", name);
      if (candidate == release) continue;
      absl::StatusOr<Dir> dir = releases->OpenBeneath(name);
      if (!dir.ok()) continue;
      absl::StatusOr<std::optional<std::string>> built = dir->ReadFile(kEnvironmentMarker);
      absl::StatusOr<std::optional<struct stat>> venv = dir->Stat(".venv");
      if (built.ok() && *built && **built == digest && venv.ok() && *venv &&
          S_ISDIR((*venv)->st_mode)) {
        return candidate;
      }
    }
    return std::nullopt;
  }

  // Runs `options` under the environment deadline, killed when the deploy
  // is canceled. `what` names the command in errors (never its arguments'
  // values: pip options may carry index credentials).
  static absl::Status RunTool(HostServices& host, const Deploy& deploy,
                              const AgentSettings& settings, ProcessOptions options,
                              absl::string_view what) {
    options.timeout = settings.environment_timeout;
    options.canceled = deploy.canceled;
    ASSIGN_OR_RETURN(ProcessResult result, host.processes.Run(options));
    RETURN_IF_ERROR(InterruptionStatus(result, what));
    if (!result.Succeeded()) {
      return absl::FailedPreconditionError(
          absl::StrCat(what, " failed (", result.Describe(), "):\n",
                       Tail(result.stderr_text + result.stdout_text, 15)));
    }
    return absl::OkStatus();
  }

  // Returns whether uv was updated. uv_location is often APP_DIR/uv/bin/uv:
  // a binary the app user can replace. One that anyone but root can change
  // runs as the app user, so that replacing it gains nothing.
  static absl::StatusOr<bool> PinUv(const v1::AppSpec& spec, const Deploy& deploy,
                                    HostServices& host, const AgentSettings& settings) {
    ASSIGN_OR_RETURN(bool root_only, OnlyRootCanChange(spec.paths().uv_location()));
    std::optional<ProcessOptions::Identity> run_as;
    if (!root_only) run_as = ProcessOptions::Identity{deploy.owner.uid, deploy.owner.gid};
    ProcessOptions version;
    version.argv = {spec.paths().uv_location(), "--version"};
    version.run_as = run_as;
    version.timeout = settings.environment_timeout;
    version.canceled = deploy.canceled;
    ASSIGN_OR_RETURN(ProcessResult result, host.processes.Run(version));
    RETURN_IF_ERROR(InterruptionStatus(result, "uv --version"));
    // "uv 0.5.1" or "uv 0.5.1 (abc123 2024-01-01)"
    const std::vector<absl::string_view> words = absl::StrSplit(result.stdout_text, ' ');
    if (result.Succeeded() && words.size() >= 2 &&
        absl::StripAsciiWhitespace(words[1]) == spec.uv_version()) {
      return false;
    }
    ProcessOptions update;
    update.argv = {spec.paths().uv_location(), "self", "update", spec.uv_version()};
    update.run_as = run_as;
    RETURN_IF_ERROR(RunTool(host, deploy, settings, update, "uv self update"));
    return true;
  }

  static absl::Status BuildWithUv(const v1::AppSpec& spec, const std::string& release,
                                  const Deploy& deploy, HostServices& host,
                                  const AgentSettings& settings) {
    const Owner owner = deploy.owner;
    const std::string uv_dir = absl::StrCat(spec.paths().app_dir(), "/uv");
    ProcessOptions sync;
    sync.argv = {spec.paths().uv_location(), "sync", "--frozen"};
    sync.working_dir = release;
    sync.env = std::vector<std::string>{
        absl::StrCat("UV_PROJECT_ENVIRONMENT=", release, "/.venv"),
        absl::StrCat("UV_PYTHON_INSTALL_DIR=", uv_dir, "/python"),
        absl::StrCat("UV_CACHE_DIR=", uv_dir, "/cache"),
        absl::StrCat("HOME=", spec.paths().app_root()),
        "PATH=/usr/local/bin:/usr/bin:/bin",
    };
    sync.run_as = ProcessOptions::Identity{owner.uid, owner.gid};
    return RunTool(host, deploy, settings, sync, "uv sync --frozen");
  }

  static absl::Status BuildWithVenv(const std::string& release, const Deploy& deploy,
                                    HostServices& host, const AgentSettings& settings) {
    const Owner owner = deploy.owner;
    const std::string venv = absl::StrCat(release, "/.venv");
    const auto as_app = [&](std::vector<std::string> argv, std::vector<std::string> env) {
      ProcessOptions options;
      options.argv = std::move(argv);
      options.working_dir = release;
      options.env = std::move(env);
      options.run_as = ProcessOptions::Identity{owner.uid, owner.gid};
      return options;
    };
    std::vector<std::string> env = {absl::StrCat("HOME=", release),
                                    "PATH=/usr/local/bin:/usr/bin:/bin"};
    // No ensurepip: seeding pip and setuptools into every venv was most of
    // the build's time, and the environment needs neither to run.
    RETURN_IF_ERROR(RunTool(host, deploy, settings,
                            as_app({settings.python, "-m", "venv", "--without-pip", venv}, env),
                            "python3 -m venv"));
    // Debian's pip, run by the venv's interpreter, installs into the venv.
    // The same path lends the offline build (--no-build-isolation) Debian's
    // setuptools and wheel; --ignore-installed so that nothing found there
    // counts as installed in the venv (it is empty, so the flag changes
    // nothing else).
    env.push_back(absl::StrCat("PYTHONPATH=", kSystemSitePackages));
    env.push_back("PIP_DISABLE_PIP_VERSION_CHECK=1");
    env.push_back("PIP_NO_CACHE_DIR=1");
    std::vector<std::string> argv = {absl::StrCat(venv, "/bin/python"), "-m", "pip", "install",
                                     "--ignore-installed"};
    argv.insert(argv.end(), settings.pip_options.begin(), settings.pip_options.end());
    const bool offline = std::find(settings.pip_options.begin(), settings.pip_options.end(),
                                   "--no-index") != settings.pip_options.end();
    // Offline, build isolation would need setuptools from an index.
    if (offline) argv.push_back("--no-build-isolation");
    argv.insert(argv.end(), {"-r", "pinned-requirements.txt", "-e", "."});
    return RunTool(host, deploy, settings, as_app(std::move(argv), std::move(env)),
                   "pip install -r pinned-requirements.txt -e .");
  }

  // What the environment is built from: if none of it changed, neither did
  // the environment.
  static absl::StatusOr<std::string> InputsDigest(const std::string& release,
                                                  EnvironmentBackend backend,
                                                  const v1::AppSpec& spec,
                                                  const AgentSettings& settings) {
    std::string inputs = absl::StrCat("backend=", BackendName(backend), "\n");
    // Repo files, so untrusted: regular files only (a symlink to /dev/zero
    // or /etc/shadow is refused, not read as root), at most kMaxReadBytes.
    ASSIGN_OR_RETURN(const Dir dir, Dir::Open(release));
    for (const char* file : {"uv.lock", "pyproject.toml", "pinned-requirements.txt", "setup.py",
                             "setup.cfg"}) {
      ASSIGN_OR_RETURN(std::optional<std::string> content, dir.ReadFile(file));
      absl::StrAppend(&inputs, file, "=", content ? text::Sha256Hex(*content) : "absent", "\n");
    }
    if (backend == EnvironmentBackend::kUv) {
      absl::StrAppend(&inputs, "uv_version=", spec.uv_version(), "\n");
    } else {
      // The interpreter's real path (/usr/bin/python3.11): a new Python
      // version is a new environment, never a copy of one built for the old.
      std::error_code error;
      const std::filesystem::path real = std::filesystem::canonical(settings.python, error);
      absl::StrAppend(&inputs, "python=", settings.python, "\npython_real=",
                      error ? settings.python : real.string(), "\npip=",
                      absl::StrJoin(settings.pip_options, " "), "\n");
    }
    return text::Sha256Hex(inputs);
  }

  // Where Debian's python3-pip, python3-setuptools and python3-wheel live,
  // for every python3.X of the distribution.
  static constexpr char kSystemSitePackages[] = "/usr/lib/python3/dist-packages";
};

}  // namespace

std::unique_ptr<Step> NewEnvironmentStep() { return std::make_unique<EnvironmentStep>(); }

}  // namespace pyservice::agent

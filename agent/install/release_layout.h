// Where an app's releases and the agent's per-app files live.
//
//   APP_DIR/releases/<tag>-<short commit>/   one release: the code tree, and
//       .venv/                              its environment, built in place
//   APP_DIR/code -> releases/<id>           the live release (rename(2) swap)
//   STATE_DIR/apps/APP/mirror.git           bare git mirror, fetched into
//
// A release is the code of one commit plus its environment; files, config
// and units are rendered from the spec at activation, so one release serves
// every revision that only changes config, and a rollback re-renders them
// from the kept revision's spec.
#ifndef PYSERVICE_AGENT_INSTALL_RELEASE_LAYOUT_H_
#define PYSERVICE_AGENT_INSTALL_RELEASE_LAYOUT_H_

#include <string>

#include "absl/status/statusor.h"
#include "pyservice/v1/spec.pb.h"

namespace pyservice::agent {

inline constexpr char kEnvironmentMarker[] = ".pyservice-environment";

std::string ReleasesDir(const v1::AppSpec& spec);
std::string ReleaseDir(const v1::AppSpec& spec, const std::string& release_id);
// "<tag>-<first 12 hex of commit>", with '/' in branch names made '_'.
std::string ReleaseId(const std::string& tag, const std::string& commit);
std::string MirrorDir(const std::string& state_dir, const std::string& app);
std::string SshKeyPath(const v1::AppSpec& spec);

// sha256 over the release's code tree: every path, file type, executable
// bit and content, in sorted order. Skips what running and building the app
// write into its tree (.venv, __pycache__, *.egg-info, build/, the
// environment marker), so only hand edits of the code change it.
absl::StatusOr<std::string> TreeDigest(const std::string& release_dir);

}  // namespace pyservice::agent

#endif  // PYSERVICE_AGENT_INSTALL_RELEASE_LAYOUT_H_

#include "agent/state/state_store.h"

#include <algorithm>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/file/file_ops.h"
#include "common/status/status_macros.h"

namespace pyservice::agent {
namespace {
constexpr char kStateFile[] = "state.pb";
}  // namespace

absl::Status StateStore::Initialize() {
  RETURN_IF_ERROR(EnsureDirectory(state_dir_, 0700, std::nullopt).status());
  return EnsureDirectory(absl::StrCat(state_dir_, "/apps"), 0700, std::nullopt).status();
}

std::string StateStore::AppDir(const std::string& app) const {
  return absl::StrCat(state_dir_, "/apps/", app);
}

absl::StatusOr<std::optional<v1::AppState>> StateStore::Load(const std::string& app) const {
  const std::string path = absl::StrCat(AppDir(app), "/", kStateFile);
  ASSIGN_OR_RETURN(std::optional<std::string> bytes, ReadFileIfExists(path));
  if (!bytes) return std::optional<v1::AppState>();
  v1::AppState state;
  if (!state.ParseFromString(*bytes)) {
    return absl::DataLossError(absl::StrCat(path, " is corrupt; move it away to redeploy ", app,
                                            " from scratch"));
  }
  return std::optional<v1::AppState>(std::move(state));
}

absl::Status StateStore::Save(const v1::AppState& state) {
  const std::string dir = AppDir(state.app());
  RETURN_IF_ERROR(EnsureDirectory(dir, 0700, std::nullopt).status());
  return WriteFileAtomically(absl::StrCat(dir, "/", kStateFile), state.SerializeAsString(), 0600,
                             std::nullopt);
}

absl::StatusOr<std::vector<std::string>> StateStore::ListApps() const {
  std::vector<std::string> apps;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(state_dir_ + "/apps", error)) {
    if (std::filesystem::exists(entry.path() / kStateFile)) {
      apps.push_back(entry.path().filename().string());
    }
  }
  if (error && error != std::errc::no_such_file_or_directory) {
    return absl::InternalError(absl::StrCat("cannot list ", state_dir_, "/apps: ", error.message()));
  }
  std::sort(apps.begin(), apps.end());
  return apps;
}

}  // namespace pyservice::agent

// The app user against the agent: symlinks planted in an app-owned tree, at
// the target and at a parent, before and during every kind of write the
// pipeline makes. Real files in a temp dir; run as root (as the agent
// does), the attacker's symlinks and directories are chowned to kAppUid.
#include "common/file/safe_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/file/file_ops.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace pyservice {
namespace {

using ::testing::HasSubstr;

// "nobody": the app user of these tests.
constexpr uid_t kAppUid = 65534;
constexpr gid_t kAppGid = 65534;
constexpr Owner kApp{kAppUid, kAppGid};

// What an outside file looks like: content (files only), mode, owner.
struct Snapshot {
  std::string content;
  mode_t mode;
  uid_t uid;
  gid_t gid;
  bool operator==(const Snapshot& other) const {
    return content == other.content && mode == other.mode && uid == other.uid &&
           gid == other.gid;
  }
};

std::string Slurp(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

// Everything below `dir`, and `dir` itself, by path.
std::map<std::string, Snapshot> SnapshotTree(const std::string& dir) {
  std::map<std::string, Snapshot> all;
  const auto add = [&](const std::string& path) {
    struct stat info;
    if (lstat(path.c_str(), &info) != 0) return;
    all[path] = {S_ISREG(info.st_mode) ? Slurp(path) : "", info.st_mode, info.st_uid,
                 info.st_gid};
  };
  add(dir);
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    add(entry.path().string());
  }
  return all;
}

// Fails the test (not skips it) when not root: the threat is root following
// another user's symlinks, and only root can make files of another user.
void RequireRoot() {
  ASSERT_EQ(geteuid(), 0u) << "this test plays the agent (root) against an app user: run it as "
                              "root (the test hosts and CI do)";
}

void PlantSymlink(const std::string& target, const std::string& link) {
  ASSERT_EQ(symlink(target.c_str(), link.c_str()), 0) << link;
  ASSERT_EQ(lchown(link.c_str(), kAppUid, kAppGid), 0) << link;
}

class SafeDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RequireRoot();
    // outside/: root's files the attacker wants written, chowned, read or
    // deleted.
    std::filesystem::create_directories(Outside() + "/ssh");
    std::ofstream(Outside() + "/shadow") << "root:$6$hash:19000::::::\n";
    chmod((Outside() + "/shadow").c_str(), 0640);
    std::ofstream(Outside() + "/ssh/authorized_keys") << "ssh-ed25519 AAAA root\n";
    chmod((Outside() + "/ssh").c_str(), 0700);
    // app/: the app user's tree (APP_DIR), with its config dir.
    std::filesystem::create_directories(App() + "/config");
    for (const std::string& dir : {App(), App() + "/config"}) {
      ASSERT_EQ(chown(dir.c_str(), kAppUid, kAppGid), 0);
    }
    before_ = SnapshotTree(Outside());
  }

  std::string Outside() const { return dir_.Join("outside"); }
  std::string App() const { return dir_.Join("app"); }
  void ExpectOutsideUnchanged() const {
    EXPECT_TRUE(SnapshotTree(Outside()) == before_) << "a file outside the app tree changed";
  }

  testing::TempDir dir_;
  std::map<std::string, Snapshot> before_;
};

// One operation the pipeline makes on `path` in the app tree.
struct Operation {
  std::string name;
  std::function<absl::Status(const std::string& path)> run;
};

std::vector<Operation> Operations() {
  return {
      {"WriteFileAtomically",
       [](const std::string& p) { return WriteFileAtomically(p, "pwned\n", 0644, kApp); }},
      {"EnsureFile",
       [](const std::string& p) { return EnsureFile(p, "pwned\n", 0666, kApp).status(); }},
      {"EnsureDirectory",
       [](const std::string& p) { return EnsureDirectory(p, 0777, kApp).status(); }},
      {"CreateMissingDirectories",
       [](const std::string& p) {
         return CreateMissingDirectories(p + "/sub", 0777, kApp).status();
       }},
      {"ReplaceSymlink", [](const std::string& p) { return ReplaceSymlink(p, "/releases/x"); }},
      {"RemoveTree", [](const std::string& p) { return RemoveTree(p); }},
      {"RemoveFile", [](const std::string& p) { return RemoveFile(p); }},
      {"ChownTree", [](const std::string& p) { return ChownTree(p, kApp); }},
      {"ReadFileIfExists",
       [](const std::string& p) -> absl::Status {
         absl::StatusOr<std::optional<std::string>> read = ReadFileIfExists(p);
         if (!read.ok()) return read.status();
         // Reading root's file as root and handing it on is the leak.
         if (*read && absl::StrContains(**read, "root")) return absl::InternalError("leaked");
         return absl::OkStatus();
       }},
  };
}

// Where the attacker's symlink is: the target itself (to a root file or
// a root directory), or the target's parent directory.
enum class Plant { kTargetToFile, kTargetToDir, kParentToDir };

class PlantedSymlinkTest
    : public SafeDirTest,
      public ::testing::WithParamInterface<std::tuple<Plant, size_t>> {};

TEST_P(PlantedSymlinkTest, NothingOutsideTheAppTreeChanges) {
  const auto [plant, index] = GetParam();
  const Operation op = Operations()[index];
  std::string target = App() + "/config/secret";
  switch (plant) {
    case Plant::kTargetToFile:
      PlantSymlink(Outside() + "/shadow", target);
      break;
    case Plant::kTargetToDir:
      PlantSymlink(Outside() + "/ssh", target);
      break;
    case Plant::kParentToDir:
      std::filesystem::remove(App() + "/config");
      PlantSymlink(Outside() + "/ssh", App() + "/config");
      target = App() + "/config/authorized_keys";
      break;
  }
  const absl::Status status = op.run(target);
  SCOPED_TRACE(absl::StrCat(op.name, ": ", status.ToString()));
  ExpectOutsideUnchanged();
  EXPECT_NE(status.code(), absl::StatusCode::kInternal) << "a clean failure or success";
  if (plant == Plant::kParentToDir) {
    EXPECT_FALSE(status.ok()) << "the symlinked parent is refused";
    EXPECT_THAT(std::string(status.message()), HasSubstr("symlink"));
  }
}

std::string PlantName(Plant plant) {
  switch (plant) {
    case Plant::kTargetToFile: return "TargetToRootFile";
    case Plant::kTargetToDir: return "TargetToRootDir";
    case Plant::kParentToDir: return "ParentToRootDir";
  }
  return "";
}

INSTANTIATE_TEST_SUITE_P(
    EveryWrite, PlantedSymlinkTest,
    ::testing::Combine(::testing::Values(Plant::kTargetToFile, Plant::kTargetToDir,
                                         Plant::kParentToDir),
                       ::testing::Range(size_t{0}, Operations().size())),
    [](const ::testing::TestParamInfo<std::tuple<Plant, size_t>>& info) {
      return absl::StrCat(PlantName(std::get<0>(info.param)), "_",
                          Operations()[std::get<1>(info.param)].name);
    });

TEST_F(SafeDirTest, WriteOverAPlantedSymlinkReplacesTheSymlinkItself) {
  PlantSymlink(Outside() + "/shadow", App() + "/config/config.yaml");
  ASSERT_TRUE(WriteFileAtomically(App() + "/config/config.yaml", "port: 1\n", 0600, kApp).ok());
  struct stat info;
  ASSERT_EQ(lstat((App() + "/config/config.yaml").c_str(), &info), 0);
  EXPECT_TRUE(S_ISREG(info.st_mode));
  EXPECT_EQ(info.st_uid, kAppUid);
  EXPECT_EQ(Slurp(App() + "/config/config.yaml"), "port: 1\n");
  ExpectOutsideUnchanged();
}

// The app user swaps its config dir for a symlink to outside/ and back, as
// fast as it can, while the agent writes, chowns and removes in it: with
// path-based calls some of them land outside; through dirfds none can.
TEST_F(SafeDirTest, ParentSwappedForASymlinkDuringWritesNeverLandsOutside) {
  const std::string config = App() + "/config";
  const std::string aside = App() + "/config.real";
  const std::string swap_link = App() + "/config.link";
  PlantSymlink(Outside() + "/ssh", swap_link);
  std::atomic<bool> stop{false};
  std::thread attacker([&] {
    while (!stop) {
      rename(config.c_str(), aside.c_str());
      rename(swap_link.c_str(), config.c_str());  // config -> outside/ssh
      rename(config.c_str(), swap_link.c_str());
      rename(aside.c_str(), config.c_str());
    }
  });
  int attempts = 0;
  for (; attempts < 3000; ++attempts) {
    WriteFileAtomically(config + "/authorized_keys", "pwned\n", 0666, kApp).IgnoreError();
    EnsureDirectory(config + "/d", 0777, kApp).IgnoreError();
    ChownTree(config + "/authorized_keys", kApp).IgnoreError();
    RemoveFile(config + "/authorized_keys").IgnoreError();
  }
  stop = true;
  attacker.join();
  EXPECT_EQ(attempts, 3000);
  ExpectOutsideUnchanged();
}

TEST_F(SafeDirTest, HardLinkToARootFileIsNotChowned) {
  std::filesystem::create_directories(App() + "/release");
  ASSERT_EQ(link((Outside() + "/shadow").c_str(), (App() + "/release/x").c_str()), 0);
  const absl::Status status = ChownTree(App() + "/release", kApp);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("hard links"));
  unlink((App() + "/release/x").c_str());
  ExpectOutsideUnchanged();
}

TEST_F(SafeDirTest, RootsOwnSymlinkInRootsDirectoryIsFollowed) {
  // Like /var/run -> /run: only root could have made it.
  ASSERT_EQ(symlink(Outside().c_str(), dir_.Join("root-link").c_str()), 0);
  ASSERT_TRUE(WriteFileAtomically(dir_.Join("root-link/new"), "ok", 0600, std::nullopt).ok());
  EXPECT_EQ(Slurp(Outside() + "/new"), "ok");
}

TEST_F(SafeDirTest, RootsSymlinkInAnAppOwnedDirectoryIsNotFollowed) {
  // The agent's own `code` symlink lives in APP_DIR: the app user can
  // rename it anywhere in its tree.
  ASSERT_EQ(symlink(Outside().c_str(), (App() + "/code").c_str()), 0);
  const absl::Status status = WriteFileAtomically(App() + "/code/new", "x", 0600, std::nullopt);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_FALSE(std::filesystem::exists(Outside() + "/new"));
}

TEST_F(SafeDirTest, ReadOfASymlinkToDevZeroFailsNamingTheFile) {
  PlantSymlink("/dev/zero", App() + "/pyproject.toml");
  absl::StatusOr<Dir> app = Dir::Open(App());
  ASSERT_TRUE(app.ok()) << app.status();
  const absl::StatusOr<std::optional<std::string>> read = app->ReadFile("pyproject.toml");
  EXPECT_EQ(read.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(read.status().message()),
              HasSubstr("pyproject.toml: not a regular file"));
}

TEST_F(SafeDirTest, ReadOfAFifoFailsWithoutBlocking) {
  ASSERT_EQ(mkfifo((App() + "/uv.lock").c_str(), 0644), 0);
  const absl::StatusOr<std::optional<std::string>> read = ReadFileIfExists(App() + "/uv.lock");
  EXPECT_THAT(std::string(read.status().message()), HasSubstr("uv.lock: not a regular file"));
}

TEST_F(SafeDirTest, ReadOfAFileBeyondTheLimitFailsNamingTheLimit) {
  const std::string big = App() + "/uv.lock";
  std::ofstream(big).close();
  ASSERT_EQ(truncate(big.c_str(), kMaxReadBytes + 1), 0);
  const absl::StatusOr<std::optional<std::string>> read = ReadFileIfExists(big);
  EXPECT_EQ(read.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(read.status().message()), HasSubstr("uv.lock: larger than 16 MiB"));
}

TEST_F(SafeDirTest, OnlyRootCanChangeAProgramInRootsTree) {
  std::ofstream(Outside() + "/uv").close();
  chmod((Outside() + "/uv").c_str(), 0755);
  EXPECT_TRUE(*OnlyRootCanChange(Outside() + "/uv"));
  chmod((Outside() + "/uv").c_str(), 0775);
  EXPECT_FALSE(*OnlyRootCanChange(Outside() + "/uv")) << "group-writable";
}

TEST_F(SafeDirTest, AppUserCanChangeAProgramInItsTree) {
  std::filesystem::create_directories(App() + "/uv/bin");
  std::ofstream(App() + "/uv/bin/uv").close();
  chmod((App() + "/uv/bin/uv").c_str(), 0755);
  EXPECT_FALSE(*OnlyRootCanChange(App() + "/uv/bin/uv"))
      << "root's file in the app user's directory: it can be replaced";
  PlantSymlink(Outside(), App() + "/tools");
  std::ofstream(Outside() + "/uv").close();
  chmod((Outside() + "/uv").c_str(), 0755);
  EXPECT_FALSE(*OnlyRootCanChange(App() + "/tools/uv")) << "through the app user's symlink";
  EXPECT_EQ(OnlyRootCanChange(App() + "/missing").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace pyservice

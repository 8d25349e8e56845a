// FindDrift on a state recorded by hand, over real files in a temp dir and
// the fake systemd.
#include "agent/drift/drift_check.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "agent/install/release_layout.h"
#include "common/spec/app_spec_parser.h"
#include "common/spec/template.h"
#include "common/text/sha256.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/fake_systemd_manager.h"
#include "tests/testing/temp_dir.h"

namespace pyservice::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::HasSubstr;

constexpr char kUnit[] = "[Service]\nExecStart=/bin/true\n";
constexpr char kConfig[] = "db_password: HUNT3R2\n";

class DriftCheckTest : public ::testing::Test {
 protected:
  DriftCheckTest() : systemd_(clock_) {
    absl::StatusOr<v1::AppSpec> spec = spec::ParseAppSpec(
        absl::StrCat("name: hello\nrepo: file:///srv/git/hello.git\ntag: v1\n"
                     "services:\n  - name: web\n    command: python -m hello web\n"
                     "paths:\n  global_app_root: ",
                     dir_.Join("applications"), "\n"),
        "app.yaml");
    EXPECT_TRUE(spec.ok()) << spec.status();
    expanded_ = *spec::ExpandSpec(*spec);
    v1::ReleaseRecord* live = state_.mutable_live();
    live->set_id("v1-111111111111");
    *live->mutable_spec() = *spec;
    state_.set_app("hello");
    std::filesystem::create_directories(ReleaseDir(expanded_, "v1-111111111111"));
    std::filesystem::create_directories(ReleaseDir(expanded_, "v0-000000000000"));
    std::filesystem::create_directory_symlink(ReleaseDir(expanded_, "v1-111111111111"),
                                              CodeDir());
    std::filesystem::create_directories(dir_.Join("units"));
    Write(UnitPath(), kUnit, 0644, "unit");
    std::filesystem::create_directories(expanded_.paths().app_config_dir());
    Write(expanded_.paths().app_config(), kConfig, 0600, "config");
    // What the deploy did in systemd.
    systemd_.EnableUnitFiles({"hello-web.service"}).IgnoreError();
    systemd_.StartUnit("hello-web.service", absl::Seconds(1)).IgnoreError();
  }

  // Writes `content` and records it in the state as the deploy does.
  void Write(const std::string& path, const std::string& content, mode_t mode,
             const std::string& kind) {
    std::ofstream(path) << content;
    chmod(path.c_str(), mode);
    v1::WrittenFile* file = state_.add_files();
    file->set_path(path);
    file->set_sha256(text::Sha256Hex(content));
    file->set_mode(mode);
    file->set_kind(kind);
  }

  std::string UnitPath() const { return dir_.Join("units/hello-web.service"); }
  std::string CodeDir() const { return expanded_.paths().app_code_dir(); }

  std::vector<DriftFinding> Find() {
    absl::StatusOr<std::vector<DriftFinding>> found = FindDrift(state_, systemd_);
    EXPECT_TRUE(found.ok()) << found.status();
    return found.ok() ? *found : std::vector<DriftFinding>();
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  testing::FakeSystemdManager systemd_;
  v1::AppSpec expanded_;
  v1::AppState state_;
};

auto Finding(const std::string& path, const std::string& reason) {
  return ::testing::AllOf(Field(&DriftFinding::path, path), Field(&DriftFinding::reason, reason));
}

TEST_F(DriftCheckTest, AsDeployed_NoDrift) { EXPECT_THAT(Find(), IsEmpty()); }

TEST_F(DriftCheckTest, HandEditedUnitFile_ChangedByPath) {
  std::ofstream(UnitPath()) << "[Service]\nExecStart=/bin/evil\n";
  EXPECT_THAT(Find(), ElementsAre(Finding(UnitPath(), "changed")));
}

TEST_F(DriftCheckTest, RemovedConfig_Missing) {
  std::filesystem::remove(expanded_.paths().app_config());
  EXPECT_THAT(Find(), ElementsAre(Finding(expanded_.paths().app_config(), "missing")));
}

TEST_F(DriftCheckTest, ChmoddedConfig_ModeChanged) {
  chmod(expanded_.paths().app_config().c_str(), 0644);
  EXPECT_THAT(Find(), ElementsAre(Finding(expanded_.paths().app_config(), "mode changed")));
}

TEST_F(DriftCheckTest, ConfigReplacedBySymlink_NotARegularFileAndNeverFollowed) {
  const std::string config = expanded_.paths().app_config();
  std::filesystem::remove(config);
  std::ofstream(dir_.Join("elsewhere")) << kConfig;  // same content: still drift
  std::filesystem::create_symlink(dir_.Join("elsewhere"), config);
  EXPECT_THAT(Find(), ElementsAre(Finding(config, "not a regular file")));
}

TEST_F(DriftCheckTest, FindingsNeverCarryTheContent) {
  std::ofstream(expanded_.paths().app_config()) << "db_password: CHANGED-S3CRET\n";
  for (const DriftFinding& finding : Find()) {
    EXPECT_THAT(finding.reason, Not(HasSubstr("S3CRET")));
    EXPECT_THAT(finding.reason, Not(HasSubstr("HUNT3R2")));
  }
  EXPECT_THAT(DescribeDrift(Find()), Not(HasSubstr("S3CRET")));
}

TEST_F(DriftCheckTest, DisabledUnit_Disabled) {
  systemd_.DisableBehindOurBack("hello-web.service");
  EXPECT_THAT(Find(), ElementsAre(Finding("hello-web.service", "disabled")));
}

TEST_F(DriftCheckTest, MaskedUnit_Masked) {
  systemd_.MaskBehindOurBack("hello-web.service");
  EXPECT_THAT(Find(), ElementsAre(Finding("hello-web.service", "masked")));
}

TEST_F(DriftCheckTest, CodeSymlinkSwitchedByHand_NamesBothReleases) {
  std::filesystem::remove(CodeDir());
  std::filesystem::create_directory_symlink(ReleaseDir(expanded_, "v0-000000000000"), CodeDir());
  EXPECT_THAT(Find(), ElementsAre(Finding(
                          CodeDir(), absl::StrCat("points to ",
                                                  ReleaseDir(expanded_, "v0-000000000000"),
                                                  ", not the live release v1-111111111111"))));
}

TEST_F(DriftCheckTest, NothingLiveOrADeployUnfinished_NothingIsDrift) {
  std::ofstream(UnitPath()) << "edited\n";
  v1::AppState deploying = state_;
  deploying.mutable_in_flight()->set_spec_digest("sha256:x");
  EXPECT_THAT(*FindDrift(deploying, systemd_), IsEmpty()) << "the deploy owns the files";
  EXPECT_THAT(*FindDrift(v1::AppState(), systemd_), IsEmpty());
}

}  // namespace
}  // namespace pyservice::agent

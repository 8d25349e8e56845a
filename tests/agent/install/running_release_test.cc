#include "agent/install/running_release.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "agent/install/release_layout.h"
#include "common/spec/app_spec_parser.h"
#include "common/spec/template.h"
#include "gtest/gtest.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/fake_systemd_manager.h"
#include "tests/testing/temp_dir.h"

namespace pyservice::agent {
namespace {

constexpr char kWeb[] = "hello-web.service";

class RunningReleaseTest : public ::testing::Test {
 protected:
  RunningReleaseTest() : systemd_(clock_) {
    const std::string yaml =
        absl::StrCat("name: hello\nrepo: file:///srv/git/hello.git\ntag: v2\n",
                     "services:\n  - name: web\n    command: python -m hello web\n",
                     "timers:\n  - name: report\n    schedule: daily\n    command: python "
                     "-m hello report\n",
                     "paths:\n  global_app_root: ", dir_.Join("applications"), "\n");
    absl::StatusOr<v1::AppSpec> spec = spec::ParseAppSpec(yaml, "app.yaml");
    EXPECT_TRUE(spec.ok()) << spec.status();
    absl::StatusOr<v1::AppSpec> expanded = spec::ExpandSpec(*spec);
    EXPECT_TRUE(expanded.ok()) << expanded.status();
    expanded_ = *expanded;
  }

  // A process in the fake /proc working in `cwd`.
  void Process(uint32_t pid, const std::string& cwd) {
    const std::filesystem::path dir =
        std::filesystem::path(dir_.Join("proc")) / std::to_string(pid);
    std::filesystem::create_directories(dir);
    std::filesystem::create_directories(cwd);
    std::filesystem::create_directory_symlink(cwd, dir / "cwd");
  }

  absl::StatusOr<std::string> Running() {
    return RunningReleaseId(expanded_, systemd_, dir_.Join("proc"));
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  testing::FakeSystemdManager systemd_;
  v1::AppSpec expanded_;
};

// The agent was killed after systemd restarted the service onto v2 and
// before it saved that: the code symlink and the state say nothing about
// what runs, the process does.
TEST_F(RunningReleaseTest, ServiceStartedInARelease_ReportsThatRelease) {
  Process(41, ReleaseDir(expanded_, "v2-222222222222"));
  systemd_.set_main_pid(kWeb, 41);
  EXPECT_EQ(Running().value_or("error"), "v2-222222222222");
}

TEST_F(RunningReleaseTest, NoMainProcess_ReportsNone) {
  Process(41, ReleaseDir(expanded_, "v2-222222222222"));
  EXPECT_EQ(Running().value_or("error"), "");
}

TEST_F(RunningReleaseTest, MainProcessGone_ReportsNone) {
  systemd_.set_main_pid(kWeb, 41);
  EXPECT_EQ(Running().value_or("error"), "");
}

TEST_F(RunningReleaseTest, ProcessOutsideTheReleases_ReportsNone) {
  Process(41, dir_.Join("elsewhere/v2-222222222222"));
  systemd_.set_main_pid(kWeb, 41);
  EXPECT_EQ(Running().value_or("error"), "");
}

}  // namespace
}  // namespace pyservice::agent

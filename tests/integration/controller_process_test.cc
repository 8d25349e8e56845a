// The pyservice-controller binary's own contract: its flags and config
// file, the "listening on" lines, and how it refuses to start.
#include <signal.h>
#include <sys/stat.h>

#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/controller_harness.h"
#include "tests/testing/temp_dir.h"

namespace pyservice {
namespace {

using ::pyservice::testing::ChildProcess;
using ::pyservice::testing::ControllerHarness;
using ::pyservice::testing::ExitStatus;
using ::pyservice::testing::kStartTimeout;
using ::pyservice::testing::StartControllerProcess;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

class ControllerProcessTest : public ::testing::Test {
 protected:
  // Runs the controller with `args` until it exits on its own.
  ExitStatus RunToExit(const std::vector<std::string>& args,
                       std::string* stderr_text) {
    absl::StatusOr<std::unique_ptr<ChildProcess>> process =
        StartControllerProcess(args, dir_.path(), absl::StrCat("run-", ++runs_));
    EXPECT_TRUE(process.ok()) << process.status();
    if (!process.ok()) return {};
    absl::StatusOr<ExitStatus> exit = (*process)->WaitForExit(kStartTimeout);
    EXPECT_TRUE(exit.ok()) << exit.status() << "\n" << (*process)->ReadStderr();
    *stderr_text = (*process)->ReadStderr();
    return exit.ok() ? *exit : ExitStatus{-1, 0};
  }

  bool Exists(const std::string& path) {
    struct stat info;
    return stat(path.c_str(), &info) == 0;
  }

  testing::TempDir dir_;
  int runs_ = 0;
};

TEST_F(ControllerProcessTest, LogsOneStableLinePerListener) {
  ControllerHarness controller(dir_.path());
  ASSERT_TRUE(controller.Start().ok()) << controller.Stderr();
  const std::string log = controller.Stderr();
  EXPECT_THAT(log, HasSubstr(absl::StrCat(
                       " info pyservice-controller: listening on ",
                       controller.unix_address(), "\n")));
  EXPECT_THAT(controller.tcp_address(), MatchesRegex("127\\.0\\.0\\.1:[1-9][0-9]*"));
  EXPECT_THAT(log, HasSubstr(absl::StrCat("listening on ",
                                          controller.tcp_address(), "\n")));
  EXPECT_TRUE(Exists(controller.data_dir() + "/pyservice.db"));
  absl::StatusOr<ExitStatus> stopped = controller.Stop(SIGTERM);
  ASSERT_TRUE(stopped.ok()) << stopped.status();
  EXPECT_EQ(stopped->Describe(), "exit status 0");
  EXPECT_THAT(controller.Stderr(), HasSubstr("received SIGTERM"));
}

TEST_F(ControllerProcessTest, TakenPortFailsWithOneLineNamingIt) {
  ControllerHarness first(dir_.path());
  ASSERT_TRUE(first.Start().ok()) << first.Stderr();
  std::string log;
  const ExitStatus exit = RunToExit(
      {"--listen", first.tcp_address(), "--data-dir", dir_.Join("other")}, &log);
  EXPECT_EQ(exit.Describe(), "exit status 1");
  EXPECT_THAT(log, EndsWith(absl::StrCat("cannot listen on ", first.tcp_address(),
                                         ": Address already in use\n")));
}

TEST_F(ControllerProcessTest, LiveUnixSocketIsNotTaken) {
  ControllerHarness first(dir_.path());
  ASSERT_TRUE(first.Start().ok()) << first.Stderr();
  std::string log;
  const ExitStatus exit = RunToExit(
      {"--listen", first.unix_address(), "--data-dir", dir_.Join("other")}, &log);
  EXPECT_EQ(exit.Describe(), "exit status 1");
  EXPECT_THAT(log, HasSubstr("another server is listening there"));
  EXPECT_TRUE(Exists(first.socket_path()));
}

TEST_F(ControllerProcessTest, UnusableDataDirFailsWithOneLine) {
  std::ofstream(dir_.Join("file")) << "not a directory";
  std::string log;
  const ExitStatus exit = RunToExit(
      {"--listen", "127.0.0.1:0", "--data-dir", dir_.Join("file/data")}, &log);
  EXPECT_EQ(exit.Describe(), "exit status 1");
  EXPECT_THAT(log, HasSubstr(absl::StrCat("cannot use data dir ",
                                          dir_.Join("file/data"), ": ")));
  EXPECT_THAT(log, Not(HasSubstr("listening on")));
}

TEST_F(ControllerProcessTest, ConfigFileIsReadAndFlagsOverrideIt) {
  std::ofstream(dir_.Join("controller.yaml"))
      << "listen:\n  - unix:" << dir_.Join("from-config.sock") << "\n"
      << "data_dir: " << dir_.Join("config-data") << "\nlog_level: debug\n";
  absl::StatusOr<std::unique_ptr<ChildProcess>> process = StartControllerProcess(
      {"--config", dir_.Join("controller.yaml"), "--data-dir",
       dir_.Join("flag-data")},
      dir_.path(), "configured");
  ASSERT_TRUE(process.ok()) << process.status();
  absl::StatusOr<std::string> line = (*process)->WaitForStderrLine(
      "listening on unix:" + dir_.Join("from-config.sock"), kStartTimeout);
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_TRUE(Exists(dir_.Join("flag-data/pyservice.db")));
  EXPECT_FALSE(Exists(dir_.Join("config-data")));
  ASSERT_TRUE((*process)->Signal(SIGTERM).ok());
  absl::StatusOr<ExitStatus> exit = (*process)->WaitForExit(kStartTimeout);
  ASSERT_TRUE(exit.ok());
  EXPECT_EQ(exit->Describe(), "exit status 0");
}

TEST_F(ControllerProcessTest, MissingSecretsKeyIsCreatedPrivateAndMustBeBackedUp) {
  ControllerHarness controller(dir_.path());
  ASSERT_TRUE(controller.Start().ok()) << controller.Stderr();
  const std::string key = dir_.Join("secrets.key");
  struct stat info;
  ASSERT_EQ(stat(key.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 07777, 0600u);
  EXPECT_EQ(info.st_size, 32);
  EXPECT_THAT(controller.Stderr(),
              HasSubstr(absl::StrCat("created the secrets key file ", key, ": back it up")));
  ASSERT_TRUE(controller.Stop(SIGTERM).ok());
  // A second start reads it and says nothing about creating it.
  ASSERT_TRUE(controller.Start().ok()) << controller.Stderr();
  EXPECT_THAT(controller.Stderr(), Not(HasSubstr("created the secrets key file")));
}

TEST_F(ControllerProcessTest, SecretsKeyReadableByOthersIsRefusedWithItsPath) {
  std::ofstream(dir_.Join("open.key")) << std::string(32, 'k');
  ASSERT_EQ(chmod(dir_.Join("open.key").c_str(), 0644), 0);
  std::string log;
  const ExitStatus exit = RunToExit({"--listen", "127.0.0.1:0", "--data-dir", dir_.Join("data"),
                                     "--secrets-key-file", dir_.Join("open.key")},
                                    &log);
  EXPECT_EQ(exit.Describe(), "exit status 1");
  EXPECT_THAT(log, HasSubstr(absl::StrCat("secrets key file ", dir_.Join("open.key"),
                                          " is readable by group or others (mode 0644)")));
  EXPECT_THAT(log, Not(HasSubstr("listening on")));
  EXPECT_FALSE(Exists(dir_.Join("data"))) << "refused before the store is touched";
}

TEST_F(ControllerProcessTest, SecretsKeyInsideTheDataDirIsRefused) {
  std::string log;
  const ExitStatus exit = RunToExit({"--listen", "127.0.0.1:0", "--data-dir", dir_.Join("data"),
                                     "--secrets-key-file", dir_.Join("data/secrets.key")},
                                    &log);
  EXPECT_EQ(exit.Describe(), "exit status 1");
  EXPECT_THAT(log, HasSubstr("is inside the data dir"));
  EXPECT_FALSE(Exists(dir_.Join("data/secrets.key")));
}

TEST_F(ControllerProcessTest, InitSecretsKeyCreatesTheKeyAndExits) {
  std::string log;
  const ExitStatus exit = RunToExit(
      {"init-secrets-key", "--secrets-key-file", dir_.Join("etc/secrets.key")}, &log);
  EXPECT_EQ(exit.Describe(), "exit status 0");
  EXPECT_TRUE(Exists(dir_.Join("etc/secrets.key")));
  EXPECT_THAT(log, HasSubstr("is ready"));
  EXPECT_THAT(log, Not(HasSubstr("listening on")));
}

TEST_F(ControllerProcessTest, RotateSecretsKeyReplacesTheKeyAndTheControllerStartsWithIt) {
  ControllerHarness controller(dir_.path());
  ASSERT_TRUE(controller.Start().ok()) << controller.Stderr();
  ASSERT_TRUE(controller.Stop(SIGTERM).ok());
  std::string log;
  const ExitStatus exit =
      RunToExit({"rotate-secrets-key", "--data-dir", controller.data_dir()}, &log);
  EXPECT_EQ(exit.Describe(), "exit status 0") << log;
  EXPECT_THAT(log, HasSubstr(absl::StrCat("now in ", dir_.Join("secrets.key"), ": back it up")));
  EXPECT_TRUE(Exists(dir_.Join("secrets.key.previous")));
  ASSERT_TRUE(controller.Start().ok()) << controller.Stderr();
}

TEST_F(ControllerProcessTest, BadConfigFileIsAUsageErrorWithLocations) {
  std::ofstream(dir_.Join("controller.yaml"))
      << "data_dir: /tmp/x\ncolour: red\n";
  std::string log;
  const ExitStatus exit =
      RunToExit({"--config", dir_.Join("controller.yaml")}, &log);
  EXPECT_EQ(exit.Describe(), "exit status 2");
  EXPECT_THAT(log, HasSubstr(absl::StrCat(dir_.Join("controller.yaml"),
                                          ":2:1: colour: unknown key")));
}

TEST_F(ControllerProcessTest, BadFlagsAreUsageErrors) {
  std::string log;
  EXPECT_EQ(RunToExit({"--listen", "nowhere"}, &log).Describe(), "exit status 2");
  EXPECT_THAT(log, HasSubstr("bad listen address \"nowhere\""));
  EXPECT_EQ(RunToExit({"--log-level", "loud"}, &log).Describe(), "exit status 2");
  EXPECT_THAT(log, HasSubstr("unknown log level"));
  EXPECT_EQ(RunToExit({"--bogus"}, &log).Describe(), "exit status 2");
}

}  // namespace
}  // namespace pyservice

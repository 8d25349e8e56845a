#include "common/process/subprocess.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <fstream>
#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace pyservice {
namespace {

// A process that ignores SIGTERM (so only SIGKILL ends it) and starts a
// grandchild that ignores it too; prints the grandchild's pid.
ProcessOptions StubbornShell() {
  ProcessOptions options;
  options.argv = {"/bin/sh", "-c", "trap '' TERM; sleep 1000 & echo $!; wait"};
  options.kill_grace = absl::Milliseconds(100);
  return options;
}

pid_t PrintedPid(const ProcessResult& result) {
  int pid = 0;
  EXPECT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(result.stdout_text), &pid))
      << "the shell printed no pid: " << result.stdout_text;
  return pid;
}

// Gone, or a zombie waiting for a reaper that is not us: either way no
// longer running anything.
bool IsGoneOrZombie(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return true;
  std::string line;
  std::getline(stat, line);
  const size_t close_paren = line.rfind(')');
  return close_paren != std::string::npos && close_paren + 2 < line.size() &&
         (line[close_paren + 2] == 'Z' || line[close_paren + 2] == 'X');
}

// A killed process closes its files a moment before it shows as a zombie:
// give it that moment (generously: a loaded machine), not a threshold.
bool IsDead(pid_t pid) {
  for (int i = 0; i < 1000; ++i) {
    if (IsGoneOrZombie(pid)) return true;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return false;
}

// Our only children are the ones RunProcess started: none may be left
// unreaped.
bool HasNoChildren() {
  siginfo_t info = {};
  return waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0 && errno == ECHILD;
}

TEST(RunProcessTest, DeadlineKillsTheChildAndItsGrandchildEvenWhenTheyIgnoreSigterm) {
  ProcessOptions options = StubbornShell();
  options.timeout = absl::Milliseconds(300);
  absl::StatusOr<ProcessResult> result = RunProcess(options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->timed_out);
  EXPECT_FALSE(result->Succeeded());
  EXPECT_EQ(result->Describe(), "timed out after 300ms");
  EXPECT_TRUE(IsDead(PrintedPid(*result)));
  EXPECT_TRUE(HasNoChildren());
}

TEST(RunProcessTest, CancelKillsARunningChildAndItsGrandchild) {
  ProcessOptions options = StubbornShell();
  std::atomic<bool> canceled = false;
  // Canceled once the grandchild runs: its pid is on stdout by then.
  options.argv = {"/bin/sh", "-c",
                  "trap '' TERM; sleep 1000 & echo $!; touch \"$0\"; wait", ::testing::TempDir() +
                      "/cancel-ready"};
  unlink(options.argv[3].c_str());
  options.canceled = [&] { return access(options.argv[3].c_str(), F_OK) == 0; };
  absl::StatusOr<ProcessResult> result = RunProcess(options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->canceled);
  EXPECT_FALSE(result->timed_out);
  EXPECT_EQ(result->Describe(), "canceled");
  EXPECT_TRUE(IsDead(PrintedPid(*result)));
  EXPECT_TRUE(HasNoChildren());
}

TEST(RunProcessTest, WhatTheChildLeftRunningInItsGroupIsKilledWhenItExits) {
  ProcessOptions options;
  // The background sleep keeps stdout open: without the group kill the wait
  // would last until it ends.
  options.argv = {"/bin/sh", "-c", "sleep 1000 & echo $!"};
  options.kill_grace = absl::Milliseconds(100);
  absl::StatusOr<ProcessResult> result = RunProcess(options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->Succeeded()) << result->Describe();
  EXPECT_TRUE(IsDead(PrintedPid(*result)));
  EXPECT_TRUE(HasNoChildren());
}

TEST(RunProcessTest, AChildWithinItsDeadlineRunsNormally) {
  ProcessOptions options;
  options.argv = {"/bin/sh", "-c", "cat; exit 3"};
  options.stdin_text = "hello";
  options.timeout = absl::Minutes(10);
  options.canceled = [] { return false; };
  absl::StatusOr<ProcessResult> result = RunProcess(options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_FALSE(result->timed_out);
  EXPECT_FALSE(result->canceled);
  EXPECT_EQ(result->exit_code, 3);
  EXPECT_EQ(result->stdout_text, "hello");
}

TEST(RunProcessTest, InterruptionStatusNamesTheCommandAndWhy) {
  ProcessResult timed_out;
  timed_out.timed_out = true;
  timed_out.timeout = absl::Minutes(15);
  EXPECT_EQ(InterruptionStatus(timed_out, "uv sync --frozen"),
            absl::DeadlineExceededError("uv sync --frozen timed out after 15m"));
  ProcessResult canceled;
  canceled.canceled = true;
  EXPECT_EQ(InterruptionStatus(canceled, "useradd"), absl::AbortedError("useradd canceled"));
  EXPECT_TRUE(InterruptionStatus(ProcessResult(), "useradd").ok());
}

}  // namespace
}  // namespace pyservice

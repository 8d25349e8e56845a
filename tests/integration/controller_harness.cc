#include "tests/integration/controller_harness.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "gtest/gtest.h"

extern char** environ;

namespace pyservice::testing {
namespace {

// The stable part of the controller's log line (controller/main.cc).
constexpr absl::string_view kListeningOn = "listening on ";

}  // namespace

std::string AddressFromListeningLine(absl::string_view line) {
  const size_t at = line.find(kListeningOn);
  if (at == absl::string_view::npos) return "";
  return std::string(line.substr(at + kListeningOn.size()));
}

ControllerHarness::ControllerHarness(std::string dir)
    : dir_(std::move(dir)),
      socket_path_(dir_ + "/run/controller.sock"),
      data_dir_(dir_ + "/data") {}

absl::Status ControllerHarness::Start(
    const std::vector<std::string>& extra_args) {
  std::vector<std::string> args = {"--listen", unix_address(),
                                   "--listen", "127.0.0.1:0",
                                   "--data-dir", data_dir_};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  ASSIGN_OR_RETURN(process_,
                   StartControllerProcess(args, dir_,
                                          absl::StrCat("controller-", ++starts_)));
  // Every "listening on" line is logged after all listeners are bound, so
  // seeing the last one means the controller is ready.
  ASSIGN_OR_RETURN(const std::string unix_line,
                   process_->WaitForStderrLine(
                       absl::StrCat(kListeningOn, unix_address()), kStartTimeout));
  ASSIGN_OR_RETURN(const std::string tcp_line,
                   process_->WaitForStderrLine(
                       absl::StrCat(kListeningOn, "127.0.0.1:"), kStartTimeout));
  tcp_address_ = AddressFromListeningLine(tcp_line);
  return absl::OkStatus();
}

absl::StatusOr<ExitStatus> ControllerHarness::Stop(int signal_number) {
  RETURN_IF_ERROR(process_->Signal(signal_number));
  return process_->WaitForExit(kStartTimeout);
}

std::vector<std::string> EnvironmentWithout(absl::string_view name) {
  std::vector<std::string> env;
  const std::string prefix = absl::StrCat(name, "=");
  for (char** entry = environ; *entry != nullptr; ++entry) {
    if (!absl::StartsWith(*entry, prefix)) env.emplace_back(*entry);
  }
  return env;
}

ProcessResult RunPyctl(const std::vector<std::string>& args,
                       const std::string& working_dir,
                       std::optional<std::string> controller_env) {
  ProcessOptions options;
  options.argv = {PYCTL_BIN};
  options.argv.insert(options.argv.end(), args.begin(), args.end());
  options.env = EnvironmentWithout("PYCTL_CONTROLLER");
  if (controller_env.has_value()) {
    options.env->push_back("PYCTL_CONTROLLER=" + *controller_env);
  }
  options.working_dir = working_dir;
  absl::StatusOr<ProcessResult> result = RunProcess(options);
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *std::move(result) : ProcessResult{};
}

absl::StatusOr<std::unique_ptr<ChildProcess>> StartControllerProcess(
    const std::vector<std::string>& args, const std::string& dir,
    const std::string& name) {
  ChildProcessOptions options;
  options.argv = {CONTROLLER_BIN};
  options.argv.insert(options.argv.end(), args.begin(), args.end());
  if (std::find(args.begin(), args.end(), "--secrets-key-file") == args.end()) {
    options.argv.insert(options.argv.end(), {"--secrets-key-file", dir + "/secrets.key"});
  }
  options.output_dir = dir;
  options.name = name;
  return ChildProcess::Start(options);
}

}  // namespace pyservice::testing

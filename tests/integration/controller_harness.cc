#include "tests/integration/controller_harness.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "gtest/gtest.h"

extern char** environ;

namespace pyservice::testing {
namespace {

// The stable part of the controller's log line (controller/main.cc).
constexpr absl::string_view kListeningOn = "listening on ";
// Logged once the admin socket accepts (controller/main.cc).
constexpr absl::string_view kAdminSocketOn = "admin socket on ";
constexpr absl::string_view kMetricsOn = "metrics on ";

// The one line pyctl prints alone on stdout for a token it made.
absl::StatusOr<std::string> TokenFrom(const ProcessResult& result, absl::string_view what) {
  const std::string token(absl::StripAsciiWhitespace(result.stdout_text));
  if (!result.Succeeded() || token.empty() || absl::StrContains(token, '\n')) {
    return absl::InternalError(absl::StrCat(what, ": ", result.Describe(), "\nstdout:\n",
                                            result.stdout_text, "stderr:\n",
                                            result.stderr_text));
  }
  return token;
}

}  // namespace

std::string AddressFromListeningLine(absl::string_view line) {
  const size_t at = line.find(kListeningOn);
  if (at == absl::string_view::npos) return "";
  return std::string(line.substr(at + kListeningOn.size()));
}

ControllerHarness::ControllerHarness(std::string dir)
    : dir_(std::move(dir)),
      socket_path_(dir_ + "/run/controller.sock"),
      admin_socket_path_(dir_ + "/run/admin.sock"),
      data_dir_(dir_ + "/data") {}

absl::Status ControllerHarness::Start(
    const std::vector<std::string>& extra_args) {
  std::vector<std::string> args = {"--listen", unix_address(),
                                   "--listen", "127.0.0.1:0",
                                   "--admin-socket", admin_socket_path_,
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
  // Logged after the listeners, once the admin socket accepts.
  RETURN_IF_ERROR(process_
                      ->WaitForStderrLine(absl::StrCat(kAdminSocketOn, admin_address()),
                                          kStartTimeout)
                      .status());
  metrics_address_.clear();
  if (std::find(extra_args.begin(), extra_args.end(), "--metrics-listen") == extra_args.end()) {
    ASSIGN_OR_RETURN(const std::string metrics_line,
                     process_->WaitForStderrLine(kMetricsOn, kStartTimeout));
    const absl::string_view line = metrics_line;
    metrics_address_ = std::string(line.substr(line.find(kMetricsOn) + kMetricsOn.size()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ControllerHarness::CreateToken(const std::string& name,
                                                           const std::string& role) {
  return TokenFrom(RunPyctl({"--controller", admin_address(), "auth", "create-token", name,
                             "--role", role},
                            dir_),
                   absl::StrCat("pyctl auth create-token ", name));
}

absl::StatusOr<std::string> ControllerHarness::CreateTokenFile(const std::string& name,
                                                               const std::string& role) {
  ASSIGN_OR_RETURN(const std::string token, CreateToken(name, role));
  const std::string path = absl::StrCat(dir_, "/", name, ".token");
  RETURN_IF_ERROR(WriteOwnerOnlyFile(path, token + "\n"));
  return path;
}

absl::StatusOr<std::string> ControllerHarness::CreateEnrollmentToken(
    const std::string& host, const std::vector<std::string>& labels) {
  std::vector<std::string> args = {"--controller", admin_address(), "host", "enroll-token",
                                   host};
  for (const std::string& label : labels) args.insert(args.end(), {"--label", label});
  return TokenFrom(RunPyctl(args, dir_), absl::StrCat("pyctl host enroll-token ", host));
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
                       std::optional<std::string> controller_env,
                       const std::vector<std::string>& extra_env) {
  ProcessOptions options;
  options.argv = {PYCTL_BIN};
  options.argv.insert(options.argv.end(), args.begin(), args.end());
  options.env.emplace();
  for (const std::string& entry : EnvironmentWithout("PYCTL_CONTROLLER")) {
    if (!absl::StartsWith(entry, "PYCTL_TOKEN=") &&
        !absl::StartsWith(entry, "PYCTL_TOKEN_FILE=")) {
      options.env->push_back(entry);
    }
  }
  if (controller_env.has_value()) {
    options.env->push_back("PYCTL_CONTROLLER=" + *controller_env);
  }
  options.env->insert(options.env->end(), extra_env.begin(), extra_env.end());
  options.working_dir = working_dir;
  absl::StatusOr<ProcessResult> result = RunProcess(options);
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *std::move(result) : ProcessResult{};
}

absl::Status WriteOwnerOnlyFile(const std::string& path, const std::string& text) {
  (void)unlink(path.c_str());
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::InternalError(absl::StrCat("cannot create ", path, ": ", strerror(errno)));
  }
  const ssize_t written = write(fd, text.data(), text.size());
  const int write_errno = errno;
  close(fd);
  if (written != static_cast<ssize_t>(text.size())) {
    return absl::InternalError(absl::StrCat("cannot write ", path, ": ", strerror(write_errno)));
  }
  return absl::OkStatus();
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
  // Never the default fixed port: tests run side by side.
  if (std::find(args.begin(), args.end(), "--metrics-listen") == args.end()) {
    options.argv.insert(options.argv.end(), {"--metrics-listen", "127.0.0.1:0"});
  }
  options.output_dir = dir;
  options.name = name;
  return ChildProcess::Start(options);
}

}  // namespace pyservice::testing

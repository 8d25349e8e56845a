#include "agent/git/child_process_fetcher.h"

#include <unistd.h>

#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/text/url_credentials.h"
#include "pyservice/v1/git_fetch.pb.h"
#include "spdlog/spdlog.h"

namespace pyservice::agent {
namespace {

// libgit2 leaves "*.lock" files when a fetch is killed between taking a
// ref's lock and committing it, and refuses the next fetch on them.
void RemoveStaleLocks(const std::string& mirror_dir) {
  std::error_code error;
  std::filesystem::recursive_directory_iterator it(mirror_dir, error), end;
  for (; !error && it != end; it.increment(error)) {
    if (absl::EndsWith(it->path().filename().string(), ".lock")) {
      std::error_code ignored;
      std::filesystem::remove(it->path(), ignored);
      spdlog::info("git: removed {} left by an interrupted fetch", it->path().string());
    }
  }
}

bool WriteAll(int fd, const std::string& data) {
  size_t written = 0;
  while (written < data.size()) {
    const ssize_t n = write(fd, data.data() + written, data.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    written += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

ChildProcessGitFetcher::ChildProcessGitFetcher(ProcessRunner& processes,
                                               ChildProcessFetcherOptions options)
    : processes_(processes),
      options_(std::move(options)),
      local_(Libgit2FetcherOptions{options_.known_hosts_path}) {}

absl::StatusOr<std::string> ChildProcessGitFetcher::Fetch(const FetchRequest& request) {
  const std::string display_url = text::RedactUrlCredentials(request.repo_url);
  v1::GitFetchRequest message;
  message.set_repo_url(request.repo_url);
  message.set_ref(request.ref);
  message.set_mirror_dir(request.mirror_dir);
  message.set_ssh_key_path(request.ssh_key_path);
  message.set_known_hosts_path(options_.known_hosts_path);
  if (request.timeout != absl::InfiniteDuration()) {
    message.set_timeout_ms(static_cast<uint64_t>(absl::ToInt64Milliseconds(request.timeout)));
  }
  ProcessOptions child;
  child.argv = {options_.program, kFetchChildArgument};
  child.stdin_text = message.SerializeAsString();
  child.timeout = request.timeout;
  child.canceled = request.canceled;
  if (!request.mirror_dir.empty()) RemoveStaleLocks(request.mirror_dir);
  absl::StatusOr<ProcessResult> result = processes_.Run(child);
  if (!result.ok()) {
    return absl::Status(result.status().code(), absl::StrCat("fetch of ", display_url,
                                                             ": cannot start the fetch process: ",
                                                             result.status().message()));
  }
  if (result->timed_out) {
    return absl::DeadlineExceededError(
        absl::StrCat("fetch of ", display_url, " ", result->Describe()));
  }
  if (result->canceled) {
    return absl::AbortedError(absl::StrCat("fetch of ", display_url, " canceled"));
  }
  v1::GitFetchReply reply;
  if (!result->Succeeded() || !reply.ParseFromString(result->stdout_text)) {
    return absl::InternalError(absl::StrCat(
        "fetch of ", display_url, ": the fetch process failed (", result->Describe(), "): ",
        text::RedactUrlCredentialsIn(absl::StripAsciiWhitespace(result->stderr_text),
                                     request.repo_url)));
  }
  if (reply.code() != 0) {
    return absl::Status(static_cast<absl::StatusCode>(reply.code()), reply.message());
  }
  return reply.commit();
}

absl::Status ChildProcessGitFetcher::Export(const std::string& mirror_dir,
                                            const std::string& commit,
                                            const std::string& dest_dir) {
  return local_.Export(mirror_dir, commit, dest_dir);
}

int RunFetchChild() {
  // The reply gets stdout to itself: whatever a library prints goes to
  // stderr instead.
  const int reply_fd = dup(STDOUT_FILENO);
  if (reply_fd < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) return 1;
  std::string input;
  char buffer[4096];
  ssize_t n;
  while ((n = read(STDIN_FILENO, buffer, sizeof(buffer))) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return 1;
    input.append(buffer, static_cast<size_t>(n));
  }
  v1::GitFetchRequest request;
  if (!request.ParseFromString(input)) return 1;
  Libgit2FetcherOptions options;
  options.known_hosts_path = request.known_hosts_path();
  if (request.timeout_ms() > 0) {
    options.fetch_timeout = absl::Milliseconds(static_cast<int64_t>(request.timeout_ms()));
  }
  FetchRequest fetch;
  fetch.repo_url = request.repo_url();
  fetch.ref = request.ref();
  fetch.mirror_dir = request.mirror_dir();
  fetch.ssh_key_path = request.ssh_key_path();
  absl::StatusOr<std::string> commit = Libgit2Fetcher(options).Fetch(fetch);
  v1::GitFetchReply reply;
  if (commit.ok()) {
    reply.set_commit(*commit);
  } else {
    reply.set_code(static_cast<int32_t>(commit.status().code()));
    reply.set_message(std::string(commit.status().message()));
  }
  return WriteAll(reply_fd, reply.SerializeAsString()) ? 0 : 1;
}

}  // namespace pyservice::agent

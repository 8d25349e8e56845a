#include "tests/testing/prometheus.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/process/subprocess.h"
#include "common/status/status_macros.h"
#include "gtest/gtest.h"
#include "tests/testing/json.h"

namespace pyservice::testing {

std::string FindTool(const std::string& name) {
  const char* path = std::getenv("PATH");
  for (absl::string_view dir : absl::StrSplit(path == nullptr ? "/usr/bin:/bin" : path, ':')) {
    const std::string candidate = absl::StrCat(dir, "/", name);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

void ExpectPromtoolAccepts(const std::string& text) {
  const std::string promtool = FindTool("promtool");
  ASSERT_FALSE(promtool.empty())
      << "promtool is not on PATH: install Debian's prometheus package "
         "(deploy/install-deps.sh does)";
  absl::StatusOr<ProcessResult> checked = RunProcess(
      {.argv = {promtool, "check", "metrics"}, .stdin_text = text, .timeout = absl::Minutes(1)});
  ASSERT_TRUE(checked.ok()) << checked.status();
  EXPECT_TRUE(checked->Succeeded()) << checked->Describe() << "\n" << checked->stdout_text
                                    << checked->stderr_text << "\n--- scraped:\n" << text;
  // promtool prints lint findings (exit 0 for some of them): there must be none.
  EXPECT_EQ(checked->stdout_text + checked->stderr_text, "") << text;
}

absl::StatusOr<std::unique_ptr<ChildProcess>> StartPrometheus(const PrometheusOptions& options) {
  const std::string prometheus = FindTool("prometheus");
  if (prometheus.empty()) {
    return absl::FailedPreconditionError(
        "prometheus is not on PATH: install Debian's prometheus package "
        "(deploy/install-deps.sh does)");
  }
  const std::string config = options.dir + "/prometheus.yml";
  std::ofstream file(config);
  file << "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n";
  for (const auto& [job, target] : options.jobs) {
    file << "  - job_name: " << job << "\n    static_configs:\n      - targets: ['" << target
         << "']\n";
  }
  file.close();
  std::vector<std::string> argv = options.argv_prefix;
  argv.insert(argv.end(), {prometheus, "--config.file=" + config,
                           "--storage.tsdb.path=" + options.dir + "/tsdb",
                           absl::StrCat("--web.listen-address=127.0.0.1:", options.port)});
  ASSIGN_OR_RETURN(std::unique_ptr<ChildProcess> server,
                   ChildProcess::Start(
                       {.argv = argv, .output_dir = options.dir, .name = "prometheus"}));
  if (absl::StatusOr<std::string> ready =
          server->WaitForStderrLine("Server is ready to receive web requests", absl::Seconds(60));
      !ready.ok()) {
    return absl::UnavailableError(absl::StrCat("prometheus did not start: ",
                                               ready.status().message(), "\n",
                                               server->ReadStderr()));
  }
  return server;
}

std::string PrometheusQueryPath(const std::string& query) {
  std::string escaped;
  for (const char c : query) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_') {
      escaped += c;
    } else {
      absl::StrAppend(&escaped, "%", absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2));
    }
  }
  return absl::StrCat("/api/v1/query?query=", escaped);
}

std::string PrometheusSampleValue(const std::string& body) {
  absl::StatusOr<JsonValue> json = ParseJson(body);
  if (!json.ok()) return "";
  const auto& data = json->struct_value().fields();
  if (!data.contains("data")) return "";
  const auto& result = data.at("data").struct_value().fields().at("result").list_value();
  if (result.values_size() != 1) return "";
  return result.values(0).struct_value().fields().at("value").list_value().values(1)
      .string_value();
}

int FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t length = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length);
  close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace pyservice::testing

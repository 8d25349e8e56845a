#include "tests/e2e/agent/agent_e2e.h"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/file/read_file.h"
#include "common/status/status_macros.h"

namespace pyservice::testing {
namespace {

// Prints one line per request: "<monotonic seconds> <body or FAILED why>".
// Bounded in time and count; 127.0.0.1 only.
constexpr char kRequestLoop[] = R"(import pathlib, sys, time, urllib.request
url, stop, ready = sys.argv[1], pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3])
deadline = time.monotonic() + 180
for _ in range(20000):
    if stop.exists() or time.monotonic() > deadline:
        break
    start = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            result = response.read().decode().strip()
        ready.touch()
    except Exception as error:
        result = "FAILED " + type(error).__name__
    print(f"{start:.3f} {result}", flush=True)
    time.sleep(0.02)
)";

}  // namespace

std::string AgentPathInHost() {
  const std::string relative =
      std::filesystem::path(AGENT_BIN).lexically_relative(PYSERVICE_BINARY_DIR).string();
  return absl::StrCat("/opt/pyservice/", relative);
}

absl::StatusOr<std::unique_ptr<TestHost>> BootAgentHost(std::vector<BindMount> binds) {
  binds.insert(binds.begin(), BindMount{.source = PYSERVICE_BINARY_DIR, .target = "/opt/pyservice"});
  // The outer machine's openssh-server units are enabled by presets inside
  // and fail without host keys; the ssh tests run their own sshd.
  return TestHost::Boot({.binds = std::move(binds),
                         .private_network = true,
                         .masked_units = {"ssh.service", "ssh.socket"}});
}

std::string AppYaml(const AppOptions& app) {
  std::string yaml = absl::StrCat("name: ", app.name, "\nmodule: hello\nrepo: ", app.repo,
                                  "\ntag: ", app.tag, "\n");
  if (!app.ssh_key.empty()) {
    absl::StrAppend(&yaml, "ssh_key: |\n");
    for (absl::string_view line : absl::StrSplit(app.ssh_key, '\n', absl::SkipEmpty())) {
      absl::StrAppend(&yaml, "  ", line, "\n");
    }
  }
  absl::StrAppend(&yaml, R"(services:
  - name: web
    description: "Serve {{ app_name }} over HTTP"
    command: "python -m {{ app_module }} --config {{ app_config }} web"
timers:
  - name: report
    description: "Report every Monday at 2 AM"
    schedule: "Mon, 02:00"
    command: "python -m {{ app_module }} --config {{ app_config }} report"
files:
  - dest: "{{ app_config_dir }}/secret.txt"
)",
                  "    content: \"", app.secret, "\\n\"\n", R"(    mode: "0640"
config:
)",
                  "  port: ", app.port, "\nhealth:\n  min_healthy: ", app.min_healthy, "\n",
                  "  http: \"http://127.0.0.1:", app.port, "/healthz\"\n  deadline: 1m\n");
  return yaml;
}

std::string AppYamlPath(const std::string& name) { return absl::StrCat("/srv/", name, ".yaml"); }

absl::Status WriteApp(TestHost& host, const AppOptions& app) {
  // It may hold a deploy key.
  return host.WriteFile(AppYamlPath(app.name), AppYaml(app), 0600);
}

absl::StatusOr<ProcessResult> RunAgent(TestHost& host, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {AgentPathInHost(), "--pip-option=--no-index"};
  argv.insert(argv.end(), args.begin(), args.end());
  return host.Run(argv, {.timeout = absl::Minutes(4)});
}

std::string Describe(const ProcessResult& result) {
  return absl::StrCat(result.Describe(), "\n--- stdout:\n", result.stdout_text,
                      "--- stderr:\n", result.stderr_text);
}

std::string Describe(const absl::StatusOr<ProcessResult>& result) {
  return result.ok() ? Describe(*result) : result.status().ToString();
}

absl::StatusOr<std::string> HttpGet(TestHost& host, int port, const std::string& path) {
  ASSIGN_OR_RETURN(std::string body,
                   host.RunOk({"curl", "--silent", "--show-error", "--fail", "--max-time", "3",
                               absl::StrCat("http://127.0.0.1:", port, path)}));
  return std::string(absl::StripSuffix(body, "\n"));
}

absl::StatusOr<std::map<std::string, std::string>> ShowUnit(
    TestHost& host, const std::string& unit, const std::vector<std::string>& props) {
  std::vector<std::string> argv = {"systemctl", "show"};
  for (const std::string& prop : props) argv.insert(argv.end(), {"-p", prop});
  argv.push_back(unit);
  ASSIGN_OR_RETURN(std::string out, host.RunOk(argv));
  std::map<std::string, std::string> values;
  for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
    std::vector<std::string> kv = absl::StrSplit(line, absl::MaxSplits('=', 1));
    if (kv.size() == 2) values[kv[0]] = kv[1];
  }
  return values;
}

absl::StatusOr<std::string> StatPath(TestHost& host, const std::string& path) {
  ASSIGN_OR_RETURN(std::string out, host.RunOk({"stat", "-c", "%U:%G %a %F", "--", path}));
  return std::string(absl::StripTrailingAsciiWhitespace(out));
}

std::string OuterPath(const TestHost& host, const std::string& path) {
  return absl::StrCat("/proc/", host.systemd_pid(), "/root", path);
}

bool PathExists(const std::string& path) {
  std::error_code error;
  return std::filesystem::exists(path, error);
}

std::vector<std::string> ListDirectory(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code error;
  for (auto it = std::filesystem::directory_iterator(dir, error);
       !error && it != std::filesystem::directory_iterator(); it.increment(error)) {
    names.push_back(it->path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::map<pid_t, std::string> SnapshotCommandLines() {
  std::map<pid_t, std::string> lines;
  for (const std::string& name : ListDirectory("/proc")) {
    pid_t pid = 0;
    if (!absl::SimpleAtoi(name, &pid)) continue;
    // Not an ifstream: libstdc++ throws from its read when the process
    // exits between open and read (ESRCH).
    absl::StatusOr<std::string> read = ReadFileToString(absl::StrCat("/proc/", name, "/cmdline"), 1 << 20);
    if (!read.ok() || read->empty()) continue;  // kernel threads, or already gone
    std::string cmdline = *std::move(read);
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    lines[pid] = std::move(cmdline);
  }
  return lines;
}

std::vector<pid_t> FindProcesses(const std::vector<std::string>& needles) {
  std::vector<pid_t> found;
  for (const auto& [pid, cmdline] : SnapshotCommandLines()) {
    if (std::all_of(needles.begin(), needles.end(),
                    [&](const std::string& n) { return absl::StrContains(cmdline, n); })) {
      found.push_back(pid);
    }
  }
  return found;
}

struct RequestLoop::Running {
  std::thread thread;
  absl::StatusOr<ProcessResult> result = absl::UnknownError("not finished");
};

RequestLoop::RequestLoop(TestHost& host, std::string name)
    : host_(host), name_(std::move(name)) {}

absl::StatusOr<std::unique_ptr<RequestLoop>> RequestLoop::Start(TestHost& host, int port) {
  static std::atomic<int> counter{0};
  std::unique_ptr<RequestLoop> loop(
      new RequestLoop(host, absl::StrCat("request-loop-", port, "-", counter++)));
  RETURN_IF_ERROR(host.WriteFile("/srv/request_loop.py", kRequestLoop));
  const std::string ready = absl::StrCat("/tmp/", loop->name_, ".ready");
  loop->running_ = std::make_unique<Running>();
  Running* running = loop->running_.get();
  std::vector<std::string> argv = {"python3", "/srv/request_loop.py",
                                   absl::StrCat("http://127.0.0.1:", port, "/"),
                                   absl::StrCat("/tmp/", loop->name_, ".stop"), ready};
  running->thread = std::thread([&host, running, argv] {
    running->result = host.Run(argv, {.timeout = absl::Minutes(4)});
  });
  if (!WaitFor([&] { return PathExists(OuterPath(host, ready)); },
               absl::Seconds(20))) {
    absl::StatusOr<std::vector<Answer>> answers = loop->Stop();
    return absl::DeadlineExceededError(
        absl::StrCat("the request loop got no answer from port ", port, " within 20s: ",
                     answers.ok() ? absl::StrCat(answers->size(), " failed requests")
                                  : answers.status().ToString()));
  }
  return loop;
}

RequestLoop::~RequestLoop() {
  if (running_ != nullptr) Stop().IgnoreError();
}

absl::StatusOr<std::vector<RequestLoop::Answer>> RequestLoop::Stop() {
  if (running_ == nullptr) return absl::FailedPreconditionError("the request loop was stopped");
  absl::Status stop = host_.WriteFile(absl::StrCat("/tmp/", name_, ".stop"), "");
  running_->thread.join();
  absl::StatusOr<ProcessResult> result = std::move(running_->result);
  running_.reset();
  RETURN_IF_ERROR(stop);
  RETURN_IF_ERROR(result.status());
  if (!result->Succeeded()) {
    return absl::InternalError(absl::StrCat("the request loop failed: ", Describe(*result)));
  }
  std::vector<Answer> answers;
  for (absl::string_view line : absl::StrSplit(result->stdout_text, '\n', absl::SkipEmpty())) {
    std::vector<std::string> fields = absl::StrSplit(line, absl::MaxSplits(' ', 1));
    Answer answer;
    if (fields.size() != 2 || !absl::SimpleAtod(fields[0], &answer.time)) {
      return absl::InternalError(absl::StrCat("request loop: bad line \"", line, "\""));
    }
    answer.result = fields[1];
    answers.push_back(std::move(answer));
  }
  return answers;
}

}  // namespace pyservice::testing

#include "tests/e2e/fleet/fleet_e2e.h"

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "tests/e2e/agent/hello_app.h"

extern char** environ;

namespace pyservice::testing {
namespace {

std::string ReadOuterFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The agent binary as the hosts see it: the build tree is bound at
// /opt/pyservice.
std::string AgentPathInHost() {
  return absl::StrCat(
      "/opt/pyservice/",
      std::filesystem::path(AGENT_BIN).lexically_relative(PYSERVICE_BINARY_DIR).string());
}

}  // namespace

std::string HelloAppYaml() {
  return absl::StrCat(R"(name: hello
module: hello
repo: file:///srv/git/hello.git
tag: v1
services:
  - name: web
    description: "Serve {{ app_name }} over HTTP"
    command: "python -m {{ app_module }} --config {{ app_config }} web"
config:
  port: )",
                      kPort, R"(
targets:
  labels: {role: web}
health:
  min_healthy: 2s
  http: "http://127.0.0.1:)",
                      kPort, R"(/healthz"
  deadline: 2m
)");
}

std::string Field(const JsonValue& object, const std::string& key) {
  const JsonValue* member = Member(object, key);
  if (member == nullptr) return "";
  switch (member->kind_case()) {
    case JsonValue::kBoolValue:
      return member->bool_value() ? "true" : "false";
    case JsonValue::kNumberValue:
      return absl::StrCat(member->number_value());
    default:
      return member->string_value();
  }
}

const JsonValue* Member(const JsonValue& object, const std::string& key) {
  if (object.kind_case() != JsonValue::kStructValue) return nullptr;
  const auto& fields = object.struct_value().fields();
  auto it = fields.find(key);
  return it == fields.end() ? nullptr : &it->second;
}

std::string UnitState(const JsonValue& host, const std::string& unit) {
  const JsonValue* units = Member(host, "units");
  if (units == nullptr || units->kind_case() != JsonValue::kListValue) return "";
  for (const JsonValue& entry : units->list_value().values()) {
    if (Field(entry, "unit") == unit) return Field(entry, "active_state");
  }
  return "";
}

std::string Tail(const std::string& text, int lines) {
  std::vector<std::string> all = absl::StrSplit(text, '\n');
  if (static_cast<int>(all.size()) > lines) all.erase(all.begin(), all.end() - lines);
  return absl::StrJoin(all, "\n");
}

std::string Describe(const ProcessResult& result) {
  return absl::StrCat(result.Describe(), "\n--- stdout:\n", result.stdout_text, "--- stderr:\n",
                      result.stderr_text);
}

std::unique_ptr<E2eFleet> E2eFleet::Start(FleetOptions options) {
  std::unique_ptr<E2eFleet> fleet(new E2eFleet(std::move(options)));
  if (absl::Status booted = fleet->Boot(); !booted.ok()) fleet->error_ = booted.ToString();
  return fleet;
}

absl::Status E2eFleet::Boot() {
  run_dir_ = dir_.Join("run");
  std::filesystem::create_directories(run_dir_);
  admin_socket_ = dir_.Join("admin/admin.sock");
  std::filesystem::create_directories(dir_.Join("admin"));
  // The controller's server certificate covers DNS:localhost, the name gRPC
  // verifies for unix: targets.
  tls_dir_ = dir_.Join("tls");
  {
    ProcessOptions make_ca;
    make_ca.argv = {"bash", absl::StrCat(PYSERVICE_SOURCE_DIR, "/deploy/tls/make-test-ca.sh"),
                    tls_dir_};
    absl::StatusOr<ProcessResult> made = RunProcess(make_ca);
    if (!made.ok()) return made.status();
    if (!made->Succeeded()) {
      return absl::InternalError(
          absl::StrCat("deploy/tls/make-test-ca.sh: ", Describe(*made)));
    }
  }
  // A symlink to the agent as the host sees it, bound over the host's
  // /usr/local/bin (the unit's ExecStart path; /usr is read-only there).
  const std::string bin_dir = dir_.Join("bin");
  std::filesystem::create_directories(bin_dir);
  std::filesystem::create_symlink(AgentPathInHost(), bin_dir + "/pyservice-agent");
  config_ = dir_.Join("controller.yaml");
  std::ofstream(config_) << "listen: [unix:" << run_dir_ << "/controller.sock]\n"
                         << "admin_socket: " << admin_socket_ << "\n"
                         << "tls_cert: " << tls_dir_ << "/server.crt\n"
                         << "tls_key: " << tls_dir_ << "/server.key\n"
                         << "data_dir: " << data_dir() << "\n"
                         << "secrets_key_file: " << dir_.Join("secrets.key") << "\n"
                         << "heartbeat_interval: " << options_.heartbeat << "\n"
                         << "log_level: debug\n";
  app_yaml_path_ = dir_.Join("app.yaml");
  std::ofstream(app_yaml_path_) << options_.app_yaml;

  if (absl::Status started = StartController(); !started.ok()) return started;
  const std::string unit_file =
      ReadOuterFile(absl::StrCat(PYSERVICE_SOURCE_DIR, "/deploy/systemd/pyservice-agent.service"));
  if (unit_file.empty()) {
    return absl::FailedPreconditionError("cannot read deploy/systemd/pyservice-agent.service");
  }
  ca_pem_ = ReadOuterFile(tls_dir_ + "/ca.crt");
  if (ca_pem_.empty()) return absl::FailedPreconditionError("cannot read " + tls_dir_ + "/ca.crt");
  for (int i = 0; i < static_cast<int>(options_.host_names.size()); ++i) {
    auto host = TestHost::Boot(
        {.binds = {{.source = PYSERVICE_BINARY_DIR, .target = "/opt/pyservice"},
                   {.source = run_dir_, .target = "/run/pyservice", .read_only = false},
                   {.source = options_.git_dir, .target = "/srv/git"},
                   {.source = bin_dir, .target = "/usr/local/bin"}},
         .private_network = true,
         .masked_units = {"ssh.service", "ssh.socket"}});
    if (!host.ok()) {
      return absl::Status(host.status().code(), absl::StrCat("host ", HostName(i),
                                                             " did not boot: ",
                                                             host.status().message()));
    }
    hosts_.push_back(*std::move(host));
    if (absl::Status installed = InstallAgent(i, unit_file); !installed.ok()) {
      return absl::Status(installed.code(),
                          absl::StrCat("installing the agent in ", HostName(i), ": ",
                                       installed.message(), "\n", Journal(i, kAgentUnit, 60)));
    }
  }
  return absl::OkStatus();
}

// The agent as an operator would install it: the shipped unit file; the CA
// of the controller's certificate and an enrollment token for the host
// (made with pyctl, labels in it), owner-only; a config naming the host,
// the CA and the token file; systemctl start. The agent enrolls at its
// first start and keeps its certificate in its state dir.
absl::Status E2eFleet::InstallAgent(int i, const std::string& unit_file) {
  TestHost& host = Host(i);
  std::vector<std::string> enroll = {"host", "enroll-token", HostName(i)};
  for (const std::string& label : options_.labels) enroll.insert(enroll.end(), {"--label", label});
  const ProcessResult token = Pyctl(enroll);
  if (!token.Succeeded() || token.stdout_text.empty()) {
    return absl::InternalError(absl::StrCat("pyctl host enroll-token: ", Describe(token)));
  }
  absl::Status installed = host.WriteFile("/etc/systemd/system/pyservice-agent.service", unit_file);
  if (installed.ok()) installed = host.WriteFile("/etc/pyservice/tls/ca.crt", ca_pem_, 0644);
  if (installed.ok()) {
    installed = host.WriteFile("/etc/pyservice/enroll.token", token.stdout_text, 0600);
  }
  if (installed.ok()) {
    installed = host.WriteFile("/etc/pyservice/agent.yaml",
                               absl::StrCat("controller: unix:/run/pyservice/controller.sock\n"
                                            "host: ",
                                            HostName(i),
                                            "\n"
                                            "tls_ca: /etc/pyservice/tls/ca.crt\n"
                                            "enrollment_token_file: /etc/pyservice/enroll.token\n"
                                            // The hosts have no index: the
                                            // hello app needs no packages.
                                            "pip_options: [--no-index]\n"
                                            "log_level: debug\n",
                                            options_.agent_config_extra));
  }
  if (installed.ok()) installed = host.RunOk({"systemctl", "daemon-reload"}).status();
  if (installed.ok()) {
    installed =
        host.RunOk({"systemctl", "start", kAgentUnit}, {.timeout = absl::Seconds(30)}).status();
  }
  return installed;
}

E2eFleet::~E2eFleet() {
  // Hosts first: their agents would otherwise keep redialing a controller
  // that is gone.
  for (auto& host : hosts_) (void)host->Stop();
  hosts_.clear();
  if (controller_) (void)StopController();
}

absl::Status E2eFleet::StartController() {
  ChildProcessOptions options;
  options.argv = {CONTROLLER_BIN, "--config", config_};
  options.output_dir = dir_.path();
  options.name = absl::StrCat("controller-", ++controller_starts_);
  absl::StatusOr<std::unique_ptr<ChildProcess>> child = ChildProcess::Start(options);
  if (!child.ok()) return child.status();
  controller_ = *std::move(child);
  // Logged after the listeners' lines, once the admin socket accepts.
  return controller_->WaitForStderrLine("admin socket on unix:", absl::Seconds(20)).status();
}

absl::StatusOr<ExitStatus> E2eFleet::StopController(absl::Duration timeout) {
  if (absl::Status signaled = controller_->Signal(SIGTERM); !signaled.ok()) return signaled;
  return controller_->WaitForExit(timeout);
}

absl::StatusOr<ExitStatus> E2eFleet::KillController(absl::Duration timeout) {
  if (absl::Status signaled = controller_->Signal(SIGKILL); !signaled.ok()) return signaled;
  return controller_->WaitForExit(timeout);
}

std::vector<std::string> E2eFleet::PyctlArgv(std::vector<std::string> args) const {
  std::vector<std::string> argv = {PYCTL_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"--controller", absl::StrCat("unix:", admin_socket_)});
  return argv;
}

std::vector<std::string> E2eFleet::PyctlEnv() {
  std::vector<std::string> env;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    if (!absl::StartsWith(*entry, "PYCTL_")) env.emplace_back(*entry);
  }
  return env;
}

ProcessResult E2eFleet::Pyctl(std::vector<std::string> args, int timeout_seconds) {
  ProcessOptions options;
  // timeout(1) rather than a watchdog here: a hung pyctl is killed and the
  // test sees a SIGKILL result it can report.
  options.argv = {"timeout", "-s", "KILL", std::to_string(timeout_seconds)};
  for (std::string& arg : PyctlArgv(std::move(args))) options.argv.push_back(std::move(arg));
  options.env = PyctlEnv();
  absl::StatusOr<ProcessResult> result = RunProcess(options);
  if (!result.ok()) {
    ProcessResult failed;
    failed.exit_code = 127;
    failed.stderr_text = result.status().ToString();
    return failed;
  }
  return *result;
}

absl::StatusOr<std::unique_ptr<ChildProcess>> E2eFleet::StartPyctl(std::vector<std::string> args,
                                                                   const std::string& name) {
  ChildProcessOptions options;
  options.argv = PyctlArgv(std::move(args));
  options.env = PyctlEnv();
  options.output_dir = dir_.path();
  options.name = name;
  return ChildProcess::Start(options);
}

std::map<std::string, JsonValue> E2eFleet::StatusByHost(const std::string& app,
                                                        std::string* raw) {
  const ProcessResult result = Pyctl({"status", app, "-o", "json"});
  if (raw != nullptr) *raw = Describe(result);
  std::map<std::string, JsonValue> by_host;
  if (!result.Succeeded()) return by_host;
  absl::StatusOr<JsonValue> json = ParseJson(result.stdout_text);
  if (!json.ok()) return by_host;
  const JsonValue* hosts = Member(*json, "hosts");
  if (hosts == nullptr || hosts->kind_case() != JsonValue::kListValue) return by_host;
  for (const JsonValue& host : hosts->list_value().values()) by_host[Field(host, "host")] = host;
  return by_host;
}

std::map<std::string, std::string> E2eFleet::Connected(std::string* raw) {
  const ProcessResult result = Pyctl({"get", "hosts", "-o", "json"});
  if (raw != nullptr) *raw = Describe(result);
  std::map<std::string, std::string> connected;
  if (!result.Succeeded()) return connected;
  absl::StatusOr<JsonValue> json = ParseJson(result.stdout_text);
  if (!json.ok() || json->kind_case() != JsonValue::kListValue) return connected;
  for (const JsonValue& host : json->list_value().values()) {
    connected[Field(host, "name")] = Field(host, "connected");
  }
  return connected;
}

bool E2eFleet::AllConnected() {
  std::map<std::string, std::string> connected = Connected();
  for (const std::string& name : options_.host_names) {
    if (connected[name] != "true") return false;
  }
  return true;
}

absl::StatusOr<std::string> E2eFleet::HttpGet(int i) {
  return Host(i).RunOk({"curl", "--silent", "--show-error", "--fail", "--max-time", "3",
                        absl::StrCat("http://127.0.0.1:", kPort, "/")});
}

std::string E2eFleet::ShowUnit(int i, const std::string& property, const std::string& unit) {
  auto out = Host(i).RunOk({"systemctl", "show", "--value", "-p", property, unit});
  return out.ok() ? std::string(absl::StripTrailingAsciiWhitespace(*out))
                  : out.status().ToString();
}

std::string E2eFleet::Journal(int i, const std::string& unit, int lines) {
  auto logs = Host(i).Run({"journalctl", "--unit", unit, "--no-pager", "--output", "cat",
                           "--lines", std::to_string(lines)});
  return absl::StrCat("--- journal of ", unit, " on ", HostName(i), ":\n",
                      logs.ok() ? logs->stdout_text : logs.status().ToString());
}

std::string E2eFleet::Diagnostics() {
  std::string out =
      absl::StrCat("--- controller stderr (tail):\n",
                   Tail(controller_->ReadStderr(), options_.controller_log_lines), "\n");
  for (int i = 0; i < size(); ++i) {
    absl::StrAppend(&out, Journal(i, kAgentUnit, options_.agent_journal_lines));
  }
  return out;
}

E2eFleet* FleetE2eFixture::fleet_ = nullptr;
std::string* FleetE2eFixture::setup_error_ = nullptr;

void FleetE2eFixture::BootFleet(FleetOptions options, const std::vector<std::string>& tags) {
  const HelloRepos& repos = GetHelloRepos();
  for (const std::string& tag : tags) {
    if (::testing::Test::HasFatalFailure() || repos.commits.count(tag) == 0) {
      setup_error_ = new std::string(absl::StrCat("could not build the hello git repository (tags ",
                                                  absl::StrJoin(tags, ", "), ")"));
      return;
    }
  }
  options.git_dir = repos.dir;
  fleet_ = E2eFleet::Start(std::move(options)).release();
}

void FleetE2eFixture::TearDownTestSuite() {
  delete fleet_;
  fleet_ = nullptr;
  delete setup_error_;
  setup_error_ = nullptr;
}

void FleetE2eFixture::SetUp() {
  ASSERT_EQ(setup_error_, nullptr) << *setup_error_;
  ASSERT_TRUE(fleet_->error().empty()) << fleet_->error();
}

}  // namespace pyservice::testing

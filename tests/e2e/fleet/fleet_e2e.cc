#include "tests/e2e/fleet/fleet_e2e.h"

#include <signal.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/status/status_macros.h"
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

// systemd's "unit started" journal message (SD_MESSAGE_UNIT_STARTED): one
// per start job that completed, i.e. per (re)start of the service.
constexpr char kUnitStartedMessageId[] = "39f53479d3a045ac8e11786248231fbf";

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

int64_t JournalMark() {
  const int64_t mark =
      static_cast<int64_t>(std::ceil(absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch())));
  while (absl::ToUnixSeconds(absl::Now()) < mark) absl::SleepFor(absl::Milliseconds(50));
  absl::SleepFor(absl::Milliseconds(20));
  return mark;
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
  if (options_.controllers < 1 || (options_.controllers > 1 && options_.store.empty())) {
    return absl::InvalidArgumentError(
        "several controllers need an etcd store (FleetOptions::store)");
  }
  run_dir_ = dir_.Join("run");
  std::filesystem::create_directories(run_dir_);
  admin_dir_ = dir_.Join("admin");
  std::filesystem::create_directories(admin_dir_);
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
  app_yaml_path_ = dir_.Join("app.yaml");
  std::ofstream(app_yaml_path_) << options_.app_yaml;

  controllers_.resize(options_.controllers);
  for (int i = 0; i < options_.controllers; ++i) {
    RETURN_IF_ERROR(WriteControllerConfig(i));
    // In order: controller 0 takes an empty etcd store's leadership, so the
    // tests know the first leader.
    RETURN_IF_ERROR(StartController(i));
  }
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

// Controller i's own socket, admin socket and data dir (its SQLite store,
// or with etcd its access state); one secrets key for all, as a cluster on
// one etcd store needs. Metrics on a port of the kernel's choosing: several
// controllers (and other suites) share this machine.
absl::Status E2eFleet::WriteControllerConfig(int i) {
  configs_.push_back(dir_.Join(absl::StrCat("controller-", i, ".yaml")));
  std::ofstream config(configs_.back());
  config << "listen: [" << ControllerAddress(i) << "]\n"
         << "admin_socket: " << AdminSocket(i) << "\n"
         << "data_dir: " << data_dir(i) << "\n"
         << "secrets_key_file: " << dir_.Join("secrets.key") << "\n"
         << "heartbeat_interval: " << options_.heartbeat << "\n"
         << "metrics: {listen: \"127.0.0.1:0\"}\n"
         << "log_level: debug\n"
         << "tls_cert: " << tls_dir_ << "/server.crt\n"
         << "tls_key: " << tls_dir_ << "/server.key\n";
  config.close();
  if (!config) return absl::InternalError("cannot write " + configs_.back());
  return absl::OkStatus();
}

std::string E2eFleet::ControllerAddress(int i) const {
  return absl::StrCat("unix:", run_dir_, "/controller-", i, ".sock");
}

std::string E2eFleet::AdminSocket(int i) const {
  return absl::StrCat(admin_dir_, "/admin-", i, ".sock");
}

// The agent as an operator would install it: the shipped unit file; its
// credentials (InstallAgentCredentials); a config naming the host, every
// controller as the host sees it, and the credentials; systemctl start.
absl::Status E2eFleet::InstallAgent(int i, const std::string& unit_file) {
  TestHost& host = Host(i);
  std::vector<std::string> addresses;
  for (int c = 0; c < controllers(); ++c) {
    addresses.push_back(absl::StrCat("unix:/run/pyservice/controller-", c, ".sock"));
  }
  RETURN_IF_ERROR(
      host.WriteFile("/etc/systemd/system/pyservice-agent.service", unit_file));
  ASSIGN_OR_RETURN(const std::string credentials, InstallAgentCredentials(i));
  RETURN_IF_ERROR(host.WriteFile("/etc/pyservice/agent.yaml",
                                 absl::StrCat("controller: \"", absl::StrJoin(addresses, ","),
                                              "\"\n"
                                              "host: ",
                                              HostName(i), "\n", credentials,
                                              // The hosts have no index: the
                                              // hello app needs no packages.
                                              "pip_options: [--no-index]\n"
                                              "log_level: debug\n",
                                              options_.agent_config_extra)));
  RETURN_IF_ERROR(host.RunOk({"systemctl", "daemon-reload"}).status());
  return host.RunOk({"systemctl", "start", kAgentUnit}, {.timeout = absl::Seconds(30)}).status();
}

// The CA of the controllers' server certificate and an enrollment token
// for the host (made with pyctl, labels in it), owner-only; the agent
// enrolls at its first start and keeps its certificate in its state dir.
absl::StatusOr<std::string> E2eFleet::InstallAgentCredentials(int i) {
  std::vector<std::string> enroll = {"host", "enroll-token", HostName(i)};
  for (const std::string& label : options_.labels) enroll.insert(enroll.end(), {"--label", label});
  const ProcessResult token = Pyctl(enroll);
  if (!token.Succeeded() || token.stdout_text.empty()) {
    return absl::InternalError(absl::StrCat("pyctl host enroll-token: ", Describe(token)));
  }
  RETURN_IF_ERROR(Host(i).WriteFile("/etc/pyservice/tls/ca.crt", ca_pem_, 0644));
  RETURN_IF_ERROR(Host(i).WriteFile("/etc/pyservice/enroll.token", token.stdout_text, 0600));
  return std::string(
      "tls_ca: /etc/pyservice/tls/ca.crt\n"
      "enrollment_token_file: /etc/pyservice/enroll.token\n");
}

E2eFleet::~E2eFleet() {
  // Hosts first: their agents would otherwise keep redialing a controller
  // that is gone.
  for (auto& host : hosts_) (void)host->Stop();
  hosts_.clear();
  for (int i = 0; i < controllers(); ++i) {
    if (controllers_[i] != nullptr && ControllerRuns(i)) (void)StopController(i);
  }
}

absl::Status E2eFleet::StartController(int i) {
  ChildProcessOptions options;
  options.argv = {CONTROLLER_BIN, "--config", configs_[i]};
  if (!options_.store.empty()) {
    options.argv.insert(options.argv.end(),
                        {"--store", options_.store, "--advertise", ControllerAddress(i)});
  }
  options.output_dir = dir_.path();
  options.name = absl::StrCat("controller-", i, "-", ++controller_starts_);
  ASSIGN_OR_RETURN(controllers_[i], ChildProcess::Start(options));
  ChildProcess& controller = *controllers_[i];
  // The admin socket's line is logged after the listeners' ones, once it
  // accepts; a follower logs that it refuses calls instead (no admin socket
  // until it leads).
  constexpr absl::Duration kTimeout = absl::Seconds(30);
  const bool serving = Eventually(
      [&] {
        const std::string log = controller.ReadStderr();
        return !ControllerRuns(i) || absl::StrContains(log, "admin socket on unix:") ||
               absl::StrContains(log, "follower: refusing every call on");
      },
      kTimeout, absl::Milliseconds(50));
  if (!ControllerRuns(i)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "controller ", i, " exited at start:\n", Tail(controller.ReadStderr(), 40)));
  }
  if (!serving) {
    return absl::DeadlineExceededError(absl::StrCat("controller ", i, " not serving after ",
                                                    absl::FormatDuration(kTimeout), ":\n",
                                                    Tail(controller.ReadStderr(), 40)));
  }
  return absl::OkStatus();
}

absl::StatusOr<ExitStatus> E2eFleet::StopController(int i, absl::Duration timeout) {
  RETURN_IF_ERROR(controllers_[i]->Signal(SIGTERM));
  return controllers_[i]->WaitForExit(timeout);
}

absl::StatusOr<ExitStatus> E2eFleet::KillController(int i, absl::Duration timeout) {
  RETURN_IF_ERROR(controllers_[i]->Signal(SIGKILL));
  return controllers_[i]->WaitForExit(timeout);
}

bool E2eFleet::ControllerRuns(int i) {
  return controllers_[i] != nullptr &&
         absl::IsDeadlineExceeded(controllers_[i]->WaitForExit(absl::ZeroDuration()).status());
}

int E2eFleet::Leader() {
  for (int i = 0; i < controllers(); ++i) {
    if (!ControllerRuns(i)) continue;
    const std::string log = controllers_[i]->ReadStderr();
    if (absl::StrContains(log, "leading: this controller is the leader") &&
        absl::StrContains(log, "admin socket on unix:")) {
      return i;
    }
  }
  return -1;
}

std::vector<std::string> E2eFleet::PyctlArgv(std::vector<std::string> args) const {
  std::vector<std::string> argv = {PYCTL_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<std::string> admin_sockets;
  for (int i = 0; i < controllers(); ++i) {
    admin_sockets.push_back(absl::StrCat("unix:", AdminSocket(i)));
  }
  argv.insert(argv.end(), {"--controller", absl::StrJoin(admin_sockets, ",")});
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

std::string Body(const std::string& tag) { return absl::StrCat(HelloBody(tag), "\n"); }

bool E2eFleet::AllHealthyOn(const std::string& app, const std::string& tag, std::string* raw) {
  const std::map<std::string, JsonValue> status = StatusByHost(app, raw);
  if (status.size() != static_cast<size_t>(size())) return false;
  for (int i = 0; i < size(); ++i) {
    auto it = status.find(HostName(i));
    if (it == status.end() || Field(it->second, "health") != "healthy" ||
        Field(it->second, "connected") != "true" || UnitState(it->second) != "active" ||
        Field(it->second, "tag") != tag) {
      return false;
    }
    absl::StatusOr<std::string> body = HttpGet(i);
    if (!body.ok() || *body != Body(tag)) return false;
  }
  return true;
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

std::string E2eFleet::JournalSince(int i, int64_t mark, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"journalctl", "--no-pager", "--output", "cat", "--since",
                                   absl::StrCat("@", mark)};
  argv.insert(argv.end(), args.begin(), args.end());
  auto out = Host(i).Run(argv);
  if (!out.ok()) return absl::StrCat("(journalctl: ", out.status().ToString(), ")");
  return out->stdout_text;
}

int E2eFleet::ServiceStartsSince(int i, int64_t mark, std::string* lines) {
  *lines = JournalSince(
      i, mark,
      {absl::StrCat("UNIT=", kAppUnit), absl::StrCat("MESSAGE_ID=", kUnitStartedMessageId)});
  int count = 0;
  for (absl::string_view line : absl::StrSplit(*lines, '\n', absl::SkipWhitespace())) {
    (void)line;
    ++count;
  }
  return count;
}

std::string E2eFleet::Diagnostics() {
  std::string out;
  for (int i = 0; i < controllers(); ++i) {
    if (controllers_[i] == nullptr) continue;
    absl::StatusOr<ExitStatus> exited = controllers_[i]->WaitForExit(absl::ZeroDuration());
    absl::StrAppend(&out, "--- controller ", i, " (",
                    exited.ok() ? exited->Describe() : std::string("running"), ") stderr (tail):\n",
                    Tail(controllers_[i]->ReadStderr(), options_.controller_log_lines), "\n");
  }
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

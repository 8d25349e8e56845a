// fleet_sim: N simulated agents in one process, each with its own stream
// (AgentService.Connect) over the real gRPC protocol, for the fleet
// and rollout benchmarks (bench/fleet_bench.sh, bench/rollout_bench.sh,
// docs/BENCHMARKS.md).
//
// Every session is a gRPC callback-API client reactor: no thread per
// session. One ticker thread sends heartbeats at the Welcome interval
// (spread evenly over the interval); deploys are answered at once from the
// read reaction with two StepProgress messages and an ok DeployResult whose
// live AppHealth carries the digest of the spec received, which becomes
// what the session runs. A DeployRequest with prepare_only (a rollout
// preparing later waves) is answered, as agents do, with the DeployResult
// alone (no StepProgress; --prepare-progress: two, as agents before
// prepares went quiet did), and leaves what runs unchanged: its
// DeployResult.live is what the session ran before (no live when it runs
// nothing of that app); counted as "prepares", not "deploys".
// A RemoveRequest forgets the app.
//
// By default every session has its own channel and so its own connection,
// as real agents do (--sessions-per-channel to share).
//
// Hosts are PREFIX-%05u of the global index first_index + i + 1 (i = 0 ..
// hosts - 1), with the label shard = global index % 16: K processes with
// --hosts H and --first-index 0, H, 2H, ... simulate exactly the hosts of
// one process with --hosts K*H. The rollout benchmark runs the fleet that
// way: all callback-API reactors of a process share one completion queue,
// and Debian's libgrpc (built without NDEBUG) scans the queue's outstanding
// operations on every completion (cq_check_tag), so one process with
// 10,000 streams pays for thousands of entries per completion, and real
// agents are one stream per process anyway.
//
// Output: one JSON object per line on stdout, every --report-interval-ms:
//   {"t_ms":..., "elapsed_ms":..., "sessions":N, "welcomed":..,
//    "active":.., "ended":.., "heartbeats":.., "deploys":.., "prepares":..,
//    "results":.., "removes":..}
// ("results" counts the DeployResults of both deploys and prepares) and a
// final line with "final":true. Exits after --duration-s, or on
// SIGINT/SIGTERM, or (with --exit-after-results K) once K results are sent.
//
// --deploy-log FILE: one line per DeployRequest received, written when its
// answer has been queued:
//   UNIX_US HOST APP REVISION deploy|prepare
// (for bench/rollout_bench.sh: when each wave's requests reached the hosts).
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>
#include <grpcpp/support/client_callback.h>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "pyservice/v1/agent.grpc.pb.h"

namespace {

using pyservice::v1::AgentMessage;
using pyservice::v1::AgentService;
using pyservice::v1::ControllerMessage;

using SteadyClock = std::chrono::steady_clock;

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop.store(true); }

struct Counters {
  std::atomic<uint64_t> welcomed{0};
  std::atomic<uint64_t> active{0};
  std::atomic<uint64_t> ended{0};
  std::atomic<uint64_t> heartbeats{0};
  std::atomic<uint64_t> deploys{0};
  std::atomic<uint64_t> prepares{0};
  std::atomic<uint64_t> results{0};
  std::atomic<uint64_t> removes{0};
};

int64_t UnixMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t UnixMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// --deploy-log: shared by every session, buffered, one lock per line.
class DeployLog {
 public:
  bool Open(const std::string& path) {
    file_ = std::fopen(path.c_str(), "w");
    if (file_ == nullptr) return false;
    std::setvbuf(file_, nullptr, _IOFBF, 1 << 20);
    return true;
  }
  void Write(const std::string& host, const std::string& app, uint32_t revision, bool prepare) {
    if (file_ == nullptr) return;
    const int64_t now = UnixMicros();
    std::lock_guard<std::mutex> lock(mu_);
    std::fprintf(file_, "%lld %s %s %u %s\n", static_cast<long long>(now), host.c_str(),
                 app.c_str(), revision, prepare ? "prepare" : "deploy");
  }
  void Flush() {
    if (file_ == nullptr) return;
    std::lock_guard<std::mutex> lock(mu_);
    std::fflush(file_);
  }

 private:
  std::mutex mu_;
  std::FILE* file_ = nullptr;
};

class SimAgent final : public grpc::ClientBidiReactor<AgentMessage, ControllerMessage> {
 public:
  // index: the host's global index (0-based, --first-index included).
  SimAgent(AgentService::Stub& stub, std::string host, const std::string& labels_group,
           uint32_t index, bool prepare_progress, Counters& counters, DeployLog& deploy_log)
      : host_(std::move(host)),
        prepare_progress_(prepare_progress),
        counters_(counters),
        deploy_log_(deploy_log) {
    AgentMessage hello;
    pyservice::v1::Hello& h = *hello.mutable_hello();
    h.set_host(host_);
    (*h.mutable_labels())["role"] = "sim";
    (*h.mutable_labels())["group"] = labels_group;
    (*h.mutable_labels())["shard"] = absl::StrCat(index % 16);
    h.set_agent_version("fleet-sim-1");
    stub.async()->Connect(&context_, this);
    // Held until the read side ends, so writes from the ticker never race
    // OnDone.
    AddHold();
    StartRead(&incoming_);
    Enqueue(std::move(hello));
    StartCall();
  }

  // Called by the ticker thread.
  void MaybeHeartbeat(SteadyClock::time_point now) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closing_ || interval_ms_ == 0 || now < next_heartbeat_) return;
      next_heartbeat_ += std::chrono::milliseconds(interval_ms_);
      if (next_heartbeat_ < now) next_heartbeat_ = now + std::chrono::milliseconds(interval_ms_);
    }
    AgentMessage message;
    message.mutable_heartbeat()->set_sequence(++sequence_);
    Enqueue(std::move(message));
    counters_.heartbeats.fetch_add(1, std::memory_order_relaxed);
  }

  void Cancel() { context_.TryCancel(); }
  bool done() const { return done_.load(); }

  void OnReadDone(bool ok) override {
    if (!ok) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        closing_ = true;
        outbox_.clear();
        if (write_in_flight_) {
          release_hold_after_write_ = true;
          return;
        }
      }
      RemoveHold();
      return;
    }
    switch (incoming_.message_case()) {
      case ControllerMessage::kWelcome: {
        const uint32_t interval = incoming_.welcome().heartbeat_interval_ms();
        {
          std::lock_guard<std::mutex> lock(mu_);
          interval_ms_ = interval == 0 ? 5000 : interval;
          // Spread heartbeats over the interval by host index hash.
          const uint64_t offset = std::hash<std::string>{}(host_) % interval_ms_;
          next_heartbeat_ = SteadyClock::now() + std::chrono::milliseconds(offset);
        }
        welcomed_ = true;
        counters_.welcomed.fetch_add(1, std::memory_order_relaxed);
        counters_.active.fetch_add(1, std::memory_order_relaxed);
        break;
      }
      case ControllerMessage::kDeploy:
        AnswerDeploy(incoming_.deploy());
        break;
      case ControllerMessage::kRemove: {
        counters_.removes.fetch_add(1, std::memory_order_relaxed);
        live_.erase(incoming_.remove().app());
        AgentMessage message;
        pyservice::v1::DeployResult& result = *message.mutable_result();
        result.set_app(incoming_.remove().app());
        result.set_deploy_id(incoming_.remove().deploy_id());
        result.set_ok(true);
        Enqueue(std::move(message));
        break;
      }
      default:
        break;
    }
    StartRead(&incoming_);
  }

  void OnWriteDone(bool ok) override {
    bool release = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      write_in_flight_ = false;
      if (!ok) closing_ = true;
      if (closing_) {
        outbox_.clear();
        release = release_hold_after_write_;
        release_hold_after_write_ = false;
      } else {
        StartNextWriteLocked();
      }
    }
    if (release) RemoveHold();
  }

  void OnDone(const grpc::Status& status) override {
    (void)status;
    if (welcomed_) counters_.active.fetch_sub(1, std::memory_order_relaxed);
    counters_.ended.fetch_add(1, std::memory_order_relaxed);
    done_.store(true);
  }

 private:
  void AnswerDeploy(const pyservice::v1::DeployRequest& deploy) {
    const bool prepare = deploy.prepare_only();
    (prepare ? counters_.prepares : counters_.deploys).fetch_add(1, std::memory_order_relaxed);
    const std::string& app = deploy.spec().name();
    // Agents report a prepare's steps to no one but their own metrics: the
    // controller shows none of them (only whether the host is preparing).
    const bool report_steps = !prepare || prepare_progress_;
    for (const char* step : {"checkout", "activate"}) {
      if (!report_steps) break;
      AgentMessage message;
      pyservice::v1::StepProgress& progress = *message.mutable_progress();
      progress.set_app(app);
      progress.set_deploy_id(deploy.deploy_id());
      progress.set_step(step);
      progress.set_state(pyservice::v1::STEP_STATE_DONE);
      progress.set_elapsed_ms(1);
      Enqueue(std::move(message));
    }
    AgentMessage message;
    pyservice::v1::DeployResult& result = *message.mutable_result();
    result.set_app(app);
    result.set_deploy_id(deploy.deploy_id());
    result.set_ok(true);
    if (prepare) {
      // Built, not switched: what runs stays as it was.
      const auto running = live_.find(app);
      if (running != live_.end()) *result.mutable_live() = running->second;
    } else {
      pyservice::v1::AppHealth& live = *result.mutable_live();
      live.set_app(app);
      live.set_revision(deploy.revision());
      live.set_tag(deploy.spec().tag());
      live.set_commit("0000000000000000000000000000000000000000");
      // What real agents report: the controller's (keyed) digest.
      live.set_spec_digest(deploy.spec_digest());
      live.set_health(pyservice::v1::HEALTH_STATE_HEALTHY);
      for (const auto& service : deploy.spec().services()) {
        pyservice::v1::UnitHealth& unit = *live.add_units();
        unit.set_unit(absl::StrCat(app, "-", service.name(), ".service"));
        unit.set_active_state("active");
        unit.set_sub_state("running");
      }
      live_[app] = live;
    }
    Enqueue(std::move(message));
    counters_.results.fetch_add(1, std::memory_order_relaxed);
    deploy_log_.Write(host_, app, deploy.revision(), prepare);
  }

  void Enqueue(AgentMessage message) {
    std::lock_guard<std::mutex> lock(mu_);
    if (closing_) return;
    outbox_.push_back(std::move(message));
    if (!write_in_flight_) StartNextWriteLocked();
  }

  void StartNextWriteLocked() {
    if (outbox_.empty()) return;
    writing_ = std::move(outbox_.front());
    outbox_.pop_front();
    write_in_flight_ = true;
    StartWrite(&writing_);
  }

  grpc::ClientContext context_;
  const std::string host_;
  const bool prepare_progress_;
  Counters& counters_;
  DeployLog& deploy_log_;
  bool welcomed_ = false;  // read reactions and OnDone only
  // What runs, per app. Read reactions only (one at a time per stream).
  std::map<std::string, pyservice::v1::AppHealth> live_;
  ControllerMessage incoming_;
  uint64_t sequence_ = 0;
  std::atomic<bool> done_{false};

  std::mutex mu_;
  std::deque<AgentMessage> outbox_;
  AgentMessage writing_;
  bool write_in_flight_ = false;
  bool closing_ = false;
  bool release_hold_after_write_ = false;
  uint32_t interval_ms_ = 0;
  SteadyClock::time_point next_heartbeat_;
};

void RaiseFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fleet_sim: N simulated agents over the real gRPC protocol"};
  std::string address = "127.0.0.1:7070";
  uint32_t hosts = 1000;
  uint32_t first_index = 0;
  std::string prefix = "sim";
  std::string group = "bench";
  uint32_t per_channel = 1;
  uint32_t connect_rate = 2000;
  uint32_t duration_s = 600;
  uint32_t report_ms = 1000;
  uint64_t exit_after_results = 0;
  std::string deploy_log_path;
  bool prepare_progress = false;
  app.add_option("--controller", address, "unix:/path or 127.0.0.1:PORT")->capture_default_str();
  app.add_option("--hosts", hosts, "number of sessions")->capture_default_str()
      ->check(CLI::Range(1u, 100000u));
  app.add_option("--first-index", first_index,
                 "global index of the first session: hosts are PREFIX-%05u of "
                 "FIRST_INDEX+1 ... FIRST_INDEX+HOSTS (for a fleet split over processes)")
      ->capture_default_str()->check(CLI::Range(0u, 99999u));
  app.add_option("--prefix", prefix, "host name prefix (hosts are PREFIX-00001...)")
      ->capture_default_str();
  app.add_option("--group", group, "value of the 'group' label")->capture_default_str();
  app.add_option("--sessions-per-channel", per_channel,
                 "sessions sharing one channel/connection (1 = like real agents)")
      ->capture_default_str()->check(CLI::Range(1u, 100000u));
  app.add_option("--connect-rate", connect_rate, "new sessions per second")
      ->capture_default_str()->check(CLI::Range(1u, 1000000u));
  app.add_option("--duration-s", duration_s, "exit after this long")
      ->capture_default_str()->check(CLI::Range(1u, 86400u));
  app.add_option("--report-interval-ms", report_ms, "progress line period")
      ->capture_default_str()->check(CLI::Range(10u, 60000u));
  app.add_option("--exit-after-results", exit_after_results,
                 "exit once this many deploy results were sent (0 = never)");
  app.add_option("--deploy-log", deploy_log_path,
                 "write 'UNIX_US HOST APP REVISION deploy|prepare' per DeployRequest answered");
  app.add_flag("--prepare-progress", prepare_progress,
               "answer prepare_only requests with two StepProgress before the result, as "
               "older agents did (default: the result alone, as agents do now)");
  CLI11_PARSE(app, argc, argv);
  // The same bound as --hosts alone: the last host is at most PREFIX-100000.
  if (static_cast<uint64_t>(first_index) + hosts > 100000) {
    std::fprintf(stderr, "fleet_sim: --first-index %u + --hosts %u is more than 100000 hosts\n",
                 first_index, hosts);
    return 2;
  }

  RaiseFileLimit();
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGPIPE, SIG_IGN);

  Counters counters;
  DeployLog deploy_log;
  if (!deploy_log_path.empty() && !deploy_log.Open(deploy_log_path)) {
    std::fprintf(stderr, "fleet_sim: cannot open %s\n", deploy_log_path.c_str());
    return 1;
  }
  const auto start = SteadyClock::now();
  const auto deadline = start + std::chrono::seconds(duration_s);
  const int64_t start_unix_ms = UnixMillis();

  auto report = [&](bool final) {
    const auto now = SteadyClock::now();
    std::printf(
        "{\"t_ms\":%lld,\"elapsed_ms\":%lld,\"sessions\":%u,\"welcomed\":%llu,\"active\":%llu,"
        "\"ended\":%llu,\"heartbeats\":%llu,\"deploys\":%llu,\"prepares\":%llu,"
        "\"results\":%llu,\"removes\":%llu%s}\n",
        static_cast<long long>(UnixMillis()),
        static_cast<long long>(
            std::chrono::duration_cast<std::chrono::milliseconds>(now - start).count()),
        hosts, static_cast<unsigned long long>(counters.welcomed.load()),
        static_cast<unsigned long long>(counters.active.load()),
        static_cast<unsigned long long>(counters.ended.load()),
        static_cast<unsigned long long>(counters.heartbeats.load()),
        static_cast<unsigned long long>(counters.deploys.load()),
        static_cast<unsigned long long>(counters.prepares.load()),
        static_cast<unsigned long long>(counters.results.load()),
        static_cast<unsigned long long>(counters.removes.load()), final ? ",\"final\":true" : "");
    std::fflush(stdout);
    deploy_log.Flush();
  };
  std::fprintf(stderr, "fleet_sim: %u sessions (%s-%05u ...) to %s, start %lld\n", hosts,
               prefix.c_str(), first_index + 1, address.c_str(),
               static_cast<long long>(start_unix_ms));

  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::vector<std::unique_ptr<AgentService::Stub>> stubs;
  // Reserved up front: the ticker reads agents[0, created) while this
  // thread appends, so the vector must never reallocate.
  std::vector<std::unique_ptr<SimAgent>> agents;
  agents.reserve(hosts);
  std::atomic<size_t> created{0};

  std::thread ticker([&] {
    while (!g_stop.load() && SteadyClock::now() < deadline) {
      const size_t n = created.load();
      const auto now = SteadyClock::now();
      for (size_t i = 0; i < n; ++i) agents[i]->MaybeHeartbeat(now);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });

  auto next_report = start;
  for (uint32_t i = 0; i < hosts && !g_stop.load() && SteadyClock::now() < deadline; ++i) {
    if (i % per_channel == 0) {
      grpc::ChannelArguments args;
      // A separate subchannel pool, so every channel gets its own
      // connection instead of gRPC's process-wide sharing.
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
      args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 0);
      channels.push_back(
          grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args));
      stubs.push_back(AgentService::NewStub(channels.back()));
    }
    char name[64];
    const uint32_t index = first_index + i;
    std::snprintf(name, sizeof(name), "%s-%05u", prefix.c_str(), index + 1);
    agents.push_back(std::make_unique<SimAgent>(*stubs.back(), name, group, index,
                                                prepare_progress, counters, deploy_log));
    created.store(agents.size());
    // Pace: i sessions should not start before i / rate seconds.
    const auto due = start + std::chrono::microseconds(
                                 static_cast<int64_t>(i + 1) * 1000000 / connect_rate);
    const auto now = SteadyClock::now();
    if (due > now) std::this_thread::sleep_until(due);
    if (now >= next_report) {
      report(false);
      next_report = now + std::chrono::milliseconds(report_ms);
    }
  }

  while (!g_stop.load() && SteadyClock::now() < deadline) {
    if (exit_after_results != 0 && counters.results.load() >= exit_after_results) break;
    report(false);
    for (uint32_t waited = 0; waited < report_ms && !g_stop.load(); waited += 10) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      if (exit_after_results != 0 && counters.results.load() >= exit_after_results) break;
    }
  }
  g_stop.store(true);
  ticker.join();
  report(true);

  // Cancel every stream and wait (bounded) for the reactors to finish.
  for (auto& agent : agents) agent->Cancel();
  const auto cancel_deadline = SteadyClock::now() + std::chrono::seconds(10);
  for (auto& agent : agents) {
    while (!agent->done() && SteadyClock::now() < cancel_deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  std::fflush(stdout);
  deploy_log.Flush();
  // Skip tearing down thousands of channels one by one.
  std::_Exit(0);
}

#include "agent/daemon/agent_daemon.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/spec/validators.h"
#include "spdlog/spdlog.h"

#ifndef PYSERVICE_VERSION
#error "PYSERVICE_VERSION must be defined by the build (agent/CMakeLists.txt)"
#endif

namespace pyservice::agent {

AgentDaemon::AgentDaemon(DaemonOptions options, HostServices& host, const AgentSettings& settings)
    : options_(std::move(options)),
      settings_(settings),
      users_(host.users),
      host_{host.systemd, host.git, host.processes, users_, host.clock, host.sleep},
      store_(settings_.state_dir),
      connection_(options_.connection, *this, options_.random ? options_.random : SystemRandom(),
                  host.clock),
      sink_(connection_, options_.metrics),
      health_(host.systemd, store_, sink_, options_.health_push_interval),
      runner_(host_, settings_, store_, health_, sink_, options_.metrics),
      workers_(runner_),
      journal_(host.processes),
      logs_(journal_, store_, connection_, host.clock),
      drift_(store_, workers_, options_.drift_check_interval) {}

std::string AgentDaemon::Version() { return PYSERVICE_VERSION; }

absl::Status AgentDaemon::Run() {
  if (absl::Status initialized = store_.Initialize(); !initialized.ok()) {
    return absl::Status(initialized.code(), absl::StrCat("state dir ", settings_.state_dir, ": ",
                                                         initialized.message()));
  }
  health_.Start();
  drift_.Start();
  spdlog::info("pyservice-agent {} on host {}: controller {}", Version(), options_.host,
               options_.connection.address);
  connection_.Run();
  logs_.StopAll();
  spdlog::info("stopping: running jobs stop at their next step");
  drift_.Stop();
  workers_.Stop();
  health_.Stop();
  return absl::OkStatus();
}

void AgentDaemon::Stop() { connection_.Stop(); }

v1::Hello AgentDaemon::MakeHello() {
  v1::Hello hello;
  hello.set_host(options_.host);
  hello.mutable_labels()->insert(options_.labels.begin(), options_.labels.end());
  hello.set_agent_version(Version());
  for (v1::AppHealth& app : health_.Snapshot()) *hello.add_apps() = std::move(app);
  return hello;
}

void AgentDaemon::OnWelcome(const v1::Welcome& welcome) {
  // A new stream: the tails asked on the previous one have no reader left.
  logs_.StopAll();
  if (!welcome.host().empty() && welcome.host() != options_.host) {
    spdlog::info("the controller knows this host as {}", welcome.host());
  }
}

void AgentDaemon::OnWork(const v1::ControllerMessage& message) {
  switch (message.message_case()) {
    case v1::ControllerMessage::kDeploy: {
      const v1::DeployRequest& request = message.deploy();
      Job job;
      job.kind = request.prepare_only() ? Job::Kind::kPrepare : Job::Kind::kDeploy;
      job.deploy_id = request.deploy_id();
      job.app = request.spec().name();
      job.revision = request.revision();
      job.spec = request.spec();
      job.spec_digest = request.spec_digest();
      if (absl::Status valid = spec::ValidateName(job.app); !valid.ok()) {
        sink_.Send(NotStartedResult(
            job, absl::StrCat("invalid request: spec.name: ", valid.message()), v1::AppHealth()));
        return;
      }
      Submit(std::move(job));
      return;
    }
    case v1::ControllerMessage::kRemove: {
      Job job;
      job.kind = Job::Kind::kRemove;
      job.deploy_id = message.remove().deploy_id();
      job.app = message.remove().app();
      if (absl::Status valid = spec::ValidateName(job.app); !valid.ok()) {
        sink_.Send(NotStartedResult(
            job, absl::StrCat("invalid request: app: ", valid.message()), v1::AppHealth()));
        return;
      }
      Submit(std::move(job));
      return;
    }
    case v1::ControllerMessage::kCancel: {
      const uint64_t id = message.cancel().deploy_id();
      AppWorkers::Cancellation canceled = workers_.Cancel(id);
      switch (canceled.where) {
        case AppWorkers::Cancellation::Where::kQueued:
          spdlog::info("{}: {} canceled before it started", canceled.job->app, id);
          sink_.Send(
              NotStartedResult(*canceled.job, "canceled", health_.Current(canceled.job->app)));
          break;
        case AppWorkers::Cancellation::Where::kRunning:
          spdlog::info("deploy {}: canceling at the next step", id);
          break;
        case AppWorkers::Cancellation::Where::kNotFound:
          spdlog::debug("cancel of deploy {}: not running (finished already?)", id);
          break;
      }
      return;
    }
    case v1::ControllerMessage::kTailLogs:
      logs_.Start(message.tail_logs());
      return;
    case v1::ControllerMessage::kStopLogs:
      logs_.Stop(message.stop_logs().tail_id());
      return;
    default:
      spdlog::warn("ignoring an unknown message from the controller (case {})",
                   static_cast<int>(message.message_case()));
  }
}

void AgentDaemon::Submit(Job job) {
  const uint64_t id = job.deploy_id;
  std::optional<Job> replaced = workers_.Submit(std::move(job));
  if (!replaced || replaced->deploy_id == id) return;  // none, or refused: stopping
  // The agent's own drift check: the job replacing it repairs anyway.
  if (replaced->kind == Job::Kind::kCheckDrift) return;
  spdlog::info("{}: {} superseded by {} before it started", replaced->app, replaced->deploy_id, id);
  sink_.Send(NotStartedResult(*replaced, absl::StrCat("superseded by ", id),
                                    health_.Current(replaced->app)));
}

}  // namespace pyservice::agent

// A controller's side of AgentService.Connect for agent tests, minus every
// decision: it records what the agent sends, answers the Hello with a
// Welcome, and sends what the test tells it to. Served in-process on a Unix
// socket (FakeControllerServer). gRPC's sync API: a handler thread per stream
// is fine for a test.
#ifndef PYSERVICE_TESTS_TESTING_FAKE_AGENT_CONTROLLER_H_
#define PYSERVICE_TESTS_TESTING_FAKE_AGENT_CONTROLLER_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "pyservice/v1/agent.grpc.pb.h"

namespace pyservice::testing {

// How long the waits below wait.
inline constexpr absl::Duration kAgentWait = absl::Seconds(20);

using AgentMessageMatch = std::function<bool(const v1::AgentMessage&)>;

inline AgentMessageMatch ResultOf(uint64_t deploy_id) {
  return [deploy_id](const v1::AgentMessage& m) {
    return m.has_result() && m.result().deploy_id() == deploy_id;
  };
}

inline AgentMessageMatch HealthOf(const std::string& app, v1::HealthState state) {
  return [app, state](const v1::AgentMessage& m) {
    return m.has_health() && m.health().app() == app && m.health().health() == state;
  };
}

class FakeController final : public v1::AgentService::Service {
 public:
  explicit FakeController(uint32_t heartbeat_interval_ms = 50)
      : heartbeat_interval_ms_(heartbeat_interval_ms) {}

  // A controller that never answers the Hello.
  void set_welcome(bool welcome) { welcome_ = welcome; }

  grpc::Status Connect(
      grpc::ServerContext*,
      grpc::ServerReaderWriter<v1::ControllerMessage, v1::AgentMessage>* stream) override {
    v1::AgentMessage message;
    if (!stream->Read(&message)) return grpc::Status::OK;
    Record(message);
    if (!welcome_) {
      while (stream->Read(&message)) Record(message);
      return grpc::Status::OK;
    }
    {
      absl::MutexLock lock(&write_mu_);
      v1::ControllerMessage welcome;
      welcome.mutable_welcome()->set_heartbeat_interval_ms(heartbeat_interval_ms_);
      welcome.mutable_welcome()->set_host(message.hello().host());
      stream->Write(welcome);
      stream_ = stream;
    }
    while (stream->Read(&message)) Record(message);
    absl::MutexLock lock(&write_mu_);
    stream_ = nullptr;
    return grpc::Status::OK;
  }

  // Sends on the agent's stream once there is one.
  bool Send(const v1::ControllerMessage& message) {
    absl::MutexLock lock(&write_mu_);
    auto connected = [this]()
                         ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_) { return stream_ != nullptr; };
    if (!write_mu_.AwaitWithTimeout(absl::Condition(&connected), kAgentWait)) return false;
    return stream_->Write(message);
  }

  // The first message so far or within kAgentWait that matches.
  std::optional<v1::AgentMessage> WaitFor(const AgentMessageMatch& match) {
    return WaitForNth(match, 1);
  }
  // The n-th (from 1) message that matches, once received (within kAgentWait).
  std::optional<v1::AgentMessage> WaitForNth(const AgentMessageMatch& match, size_t n) {
    absl::MutexLock lock(&mu_);
    std::optional<v1::AgentMessage> found;
    auto seen = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      size_t count = 0;
      for (const v1::AgentMessage& m : received_) {
        if (match(m) && ++count == n) {
          found = m;
          return true;
        }
      }
      return false;
    };
    mu_.AwaitWithTimeout(absl::Condition(&seen), kAgentWait);
    return found;
  }

  std::vector<v1::AgentMessage> Received() {
    absl::MutexLock lock(&mu_);
    return received_;
  }
  // Received messages that match, in order.
  std::vector<v1::AgentMessage> All(const AgentMessageMatch& match) {
    std::vector<v1::AgentMessage> all;
    for (const v1::AgentMessage& m : Received()) {
      if (match(m)) all.push_back(m);
    }
    return all;
  }
  // Index of the first received message that matches; -1 if none.
  int IndexOf(const AgentMessageMatch& match) {
    std::vector<v1::AgentMessage> received = Received();
    for (size_t i = 0; i < received.size(); ++i) {
      if (match(received[i])) return static_cast<int>(i);
    }
    return -1;
  }

 private:
  void Record(const v1::AgentMessage& message) {
    absl::MutexLock lock(&mu_);
    received_.push_back(message);
  }

  const uint32_t heartbeat_interval_ms_;
  std::atomic<bool> welcome_ = true;
  absl::Mutex mu_;
  std::vector<v1::AgentMessage> received_ ABSL_GUARDED_BY(mu_);
  absl::Mutex write_mu_;
  grpc::ServerReaderWriter<v1::ControllerMessage, v1::AgentMessage>* stream_
      ABSL_GUARDED_BY(write_mu_) = nullptr;
};

// The fake controller served on a Unix socket, until destroyed.
class FakeControllerServer {
 public:
  explicit FakeControllerServer(const std::string& socket, uint32_t heartbeat_interval_ms = 50)
      : service_(heartbeat_interval_ms) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("unix:" + socket, grpc::InsecureServerCredentials());
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    EXPECT_NE(server_, nullptr) << "cannot serve on " << socket;
  }
  ~FakeControllerServer() {
    if (server_ == nullptr) return;
    // Cancels the agent's stream, as a controller going away does.
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(100));
    server_->Wait();
  }
  FakeController& controller() { return service_; }

 private:
  FakeController service_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace pyservice::testing

#endif  // PYSERVICE_TESTS_TESTING_FAKE_AGENT_CONTROLLER_H_

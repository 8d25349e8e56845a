// An AgentConnection that records what the fleet sends and whether it was
// closed, for tests of the registry and the fleet without gRPC.
#ifndef PYSERVICE_TESTS_TESTING_FAKE_AGENT_CONNECTION_H_
#define PYSERVICE_TESTS_TESTING_FAKE_AGENT_CONNECTION_H_

#include <optional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "controller/fleet/agent_connection.h"

namespace pyservice::testing {

class FakeAgentConnection final : public controller::fleet::AgentConnection {
 public:
  void Send(v1::ControllerMessage message) override {
    absl::MutexLock lock(&mu_);
    if (!closed_.has_value()) sent_.push_back(std::move(message));
  }
  void Close(const grpc::Status& status) override {
    absl::MutexLock lock(&mu_);
    if (!closed_.has_value()) closed_ = status;
  }

  std::vector<v1::ControllerMessage> sent() const {
    absl::MutexLock lock(&mu_);
    return sent_;
  }
  std::optional<grpc::Status> closed() const {
    absl::MutexLock lock(&mu_);
    return closed_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<v1::ControllerMessage> sent_ ABSL_GUARDED_BY(mu_);
  std::optional<grpc::Status> closed_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pyservice::testing

#endif  // PYSERVICE_TESTS_TESTING_FAKE_AGENT_CONNECTION_H_

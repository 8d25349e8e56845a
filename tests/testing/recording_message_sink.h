// A MessageSink that keeps what it is given, for tests of the agent's
// parts that report to the controller; WaitFor blocks until a condition on
// the messages holds (with a generous real-time bound, so a broken test
// fails instead of hanging).
#ifndef PYSERVICE_TESTS_TESTING_RECORDING_MESSAGE_SINK_H_
#define PYSERVICE_TESTS_TESTING_RECORDING_MESSAGE_SINK_H_

#include <functional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/daemon/message_sink.h"

namespace pyservice::testing {

class RecordingMessageSink final : public agent::MessageSink {
 public:
  void Send(v1::AgentMessage message) override {
    absl::MutexLock lock(&mu_);
    messages_.push_back(std::move(message));
  }

  std::vector<v1::AgentMessage> Messages() {
    absl::MutexLock lock(&mu_);
    return messages_;
  }

  // True once `holds` is true of the messages; false after a minute.
  bool WaitFor(const std::function<bool(const std::vector<v1::AgentMessage>&)>& holds) {
    absl::MutexLock lock(&mu_);
    auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return holds(messages_); };
    return mu_.AwaitWithTimeout(absl::Condition(&ready), absl::Minutes(1));
  }

 private:
  absl::Mutex mu_;
  std::vector<v1::AgentMessage> messages_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pyservice::testing

#endif  // PYSERVICE_TESTS_TESTING_RECORDING_MESSAGE_SINK_H_

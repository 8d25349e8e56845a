// A fake pyservice-agent for tests of the controller's fleet side: it opens
// the real AgentService.Connect stream over gRPC, says Hello, and answers
// DeployRequests and RemoveRequests the way the protocol says (step
// progress, none for a prepare_only request, then a DeployResult with what
// runs now), without touching the
// machine. It can be told to fail an app at a step, to hold deploys after
// their first step until released, or to get stuck in a deploy until the
// controller cancels it (CancelRequest).
//
// One reader thread per fake agent (a test has a handful); the real
// controller side is what must not use threads per agent.
#ifndef PYSERVICE_TESTS_TESTING_FAKE_AGENT_H_
#define PYSERVICE_TESTS_TESTING_FAKE_AGENT_H_

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/sync_stream.h>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "pyservice/v1/agent.grpc.pb.h"

namespace pyservice::testing {

inline constexpr absl::Duration kFakeAgentTimeout = absl::Seconds(10);

struct FakeAgentOptions {
  // Controller address: "unix:/path" or "127.0.0.1:port".
  std::string address;
  std::string host;
  std::map<std::string, std::string> labels;
  std::string agent_version = "fake-1.0";
  // What it runs at start, reported in Hello (e.g. another FakeAgent's
  // apps() to play an agent restarting with its state dir).
  std::map<std::string, v1::AppHealth> apps;
  // Client metadata on the Connect call (the tests' identity seam).
  std::vector<std::pair<std::string, std::string>> metadata;
  // Pipeline steps reported for every deploy, in order.
  std::vector<std::string> steps = {"checkout", "environment", "units", "activate",
                                    "verify"};
  // Transport security, e.g. from tls::MakeChannelCredentials(). Null:
  // plaintext.
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  // With TLS: the name to verify the controller's certificate against.
  std::string tls_server_name;
  // A channel to share with other fake agents (one connection, several
  // streams). Null: a channel of its own to `address`.
  std::shared_ptr<grpc::Channel> channel;
  // Send a raw first message instead of Hello (protocol tests).
  std::optional<v1::AgentMessage> first_message;
};

class FakeAgent {
 public:
  // Connects and sends Hello (or options.first_message). Does not wait for
  // the Welcome: see WaitForWelcome.
  static absl::StatusOr<std::unique_ptr<FakeAgent>> Start(FakeAgentOptions options);
  FakeAgent(const FakeAgent&) = delete;
  FakeAgent& operator=(const FakeAgent&) = delete;
  // Cancels the stream and joins the reader.
  ~FakeAgent();

  const std::string& host() const { return options_.host; }

  // Behaviour for later deploys of `app`: fail at `step` with `error` (the
  // agent rolls back: what ran before keeps running).
  void FailApp(const std::string& app, const std::string& step, const std::string& error);
  // Behaviour for later deploys of `app` at `tag` only (a broken release).
  void FailTag(const std::string& app, const std::string& tag, const std::string& step,
               const std::string& error);
  // Later deploys of `app` at `tag` get stuck in their first step — no
  // result, the stream still read — until a CancelRequest for them arrives,
  // which is answered as the real agent does: failed, "STEP: canceled",
  // what ran before still running.
  void StickTag(const std::string& app, const std::string& tag);
  // Later deploys of `app` succeed again.
  void SucceedApp(const std::string& app);
  // Later prepare_only requests report their steps too, as older agents
  // did (current ones send the result alone).
  void ReportPrepareSteps();
  // While held, a deploy reports its first step as running, then waits
  // for ReleaseDeploys().
  void HoldDeploys();
  void ReleaseDeploys();

  // Agent → controller messages.
  void SendHeartbeat();
  void SendHealth(const v1::AppHealth& health);
  void SendRaw(const v1::AgentMessage& message);
  // Half-closes the stream, as an agent stopping cleanly.
  void CloseStream();

  // The Welcome, or the status the stream ended with first.
  absl::StatusOr<v1::Welcome> WaitForWelcome(absl::Duration timeout = kFakeAgentTimeout);
  // The status the controller ended the stream with.
  absl::StatusOr<grpc::Status> WaitForEnd(absl::Duration timeout = kFakeAgentTimeout);
  // The first DeployRequest / RemoveRequest of `app` received after the
  // `skip` earlier ones.
  absl::StatusOr<v1::DeployRequest> WaitForDeploy(const std::string& app, int skip = 0,
                                                  absl::Duration timeout = kFakeAgentTimeout);
  absl::StatusOr<v1::RemoveRequest> WaitForRemove(const std::string& app,
                                                  absl::Duration timeout = kFakeAgentTimeout);
  // The first CancelRequest received.
  absl::StatusOr<v1::CancelRequest> WaitForCancel(absl::Duration timeout = kFakeAgentTimeout);
  // Deploys stuck now (StickTag), by deploy id.
  int StuckCount() const;
  // Waits until `app` runs revision `revision` (0: until it runs nothing).
  absl::Status WaitForRevision(const std::string& app, uint32_t revision,
                               absl::Duration timeout = kFakeAgentTimeout);

  // Everything received so far.
  std::vector<v1::ControllerMessage> received() const;
  int DeployCount(const std::string& app) const;
  int RemoveCount(const std::string& app) const;
  // What it runs now.
  std::map<std::string, v1::AppHealth> apps() const;
  bool ended() const;

 private:
  explicit FakeAgent(FakeAgentOptions options);
  void ReadLoop();
  void Deploy(const v1::DeployRequest& request);
  void Remove(const v1::RemoveRequest& request);
  void Cancel(const v1::CancelRequest& request);
  bool IsStuck(uint64_t deploy_id) const;
  void Write(const v1::AgentMessage& message);
  void Progress(const std::string& app, uint64_t deploy_id, const std::string& step,
                v1::StepState state);

  const FakeAgentOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::AgentService::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::AgentMessage, v1::ControllerMessage>> stream_;
  // Serializes writes: the reader thread answers deploys while the test
  // sends heartbeats.
  absl::Mutex write_mu_;
  bool writes_done_ ABSL_GUARDED_BY(write_mu_) = false;

  mutable absl::Mutex mu_;
  std::vector<v1::ControllerMessage> received_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, v1::AppHealth> apps_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::pair<std::string, std::string>> failures_ ABSL_GUARDED_BY(mu_);
  // By (app, tag).
  std::map<std::pair<std::string, std::string>, std::pair<std::string, std::string>> tag_failures_
      ABSL_GUARDED_BY(mu_);
  bool hold_ ABSL_GUARDED_BY(mu_) = false;
  bool prepare_progress_ ABSL_GUARDED_BY(mu_) = false;
  std::set<std::pair<std::string, std::string>> stuck_tags_ ABSL_GUARDED_BY(mu_);
  // Stuck deploys: deploy id → (app, step).
  std::map<uint64_t, std::pair<std::string, std::string>> stuck_ ABSL_GUARDED_BY(mu_);
  std::optional<grpc::Status> end_ ABSL_GUARDED_BY(mu_);
  uint64_t heartbeats_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread reader_;
};

}  // namespace pyservice::testing

#endif  // PYSERVICE_TESTS_TESTING_FAKE_AGENT_H_

#include "agent/daemon/agent_metrics.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pyservice::agent {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class RecordingSink final : public MessageSink {
 public:
  void Send(v1::AgentMessage message) override { sent.push_back(std::move(message)); }
  std::vector<v1::AgentMessage> sent;
};

class AgentMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<AgentMetrics>> registered = AgentMetrics::Register(registry_);
    ASSERT_TRUE(registered.ok()) << registered.status();
    metrics_ = *std::move(registered);
  }
  metrics::Registry registry_;
  std::unique_ptr<AgentMetrics> metrics_;
};

TEST_F(AgentMetricsTest, MeteredSinkCountsEachMessageAndPassesItOn) {
  RecordingSink next;
  MeteredSink sink(next, metrics_.get());
  v1::AgentMessage progress;
  progress.mutable_progress()->set_step("checkout");
  progress.mutable_progress()->set_state(v1::STEP_STATE_DONE);
  progress.mutable_progress()->set_elapsed_ms(250);
  sink.Send(progress);
  v1::AgentMessage result;
  result.mutable_result()->set_app("web");
  result.mutable_result()->set_ok(false);
  result.mutable_result()->set_rolled_back(true);
  result.mutable_result()->mutable_live()->set_app("web");
  result.mutable_result()->mutable_live()->set_health(v1::HEALTH_STATE_HEALTHY);
  sink.Send(result);
  EXPECT_EQ(next.sent.size(), 2u);
  const std::string text = registry_.Render();
  EXPECT_THAT(text, HasSubstr("pyservice_agent_step_duration_seconds_bucket{step=\"checkout\","
                              "result=\"done\",le=\"0.25\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("pyservice_agent_deploys_total{app=\"web\",result=\"rolled_back\"} "
                              "1\n"));
  EXPECT_THAT(text, HasSubstr("pyservice_agent_app_health{app=\"web\",state=\"healthy\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("pyservice_agent_app_health{app=\"web\",state=\"failed\"} 0\n"));
}

TEST_F(AgentMetricsTest, RunningStepsAreNotTimed) {
  v1::AgentMessage progress;
  progress.mutable_progress()->set_step("checkout");
  progress.mutable_progress()->set_state(v1::STEP_STATE_RUNNING);
  metrics_->Record(progress);
  EXPECT_THAT(registry_.Render(), Not(HasSubstr("step=\"checkout\"")));
}

TEST_F(AgentMetricsTest, LinkStateAndWelcomedSessionsAreCounted) {
  EXPECT_THAT(registry_.Render(), HasSubstr("pyservice_agent_controller_connected 0\n"));
  metrics_->LinkChanged(true);
  metrics_->LinkChanged(false);
  metrics_->LinkChanged(true);
  const std::string text = registry_.Render();
  EXPECT_THAT(text, HasSubstr("pyservice_agent_controller_connected 1\n"));
  EXPECT_THAT(text, HasSubstr("pyservice_agent_controller_sessions_total 2\n"));
}

}  // namespace
}  // namespace pyservice::agent

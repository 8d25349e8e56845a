#include "cli/commands/rollout_format.h"

#include <string>

#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace pyservice::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

v1::Rollout Parse(const std::string& text) {
  v1::Rollout rollout;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &rollout)) << text;
  return rollout;
}

// A canary rollout of 4 hosts: the canary healthy, wave 1 deploying, wave 2
// preparing ahead.
v1::Rollout Running() {
  return Parse(R"pb(
    app: "hello" id: 7 from_revision: 1 to_revision: 2 tag: "v2" from_tag: "v1"
    state: ROLLOUT_STATE_RUNNING cause: "rollout" current_wave: 1
    hosts: 4 healthy: 1
    strategy { canary { percent: 25 } batch { count: 2 } auto_rollback: true }
    waves {
      index: 0 canary: true
      hosts { host: "h1" state: ROLLOUT_HOST_STATE_HEALTHY connected: true }
    }
    waves {
      index: 1
      hosts {
        host: "h2" state: ROLLOUT_HOST_STATE_DEPLOYING connected: true
        step: "checkout" step_state: STEP_STATE_RUNNING step_elapsed_ms: 1200
      }
      hosts { host: "h3" state: ROLLOUT_HOST_STATE_PENDING connected: true
              prepare: PREPARE_STATE_PREPARED }
    }
    waves {
      index: 2
      hosts { host: "h4" state: ROLLOUT_HOST_STATE_PENDING connected: true
              prepare: PREPARE_STATE_PREPARING }
    }
  )pb");
}

TEST(RolloutFormatTest, StateNames) {
  EXPECT_EQ(RolloutStateName(v1::ROLLOUT_STATE_PENDING), "pending");
  EXPECT_EQ(RolloutStateName(v1::ROLLOUT_STATE_RUNNING), "running");
  EXPECT_EQ(RolloutStateName(v1::ROLLOUT_STATE_AWAITING_PROMOTION), "awaiting_promotion");
  EXPECT_EQ(RolloutStateName(v1::ROLLOUT_STATE_PAUSED), "paused");
  EXPECT_EQ(RolloutStateName(v1::ROLLOUT_STATE_SUCCEEDED), "succeeded");
  EXPECT_EQ(RolloutStateName(v1::ROLLOUT_STATE_FAILED), "failed");
  EXPECT_EQ(RolloutStateName(v1::ROLLOUT_STATE_ABORTED), "aborted");
  EXPECT_EQ(RolloutStateName(v1::ROLLOUT_STATE_ROLLED_BACK), "rolled_back");
  EXPECT_EQ(RolloutStateName(v1::ROLLOUT_STATE_UNSPECIFIED), "unknown");
  EXPECT_EQ(RolloutHostStateName(v1::ROLLOUT_HOST_STATE_PENDING), "pending");
  EXPECT_EQ(RolloutHostStateName(v1::ROLLOUT_HOST_STATE_DEPLOYING), "deploying");
  EXPECT_EQ(RolloutHostStateName(v1::ROLLOUT_HOST_STATE_VERIFYING), "verifying");
  EXPECT_EQ(RolloutHostStateName(v1::ROLLOUT_HOST_STATE_HEALTHY), "healthy");
  EXPECT_EQ(RolloutHostStateName(v1::ROLLOUT_HOST_STATE_FAILED), "failed");
  EXPECT_EQ(RolloutHostStateName(v1::ROLLOUT_HOST_STATE_ROLLED_BACK), "rolled_back");
  EXPECT_EQ(PrepareStateName(v1::PREPARE_STATE_PREPARED), "prepared");
  EXPECT_EQ(PrepareStateName(v1::PREPARE_STATE_PREPARING), "preparing");
}

TEST(RolloutFormatTest, Document_DocumentedKeysFirstAndInOrder) {
  const Document document = RolloutDocument(Running());
  std::vector<std::string> keys;
  for (const auto& [key, value] : document.fields()) keys.push_back(key);
  ASSERT_GE(keys.size(), 7u);
  EXPECT_EQ(std::vector<std::string>(keys.begin(), keys.begin() + 7),
            (std::vector<std::string>{"app", "id", "from_revision", "to_revision", "tag",
                                      "state", "waves"}));
  const Document& wave = document.Find("waves")->items()[0];
  ASSERT_GE(wave.fields().size(), 3u);
  EXPECT_EQ(wave.fields()[0].first, "index");
  EXPECT_EQ(wave.fields()[1].first, "canary");
  EXPECT_EQ(wave.fields()[2].first, "hosts");
  const Document& host = wave.Find("hosts")->items()[0];
  EXPECT_EQ(host.fields()[0].first, "host");
  EXPECT_EQ(host.fields()[1].first, "state");
}

TEST(RolloutFormatTest, Document_Json) {
  const std::string json = ToCompactJson(RolloutDocument(Running()));
  EXPECT_THAT(json, HasSubstr(R"({"app":"hello","id":7,"from_revision":1,"to_revision":2,)"
                              R"("tag":"v2","state":"running","waves":[{"index":0,"canary":true,)"
                              R"("hosts":[{"host":"h1","state":"healthy","connected":true,)"));
  EXPECT_THAT(json, HasSubstr(R"({"host":"h3","state":"pending","connected":true,"step":"",)"));
  EXPECT_THAT(json, HasSubstr(R"("prepare":"prepared")"));
  EXPECT_THAT(json, HasSubstr(R"("from_tag":"v1","message":"","cause":"rollout")"));
  EXPECT_THAT(json, HasSubstr(R"("strategy":{"canary":"25%","batch":"2",)"));
}

TEST(RolloutFormatTest, ProgressBar) {
  const v1::Rollout rollout = Running();
  EXPECT_EQ(WaveProgressBar(rollout.waves(0)), "[########] 1/1 healthy");
  EXPECT_EQ(WaveProgressBar(rollout.waves(1)), "[--------] 0/2 healthy");
  v1::RolloutWave wave;
  for (int i = 0; i < 8; ++i) {
    wave.add_hosts()->set_state(i < 3 ? v1::ROLLOUT_HOST_STATE_HEALTHY
                                      : v1::ROLLOUT_HOST_STATE_PENDING);
  }
  EXPECT_EQ(WaveProgressBar(wave), "[###-----] 3/8 healthy");
}

TEST(RolloutFormatTest, Text_ShowsWavesHostsStepsAndPrepareAhead) {
  const std::string text = RolloutText(Running());
  EXPECT_THAT(text, HasSubstr("rollout 7 of hello: running\n"));
  EXPECT_THAT(text, HasSubstr("Wave 0 (canary)  [########] 1/1 healthy\n"));
  EXPECT_THAT(text, HasSubstr("Wave 1  [--------] 0/2 healthy  <- current\n"));
  EXPECT_THAT(text, HasSubstr("checkout running"));
  EXPECT_THAT(text, HasSubstr("1.2s"));
  EXPECT_THAT(text, HasSubstr("prepared"));
  EXPECT_THAT(text, HasSubstr("preparing"));
  EXPECT_THAT(text, HasSubstr("canary 25%, batch 2, promote manually, auto rollback"));
  // Hosts follow their wave's line.
  EXPECT_LT(text.find("Wave 1"), text.find("h2"));
  EXPECT_LT(text.find("h3"), text.find("Wave 2"));
}

TEST(RolloutFormatTest, HostLine) {
  const v1::Rollout rollout = Running();
  EXPECT_EQ(RolloutHostLine(rollout.waves(0), rollout.waves(0).hosts(0)), "h1 (canary): healthy");
  EXPECT_EQ(RolloutHostLine(rollout.waves(1), rollout.waves(1).hosts(0)),
            "h2 (wave 1): deploying: checkout running");
  EXPECT_EQ(RolloutHostLine(rollout.waves(1), rollout.waves(1).hosts(1)),
            "h3 (wave 1): pending, prepared");
  v1::RolloutHost failed;
  failed.set_host("h5");
  failed.set_state(v1::ROLLOUT_HOST_STATE_FAILED);
  failed.set_failed_step("verify");
  failed.set_error("unit hello-web.service failed");
  EXPECT_EQ(RolloutHostLine(rollout.waves(1), failed),
            "h5 (wave 1): failed at verify: unit hello-web.service failed (disconnected)");
  // Rolled back after failing: the reason stays visible.
  failed.set_state(v1::ROLLOUT_HOST_STATE_ROLLED_BACK);
  failed.set_connected(true);
  failed.clear_failed_step();
  failed.set_error("failed at step verify: hello-web is not active");
  EXPECT_EQ(RolloutHostLine(rollout.waves(1), failed),
            "h5 (wave 1): rolled_back (failed at step verify: hello-web is not active)");
}

TEST(RolloutFormatTest, LineRenderer_PrintsEachChangeOnce) {
  RolloutLineRenderer renderer;
  v1::Rollout rollout = Running();
  const std::string first = renderer.Update(rollout);
  EXPECT_THAT(first, HasSubstr("rollout 7 of hello: running\n"));
  EXPECT_THAT(first, HasSubstr("rollout 7 of hello: wave 1 of 3: h2, h3\n"));
  EXPECT_THAT(first, HasSubstr("h1 (canary): healthy\n"));
  EXPECT_THAT(first, HasSubstr("h4 (wave 2): pending, preparing\n"));
  // The same snapshot again, and only a running step's elapsed time moved:
  // nothing to print.
  EXPECT_EQ(renderer.Update(rollout), "");
  rollout.mutable_waves(1)->mutable_hosts(0)->set_step_elapsed_ms(5000);
  EXPECT_EQ(renderer.Update(rollout), "");
  // One host changes: one line.
  rollout.mutable_waves(2)->mutable_hosts(0)->set_prepare(v1::PREPARE_STATE_PREPARED);
  EXPECT_EQ(renderer.Update(rollout), "h4 (wave 2): pending, prepared\n");
  rollout.mutable_waves(1)->mutable_hosts(0)->set_state(v1::ROLLOUT_HOST_STATE_VERIFYING);
  rollout.mutable_waves(1)->mutable_hosts(0)->set_step("verify");
  EXPECT_EQ(renderer.Update(rollout), "h2 (wave 1): verifying: verify running\n");
  // The rollout's state: one line with its message.
  rollout.set_state(v1::ROLLOUT_STATE_PAUSED);
  rollout.set_message("paused by operator");
  EXPECT_EQ(renderer.Update(rollout), "rollout 7 of hello: paused: paused by operator\n");
  EXPECT_EQ(renderer.Update(rollout), "");
  // A final state with another current wave: the state line, no wave line.
  rollout.set_state(v1::ROLLOUT_STATE_SUCCEEDED);
  rollout.clear_message();
  rollout.set_current_wave(2);
  EXPECT_EQ(renderer.Update(rollout), "rollout 7 of hello: succeeded\n");
}

TEST(RolloutFormatTest, StopFor) {
  v1::Rollout rollout = Running();
  EXPECT_EQ(StopFor(rollout), RolloutStop::kContinue);
  rollout.set_state(v1::ROLLOUT_STATE_AWAITING_PROMOTION);
  EXPECT_EQ(StopFor(rollout), RolloutStop::kAwaitingPromotion);
  rollout.set_state(v1::ROLLOUT_STATE_PAUSED);
  EXPECT_EQ(StopFor(rollout), RolloutStop::kPaused);
  // Final but hosts still moving (rolling back): keep following.
  rollout.set_state(v1::ROLLOUT_STATE_ROLLED_BACK);
  EXPECT_EQ(StopFor(rollout), RolloutStop::kContinue);
  rollout.set_settled(true);
  EXPECT_EQ(StopFor(rollout), RolloutStop::kFailed);
  rollout.set_state(v1::ROLLOUT_STATE_ABORTED);
  EXPECT_EQ(StopFor(rollout), RolloutStop::kFailed);
  rollout.set_state(v1::ROLLOUT_STATE_FAILED);
  EXPECT_EQ(StopFor(rollout), RolloutStop::kFailed);
  rollout.set_state(v1::ROLLOUT_STATE_SUCCEEDED);
  EXPECT_EQ(StopFor(rollout), RolloutStop::kSucceeded);
}

TEST(RolloutFormatTest, Result_ExitRules) {
  v1::Rollout rollout = Running();
  rollout.set_settled(true);
  rollout.set_state(v1::ROLLOUT_STATE_SUCCEEDED);
  EXPECT_TRUE(RolloutResult(rollout).ok());
  rollout.set_state(v1::ROLLOUT_STATE_AWAITING_PROMOTION);
  EXPECT_TRUE(RolloutResult(rollout).ok());
  rollout.set_state(v1::ROLLOUT_STATE_PAUSED);
  EXPECT_TRUE(RolloutResult(rollout).ok());
  rollout.set_state(v1::ROLLOUT_STATE_RUNNING);
  EXPECT_EQ(RolloutResult(rollout).code(), absl::StatusCode::kUnavailable);

  rollout.set_state(v1::ROLLOUT_STATE_ROLLED_BACK);
  rollout.set_message("wave 1 failed its health gate");
  v1::RolloutHost* host = rollout.mutable_waves(1)->mutable_hosts(0);
  host->set_state(v1::ROLLOUT_HOST_STATE_FAILED);
  host->set_failed_step("verify");
  host->set_error("unit hello-web.service failed\nexit 1");
  const absl::Status status = RolloutResult(rollout);
  EXPECT_EQ(status.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(status.message(),
            "rollout 7 of hello rolled_back: wave 1 failed its health gate; "
            "h2: failed at verify: unit hello-web.service failed exit 1");
  for (v1::RolloutState state : {v1::ROLLOUT_STATE_FAILED, v1::ROLLOUT_STATE_ABORTED}) {
    rollout.set_state(state);
    EXPECT_FALSE(RolloutResult(rollout).ok());
  }
}

TEST(RolloutFormatTest, Summary) {
  v1::Rollout rollout = Running();
  rollout.set_state(v1::ROLLOUT_STATE_AWAITING_PROMOTION);
  EXPECT_EQ(RolloutSummary(rollout),
            "canary healthy: 1/1; promote with `pyctl rollout promote hello`\n");
  rollout.set_state(v1::ROLLOUT_STATE_PAUSED);
  EXPECT_EQ(RolloutSummary(rollout),
            "rollout 7 of hello paused; resume with `pyctl rollout resume hello`\n");
  rollout.set_state(v1::ROLLOUT_STATE_SUCCEEDED);
  rollout.set_healthy(4);
  EXPECT_EQ(RolloutSummary(rollout),
            "rollout 7 of hello succeeded: 4/4 hosts healthy on revision 2 (v2)\n");
  rollout.set_state(v1::ROLLOUT_STATE_ABORTED);
  rollout.set_message("aborted by operator");
  EXPECT_THAT(RolloutSummary(rollout), HasSubstr("rollout 7 of hello aborted: aborted by operator\n"));
  EXPECT_THAT(RolloutSummary(rollout), Not(HasSubstr("h1")));
}

}  // namespace
}  // namespace pyservice::cli

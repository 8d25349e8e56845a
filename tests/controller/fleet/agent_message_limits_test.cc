#include "controller/fleet/agent_message_limits.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pyservice::controller::fleet {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

v1::AgentMessage HelloFrom(const std::string& host) {
  v1::AgentMessage message;
  message.mutable_hello()->set_host(host);
  return message;
}

TEST(AgentMessageLimitsTest, AnOrdinaryHelloPasses) {
  v1::AgentMessage message = HelloFrom("web-1.example");
  (*message.mutable_hello()->mutable_labels())["role"] = "web";
  v1::AppHealth& app = *message.mutable_hello()->add_apps();
  app.set_app("hello");
  app.add_units()->set_unit("hello-web.service");
  EXPECT_TRUE(ValidateAgentMessage(message).ok());
}

TEST(AgentMessageLimitsTest, ALongHostNameIsRefusedNamingTheFieldAndSizeNotTheValue) {
  const absl::Status status = ValidateAgentMessage(HelloFrom(std::string(4 << 20, 'h')));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "hello.host: 4194304 bytes, the limit is 253");
}

TEST(AgentMessageLimitsTest, AHostNameWithControlCharactersIsQuotedEscaped) {
  const absl::Status status = ValidateAgentMessage(HelloFrom("web\n[error] forged"));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("web\\n[error] forged"));
  EXPECT_THAT(status.message(), Not(HasSubstr("\n")));
}

TEST(AgentMessageLimitsTest, EveryBoundedFieldOfEveryKindIsNamedWhenOverItsLimit) {
  struct Case {
    std::string field;
    v1::AgentMessage message;
  };
  std::vector<Case> cases;
  {
    v1::AgentMessage m = HelloFrom("web-1");
    m.mutable_hello()->set_agent_version(std::string(200, 'v'));
    cases.push_back({"hello.agent_version: 200 bytes", m});
  }
  {
    v1::AgentMessage m = HelloFrom("web-1");
    (*m.mutable_hello()->mutable_labels())["role"] = std::string(300, 'l');
    cases.push_back({"hello.labels[role]: 300 bytes", m});
  }
  {
    v1::AgentMessage m = HelloFrom("web-1");
    for (int i = 0; i < 1001; ++i) m.mutable_hello()->add_apps()->set_app("a");
    cases.push_back({"hello.apps: 1001 entries", m});
  }
  {
    v1::AgentMessage m = HelloFrom("web-1");
    v1::AppHealth& app = *m.mutable_hello()->add_apps();
    app.set_app("hello");
    app.add_units()->set_unit("u");
    app.add_units()->set_sub_state(std::string(65, 's'));
    cases.push_back({"hello.apps[0].units[1].sub_state: 65 bytes", m});
  }
  {
    v1::AgentMessage m;
    m.mutable_health()->set_app(std::string(129, 'a'));
    cases.push_back({"health.app: 129 bytes", m});
  }
  {
    v1::AgentMessage m;
    m.mutable_health()->set_app("hello");
    m.mutable_health()->set_message(std::string(5000, 'm'));
    cases.push_back({"health.message: 5000 bytes", m});
  }
  {
    v1::AgentMessage m;
    m.mutable_health()->set_app("hello");
    for (int i = 0; i < 257; ++i) m.mutable_health()->add_units();
    cases.push_back({"health.units: 257 entries", m});
  }
  {
    v1::AgentMessage m;
    m.mutable_health()->set_app("hello");
    m.mutable_health()->add_units()->set_result(std::string(65, 'l'));
    cases.push_back({"health.units[0].result: 65 bytes", m});
  }
  {
    v1::AgentMessage m;
    m.mutable_health()->set_app("hello");
    for (int i = 0; i < 1025; ++i) m.mutable_health()->add_drift()->set_path("/p");
    cases.push_back({"health.drift: 1025 entries", m});
  }
  {
    v1::AgentMessage m;
    m.mutable_health()->set_app("hello");
    m.mutable_health()->add_drift()->set_path(std::string(4097, 'a'));
    cases.push_back({"health.drift[0].path: 4097 bytes", m});
  }
  {
    v1::AgentMessage m;
    m.mutable_health()->set_app("hello");
    m.mutable_health()->add_drift()->set_reason(std::string(4353, 'e'));
    cases.push_back({"health.drift[0].reason: 4353 bytes", m});
  }
  {
    v1::AgentMessage m;
    m.mutable_progress()->set_app("hello");
    m.mutable_progress()->set_step(std::string(65, 's'));
    cases.push_back({"progress.step: 65 bytes", m});
  }
  {
    v1::AgentMessage m;
    m.mutable_progress()->set_app("hello");
    m.mutable_progress()->set_message(std::string(5000, 'm'));
    cases.push_back({"progress.message: 5000 bytes", m});
  }
  {
    v1::AgentMessage m;
    m.mutable_result()->set_app("hello");
    m.mutable_result()->set_error(std::string(17000, 'e'));
    cases.push_back({"result.error: 17000 bytes", m});
  }
  {
    v1::AgentMessage m;
    m.mutable_result()->set_app("hello");
    m.mutable_result()->mutable_live()->set_app("hello");
    m.mutable_result()->mutable_live()->set_tag(std::string(300, 't'));
    cases.push_back({"result.live.tag: 300 bytes", m});
  }
  {
    v1::AgentMessage m;
    for (int i = 0; i < 201; ++i) m.mutable_logs()->add_entries();
    cases.push_back({"logs.entries: 201 entries", m});
  }
  {
    v1::AgentMessage m;
    m.mutable_logs()->add_entries();
    m.mutable_logs()->add_entries()->set_message(std::string(5000, 'm'));
    cases.push_back({"logs.entries[1].message: 5000 bytes", m});
  }
  {
    v1::AgentMessage m;
    m.mutable_logs()->add_entries()->set_unit(std::string(300, 'u'));
    cases.push_back({"logs.entries[0].unit: 300 bytes", m});
  }
  {
    v1::AgentMessage m;
    m.mutable_logs()->set_error(std::string(5000, 'e'));
    cases.push_back({"logs.error: 5000 bytes", m});
  }
  for (const Case& c : cases) {
    const absl::Status status = ValidateAgentMessage(c.message);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.field;
    EXPECT_THAT(status.message(), HasSubstr(c.field));
    // Never the value.
    for (char x : std::string("vlsametu")) {
      EXPECT_THAT(status.message(), Not(HasSubstr(std::string(20, x)))) << c.field;
    }
  }
}

TEST(AgentMessageLimitsTest, AResultWithoutALiveReleaseAndAHeartbeatPass) {
  v1::AgentMessage result;
  result.mutable_result()->set_app("hello");
  EXPECT_TRUE(ValidateAgentMessage(result).ok());
  v1::AgentMessage heartbeat;
  heartbeat.mutable_heartbeat()->set_sequence(1);
  EXPECT_TRUE(ValidateAgentMessage(heartbeat).ok());
}

// The agent cuts its free text before sending (common/api), so a real
// agent's long error or message never costs it its stream here.
TEST(AgentMessageLimitsTest, WhatAnAgentFitsToTheLimitsOfEveryKindPasses) {
  const std::string huge(200 * 1024, 'x');
  v1::AgentMessage progress;
  progress.mutable_progress()->set_app("hello");
  progress.mutable_progress()->set_step("environment");
  progress.mutable_progress()->set_message(huge);
  v1::AgentMessage result;
  result.mutable_result()->set_app("hello");
  result.mutable_result()->set_failed_step("environment");
  result.mutable_result()->set_error(huge);
  result.mutable_result()->mutable_live()->set_app("hello");
  result.mutable_result()->mutable_live()->set_message(huge);
  v1::AgentMessage health;
  health.mutable_health()->set_app("hello");
  health.mutable_health()->set_message(huge);
  v1::AgentMessage hello = HelloFrom("web-1");
  hello.mutable_hello()->add_apps()->set_app("hello");
  hello.mutable_hello()->mutable_apps(0)->set_message(huge);
  v1::AgentMessage logs;
  logs.mutable_logs()->add_entries()->set_message(huge);
  logs.mutable_logs()->set_error(huge);
  for (v1::AgentMessage* message : {&progress, &result, &health, &hello, &logs}) {
    ASSERT_FALSE(ValidateAgentMessage(*message).ok()) << message->ShortDebugString().substr(0, 80);
    FitAgentMessage(*message);
    EXPECT_TRUE(ValidateAgentMessage(*message).ok()) << ValidateAgentMessage(*message);
  }
  EXPECT_THAT(result.result().error(), HasSubstr("bytes cut]"));
}

// A cut lands between UTF-8 characters, so what the controller shows and
// logs stays valid text.
TEST(AgentMessageLimitsTest, FittingNeverSplitsAUtf8Character) {
  std::string text;
  while (text.size() < 3 * AgentMessageLimits::kMessage) text += "\xc3\xa9";  // é
  for (size_t extra = 0; extra < 2; ++extra) {
    v1::AgentMessage message;
    message.mutable_progress()->set_message(std::string(extra, 'a') + text);
    FitAgentMessage(message);
    const std::string& fitted = message.progress().message();
    ASSERT_LE(fitted.size(), AgentMessageLimits::kMessage);
    const size_t note = fitted.find(" [\xe2\x80\xa6 ");
    ASSERT_NE(note, std::string::npos);
    // Every é before the note is whole.
    EXPECT_EQ((note - extra) % 2, 0u) << "extra " << extra;
  }
}

}  // namespace
}  // namespace pyservice::controller::fleet

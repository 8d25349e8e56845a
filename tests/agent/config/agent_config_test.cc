#include "agent/config/agent_config.h"

#include <fstream>

#include "agent/daemon/controller_connection.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace pyservice::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

TEST(AgentConfigTest, EveryKey) {
  absl::StatusOr<AgentConfig> config = ParseAgentConfig(
      "controller: unix:/run/pyservice/controller.sock\n"
      "host: web-1\n"
      "labels: {role: web, zone: a}\n"
      "state_dir: /srv/agent\n"
      "pip_options: [--no-index, --find-links, /srv/wheels]\n"
      "log_level: debug\n",
      "agent.yaml", AgentConfig());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->controller, "unix:/run/pyservice/controller.sock");
  EXPECT_EQ(config->host, "web-1");
  EXPECT_THAT(config->labels, UnorderedElementsAre(Pair("role", "web"), Pair("zone", "a")));
  EXPECT_EQ(config->state_dir, "/srv/agent");
  EXPECT_THAT(config->pip_options, ElementsAre("--no-index", "--find-links", "/srv/wheels"));
  EXPECT_EQ(config->log_level, "debug");
}

TEST(AgentConfigTest, MetricsListenDefaultsToLoopbackAndEmptyTurnsItOff) {
  EXPECT_EQ(AgentConfig().metrics_listen, "127.0.0.1:9465");
  absl::StatusOr<AgentConfig> off =
      ParseAgentConfig("metrics: {listen: \"\"}\n", "agent.yaml", AgentConfig());
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_EQ(off->metrics_listen, "");
  absl::StatusOr<AgentConfig> typo =
      ParseAgentConfig("metrics: {lisen: x}\n", "agent.yaml", AgentConfig());
  ASSERT_FALSE(typo.ok());
  EXPECT_THAT(typo.status().message(), HasSubstr("agent.yaml:1:"));
  EXPECT_THAT(typo.status().message(), HasSubstr("lisen"));
}

TEST(AgentConfigTest, TlsKeys) {
  absl::StatusOr<AgentConfig> config = ParseAgentConfig(
      "tls_ca: /t/ca.crt\ntls_cert: /t/web-1.crt\ntls_key: /t/web-1.key\n"
      "tls_server_name: controller.example\ninsecure: true\n"
      "enrollment_token_file: /etc/pyservice/enroll.token\n",
      "agent.yaml", AgentConfig());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->enrollment_token_file, "/etc/pyservice/enroll.token");
  EXPECT_EQ(AgentConfig().enrollment_token_file, "") << "no token unless one is given";
  EXPECT_EQ(config->tls_ca, "/t/ca.crt");
  EXPECT_EQ(config->tls_cert, "/t/web-1.crt");
  EXPECT_EQ(config->tls_key, "/t/web-1.key");
  EXPECT_EQ(config->tls_server_name, "controller.example");
  EXPECT_TRUE(config->insecure);
  EXPECT_FALSE(AgentConfig().insecure);
  EXPECT_FALSE(ParseAgentConfig("tls_ca: ''\n", "agent.yaml", AgentConfig()).ok());
  EXPECT_FALSE(ParseAgentConfig("enrollment_token_file: ''\n", "agent.yaml", AgentConfig()).ok());
  EXPECT_FALSE(ParseAgentConfig("insecure: maybe\n", "agent.yaml", AgentConfig()).ok());
}

TEST(AgentConfigTest, KeepaliveKeysAreDurationsWithinTheirRange) {
  EXPECT_EQ(AgentConfig().keepalive_time, absl::Minutes(1));
  EXPECT_EQ(AgentConfig().keepalive_timeout, absl::Seconds(20));
  absl::StatusOr<AgentConfig> config =
      ParseAgentConfig("keepalive_time: 30s\nkeepalive_timeout: 500ms\n", "a.yaml", AgentConfig());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->keepalive_time, absl::Seconds(30));
  EXPECT_EQ(config->keepalive_timeout, absl::Milliseconds(500));
  for (const char* bad : {"keepalive_time: 10ms\n", "keepalive_time: 3h\n",
                          "keepalive_timeout: soon\n", "keepalive_timeout: 11m\n"}) {
    absl::StatusOr<AgentConfig> refused = ParseAgentConfig(bad, "a.yaml", AgentConfig());
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_THAT(refused.status().message(), HasSubstr("a.yaml:1:")) << bad;
    EXPECT_THAT(refused.status().message(), HasSubstr("want a duration from 100ms")) << bad;
  }
}

TEST(AgentConfigTest, DriftCheckIntervalIsADurationUpToADayAndZeroTurnsItOff) {
  EXPECT_EQ(AgentConfig().drift_check_interval, absl::Minutes(1));
  for (auto [text, want] : {std::pair{"drift_check_interval: 2s\n", absl::Seconds(2)},
                            std::pair{"drift_check_interval: 0s\n", absl::ZeroDuration()}}) {
    absl::StatusOr<AgentConfig> config = ParseAgentConfig(text, "a.yaml", AgentConfig());
    ASSERT_TRUE(config.ok()) << config.status();
    EXPECT_EQ(config->drift_check_interval, want) << text;
  }
  absl::StatusOr<AgentConfig> refused =
      ParseAgentConfig("drift_check_interval: 25h\n", "a.yaml", AgentConfig());
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("a.yaml:1:23: drift_check_interval"));
}

TEST(AgentConfigTest, AnEmptyFileKeepsTheBase) {
  AgentConfig base;
  base.controller = "127.0.0.1:7070";
  absl::StatusOr<AgentConfig> config = ParseAgentConfig("# nothing\n", "agent.yaml", base);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->controller, "127.0.0.1:7070");
  EXPECT_EQ(config->state_dir, "/var/lib/pyservice-agent");
  EXPECT_EQ(config->log_level, "info");
}

TEST(AgentConfigTest, UnknownKeysAreErrorsWithTheirPlace) {
  absl::StatusOr<AgentConfig> config = ParseAgentConfig(
      "controller: 127.0.0.1:7070\nlable: {role: web}\nfoo: 1\n", "agent.yaml", AgentConfig());
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(config.status().message()),
              HasSubstr("agent.yaml:2:1: lable: unknown key (did you mean \"labels\"?)"));
  EXPECT_THAT(std::string(config.status().message()),
              HasSubstr("agent.yaml:3:1: foo: unknown key"));
}

TEST(AgentConfigTest, BadValuesNameTheKeyAndPlace) {
  absl::StatusOr<AgentConfig> config = ParseAgentConfig(
      "controller: nowhere\n"
      "labels:\n  role: \"not ok\"\n"
      "state_dir: relative/dir\n"
      "log_level: loud\n",
      "agent.yaml", AgentConfig());
  ASSERT_FALSE(config.ok());
  const std::string message(config.status().message());
  EXPECT_THAT(message, HasSubstr("agent.yaml:1:13: controller: controller address \"nowhere\""));
  EXPECT_THAT(message, HasSubstr("agent.yaml:3:9: labels.role:"));
  EXPECT_THAT(message, HasSubstr("agent.yaml:4:12: state_dir:"));
  EXPECT_THAT(message, HasSubstr("agent.yaml:5:12: log_level: unknown level \"loud\""));
}

TEST(AgentConfigTest, TimeoutsAreDurationsWithDefaultsForTheOnesNotGiven) {
  absl::StatusOr<AgentConfig> config =
      ParseAgentConfig("timeouts:\n  fetch: 90s\n  environment: 1h30m\n", "agent.yaml",
                       AgentConfig());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->timeouts.fetch, absl::Seconds(90));
  EXPECT_EQ(config->timeouts.environment, absl::Minutes(90));
  EXPECT_EQ(config->timeouts.user, absl::Minutes(1));
}

TEST(AgentConfigTest, BadTimeoutsNameTheKeyAndPlace) {
  absl::StatusOr<AgentConfig> config = ParseAgentConfig(
      "timeouts:\n  fetch: soon\n  user: 0s\n  build: 1m\n", "agent.yaml", AgentConfig());
  ASSERT_FALSE(config.ok());
  const std::string message(config.status().message());
  EXPECT_THAT(message, HasSubstr("agent.yaml:2:10: timeouts.fetch: want a duration from 1s to 24h, "
                                 "like 15m (got \"soon\")"));
  EXPECT_THAT(message, HasSubstr("agent.yaml:3:9: timeouts.user: want a duration from 1s"));
  EXPECT_THAT(message, HasSubstr("timeouts.build"));
}

TEST(AgentConfigTest, SyntaxErrorsHaveTheirPlace) {
  absl::StatusOr<AgentConfig> config = ParseAgentConfig("labels: [\n", "agent.yaml", AgentConfig());
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("agent.yaml:"));
}

TEST(AgentConfigTest, LoadNamesTheFile) {
  testing::TempDir dir;
  const std::string path = dir.Join("agent.yaml");
  std::ofstream(path) << "host: h1\nhots: h2\n";
  absl::StatusOr<AgentConfig> config = LoadAgentConfig(path, AgentConfig());
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(std::string(config.status().message()), HasSubstr(path + ":2:1: hots:"));
  EXPECT_FALSE(LoadAgentConfig(dir.Join("missing.yaml"), AgentConfig()).ok());
}

TEST(LabelFlagTest, KeyEqualsValue) {
  absl::StatusOr<std::pair<std::string, std::string>> label = ParseLabelFlag("role=web");
  ASSERT_TRUE(label.ok()) << label.status();
  EXPECT_EQ(label->first, "role");
  EXPECT_EQ(label->second, "web");
  EXPECT_FALSE(ParseLabelFlag("role").ok());
  EXPECT_FALSE(ParseLabelFlag("=web").ok());
  EXPECT_FALSE(ParseLabelFlag("role=not ok").ok());
}

TEST(ControllerAddressTest, TheTwoFormsOfInterfacesMd) {
  for (const char* ok : {"127.0.0.1:7070", "controller.example.com:443", "[::1]:7070",
                         "unix:/run/pyservice/controller.sock"}) {
    EXPECT_TRUE(ValidateControllerAddress(ok).ok()) << ok;
  }
  for (const char* bad : {"", "nowhere", "host:", ":7070", "host:0", "host:70000", "host:http",
                          "unix:relative.sock", "unix:", "::1:7070"}) {
    EXPECT_FALSE(ValidateControllerAddress(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace pyservice::agent

namespace pyservice::agent {
namespace {

// The example shipped in deploy/ must stay a valid config.
TEST(AgentConfig, ShippedExampleIsValid) {
  absl::StatusOr<AgentConfig> config =
      LoadAgentConfig(std::string(PYSERVICE_SOURCE_DIR) + "/deploy/config/agent.yaml", AgentConfig());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->controller, "controller.example.internal:7070");
  EXPECT_EQ(config->labels.at("role"), "web");
}

}  // namespace
}  // namespace pyservice::agent

namespace pyservice::agent {
namespace {

TEST(AgentConfigTest, SpecPolicyListsTheHostAdminsExceptions) {
  absl::StatusOr<AgentConfig> config = ParseAgentConfig(
      "spec_policy:\n  allow_users: [postgres]\n  allow_groups: [ssl-cert, www-data]\n", "a.yaml",
      AgentConfig());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_THAT(config->spec_policy.allow_users, ::testing::ElementsAre("postgres"));
  EXPECT_THAT(config->spec_policy.allow_groups, ::testing::ElementsAre("ssl-cert", "www-data"));
}

TEST(AgentConfigTest, SpecPolicyMistakesAreLocated) {
  absl::StatusOr<AgentConfig> config = ParseAgentConfig(
      "spec_policy:\n  allow_user: [postgres]\n  allow_groups: [\"bad name\"]\n", "a.yaml",
      AgentConfig());
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(std::string(config.status().message()),
              ::testing::HasSubstr("a.yaml:2:3: spec_policy.allow_user: unknown key (did you mean "
                                   "\"allow_users\"?)"));
  EXPECT_THAT(std::string(config.status().message()),
              ::testing::HasSubstr("a.yaml:3:18: spec_policy.allow_groups[0]: \"bad name\" must match"));
}

}  // namespace
}  // namespace pyservice::agent

#include "controller/config/controller_config.h"

#include <fstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace pyservice::controller {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ControllerConfigTest, DefaultsAreTheDocumentedOnes) {
  const ControllerConfig config;
  EXPECT_THAT(config.listen, ElementsAre("127.0.0.1:7070"));
  EXPECT_EQ(config.data_dir, "/var/lib/pyservice-controller");
  EXPECT_EQ(config.log_level, "info");
  EXPECT_EQ(config.secrets_key_file, "/etc/pyservice-controller/secrets.key");
}

TEST(ControllerConfigTest, SecretsKeyFile) {
  absl::StatusOr<ControllerConfig> config = ParseControllerConfig(
      "secrets_key_file: /etc/p/secrets.key\n", "c.yaml", ControllerConfig());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->secrets_key_file, "/etc/p/secrets.key");
  absl::StatusOr<ControllerConfig> bad =
      ParseControllerConfig("secrets_key_file: \"\"\n", "c.yaml", ControllerConfig());
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(),
              HasSubstr("c.yaml:1:19: secrets_key_file: want a non-empty string"));
}

TEST(ControllerConfigTest, HttpListenIsOffByDefaultAndTakesAnAddress) {
  EXPECT_EQ(ControllerConfig().http_listen, "");
  absl::StatusOr<ControllerConfig> config =
      ParseControllerConfig("http_listen: 127.0.0.1:7071\n", "c.yaml", ControllerConfig());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->http_listen, "127.0.0.1:7071");
}

TEST(ControllerConfigTest, MetricsListenDefaultsToLoopbackAndEmptyTurnsItOff) {
  EXPECT_EQ(ControllerConfig().metrics_listen, "127.0.0.1:9464");
  absl::StatusOr<ControllerConfig> moved = ParseControllerConfig(
      "metrics: {listen: \"127.0.0.1:9500\"}\n", "c.yaml", ControllerConfig());
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_EQ(moved->metrics_listen, "127.0.0.1:9500");
  absl::StatusOr<ControllerConfig> off =
      ParseControllerConfig("metrics: {listen: \"\"}\n", "c.yaml", ControllerConfig());
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_EQ(off->metrics_listen, "");
}

TEST(ControllerConfigTest, MetricsUnknownKeyIsNamedWithItsLocation) {
  absl::StatusOr<ControllerConfig> config =
      ParseControllerConfig("metrics:\n  port: 9464\n", "c.yaml", ControllerConfig());
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("c.yaml:2:3: metrics.port: unknown key"));
}

TEST(ControllerConfigTest, KeysInTheFileReplaceTheBase) {
  absl::StatusOr<ControllerConfig> config = ParseControllerConfig(
      "listen:\n  - 0.0.0.0:7070\n  - unix:/run/p.sock\ndata_dir: /srv/p\n"
      "log_level: debug\n",
      "c.yaml", ControllerConfig());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_THAT(config->listen, ElementsAre("0.0.0.0:7070", "unix:/run/p.sock"));
  EXPECT_EQ(config->data_dir, "/srv/p");
  EXPECT_EQ(config->log_level, "debug");
}

TEST(ControllerConfigTest, TlsKeys) {
  absl::StatusOr<ControllerConfig> config = ParseControllerConfig(
      "tls_cert: /t/s.crt\ntls_key: /t/s.key\nclient_ca: /t/ca.crt\n"
      "insecure: true\n",
      "c.yaml", ControllerConfig());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->tls_cert, "/t/s.crt");
  EXPECT_EQ(config->tls_key, "/t/s.key");
  EXPECT_EQ(config->client_ca, "/t/ca.crt");
  EXPECT_TRUE(config->insecure);
  EXPECT_FALSE(ControllerConfig().insecure);
  absl::StatusOr<ControllerConfig> bad =
      ParseControllerConfig("insecure: maybe\n", "c.yaml", ControllerConfig());
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(),
              HasSubstr("c.yaml:1:11: insecure: want true or false"));
}

TEST(ControllerConfigTest, AbsentKeysKeepTheBase) {
  ControllerConfig base;
  base.data_dir = "/base";
  absl::StatusOr<ControllerConfig> config =
      ParseControllerConfig("listen: 127.0.0.1:0\n", "c.yaml", base);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_THAT(config->listen, ElementsAre("127.0.0.1:0"));
  EXPECT_EQ(config->data_dir, "/base");
  EXPECT_TRUE(ParseControllerConfig("", "c.yaml", base).ok());
}

TEST(ControllerConfigTest, EveryProblemIsReportedWithItsLocation) {
  absl::StatusOr<ControllerConfig> config = ParseControllerConfig(
      "listen:\n  - 127.0.0.1:7070\n  - nowhere\ndata_dir: ''\n"
      "log_level: loud\nlisten_addr: x\n",
      "c.yaml", ControllerConfig());
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(config.status().message());
  EXPECT_THAT(message, HasSubstr("c.yaml:3:5: listen[1]: bad listen address"));
  EXPECT_THAT(message, HasSubstr("c.yaml:4:11: data_dir: want a non-empty"));
  EXPECT_THAT(message, HasSubstr("c.yaml:5:12: log_level: unknown level"));
  EXPECT_THAT(message, HasSubstr("c.yaml:6:1: listen_addr: unknown key"));
}

TEST(ControllerConfigTest, SyntaxErrorsAndWrongShapesHaveLocations) {
  EXPECT_THAT(
      ParseControllerConfig("listen: [a\n", "c.yaml", {}).status().message(),
      HasSubstr("c.yaml:"));
  EXPECT_THAT(
      ParseControllerConfig("- a\n", "c.yaml", {}).status().message(),
      HasSubstr("c.yaml:1:1: the config must be a mapping"));
  EXPECT_THAT(ParseControllerConfig("data_dir: /a\ndata_dir: /b\n", "c.yaml", {})
                  .status()
                  .message(),
              HasSubstr("c.yaml:2:1: data_dir: duplicate key"));
}

TEST(ControllerConfigTest, LoadNamesAnUnreadableFile) {
  testing::TempDir dir;
  absl::StatusOr<ControllerConfig> missing =
      LoadControllerConfig(dir.Join("nope.yaml"), {});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("nope.yaml"));

  std::ofstream(dir.Join("c.yaml")) << "data_dir: /x\n";
  absl::StatusOr<ControllerConfig> loaded =
      LoadControllerConfig(dir.Join("c.yaml"), {});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->data_dir, "/x");
}

TEST(ControllerConfigTest, HeartbeatIntervalIsADurationDefaultingToFiveSeconds) {
  EXPECT_EQ(ControllerConfig().heartbeat_interval, absl::Seconds(5));
  absl::StatusOr<ControllerConfig> config =
      ParseControllerConfig("heartbeat_interval: 1500ms\n", "c.yaml", ControllerConfig());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->heartbeat_interval, absl::Milliseconds(1500));
}

TEST(ControllerConfigTest, HeartbeatIntervalOutOfRangeOrNotADurationIsRefused) {
  for (const char* bad : {"5", "fast", "10ms", "1h"}) {
    absl::StatusOr<ControllerConfig> config = ParseControllerConfig(
        absl::StrCat("heartbeat_interval: ", bad, "\n"), "c.yaml", ControllerConfig());
    ASSERT_FALSE(config.ok()) << bad;
    EXPECT_THAT(config.status().message(),
                HasSubstr("c.yaml:1:21: heartbeat_interval: want a duration"))
        << bad;
  }
}

TEST(ControllerConfigTest, KeepaliveKeysAreDurationsWithinTheirRange) {
  EXPECT_EQ(ControllerConfig().keepalive_time, absl::Minutes(1));
  EXPECT_EQ(ControllerConfig().keepalive_timeout, absl::Seconds(20));
  absl::StatusOr<ControllerConfig> config = ParseControllerConfig(
      "keepalive_time: 200ms\nkeepalive_timeout: 1s\n", "c.yaml", ControllerConfig());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->keepalive_time, absl::Milliseconds(200));
  EXPECT_EQ(config->keepalive_timeout, absl::Seconds(1));
  absl::StatusOr<ControllerConfig> refused =
      ParseControllerConfig("keepalive_timeout: 1h\n", "c.yaml", ControllerConfig());
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(),
              HasSubstr("c.yaml:1:20: keepalive_timeout: want a duration from 100ms to 10m"));
}

TEST(ControllerConfigTest, WaveTimeoutIsADurationDefaultingToThirtyMinutes) {
  EXPECT_EQ(ControllerConfig().wave_timeout, absl::Minutes(30));
  absl::StatusOr<ControllerConfig> config =
      ParseControllerConfig("wave_timeout: 2h\n", "c.yaml", ControllerConfig());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->wave_timeout, absl::Hours(2));
  for (const char* bad : {"30", "soon", "10s", "48h"}) {
    absl::StatusOr<ControllerConfig> refused = ParseControllerConfig(
        absl::StrCat("wave_timeout: ", bad, "\n"), "c.yaml", ControllerConfig());
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_THAT(refused.status().message(),
                HasSubstr("c.yaml:1:15: wave_timeout: want a duration from 1m to 24h"))
        << bad;
  }
}

}  // namespace
}  // namespace pyservice::controller

namespace pyservice::controller {
namespace {

// The example shipped in deploy/ must stay a valid config.
TEST(ControllerConfigExample, ShippedExampleIsValid) {
  absl::StatusOr<ControllerConfig> config = LoadControllerConfig(
      std::string(PYSERVICE_SOURCE_DIR) + "/deploy/config/controller.yaml", {});
  ASSERT_TRUE(config.ok()) << config.status();
}

}  // namespace
}  // namespace pyservice::controller

namespace pyservice::controller {
namespace {

TEST(ControllerConfigTest, SpecPolicyListsTheAdminsExceptions) {
  absl::StatusOr<ControllerConfig> config = ParseControllerConfig(
      "spec_policy: {allow_users: [postgres], allow_groups: [ssl-cert]}\n", "c.yaml",
      ControllerConfig());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_THAT(config->spec_policy.allow_users, ::testing::ElementsAre("postgres"));
  EXPECT_THAT(config->spec_policy.allow_groups, ::testing::ElementsAre("ssl-cert"));
  EXPECT_TRUE(ControllerConfig().spec_policy.allow_users.empty()) << "no exceptions by default";
}

TEST(ControllerConfigTest, SpecPolicyMistakesAreLocated) {
  absl::StatusOr<ControllerConfig> config =
      ParseControllerConfig("spec_policy:\n  allow_users: root\n", "c.yaml", ControllerConfig());
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(std::string(config.status().message()),
              ::testing::HasSubstr("c.yaml:2:16: spec_policy.allow_users: must be a list"));
}

}  // namespace
}  // namespace pyservice::controller

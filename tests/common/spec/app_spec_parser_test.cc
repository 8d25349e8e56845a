// app.yaml → AppSpec: every field of INTERFACES.md and every role default.
#include "common/spec/app_spec_parser.h"

#include <fstream>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pyservice::spec {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

v1::AppSpec ParseOrDie(const std::string& yaml) {
  absl::StatusOr<v1::AppSpec> spec = ParseAppSpec(yaml, "app.yaml");
  EXPECT_TRUE(spec.ok()) << spec.status();
  return spec.ok() ? *spec : v1::AppSpec();
}

constexpr char kEveryField[] = R"(name: hello
module: hello_app.main
user: svc-hello
group: www
ensure_user: false
repo: git@github.com:acme/hello.git
tag: v1.2.3
uv_version: "0.5.1"
ssh_key: |
  -----BEGIN OPENSSH PRIVATE KEY-----
  b3BlbnNzaC1rZXktdjEAAAAABG5vbmU=
  -----END OPENSSH PRIVATE KEY-----
services:
  - name: web
    description: "Run the web interface for {{ app_name }}"
    command: "python -m {{ app_module }} --config {{ app_config }} web"
  - name: worker
    command: "python -m {{ app_module }} worker"
timers:
  - name: report
    description: "Report every Monday at 2 AM"
    schedule: "Mon, 02:00"
    command: "python -m {{ app_module }} --config {{ app_config }} report"
files:
  - dest: "{{ app_config_dir }}/certificate"
    content: "CERT"
    mode: "0640"
  - dest: /srv/hello/data/token
    content: "TOKEN"
config:
  port: 8000
  name: "{{ app_name }}"
  nested: {list: [1, two], flag: true}
targets:
  labels: {role: web, region: eu-west}
health:
  min_healthy: 10s
  http: "http://127.0.0.1:8000/healthz"
  deadline: 2m
rollout:
  canary: 10%
  batch: 3
  auto_promote: true
  auto_rollback: false
paths:
  global_app_root: /srv
  uv_isolate: true
)";

TEST(AppSpecParser, ReadsEveryField) {
  const v1::AppSpec spec = ParseOrDie(kEveryField);
  EXPECT_EQ(spec.name(), "hello");
  EXPECT_EQ(spec.module(), "hello_app.main");
  EXPECT_EQ(spec.user(), "svc-hello");
  EXPECT_EQ(spec.group(), "www");
  EXPECT_FALSE(spec.ensure_user());
  EXPECT_EQ(spec.repo(), "git@github.com:acme/hello.git");
  EXPECT_EQ(spec.tag(), "v1.2.3");
  EXPECT_EQ(spec.uv_version(), "0.5.1");
  EXPECT_EQ(spec.ssh_key(),
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU=\n"
            "-----END OPENSSH PRIVATE KEY-----\n");

  ASSERT_EQ(spec.services_size(), 2);
  EXPECT_EQ(spec.services(0).name(), "web");
  EXPECT_EQ(spec.services(0).description(), "Run the web interface for {{ app_name }}");
  EXPECT_EQ(spec.services(0).command(), "python -m {{ app_module }} --config {{ app_config }} web");
  EXPECT_EQ(spec.services(1).name(), "worker");
  EXPECT_EQ(spec.services(1).description(), "");

  ASSERT_EQ(spec.timers_size(), 1);
  EXPECT_EQ(spec.timers(0).name(), "report");
  EXPECT_EQ(spec.timers(0).description(), "Report every Monday at 2 AM");
  EXPECT_EQ(spec.timers(0).schedule(), "Mon, 02:00");
  EXPECT_EQ(spec.timers(0).command(),
            "python -m {{ app_module }} --config {{ app_config }} report");

  ASSERT_EQ(spec.files_size(), 2);
  EXPECT_EQ(spec.files(0).dest(), "{{ app_config_dir }}/certificate");
  EXPECT_EQ(spec.files(0).content(), "CERT");
  EXPECT_EQ(spec.files(0).mode(), 0640u);
  EXPECT_EQ(spec.files(1).dest(), "/srv/hello/data/token");
  EXPECT_EQ(spec.files(1).mode(), 0600u) << "the role's default mode";

  EXPECT_EQ(spec.config_yaml(),
            "name: \"{{ app_name }}\"\nnested:\n  flag: true\n  list:\n    - 1\n    - two\n"
            "port: 8000\n");
  EXPECT_THAT(spec.targets().labels(),
              UnorderedElementsAre(Pair("role", "web"), Pair("region", "eu-west")));

  EXPECT_EQ(spec.health().min_healthy_ms(), 10'000u);
  EXPECT_EQ(spec.health().http(), "http://127.0.0.1:8000/healthz");
  EXPECT_EQ(spec.health().deadline_ms(), 120'000u);

  EXPECT_EQ(spec.rollout().canary().percent(), 10u);
  EXPECT_EQ(spec.rollout().batch().count(), 3u);
  EXPECT_TRUE(spec.rollout().auto_promote());
  EXPECT_FALSE(spec.rollout().auto_rollback());

  EXPECT_EQ(spec.paths().global_app_root(), "/srv");
  EXPECT_EQ(spec.paths().app_root(), "/srv/hello");
  EXPECT_TRUE(spec.paths().uv_isolate());
  EXPECT_EQ(spec.paths().uv_location(), "/srv/hello/app/uv/uv");
}

TEST(AppSpecParser, FillsTheRolesDefaults) {
  const v1::AppSpec spec = ParseOrDie("name: hello\nrepo: https://git.example.com/hello.git\ntag: v1\n");
  EXPECT_EQ(spec.module(), "hello");
  EXPECT_EQ(spec.user(), "hello");
  EXPECT_EQ(spec.group(), "hello");
  EXPECT_TRUE(spec.ensure_user());
  EXPECT_EQ(spec.uv_version(), "");
  EXPECT_EQ(spec.services_size(), 0);
  EXPECT_EQ(spec.config_yaml(), "");
  EXPECT_TRUE(spec.targets().labels().empty()) << "default: every host";
  EXPECT_EQ(spec.health().min_healthy_ms(), 10'000u);
  EXPECT_EQ(spec.health().deadline_ms(), 120'000u);
  EXPECT_EQ(spec.health().http(), "");
  EXPECT_EQ(spec.rollout().canary().percent(), 0u) << "no canary";
  EXPECT_EQ(spec.rollout().batch().percent(), 25u);
  EXPECT_FALSE(spec.rollout().auto_promote());
  EXPECT_TRUE(spec.rollout().auto_rollback());

  const v1::Paths& paths = spec.paths();
  EXPECT_EQ(paths.global_app_root(), "/applications");
  EXPECT_EQ(paths.app_root(), "/applications/hello");
  EXPECT_EQ(paths.app_dir(), "/applications/hello/app");
  EXPECT_EQ(paths.app_code_dir(), "/applications/hello/app/code");
  EXPECT_EQ(paths.app_config_dir(), "/applications/hello/app/config");
  EXPECT_EQ(paths.app_config(), "/applications/hello/app/config/config.yaml");
  EXPECT_EQ(paths.app_data_dir(), "/applications/hello/data");
  EXPECT_EQ(paths.uv_location(), "/applications/uv");
  EXPECT_FALSE(paths.uv_isolate());
}

TEST(AppSpecParser, GroupDefaultsToAnExplicitUser) {
  const v1::AppSpec spec = ParseOrDie("name: hello\nrepo: file:///r.git\ntag: v1\nuser: web\n");
  EXPECT_EQ(spec.user(), "web");
  EXPECT_EQ(spec.group(), "web");
}

TEST(AppSpecParser, PathOverridesCascadeToThePathsBelow) {
  const v1::AppSpec spec = ParseOrDie(
      "name: hello\nrepo: file:///r.git\ntag: v1\n"
      "paths:\n  app_root: /opt/hello\n  app_config_dir: /etc/hello\n");
  const v1::Paths& paths = spec.paths();
  EXPECT_EQ(paths.global_app_root(), "/applications");
  EXPECT_EQ(paths.app_root(), "/opt/hello");
  EXPECT_EQ(paths.app_dir(), "/opt/hello/app");
  EXPECT_EQ(paths.app_code_dir(), "/opt/hello/app/code");
  EXPECT_EQ(paths.app_config_dir(), "/etc/hello");
  EXPECT_EQ(paths.app_config(), "/etc/hello/config.yaml");
  EXPECT_EQ(paths.app_data_dir(), "/opt/hello/data");
  EXPECT_EQ(paths.uv_location(), "/applications/uv");
}

TEST(AppSpecParser, FilesMayGoIntoAnOverriddenConfigDir) {
  const v1::AppSpec spec = ParseOrDie(
      "name: hello\nrepo: file:///r.git\ntag: v1\npaths:\n  app_config_dir: /etc/hello\n"
      "files:\n  - dest: \"{{ app_config_dir }}/key\"\n    content: k\n");
  EXPECT_EQ(spec.files(0).dest(), "{{ app_config_dir }}/key");
}

TEST(AppSpecParser, AcceptsEveryRepoForm) {
  for (const char* repo : {"https://github.com/acme/hello.git", "ssh://git@git.example.com/acme/hello.git",
                           "git@github.com:acme/hello.git", "file:///srv/git/hello.git",
                           "ssh://git@[::1]:2222/hello.git"}) {
    absl::StatusOr<v1::AppSpec> spec =
        ParseAppSpec(std::string("name: hello\nrepo: \"") + repo + "\"\ntag: v1\n", "app.yaml");
    EXPECT_TRUE(spec.ok()) << repo << ": " << spec.status();
  }
}

TEST(AppSpecParser, AcceptsTagsBranchesAndCommits) {
  for (const char* tag : {"v1", "release/2024.1", "main", "1.0.0-rc.1", "0a1b2c3",
                          "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567"}) {
    absl::StatusOr<v1::AppSpec> spec =
        ParseAppSpec(std::string("name: hello\nrepo: file:///r.git\ntag: \"") + tag + "\"\n", "app.yaml");
    EXPECT_TRUE(spec.ok()) << tag << ": " << spec.status();
  }
}

TEST(AppSpecParser, AcceptsUnquotedModeAsOctal) {
  const v1::AppSpec spec = ParseOrDie(
      "name: hello\nrepo: file:///r.git\ntag: v1\n"
      "files:\n  - dest: /applications/hello/data/x\n    content: x\n    mode: 0644\n");
  EXPECT_EQ(spec.files(0).mode(), 0644u);
}

TEST(AppSpecParser, NullValuesMeanDefaults) {
  const v1::AppSpec spec = ParseOrDie(
      "name: hello\nrepo: file:///r.git\ntag: v1\nmodule:\nservices:\nconfig:\nhealth:\n");
  EXPECT_EQ(spec.module(), "hello");
  EXPECT_EQ(spec.services_size(), 0);
  EXPECT_EQ(spec.config_yaml(), "");
}

TEST(AppSpecParser, ZeroMinHealthyIsKept) {
  const v1::AppSpec spec =
      ParseOrDie("name: hello\nrepo: file:///r.git\ntag: v1\nhealth:\n  min_healthy: 0s\n");
  EXPECT_EQ(spec.health().min_healthy_ms(), 0u);
}

TEST(AppSpecParser, LongMinHealthyRaisesTheDefaultDeadline) {
  const v1::AppSpec spec =
      ParseOrDie("name: hello\nrepo: file:///r.git\ntag: v1\nhealth:\n  min_healthy: 5m\n");
  EXPECT_EQ(spec.health().deadline_ms(), 600'000u);
}

TEST(AppSpecParser, AcceptsCompoundDurations) {
  const v1::AppSpec spec = ParseOrDie(
      "name: hello\nrepo: file:///r.git\ntag: v1\nhealth:\n  min_healthy: 1m30s\n  deadline: 1h\n");
  EXPECT_EQ(spec.health().min_healthy_ms(), 90'000u);
  EXPECT_EQ(spec.health().deadline_ms(), 3'600'000u);
}

TEST(AppSpecParser, ConfigKeepsQuotedScalarsQuoted) {
  const v1::AppSpec spec = ParseOrDie(
      "name: hello\nrepo: file:///r.git\ntag: v1\nconfig:\n  port: \"8000\"\n  count: 3\n");
  EXPECT_EQ(spec.config_yaml(), "count: 3\nport: \"8000\"\n");
}

TEST(AppSpecParser, AliasesInConfigAreExpanded) {
  const v1::AppSpec spec = ParseOrDie(
      "name: hello\nrepo: file:///r.git\ntag: v1\n"
      "config:\n  base: &base {host: db}\n  replica: *base\n");
  EXPECT_EQ(spec.config_yaml(), "base:\n  host: db\nreplica:\n  host: db\n");
}

TEST(AppSpecParser, DriftPolicyIsUnsetWhenAbsentAndReadWhenGiven) {
  EXPECT_EQ(ParseOrDie("name: hello\nrepo: file:///r.git\ntag: v1\n").drift(),
            v1::DRIFT_POLICY_UNSPECIFIED);
  EXPECT_EQ(ParseOrDie("name: hello\nrepo: file:///r.git\ntag: v1\ndrift: report\n").drift(),
            v1::DRIFT_POLICY_REPORT);
  EXPECT_EQ(ParseOrDie("name: hello\nrepo: file:///r.git\ntag: v1\ndrift: repair\n").drift(),
            v1::DRIFT_POLICY_REPAIR);
}

TEST(AppSpecParser, UnknownDriftPolicyIsRefusedWithItsLine) {
  absl::StatusOr<v1::AppSpec> spec =
      ParseAppSpec("name: hello\nrepo: file:///r.git\ntag: v1\ndrift: ignore\n", "app.yaml");
  ASSERT_FALSE(spec.ok());
  EXPECT_THAT(std::string(spec.status().message()),
              ::testing::HasSubstr("app.yaml:4:8: drift: must be repair or report"));
}

TEST(AppSpecParser, ParsesTheShippedExample) {
  std::ifstream file(std::string(PYSERVICE_SOURCE_DIR) + "/deploy/examples/hello/app.yaml");
  ASSERT_TRUE(file) << "deploy/examples/hello/app.yaml is missing";
  std::stringstream text;
  text << file.rdbuf();
  const v1::AppSpec spec = ParseOrDie(text.str());
  EXPECT_EQ(spec.name(), "hello");
  EXPECT_EQ(spec.services_size(), 1);
  EXPECT_EQ(spec.timers_size(), 1);
}

}  // namespace
}  // namespace pyservice::spec

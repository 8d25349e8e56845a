// pyctl against a real controller process, over a real Unix socket and a
// real TCP port, with the store in a temp dir: what an operator sees. pyctl
// is root on the admin socket (an admin without a token) unless a test is
// about another listener, where it brings a token.
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/controller_harness.h"
#include "tests/testing/json.h"
#include "tests/testing/temp_dir.h"
#include "yaml-cpp/yaml.h"

namespace pyservice {
namespace {

using ::pyservice::testing::ControllerHarness;
using ::pyservice::testing::ExitStatus;
using ::pyservice::testing::JsonValue;
using ::pyservice::testing::KeysInOrder;
using ::pyservice::testing::ParseJson;
using ::pyservice::testing::RunPyctl;
using ::testing::ContainsRegex;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kRfc3339[] = "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z";

std::string AppYaml(const std::string& tag) {
  return absl::StrCat(R"(name: hello
repo: file:///srv/git/hello.git
tag: )", tag, R"(
services:
  - name: web
    description: "Run the web interface for {{ app_name }}"
    command: "python -m {{ app_module }} --config {{ app_config }} web"
)");
}

// Two problems, one per line, at known places: an unknown key on line 4 and
// an invalid service name at line 6, column 11.
constexpr char kBadAppYaml[] = R"(name: hello
repo: file:///srv/git/hello.git
tag: v1
colour: red
services:
  - name: Web
    command: "python -m hello"
)";

class PyctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const absl::Status started = controller_.Start();
    ASSERT_TRUE(started.ok()) << started;
  }

  void TearDown() override {
    if (HasFailure()) {
      std::cerr << "controller stderr:\n" << controller_.Stderr();
    }
  }

  void WriteFile(const std::string& name, const std::string& text) {
    std::ofstream(dir_.Join(name)) << text;
  }

  // pyctl --controller ADMIN-SOCKET ARGS..., run in the temp dir.
  ProcessResult Pyctl(std::vector<std::string> args) {
    args.insert(args.begin(), {"--controller", controller_.admin_address()});
    return RunPyctl(args, dir_.path());
  }

  // Runs pyctl expecting success and JSON on stdout.
  JsonValue PyctlJson(std::vector<std::string> args, std::string* raw = nullptr) {
    args.insert(args.end(), {"-o", "json"});
    const ProcessResult result = Pyctl(args);
    EXPECT_TRUE(result.Succeeded())
        << result.Describe() << "\n" << result.stderr_text;
    absl::StatusOr<JsonValue> json = ParseJson(result.stdout_text);
    EXPECT_TRUE(json.ok()) << json.status();
    if (raw != nullptr) *raw = result.stdout_text;
    return json.ok() ? *json : JsonValue();
  }

  testing::TempDir dir_;
  ControllerHarness controller_{dir_.path()};
};

const google::protobuf::Map<std::string, JsonValue>& Fields(const JsonValue& v) {
  return v.struct_value().fields();
}

TEST_F(PyctlTest, Apply_NewAppIsRevisionOneWithTheDocumentedJsonShape) {
  WriteFile("app.yaml", AppYaml("v1"));
  std::string raw;
  const JsonValue json = PyctlJson({"apply", "app.yaml"}, &raw);
  ASSERT_TRUE(json.has_struct_value()) << raw;
  const std::vector<std::string> keys = KeysInOrder(json, raw);
  ASSERT_GE(keys.size(), 4u);
  EXPECT_THAT(std::vector<std::string>(keys.begin(), keys.begin() + 4),
              ElementsAre("app", "revision", "changed", "rollout"));
  EXPECT_EQ(Fields(json).at("app").string_value(), "hello");
  EXPECT_EQ(Fields(json).at("revision").number_value(), 1);
  EXPECT_TRUE(Fields(json).at("changed").bool_value());
  EXPECT_TRUE(Fields(json).at("rollout").has_number_value());
}

TEST_F(PyctlTest, Apply_SameSpecIsUnchangedAndNewTagIsRevisionTwoWithADiff) {
  WriteFile("app.yaml", AppYaml("v1"));
  ASSERT_TRUE(Pyctl({"apply", "app.yaml"}).Succeeded());

  const JsonValue same = PyctlJson({"apply", "app.yaml"});
  EXPECT_EQ(Fields(same).at("revision").number_value(), 1);
  EXPECT_FALSE(Fields(same).at("changed").bool_value());
  const ProcessResult same_text = Pyctl({"apply", "app.yaml"});
  EXPECT_EQ(same_text.stdout_text, "hello: unchanged (revision 1)\n");

  WriteFile("app.yaml", AppYaml("v2"));
  const ProcessResult changed = Pyctl({"apply", "app.yaml"});
  ASSERT_TRUE(changed.Succeeded()) << changed.stderr_text;
  EXPECT_THAT(changed.stdout_text, StartsWith("hello: revision 2 created\n"));
  // The diff mentions the tag, whichever way the canonical form quotes it.
  EXPECT_THAT(changed.stdout_text, ContainsRegex("\n-tag: \"?v1\"?\n"));
  EXPECT_THAT(changed.stdout_text, ContainsRegex("\n\\+tag: \"?v2\"?\n"));
  EXPECT_THAT(changed.stdout_text, Not(HasSubstr("\033[")))
      << "no colors when stdout is not a terminal";
}

TEST_F(PyctlTest, Apply_DryRunShowsTheNextRevisionAndStoresNothing) {
  WriteFile("app.yaml", AppYaml("v1"));
  ASSERT_TRUE(Pyctl({"apply", "app.yaml"}).Succeeded());
  WriteFile("app.yaml", AppYaml("v2"));
  ASSERT_TRUE(Pyctl({"apply", "app.yaml"}).Succeeded());

  WriteFile("app.yaml", AppYaml("v3"));
  const ProcessResult dry = Pyctl({"apply", "app.yaml", "--dry-run"});
  ASSERT_TRUE(dry.Succeeded()) << dry.stderr_text;
  EXPECT_THAT(dry.stdout_text,
              StartsWith("hello: dry run: would create revision 3\n"));
  EXPECT_THAT(dry.stdout_text, ContainsRegex("\n\\+tag: \"?v3\"?\n"));

  const JsonValue dry_json = PyctlJson({"apply", "--dry-run", "app.yaml"});
  EXPECT_EQ(Fields(dry_json).at("revision").number_value(), 3);
  EXPECT_TRUE(Fields(dry_json).at("changed").bool_value());
  EXPECT_TRUE(Fields(dry_json).at("dry_run").bool_value());

  const JsonValue history = PyctlJson({"history", "hello"});
  EXPECT_EQ(history.list_value().values_size(), 2);
  const JsonValue apps = PyctlJson({"get", "apps"});
  ASSERT_EQ(apps.list_value().values_size(), 1);
  EXPECT_EQ(Fields(apps.list_value().values(0)).at("tag").string_value(), "v2");
}

TEST_F(PyctlTest, Apply_BadSpecNamesFileLineColumnAndFieldAndStoresNothing) {
  WriteFile("app.yaml", kBadAppYaml);
  const ProcessResult result = Pyctl({"apply", "app.yaml"});
  EXPECT_FALSE(result.Succeeded());
  EXPECT_EQ(result.stdout_text, "");
  EXPECT_THAT(result.stderr_text, HasSubstr("pyctl: app.yaml:4:1: colour"));
  EXPECT_THAT(result.stderr_text,
              HasSubstr("pyctl: app.yaml:6:11: services[0].name"));
  EXPECT_THAT(result.stderr_text, HasSubstr("\"Web\""));
  for (absl::string_view line :
       absl::StrSplit(result.stderr_text, '\n', absl::SkipEmpty())) {
    EXPECT_THAT(std::string(line), StartsWith("pyctl: "));
  }

  EXPECT_EQ(PyctlJson({"get", "apps"}).list_value().values_size(), 0);
  EXPECT_FALSE(Pyctl({"history", "hello"}).Succeeded());
}

TEST_F(PyctlTest, Apply_MissingFileIsNamedAndNeedsNoController) {
  const ProcessResult result = testing::RunPyctl(
      {"--controller", "unix:/nonexistent/x.sock", "apply", "missing.yaml"},
      dir_.path());
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.stderr_text,
            "pyctl: cannot read missing.yaml: No such file or directory\n");
}

TEST_F(PyctlTest, Restart_OnTheSameDataDirKeepsEveryRevision) {
  WriteFile("app.yaml", AppYaml("v1"));
  ASSERT_TRUE(Pyctl({"apply", "app.yaml"}).Succeeded());
  WriteFile("app.yaml", AppYaml("v2"));
  ASSERT_TRUE(Pyctl({"apply", "app.yaml"}).Succeeded());

  absl::StatusOr<ExitStatus> stopped = controller_.Stop(SIGTERM);
  ASSERT_TRUE(stopped.ok()) << stopped.status();
  EXPECT_EQ(stopped->term_signal, 0);
  EXPECT_EQ(stopped->exit_code, 0) << controller_.process().ReadStderr();
  struct stat info;
  EXPECT_NE(lstat(controller_.socket_path().c_str(), &info), 0)
      << "a clean stop removes the socket file";

  ASSERT_TRUE(controller_.Start().ok()) << controller_.process().ReadStderr();
  std::string raw;
  const JsonValue history = PyctlJson({"history", "hello"}, &raw);
  ASSERT_EQ(history.list_value().values_size(), 2) << raw;
  for (int i = 0; i < 2; ++i) {
    const JsonValue& revision = history.list_value().values(i);
    EXPECT_EQ(Fields(revision).at("revision").number_value(), i + 1);
    EXPECT_EQ(Fields(revision).at("tag").string_value(),
              absl::StrCat("v", i + 1));
    EXPECT_THAT(Fields(revision).at("digest").string_value(),
                MatchesRegex("sha256:[0-9a-f]{64}"));
    EXPECT_THAT(Fields(revision).at("created_at").string_value(),
                MatchesRegex(kRfc3339));
  }
  EXPECT_THAT(KeysInOrder(history.list_value().values(0),
                          raw.substr(0, raw.find('}'))),
              ElementsAre("revision", "tag", "digest", "created_at"));
}

TEST_F(PyctlTest, Controller_StopsCleanlyOnSigint) {
  absl::StatusOr<ExitStatus> stopped = controller_.Stop(SIGINT);
  ASSERT_TRUE(stopped.ok()) << stopped.status();
  EXPECT_EQ(stopped->Describe(), "exit status 0");
  EXPECT_THAT(controller_.process().ReadStderr(), HasSubstr("received SIGINT"));
}

TEST_F(PyctlTest, GetApps_DescribeAndDelete_JsonShapes) {
  WriteFile("app.yaml", AppYaml("v1"));
  ASSERT_TRUE(Pyctl({"apply", "app.yaml"}).Succeeded());

  std::string raw;
  const JsonValue apps = PyctlJson({"get", "apps"}, &raw);
  ASSERT_EQ(apps.list_value().values_size(), 1) << raw;
  const JsonValue& app = apps.list_value().values(0);
  EXPECT_EQ(Fields(app).at("name").string_value(), "hello");
  EXPECT_EQ(Fields(app).at("revision").number_value(), 1);
  EXPECT_EQ(Fields(app).at("tag").string_value(), "v1");
  EXPECT_EQ(Fields(app).at("hosts").number_value(), 0);
  const std::vector<std::string> keys = KeysInOrder(app, raw);
  ASSERT_GE(keys.size(), 4u);
  EXPECT_THAT(std::vector<std::string>(keys.begin(), keys.begin() + 4),
              ElementsAre("name", "revision", "tag", "hosts"));

  const ProcessResult table = Pyctl({"get", "apps"});
  EXPECT_THAT(table.stdout_text, MatchesRegex("NAME +REVISION +TAG +HOSTS +UPDATED\n"
                                              "hello +1 +v1 +0 +[-0-9T:Z]+\n"));

  const JsonValue described = PyctlJson({"describe", "app", "hello"});
  EXPECT_EQ(Fields(described).at("name").string_value(), "hello");
  EXPECT_EQ(Fields(described).at("revision").number_value(), 1);
  EXPECT_EQ(Fields(described).at("tag").string_value(), "v1");
  EXPECT_THAT(Fields(described).at("digest").string_value(),
              StartsWith("sha256:"));
  EXPECT_THAT(Fields(described).at("created_at").string_value(),
              MatchesRegex(kRfc3339));
  EXPECT_THAT(Fields(described).at("canonical_yaml").string_value(),
              ContainsRegex("services:\n +- name: \"?web\"?\n"));
  const ProcessResult described_text = Pyctl({"describe", "app", "hello"});
  EXPECT_THAT(described_text.stdout_text, HasSubstr("Revision:   1\n"));
  EXPECT_THAT(described_text.stdout_text, HasSubstr("Digest:     sha256:"));
  EXPECT_THAT(described_text.stdout_text, HasSubstr("Spec:\n  name: "));

  const JsonValue deleted = PyctlJson({"delete", "app", "hello"});
  EXPECT_EQ(Fields(deleted).at("app").string_value(), "hello");
  EXPECT_TRUE(Fields(deleted).at("deleted").bool_value());
  EXPECT_EQ(PyctlJson({"get", "apps"}).list_value().values_size(), 0);

  const ProcessResult gone = Pyctl({"describe", "app", "hello"});
  EXPECT_EQ(gone.exit_code, 1);
  EXPECT_EQ(gone.stderr_text, "pyctl: app \"hello\" not found\n");
  EXPECT_EQ(Pyctl({"delete", "app", "hello"}).stderr_text,
            "pyctl: app \"hello\" not found\n");
  EXPECT_EQ(PyctlJson({"history", "hello"}).list_value().values_size(), 1)
      << "history outlives a delete";
}

TEST_F(PyctlTest, Yaml_OutputParsesAsYaml) {
  WriteFile("app.yaml", AppYaml("v1"));
  ASSERT_TRUE(Pyctl({"apply", "app.yaml"}).Succeeded());
  const ProcessResult result = Pyctl({"get", "apps", "-o", "yaml"});
  ASSERT_TRUE(result.Succeeded()) << result.stderr_text;
  const YAML::Node apps = YAML::Load(result.stdout_text);
  ASSERT_TRUE(apps.IsSequence()) << result.stdout_text;
  EXPECT_EQ(apps[0]["name"].as<std::string>(), "hello");
  EXPECT_EQ(apps[0]["revision"].as<int>(), 1);
}

TEST_F(PyctlTest, Controller_FromEnvironmentOverTcp_FlagWins) {
  // TCP and --listen sockets need a token: from $PYCTL_TOKEN, then from a
  // --token-file.
  absl::StatusOr<std::string> token = controller_.CreateToken("t");
  ASSERT_TRUE(token.ok()) << token.status();
  const ProcessResult from_env =
      testing::RunPyctl({"get", "apps", "-o", "json"}, dir_.path(), controller_.tcp_address(),
                        {"PYCTL_TOKEN=" + *token});
  EXPECT_TRUE(from_env.Succeeded()) << from_env.stderr_text;
  EXPECT_EQ(from_env.stdout_text, "[]\n");

  absl::StatusOr<std::string> token_file = controller_.CreateTokenFile("t2");
  ASSERT_TRUE(token_file.ok()) << token_file.status();
  const ProcessResult flag_wins = testing::RunPyctl(
      {"--controller", controller_.unix_address(), "--token-file", *token_file, "get", "apps"},
      dir_.path(), "unix:/nonexistent/x.sock");
  EXPECT_TRUE(flag_wins.Succeeded()) << flag_wins.stderr_text;
}

TEST_F(PyctlTest, Controller_OverTcpWithoutATokenIsRefused) {
  const ProcessResult result = testing::RunPyctl(
      {"--controller", controller_.tcp_address(), "get", "apps"}, dir_.path());
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.stderr_text, StartsWith("pyctl: not authenticated: "));
  EXPECT_THAT(result.stderr_text, HasSubstr("--token-file"));
  EXPECT_EQ(result.stdout_text, "");
}

TEST_F(PyctlTest, UnreachableController_SaysSoExactly) {
  const std::vector<std::string> addresses = {
      absl::StrCat("unix:", dir_.path(), "/nobody.sock"), "127.0.0.1:1"};
  for (const std::string& address : addresses) {
    const ProcessResult result =
        testing::RunPyctl({"--controller", address, "get", "apps"}, dir_.path());
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_THAT(result.stderr_text,
                StartsWith(absl::StrCat("pyctl: controller unreachable at ",
                                        address)));
    EXPECT_EQ(std::count(result.stderr_text.begin(), result.stderr_text.end(),
                         '\n'),
              1)
        << result.stderr_text;
  }
  const ProcessResult from_env =
      testing::RunPyctl({"history", "hello"}, dir_.path(), "unix:/nonexistent/y.sock");
  EXPECT_THAT(from_env.stderr_text,
              StartsWith("pyctl: controller unreachable at unix:/nonexistent/y.sock"));
}

TEST_F(PyctlTest, UsageErrorsExitWithTwo) {
  EXPECT_EQ(Pyctl({}).exit_code, 2);
  EXPECT_EQ(Pyctl({"get", "apps", "-o", "xml"}).exit_code, 2);
  EXPECT_EQ(Pyctl({"apply"}).exit_code, 2);
  const ProcessResult help = Pyctl({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.stdout_text, HasSubstr("apply"));
}

}  // namespace
}  // namespace pyservice

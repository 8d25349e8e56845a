#include "common/spec/template.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/spec/app_spec_parser.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "yaml-cpp/yaml.h"

namespace pyservice::spec {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

// A spec with the role's defaults filled in, as the controller stores it.
v1::AppSpec Parse(absl::string_view yaml) {
  absl::StatusOr<v1::AppSpec> spec = ParseAppSpec(yaml, "app.yaml");
  EXPECT_TRUE(spec.ok()) << spec.status();
  return spec.ok() ? *spec : v1::AppSpec();
}

constexpr absl::string_view kMinimal = R"(
name: hello
repo: file:///srv/git/hello.git
tag: v1
)";

// --- RoleVariables -------------------------------------------------------

TEST(RoleVariablesTest, DefaultSpec_EveryVariableHasTheRoleDefault) {
  const Variables variables = RoleVariables(Parse(kMinimal));
  EXPECT_THAT(variables,
              ElementsAre(Pair("app_code_dir", "/applications/hello/app/code"),
                          Pair("app_config", "/applications/hello/app/config/config.yaml"),
                          Pair("app_config_dir", "/applications/hello/app/config"),
                          Pair("app_data_dir", "/applications/hello/data"),
                          Pair("app_dir", "/applications/hello/app"),
                          Pair("app_group", "hello"),
                          Pair("app_module", "hello"),
                          Pair("app_name", "hello"),
                          Pair("app_root", "/applications/hello"),
                          Pair("app_user", "hello"),
                          Pair("global_app_root", "/applications"),
                          Pair("uv_location", "/applications/uv"),
                          Pair("uv_run", ::testing::_)));
}

TEST(RoleVariablesTest, DefaultSpec_UvRunPutsTheVenvInTheReleaseAndTheRestUnderTheAppDir) {
  const Variables variables = RoleVariables(Parse(kMinimal));
  EXPECT_EQ(variables.at("uv_run"),
            "env UV_PROJECT_ENVIRONMENT=/applications/hello/app/code/.venv"
            " UV_PYTHON_INSTALL_DIR=/applications/hello/app/uv/python"
            " UV_CACHE_DIR=/applications/hello/app/uv/cache"
            " /applications/uv run --frozen --directory /applications/hello/app/code");
}

TEST(RoleVariablesTest, ModuleUserGroupOverrides_AppearInTheirVariables) {
  const Variables variables = RoleVariables(Parse(R"(
name: hello
module: hello_web.main
user: svc-hello
group: www-data
repo: file:///srv/git/hello.git
tag: v1
)"));
  EXPECT_EQ(variables.at("app_name"), "hello");
  EXPECT_EQ(variables.at("app_module"), "hello_web.main");
  EXPECT_EQ(variables.at("app_user"), "svc-hello");
  EXPECT_EQ(variables.at("app_group"), "www-data");
}

TEST(RoleVariablesTest, UserOverrideWithoutGroup_GroupDefaultsToTheUser) {
  const Variables variables = RoleVariables(Parse(R"(
name: hello
user: svc-hello
repo: file:///srv/git/hello.git
tag: v1
)"));
  EXPECT_EQ(variables.at("app_user"), "svc-hello");
  EXPECT_EQ(variables.at("app_group"), "svc-hello");
}

TEST(RoleVariablesTest, AppRootOverride_MovesEveryPathBelowIt) {
  const Variables variables = RoleVariables(Parse(R"(
name: hello
repo: file:///srv/git/hello.git
tag: v1
paths:
  app_root: /srv/hello
)"));
  EXPECT_EQ(variables.at("global_app_root"), "/applications");
  EXPECT_EQ(variables.at("app_root"), "/srv/hello");
  EXPECT_EQ(variables.at("app_dir"), "/srv/hello/app");
  EXPECT_EQ(variables.at("app_code_dir"), "/srv/hello/app/code");
  EXPECT_EQ(variables.at("app_config_dir"), "/srv/hello/app/config");
  EXPECT_EQ(variables.at("app_config"), "/srv/hello/app/config/config.yaml");
  EXPECT_EQ(variables.at("app_data_dir"), "/srv/hello/data");
  // The shared uv stays under the global root.
  EXPECT_EQ(variables.at("uv_location"), "/applications/uv");
  EXPECT_EQ(variables.at("uv_run"),
            "env UV_PROJECT_ENVIRONMENT=/srv/hello/app/code/.venv"
            " UV_PYTHON_INSTALL_DIR=/srv/hello/app/uv/python"
            " UV_CACHE_DIR=/srv/hello/app/uv/cache"
            " /applications/uv run --frozen --directory /srv/hello/app/code");
}

TEST(RoleVariablesTest, GlobalAppRootOverride_MovesAppRootAndSharedUv) {
  const Variables variables = RoleVariables(Parse(R"(
name: hello
repo: file:///srv/git/hello.git
tag: v1
paths:
  global_app_root: /opt/apps
)"));
  EXPECT_EQ(variables.at("global_app_root"), "/opt/apps");
  EXPECT_EQ(variables.at("app_root"), "/opt/apps/hello");
  EXPECT_EQ(variables.at("app_dir"), "/opt/apps/hello/app");
  EXPECT_EQ(variables.at("app_data_dir"), "/opt/apps/hello/data");
  EXPECT_EQ(variables.at("uv_location"), "/opt/apps/uv");
}

TEST(RoleVariablesTest, EveryPathOverridden_EachVariableIsItsOverride) {
  const Variables variables = RoleVariables(Parse(R"(
name: hello
repo: file:///srv/git/hello.git
tag: v1
paths:
  global_app_root: /g
  app_root: /r
  app_dir: /d
  app_code_dir: /c
  app_config_dir: /cfg
  app_config: /cfg/app.yaml
  app_data_dir: /data
  uv_location: /usr/local/bin/uv
)"));
  EXPECT_EQ(variables.at("global_app_root"), "/g");
  EXPECT_EQ(variables.at("app_root"), "/r");
  EXPECT_EQ(variables.at("app_dir"), "/d");
  EXPECT_EQ(variables.at("app_code_dir"), "/c");
  EXPECT_EQ(variables.at("app_config_dir"), "/cfg");
  EXPECT_EQ(variables.at("app_config"), "/cfg/app.yaml");
  EXPECT_EQ(variables.at("app_data_dir"), "/data");
  EXPECT_EQ(variables.at("uv_location"), "/usr/local/bin/uv");
  EXPECT_EQ(variables.at("uv_run"),
            "env UV_PROJECT_ENVIRONMENT=/c/.venv UV_PYTHON_INSTALL_DIR=/d/uv/python"
            " UV_CACHE_DIR=/d/uv/cache /usr/local/bin/uv run --frozen --directory /c");
}

TEST(RoleVariablesTest, UvIsolate_UvLocationIsTheAppsOwnBinary) {
  const Variables variables = RoleVariables(Parse(R"(
name: hello
repo: file:///srv/git/hello.git
tag: v1
paths:
  uv_isolate: true
)"));
  EXPECT_EQ(variables.at("uv_location"), "/applications/hello/app/uv/uv");
  EXPECT_THAT(variables.at("uv_run"),
              HasSubstr(" /applications/hello/app/uv/uv run --frozen "));
}

// --- ExpandTemplate ------------------------------------------------------

const Variables& TestVariables() {
  static const Variables* const kVariables = new Variables{
      {"x", "X"},
      {"app_name", "hello"},
      {"app_dir", "/applications/hello/app"},
      {"braces", "{{ x }}"},
  };
  return *kVariables;
}

TEST(ExpandTemplateTest, NoWhitespaceInsideBraces_Expands) {
  EXPECT_EQ(ExpandTemplate("{{x}}", TestVariables()).value(), "X");
}

TEST(ExpandTemplateTest, OneSpaceInsideBraces_Expands) {
  EXPECT_EQ(ExpandTemplate("{{ x }}", TestVariables()).value(), "X");
}

TEST(ExpandTemplateTest, SeveralSpacesInsideBraces_Expands) {
  EXPECT_EQ(ExpandTemplate("{{  app_name  }}", TestVariables()).value(), "hello");
}

TEST(ExpandTemplateTest, TabsInsideBraces_Expands) {
  EXPECT_EQ(ExpandTemplate("{{\tapp_name\t}}", TestVariables()).value(), "hello");
}

TEST(ExpandTemplateTest, SurroundingTextIsKept) {
  EXPECT_EQ(ExpandTemplate("Run {{ app_name }} now", TestVariables()).value(),
            "Run hello now");
}

TEST(ExpandTemplateTest, MultipleVariables_AllExpandInOrder) {
  EXPECT_EQ(ExpandTemplate("{{ app_dir }}/{{app_name}}.conf for {{ x }}", TestVariables())
                .value(),
            "/applications/hello/app/hello.conf for X");
}

TEST(ExpandTemplateTest, AdjacentVariables_BothExpand) {
  EXPECT_EQ(ExpandTemplate("{{x}}{{x}}{{ app_name }}", TestVariables()).value(), "XXhello");
}

TEST(ExpandTemplateTest, SameVariableTwice_ExpandsBothTimes) {
  EXPECT_EQ(ExpandTemplate("{{ x }}-{{ x }}", TestVariables()).value(), "X-X");
}

TEST(ExpandTemplateTest, TextWithoutTemplates_IsUnchanged) {
  const std::string text = "python -m hello --port 8000 {single} } }} {";
  EXPECT_EQ(ExpandTemplate(text, TestVariables()).value(), text);
}

TEST(ExpandTemplateTest, EmptyText_IsEmpty) {
  EXPECT_EQ(ExpandTemplate("", TestVariables()).value(), "");
}

TEST(ExpandTemplateTest, ValueContainingBraces_IsNotExpandedAgain) {
  EXPECT_EQ(ExpandTemplate("{{ braces }}", TestVariables()).value(), "{{ x }}");
}

TEST(ExpandTemplateTest, UnknownVariable_IsInvalidArgumentNamingIt) {
  const absl::StatusOr<std::string> result =
      ExpandTemplate("python -m {{ app_modul }}", TestVariables());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(), HasSubstr("unknown variable \"app_modul\""));
}

TEST(ExpandTemplateTest, UnknownVariable_MessageListsTheKnownOnes) {
  const absl::StatusOr<std::string> result = ExpandTemplate("{{ nope }}", TestVariables());
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(), HasSubstr("known: app_dir, app_name, braces, x"));
}

TEST(ExpandTemplateTest, UnknownVariableAfterAKnownOne_IsStillAnError) {
  const absl::StatusOr<std::string> result =
      ExpandTemplate("{{ x }} and {{ y }}", TestVariables());
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(), HasSubstr("\"y\""));
}

TEST(ExpandTemplateTest, EmptyBraces_AreAnUnknownEmptyName) {
  const absl::StatusOr<std::string> result = ExpandTemplate("a {{ }} b", TestVariables());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(), HasSubstr("unknown variable \"\""));
}

TEST(ExpandTemplateTest, UnclosedBraces_IsInvalidArgumentWithOffset) {
  const absl::StatusOr<std::string> result =
      ExpandTemplate("abc {{ app_name", TestVariables());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(), HasSubstr("unclosed \"{{\" at offset 4"));
}

TEST(ExpandTemplateTest, UnclosedBracesAfterAGoodTemplate_IsAnError) {
  const absl::StatusOr<std::string> result =
      ExpandTemplate("{{ x }} then {{ x }", TestVariables());
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(), HasSubstr("unclosed \"{{\" at offset 13"));
}

TEST(ExpandTemplateTest, UnknownNameWithControlCharacters_IsEscapedInTheMessage) {
  const absl::StatusOr<std::string> result =
      ExpandTemplate("{{ a\nb }}", TestVariables());
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(), HasSubstr("unknown variable \"a\\nb\""));
}

// --- ExpandSpec ----------------------------------------------------------

constexpr absl::string_view kTemplated = R"(
name: hello
repo: file:///srv/git/hello.git
tag: v1
services:
  - name: web
    description: "Run the web interface for {{ app_name }}"
    command: "{{ uv_run }} python -m {{ app_module }} --config {{ app_config }} web"
timers:
  - name: report
    description: "Weekly report of {{app_name}}"
    schedule: "Mon, 02:00"
    command: "python -m {{ app_module }} report --out {{ app_data_dir }}"
files:
  - dest: "{{ app_config_dir }}/greeting.txt"
    content: "Hello from {{ app_name }}\n"
    mode: "0640"
config:
  port: 8000
  port_text: "8000"
  greeting_file: "{{ app_config_dir }}/greeting.txt"
  nested:
    data_dir: "{{ app_data_dir }}"
    dirs: ["{{ app_dir }}", plain]
)";

TEST(ExpandSpecTest, ServiceDescriptionAndCommand_AreExpanded) {
  const v1::AppSpec expanded = ExpandSpec(Parse(kTemplated)).value();
  ASSERT_EQ(expanded.services_size(), 1);
  EXPECT_EQ(expanded.services(0).description(), "Run the web interface for hello");
  EXPECT_EQ(expanded.services(0).command(),
            "env UV_PROJECT_ENVIRONMENT=/applications/hello/app/code/.venv"
            " UV_PYTHON_INSTALL_DIR=/applications/hello/app/uv/python"
            " UV_CACHE_DIR=/applications/hello/app/uv/cache"
            " /applications/uv run --frozen --directory /applications/hello/app/code"
            " python -m hello --config /applications/hello/app/config/config.yaml web");
}

TEST(ExpandSpecTest, TimerDescriptionAndCommand_AreExpandedAndScheduleKept) {
  const v1::AppSpec expanded = ExpandSpec(Parse(kTemplated)).value();
  ASSERT_EQ(expanded.timers_size(), 1);
  EXPECT_EQ(expanded.timers(0).description(), "Weekly report of hello");
  EXPECT_EQ(expanded.timers(0).command(),
            "python -m hello report --out /applications/hello/data");
  EXPECT_EQ(expanded.timers(0).schedule(), "Mon, 02:00");
}

TEST(ExpandSpecTest, FileDestAndContent_AreExpandedAndModeKept) {
  const v1::AppSpec expanded = ExpandSpec(Parse(kTemplated)).value();
  ASSERT_EQ(expanded.files_size(), 1);
  EXPECT_EQ(expanded.files(0).dest(), "/applications/hello/app/config/greeting.txt");
  EXPECT_EQ(expanded.files(0).content(), "Hello from hello\n");
  EXPECT_EQ(expanded.files(0).mode(), 0640u);
}

TEST(ExpandSpecTest, TheInputSpecIsLeftUnexpanded) {
  const v1::AppSpec spec = Parse(kTemplated);
  ASSERT_TRUE(ExpandSpec(spec).ok());
  EXPECT_EQ(spec.services(0).description(), "Run the web interface for {{ app_name }}");
  EXPECT_THAT(spec.config_yaml(), HasSubstr("{{ app_config_dir }}"));
}

TEST(ExpandSpecTest, ConfigValues_AreExpandedAtEveryDepth) {
  const v1::AppSpec expanded = ExpandSpec(Parse(kTemplated)).value();
  const YAML::Node config = YAML::Load(expanded.config_yaml());
  EXPECT_EQ(config["greeting_file"].Scalar(), "/applications/hello/app/config/greeting.txt");
  EXPECT_EQ(config["nested"]["data_dir"].Scalar(), "/applications/hello/data");
  EXPECT_EQ(config["nested"]["dirs"][0].Scalar(), "/applications/hello/app");
  EXPECT_EQ(config["nested"]["dirs"][1].Scalar(), "plain");
  EXPECT_THAT(expanded.config_yaml(), ::testing::Not(HasSubstr("{{")));
}

TEST(ExpandSpecTest, TemplatedConfigValues_BecomeQuotedStrings) {
  const v1::AppSpec expanded = ExpandSpec(Parse(kTemplated)).value();
  EXPECT_THAT(expanded.config_yaml(),
              HasSubstr("greeting_file: \"/applications/hello/app/config/greeting.txt\"\n"));
  EXPECT_THAT(expanded.config_yaml(), HasSubstr("data_dir: \"/applications/hello/data\"\n"));
  const YAML::Node config = YAML::Load(expanded.config_yaml());
  // yaml-cpp tags quoted scalars "!" and plain ones "?".
  EXPECT_EQ(config["greeting_file"].Tag(), "!");
  EXPECT_EQ(config["nested"]["data_dir"].Tag(), "!");
}

TEST(ExpandSpecTest, PlainNumberInConfig_StaysAPlainNumber) {
  const v1::AppSpec expanded = ExpandSpec(Parse(kTemplated)).value();
  EXPECT_THAT(expanded.config_yaml(), HasSubstr("\nport: 8000\n"));
  const YAML::Node config = YAML::Load(expanded.config_yaml());
  EXPECT_EQ(config["port"].Tag(), "?");
  EXPECT_EQ(config["port"].as<int>(), 8000);
}

TEST(ExpandSpecTest, QuotedNumberInConfig_StaysQuoted) {
  const v1::AppSpec expanded = ExpandSpec(Parse(kTemplated)).value();
  EXPECT_THAT(expanded.config_yaml(), HasSubstr("port_text: \"8000\"\n"));
  EXPECT_EQ(YAML::Load(expanded.config_yaml())["port_text"].Tag(), "!");
}

TEST(ExpandSpecTest, SpecWithoutConfig_HasNoConfigAfterExpansion) {
  const v1::AppSpec expanded = ExpandSpec(Parse(kMinimal)).value();
  EXPECT_EQ(expanded.config_yaml(), "");
}

TEST(ExpandSpecTest, SpecWithoutTemplates_IsUnchanged) {
  const v1::AppSpec spec = Parse(R"(
name: hello
repo: file:///srv/git/hello.git
tag: v1
services:
  - name: web
    command: python -m hello web
)");
  const v1::AppSpec expanded = ExpandSpec(spec).value();
  EXPECT_TRUE(MessageDifferencer::Equals(expanded, spec));
}

TEST(ExpandSpecTest, PathOverrides_AreUsedForExpansion) {
  const v1::AppSpec expanded = ExpandSpec(Parse(R"(
name: hello
repo: file:///srv/git/hello.git
tag: v1
services:
  - name: web
    command: "python -m {{ app_module }} --config {{ app_config }}"
paths:
  app_root: /srv/hello
)")).value();
  EXPECT_EQ(expanded.services(0).command(),
            "python -m hello --config /srv/hello/app/config/config.yaml");
}

TEST(ExpandSpecTest, UnknownVariableInACommand_NamesTheFieldAndVariable) {
  // The parser refuses such a spec; ExpandSpec must still fail cleanly on a
  // spec that did not come through it.
  v1::AppSpec spec = Parse(kMinimal);
  spec.add_services()->set_command("python -m {{ app_modul }}");
  const absl::StatusOr<v1::AppSpec> expanded = ExpandSpec(spec);
  ASSERT_FALSE(expanded.ok());
  EXPECT_EQ(expanded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(expanded.status().message(), HasSubstr("services[0].command: "));
  EXPECT_THAT(expanded.status().message(), HasSubstr("\"app_modul\""));
}

TEST(ExpandSpecTest, BadTemplateInFileContent_NamesTheFieldButNotTheContent) {
  v1::AppSpec spec = Parse(kMinimal);
  v1::File* file = spec.add_files();
  file->set_dest("/applications/hello/data/secret");
  file->set_content("password=hunter2 {{ broken");
  const absl::StatusOr<v1::AppSpec> expanded = ExpandSpec(spec);
  ASSERT_FALSE(expanded.ok());
  EXPECT_THAT(expanded.status().message(), HasSubstr("files[0].content: unclosed"));
  EXPECT_THAT(expanded.status().message(), ::testing::Not(HasSubstr("hunter2")));
}

TEST(ExpandSpecTest, UnknownVariableInConfig_NamesTheConfigField) {
  v1::AppSpec spec = Parse(kMinimal);
  spec.set_config_yaml("db:\n  path: \"{{ nowhere }}\"\n");
  const absl::StatusOr<v1::AppSpec> expanded = ExpandSpec(spec);
  ASSERT_FALSE(expanded.ok());
  EXPECT_EQ(expanded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(expanded.status().message(), HasSubstr("config.db.path: "));
  EXPECT_THAT(expanded.status().message(), HasSubstr("\"nowhere\""));
}

}  // namespace
}  // namespace pyservice::spec

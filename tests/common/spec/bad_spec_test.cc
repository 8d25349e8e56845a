// Every way an app.yaml can be wrong that we know of, each asserting the
// exact "file:line:col: field: message" the operator sees. The table is the
// specification of our error messages: change a message here first.
#include <string>

#include "absl/strings/str_cat.h"
#include "common/spec/app_spec_parser.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pyservice::spec {
namespace {

using ::testing::HasSubstr;

// A valid app; cases append or replace lines to break exactly one thing.
constexpr char kHead[] = "name: hello\nrepo: file:///srv/git/hello.git\ntag: v1\n";

struct BadSpec {
  const char* case_name;
  std::string yaml;
  // Expected to appear in the error, location included.
  std::string error;
};

// Readable test failure output instead of a byte dump.
void PrintTo(const BadSpec& bad, std::ostream* os) { *os << bad.case_name; }

std::string WithHead(absl::string_view rest) { return absl::StrCat(kHead, rest); }

std::vector<BadSpec> BadSpecs() {
  return {
      // The document as a whole.
      {"Empty", "", "app.yaml:1:1: document is empty"},
      {"OnlyComments", "# nothing here\n", "app.yaml:1:1: document is empty"},
      {"RootIsList", "- name: hello\n", "app.yaml:1:1: the document must be a mapping"},
      {"RootIsScalar", "hello\n", "app.yaml:1:1: the document must be a mapping"},
      {"TwoDocuments", WithHead("---\nname: other\n"),
       "app.yaml:5:1: one app per file: found a second YAML document"},
      {"TabIndentation", "name: hello\nservices:\n\t- name: web\n", "app.yaml:3:"},
      {"DuplicateTopLevelKey", WithHead("name: again\n"), "app.yaml:4:1: name: duplicate key"},
      {"UnknownKeySuggestsFix", WithHead("servces: []\n"),
       "app.yaml:4:1: servces: unknown key (did you mean \"services\"?)"},
      {"UnknownKeyListsKeys", WithHead("colour: blue\n"),
       "app.yaml:4:1: colour: unknown key (expected one of: name, module"},
      // Required fields.
      {"MissingName", "repo: file:///srv/git/hello.git\ntag: v1\n", "app.yaml:1:1: name: required"},
      {"MissingRepo", "name: hello\ntag: v1\n", "app.yaml:1:1: repo: required"},
      {"MissingTag", "name: hello\nrepo: file:///srv/git/hello.git\n",
       "app.yaml:1:1: tag: required"},
      // Names.
      {"NameUppercase", "name: Hello\nrepo: file:///r.git\ntag: v1\n",
       "app.yaml:1:7: name: \"Hello\" must match [a-z][a-z0-9-]*"},
      {"NameLeadingDigit", "name: 1hello\nrepo: file:///r.git\ntag: v1\n",
       "app.yaml:1:7: name: \"1hello\" must match [a-z][a-z0-9-]*"},
      {"NameUnderscore", "name: my_app\nrepo: file:///r.git\ntag: v1\n",
       "app.yaml:1:7: name: \"my_app\" must match"},
      {"NameTooLong", absl::StrCat("name: ", std::string(33, 'a'), "\nrepo: file:///r.git\ntag: v1\n"),
       "app.yaml:1:7: name: \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\" is longer than 32 characters"},
      {"NameIsAList", "name: [a, b]\nrepo: file:///r.git\ntag: v1\n",
       "app.yaml:1:7: name: must be a string, not a list"},
      {"ModuleWithDash", WithHead("module: my-module\n"),
       "app.yaml:4:9: module: must be a Python module name"},
      {"UserLeadingDigit", WithHead("user: 1abc\n"),
       "app.yaml:4:7: user: \"1abc\" must match [a-zA-Z_][a-zA-Z0-9_.-]*$?"},
      {"UserLeadingDash", WithHead("user: \"-x\"\n"), "app.yaml:4:7: user: \"-x\" must match"},
      {"GroupWithColon", WithHead("group: \"a:b\"\n"), "app.yaml:4:8: group: \"a:b\" must match"},
      {"EnsureUserYes", WithHead("ensure_user: yes\n"),
       "app.yaml:4:14: ensure_user: \"yes\" must be true or false"},
      // Repo and tag.
      {"RepoLooksLikeOption",
       "name: hello\nrepo: \"-oProxyCommand=touch /tmp/x\"\ntag: v1\n",
       "app.yaml:2:7: repo: \"-oProxyCommand=touch /tmp/x\" must not start with '-'"},
      {"RepoExtTransport", "name: hello\nrepo: \"ext::sh\"\ntag: v1\n",
       "app.yaml:2:7: repo: \"ext::sh\": transport helpers"},
      {"RepoPlainHttp", "name: hello\nrepo: http://git.example.com/x.git\ntag: v1\n",
       "app.yaml:2:7: repo: \"http://git.example.com/x.git\" is not a supported repo URL"},
      {"RepoRelativeFile", "name: hello\nrepo: file://srv/x.git\ntag: v1\n",
       "app.yaml:2:7: repo: \"file://srv/x.git\": file:// URLs need an absolute path"},
      {"TagLeadingDash", "name: hello\nrepo: file:///r.git\ntag: \"-v1\"\n",
       "app.yaml:3:6: tag: \"-v1\" must not start with '-'"},
      {"TagWithSpace", "name: hello\nrepo: file:///r.git\ntag: \"v1 2\"\n",
       "app.yaml:3:6: tag: \"v1 2\" is not a valid tag, branch or commit: whitespace"},
      {"TagDotDot", "name: hello\nrepo: file:///r.git\ntag: v1..2\n",
       "app.yaml:3:6: tag: \"v1..2\" is not a valid tag, branch or commit: contains \"..\""},
      {"TagLockSuffix", "name: hello\nrepo: file:///r.git\ntag: v1.lock\n",
       "ends with \".lock\""},
      {"UvVersionWord", WithHead("uv_version: latest\n"),
       "app.yaml:4:13: uv_version: \"latest\" is not a version like \"0.5.1\""},
      {"SshKeyNotAKey", WithHead("ssh_key: hunter2-not-a-key\n"),
       "app.yaml:4:10: ssh_key: must be a PEM or OpenSSH private key"},
      // Services and timers.
      {"ServicesNotAList", WithHead("services:\n  web: {command: x}\n"),
       "app.yaml:5:3: services: must be a list"},
      {"ServiceNameUppercase", WithHead("services:\n  - name: Web\n    command: x\n"),
       "app.yaml:5:11: services[0].name: \"Web\" must match [a-z][a-z0-9-]*"},
      {"ServiceMissingCommand", WithHead("services:\n  - name: web\n"),
       "app.yaml:5:5: services[0].command: required"},
      {"ServiceKeyTypo", WithHead("services:\n  - name: web\n    comand: x\n"),
       "app.yaml:6:5: services[0].comand: unknown key (did you mean \"command\"?)"},
      {"ServiceCommandNewline", WithHead("services:\n  - name: web\n    command: \"a\\nb\"\n"),
       "app.yaml:6:14: services[0].command: command must be a single line"},
      {"ServiceDescriptionNul",
       WithHead("services:\n  - name: web\n    description: \"a\\0b\"\n    command: x\n"),
       "app.yaml:6:18: services[0].description: description must not contain control characters"},
      {"DuplicateServices",
       WithHead("services:\n  - name: web\n    command: x\n  - name: web\n    command: y\n"),
       "app.yaml:7:5: services[1].name: \"web\" is used twice: unit hello-web.service"},
      {"ServiceAndTimerClash",
       WithHead("services:\n  - name: job\n    command: x\ntimers:\n  - name: job\n"
                "    schedule: daily\n    command: y\n"),
       "app.yaml:8:5: timers[0].name: \"job\" is used twice"},
      {"TimerBadHour", WithHead("timers:\n  - name: report\n    schedule: \"25:00\"\n    command: x\n"),
       "app.yaml:6:15: timers[0].schedule: "},
      {"TimerBadWeekday", WithHead("timers:\n  - name: report\n    schedule: \"Mo 02:00\"\n    command: x\n"),
       "app.yaml:6:15: timers[0].schedule: "},
      {"TimerMissingSchedule", WithHead("timers:\n  - name: report\n    command: x\n"),
       "app.yaml:5:5: timers[0].schedule: required"},
      // Templates.
      {"UnknownVariableInCommand",
       WithHead("services:\n  - name: web\n    command: \"python -m {{ app_nme }}\"\n"),
       "app.yaml:6:14: services[0].command: unknown variable \"app_nme\" (known: app_code_dir"},
      {"UnclosedTemplate", WithHead("services:\n  - name: web\n    command: \"run {{ app_name\"\n"),
       "app.yaml:6:14: services[0].command: unclosed \"{{\" at offset 4"},
      {"UnknownVariableInConfig", WithHead("config:\n  db:\n    path: \"{{ data_dir }}/db\"\n"),
       "app.yaml:6:11: config.db.path: unknown variable \"data_dir\""},
      {"UnknownVariableInFileContent",
       WithHead("files:\n  - dest: \"{{ app_config_dir }}/x\"\n    content: \"{{ secret }}\"\n"),
       "app.yaml:6:14: files[0].content: unknown variable \"secret\""},
      // Files.
      {"FileModeNotOctal", WithHead("files:\n  - dest: /applications/hello/app/config/x\n"
                                    "    content: x\n    mode: \"0999\"\n"),
       "app.yaml:7:11: files[0].mode: \"0999\" must be an octal mode of 3-4 digits"},
      {"FileModeSetuid", WithHead("files:\n  - dest: /applications/hello/app/config/x\n"
                                  "    content: x\n    mode: \"4755\"\n"),
       "app.yaml:7:11: files[0].mode: \"4755\": setuid, setgid and sticky bits are not allowed"},
      {"FileModeTooShort", WithHead("files:\n  - dest: /applications/hello/app/config/x\n"
                                    "    content: x\n    mode: \"64\"\n"),
       "files[0].mode: \"64\" must be an octal mode"},
      {"FileOutsideTree", WithHead("files:\n  - dest: /etc/passwd\n    content: x\n"),
       "app.yaml:5:11: files[0].dest: \"/etc/passwd\" is outside the app's tree (/applications/hello/...)"},
      {"FileDotDotEscape",
       WithHead("files:\n  - dest: \"{{ app_dir }}/../../../etc/cron.d/x\"\n    content: x\n"),
       "app.yaml:5:11: files[0].dest: \"/applications/hello/app/../../../etc/cron.d/x\" must be normalized"},
      {"FileRelativeDest", WithHead("files:\n  - dest: config/x\n    content: x\n"),
       "app.yaml:5:11: files[0].dest: \"config/x\" must be an absolute path"},
      {"FileInCodeDir", WithHead("files:\n  - dest: \"{{ app_code_dir }}/x.py\"\n    content: x\n"),
       "files[0].dest: \"/applications/hello/app/code/x.py\" is inside the code checkout"},
      {"FileWrittenTwice",
       WithHead("files:\n  - dest: /applications/hello/data/x\n    content: a\n"
                "  - dest: /applications/hello/data/x\n    content: b\n"),
       "app.yaml:7:11: files[1].dest: \"/applications/hello/data/x\" is written twice"},
      {"FileOverwritesConfig",
       WithHead("config: {a: 1}\nfiles:\n  - dest: \"{{ app_config }}\"\n    content: x\n"),
       "is the config file written from config:"},
      {"FileMissingContent", WithHead("files:\n  - dest: /applications/hello/data/x\n"),
       "app.yaml:5:5: files[0].content: required"},
      // Config.
      {"ConfigIsAList", WithHead("config:\n  - a\n"),
       "app.yaml:5:3: config: must be a mapping (it becomes config.yaml)"},
      {"ConfigAliasBomb",
       WithHead("config:\n  a: &a [x, x, x, x, x, x, x, x, x, x]\n  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                "  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n  d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                "  e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n  f: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"),
       "config: more than 100000 values (counting aliases): refusing an alias bomb"},
      // Health and rollout.
      {"DurationWithoutUnit", WithHead("health:\n  min_healthy: 10\n"),
       "app.yaml:5:16: health.min_healthy: \"10\" is not a duration like \"10s\""},
      {"DurationBadUnit", WithHead("health:\n  deadline: 1x\n"),
       "app.yaml:5:13: health.deadline: \"1x\" is not a duration"},
      {"DeadlineShorterThanMinHealthy", WithHead("health:\n  min_healthy: 30s\n  deadline: 20s\n"),
       "app.yaml:6:13: health.deadline: 20s must be longer than min_healthy (30s)"},
      {"HealthUrlNotHttp", WithHead("health:\n  http: ftp://x/healthz\n"),
       "app.yaml:5:9: health.http: \"ftp://x/healthz\" must be an http:// URL"},
      {"CanaryOver100", WithHead("rollout:\n  canary: 110%\n"),
       "app.yaml:5:11: rollout.canary: \"110%\" must be a percentage from 0% to 100%"},
      {"CanaryCount", WithHead("rollout:\n  canary: 5\n"),
       "app.yaml:5:11: rollout.canary: \"5\" must be a percentage (\"10%\")"},
      {"BatchZeroPercent", WithHead("rollout:\n  batch: 0%\n"),
       "app.yaml:5:10: rollout.batch: must be at least 1%"},
      {"BatchNegative", WithHead("rollout:\n  batch: -1\n"),
       "app.yaml:5:10: rollout.batch: \"-1\" must be a percentage (\"25%\") or a host count"},
      {"AutoPromoteString", WithHead("rollout:\n  auto_promote: \"true\"\n"),
       "app.yaml:5:17: rollout.auto_promote: \"true\" must be true or false"},
      // Targets.
      {"LabelsNotAMapping", WithHead("targets:\n  labels: [web]\n"),
       "app.yaml:5:11: targets.labels: must be a mapping"},
      {"LabelKeyInvalid", WithHead("targets:\n  labels: {\"bad key\": web}\n"),
       "targets.labels.bad key: label key \"bad key\" must start with a letter or digit"},
      {"LabelValueNested", WithHead("targets:\n  labels:\n    role: {a: b}\n"),
       "app.yaml:6:11: targets.labels.role: must be a string, not a mapping"},
      {"TargetsUnknownKey", WithHead("targets:\n  hosts: [a]\n"),
       "app.yaml:5:3: targets.hosts: unknown key"},
      // Paths.
      {"PathRelative", WithHead("paths:\n  app_root: srv/hello\n"),
       "app.yaml:5:13: paths.app_root: \"srv/hello\" must be an absolute path"},
      {"PathNotNormalized", WithHead("paths:\n  app_dir: /srv/../hello\n"),
       "app.yaml:5:12: paths.app_dir: \"/srv/../hello\" must be normalized"},
      {"PathWithSpace", WithHead("paths:\n  app_root: \"/srv/my app\"\n"),
       "paths.app_root: \"/srv/my app\" must not contain whitespace"},
      {"PathIsRoot", WithHead("paths:\n  global_app_root: /\n"),
       "app.yaml:5:20: paths.global_app_root: must not be \"/\""},
      {"PathsUnknownKey", WithHead("paths:\n  app_home: /srv\n"),
       "app.yaml:5:3: paths.app_home: unknown key"},
      {"UvIsolateString", WithHead("paths:\n  uv_isolate: maybe\n"),
       "app.yaml:5:15: paths.uv_isolate: \"maybe\" must be true or false"},
      // Required fields that are empty or blank.
      {"NameBlank", "name: \"  \"\nrepo: file:///r.git\ntag: v1\n",
       "app.yaml:1:7: name: must not be blank (only whitespace)"},
      {"RepoEmpty", "name: hello\nrepo: \"\"\ntag: v1\n", "app.yaml:2:7: repo: must not be empty"},
      {"TagBlank", "name: hello\nrepo: file:///r.git\ntag: \" \"\n",
       "app.yaml:3:6: tag: must not be blank (only whitespace)"},
      {"ServiceNameEmpty", WithHead("services:\n  - name: \"\"\n    command: x\n"),
       "app.yaml:5:11: services[0].name: must not be empty"},
      {"ServiceCommandEmpty", WithHead("services:\n  - name: web\n    command: \"\"\n"),
       "app.yaml:6:14: services[0].command: must not be empty"},
      {"ServiceCommandBlank", WithHead("services:\n  - name: web\n    command: \"  \\t \"\n"),
       "app.yaml:6:14: services[0].command: must not be blank (only whitespace)"},
      {"TimerNameBlank", WithHead("timers:\n  - name: \" \"\n    schedule: daily\n    command: x\n"),
       "app.yaml:5:11: timers[0].name: must not be blank (only whitespace)"},
      {"TimerScheduleEmpty", WithHead("timers:\n  - name: report\n    schedule: \"\"\n    command: x\n"),
       "app.yaml:6:15: timers[0].schedule: must not be empty"},
      {"TimerCommandBlank", WithHead("timers:\n  - name: report\n    schedule: daily\n    command: \" \"\n"),
       "app.yaml:7:14: timers[0].command: must not be blank (only whitespace)"},
      {"FileDestEmpty", WithHead("files:\n  - dest: \"\"\n    content: x\n"),
       "app.yaml:5:11: files[0].dest: must not be empty"},
      // Syntax errors, located where the construct opens (not at the end of file).
      {"SyntaxError", "name: [hello\n",
       "app.yaml:1:7: YAML syntax error: end of sequence flow not found (the \"[\" opened here is never closed"},
      {"UnterminatedDoubleQuote",
       WithHead("services:\n  - name: web\n    command: \"python -m hello\n    description: x\n"
                "timers: []\n"),
       "app.yaml:6:14: YAML syntax error: "},
      {"UnterminatedSingleQuote",
       WithHead("services:\n  - name: web\n    description: 'it''s the web\n    command: x\n"),
       "app.yaml:6:18: YAML syntax error: "},
      {"UnclosedBrace", WithHead("targets:\n  labels: {role: web\nhealth:\n  deadline: 2m\n"),
       "app.yaml:5:11: YAML syntax error: "},
      {"UnclosedBracket", WithHead("services: [\n  {name: web, command: x}\nfiles: []\n"),
       "app.yaml:4:11: YAML syntax error: "},
      // The spec policy (an empty admin policy: no exceptions).
      {"UserRoot", WithHead("user: root\n"),
       "app.yaml:4:7: user: \"root\" is not allowed: the app's units would run as root"},
      {"NameRootMakesUserRoot", "name: root\nrepo: file:///r.git\ntag: v1\n",
       "app.yaml:1:7: user: \"root\" is not allowed"},
      {"UserSystemAccount", WithHead("user: www-data\n"),
       "app.yaml:4:7: user: \"www-data\" is not allowed: it is a system account"},
      {"UserPostgres", WithHead("user: postgres\n"),
       "app.yaml:4:7: user: \"postgres\" is not allowed: it is a system account"},
      {"GroupSudo", WithHead("group: sudo\n"),
       "app.yaml:4:8: group: \"sudo\" is not allowed: it is a privileged system group"},
      {"GroupDocker", WithHead("group: docker\n"), "app.yaml:4:8: group: \"docker\" is not allowed"},
      {"GroupRoot", WithHead("group: root\n"), "app.yaml:4:8: group: \"root\" is not allowed"},
      {"GroupAdm", WithHead("group: adm\n"), "app.yaml:4:8: group: \"adm\" is not allowed"},
      {"EnsureUserFalseNotAllowed", WithHead("user: svc\nensure_user: false\n"),
       "app.yaml:5:14: ensure_user: false names an existing account, \"svc\", which the admin's "
       "spec_policy.allow_users does not list"},
      {"AppRootUnderEtc", WithHead("paths:\n  app_root: /etc/hello\n"),
       "app.yaml:5:13: paths.app_root: \"/etc/hello\" is not allowed: it is inside the system "
       "directory /etc"},
      {"AppRootIsVarLib", WithHead("paths:\n  app_root: /var/lib\n"),
       "app.yaml:5:13: paths.app_root: \"/var/lib\" is not allowed: it is a system directory"},
      {"GlobalRootIsUsr", WithHead("paths:\n  global_app_root: /usr\n"),
       "app.yaml:5:20: paths.global_app_root: \"/usr\" is not allowed: it is the system directory /usr"},
      {"GlobalRootIsVarLib", WithHead("paths:\n  global_app_root: /var/lib\n"),
       "app.yaml:5:20: paths.global_app_root: \"/var/lib\" is not allowed: it is a system directory"},
      {"AppDirOutsideRoot", WithHead("paths:\n  app_dir: /srv/other\n"),
       "app.yaml:5:12: paths.app_dir: \"/srv/other\" is outside the app root (/applications/hello/...)"},
      {"ConfigDirOutsideRoot", WithHead("paths:\n  app_config_dir: /etc/hello\n"),
       "app.yaml:5:19: paths.app_config_dir: \"/etc/hello\" is outside the app root"},
      {"DataDirIsTheRootsParent", WithHead("paths:\n  app_data_dir: /applications\n"),
       "app.yaml:5:17: paths.app_data_dir: \"/applications\" is outside the app root"},
      {"UvLocationOutsideRoot", WithHead("paths:\n  uv_location: /usr/local/bin/uv\n"),
       "app.yaml:5:16: paths.uv_location: \"/usr/local/bin/uv\" is outside the app root"},
      {"AppDirDotDotEscape", WithHead("paths:\n  app_dir: /applications/hello/../other\n"),
       "app.yaml:5:12: paths.app_dir: \"/applications/hello/../other\" must be normalized"},
      {"FileTemplateEscapesToAnotherApp",
       WithHead("files:\n  - dest: \"{{ global_app_root }}/other/app/config/x\"\n    content: x\n"),
       "app.yaml:5:11: files[0].dest: \"/applications/other/app/config/x\" is outside the app's tree"},
      {"FileTemplateEscapesIntoSharedUv",
       WithHead("files:\n  - dest: \"{{ uv_location }}/x\"\n    content: x\n"),
       "app.yaml:5:11: files[0].dest: \"/applications/uv/x\" is outside the app's tree"},
      {"FileTemplateDotDotEscape",
       WithHead("files:\n  - dest: \"{{ app_root }}/../../etc/sudoers.d/x\"\n    content: x\n"),
       "app.yaml:5:11: files[0].dest: \"/applications/hello/../../etc/sudoers.d/x\" must be normalized"},
  };
}

class BadSpecTest : public ::testing::TestWithParam<BadSpec> {};

TEST_P(BadSpecTest, IsRefusedWithLocatedMessage) {
  const BadSpec& bad = GetParam();
  // As `pyctl apply` parses: the spec policy too, with no admin exceptions.
  absl::StatusOr<v1::AppSpec> spec = ParseAppSpec(bad.yaml, "app.yaml", SpecPolicy{});
  ASSERT_FALSE(spec.ok()) << "accepted:\n" << bad.yaml;
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(spec.status().message()), HasSubstr(bad.error));
}

INSTANTIATE_TEST_SUITE_P(Corpus, BadSpecTest, ::testing::ValuesIn(BadSpecs()),
                         [](const ::testing::TestParamInfo<BadSpec>& info) {
                           return std::string(info.param.case_name);
                         });

TEST(BadSpecCorpus, HasAtLeastFortyCases) { EXPECT_GE(BadSpecs().size(), 40u); }

TEST(BadSpec, ReportsEveryProblemInDocumentOrder) {
  const std::string yaml =
      "name: Hello\n"
      "repo: file:///r.git\n"
      "tag: v1\n"
      "services:\n"
      "  - name: Web\n"
      "    command: x\n"
      "health:\n"
      "  deadline: soon\n";
  absl::StatusOr<v1::AppSpec> spec = ParseAppSpec(yaml, "hello.yaml");
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(std::string(spec.status().message()),
            "hello.yaml:1:7: name: \"Hello\" must match [a-z][a-z0-9-]*\n"
            "hello.yaml:5:11: services[0].name: \"Web\" must match [a-z][a-z0-9-]*\n"
            "hello.yaml:8:13: health.deadline: \"soon\" is not a duration like \"10s\", \"2m\" "
            "or \"1m30s\" (units ms, s, m, h)");
}

TEST(BadSpec, OversizedDocumentIsRefusedBeforeParsing) {
  const std::string yaml = WithHead("config:\n  blob: \"" + std::string(kMaxDocumentBytes, 'x') + "\"\n");
  absl::StatusOr<v1::AppSpec> spec = ParseAppSpec(yaml, "app.yaml");
  ASSERT_FALSE(spec.ok());
  EXPECT_THAT(std::string(spec.status().message()),
              HasSubstr("app.yaml:1:1: document is " + std::to_string(yaml.size()) +
                        " bytes; the limit is 1048576"));
}

TEST(BadSpec, DeepNestingIsRefusedWithoutCrashing) {
  const std::string yaml =
      WithHead("config:\n  deep: " + std::string(10000, '[') + std::string(10000, ']') + "\n");
  absl::StatusOr<v1::AppSpec> spec = ParseAppSpec(yaml, "app.yaml");
  ASSERT_FALSE(spec.ok());
  EXPECT_THAT(std::string(spec.status().message()), HasSubstr("nested too deeply"));
}

TEST(BadSpec, DeepMappingNestingIsRefusedWithoutCrashing) {
  std::string nested;
  for (int depth = 0; depth < 10000; ++depth) nested += "{k: ";
  nested += "v" + std::string(10000, '}');
  absl::StatusOr<v1::AppSpec> spec = ParseAppSpec(WithHead("config: " + nested + "\n"), "app.yaml");
  ASSERT_FALSE(spec.ok());
  EXPECT_THAT(std::string(spec.status().message()), HasSubstr("nested too deeply"));
}

std::string BlockNestedConfig(size_t max_bytes, int max_depth) {
  std::string yaml = WithHead("config:\n");
  for (int depth = 1; depth <= max_depth && yaml.size() < max_bytes; ++depth) {
    absl::StrAppend(&yaml, std::string(depth, ' '), "k:\n");
  }
  return yaml;
}

TEST(BadSpec, DeepBlockNestingIsRefusedWithoutCrashing) {
  absl::StatusOr<v1::AppSpec> spec =
      ParseAppSpec(BlockNestedConfig(kMaxDocumentBytes - 4096, 100000), "app.yaml");
  ASSERT_FALSE(spec.ok());
  EXPECT_THAT(std::string(spec.status().message()), HasSubstr("nested too deeply"));
}

TEST(BadSpec, HundredLevelsOfNestingAreFine) {
  absl::StatusOr<v1::AppSpec> spec = ParseAppSpec(BlockNestedConfig(kMaxDocumentBytes, 100), "app.yaml");
  EXPECT_TRUE(spec.ok()) << spec.status();
}

TEST(BadSpec, SshKeyErrorNeverEchoesTheKey) {
  const std::string secret = "-----BEGIN NOT A KEY tops3cr3t";
  absl::StatusOr<v1::AppSpec> spec =
      ParseAppSpec(WithHead(absl::StrCat("ssh_key: \"", secret, "\"\n")), "app.yaml");
  ASSERT_FALSE(spec.ok());
  EXPECT_THAT(std::string(spec.status().message()), ::testing::Not(HasSubstr("tops3cr3t")));
}

TEST(BadSpec, RepoUrlErrorNeverEchoesItsCredentials) {
  absl::StatusOr<v1::AppSpec> spec = ParseAppSpec(
      "name: hello\nrepo: \"https://deploy:t0ps3cret@git.example\"\ntag: v1\n", "app.yaml");
  ASSERT_FALSE(spec.ok());
  EXPECT_THAT(std::string(spec.status().message()),
              HasSubstr("repo: \"https://***@git.example\": needs a host and a path"));
  EXPECT_THAT(std::string(spec.status().message()), ::testing::Not(HasSubstr("t0ps3cret")));
}

TEST(BadSpec, SourceNameIsThePrefix) {
  absl::StatusOr<v1::AppSpec> spec = ParseAppSpec("name: Bad\n", "deploy/apps/bad.yaml");
  ASSERT_FALSE(spec.ok());
  EXPECT_THAT(std::string(spec.status().message()),
              HasSubstr("deploy/apps/bad.yaml:1:7: name: \"Bad\""));
}

}  // namespace
}  // namespace pyservice::spec

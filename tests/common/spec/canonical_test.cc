#include "common/spec/canonical.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "common/spec/app_spec_parser.h"
#include "common/text/sha256.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "yaml-cpp/yaml.h"

namespace pyservice::spec {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

// The controller's fingerprint key, in tests.
const SecretFingerprinter kFingerprints("test fingerprint key");

v1::AppSpec Parse(absl::string_view yaml) {
  absl::StatusOr<v1::AppSpec> spec = ParseAppSpec(yaml, "app.yaml");
  EXPECT_TRUE(spec.ok()) << spec.status() << "\n" << yaml;
  return spec.ok() ? *spec : v1::AppSpec();
}

constexpr absl::string_view kSshKey =
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
    "-----END OPENSSH PRIVATE KEY-----\n";

// Every kind of field, so that a change to any of them can be tried.
constexpr absl::string_view kFull = R"(
name: hello
module: hello
repo: git@git.example.com:team/hello.git
tag: v1
uv_version: 0.4.30
ssh_key: |
  -----BEGIN OPENSSH PRIVATE KEY-----
  b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
  -----END OPENSSH PRIVATE KEY-----
services:
  - name: web
    description: "Run the web interface for {{ app_name }}"
    command: "python -m {{ app_module }} web"
timers:
  - name: report
    schedule: "Mon, 02:00"
    command: "python -m {{ app_module }} report"
files:
  - dest: "{{ app_config_dir }}/greeting.txt"
    content: "Hello from {{ app_name }}\n"
    mode: "0640"
config:
  port: 8000
  db:
    host: localhost
    name: hello
targets:
  labels: {role: web, env: prod}
health:
  min_healthy: 5s
  http: "http://127.0.0.1:8000/healthz"
rollout:
  canary: 25%
  batch: 50%
)";

// kFull with `from` replaced by `to` (which must occur exactly once).
std::string FullWith(const std::string& from, const std::string& to) {
  const std::string full(kFull);
  EXPECT_EQ(full.find(from), full.rfind(from)) << from << " is ambiguous";
  EXPECT_NE(full.find(from), std::string::npos) << from << " is not in kFull";
  return absl::StrReplaceAll(full, {{from, to}});
}

TEST(CanonicalYamlTest, SameDocumentParsedTwice_GivesIdenticalTextAndDigest) {
  const v1::AppSpec first = Parse(kFull);
  const v1::AppSpec second = Parse(kFull);
  EXPECT_EQ(CanonicalYaml(first), CanonicalYaml(second));
  EXPECT_EQ(RedactedCanonicalYaml(first, kFingerprints), RedactedCanonicalYaml(second, kFingerprints));
  EXPECT_EQ(SpecDigest(first, kFingerprints), SpecDigest(second, kFingerprints));
}

TEST(CanonicalYamlTest, CanonicalTextParsesAsYamlWithDefaultsFilledIn) {
  const std::string text = CanonicalYaml(Parse(R"(
name: hello
repo: file:///srv/git/hello.git
tag: v1
)"));
  const YAML::Node node = YAML::Load(text);
  EXPECT_EQ(node["name"].Scalar(), "hello");
  EXPECT_EQ(node["module"].Scalar(), "hello");
  EXPECT_EQ(node["user"].Scalar(), "hello");
  EXPECT_EQ(node["group"].Scalar(), "hello");
  EXPECT_EQ(node["ensure_user"].Scalar(), "true");
  EXPECT_EQ(node["paths"]["app_root"].Scalar(), "/applications/hello");
  EXPECT_EQ(node["paths"]["uv_location"].Scalar(), "/applications/uv");
  EXPECT_EQ(node["rollout"]["batch"].Scalar(), "25%");
  EXPECT_EQ(node["rollout"]["auto_rollback"].Scalar(), "true");
  EXPECT_EQ(node["health"]["min_healthy"].Scalar(), "10s");
  EXPECT_TRUE(node["services"].IsSequence());
  EXPECT_EQ(node["services"].size(), 0u);
  EXPECT_TRUE(node["config"].IsMap());
  EXPECT_EQ(node["config"].size(), 0u);
  EXPECT_FALSE(node["ssh_key"].IsDefined());
}

TEST(CanonicalYamlTest, TopLevelFieldsComeInAFixedOrder) {
  // Top-level keys start a line; nested ones are indented.
  const std::string text = "\n" + RedactedCanonicalYaml(Parse(kFull), kFingerprints);
  std::vector<size_t> positions;
  for (absl::string_view key :
       {"name:", "module:", "user:", "group:", "ensure_user:", "repo:", "tag:", "uv_version:",
        "ssh_key:", "services:", "timers:", "files:", "config:", "targets:", "health:",
        "rollout:", "paths:"}) {
    positions.push_back(text.find(absl::StrCat("\n", key)));
    EXPECT_NE(positions.back(), std::string::npos) << key;
  }
  for (size_t i = 1; i < positions.size(); ++i) {
    EXPECT_LT(positions[i - 1], positions[i]) << i;
  }
}

TEST(CanonicalYamlTest, TextEndsWithANewline) {
  const std::string text = RedactedCanonicalYaml(Parse(kFull), kFingerprints);
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
}

TEST(SpecDigestTest, Format_IsSha256PrefixAnd64LowercaseHexDigits) {
  EXPECT_THAT(SpecDigest(Parse(kFull), kFingerprints), MatchesRegex("sha256:[0-9a-f]{64}"));
  EXPECT_THAT(SpecDigest(v1::AppSpec(), kFingerprints), MatchesRegex("sha256:[0-9a-f]{64}"));
}

TEST(SpecDigestTest, ReorderedTopLevelKeys_SameDigest) {
  const std::string reordered = R"(
rollout:
  batch: 50%
  canary: 25%
targets:
  labels: {env: prod, role: web}
health:
  http: "http://127.0.0.1:8000/healthz"
  min_healthy: 5s
config:
  db:
    name: hello
    host: localhost
  port: 8000
files:
  - mode: "0640"
    content: "Hello from {{ app_name }}\n"
    dest: "{{ app_config_dir }}/greeting.txt"
timers:
  - command: "python -m {{ app_module }} report"
    schedule: "Mon, 02:00"
    name: report
services:
  - command: "python -m {{ app_module }} web"
    description: "Run the web interface for {{ app_name }}"
    name: web
ssh_key: |
  -----BEGIN OPENSSH PRIVATE KEY-----
  b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
  -----END OPENSSH PRIVATE KEY-----
uv_version: 0.4.30
tag: v1
repo: git@git.example.com:team/hello.git
module: hello
name: hello
)";
  EXPECT_EQ(SpecDigest(Parse(reordered), kFingerprints), SpecDigest(Parse(kFull), kFingerprints));
  EXPECT_EQ(CanonicalYaml(Parse(reordered)),
            CanonicalYaml(Parse(kFull)));
}

TEST(SpecDigestTest, ReorderedConfigKeys_SameDigest) {
  const std::string reordered = FullWith(R"(config:
  port: 8000
  db:
    host: localhost
    name: hello
)",
                                         R"(config:
  db:
    name: hello
    host: localhost
  port: 8000
)");
  EXPECT_EQ(SpecDigest(Parse(reordered), kFingerprints), SpecDigest(Parse(kFull), kFingerprints));
}

TEST(SpecDigestTest, FlowStyleAndQuotingOfPlainFields_SameDigest) {
  const std::string restyled =
      FullWith("labels: {role: web, env: prod}", "labels:\n    env: \"prod\"\n    role: 'web'");
  EXPECT_EQ(SpecDigest(Parse(FullWith("tag: v1", "tag: \"v1\"")), kFingerprints), SpecDigest(Parse(kFull), kFingerprints));
  EXPECT_EQ(SpecDigest(Parse(restyled), kFingerprints), SpecDigest(Parse(kFull), kFingerprints));
}

TEST(SpecDigestTest, CommentsAndBlankLines_SameDigest) {
  const std::string commented = FullWith("tag: v1\n", "# the release\ntag: v1  # pinned\n\n");
  EXPECT_EQ(SpecDigest(Parse(commented), kFingerprints), SpecDigest(Parse(kFull), kFingerprints));
}

TEST(SpecDigestTest, NoDriftKey_DigestUnchangedByTheDriftField_ReportDiffers) {
  // The digest of a spec without `drift:` is what it was before the field
  // existed: the canonical text has no drift line at all.
  const v1::AppSpec plain = Parse("name: hello\nrepo: file:///r.git\ntag: v1\n");
  EXPECT_THAT(CanonicalYaml(plain), ::testing::Not(::testing::HasSubstr("drift")));
  const v1::AppSpec report = Parse("name: hello\nrepo: file:///r.git\ntag: v1\ndrift: report\n");
  EXPECT_THAT(CanonicalYaml(report), ::testing::HasSubstr("drift: \"report\""));
  EXPECT_NE(UnkeyedSpecDigest(plain), UnkeyedSpecDigest(report));
}

TEST(SpecDigestTest, DefaultsWrittenOut_SameDigestAsDefaultsOmitted) {
  const v1::AppSpec implicit = Parse(R"(
name: hello
repo: file:///srv/git/hello.git
tag: v1
)");
  const v1::AppSpec spelled_out = Parse(R"(
name: hello
module: hello
user: hello
group: hello
ensure_user: true
repo: file:///srv/git/hello.git
tag: v1
rollout:
  batch: 25%
  auto_rollback: true
health:
  min_healthy: 10s
paths:
  global_app_root: /applications
  app_root: /applications/hello
  app_config: /applications/hello/app/config/config.yaml
)");
  EXPECT_EQ(SpecDigest(implicit, kFingerprints), SpecDigest(spelled_out, kFingerprints));
}

TEST(SpecDigestTest, QuotedAndPlainNumberInConfig_DifferentDigests) {
  const std::string quoted = FullWith("port: 8000", "port: \"8000\"");
  EXPECT_NE(SpecDigest(Parse(quoted), kFingerprints), SpecDigest(Parse(kFull), kFingerprints));
  EXPECT_THAT(RedactedCanonicalYaml(Parse(quoted), kFingerprints), HasSubstr("port: \"8000\""));
  EXPECT_THAT(RedactedCanonicalYaml(Parse(kFull), kFingerprints), HasSubstr("port: 8000\n"));
}

// One semantic edit of kFull; each must change the digest.
struct SemanticChange {
  std::string name;
  std::string from;
  std::string to;
};

class SemanticChangeTest : public ::testing::TestWithParam<SemanticChange> {};

TEST_P(SemanticChangeTest, ChangesTheDigestAndTheRedactedText) {
  const SemanticChange& change = GetParam();
  const v1::AppSpec original = Parse(kFull);
  const v1::AppSpec changed = Parse(FullWith(change.from, change.to));
  EXPECT_NE(SpecDigest(changed, kFingerprints), SpecDigest(original, kFingerprints));
  EXPECT_NE(RedactedCanonicalYaml(changed, kFingerprints), RedactedCanonicalYaml(original, kFingerprints));
}

INSTANTIATE_TEST_SUITE_P(
    AnyField, SemanticChangeTest,
    ::testing::Values(
        SemanticChange{"Tag", "tag: v1", "tag: v2"},
        SemanticChange{"Name", "name: hello\nmodule", "name: hello2\nmodule"},
        SemanticChange{"Module", "module: hello", "module: hello.web"},
        SemanticChange{"Repo", "team/hello.git", "team/hello2.git"},
        SemanticChange{"UvVersion", "uv_version: 0.4.30", "uv_version: 0.4.31"},
        SemanticChange{"ServiceCommand", "}} web\"", "}} web --debug\""},
        SemanticChange{"ServiceName", "- name: web", "- name: www"},
        SemanticChange{"ServiceDescription", "web interface", "Web interface"},
        SemanticChange{"TimerCommand", "}} report\"", "}} report --all\""},
        SemanticChange{"TimerSchedule", "Mon, 02:00", "Tue, 02:00"},
        SemanticChange{"FileContent", "Hello from", "Hi from"},
        SemanticChange{"FileDest", "/greeting.txt", "/greeting2.txt"},
        SemanticChange{"FileMode", "mode: \"0640\"", "mode: \"0600\""},
        SemanticChange{"ConfigValue", "host: localhost", "host: db.local"},
        SemanticChange{"ConfigKey", "host: localhost", "hostname: localhost"},
        SemanticChange{"LabelValue", "env: prod", "env: staging"},
        SemanticChange{"LabelAdded", "env: prod", "env: prod, zone: a"},
        SemanticChange{"HealthMinHealthy", "min_healthy: 5s", "min_healthy: 6s"},
        SemanticChange{"HealthHttp", "8000/healthz", "8000/health"},
        SemanticChange{"RolloutCanary", "canary: 25%", "canary: 10%"},
        SemanticChange{"RolloutBatch", "batch: 50%", "batch: 3"},
        SemanticChange{"RolloutAutoPromote", "batch: 50%", "batch: 50%\n  auto_promote: true"},
        SemanticChange{"EnsureUser", "tag: v1", "tag: v1\nensure_user: false"},
        SemanticChange{"PathOverride", "tag: v1", "tag: v1\npaths:\n  app_root: /srv/hello"},
        SemanticChange{"UvIsolate", "tag: v1", "tag: v1\npaths:\n  uv_isolate: true"},
        SemanticChange{"ServiceAdded", "timers:",
                       "  - name: worker\n    command: python -m hello worker\ntimers:"}),
    [](const ::testing::TestParamInfo<SemanticChange>& info) { return info.param.name; });

TEST(SpecDigestTest, ServiceOrder_IsSignificant) {
  const std::string two_services = FullWith(
      "timers:", "  - name: worker\n    command: python -m hello worker\ntimers:");
  const std::string swapped = FullWith(R"(services:
  - name: web
    description: "Run the web interface for {{ app_name }}"
    command: "python -m {{ app_module }} web"
)",
                                       R"(services:
  - name: worker
    command: python -m hello worker
  - name: web
    description: "Run the web interface for {{ app_name }}"
    command: "python -m {{ app_module }} web"
)");
  EXPECT_NE(SpecDigest(Parse(two_services), kFingerprints), SpecDigest(Parse(swapped), kFingerprints));
}

// --- Secrets ------------------------------------------------------------

TEST(SecretsTest, SshKeyChange_ChangesTheDigest) {
  const std::string other_key = FullWith("AAAAMwAAAAtzc2gtZW", "AAAAMwAAAAtzc2gtZX");
  EXPECT_NE(SpecDigest(Parse(other_key), kFingerprints), SpecDigest(Parse(kFull), kFingerprints));
}

TEST(SecretsTest, SshKey_NeverInRedactedTextButInTheHashedText) {
  const v1::AppSpec spec = Parse(kFull);
  ASSERT_EQ(spec.ssh_key(), kSshKey);
  EXPECT_THAT(RedactedCanonicalYaml(spec, kFingerprints), Not(HasSubstr("b3BlbnNzaC1rZXkt")));
  EXPECT_THAT(RedactedCanonicalYaml(spec, kFingerprints), Not(HasSubstr("PRIVATE KEY")));
  // The hashed form holds it (escaped as a YAML string), so it counts.
  EXPECT_THAT(CanonicalYaml(spec), HasSubstr("b3BlbnNzaC1rZXkt"));
}

TEST(SecretsTest, SshKeyChange_ChangesTheShownFingerprint) {
  const std::string original = RedactedCanonicalYaml(Parse(kFull), kFingerprints);
  const std::string changed = RedactedCanonicalYaml(
      Parse(FullWith("AAAAMwAAAAtzc2gtZW", "AAAAMwAAAAtzc2gtZX")), kFingerprints);
  EXPECT_THAT(original,
              ContainsRegex("ssh_key: \"<secret, [0-9]+ bytes, hmac-sha256:[0-9a-f]{12}>\""));
  EXPECT_THAT(changed,
              ContainsRegex("ssh_key: \"<secret, [0-9]+ bytes, hmac-sha256:[0-9a-f]{12}>\""));
  EXPECT_NE(original, changed);
}

TEST(SecretsTest, FileContentChange_ChangesDigestAndFingerprintButIsNeverShown) {
  const v1::AppSpec original = Parse(kFull);
  const v1::AppSpec changed = Parse(FullWith("Hello from", "password=hunter2 from"));
  EXPECT_NE(SpecDigest(changed, kFingerprints), SpecDigest(original, kFingerprints));
  const std::string original_text = RedactedCanonicalYaml(original, kFingerprints);
  const std::string changed_text = RedactedCanonicalYaml(changed, kFingerprints);
  EXPECT_THAT(original_text, Not(HasSubstr("Hello from")));
  EXPECT_THAT(changed_text, Not(HasSubstr("hunter2")));
  EXPECT_THAT(changed_text,
              ContainsRegex("content: \"<secret, [0-9]+ bytes, hmac-sha256:[0-9a-f]{12}>\""));
  EXPECT_NE(original_text, changed_text);
  EXPECT_THAT(CanonicalYaml(changed), HasSubstr("hunter2"));
}

TEST(SecretsTest, SameSecretLengthDifferentValue_FingerprintStillDiffers) {
  // "Hello" -> "Jello": same size, so only the hash tells them apart.
  const std::string original = RedactedCanonicalYaml(Parse(kFull), kFingerprints);
  const std::string changed =
      RedactedCanonicalYaml(Parse(FullWith("Hello from", "Jello from")), kFingerprints);
  EXPECT_NE(original, changed);
}

TEST(RedactSecretsTest, FileContent_IsReplacedBySizeAndHashPrefix) {
  v1::AppSpec spec;
  spec.add_files()->set_content("abc");
  // HMAC-SHA256("test fingerprint key", "abc") = 5a6bb967d4de…
  EXPECT_EQ(RedactSecrets(spec, kFingerprints).files(0).content(), "<secret, 3 bytes, hmac-sha256:5a6bb967d4de>");
}

TEST(RedactSecretsTest, EmptyFileContent_IsStillReplaced) {
  v1::AppSpec spec;
  spec.add_files();
  // HMAC-SHA256("test fingerprint key", "") = 1d4ee84f94ad…
  EXPECT_EQ(RedactSecrets(spec, kFingerprints).files(0).content(), "<secret, 0 bytes, hmac-sha256:1d4ee84f94ad>");
}

TEST(RedactSecretsTest, SshKey_IsReplacedBySizeAndHashPrefix) {
  v1::AppSpec spec;
  spec.set_ssh_key("abc");
  EXPECT_EQ(RedactSecrets(spec, kFingerprints).ssh_key(), "<secret, 3 bytes, hmac-sha256:5a6bb967d4de>");
}

TEST(RedactSecretsTest, NoSshKey_StaysEmpty) {
  v1::AppSpec spec;
  spec.set_name("hello");
  EXPECT_EQ(RedactSecrets(spec, kFingerprints).ssh_key(), "");
  EXPECT_THAT(RedactedCanonicalYaml(spec, kFingerprints), Not(HasSubstr("ssh_key")));
}

TEST(RedactSecretsTest, EverythingElse_IsUntouchedAndTheInputIsNotModified) {
  const v1::AppSpec spec = Parse(kFull);
  const v1::AppSpec before = spec;
  v1::AppSpec redacted = RedactSecrets(spec, kFingerprints);
  EXPECT_TRUE(MessageDifferencer::Equals(spec, before));
  EXPECT_NE(redacted.ssh_key(), spec.ssh_key());
  EXPECT_NE(redacted.files(0).content(), spec.files(0).content());
  redacted.set_ssh_key(spec.ssh_key());
  redacted.mutable_files(0)->set_content(spec.files(0).content());
  EXPECT_TRUE(MessageDifferencer::Equals(redacted, before));
}

TEST(RedactSecretsTest, RedactedCanonicalText_EqualsCanonicalTextOfRedactedSpec) {
  const v1::AppSpec spec = Parse(kFull);
  EXPECT_EQ(RedactedCanonicalYaml(spec, kFingerprints),
            CanonicalYaml(RedactSecrets(spec, kFingerprints)));
}

TEST(FingerprintTest, IsKeyed_AnotherKeyGivesAnotherFingerprint) {
  const SecretFingerprinter other("another key");
  EXPECT_NE(kFingerprints.Redacted("hunter2"), other.Redacted("hunter2"));
  EXPECT_NE(kFingerprints.Full("hunter2"), other.Full("hunter2"));
  // Not the unkeyed hash a viewer could compute from a guess.
  EXPECT_THAT(kFingerprints.Full("abc"),
              Not(HasSubstr("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")));
  EXPECT_THAT(kFingerprints.Full("abc"), MatchesRegex("hmac-sha256:[0-9a-f]{64}"));
}

TEST(FingerprintTest, MatchesHmacSha256) {
  // RFC 4231-style known answer: HMAC-SHA256("key", "The quick brown fox
  // jumps over the lazy dog").
  EXPECT_EQ(SecretFingerprinter("key").Full("The quick brown fox jumps over the lazy dog"),
            "hmac-sha256:f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8");
}

TEST(SpecDigestTest, IsKeyed_NoDigestAViewerCanComputeFromAGuess) {
  const v1::AppSpec spec = Parse(FullWith("Hello from", "password=hunter2 from"));
  const std::string digest = SpecDigest(spec, kFingerprints);
  EXPECT_NE(digest, SpecDigest(spec, SecretFingerprinter("another key")));
  // What the digest was before it was keyed: the hash of the text with the
  // secrets in it, which anyone could recompute for a guessed secret.
  EXPECT_NE(digest, UnkeyedSpecDigest(spec));
}

TEST(SpecDigestTest, ChangedSecretOfEveryKind_ChangesTheDigest) {
  const v1::AppSpec original = Parse(kFull);
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"AAAAMwAAAAtzc2gtZW", "AAAAMwAAAAtzc2gtZX"},
           {"Hello from", "Jello from"},
           {"port: 8000", "port: !secret \"8000\""}}) {
    EXPECT_NE(SpecDigest(Parse(FullWith(from, to)), kFingerprints),
              SpecDigest(original, kFingerprints))
        << from;
  }
}

TEST(UnkeyedSpecDigestTest, IsTheHashOfTheTextWithItsSecrets) {
  // The agent's local digest, as before digests were keyed: hosts that
  // recorded it still recognise their releases.
  const v1::AppSpec spec = Parse(kFull);
  EXPECT_EQ(UnkeyedSpecDigest(spec), absl::StrCat("sha256:", text::Sha256Hex(CanonicalYaml(spec))));
}

TEST(SameSpecTest, EqualCanonicalTexts) {
  EXPECT_TRUE(SameSpec(Parse(kFull), Parse(FullWith("tag: v1", "tag: \"v1\""))));
  EXPECT_FALSE(SameSpec(Parse(kFull), Parse(FullWith("tag: v1", "tag: v2"))));
  EXPECT_FALSE(SameSpec(Parse(kFull), Parse(FullWith("Hello from", "Jello from"))));
}

constexpr char kTokenRepo[] = "https://deploy:t0ps3cret@git.example/team/hello.git";

TEST(RepoCredentialsTest, RedactedTextHidesThemAndShowsTheirFingerprint) {
  const v1::AppSpec spec = Parse(FullWith("git@git.example.com:team/hello.git", kTokenRepo));
  const std::string text = RedactedCanonicalYaml(spec, kFingerprints);
  EXPECT_THAT(text, HasSubstr("repo: \"https://***@git.example/team/hello.git\"\n"));
  EXPECT_THAT(text, ContainsRegex("repo_credentials: \"<secret, 16 bytes, "
                                  "hmac-sha256:[0-9a-f]{12}>\""));
  EXPECT_THAT(text, Not(HasSubstr("t0ps3cret")));
  EXPECT_THAT(text, Not(HasSubstr("deploy")));
  EXPECT_EQ(RedactSecrets(spec, kFingerprints).repo(), "https://***@git.example/team/hello.git");
  EXPECT_THAT(CanonicalYaml(spec), HasSubstr(kTokenRepo));
}

TEST(RepoCredentialsTest, ChangedToken_ShowsInTheDiffAndChangesTheDigest) {
  const v1::AppSpec before = Parse(FullWith("git@git.example.com:team/hello.git", kTokenRepo));
  const v1::AppSpec after = Parse(FullWith("git@git.example.com:team/hello.git",
                                           "https://deploy:n3wt0ken@git.example/team/hello.git"));
  EXPECT_NE(RedactedCanonicalYaml(before, kFingerprints), RedactedCanonicalYaml(after, kFingerprints));
  EXPECT_NE(SpecDigest(before, kFingerprints), SpecDigest(after, kFingerprints));
}

TEST(RepoCredentialsTest, UrlsWithoutCredentials_HaveNoCredentialsLine) {
  EXPECT_THAT(RedactedCanonicalYaml(Parse(kFull), kFingerprints),
              Not(HasSubstr("repo_credentials")));
}

}  // namespace
}  // namespace pyservice::spec

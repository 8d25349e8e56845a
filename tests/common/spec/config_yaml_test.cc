// `!secret` config values (config_yaml.h): stored tagged, written plain to
// the host's config.yaml, never shown.
#include "common/spec/config_yaml.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/spec/app_spec_parser.h"
#include "common/spec/canonical.h"
#include "common/spec/template.h"
#include "common/text/diff.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pyservice::spec {
namespace {

using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::Not;

const SecretFingerprinter kFingerprints("test fingerprint key");

constexpr char kHead[] = "name: hello\nrepo: file:///srv/git/hello.git\ntag: v1\n";

absl::StatusOr<v1::AppSpec> ParseWithConfig(absl::string_view config) {
  return ParseAppSpec(absl::StrCat(kHead, "config:\n", config), "app.yaml");
}

v1::AppSpec MustParse(absl::string_view config) {
  absl::StatusOr<v1::AppSpec> spec = ParseWithConfig(config);
  EXPECT_TRUE(spec.ok()) << spec.status();
  return spec.ok() ? *spec : v1::AppSpec();
}

TEST(ConfigSecretTest, Parser_KeepsTheTagAndTheValueInTheStoredText) {
  const v1::AppSpec spec = MustParse("  port: 8000\n  db_password: !secret \"hunter2\"\n");
  EXPECT_EQ(spec.config_yaml(), "db_password: !secret \"hunter2\"\nport: 8000\n");
}

TEST(ConfigSecretTest, Parser_PlainAndNumericLookingSecretsAreStrings) {
  const v1::AppSpec spec = MustParse("  a: !secret hunter2\n  b: !secret 1234\n");
  EXPECT_EQ(spec.config_yaml(), "a: !secret \"hunter2\"\nb: !secret \"1234\"\n");
}

TEST(ConfigSecretTest, Parser_SecretOnAMappingIsAnErrorAtItsLine) {
  absl::StatusOr<v1::AppSpec> spec = ParseWithConfig("  db: !secret {password: x}\n");
  ASSERT_FALSE(spec.ok());
  EXPECT_THAT(std::string(spec.status().message()),
              HasSubstr("app.yaml:5:7: config.db: !secret marks one value (a string), not a "
                        "mapping or a list"));
}

TEST(ConfigSecretTest, Parser_TemplatesInASecretAreNotExpandedNorQuotedInErrors) {
  absl::StatusOr<v1::AppSpec> spec = ParseWithConfig("  pw: !secret \"{{ s3cr3t }}\"\n");
  ASSERT_TRUE(spec.ok()) << spec.status();
  absl::StatusOr<v1::AppSpec> expanded = ExpandSpec(*spec);
  ASSERT_TRUE(expanded.ok()) << expanded.status();
  EXPECT_EQ(expanded->config_yaml(), "pw: \"{{ s3cr3t }}\"\n");
}

TEST(ConfigSecretTest, HostConfig_HasTheSecretAsAPlainString) {
  const v1::AppSpec spec = MustParse("  db_password: !secret \"hunter2\"\n  port: 8000\n");
  absl::StatusOr<std::string> config = ExpandConfigYaml(spec.config_yaml(), RoleVariables(spec));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(*config, "db_password: \"hunter2\"\nport: 8000\n");
  EXPECT_EQ(YAML::Load(*config)["db_password"].as<std::string>(), "hunter2");
}

TEST(ConfigSecretTest, Redacted_ShowsAFingerprintNeverTheValue) {
  const v1::AppSpec spec = MustParse("  db_password: !secret \"hunter2\"\n");
  const std::string redacted = RedactedCanonicalYaml(spec, kFingerprints);
  EXPECT_THAT(redacted, Not(HasSubstr("hunter2")));
  EXPECT_THAT(redacted, ContainsRegex("db_password: !secret \"<secret, 7 bytes, hmac-sha256:"
                                      "[0-9a-f]{12}>\""));
  EXPECT_THAT(RedactSecrets(spec, kFingerprints).config_yaml(), Not(HasSubstr("hunter2")));
  EXPECT_THAT(CanonicalYaml(spec), HasSubstr("hunter2"));
}

TEST(ConfigSecretTest, ChangedSecret_ChangesDigestAndFingerprint_DiffNeverShowsEither) {
  const v1::AppSpec before = MustParse("  db_password: !secret \"hunter2\"\n");
  const v1::AppSpec after = MustParse("  db_password: !secret \"hunter3\"\n");
  EXPECT_NE(SpecDigest(before, kFingerprints), SpecDigest(after, kFingerprints));
  const std::string diff = text::UnifiedDiff(RedactedCanonicalYaml(before, kFingerprints),
                                             RedactedCanonicalYaml(after, kFingerprints), "a", "b");
  EXPECT_THAT(diff, HasSubstr("-  db_password: !secret"));
  EXPECT_THAT(diff, HasSubstr("+  db_password: !secret"));
  EXPECT_THAT(diff, Not(HasSubstr("hunter")));
}

TEST(ConfigSecretTest, MarkingAValueSecret_IsAChange) {
  EXPECT_NE(SpecDigest(MustParse("  pw: hunter2\n"), kFingerprints),
            SpecDigest(MustParse("  pw: !secret hunter2\n"), kFingerprints));
}

TEST(ConfigSecretTest, ReplaceConfigSecrets_LeavesAConfigWithoutSecretsAlone) {
  const std::string text = "port: 8000\n";
  EXPECT_EQ(ReplaceConfigSecrets(text, [](absl::string_view) { return "x"; }), text);
}

}  // namespace
}  // namespace pyservice::spec

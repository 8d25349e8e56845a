// The spec policy's rules: what passes (the example app, allowed
// exceptions, the app's own accounts) and what each rule refuses, on specs
// that did not come through the parser (what an agent receives) and on the
// host's accounts. The located messages at apply are in bad_spec_test.cc.
#include "common/spec/spec_policy.h"

#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/spec/app_spec_parser.h"
#include "common/spec/unclosed_construct.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pyservice::spec {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

v1::AppSpec Parse(const std::string& extra = "") {
  absl::StatusOr<v1::AppSpec> spec = ParseAppSpec(
      absl::StrCat("name: hello\nrepo: file:///srv/git/hello.git\ntag: v1\n", extra), "app.yaml");
  EXPECT_TRUE(spec.ok()) << spec.status();
  return spec.ok() ? *spec : v1::AppSpec();
}

std::vector<std::string> Fields(const std::vector<PolicyViolation>& violations) {
  std::vector<std::string> fields;
  for (const PolicyViolation& v : violations) fields.push_back(v.field);
  return fields;
}

TEST(SpecPolicy, TheShippedExamplePasses) {
  std::ifstream file(std::string(PYSERVICE_SOURCE_DIR) + "/deploy/examples/hello/app.yaml");
  ASSERT_TRUE(file) << "deploy/examples/hello/app.yaml is missing";
  std::stringstream text;
  text << file.rdbuf();
  absl::StatusOr<v1::AppSpec> spec = ParseAppSpec(text.str(), "app.yaml", SpecPolicy{});
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_THAT(CheckSpecPolicy(*spec, SpecPolicy{}), IsEmpty());
}

TEST(SpecPolicy, RoleDefaultsAndOwnPathsPass) {
  EXPECT_THAT(CheckSpecPolicy(Parse("paths:\n  global_app_root: /srv\n"), {}), IsEmpty());
  EXPECT_THAT(CheckSpecPolicy(Parse("paths:\n  app_root: /opt/hello\n  uv_isolate: true\n"), {}),
              IsEmpty());
  EXPECT_THAT(CheckSpecPolicy(Parse("user: svc-hello\ngroup: www-hello\n"), {}), IsEmpty());
}

TEST(SpecPolicy, AdminAllowListLetsASystemAccountAndGroupThrough) {
  const v1::AppSpec spec = Parse("user: postgres\ngroup: ssl-cert\nensure_user: false\n");
  EXPECT_THAT(Fields(CheckSpecPolicy(spec, {})), ElementsAre("user", "group"));
  const SpecPolicy admin{.allow_users = {"postgres"}, .allow_groups = {"ssl-cert"}};
  EXPECT_THAT(CheckSpecPolicy(spec, admin), IsEmpty());
}

TEST(SpecPolicy, EnsureUserFalseNeedsTheAdminsAllowList) {
  const v1::AppSpec spec = Parse("user: svc\nensure_user: false\n");
  EXPECT_THAT(Fields(CheckSpecPolicy(spec, {})), ElementsAre("ensure_user"));
  EXPECT_THAT(CheckSpecPolicy(spec, {.allow_users = {"svc"}}), IsEmpty());
}

// What an agent receives is a proto, not app.yaml: every rule runs again.
TEST(SpecPolicy, HandMadeSpecIsCheckedFieldByField) {
  v1::AppSpec spec = Parse(
      "services:\n  - name: web\n    command: x\ntimers:\n  - name: job\n    schedule: daily\n"
      "    command: y\nfiles:\n  - dest: \"{{ app_data_dir }}/x\"\n    content: c\n");
  spec.set_tag("  ");
  spec.mutable_services(0)->set_command("");
  spec.mutable_services(0)->set_description("{{ nope }}");
  spec.mutable_timers(0)->set_schedule("25:00");
  spec.mutable_timers(0)->set_command("a\nb");
  spec.mutable_files(0)->set_dest("{{ app_root }}/../../etc/cron.d/x");
  spec.mutable_files(0)->set_mode(04755);
  spec.set_user("root");
  spec.set_group("sudo");
  spec.mutable_paths()->set_app_config_dir("/etc/hello");
  const std::vector<PolicyViolation> violations = CheckSpecPolicy(spec, {});
  EXPECT_THAT(Fields(violations),
              ::testing::UnorderedElementsAre(
                  "tag", "services[0].command", "services[0].description", "timers[0].schedule",
                  "timers[0].command", "files[0].dest", "files[0].mode", "user", "group",
                  "paths.app_config_dir"));
  EXPECT_THAT(PolicyStatus(violations).message(),
              HasSubstr("spec policy: services[0].command: must not be empty"));
  EXPECT_THAT(PolicyStatus(violations).message(),
              HasSubstr("spec policy: files[0].dest: \"/applications/hello/../../etc/cron.d/x\" "
                        "must be normalized"));
}

TEST(SpecPolicy, FileDestEscapingTheRootThroughATemplateIsRefusedAfterExpansion) {
  v1::AppSpec spec = Parse();
  v1::File* file = spec.add_files();
  file->set_dest("{{ global_app_root }}/other/data/x");
  file->set_mode(0600);
  EXPECT_THAT(CheckSpecPolicy(spec, {}),
              ElementsAre(Field(&PolicyViolation::message,
                                HasSubstr("\"/applications/other/data/x\" is outside the app root "
                                          "(/applications/hello/...)"))));
}

TEST(SpecPolicy, RootDirectoryIsNeverAGlobalRoot) {
  v1::AppSpec spec = Parse();
  spec.mutable_paths()->set_global_app_root("/");
  EXPECT_THAT(CheckSpecPolicy(spec, {}),
              ::testing::Contains(Field(&PolicyViolation::message,
                                        HasSubstr("\"/\" is not allowed: it is a system directory"))));
}

TEST(SpecPolicy, SharedUvBinaryIsAllowedButNoOtherPathOutsideTheRoot) {
  v1::AppSpec spec = Parse();
  EXPECT_EQ(spec.paths().uv_location(), "/applications/uv");
  EXPECT_THAT(CheckSpecPolicy(spec, {}), IsEmpty());
  spec.mutable_paths()->set_uv_location("/usr/bin/uv");
  EXPECT_THAT(Fields(CheckSpecPolicy(spec, {})), ElementsAre("paths.uv_location"));
}

TEST(SpecPolicy, AnAllowedUserDoesNotAllowItsPrivilegedGroup) {
  const v1::AppSpec spec = Parse("user: syslog\ngroup: adm\nensure_user: false\n");
  EXPECT_THAT(Fields(CheckSpecPolicy(spec, {.allow_users = {"syslog"}})), ElementsAre("group"));
}

// The host's accounts.

HostUser OwnUser() {
  return HostUser{.uid = 990, .gid = 990, .home = "/applications/hello",
                  .comment = AppUserComment("hello")};
}

TEST(HostAccounts, NoAccountsYetPasses) { EXPECT_THAT(CheckHostAccounts(Parse(), {}, {}), IsEmpty()); }

TEST(HostAccounts, TheUserCreatedForThisAppAndItsGroupPass) {
  EXPECT_EQ(AppUserComment("hello"), "User for hello service");
  EXPECT_THAT(CheckHostAccounts(Parse(), {}, {.user = OwnUser(), .group = HostGroup{990, {}}}),
              IsEmpty());
}

TEST(HostAccounts, ExistingSystemAccountIsRefusedWithItsUid) {
  const HostAccounts host{.user = HostUser{108, 114, "/var/lib/postgresql", "PostgreSQL administrator"}};
  EXPECT_EQ(PolicyStatus(CheckHostAccounts(Parse("user: pgapp\n"), {}, host)).message(),
            "spec policy: user: \"pgapp\" is an existing system account (uid 108) that pyservice "
            "did not create for this app; an admin may allow it with spec_policy.allow_users");
}

TEST(HostAccounts, AnotherAppsUserIsRefused) {
  HostUser other = OwnUser();
  other.comment = AppUserComment("other");
  other.home = "/applications/other";
  EXPECT_THAT(Fields(CheckHostAccounts(Parse("user: other\n"), {}, {.user = other})),
              ElementsAre("user"));
}

TEST(HostAccounts, SomeoneElsesOrdinaryAccountIsRefused) {
  const HostAccounts host{.user = HostUser{1000, 1000, "/home/alice", "Alice"}};
  EXPECT_THAT(CheckHostAccounts(Parse("user: alice\n"), {}, host),
              ElementsAre(Field(&PolicyViolation::message,
                                HasSubstr("an existing account of someone else (uid 1000)"))));
}

TEST(HostAccounts, UidZeroAndOverflowAreRefusedEvenWithTheAppsMarker) {
  HostUser zero = OwnUser();
  zero.uid = 0;
  EXPECT_THAT(CheckHostAccounts(Parse(), {}, {.user = zero}),
              ElementsAre(Field(&PolicyViolation::message, HasSubstr("root's uid (uid 0)"))));
  HostUser nobody = OwnUser();
  nobody.uid = 65534;
  EXPECT_THAT(Fields(CheckHostAccounts(Parse(), {}, {.user = nobody})), ElementsAre("user"));
}

TEST(HostAccounts, AllowedUserPasses) {
  const HostAccounts host{.user = HostUser{108, 114, "/var/lib/postgresql", "PostgreSQL"},
                          .group = HostGroup{114, {}}};
  EXPECT_THAT(CheckHostAccounts(Parse("user: postgres\n"), {.allow_users = {"postgres"}}, host),
              IsEmpty());
}

TEST(HostAccounts, ExistingSystemGroupIsRefusedUnlessTheAppsUserIsInIt) {
  const v1::AppSpec spec = Parse("group: webapps\n");
  EXPECT_EQ(PolicyStatus(CheckHostAccounts(spec, {}, {.group = HostGroup{27, {}}})).message(),
            "spec policy: group: \"webapps\" is an existing system group (gid 27) that is not the "
            "app's own; an admin may allow it with spec_policy.allow_groups");
  EXPECT_THAT(CheckHostAccounts(spec, {}, {.user = OwnUser(), .group = HostGroup{27, {"hello"}}}),
              IsEmpty());
  EXPECT_THAT(CheckHostAccounts(spec, {.allow_groups = {"webapps"}}, {.group = HostGroup{27, {}}}),
              IsEmpty());
  // Membership counts only for the app's own user.
  HostUser alice{1000, 1000, "/home/alice", "Alice"};
  EXPECT_THAT(Fields(CheckHostAccounts(Parse("user: alice\ngroup: webapps\n"), {},
                                       {.user = alice, .group = HostGroup{27, {"alice"}}})),
              ElementsAre("user", "group"));
}

TEST(HostAccounts, OrdinaryGroupPassesButGidZeroNever) {
  EXPECT_THAT(CheckHostAccounts(Parse("group: team\n"), {}, {.group = HostGroup{1500, {}}}),
              IsEmpty());
  EXPECT_THAT(Fields(CheckHostAccounts(Parse("group: wheel2\n"), {},
                                       {.user = OwnUser(), .group = HostGroup{0, {"hello"}}})),
              ElementsAre("group"));
}

// The scan that locates unterminated strings and unclosed brackets.

TEST(UnclosedConstruct, FindsTheOpeningQuoteOrBracket) {
  const auto at = [](absl::string_view text) {
    std::optional<UnclosedConstruct> found = FindUnclosedConstruct(text);
    return found ? absl::StrCat(found->mark.line + 1, ":", found->mark.column + 1, " ", found->what)
                 : std::string("none");
  };
  EXPECT_EQ(at("a: \"x\nb: c\n"), "1:4 the double-quoted string opened here is never closed");
  EXPECT_EQ(at("a: 'it''s\nb: c\n"), "1:4 the single-quoted string opened here is never closed");
  EXPECT_EQ(at("a: [1, 2\nb: {c: d}\n"), "1:4 the \"[\" opened here is never closed");
  EXPECT_EQ(at("a: {b: [1}\n"), "1:8 the \"[\" opened here is never closed");
  // Not openers: quotes inside plain scalars, comments and block scalars.
  EXPECT_EQ(at("a: it's fine # don't\nb: |\n  \"quoted\n  [x\nc: \"ok\" # '\n"), "none");
  EXPECT_EQ(at("a: !secret \"x\"\nb: [\"c\", {d: 'e'}]\nc: \"esc \\\" q\"\n"), "none");
}

}  // namespace
}  // namespace pyservice::spec

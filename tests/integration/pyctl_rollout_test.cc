// The real pyctl binary's rollout commands against the in-process fleet
// (fleet_fixture.h) with four fake agents: -o json shapes, following a
// rollout with plain lines when piped, the exit rules, promote, history.
#include <string>
#include <vector>

#include "tests/integration/fleet_fixture.h"

namespace pyservice {
namespace {

constexpr char kApp[] = "hello";

class PyctlRolloutTest : public FleetTest {
 protected:
  // Four hosts running revision 1 (tag v1), applied with pyctl.
  void SetUp() override {
    FleetTest::SetUp();
    for (const char* host : {"h1", "h2", "h3", "h4"}) hosts_.push_back(&Agent(host));
    WriteFile("app.yaml", AppYaml(kApp, "v1"));
    const ProcessResult applied = Pyctl({"apply", "app.yaml"});
    ASSERT_TRUE(applied.Succeeded()) << applied.stdout_text << applied.stderr_text;
    for (FakeAgent* host : hosts_) ASSERT_TRUE(host->WaitForRevision(kApp, 1).ok());
  }

  uint32_t RevisionOn(FakeAgent& host) {
    const auto apps = host.apps();
    const auto it = apps.find(kApp);
    return it == apps.end() ? 0 : it->second.revision();
  }

  // `pyctl rollout status hello -o json`, parsed; a null value on failure.
  JsonValue StatusJson(std::string* raw = nullptr) {
    const ProcessResult result = Pyctl({"rollout", "status", kApp, "-o", "json"});
    if (raw != nullptr) *raw = result.stdout_text + result.stderr_text;
    if (!result.Succeeded()) return JsonValue();
    absl::StatusOr<JsonValue> json = ParseJson(result.stdout_text);
    return json.ok() ? *json : JsonValue();
  }

  static std::string State(const JsonValue& rollout) {
    if (rollout.kind_case() != JsonValue::kStructValue) return "";
    const auto it = Fields(rollout).find("state");
    return it == Fields(rollout).end() ? "" : it->second.string_value();
  }

  std::vector<FakeAgent*> hosts_;
};

TEST_F(PyctlRolloutTest, CanaryNoWait_StatusUntilAwaitingPromotion_PromoteTakesEveryHost) {
  const ProcessResult started =
      Pyctl({"rollout", kApp, "--tag", "v2", "--canary", "25%", "-o", "json", "--no-wait"});
  ASSERT_TRUE(started.Succeeded()) << started.stdout_text << started.stderr_text;
  absl::StatusOr<JsonValue> printed = ParseJson(started.stdout_text);
  ASSERT_TRUE(printed.ok()) << started.stdout_text;
  const std::vector<std::string> keys = KeysInOrder(*printed, started.stdout_text);
  ASSERT_GE(keys.size(), 7u) << started.stdout_text;
  EXPECT_EQ(std::vector<std::string>(keys.begin(), keys.begin() + 7),
            (std::vector<std::string>{"app", "id", "from_revision", "to_revision", "tag", "state",
                                      "waves"}))
      << started.stdout_text;
  EXPECT_EQ(Fields(*printed).at("app").string_value(), kApp);
  EXPECT_EQ(Fields(*printed).at("from_revision").number_value(), 1);
  EXPECT_EQ(Fields(*printed).at("to_revision").number_value(), 2);
  EXPECT_EQ(Fields(*printed).at("tag").string_value(), "v2");

  std::string raw;
  ASSERT_TRUE(Eventually([&] { return State(StatusJson(&raw)) == "awaiting_promotion"; }))
      << raw;
  int on_two = 0;
  for (FakeAgent* host : hosts_) on_two += RevisionOn(*host) == 2 ? 1 : 0;
  EXPECT_EQ(on_two, 1) << "exactly the canary runs revision 2";
  const JsonValue waiting = StatusJson(&raw);
  const auto& waves = Fields(waiting).at("waves").list_value().values();
  ASSERT_GE(waves.size(), 2) << raw;
  EXPECT_TRUE(Fields(waves[0]).at("canary").bool_value()) << raw;
  const auto& canary_hosts = Fields(waves[0]).at("hosts").list_value().values();
  ASSERT_EQ(canary_hosts.size(), 1) << raw;
  EXPECT_EQ(Fields(canary_hosts[0]).at("state").string_value(), "healthy") << raw;
  const std::vector<std::string> host_keys = KeysInOrder(canary_hosts[0], raw.substr(raw.find("\"hosts\"")));
  ASSERT_GE(host_keys.size(), 2u);
  EXPECT_EQ(host_keys[0], "host");
  EXPECT_EQ(host_keys[1], "state");

  // The human view shows the waves, the bars and prepare-ahead.
  const ProcessResult table = Pyctl({"rollout", "status", kApp});
  ASSERT_TRUE(table.Succeeded()) << table.stderr_text;
  EXPECT_THAT(table.stdout_text, HasSubstr("rollout 1 of hello: awaiting_promotion"));
  EXPECT_THAT(table.stdout_text, HasSubstr("Wave 0 (canary)  [########] 1/1 healthy"));

  const ProcessResult promoted = Pyctl({"rollout", "promote", kApp});
  ASSERT_TRUE(promoted.Succeeded()) << promoted.stderr_text;
  EXPECT_THAT(promoted.stdout_text, StartsWith("rollout 1 of hello: "));

  // Followed to the end, piped: plain lines, no redraws, exit 0.
  const ProcessResult watched = Pyctl({"rollout", "status", kApp, "--watch"});
  EXPECT_TRUE(watched.Succeeded()) << watched.stdout_text << watched.stderr_text;
  EXPECT_THAT(watched.stdout_text, Not(HasSubstr("\x1b[")));
  EXPECT_THAT(watched.stdout_text,
              HasSubstr("rollout 1 of hello succeeded: 4/4 hosts healthy on revision 2 (v2)"));
  const JsonValue done = StatusJson(&raw);
  EXPECT_EQ(State(done), "succeeded") << raw;
  for (const JsonValue& wave : Fields(done).at("waves").list_value().values()) {
    for (const JsonValue& host : Fields(wave).at("hosts").list_value().values()) {
      EXPECT_EQ(Fields(host).at("state").string_value(), "healthy") << raw;
    }
  }
  for (FakeAgent* host : hosts_) EXPECT_EQ(RevisionOn(*host), 2u) << host->host();

  // history: the JSON stays a list of revisions; the table adds rollouts.
  const ProcessResult history = Pyctl({"history", kApp});
  ASSERT_TRUE(history.Succeeded()) << history.stderr_text;
  EXPECT_THAT(history.stdout_text, HasSubstr("ROLLOUT"));
  EXPECT_THAT(history.stdout_text, HasSubstr("succeeded"));
  const ProcessResult history_json = Pyctl({"history", kApp, "-o", "json"});
  absl::StatusOr<JsonValue> revisions = ParseJson(history_json.stdout_text);
  ASSERT_TRUE(revisions.ok()) << history_json.stdout_text;
  ASSERT_EQ(revisions->list_value().values_size(), 2);
  EXPECT_EQ(KeysInOrder(revisions->list_value().values(0), history_json.stdout_text),
            (std::vector<std::string>{"revision", "tag", "digest", "created_at"}));
}

TEST_F(PyctlRolloutTest, WaitingStopsAtAwaitingPromotionWithPlainLines) {
  const ProcessResult rolled = Pyctl({"rollout", kApp, "--tag", "v2", "--canary", "25%"});
  EXPECT_TRUE(rolled.Succeeded()) << rolled.stdout_text << rolled.stderr_text;
  EXPECT_THAT(rolled.stdout_text, Not(HasSubstr("\x1b[")));
  EXPECT_THAT(rolled.stdout_text, HasSubstr("h1 (canary): healthy\n"));
  EXPECT_THAT(rolled.stdout_text,
              HasSubstr("canary healthy: 1/1; promote with `pyctl rollout promote hello`\n"));
  // Abort: one line, then the rollout ends aborted.
  const ProcessResult aborted = Pyctl({"rollout", "abort", kApp});
  EXPECT_TRUE(aborted.Succeeded()) << aborted.stderr_text;
  EXPECT_THAT(aborted.stdout_text, StartsWith("rollout 1 of hello: "));
  const ProcessResult again = Pyctl({"rollout", "abort", kApp});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_THAT(again.stderr_text, StartsWith("pyctl: "));
  const ProcessResult watched = Pyctl({"rollout", "status", kApp, "--watch", "-o", "json"});
  EXPECT_EQ(watched.exit_code, 1) << watched.stdout_text << watched.stderr_text;
  EXPECT_EQ(State(*ParseJson(watched.stdout_text)), "aborted") << watched.stdout_text;
}

TEST_F(PyctlRolloutTest, BrokenCanaryExitsNonZeroNamingTheHostAndStep) {
  for (FakeAgent* host : hosts_) host->FailTag(kApp, "v3-broken", "verify", "hello-web is not active");
  const ProcessResult rolled = Pyctl({"rollout", kApp, "--tag", "v3-broken", "--canary", "25%"});
  EXPECT_EQ(rolled.exit_code, 1) << rolled.stdout_text << rolled.stderr_text;
  EXPECT_THAT(rolled.stderr_text, StartsWith("pyctl: rollout 1 of hello rolled_back"));
  EXPECT_THAT(rolled.stderr_text, HasSubstr("; h1: failed at step verify: hello-web is not active"));
  for (FakeAgent* host : hosts_) EXPECT_EQ(RevisionOn(*host), 1u) << host->host();
}

TEST_F(PyctlRolloutTest, ApplyOfAChangedSpecFollowsItsRollout) {
  WriteFile("app.yaml", AppYaml(kApp, "v2") + "rollout:\n  canary: 50%\n");
  const ProcessResult applied = Pyctl({"apply", "app.yaml"});
  EXPECT_TRUE(applied.Succeeded()) << applied.stdout_text << applied.stderr_text;
  EXPECT_THAT(applied.stdout_text,
              HasSubstr("canary healthy: 2/2; promote with `pyctl rollout promote hello`\n"));
}

TEST_F(PyctlRolloutTest, StatusOfAPastRolloutById) {
  for (FakeAgent* host : hosts_) host->FailTag(kApp, "v3-broken", "verify", "hello-web is not active");
  EXPECT_EQ(Pyctl({"rollout", kApp, "--tag", "v3-broken"}).exit_code, 1);
  ASSERT_TRUE(Pyctl({"rollout", kApp, "--tag", "v2"}).Succeeded());
  const ProcessResult past = Pyctl({"rollout", "status", kApp, "--id", "1", "-o", "json"});
  ASSERT_TRUE(past.Succeeded()) << past.stderr_text;
  absl::StatusOr<JsonValue> json = ParseJson(past.stdout_text);
  ASSERT_TRUE(json.ok()) << past.stdout_text;
  EXPECT_EQ(Fields(*json).at("id").number_value(), 1);
  EXPECT_EQ(State(*json), "rolled_back");
  EXPECT_EQ(State(StatusJson()), "succeeded") << "without --id: the latest";
  const ProcessResult missing = Pyctl({"rollout", "status", kApp, "--id", "9"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.stderr_text, HasSubstr("has no rollout 9"));
}

TEST_F(PyctlRolloutTest, BadWaveSizeIsAUsageErrorNamingTheFlag) {
  const ProcessResult canary = Pyctl({"rollout", kApp, "--tag", "v2", "--canary", "10"});
  EXPECT_EQ(canary.exit_code, 2);
  EXPECT_THAT(canary.stderr_text, HasSubstr("--canary"));
  const ProcessResult batch = Pyctl({"rollout", kApp, "--tag", "v2", "--batch", "x"});
  EXPECT_EQ(batch.exit_code, 2);
  EXPECT_THAT(batch.stderr_text, HasSubstr("--batch"));
}

// Revision 2: v2 with a secret config value, brought by `pyctl apply`.
constexpr char kSecret[] = "s3cr3t-value";
std::string AppYamlWithSecret(const std::string& tag, const std::string& secret) {
  return AppYaml(kApp, tag) + "config:\n  token: !secret " + secret + "\n";
}

TEST_F(PyctlRolloutTest, HistoryRevisionShowsTagRolloutAndSpecWithSecretsRedacted) {
  WriteFile("app.yaml", AppYamlWithSecret("v2", kSecret));
  const ProcessResult applied = Pyctl({"apply", "app.yaml"});
  ASSERT_TRUE(applied.Succeeded()) << applied.stdout_text << applied.stderr_text;

  const ProcessResult shown = Pyctl({"history", kApp, "--revision", "2", "-o", "json"});
  ASSERT_TRUE(shown.Succeeded()) << shown.stderr_text;
  EXPECT_THAT(shown.stdout_text, Not(HasSubstr(kSecret)));
  absl::StatusOr<JsonValue> json = ParseJson(shown.stdout_text);
  ASSERT_TRUE(json.ok()) << shown.stdout_text;
  EXPECT_EQ(Fields(*json).at("revision").number_value(), 2);
  EXPECT_EQ(Fields(*json).at("tag").string_value(), "v2");
  EXPECT_THAT(Fields(*json).at("digest").string_value(), StartsWith("sha256:"));
  const JsonValue& rollout = Fields(*json).at("rollout");
  EXPECT_EQ(Fields(rollout).at("cause").string_value(), "apply");
  EXPECT_EQ(Fields(rollout).at("from_revision").number_value(), 1);
  EXPECT_EQ(Fields(rollout).at("state").string_value(), "succeeded");
  const std::string spec = Fields(*json).at("canonical_yaml").string_value();
  EXPECT_THAT(spec, HasSubstr("\ntag: \"v2\"\n"));
  EXPECT_THAT(spec, HasSubstr("token:"));

  const ProcessResult table = Pyctl({"history", kApp, "--revision", "2"});
  ASSERT_TRUE(table.Succeeded()) << table.stderr_text;
  EXPECT_THAT(table.stdout_text, HasSubstr("apply from revision 1, succeeded"));
  EXPECT_THAT(table.stdout_text, HasSubstr("Spec:\n"));
  EXPECT_THAT(table.stdout_text, Not(HasSubstr(kSecret)));

  const ProcessResult first = Pyctl({"history", kApp, "--revision", "1", "-o", "json"});
  ASSERT_TRUE(first.Succeeded()) << first.stderr_text;
  absl::StatusOr<JsonValue> first_json = ParseJson(first.stdout_text);
  ASSERT_TRUE(first_json.ok()) << first.stdout_text;
  EXPECT_FALSE(Fields(*first_json).contains("rollout")) << "the first apply has no rollout";

  const ProcessResult missing = Pyctl({"history", kApp, "--revision", "9"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.stderr_text, HasSubstr("\"hello\" has no revision 9"));
}

TEST_F(PyctlRolloutTest, DiffOfRevisionsAndOfAFileAgainstTheCurrentOneRedactsSecrets) {
  WriteFile("app.yaml", AppYamlWithSecret("v2", kSecret));
  ASSERT_TRUE(Pyctl({"apply", "app.yaml"}).Succeeded());

  const ProcessResult latest = Pyctl({"diff", kApp});
  ASSERT_TRUE(latest.Succeeded()) << latest.stderr_text;
  EXPECT_THAT(latest.stdout_text, HasSubstr("--- hello revision 1 (v1)\n+++ hello revision 2 (v2)\n"));
  EXPECT_THAT(latest.stdout_text, HasSubstr("\n-tag: \"v1\"\n+tag: \"v2\"\n"));
  EXPECT_THAT(latest.stdout_text, HasSubstr("+  token:"));
  EXPECT_THAT(latest.stdout_text, Not(HasSubstr(kSecret)));

  const ProcessResult back = Pyctl({"diff", kApp, "--revision", "2", "--to", "1", "-o", "json"});
  ASSERT_TRUE(back.Succeeded()) << back.stderr_text;
  absl::StatusOr<JsonValue> json = ParseJson(back.stdout_text);
  ASSERT_TRUE(json.ok()) << back.stdout_text;
  EXPECT_EQ(Fields(*json).at("from_revision").number_value(), 2);
  EXPECT_EQ(Fields(*json).at("to_revision").number_value(), 1);
  EXPECT_THAT(Fields(*json).at("diff").string_value(), HasSubstr("\n-tag: \"v2\"\n+tag: \"v1\"\n"));

  WriteFile("next.yaml", AppYamlWithSecret("v3", "an0ther-secret"));
  const ProcessResult file = Pyctl({"diff", "next.yaml"});
  ASSERT_TRUE(file.Succeeded()) << file.stderr_text;
  EXPECT_THAT(file.stdout_text, HasSubstr("\n-tag: \"v2\"\n+tag: \"v3\"\n"));
  EXPECT_THAT(file.stdout_text, Not(HasSubstr(kSecret)));
  EXPECT_THAT(file.stdout_text, Not(HasSubstr("an0ther-secret")));
  EXPECT_EQ(Pyctl({"diff", "app.yaml"}).stdout_text, "no differences\n");
  const ProcessResult history = Pyctl({"history", kApp, "-o", "json"});
  absl::StatusOr<JsonValue> revisions = ParseJson(history.stdout_text);
  ASSERT_TRUE(revisions.ok()) << history.stdout_text;
  EXPECT_EQ(revisions->list_value().values_size(), 2) << "a diff stores nothing";

  const ProcessResult first = Pyctl({"diff", kApp, "--to", "1"});
  EXPECT_EQ(first.exit_code, 1);
  EXPECT_THAT(first.stderr_text, HasSubstr("revision 1 is its first"));
  const ProcessResult mixed = Pyctl({"diff", "next.yaml", "--revision", "1"});
  EXPECT_NE(mixed.exit_code, 0);
  EXPECT_THAT(mixed.stderr_text, HasSubstr("give an app NAME, not a file"));
}

TEST_F(PyctlRolloutTest, UndoToRevisionRollsOutThatRevisionsSpecAgain) {
  ASSERT_TRUE(Pyctl({"rollout", kApp, "--tag", "v2"}).Succeeded());
  ASSERT_TRUE(Pyctl({"rollout", kApp, "--tag", "v3"}).Succeeded());
  const ProcessResult undone =
      Pyctl({"rollout", "undo", kApp, "--to-revision", "1", "-o", "json"});
  ASSERT_TRUE(undone.Succeeded()) << undone.stdout_text << undone.stderr_text;
  EXPECT_EQ(State(StatusJson()), "succeeded");
  absl::StatusOr<JsonValue> json = ParseJson(undone.stdout_text);
  ASSERT_TRUE(json.ok()) << undone.stdout_text;
  EXPECT_EQ(Fields(*json).at("tag").string_value(), "v1");
  EXPECT_EQ(Fields(*json).at("from_revision").number_value(), 3);
  EXPECT_EQ(Fields(*json).at("to_revision").number_value(), 4);
  for (FakeAgent* host : hosts_) {
    EXPECT_EQ(RevisionOn(*host), 4u) << host->host();
    EXPECT_EQ(host->apps()[kApp].tag(), "v1") << host->host();
  }

  const ProcessResult again = Pyctl({"rollout", "undo", kApp, "--to-revision", "1"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_THAT(again.stderr_text, HasSubstr("already runs revision 1's spec"));
  const ProcessResult missing = Pyctl({"rollout", "undo", kApp, "--to-revision", "99"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.stderr_text, HasSubstr("has no revision 99"));
}

}  // namespace
}  // namespace pyservice

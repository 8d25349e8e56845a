// Rollouts end to end: the real pyservice-controller on this machine
// serving TLS on a Unix socket; four real systemd test hosts (r1..r4, each
// with its own network namespace, enrolled with label role=web) running the
// real pyservice-agent from deploy/systemd/pyservice-agent.service; every
// rollout command is the real pyctl. What the tests believe they observe on the hosts themselves: the
// app's HTTP answer (curl inside the host), the service's MainPID /
// InvocationID / ActiveEnterTimestampMonotonic (systemctl show), the app's
// code symlink (readlink), release directories (stat), and the hosts'
// journals; the controller's view only through `pyctl ... -o json`.
// The harness (controller, hosts, agents, pyctl) is fleet_e2e.h.
//
// Hosts boot once per test binary run (SetUpTestSuite), like
// fleet_e2e_test. The tests read best in file order (v1 -> v2 canary and
// promote -> v3-broken rolled back -> undo to v1 -> v2 with the controller
// killed), and a whole-binary run does exactly that, each test starting
// where the previous one left the fleet. CTest, though, runs every test in a
// process of its own: so each test first brings the fleet to the state it
// needs (EnsureAllOn), which is a no-op when the previous test left it
// there. No test depends on another having run.
//
// TwoHostRolloutE2eTest (at the end) boots a fleet of its own with two
// hosts (u1, u2) for issue 13's sequences, which need no more.
#include <signal.h>

#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/e2e/agent/hello_app.h"
#include "tests/e2e/fleet/fleet_e2e.h"

namespace pyservice::testing {
namespace {

constexpr int kHosts = 4;
constexpr char kApp[] = "hello";
// The app's default paths (app.yaml sets none).
constexpr char kCodeLink[] = "/applications/hello/app/code";
constexpr char kReleasesDir[] = "/applications/hello/app/releases";
// Every wait on the fleet is bounded by this (a cold deploy builds a venv).
constexpr absl::Duration kRolloutTimeout = absl::Seconds(180);
// How many waves after the running one prepare the new revision ahead
// (controller/rollout/placement.h kPrepareAheadWaves, not linked in here:
// the tests see the controller only through pyctl).
constexpr int kPrepareAheadWaves = 2;

std::string HostName(int i) { return absl::StrCat("r", i + 1); }

int HostIndex(const std::string& name) {
  for (int i = 0; i < kHosts; ++i) {
    if (HostName(i) == name) return i;
  }
  return -1;
}

// The agent's release id of a tag: "v2-<first 12 hex digits of the commit>".
std::string ReleaseId(const std::string& tag) {
  return absl::StrCat(tag, "-", GetHelloRepos().commits.at(tag).substr(0, 12));
}

// One `pyctl rollout status hello -o json` (or the document a rollout
// command printed), parsed.
struct RolloutView {
  bool ok = false;
  std::string raw;  // the command and its output, for failure messages
  JsonValue json;

  std::string State() const { return ok ? Field(json, "state") : ""; }
  std::string Get(const std::string& key) const { return ok ? Field(json, key) : ""; }
  int CurrentWave() const {
    const std::string wave = Get("current_wave");
    return wave.empty() ? -1 : std::stoi(wave);
  }
  // Every host of every wave: host -> its object (with "wave" added).
  std::map<std::string, JsonValue> Hosts() const {
    std::map<std::string, JsonValue> hosts;
    if (!ok) return hosts;
    const JsonValue* waves = Member(json, "waves");
    if (waves == nullptr || waves->kind_case() != JsonValue::kListValue) return hosts;
    for (const JsonValue& wave : waves->list_value().values()) {
      const JsonValue* list = Member(wave, "hosts");
      if (list == nullptr || list->kind_case() != JsonValue::kListValue) continue;
      for (const JsonValue& host : list->list_value().values()) {
        JsonValue copy = host;
        (*copy.mutable_struct_value()->mutable_fields())["wave"].set_number_value(
            std::stod(Field(wave, "index").empty() ? "-1" : Field(wave, "index")));
        (*copy.mutable_struct_value()->mutable_fields())["canary"].set_bool_value(
            Field(wave, "canary") == "true");
        hosts[Field(host, "host")] = copy;
      }
    }
    return hosts;
  }
  // The rollout's plan: the wave index of every host ("waves[i].hosts").
  std::map<std::string, int> WaveOfHost() const {
    std::map<std::string, int> wave_of;
    for (const auto& [host, object] : Hosts()) wave_of[host] = std::stoi(Field(object, "wave"));
    return wave_of;
  }
  // The hosts of wave `index`, in the order listed.
  std::vector<std::string> WaveHosts(int index) const {
    std::vector<std::string> names;
    if (!ok) return names;
    const JsonValue* waves = Member(json, "waves");
    if (waves == nullptr || waves->kind_case() != JsonValue::kListValue) return names;
    for (const JsonValue& wave : waves->list_value().values()) {
      if (Field(wave, "index") != absl::StrCat(index)) continue;
      const JsonValue* list = Member(wave, "hosts");
      if (list == nullptr || list->kind_case() != JsonValue::kListValue) continue;
      for (const JsonValue& host : list->list_value().values()) {
        names.push_back(Field(host, "host"));
      }
    }
    return names;
  }
};

bool IsActiveState(const std::string& state) {
  return state == "pending" || state == "running" || state == "awaiting_promotion" ||
         state == "paused";
}

// What systemd says about the app's service on one host.
struct ServiceSnapshot {
  std::string main_pid;
  std::string invocation_id;
  std::string active_since;  // ActiveEnterTimestampMonotonic

  bool operator==(const ServiceSnapshot& other) const {
    return main_pid == other.main_pid && invocation_id == other.invocation_id &&
           active_since == other.active_since;
  }
  std::string Describe() const {
    return absl::StrCat("MainPID=", main_pid, " InvocationID=", invocation_id,
                        " ActiveEnterTimestampMonotonic=", active_since);
  }
};

class RolloutE2eTest : public FleetE2eFixture {
 protected:
  static void SetUpTestSuite() { BootHosts(kHosts, "r"); }

  // Boots `count` hosts named PREFIX1, PREFIX2, ... with the hello
  // repository's tags.
  static void BootHosts(int count, const std::string& prefix,
                        const std::string& app_yaml = HelloAppYaml()) {
    FleetOptions options;
    options.app_yaml = app_yaml;
    // Several hosts' journals: shorter each, and more of the controller's
    // log (the rollout engine's decisions).
    options.controller_log_lines = 60;
    options.agent_journal_lines = 30;
    for (int i = 0; i < count; ++i) options.host_names.push_back(absl::StrCat(prefix, i + 1));
    BootFleet(std::move(options), {"v1", "v2", "v3-broken"});
  }

  static RolloutView ParseRollout(const std::string& what, const ProcessResult& result) {
    RolloutView view;
    view.raw = absl::StrCat(what, ": ", Describe(result));
    if (!result.Succeeded()) return view;
    absl::StatusOr<JsonValue> json = ParseJson(result.stdout_text);
    if (!json.ok() || json->kind_case() != JsonValue::kStructValue) return view;
    view.json = *std::move(json);
    view.ok = true;
    return view;
  }

  static RolloutView RolloutStatus() {
    return ParseRollout("pyctl rollout status hello -o json",
                        Pyctl({"rollout", "status", kApp, "-o", "json"}));
  }

  // Polls `pyctl rollout status` until `done` holds for it or `timeout`
  // passes; returns whether it held, with the last view in `last`.
  static bool WaitRollout(const std::function<bool(const RolloutView&)>& done,
                          absl::Duration timeout, RolloutView* last,
                          absl::Duration interval = absl::Milliseconds(250)) {
    return Eventually(
        [&] {
          *last = RolloutStatus();
          return last->ok && done(*last);
        },
        timeout, interval);
  }

  static std::map<std::string, JsonValue> StatusByHost(std::string* raw = nullptr) {
    return fleet().StatusByHost(kApp, raw);
  }

  // Every host healthy on `tag`: connected, on `tag`, "health": "healthy"
  // with its unit active in `pyctl status`, and answering HTTP with `tag`'s
  // body.
  static bool AllHealthyOn(const std::string& tag, std::string* raw) {
    return fleet().AllHealthyOn(kApp, tag, raw);
  }

  // The tag of the app's current revision (`pyctl get apps -o json`).
  static std::string CurrentTag() {
    const ProcessResult result = Pyctl({"get", "apps", "-o", "json"});
    absl::StatusOr<JsonValue> json = ParseJson(result.stdout_text);
    if (!result.Succeeded() || !json.ok() || json->kind_case() != JsonValue::kListValue) {
      return absl::StrCat("(", Describe(result), ")");
    }
    for (const JsonValue& app : json->list_value().values()) {
      if (Field(app, "name") == kApp) return Field(app, "tag");
    }
    return "(no app)";
  }

  static bool AppExists() {
    const ProcessResult result = Pyctl({"get", "apps", "-o", "json"});
    return result.Succeeded() && absl::StrContains(result.stdout_text, "\"hello\"");
  }

  // Brings the fleet to: the app applied, no rollout active, every host
  // healthy on `tag` (what each test starts from). A no-op when the fleet
  // is there already, which is the case in a whole-binary run in file
  // order. Otherwise applies the app (v1) if the controller does not know
  // it, settles a rollout a failed test left active, and rolls out `tag` to
  // every host at once.
  static void EnsureAllOn(const std::string& tag) {
    std::string raw;
    if (!Eventually(AllConnected, absl::Seconds(60))) {
      Connected(&raw);
      FAIL() << "agents did not connect\n" << raw << Diagnostics();
    }
    if (!AppExists()) {
      const absl::Time start = absl::Now();
      const ProcessResult applied = Pyctl({"apply", fleet().app_yaml_path()}, 300);
      ASSERT_TRUE(applied.Succeeded()) << Describe(applied) << Diagnostics();
      std::cout << "[ figures ] cold deploy of v1 to " << fleet().size()
                << " hosts (pyctl apply): " << absl::FormatDuration(absl::Now() - start)
                << std::endl;
    }
    RolloutView last = RolloutStatus();
    if (last.ok && IsActiveState(last.State())) {
      if (last.State() != "running" && last.State() != "pending") {
        (void)Pyctl({"rollout", "abort", kApp});
      }
      ASSERT_TRUE(WaitRollout([](const RolloutView& v) { return !IsActiveState(v.State()); },
                              kRolloutTimeout, &last))
          << "a rollout left by an earlier test did not settle\n" << last.raw << Diagnostics();
    }
    // A rollout that rolled back, failed or was aborted left a current
    // revision the fleet does not run: undo makes what runs current again,
    // so every test starts from a rollout that succeeded.
    if (last.ok && (last.State() == "rolled_back" || last.State() == "failed" ||
                    last.State() == "aborted")) {
      const ProcessResult undone = Pyctl({"rollout", "undo", kApp}, 300);
      ASSERT_TRUE(undone.Succeeded()) << "making what runs current after rollout "
                                      << last.Get("id") << " (" << last.State() << "):\n"
                                      << Describe(undone) << Diagnostics();
    }
    // Healthy too: a canary rolled back by its agent reports healthy again
    // once it serves the earlier release (see BrokenCanary... below).
    if (Eventually([&] { return AllHealthyOn(tag, &raw); }, absl::Seconds(10))) return;
    const ProcessResult rolled = Pyctl(
        {"rollout", kApp, "--tag", tag, "--batch", "100%", "--auto-promote"}, 400);
    ASSERT_TRUE(rolled.Succeeded() || absl::StrContains(rolled.stderr_text, "already runs tag"))
        << "bringing the fleet to " << tag << ":\n" << Describe(rolled) << Diagnostics();
    ASSERT_TRUE(Eventually([&] { return AllHealthyOn(tag, &raw); }, absl::Seconds(60)))
        << "not every host healthy on " << tag << "\n" << raw << Diagnostics();
  }

  static std::string HttpBody(int i) {
    absl::StatusOr<std::string> body = HttpGet(i);
    return body.ok() ? *body : absl::StrCat("(no answer: ", body.status().ToString(), ")");
  }

  static ServiceSnapshot Snapshot(int i) {
    return {ShowUnit(i, "MainPID"), ShowUnit(i, "InvocationID"),
            ShowUnit(i, "ActiveEnterTimestampMonotonic")};
  }

  // The release the app's code symlink points at (its last path element).
  static std::string LiveRelease(int i) {
    auto out = Host(i).RunOk({"readlink", kCodeLink});
    if (!out.ok()) return out.status().ToString();
    return std::filesystem::path(std::string(absl::StripTrailingAsciiWhitespace(*out)))
        .filename()
        .string();
  }

  // The inode of a path inside host i ("" when it does not exist).
  static std::string Inode(int i, const std::string& path) {
    auto out = Host(i).Run({"stat", "-c", "%i", path});
    if (!out.ok() || !out->Succeeded()) return "";
    return std::string(absl::StripTrailingAsciiWhitespace(out->stdout_text));
  }

  static int CountLines(const std::string& text, const std::string& needle,
                        const std::string& also = "") {
    int count = 0;
    for (absl::string_view line : absl::StrSplit(text, '\n')) {
      if (absl::StrContains(line, needle) && absl::StrContains(line, also)) ++count;
    }
    return count;
  }
};

// 1 + 2: a canary wave of one host (25% of four), held for promotion while
// the other three keep serving v1 untouched and the hosts of the next two
// waves prepare v2 ahead (the last one does not yet); promote moves the
// rest, the prepared ones only activating what they prepared.
TEST_F(RolloutE2eTest, CanaryWaitsForPromotionWhileOthersPrepareThenPromoteFinishes) {
  ASSERT_NO_FATAL_FAILURE(EnsureAllOn("v1"));
  std::vector<ServiceSnapshot> before;
  for (int i = 0; i < kHosts; ++i) {
    before.push_back(Snapshot(i));
    ASSERT_NE(before.back().main_pid, "0") << HostName(i);
    ASSERT_EQ(LiveRelease(i), ReleaseId("v1")) << HostName(i);
  }

  const absl::Time start = absl::Now();
  const ProcessResult started =
      Pyctl({"rollout", kApp, "--tag", "v2", "--canary", "25%", "--no-wait", "-o", "json"});
  ASSERT_TRUE(started.Succeeded()) << Describe(started) << Diagnostics();
  const RolloutView printed = ParseRollout("pyctl rollout --no-wait -o json", started);
  ASSERT_TRUE(printed.ok) << printed.raw;
  EXPECT_EQ(printed.Get("tag"), "v2") << printed.raw;
  EXPECT_TRUE(IsActiveState(printed.State())) << printed.raw;
  const std::string id = printed.Get("id");

  // Held after a healthy canary, once the hosts of the next
  // kPrepareAheadWaves waves prepared v2. Four hosts, canary 25% and the
  // default batch of one make four waves of one host: r2 and r3 (waves 1
  // and 2) prepare now, r4 (wave 3) only once wave 1 starts.
  RolloutView last;
  const auto prepares_ahead = [](int wave) { return wave >= 1 && wave <= kPrepareAheadWaves; };
  const auto ahead_prepared = [&](const RolloutView& v) {
    const std::map<std::string, int> wave_of = v.WaveOfHost();
    for (const auto& [host, object] : v.Hosts()) {
      if (prepares_ahead(wave_of.at(host)) && Field(object, "prepare") != "prepared") return false;
    }
    return true;
  };
  ASSERT_TRUE(WaitRollout(
      [&](const RolloutView& v) { return v.State() == "awaiting_promotion" && ahead_prepared(v); },
      kRolloutTimeout, &last))
      << "not awaiting promotion with the hosts of waves 1.." << kPrepareAheadWaves
      << " prepared within " << absl::FormatDuration(kRolloutTimeout) << "\nlast status: "
      << last.raw << Diagnostics();
  const absl::Duration canary_time = absl::Now() - start;
  std::cout << "[ figures ] rollout v1 -> v2, canary 25%: awaiting_promotion (waves 1.."
            << kPrepareAheadWaves << " prepared) " << absl::FormatDuration(canary_time)
            << " after start" << std::endl;
  EXPECT_EQ(last.Get("id"), id) << last.raw;

  // The plan: the canary wave is the first host in name order, then one
  // host per wave.
  const std::vector<std::string> canary = last.WaveHosts(0);
  ASSERT_EQ(canary.size(), 1u) << last.raw;
  EXPECT_EQ(canary[0], HostName(0)) << "canary hosts are taken in name order\n" << last.raw;
  const std::map<std::string, JsonValue> in_status = last.Hosts();
  ASSERT_EQ(in_status.size(), static_cast<size_t>(kHosts)) << last.raw;
  const std::map<std::string, int> wave_of = last.WaveOfHost();
  for (int w = 0; w < kHosts; ++w) {
    ASSERT_EQ(last.WaveHosts(w).size(), 1u) << "wave " << w << " of four waves of one host\n"
                                            << last.raw;
  }
  EXPECT_EQ(Field(in_status.at(canary[0]), "canary"), "true") << last.raw;
  EXPECT_EQ(Field(in_status.at(canary[0]), "state"), "healthy") << last.raw;

  int serving_v2 = 0;
  std::map<int, std::string> prepared_inode, prepared_venv_inode;
  const std::string v2_dir = absl::StrCat(kReleasesDir, "/", ReleaseId("v2"));
  for (int i = 0; i < kHosts; ++i) {
    const std::string body = HttpBody(i);
    if (body == Body("v2")) ++serving_v2;
    if (HostName(i) == canary[0]) {
      EXPECT_EQ(body, Body("v2")) << HostName(i) << " (canary)";
      EXPECT_EQ(LiveRelease(i), ReleaseId("v2")) << HostName(i);
      EXPECT_NE(Snapshot(i).invocation_id, before[i].invocation_id)
          << HostName(i) << ": the canary's service was not restarted";
      continue;
    }
    EXPECT_EQ(body, Body("v1")) << HostName(i);
    EXPECT_EQ(LiveRelease(i), ReleaseId("v1")) << HostName(i);
    EXPECT_EQ(Snapshot(i), before[i]) << HostName(i) << ": service restarted while waiting; was "
                                      << before[i].Describe();
    const JsonValue& host = in_status.at(HostName(i));
    EXPECT_EQ(Field(host, "state"), "pending") << last.raw;
    if (prepares_ahead(wave_of.at(HostName(i)))) {
      EXPECT_EQ(Field(host, "prepare"), "prepared") << HostName(i) << "\n" << last.raw;
      // Prepared ahead: the v2 release is built on disk next to live v1.
      prepared_inode[i] = Inode(i, v2_dir);
      prepared_venv_inode[i] = Inode(i, v2_dir + "/.venv");
      EXPECT_NE(prepared_inode[i], "") << HostName(i) << ": no " << v2_dir << " before promote";
    } else {
      // Too far ahead to prepare yet: nothing fetched, nothing built.
      EXPECT_EQ(Field(host, "prepare"), "none") << HostName(i) << " (wave "
                                                << wave_of.at(HostName(i)) << ")\n" << last.raw;
      EXPECT_EQ(Inode(i, v2_dir), "") << HostName(i) << ": " << v2_dir << " exists already";
    }
  }
  EXPECT_EQ(serving_v2, 1) << "exactly one host (the canary) serves v2";
  EXPECT_EQ(prepared_inode.size(), static_cast<size_t>(kPrepareAheadWaves)) << last.raw;

  // It stays held: nothing moves without `promote`, and the later wave
  // does not start preparing either.
  absl::SleepFor(absl::Seconds(3));
  last = RolloutStatus();
  EXPECT_EQ(last.State(), "awaiting_promotion") << last.raw;
  for (int i = 1; i < kHosts; ++i) {
    EXPECT_EQ(HttpBody(i), Body("v1")) << HostName(i);
    EXPECT_EQ(Snapshot(i), before[i]) << HostName(i);
    if (!prepares_ahead(wave_of.at(HostName(i)))) {
      EXPECT_EQ(Field(last.Hosts()[HostName(i)], "prepare"), "none") << last.raw;
      EXPECT_EQ(Inode(i, v2_dir), "") << HostName(i);
    }
  }

  // Promote: the other three waves go. The hosts prepared before promote
  // activate what they prepared; the last wave's host starts preparing
  // once wave 1 runs, before its own wave.
  const int64_t promote_mark = JournalMark();
  const absl::Time promoted_at = absl::Now();
  const ProcessResult promoted = Pyctl({"rollout", "promote", kApp});
  ASSERT_TRUE(promoted.Succeeded()) << Describe(promoted) << Diagnostics();
  std::map<std::string, std::string> seen_ahead;  // host -> prepare state seen before its wave
  ASSERT_TRUE(WaitRollout(
      [&](const RolloutView& v) {
        for (const auto& [host, object] : v.Hosts()) {
          const int wave = wave_of.at(host);
          if (v.State() == "running" && v.CurrentWave() < wave &&
              wave <= v.CurrentWave() + kPrepareAheadWaves &&
              Field(object, "prepare") != "none") {
            seen_ahead[host] = Field(object, "prepare");
          }
        }
        return !IsActiveState(v.State());
      },
      kRolloutTimeout, &last))
      << "not finished within " << absl::FormatDuration(kRolloutTimeout)
      << " of promote\nlast status: " << last.raw << Diagnostics();
  std::cout << "[ figures ] promote -> succeeded (3 waves of 1 host, prepared ahead): "
            << absl::FormatDuration(absl::Now() - promoted_at) << std::endl;
  ASSERT_EQ(last.State(), "succeeded") << last.raw << Diagnostics();
  for (int i = 0; i < kHosts; ++i) {
    EXPECT_EQ(HttpBody(i), Body("v2")) << HostName(i);
    EXPECT_EQ(LiveRelease(i), ReleaseId("v2")) << HostName(i);
    if (HostName(i) == canary[0]) continue;
    EXPECT_NE(Snapshot(i).invocation_id, before[i].invocation_id) << HostName(i);
    const std::string agent_log = JournalSince(i, promote_mark, {"--unit", kAgentUnit});
    if (!prepared_inode.contains(i)) {
      // The last wave's host: sent prepare while an earlier wave ran.
      EXPECT_TRUE(seen_ahead.contains(HostName(i)))
          << HostName(i) << " (wave " << wave_of.at(HostName(i))
          << ") was not seen preparing before its wave\n" << last.raw;
      std::cout << "[ figures ] " << HostName(i) << " (wave " << wave_of.at(HostName(i))
                << "): prepare seen " << seen_ahead[HostName(i)] << " before its wave; "
                << (absl::StrContains(agent_log, "resuming an interrupted deploy")
                        ? "its deploy resumed the prepared one"
                        : "its deploy did not resume a prepared one")
                << std::endl;
      continue;
    }
    // Not fetched or built again in its wave: the release directory (and
    // its venv) is the very one prepared before promote, and the agent
    // resumed the prepared deploy.
    EXPECT_EQ(Inode(i, v2_dir), prepared_inode[i]) << HostName(i) << ": " << v2_dir
                                                   << " was made again after promote";
    EXPECT_EQ(Inode(i, v2_dir + "/.venv"), prepared_venv_inode[i])
        << HostName(i) << ": the venv was built again after promote";
    EXPECT_TRUE(absl::StrContains(agent_log, "resuming an interrupted deploy"))
        << HostName(i) << ": the deploy after promote did not resume the prepared one\n"
        << agent_log;
  }
  std::string raw;
  EXPECT_TRUE(Eventually([&] { return AllHealthyOn("v2", &raw); }, absl::Seconds(30))) << raw;
}

// 3: a broken canary (v3-broken exits at start) fails its gate and the
// rollout rolls back: the canary serves v2 again, the three others were
// never restarted.
TEST_F(RolloutE2eTest, BrokenCanaryRollsBackAndTheOthersAreNeverRestarted) {
  ASSERT_NO_FATAL_FAILURE(EnsureAllOn("v2"));
  std::vector<ServiceSnapshot> before;
  for (int i = 0; i < kHosts; ++i) before.push_back(Snapshot(i));

  const absl::Time start = absl::Now();
  const ProcessResult rolled =
      Pyctl({"rollout", kApp, "--tag", "v3-broken", "--canary", "25%"}, 400);
  const absl::Duration took = absl::Now() - start;
  EXPECT_FALSE(rolled.Succeeded()) << "a rolled-back rollout must exit non-zero\n"
                                   << Describe(rolled);
  EXPECT_NE(rolled.term_signal, SIGKILL) << "pyctl did not finish within 400 s\n"
                                         << Describe(rolled);
  std::cout << "[ figures ] rollout v2 -> v3-broken, canary 25%: pyctl returned ("
            << rolled.Describe() << ") after " << absl::FormatDuration(took) << std::endl;

  RolloutView last;
  ASSERT_TRUE(WaitRollout([](const RolloutView& v) { return !IsActiveState(v.State()); },
                          absl::Seconds(60), &last))
      << "last status: " << last.raw << Diagnostics();
  ASSERT_EQ(last.State(), "rolled_back") << last.raw << Diagnostics();
  EXPECT_EQ(last.Get("tag"), "v3-broken") << last.raw;
  const std::vector<std::string> canary = last.WaveHosts(0);
  ASSERT_EQ(canary.size(), 1u) << last.raw;
  const int canary_index = HostIndex(canary[0]);
  ASSERT_GE(canary_index, 0) << last.raw;

  // Give a wrongful late restart time to happen, then look.
  absl::SleepFor(absl::Seconds(5));
  std::string raw;
  // The canary runs v2 again and reports healthy: its agent rolled it back
  // to the v2 release, and the failed v3-broken deploy is not its health.
  EXPECT_TRUE(Eventually([&] { return AllHealthyOn("v2", &raw); }, absl::Seconds(60)))
      << "not every host healthy on v2 after the rollback (canary " << canary[0] << ")\n"
      << raw << Diagnostics();
  for (int i = 0; i < kHosts; ++i) {
    EXPECT_EQ(HttpBody(i), Body("v2")) << HostName(i);
    EXPECT_EQ(LiveRelease(i), ReleaseId("v2")) << HostName(i);
    if (i == canary_index) {
      // It did try v3-broken (and went back).
      EXPECT_NE(Snapshot(i).invocation_id, before[i].invocation_id) << HostName(i);
      continue;
    }
    EXPECT_EQ(Snapshot(i), before[i]) << HostName(i) << " restarted; was "
                                      << before[i].Describe() << "\n" << Diagnostics();
  }
}

// 4: undo puts the revision before the live one back, fast: every agent
// re-activates the v1 release it kept, without checkout or build.
TEST_F(RolloutE2eTest, UndoReactivatesTheKeptReleaseWithoutFetchingOrBuilding) {
  // On v2 brought by a finished rollout from v1 (the earlier tests, or
  // EnsureAllOn: v1 applied, then v2 rolled out).
  ASSERT_NO_FATAL_FAILURE(EnsureAllOn("v2"));
  const std::string v1_dir = absl::StrCat(kReleasesDir, "/", ReleaseId("v1"));
  std::vector<std::string> v1_inode, v1_venv_inode;
  for (int i = 0; i < kHosts; ++i) {
    v1_inode.push_back(Inode(i, v1_dir));
    v1_venv_inode.push_back(Inode(i, v1_dir + "/.venv"));
    ASSERT_NE(v1_inode.back(), "") << HostName(i) << ": v1 release not kept at " << v1_dir;
    ASSERT_NE(v1_venv_inode.back(), "") << HostName(i) << ": no venv in " << v1_dir;
  }

  const int64_t mark = JournalMark();
  const absl::Time start = absl::Now();
  const ProcessResult undone = Pyctl({"rollout", "undo", kApp, "-o", "json"}, 300);
  const absl::Duration took = absl::Now() - start;
  ASSERT_TRUE(undone.Succeeded()) << Describe(undone) << Diagnostics();
  std::cout << "[ figures ] pyctl rollout undo (v2 -> v1, " << kHosts
            << " hosts, batch 25%): " << absl::FormatDuration(took) << std::endl;

  const RolloutView last = RolloutStatus();
  ASSERT_TRUE(last.ok) << last.raw;
  EXPECT_EQ(last.State(), "succeeded") << last.raw;
  EXPECT_EQ(last.Get("tag"), "v1") << last.raw;
  EXPECT_EQ(last.Get("cause"), "undo") << last.raw;
  std::string raw;
  EXPECT_TRUE(Eventually([&] { return AllHealthyOn("v1", &raw); }, absl::Seconds(30))) << raw;
  for (int i = 0; i < kHosts; ++i) {
    EXPECT_EQ(HttpBody(i), Body("v1")) << HostName(i);
    EXPECT_EQ(LiveRelease(i), ReleaseId("v1")) << HostName(i);
    // No wall-clock threshold; instead, proof that nothing was fetched or
    // built. The very release directory kept from before, not a new
    // checkout (checkout exports to .incoming-ID and renames it over the
    // release), and the very venv (the environment step removes .venv
    // before building).
    EXPECT_EQ(Inode(i, v1_dir), v1_inode[i]) << HostName(i) << ": v1 checked out again";
    EXPECT_EQ(Inode(i, v1_dir + "/.venv"), v1_venv_inode[i])
        << HostName(i) << ": v1 venv built again";
    // And the agent's own account: no export of a tree, and the kept
    // release re-activated (pipeline.cc logs "re-activating kept release
    // ID"). Every host: the first wave's is deployed directly, and the later
    // waves' hosts, sent prepare-ahead first, find the kept release ready
    // (a prepare of it is a no-op), so their deploy re-activates it too.
    const std::string agent_log = JournalSince(i, mark, {"--unit", kAgentUnit});
    EXPECT_FALSE(absl::StrContains(agent_log, "exported"))
        << HostName(i) << ": undo exported a tree\n" << agent_log;
    EXPECT_TRUE(absl::StrContains(
        agent_log, absl::StrCat("re-activating kept release ", ReleaseId("v1"))))
        << HostName(i) << ": undo did not re-activate the kept v1 release\n" << agent_log;
  }
}

// 5: the controller killed (SIGKILL) in the middle of a batched rollout and
// started again on the same data dir and socket: the agents come back by
// themselves, the rollout finishes, and no host is deployed twice.
TEST_F(RolloutE2eTest, ControllerKilledMidRolloutFinishesItWithoutDeployingAnyHostTwice) {
  ASSERT_NO_FATAL_FAILURE(EnsureAllOn("v1"));
  std::vector<ServiceSnapshot> before;
  for (int i = 0; i < kHosts; ++i) before.push_back(Snapshot(i));

  const int64_t mark = JournalMark();
  const ProcessResult started =
      Pyctl({"rollout", kApp, "--tag", "v2", "--batch", "1", "--no-wait", "-o", "json"});
  ASSERT_TRUE(started.Succeeded()) << Describe(started) << Diagnostics();
  const RolloutView printed = ParseRollout("pyctl rollout --no-wait -o json", started);
  ASSERT_TRUE(printed.ok) << printed.raw;
  const std::string to_revision = printed.Get("to_revision");

  // Kill it while wave 1 or 2 (of 0..3, one host each) runs.
  RolloutView last;
  ASSERT_TRUE(WaitRollout(
      [](const RolloutView& v) {
        return !IsActiveState(v.State()) ||
               (v.State() == "running" && (v.CurrentWave() == 1 || v.CurrentWave() == 2));
      },
      kRolloutTimeout, &last, absl::Milliseconds(100)))
      << "wave 1 or 2 never ran\nlast status: " << last.raw << Diagnostics();
  ASSERT_EQ(last.State(), "running")
      << "the rollout finished before the controller could be killed in it\n" << last.raw;
  absl::StatusOr<ExitStatus> exit = fleet().KillController();
  ASSERT_TRUE(exit.ok()) << exit.status();
  std::cout << "[ figures ] controller killed (SIGKILL) in wave " << last.CurrentWave()
            << " of the batched rollout" << std::endl;
  const std::string killed_in = last.raw;

  // Away for a moment (the agents notice and back off), then back.
  absl::SleepFor(absl::Seconds(2));
  ASSERT_TRUE(fleet().StartController().ok()) << fleet().controller().ReadStderr();
  const absl::Time restarted_at = absl::Now();
  ASSERT_TRUE(Eventually(AllConnected, absl::Seconds(60)))
      << "the agents did not reconnect to the restarted controller\n" << Diagnostics();
  std::cout << "[ figures ] all agents reconnected "
            << absl::FormatDuration(absl::Now() - restarted_at) << " after the restart"
            << std::endl;
  ASSERT_TRUE(WaitRollout([](const RolloutView& v) { return !IsActiveState(v.State()); },
                          kRolloutTimeout, &last))
      << "not finished after the restart\nlast status: " << last.raw << Diagnostics();
  ASSERT_EQ(last.State(), "succeeded") << last.raw << "\nwhen killed: " << killed_in
                                       << Diagnostics();
  EXPECT_EQ(last.Get("to_revision"), to_revision) << last.raw;
  std::string raw;
  EXPECT_TRUE(Eventually([&] { return AllHealthyOn("v2", &raw); }, absl::Seconds(30))) << raw;
  // A wrongful redeploy after the restart would come within seconds.
  absl::SleepFor(absl::Seconds(5));

  // Deployed exactly once per host. The robust witness is systemd's own
  // journal on each host: every completed start (or restart) of the app's
  // service logs one SD_MESSAGE_UNIT_STARTED entry with UNIT=hello-web.service,
  // so counting those since the rollout began counts restarts exactly, even
  // two in quick succession that polling InvocationID could miss. One
  // deploy of v2 restarts the service once (v1 -> v2); a second deploy
  // would restart it again (a deploy that changes nothing restarts
  // nothing, and so is harmless either way). The InvocationID must have
  // changed too, and the agent's own log shows how many deploy jobs of the
  // revision it ran (printed for the record).
  for (int i = 0; i < kHosts; ++i) {
    EXPECT_EQ(HttpBody(i), Body("v2")) << HostName(i);
    EXPECT_EQ(LiveRelease(i), ReleaseId("v2")) << HostName(i);
    EXPECT_NE(Snapshot(i).invocation_id, before[i].invocation_id) << HostName(i);
    std::string starts_log;
    EXPECT_EQ(ServiceStartsSince(i, mark, &starts_log), 1)
        << HostName(i) << ": the service was not (re)started exactly once during the rollout:\n"
        << starts_log << "\nagent log:\n"
        << JournalSince(i, mark, {"--unit", kAgentUnit}) << "\nwhen killed: " << killed_in;
    const std::string agent_log = JournalSince(i, mark, {"--unit", kAgentUnit});
    const int jobs = CountLines(agent_log, absl::StrCat("started (revision ", to_revision, ","),
                                "hello: deploy ");
    const int prepares = CountLines(
        agent_log, absl::StrCat("started (revision ", to_revision, ","), "hello: prepare ");
    std::cout << "[ figures ] " << HostName(i) << ": " << jobs << " deploy job(s) of revision "
              << to_revision << " and " << prepares << " prepare job(s) run by the agent, "
              << CountLines(agent_log, "is live and healthy already")
              << " answered as live already" << std::endl;
    EXPECT_GE(jobs, 1) << agent_log;
  }
}

// Issue 13's sequences on the fewest hosts that show them: two (a canary of
// 50% is one host, and one host stays out of it).
class TwoHostRolloutE2eTest : public RolloutE2eTest {
 protected:
  static void SetUpTestSuite() { BootHosts(2, "u"); }
};

// v1 applied, v2 rolled out, a broken tag's canary rolled back (both hosts
// keep v2): `pyctl rollout undo` exits 0 and makes v2 current without
// restarting anything; a second undo then takes both hosts back to v1.
TEST_F(TwoHostRolloutE2eTest, UndoAfterABrokenCanaryKeepsV2ThenASecondUndoReturnsToV1) {
  ASSERT_NO_FATAL_FAILURE(EnsureAllOn("v1"));
  const ProcessResult to_v2 =
      Pyctl({"rollout", kApp, "--tag", "v2", "--batch", "100%", "--auto-promote"}, 300);
  ASSERT_TRUE(to_v2.Succeeded()) << Describe(to_v2) << Diagnostics();
  const ProcessResult broken =
      Pyctl({"rollout", kApp, "--tag", "v3-broken", "--canary", "50%"}, 300);
  EXPECT_FALSE(broken.Succeeded()) << Describe(broken);
  RolloutView last;
  ASSERT_TRUE(WaitRollout([](const RolloutView& v) { return !IsActiveState(v.State()); },
                          absl::Seconds(60), &last))
      << last.raw << Diagnostics();
  ASSERT_EQ(last.State(), "rolled_back") << last.raw << Diagnostics();
  std::string raw;
  ASSERT_TRUE(Eventually([&] { return AllHealthyOn("v2", &raw); }, absl::Seconds(60)))
      << raw << Diagnostics();
  std::vector<ServiceSnapshot> before;
  for (int i = 0; i < fleet().size(); ++i) before.push_back(Snapshot(i));

  const ProcessResult undone = Pyctl({"rollout", "undo", kApp, "-o", "json"}, 300);
  ASSERT_TRUE(undone.Succeeded()) << Describe(undone) << Diagnostics();
  last = RolloutStatus();
  EXPECT_EQ(last.State(), "succeeded") << last.raw;
  EXPECT_EQ(last.Get("cause"), "undo") << last.raw;
  EXPECT_EQ(last.Get("tag"), "v2") << last.raw;
  EXPECT_EQ(CurrentTag(), "v2") << "the app's current revision is not the one the fleet runs";
  EXPECT_TRUE(Eventually([&] { return AllHealthyOn("v2", &raw); }, absl::Seconds(30))) << raw;
  for (int i = 0; i < fleet().size(); ++i) {
    EXPECT_EQ(Snapshot(i), before[i]) << fleet().HostName(i) << " restarted by the undo; was "
                                      << before[i].Describe();
  }

  const ProcessResult again = Pyctl({"rollout", "undo", kApp, "-o", "json"}, 300);
  ASSERT_TRUE(again.Succeeded()) << Describe(again) << Diagnostics();
  last = RolloutStatus();
  EXPECT_EQ(last.State(), "succeeded") << last.raw;
  EXPECT_EQ(last.Get("tag"), "v1") << last.raw;
  EXPECT_TRUE(Eventually([&] { return AllHealthyOn("v1", &raw); }, absl::Seconds(60)))
      << raw << Diagnostics();
}

// Issue 13: `pyctl rollout --batch 1 --auto-promote` with the controller
// killed (SIGKILL) seconds in, while the first wave deploys and the next
// one prepares (the user killed it three seconds in; here it is killed as
// soon as that is so, which the user's slower deploys made it at three
// seconds), started again at once on the same store: the rollout reaches
// `succeeded`, and no host is moved twice (e.g. back to v1 by a placement
// behind what it runs, then to v2 again): its service starts exactly once.
TEST_F(TwoHostRolloutE2eTest, ControllerKilledInTheFirstWaveOfAnAutoPromotedBatchOfOneRolloutSucceeds) {
  ASSERT_NO_FATAL_FAILURE(EnsureAllOn("v1"));
  const int64_t mark = JournalMark();
  const ProcessResult started = Pyctl({"rollout", kApp, "--tag", "v2", "--batch", "1",
                                       "--auto-promote", "--no-wait", "-o", "json"});
  ASSERT_TRUE(started.Succeeded()) << Describe(started) << Diagnostics();
  RolloutView killed_in;
  ASSERT_TRUE(WaitRollout(
      [](const RolloutView& v) { return !IsActiveState(v.State()) || v.State() == "running"; },
      absl::Seconds(30), &killed_in, absl::Milliseconds(100)))
      << killed_in.raw << Diagnostics();
  ASSERT_EQ(killed_in.State(), "running")
      << "the rollout finished before the controller could be killed in it\n" << killed_in.raw;
  ASSERT_EQ(killed_in.CurrentWave(), 0) << killed_in.raw;
  absl::StatusOr<ExitStatus> exit = fleet().KillController();
  ASSERT_TRUE(exit.ok()) << exit.status();
  ASSERT_TRUE(fleet().StartController().ok()) << fleet().controller().ReadStderr();

  RolloutView last;
  ASSERT_TRUE(WaitRollout([](const RolloutView& v) { return !IsActiveState(v.State()); },
                          kRolloutTimeout, &last))
      << "not finished after the restart\nwhen killed: " << killed_in.raw
      << "\nlast status: " << last.raw << Diagnostics();
  ASSERT_EQ(last.State(), "succeeded") << last.raw << "\nwhen killed: " << killed_in.raw
                                       << Diagnostics();
  std::string raw;
  EXPECT_TRUE(Eventually([&] { return AllHealthyOn("v2", &raw); }, absl::Seconds(30))) << raw;
  for (int i = 0; i < fleet().size(); ++i) {
    std::string starts;
    EXPECT_EQ(ServiceStartsSince(i, mark, &starts), 1)
        << fleet().HostName(i) << ": not started exactly once by the rollout:\n" << starts
        << "\nwhen killed: " << killed_in.raw << "\n" << Diagnostics();
  }
}

// The app of deploy/demo.sh (deploy/examples/hello/app.yaml) as issue 13's
// user shaped theirs: a web service and a weekly timer, a file, a 5 s
// health gate and the app's own rollout strategy (a canary of 25%, then
// batches of 50%, promoted by hand), served from the hello repository.
std::string DemoShapedAppYaml() {
  return absl::StrCat(R"(name: hello
module: hello
repo: file:///srv/git/hello.git
tag: v1
services:
  - name: web
    description: "Run the web interface for {{ app_name }}"
    command: "python -m {{ app_module }} --config {{ app_config }} web"
timers:
  - name: report
    description: "Report every Monday at 2 AM"
    schedule: "Mon, 02:00"
    command: "python -m {{ app_module }} --config {{ app_config }} report"
files:
  - dest: "{{ app_config_dir }}/greeting.txt"
    content: "Hello from {{ app_name }}\n"
    mode: "0640"
config:
  port: )",
                      kPort, R"(
  data_dir: "{{ app_data_dir }}"
targets:
  labels: {role: web}
health:
  min_healthy: 5s
  http: "http://127.0.0.1:)",
                      kPort, R"(/healthz"
  deadline: 1m
rollout:
  canary: 25%
  batch: 50%
  auto_promote: false
)");
}

// Issue 13 exactly: four hosts, the demo-shaped app, `pyctl rollout hello
// --tag v2 --batch 1 --auto-promote` (followed, as a user runs it) with the
// controller killed (SIGKILL) about three seconds in, then started again on
// the same store. `pyctl rollout status` must say succeeded, every host
// must serve v2, and each host's service must have started exactly once.
class DemoAppRolloutE2eTest : public RolloutE2eTest {
 protected:
  static void SetUpTestSuite() { BootHosts(kHosts, "d", DemoShapedAppYaml()); }

  // One kill/restart cycle: the controller killed `kill_after` after the
  // rollout command started, started again `down_for` later.
  void KillThreeSecondsInAndRestart(absl::Duration kill_after, absl::Duration down_for) {
    ASSERT_NO_FATAL_FAILURE(EnsureAllOn("v1"));
    const int64_t mark = JournalMark();
    const absl::Time start = absl::Now();
    absl::StatusOr<std::unique_ptr<ChildProcess>> follow = StartPyctl(
        {"rollout", kApp, "--tag", "v2", "--batch", "1", "--auto-promote"}, "rollout-follow");
    ASSERT_TRUE(follow.ok()) << follow.status();
    absl::SleepFor(kill_after - (absl::Now() - start));
    const RolloutView killed_in = RolloutStatus();
    absl::StatusOr<ExitStatus> exit = fleet().KillController();
    ASSERT_TRUE(exit.ok()) << exit.status();
    std::cout << "[ figures ] controller killed " << absl::FormatDuration(absl::Now() - start)
              << " into the rollout, in state " << killed_in.State() << " wave "
              << killed_in.CurrentWave() << std::endl;
    absl::SleepFor(down_for);
    ASSERT_TRUE(fleet().StartController().ok()) << fleet().controller().ReadStderr();
    const absl::Time restarted_at = absl::Now();

    // As the user polled: plain `pyctl rollout status` and its JSON form.
    RolloutView last;
    std::string plain;
    const bool finished = Eventually(
        [&] {
          const ProcessResult text = Pyctl({"rollout", "status", kApp});
          plain = Describe(text);
          last = RolloutStatus();
          return last.ok && !IsActiveState(last.State());
        },
        absl::Seconds(400), absl::Seconds(1));
    ASSERT_TRUE(finished) << "not finished 400 s after the restart\nwhen killed: "
                          << killed_in.raw << "\nlast status: " << last.raw << "\n"
                          << plain << Diagnostics();
    std::cout << "[ figures ] rollout " << last.State() << " "
              << absl::FormatDuration(absl::Now() - restarted_at) << " after the restart"
              << std::endl;
    ASSERT_EQ(last.State(), "succeeded")
        << last.raw << "\nwhen killed: " << killed_in.raw << Diagnostics();
    // Asked again: the text above was read before the JSON, so the rollout
    // could finish between the two.
    plain = Describe(Pyctl({"rollout", "status", kApp}));
    EXPECT_TRUE(absl::StrContains(plain, "succeeded")) << plain;
    std::string raw;
    EXPECT_TRUE(Eventually([&] { return AllHealthyOn("v2", &raw); }, absl::Seconds(30)))
        << raw << Diagnostics();
    for (int i = 0; i < fleet().size(); ++i) {
      EXPECT_EQ(HttpBody(i), Body("v2")) << fleet().HostName(i);
      std::string starts;
      EXPECT_EQ(ServiceStartsSince(i, mark, &starts), 1)
          << fleet().HostName(i) << ": not started exactly once by the rollout:\n"
          << starts << "\nagent log:\n"
          << JournalSince(i, mark, {"--unit", kAgentUnit}) << "\nwhen killed: "
          << killed_in.raw;
    }
  }
};

TEST_F(DemoAppRolloutE2eTest,
       ControllerKilledThreeSecondsIntoAnAutoPromotedBatchOfOneRolloutOfFourHostsSucceeds) {
  KillThreeSecondsInAndRestart(absl::Seconds(3), absl::Seconds(2));
}

// The agent of the canary host killed (SIGKILL) while its deploy of v2 is at
// step verify: its units step had recorded v2 live, so the restarted agent
// (systemd restarts it) reports v2 with its units active. That release is
// unverified: the wave must not pass on it; the controller sends the deploy
// again, and the agent resumes it and runs verify before the rollout goes
// on.
TEST_F(DemoAppRolloutE2eTest, AgentKilledDuringVerifyIsVerifiedAgainBeforeItsWavePasses) {
  ASSERT_NO_FATAL_FAILURE(EnsureAllOn("v1"));
  const int64_t mark = JournalMark();
  const ProcessResult started = Pyctl({"rollout", kApp, "--tag", "v2", "--batch", "1",
                                       "--auto-promote", "--no-wait", "-o", "json"});
  ASSERT_TRUE(started.Succeeded()) << Describe(started) << Diagnostics();
  RolloutView verifying;
  std::string canary;
  ASSERT_TRUE(WaitRollout(
      [&](const RolloutView& v) {
        if (!IsActiveState(v.State())) return true;
        for (const auto& [host, object] : v.Hosts()) {
          if (Field(object, "state") == "verifying" && Field(object, "step") == "verify") {
            canary = host;
            return true;
          }
        }
        return false;
      },
      absl::Seconds(120), &verifying, absl::Milliseconds(100)))
      << verifying.raw << Diagnostics();
  ASSERT_FALSE(canary.empty()) << "no host was seen at step verify\n" << verifying.raw;
  int index = -1;
  for (int i = 0; i < fleet().size(); ++i) {
    if (fleet().HostName(i) == canary) index = i;
  }
  ASSERT_GE(index, 0) << canary;
  const absl::StatusOr<std::string> killed =
      Host(index).RunOk({"systemctl", "kill", "--signal=SIGKILL", kAgentUnit});
  ASSERT_TRUE(killed.ok()) << killed.status();

  RolloutView last;
  ASSERT_TRUE(WaitRollout([](const RolloutView& v) { return !IsActiveState(v.State()); },
                          kRolloutTimeout, &last))
      << "not finished\nlast status: " << last.raw << Diagnostics();
  ASSERT_EQ(last.State(), "succeeded") << last.raw << Diagnostics();
  const std::string agent_log = JournalSince(index, mark, {"--unit", kAgentUnit});
  EXPECT_GE(CountLines(agent_log, "resuming an interrupted deploy"), 1)
      << canary << ": the deploy the agent was killed in was never resumed and verified:\n"
      << agent_log;
  std::string raw;
  EXPECT_TRUE(Eventually([&] { return AllHealthyOn("v2", &raw); }, absl::Seconds(30))) << raw;
}

}  // namespace
}  // namespace pyservice::testing

// agent_bench: the agent's deploy timings on a real systemd test host —
// cold deploy, no-op re-apply, tag switch, rollback — each the median of
// several runs, printed as a Markdown table for docs/BENCHMARKS.md. During
// each tag switch a request loop in the host (a GET every 20 ms) measures
// the HTTP outage: from the last answer of the old release to the first of
// the new one, and how many requests failed outside that window.
//
//   build/tests/agent_bench [--runs N] [--compare-role]
//
// --compare-role also runs bench/role_equivalent.sh (the Ansible role's
// steps as plain commands, the role's way: stop, delete, recreate) on the
// same host for its own app, cold and for the tag switch, each timed until
// the app answers with the new tag (the role has no health check of its
// own), and prints the role's figures next to the agent's with the ratio.
//
// Each run deploys its own app (hello0, hello1, ...: own user, tree, port),
// so "cold" really starts from nothing: user creation, clone, venv build,
// units, health gate. The health gate's min_healthy is 0s here so the figures
// are the agent's own work; a real deploy adds the app's min_healthy.
#include <algorithm>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "common/file/read_file.h"
#include "tests/e2e/agent/agent_e2e.h"
#include "tests/e2e/agent/hello_app.h"

namespace pyservice::testing {
namespace {

struct Figures {
  std::vector<double> cold, noop, tag_switch, rollback;  // milliseconds
  std::vector<double> outage;                            // milliseconds
  int failed_in_restart = 0, failed_outside_restart = 0;
};

// The outage the answers of one switch from `old_body` to `new_body` show:
// the time between the old release's last answer and the new one's first.
// Failures strictly between those two are the restart itself; any other
// failure counts against the switch. False when either never answered.
bool MeasureOutage(const std::vector<RequestLoop::Answer>& answers, const std::string& old_body,
                   const std::string& new_body, Figures& figures) {
  int last_old = -1, first_new = -1;
  for (int i = 0; i < static_cast<int>(answers.size()); ++i) {
    if (answers[i].result == old_body) last_old = i;
    if (answers[i].result == new_body && first_new < 0) first_new = i;
  }
  if (last_old < 0 || first_new < 0 || first_new < last_old) return false;
  figures.outage.push_back((answers[first_new].time - answers[last_old].time) * 1000);
  for (int i = 0; i < static_cast<int>(answers.size()); ++i) {
    if (answers[i].result == old_body || answers[i].result == new_body) continue;
    (i > last_old && i < first_new ? figures.failed_in_restart : figures.failed_outside_restart)++;
  }
  return true;
}

// Times `switch_to_v2` (ms, into figures.tag_switch) while a request loop
// on `port` records the answers, and adds the outage they show; exits
// when the loop cannot run or never saw v1 then v2 answer.
void SwitchUnderLoad(TestHost& host, int port, const std::function<double()>& switch_to_v2,
                     Figures& figures) {
  absl::StatusOr<std::unique_ptr<RequestLoop>> loop = RequestLoop::Start(host, port);
  if (!loop.ok()) {
    std::fprintf(stderr, "request loop: %s\n", loop.status().ToString().c_str());
    std::exit(1);
  }
  figures.tag_switch.push_back(switch_to_v2());
  // The new release's answers after the switch, so its first is seen.
  absl::SleepFor(absl::Milliseconds(200));
  absl::StatusOr<std::vector<RequestLoop::Answer>> answers = (*loop)->Stop();
  if (!answers.ok() || !MeasureOutage(*answers, HelloBody("v1"), HelloBody("v2"), figures)) {
    std::fprintf(stderr, "the request loop on port %d did not see v1 then v2 answer\n", port);
    std::exit(1);
  }
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

// Runs the agent and returns its wall time in ms, or exits on failure: a
// benchmark of a failing deploy measures nothing.
double TimedAgent(TestHost& host, const std::vector<std::string>& args) {
  const absl::Time start = absl::Now();
  absl::StatusOr<ProcessResult> result = RunAgent(host, args);
  const double ms = absl::ToDoubleMilliseconds(absl::Now() - start);
  if (!result.ok() || !result->Succeeded()) {
    std::fprintf(stderr, "agent %s failed: %s\n", args[0].c_str(), Describe(result).c_str());
    std::exit(1);
  }
  return ms;
}

// Runs the role's steps for `app` at `tag`, then waits until the app
// answers as `tag`: the time from the start to then, in ms; exits on a
// failure like TimedAgent.
double TimedRole(TestHost& host, const AppOptions& app, const std::string& tag) {
  const absl::Time start = absl::Now();
  absl::StatusOr<ProcessResult> result =
      host.Run({"sh", "/srv/role_equivalent.sh", app.name, tag, absl::StrCat(app.port), app.repo},
               {.timeout = absl::Minutes(4)});
  if (!result.ok() || !result->Succeeded()) {
    std::fprintf(stderr, "the role's steps failed: %s\n", Describe(result).c_str());
    std::exit(1);
  }
  const bool serving = WaitFor(
      [&] {
        absl::StatusOr<std::string> body = HttpGet(host, app.port);
        return body.ok() && *body == HelloBody(tag);
      },
      absl::Seconds(30), absl::Milliseconds(10));
  if (!serving) {
    std::fprintf(stderr, "%s never answered as %s after the role's steps\n", app.name.c_str(),
                 tag.c_str());
    std::exit(1);
  }
  return absl::ToDoubleMilliseconds(absl::Now() - start);
}

int Run(int runs, bool compare_role) {
  const HelloRepos& repos = GetHelloRepos();
  absl::StatusOr<std::unique_ptr<TestHost>> host =
      BootAgentHost({{repos.dir, "/srv/git", /*read_only=*/true}});
  if (!host.ok()) {
    std::fprintf(stderr, "cannot boot a test host: %s\n", host.status().ToString().c_str());
    return 1;
  }
  if (compare_role) {
    absl::StatusOr<std::string> script =
        ReadFileToString(PYSERVICE_SOURCE_DIR "/bench/role_equivalent.sh", 1 << 20);
    absl::Status written = script.ok() ? (*host)->WriteFile("/srv/role_equivalent.sh", *script, 0755)
                                       : script.status();
    if (!written.ok()) {
      std::fprintf(stderr, "%s\n", written.ToString().c_str());
      return 1;
    }
  }
  Figures figures, role;
  for (int i = 0; i < runs; ++i) {
    if (compare_role) {
      AppOptions role_app;
      role_app.name = absl::StrCat("role", i);
      role_app.repo = "file:///srv/git/hello.git";
      role_app.port = 8300 + i;
      role.cold.push_back(TimedRole(**host, role_app, "v1"));
      SwitchUnderLoad(
          **host, role_app.port, [&] { return TimedRole(**host, role_app, "v2"); }, role);
      std::fprintf(stderr, "run %d, the role: cold %.0f ms, switch %.0f ms (HTTP outage %.0f ms)\n",
                   i + 1, role.cold.back(), role.tag_switch.back(), role.outage.back());
    }
    AppOptions app;
    app.name = absl::StrCat("hello", i);
    app.repo = "file:///srv/git/hello.git";
    app.port = 8100 + i;
    const std::string yaml =
        absl::StrReplaceAll(AppYaml(app), {{"min_healthy: 2s", "min_healthy: 0s"}});
    if (absl::Status written = (*host)->WriteFile(AppYamlPath(app.name), yaml); !written.ok()) {
      std::fprintf(stderr, "%s\n", written.ToString().c_str());
      return 1;
    }
    const std::string path = AppYamlPath(app.name);
    figures.cold.push_back(TimedAgent(**host, {"apply", path}));
    figures.noop.push_back(TimedAgent(**host, {"apply", path}));
    SwitchUnderLoad(
        **host, app.port, [&] { return TimedAgent(**host, {"apply", path, "--tag", "v2"}); },
        figures);
    figures.rollback.push_back(TimedAgent(**host, {"rollback", app.name}));
    std::fprintf(stderr,
                 "run %d: cold %.0f ms, no-op %.0f ms, switch %.0f ms (HTTP outage %.0f ms), "
                 "rollback %.0f ms\n",
                 i + 1, figures.cold.back(), figures.noop.back(), figures.tag_switch.back(),
                 figures.outage.back(), figures.rollback.back());
  }
  std::printf("| operation | median (ms) | min | max | runs |\n|---|---:|---:|---:|---:|\n");
  const auto row = [&](const char* name, const std::vector<double>& values) {
    std::printf("| %s | %.0f | %.0f | %.0f | %zu |\n", name, Median(values),
                *std::min_element(values.begin(), values.end()),
                *std::max_element(values.begin(), values.end()), values.size());
  };
  row("cold deploy (user, clone, venv, units, verify)", figures.cold);
  row("no-op re-apply", figures.noop);
  row("tag switch v1 → v2 (clone, environment, switch, restart, verify)", figures.tag_switch);
  row("rollback to v1 (switch, restart, verify)", figures.rollback);
  row("HTTP outage during the tag switch (last v1 answer to first v2 answer)", figures.outage);
  std::printf("\nrequests failed during the tag switches (GET every 20 ms): %d inside the restart "
              "window, %d outside it\n",
              figures.failed_in_restart, figures.failed_outside_restart);
  if (compare_role) {
    std::printf("\n| medians (ms) | the role's steps | pyservice-agent | role / agent |\n"
                "|---|---:|---:|---:|\n");
    const auto compared = [](const char* name, const std::vector<double>& theirs,
                             const std::vector<double>& ours) {
      std::printf("| %s | %.0f | %.0f | %.1fx |\n", name, Median(theirs), Median(ours),
                  Median(theirs) / Median(ours));
    };
    compared("cold deploy, until it serves", role.cold, figures.cold);
    compared("tag switch, until the new tag serves", role.tag_switch, figures.tag_switch);
    compared("HTTP outage during the tag switch", role.outage, figures.outage);
    std::printf("\nthe role's failed requests during its switches: %d\n",
                role.failed_in_restart + role.failed_outside_restart);
  }
  return 0;
}

}  // namespace
}  // namespace pyservice::testing

int main(int argc, char** argv) {
  int runs = 5;
  bool compare_role = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--runs" && i + 1 < argc && absl::SimpleAtoi(argv[i + 1], &runs) && runs > 0) {
      ++i;
    } else if (arg == "--compare-role") {
      compare_role = true;
    } else {
      std::fprintf(stderr, "usage: agent_bench [--runs N] [--compare-role]\n");
      return 2;
    }
  }
  return pyservice::testing::Run(runs, compare_role);
}

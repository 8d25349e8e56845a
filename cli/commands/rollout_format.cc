#include "cli/commands/rollout_format.h"

#include <cstdint>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "cli/commands/fleet_format.h"
#include "cli/output/table.h"
#include "common/spec/validators.h"

namespace pyservice::cli {
namespace {

std::string RolloutName(const v1::Rollout& rollout) {
  return absl::StrCat("rollout ", rollout.id(), " of ", rollout.app());
}

bool IsFailedState(v1::RolloutState state) {
  return state == v1::ROLLOUT_STATE_FAILED ||
         state == v1::ROLLOUT_STATE_ABORTED ||
         state == v1::ROLLOUT_STATE_ROLLED_BACK;
}

// "1.2s", "2m05s".
std::string Elapsed(uint32_t ms) {
  if (ms < 60000) return absl::StrFormat("%.1fs", ms / 1000.0);
  return absl::StrFormat("%dm%02ds", ms / 60000, (ms / 1000) % 60);
}

std::string Label(const v1::RolloutWave& wave) {
  return wave.canary() ? "canary" : absl::StrCat("wave ", wave.index());
}

// "verify running", "checkout done (1.2s): message".
std::string StepText(const v1::RolloutHost& host, bool with_elapsed) {
  if (host.step().empty()) return "";
  std::string text = host.step();
  const std::string state = StepStateName(host.step_state());
  if (!state.empty()) absl::StrAppend(&text, " ", state);
  if (with_elapsed && host.step_state() != v1::STEP_STATE_RUNNING &&
      host.step_elapsed_ms() > 0) {
    absl::StrAppend(&text, " (", Elapsed(host.step_elapsed_ms()), ")");
  }
  return text;
}

// "failed at verify: why", "failed: why", "failed".
std::string FailedText(const v1::RolloutHost& host) {
  // The controller may word the whole reason itself ("failed at step ...").
  if (host.failed_step().empty() && absl::StartsWith(host.error(), "failed")) return host.error();
  std::string text = "failed";
  if (!host.failed_step().empty()) absl::StrAppend(&text, " at ", host.failed_step());
  if (!host.error().empty()) absl::StrAppend(&text, ": ", host.error());
  return text;
}

std::string OneLine(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

std::string StrategyText(const v1::RolloutStrategy& strategy) {
  const bool canary = strategy.has_canary() &&
                      (strategy.canary().has_count() ? strategy.canary().count() != 0
                                                     : strategy.canary().percent() != 0);
  return absl::StrCat(
      canary ? absl::StrCat("canary ", spec::FormatWaveSize(strategy.canary()))
             : "no canary",
      ", batch ",
      strategy.has_batch() ? spec::FormatWaveSize(strategy.batch()) : "25%",
      strategy.auto_promote() ? ", auto promote" : ", promote manually",
      strategy.auto_rollback() ? ", auto rollback" : ", no auto rollback");
}

int HealthyCount(const v1::RolloutWave& wave) {
  int healthy = 0;
  for (const v1::RolloutHost& host : wave.hosts()) {
    if (host.state() == v1::ROLLOUT_HOST_STATE_HEALTHY) ++healthy;
  }
  return healthy;
}

}  // namespace

Document RolloutDocument(const v1::Rollout& rollout) {
  Document waves = Document::List();
  for (const v1::RolloutWave& wave : rollout.waves()) {
    Document hosts = Document::List();
    for (const v1::RolloutHost& host : wave.hosts()) {
      hosts.Append(
          Document::Map()
              .Set("host", Document::String(host.host()))
              .Set("state", Document::String(RolloutHostStateName(host.state())))
              .Set("connected", Document::Bool(host.connected()))
              .Set("step", Document::String(host.step()))
              .Set("step_state", Document::String(StepStateName(host.step_state())))
              .Set("step_elapsed_ms", Document::Int(host.step_elapsed_ms()))
              .Set("step_message", Document::String(host.step_message()))
              .Set("failed_step", Document::String(host.failed_step()))
              .Set("error", Document::String(host.error()))
              .Set("prepare", Document::String(PrepareStateName(host.prepare()))));
    }
    waves.Append(Document::Map()
                     .Set("index", Document::Int(wave.index()))
                     .Set("canary", Document::Bool(wave.canary()))
                     .Set("hosts", std::move(hosts))
                     .Set("started_at", Document::String(wave.started_at()))
                     .Set("finished_at", Document::String(wave.finished_at())));
  }
  const v1::RolloutStrategy& strategy = rollout.strategy();
  Document strategy_document =
      Document::Map()
          .Set("canary", Document::String(strategy.has_canary()
                                              ? spec::FormatWaveSize(strategy.canary())
                                              : ""))
          .Set("batch", Document::String(
                            strategy.has_batch() ? spec::FormatWaveSize(strategy.batch()) : ""))
          .Set("auto_promote", Document::Bool(strategy.auto_promote()))
          .Set("auto_rollback", Document::Bool(strategy.auto_rollback()));
  return Document::Map()
      .Set("app", Document::String(rollout.app()))
      .Set("id", Document::Int(rollout.id()))
      .Set("from_revision", Document::Int(rollout.from_revision()))
      .Set("to_revision", Document::Int(rollout.to_revision()))
      .Set("tag", Document::String(rollout.tag()))
      .Set("state", Document::String(RolloutStateName(rollout.state())))
      .Set("waves", std::move(waves))
      .Set("from_tag", Document::String(rollout.from_tag()))
      .Set("message", Document::String(rollout.message()))
      .Set("cause", Document::String(rollout.cause()))
      .Set("strategy", std::move(strategy_document))
      .Set("current_wave", Document::Int(rollout.current_wave()))
      .Set("hosts", Document::Int(rollout.hosts()))
      .Set("healthy", Document::Int(rollout.healthy()))
      .Set("failed", Document::Int(rollout.failed()))
      .Set("settled", Document::Bool(rollout.settled()))
      .Set("created_at", Document::String(rollout.created_at()))
      .Set("updated_at", Document::String(rollout.updated_at()))
      .Set("finished_at", Document::String(rollout.finished_at()));
}

std::string WaveProgressBar(const v1::RolloutWave& wave, int width) {
  const int total = wave.hosts_size();
  const int healthy = HealthyCount(wave);
  const int marks = total == 0 ? 0 : healthy * width / total;
  return absl::StrCat("[", std::string(marks, '#'), std::string(width - marks, '-'), "] ",
                      healthy, "/", total, " healthy");
}

std::string RolloutText(const v1::Rollout& rollout) {
  std::string text = absl::StrCat(
      RolloutName(rollout), ": ", RolloutStateName(rollout.state()), "\n",
      RenderFields({
          {"Revision", absl::StrCat(rollout.from_revision(),
                                    rollout.from_tag().empty() ? "" : absl::StrCat(" (", rollout.from_tag(), ")"),
                                    " -> ", rollout.to_revision(), " (", rollout.tag(), ")")},
          {"Strategy", StrategyText(rollout.strategy())},
          {"Cause", rollout.cause()},
          {"Hosts", absl::StrCat(rollout.healthy(), "/", rollout.hosts(), " healthy, ",
                                 rollout.failed(), " failed")},
          {"Message", OneLine(rollout.message())},
      }));
  if (rollout.waves().empty()) return absl::StrCat(text, "No waves planned yet.\n");
  // One table over every host, so columns line up across waves; each wave's
  // line goes above its hosts.
  std::vector<std::vector<std::string>> rows;
  for (const v1::RolloutWave& wave : rollout.waves()) {
    for (const v1::RolloutHost& host : wave.hosts()) {
      const bool failed = host.state() == v1::ROLLOUT_HOST_STATE_FAILED || !host.error().empty();
      const bool pending = host.state() == v1::ROLLOUT_HOST_STATE_PENDING;
      std::string note = failed ? OneLine(FailedText(host)) : OneLine(host.step_message());
      if (!host.connected()) note = note.empty() ? "disconnected" : absl::StrCat("disconnected; ", note);
      rows.push_back({host.host(), RolloutHostStateName(host.state()),
                      pending ? "" : StepText(host, /*with_elapsed=*/false),
                      !pending && host.step_elapsed_ms() > 0 ? Elapsed(host.step_elapsed_ms()) : "",
                      host.prepare() == v1::PREPARE_STATE_NONE ? "" : PrepareStateName(host.prepare()),
                      std::move(note)});
    }
  }
  const std::vector<std::string> lines = absl::StrSplit(
      RenderTable({"HOST", "STATE", "STEP", "ELAPSED", "PREPARE", "NOTE"}, rows), '\n');
  absl::StrAppend(&text, "  ", lines[0], "\n");
  size_t next = 1;
  for (const v1::RolloutWave& wave : rollout.waves()) {
    const bool current = static_cast<int>(wave.index()) == rollout.current_wave();
    absl::StrAppend(&text, "Wave ", wave.index(), wave.canary() ? " (canary)" : "", "  ",
                    WaveProgressBar(wave), current ? "  <- current" : "", "\n");
    for (int i = 0; i < wave.hosts_size() && next < lines.size(); ++i, ++next) {
      absl::StrAppend(&text, "  ", lines[next], "\n");
    }
  }
  return text;
}

std::string RolloutHostLine(const v1::RolloutWave& wave, const v1::RolloutHost& host) {
  std::string line = absl::StrCat(host.host(), " (", Label(wave), "): ");
  switch (host.state()) {
    case v1::ROLLOUT_HOST_STATE_PENDING:
      absl::StrAppend(&line, "pending");
      if (host.prepare() == v1::PREPARE_STATE_FAILED) {
        absl::StrAppend(&line, ", prepare failed");
      } else if (host.prepare() != v1::PREPARE_STATE_NONE) {
        absl::StrAppend(&line, ", ", PrepareStateName(host.prepare()));
      }
      break;
    case v1::ROLLOUT_HOST_STATE_DEPLOYING:
    case v1::ROLLOUT_HOST_STATE_VERIFYING: {
      absl::StrAppend(&line, RolloutHostStateName(host.state()));
      const std::string step = StepText(host, /*with_elapsed=*/true);
      if (!step.empty()) absl::StrAppend(&line, ": ", step);
      if (!host.step_message().empty()) absl::StrAppend(&line, ": ", host.step_message());
      break;
    }
    case v1::ROLLOUT_HOST_STATE_FAILED:
      absl::StrAppend(&line, FailedText(host));
      break;
    default:
      absl::StrAppend(&line, RolloutHostStateName(host.state()));
      // A host rolled back after it failed keeps why.
      if (!host.error().empty()) absl::StrAppend(&line, " (", FailedText(host), ")");
      break;
  }
  if (!host.connected()) absl::StrAppend(&line, " (disconnected)");
  return OneLine(std::move(line));
}

std::string RolloutLineRenderer::Update(const v1::Rollout& rollout) {
  std::string out;
  std::string state_line = absl::StrCat(RolloutName(rollout), ": ",
                                        RolloutStateName(rollout.state()));
  if (!rollout.message().empty()) absl::StrAppend(&state_line, ": ", OneLine(rollout.message()));
  if (first_) {
    absl::StrAppend(&out, RolloutName(rollout), ": revision ", rollout.from_revision(), " -> ",
                    rollout.to_revision(), " (tag ", rollout.tag(), "), ",
                    StrategyText(rollout.strategy()), "\n");
  }
  if (state_line != state_line_) {
    absl::StrAppend(&out, state_line, "\n");
    state_line_ = std::move(state_line);
  }
  // A wave starting is news only while the rollout moves on.
  if (!IsFailedState(rollout.state()) && rollout.state() != v1::ROLLOUT_STATE_SUCCEEDED &&
      rollout.current_wave() != current_wave_ && rollout.current_wave() >= 0 &&
      rollout.current_wave() < rollout.waves_size()) {
    const v1::RolloutWave& wave = rollout.waves(rollout.current_wave());
    std::vector<std::string> hosts;
    for (const v1::RolloutHost& host : wave.hosts()) hosts.push_back(host.host());
    absl::StrAppend(&out, RolloutName(rollout), ": wave ", wave.index(), " of ",
                    rollout.waves_size(), wave.canary() ? " (canary)" : "", ": ",
                    absl::StrJoin(hosts, ", "), "\n");
  }
  current_wave_ = rollout.current_wave();
  for (const v1::RolloutWave& wave : rollout.waves()) {
    for (const v1::RolloutHost& host : wave.hosts()) {
      std::string line = RolloutHostLine(wave, host);
      std::string& last = host_lines_[host.host()];
      if (line == last) continue;
      absl::StrAppend(&out, line, "\n");
      last = std::move(line);
    }
  }
  first_ = false;
  return out;
}

RolloutStop StopFor(const v1::Rollout& rollout) {
  switch (rollout.state()) {
    case v1::ROLLOUT_STATE_SUCCEEDED:
      return rollout.settled() ? RolloutStop::kSucceeded : RolloutStop::kContinue;
    case v1::ROLLOUT_STATE_FAILED:
    case v1::ROLLOUT_STATE_ABORTED:
    case v1::ROLLOUT_STATE_ROLLED_BACK:
      return rollout.settled() ? RolloutStop::kFailed : RolloutStop::kContinue;
    case v1::ROLLOUT_STATE_AWAITING_PROMOTION:
      return RolloutStop::kAwaitingPromotion;
    case v1::ROLLOUT_STATE_PAUSED:
      return RolloutStop::kPaused;
    default:
      return RolloutStop::kContinue;
  }
}

std::string RolloutSummary(const v1::Rollout& rollout) {
  const std::string& app = rollout.app();
  switch (rollout.state()) {
    case v1::ROLLOUT_STATE_SUCCEEDED:
      return absl::StrCat(RolloutName(rollout), " succeeded: ", rollout.healthy(), "/",
                          rollout.hosts(), " hosts healthy on revision ", rollout.to_revision(),
                          " (", rollout.tag(), ")\n");
    case v1::ROLLOUT_STATE_AWAITING_PROMOTION: {
      const v1::RolloutWave* canary = nullptr;
      for (const v1::RolloutWave& wave : rollout.waves()) {
        if (wave.canary()) {
          canary = &wave;
          break;
        }
      }
      if (canary == nullptr && rollout.current_wave() >= 0 &&
          rollout.current_wave() < rollout.waves_size()) {
        canary = &rollout.waves(rollout.current_wave());
      }
      const int healthy = canary == nullptr ? 0 : HealthyCount(*canary);
      const int total = canary == nullptr ? 0 : canary->hosts_size();
      return absl::StrCat("canary healthy: ", healthy, "/", total,
                          "; promote with `pyctl rollout promote ", app, "`\n");
    }
    case v1::ROLLOUT_STATE_PAUSED:
      return absl::StrCat(RolloutName(rollout), " paused",
                          rollout.message().empty() ? "" : absl::StrCat(" (", OneLine(rollout.message()), ")"),
                          "; resume with `pyctl rollout resume ", app, "`\n");
    case v1::ROLLOUT_STATE_FAILED:
    case v1::ROLLOUT_STATE_ABORTED:
    case v1::ROLLOUT_STATE_ROLLED_BACK: {
      std::string text = absl::StrCat(RolloutName(rollout), " ",
                                      RolloutStateName(rollout.state()),
                                      rollout.message().empty() ? "" : ": ",
                                      OneLine(rollout.message()), "\n");
      for (const v1::RolloutWave& wave : rollout.waves()) {
        for (const v1::RolloutHost& host : wave.hosts()) {
          if (host.state() != v1::ROLLOUT_HOST_STATE_FAILED && host.error().empty()) continue;
          absl::StrAppend(&text, "  ", host.host(), ": ", OneLine(FailedText(host)), "\n");
        }
      }
      return text;
    }
    default:
      return absl::StrCat(RolloutName(rollout), ": ", RolloutStateName(rollout.state()), "\n");
  }
}

absl::Status RolloutResult(const v1::Rollout& rollout) {
  if (IsFailedState(rollout.state())) {
    std::vector<std::string> failed;
    for (const v1::RolloutWave& wave : rollout.waves()) {
      for (const v1::RolloutHost& host : wave.hosts()) {
        if (host.state() != v1::ROLLOUT_HOST_STATE_FAILED && host.error().empty()) continue;
        failed.push_back(absl::StrCat(host.host(), ": ", FailedText(host)));
      }
    }
    std::string text = absl::StrCat(RolloutName(rollout), " ", RolloutStateName(rollout.state()));
    if (!rollout.message().empty()) absl::StrAppend(&text, ": ", rollout.message());
    if (!failed.empty()) absl::StrAppend(&text, "; ", absl::StrJoin(failed, "; "));
    return absl::AbortedError(OneLine(std::move(text)));
  }
  switch (rollout.state()) {
    case v1::ROLLOUT_STATE_SUCCEEDED:
    case v1::ROLLOUT_STATE_AWAITING_PROMOTION:
    case v1::ROLLOUT_STATE_PAUSED:
      return absl::OkStatus();
    default:
      return absl::UnavailableError(absl::StrCat(
          "the controller stopped reporting ", RolloutName(rollout), " while it is ",
          RolloutStateName(rollout.state()), "; follow it with `pyctl rollout status ",
          rollout.app(), " --watch`"));
  }
}

}  // namespace pyservice::cli

#include "controller/rollout/rollout_engine.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/api/rollout_names.h"
#include "controller/rollout/wave_plan.h"

namespace pyservice::controller::rollout {
namespace {

int64_t Millis(absl::Time time) { return absl::ToUnixMillis(time); }

v1::WaveRecord& CurrentWave(v1::RolloutRecord& record) {
  return *record.mutable_waves(record.current_wave());
}

bool IsLastWave(const v1::RolloutRecord& record) {
  return record.current_wave() + 1 >= record.waves_size();
}

std::string HostFailure(const HostObservation& seen) {
  if (seen.progress == HostObservation::Progress::kGone) return "lost (not heard from)";
  const std::string error = seen.error.empty() ? "reported a failure" : seen.error;
  if (seen.failed_step.empty()) return error;
  return absl::StrCat("failed at step ", seen.failed_step, ": ", error);
}

}  // namespace

bool IsActive(v1::RolloutState state) {
  switch (state) {
    case v1::ROLLOUT_STATE_PENDING:
    case v1::ROLLOUT_STATE_RUNNING:
    case v1::ROLLOUT_STATE_AWAITING_PROMOTION:
    case v1::ROLLOUT_STATE_PAUSED:
      return true;
    default:
      return false;
  }
}

v1::RolloutRecord NewRollout(const v1::RolloutStrategy& strategy, const std::string& cause,
                             const std::string& from_tag, const std::string& tag,
                             absl::Time now) {
  v1::RolloutRecord record;
  record.set_state(v1::ROLLOUT_STATE_PENDING);
  *record.mutable_strategy() = strategy;
  record.set_cause(cause);
  record.set_from_tag(from_tag);
  record.set_tag(tag);
  record.set_current_wave(-1);
  record.set_created_at_ms(Millis(now));
  record.set_updated_at_ms(Millis(now));
  return record;
}

bool RolloutEngine::Advance(v1::RolloutRecord& record, const std::vector<std::string>& targeted,
                            const Observer& observe, absl::Time now,
                            absl::Time gate_since) const {
  if (!IsActive(record.state())) return false;
  bool changed = false;
  if (record.state() == v1::ROLLOUT_STATE_PENDING) {
    for (v1::WaveRecord& wave : PlanWaves(record.strategy(), targeted)) {
      *record.add_waves() = std::move(wave);
    }
    if (record.waves().empty()) {
      Finish(record, v1::ROLLOUT_STATE_SUCCEEDED, "no connected host is targeted", now);
      return true;
    }
    record.set_state(v1::ROLLOUT_STATE_RUNNING);
    StartWave(record, 0, now);
    changed = true;
  }
  // One pass can pass several gates: a wave whose hosts already run the new
  // revision (e.g. resumed after a restart) is healthy at once.
  while (IsActive(record.state())) {
    if (CurrentWave(record).finished_at_ms() == 0) {
      changed |= CheckGate(record, observe, now, gate_since);
      if (CurrentWave(record).finished_at_ms() == 0) break;
      continue;
    }
    if (IsLastWave(record)) {
      Finish(record, v1::ROLLOUT_STATE_SUCCEEDED, "", now);
      return true;
    }
    if (record.state() != v1::ROLLOUT_STATE_RUNNING) break;  // promotion or resume holds it
    StartWave(record, record.current_wave() + 1, now);
    changed = true;
  }
  if (changed) record.set_updated_at_ms(Millis(now));
  return changed;
}

bool RolloutEngine::CheckGate(v1::RolloutRecord& record, const Observer& observe, absl::Time now,
                              absl::Time gate_since) const {
  v1::WaveRecord& wave = CurrentWave(record);
  std::vector<v1::RolloutHostState> outcomes;
  outcomes.reserve(wave.hosts_size());
  std::vector<std::pair<std::string, std::string>> failures;
  for (const std::string& host : wave.hosts()) {
    const HostObservation seen = observe(host);
    switch (seen.progress) {
      case HostObservation::Progress::kHealthy:
        outcomes.push_back(v1::ROLLOUT_HOST_STATE_HEALTHY);
        break;
      case HostObservation::Progress::kMoving:
        outcomes.push_back(v1::ROLLOUT_HOST_STATE_DEPLOYING);
        break;
      case HostObservation::Progress::kFailed:
      case HostObservation::Progress::kGone:
        outcomes.push_back(v1::ROLLOUT_HOST_STATE_FAILED);
        failures.emplace_back(host, HostFailure(seen));
        break;
    }
  }
  const bool healthy = std::all_of(outcomes.begin(), outcomes.end(), [](auto outcome) {
    return outcome == v1::ROLLOUT_HOST_STATE_HEALTHY;
  });
  const absl::Time started =
      std::max(absl::FromUnixMillis(wave.started_at_ms()), gate_since);
  const bool timed_out = !healthy && failures.empty() && now - started >= options_.wave_timeout;
  if (timed_out) {
    for (int i = 0; i < wave.hosts_size(); ++i) {
      if (outcomes[i] == v1::ROLLOUT_HOST_STATE_HEALTHY) continue;
      outcomes[i] = v1::ROLLOUT_HOST_STATE_FAILED;
      failures.emplace_back(wave.hosts(i), absl::StrCat("not healthy within ",
                                                         absl::FormatDuration(options_.wave_timeout)));
    }
  }
  if (!healthy && failures.empty()) return false;  // still moving

  wave.set_finished_at_ms(Millis(now));
  wave.clear_outcomes();
  for (v1::RolloutHostState outcome : outcomes) wave.add_outcomes(outcome);
  if (healthy) {
    const bool hold = wave.canary() && !record.strategy().auto_promote() && !IsLastWave(record);
    if (hold && record.state() == v1::ROLLOUT_STATE_PAUSED) {
      record.set_paused_from(v1::ROLLOUT_STATE_AWAITING_PROMOTION);
    } else if (hold) {
      record.set_state(v1::ROLLOUT_STATE_AWAITING_PROMOTION);
      record.set_message("the canary wave is healthy; waiting for `pyctl rollout promote`");
    }
    return true;
  }
  for (const auto& [host, error] : failures) (*wave.mutable_errors())[host] = error;
  std::string message = absl::StrCat(wave.canary() ? "the canary wave" : "wave ",
                                     wave.canary() ? "" : absl::StrCat(record.current_wave()),
                                     " failed: host ", failures.front().first, " ",
                                     failures.front().second);
  if (failures.size() > 1) absl::StrAppend(&message, " (and ", failures.size() - 1, " more)");
  const bool roll_back = record.strategy().auto_rollback();
  if (roll_back) absl::StrAppend(&message, "; rolling touched hosts back to ", record.from_tag());
  Finish(record, roll_back ? v1::ROLLOUT_STATE_ROLLED_BACK : v1::ROLLOUT_STATE_FAILED, message,
         now);
  return true;
}

void RolloutEngine::StartWave(v1::RolloutRecord& record, int index, absl::Time now) const {
  record.set_current_wave(index);
  CurrentWave(record).set_started_at_ms(Millis(now));
  if (record.state() == v1::ROLLOUT_STATE_RUNNING) record.clear_message();
}

void RolloutEngine::Finish(v1::RolloutRecord& record, v1::RolloutState state,
                           const std::string& message, absl::Time now) const {
  record.set_state(state);
  record.set_message(message);
  record.set_finished_at_ms(Millis(now));
  record.set_updated_at_ms(Millis(now));
  if (record.current_wave() >= 0 && CurrentWave(record).finished_at_ms() == 0) {
    CurrentWave(record).set_finished_at_ms(Millis(now));
  }
}

absl::Status RolloutEngine::Control(v1::RolloutRecord& record,
                                    v1::ControlRolloutRequest::Action action,
                                    absl::Time now) const {
  const v1::RolloutState state = record.state();
  const std::string is = absl::StrCat("it is ", RolloutStateName(state));
  switch (action) {
    case v1::ControlRolloutRequest::ACTION_PAUSE:
      if (state != v1::ROLLOUT_STATE_RUNNING &&
          state != v1::ROLLOUT_STATE_AWAITING_PROMOTION) {
        return absl::FailedPreconditionError(absl::StrCat("cannot pause: ", is));
      }
      record.set_paused_from(state);
      record.set_state(v1::ROLLOUT_STATE_PAUSED);
      record.set_message("paused by the operator; `pyctl rollout resume` continues it");
      break;
    case v1::ControlRolloutRequest::ACTION_RESUME:
      if (state != v1::ROLLOUT_STATE_PAUSED) {
        return absl::FailedPreconditionError(absl::StrCat("cannot resume: ", is));
      }
      record.set_state(record.paused_from());
      record.set_message(record.paused_from() == v1::ROLLOUT_STATE_AWAITING_PROMOTION
                             ? "the canary wave is healthy; waiting for `pyctl rollout promote`"
                             : "");
      break;
    case v1::ControlRolloutRequest::ACTION_PROMOTE:
      if (state == v1::ROLLOUT_STATE_PAUSED &&
          record.paused_from() == v1::ROLLOUT_STATE_AWAITING_PROMOTION) {
        return absl::FailedPreconditionError("cannot promote: it is paused; resume it first");
      }
      if (state != v1::ROLLOUT_STATE_AWAITING_PROMOTION) {
        return absl::FailedPreconditionError(
            absl::StrCat("cannot promote: ", is, ", not awaiting promotion"));
      }
      record.set_state(v1::ROLLOUT_STATE_RUNNING);
      StartWave(record, record.current_wave() + 1, now);
      break;
    case v1::ControlRolloutRequest::ACTION_ABORT:
      if (!IsActive(state)) {
        return absl::FailedPreconditionError(absl::StrCat("cannot abort: ", is));
      }
      Finish(record, v1::ROLLOUT_STATE_ABORTED,
             absl::StrCat("aborted by the operator; touched hosts go back to ", record.from_tag()),
             now);
      break;
    default:
      return absl::InvalidArgumentError("unknown rollout action");
  }
  record.set_updated_at_ms(Millis(now));
  return absl::OkStatus();
}

}  // namespace pyservice::controller::rollout

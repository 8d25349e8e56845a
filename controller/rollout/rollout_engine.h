// The rollout state machine. Deterministic and free of gRPC, threads and
// the store: its inputs are what the hosts of the running wave report
// (HostObservation), the time, and the operator's commands; its output is
// the changed RolloutRecord, which the caller persists before acting on it
// (placement.h turns a record into "which host runs which revision").
//
//   PENDING ──plan──▶ RUNNING ──canary healthy, no auto-promote──▶ AWAITING_PROMOTION
//                       │  ▲                                          │ promote
//                       │  └──────────────────────────────────────────┘
//                       ├──every wave healthy──▶ SUCCEEDED
//                       ├──a wave fails its gate──▶ ROLLED_BACK (auto_rollback) | FAILED
//   pause: RUNNING | AWAITING_PROMOTION ──▶ PAUSED ──resume──▶ where it was
//   abort: any active state ──▶ ABORTED
//
// The gate of a wave: every host of it runs the new revision and passed the
// agent's health check (units active for min_healthy, HTTP 2xx). The wave
// fails as soon as one host fails its deploy, runs it with a failed unit, is
// lost, or when the wave is not healthy within the wave timeout. A paused
// rollout still gates its running wave (a failure still rolls back); it only
// starts no new one.
#ifndef PYSERVICE_CONTROLLER_ROLLOUT_ROLLOUT_ENGINE_H_
#define PYSERVICE_CONTROLLER_ROLLOUT_ROLLOUT_ENGINE_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "pyservice/v1/controller.pb.h"
#include "pyservice/v1/rollout_record.pb.h"

namespace pyservice::controller::rollout {

// One host of the running wave, as the fleet sees it now.
struct HostObservation {
  enum class Progress {
    // Not running the new revision yet (not sent, or deploying).
    kMoving,
    // Runs the new revision and passed its health gate.
    kHealthy,
    // The new revision failed there, or runs with a failed unit.
    kFailed,
    // Lost, or disconnected for longer than the lost-host timeout: it
    // cannot pass the gate.
    kGone,
  };
  Progress progress = Progress::kMoving;
  // For kFailed: the failed step ("" when not a step's) and the error.
  std::string failed_step;
  std::string error;
};

using Observer = std::function<HostObservation(const std::string& host)>;

struct EngineOptions {
  // A wave not healthy this long after it started fails its gate.
  absl::Duration wave_timeout = absl::Minutes(30);
};

// Active: not in a final state.
bool IsActive(v1::RolloutState state);

// A new rollout: PENDING with `strategy`, no waves yet.
v1::RolloutRecord NewRollout(const v1::RolloutStrategy& strategy, const std::string& cause,
                             const std::string& from_tag, const std::string& tag, absl::Time now);

class RolloutEngine {
 public:
  explicit RolloutEngine(EngineOptions options) : options_(options) {}

  // Moves `record` as far as it goes now. A PENDING rollout is planned over
  // `targeted` (the connected hosts its revision targets, in wave order) —
  // no host: SUCCEEDED at once — and its first wave starts. Then the
  // running wave's gate is checked with `observe`, and the next wave starts
  // when the gate passed and nothing holds it (promotion, pause).
  // `gate_since`: the wave timeout counts from the later of the wave's start
  // and this (a restarted controller gives hosts their time again).
  // Returns whether the record changed (then persist it before acting).
  bool Advance(v1::RolloutRecord& record, const std::vector<std::string>& targeted,
               const Observer& observe, absl::Time now, absl::Time gate_since) const;

  // The operator's pause, resume, promote or abort. FAILED_PRECONDITION,
  // saying why, when the action does not apply in the current state; the
  // record is then unchanged.
  absl::Status Control(v1::RolloutRecord& record, v1::ControlRolloutRequest::Action action,
                       absl::Time now) const;

 private:
  // Checks the running wave's gate; true if the record changed.
  bool CheckGate(v1::RolloutRecord& record, const Observer& observe, absl::Time now,
                 absl::Time gate_since) const;
  void StartWave(v1::RolloutRecord& record, int index, absl::Time now) const;
  void Finish(v1::RolloutRecord& record, v1::RolloutState state, const std::string& message,
              absl::Time now) const;

  const EngineOptions options_;
};

}  // namespace pyservice::controller::rollout

#endif  // PYSERVICE_CONTROLLER_ROLLOUT_ROLLOUT_ENGINE_H_

// How a rollout's strategy is decided and how its hosts are cut into waves.
// Pure functions: the rounding rules are unit tests.
#ifndef PYSERVICE_CONTROLLER_ROLLOUT_WAVE_PLAN_H_
#define PYSERVICE_CONTROLLER_ROLLOUT_WAVE_PLAN_H_

#include <optional>
#include <string>
#include <vector>

#include "pyservice/v1/rollout_record.pb.h"
#include "pyservice/v1/spec.pb.h"

namespace pyservice::controller::rollout {

// What the operator asked on the command line, over the app's defaults.
struct StrategyOverrides {
  std::optional<v1::WaveSize> canary;
  std::optional<v1::WaveSize> batch;
  // Only ever turns auto-promotion on (a flag, not a setting).
  bool auto_promote = false;
};

// The strategy in force: `overrides`, else the app's `rollout:`, else the
// built-in defaults (no canary, batch 25%, auto_rollback true).
v1::RolloutStrategy ResolveStrategy(const v1::AppSpec& spec, const StrategyOverrides& overrides);

// How many of `total` hosts a wave of `size` takes: a percentage rounds up
// (10% of 5 hosts is 1 host), a wave takes at least one host and at most
// `total`. 0 for an unset, 0% or 0-host size (no such wave), or no hosts.
size_t WaveHosts(const v1::WaveSize& size, size_t total);

// Cuts `hosts` (in the order given) into waves: the canary wave first when
// the strategy has one, then batches of the batch size (of all hosts, not
// of those left), the last one taking the rest. No waves for no hosts.
std::vector<v1::WaveRecord> PlanWaves(const v1::RolloutStrategy& strategy,
                                      const std::vector<std::string>& hosts);

}  // namespace pyservice::controller::rollout

#endif  // PYSERVICE_CONTROLLER_ROLLOUT_WAVE_PLAN_H_

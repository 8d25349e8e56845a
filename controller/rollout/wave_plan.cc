#include "controller/rollout/wave_plan.h"

#include <algorithm>

namespace pyservice::controller::rollout {
namespace {

bool IsSet(const v1::WaveSize& size) {
  return size.size_case() != v1::WaveSize::SIZE_NOT_SET;
}

}  // namespace

v1::RolloutStrategy ResolveStrategy(const v1::AppSpec& spec, const StrategyOverrides& overrides) {
  v1::RolloutStrategy strategy;
  strategy.mutable_batch()->set_percent(25);
  strategy.set_auto_rollback(true);
  if (spec.has_rollout()) {
    const v1::RolloutStrategy& app = spec.rollout();
    if (IsSet(app.canary())) *strategy.mutable_canary() = app.canary();
    if (IsSet(app.batch())) *strategy.mutable_batch() = app.batch();
    strategy.set_auto_promote(app.auto_promote());
    strategy.set_auto_rollback(app.auto_rollback());
  }
  if (overrides.canary.has_value()) *strategy.mutable_canary() = *overrides.canary;
  if (overrides.batch.has_value()) *strategy.mutable_batch() = *overrides.batch;
  if (overrides.auto_promote) strategy.set_auto_promote(true);
  return strategy;
}

size_t WaveHosts(const v1::WaveSize& size, size_t total) {
  size_t hosts = 0;
  if (total == 0) return 0;
  switch (size.size_case()) {
    case v1::WaveSize::kPercent:
      if (size.percent() == 0) return 0;
      hosts = (total * std::min<size_t>(size.percent(), 100) + 99) / 100;
      break;
    case v1::WaveSize::kCount:
      if (size.count() == 0) return 0;
      hosts = size.count();
      break;
    case v1::WaveSize::SIZE_NOT_SET:
      return 0;
  }
  return std::clamp<size_t>(hosts, 1, total);
}

std::vector<v1::WaveRecord> PlanWaves(const v1::RolloutStrategy& strategy,
                                      const std::vector<std::string>& hosts) {
  std::vector<v1::WaveRecord> waves;
  auto next = hosts.begin();
  auto cut = [&](size_t count, bool canary) {
    v1::WaveRecord& wave = waves.emplace_back();
    wave.set_canary(canary);
    const auto end = next + static_cast<std::ptrdiff_t>(
                                std::min<size_t>(count, static_cast<size_t>(hosts.end() - next)));
    for (; next != end; ++next) wave.add_hosts(*next);
  };
  if (hosts.empty()) return waves;
  if (const size_t canary = WaveHosts(strategy.canary(), hosts.size()); canary > 0) {
    cut(canary, /*canary=*/true);
  }
  // A missing batch size means "the rest in one wave" (never zero-sized waves).
  size_t batch = WaveHosts(strategy.batch(), hosts.size());
  if (batch == 0) batch = hosts.size();
  while (next != hosts.end()) cut(batch, /*canary=*/false);
  return waves;
}

}  // namespace pyservice::controller::rollout

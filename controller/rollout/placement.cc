#include "controller/rollout/placement.h"

namespace pyservice::controller::rollout {

Placement PlaceHosts(uint32_t rollout_id, const v1::RolloutRecord& record) {
  Placement placement;
  placement.rollout_id = rollout_id;
  const v1::RolloutState state = record.state();
  if (state == v1::ROLLOUT_STATE_SUCCEEDED) {
    placement.others_on_to = true;
    return placement;
  }
  const bool keeps_started = state == v1::ROLLOUT_STATE_RUNNING ||
                             state == v1::ROLLOUT_STATE_AWAITING_PROMOTION ||
                             state == v1::ROLLOUT_STATE_PAUSED ||
                             state == v1::ROLLOUT_STATE_FAILED;
  if (!keeps_started) return placement;
  const bool active = state != v1::ROLLOUT_STATE_FAILED;
  for (int i = 0; i < record.waves_size(); ++i) {
    const v1::WaveRecord& wave = record.waves(i);
    const bool started = i <= record.current_wave() && wave.started_at_ms() != 0;
    if (started) {
      placement.on_to.insert(wave.hosts().begin(), wave.hosts().end());
    } else if (active && i <= record.current_wave() + kPrepareAheadWaves) {
      placement.prepare.insert(wave.hosts().begin(), wave.hosts().end());
    }
  }
  return placement;
}

}  // namespace pyservice::controller::rollout

#include "controller/rollout/rollout_events.h"

#include "absl/strings/str_cat.h"
#include "common/api/rollout_names.h"

namespace pyservice::controller::rollout {

std::vector<v1::FleetEvent> RolloutEvents(const StoredRollout& stored,
                                          const v1::RolloutRecord& before,
                                          const v1::RolloutRecord& after) {
  std::vector<v1::FleetEvent> events;
  const auto add = [&](v1::FleetEventKind kind) -> v1::FleetEvent& {
    v1::FleetEvent& event = events.emplace_back();
    event.set_kind(kind);
    event.set_app(stored.app);
    event.set_id(stored.id);
    event.set_revision(stored.to_revision);
    return event;
  };
  const v1::RolloutState was = before.state();
  const v1::RolloutState is = after.state();
  if (was == v1::ROLLOUT_STATE_PENDING && is != v1::ROLLOUT_STATE_PENDING) {
    add(v1::FLEET_EVENT_KIND_ROLLOUT_STARTED)
        .set_message(absl::StrCat("revision ", stored.from_revision, " → ", stored.to_revision,
                                  ", ", after.waves_size(), " wave(s)"));
  }
  if (was == v1::ROLLOUT_STATE_AWAITING_PROMOTION && is == v1::ROLLOUT_STATE_RUNNING) {
    add(v1::FLEET_EVENT_KIND_ROLLOUT_PROMOTED);
  }
  if (before.current_wave() != after.current_wave() && after.current_wave() >= 0 &&
      after.current_wave() < after.waves_size()) {
    const v1::WaveRecord& wave = after.waves(after.current_wave());
    v1::FleetEvent& event = add(v1::FLEET_EVENT_KIND_ROLLOUT_WAVE);
    event.set_wave(static_cast<uint32_t>(after.current_wave()));
    event.set_message(absl::StrCat(wave.canary() ? "canary, " : "", wave.hosts_size(),
                                   " host(s)"));
  }
  if (was != is) {
    switch (is) {
      case v1::ROLLOUT_STATE_SUCCEEDED:
        add(v1::FLEET_EVENT_KIND_ROLLOUT_SUCCEEDED);
        break;
      case v1::ROLLOUT_STATE_ROLLED_BACK:
        add(v1::FLEET_EVENT_KIND_ROLLOUT_ROLLED_BACK).set_message(after.message());
        break;
      case v1::ROLLOUT_STATE_FAILED:
      case v1::ROLLOUT_STATE_ABORTED:
        add(v1::FLEET_EVENT_KIND_ROLLOUT_ENDED)
            .set_message(absl::StrCat(RolloutStateName(is),
                                      after.message().empty() ? "" : ": ", after.message()));
        break;
      default:
        break;
    }
  }
  return events;
}

}  // namespace pyservice::controller::rollout

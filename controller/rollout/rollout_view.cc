#include "controller/rollout/rollout_view.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/status/status_macros.h"
#include "common/time/rfc3339.h"
#include "controller/rollout/rollout_engine.h"

namespace pyservice::controller::rollout {
namespace {

std::string Rfc3339(int64_t unix_ms) {
  if (unix_ms == 0) return "";
  return FormatRfc3339(absl::FromUnixMillis(unix_ms));
}

}  // namespace

absl::StatusOr<v1::RolloutRecord> DecodeRecord(const StoredRollout& stored) {
  v1::RolloutRecord record;
  if (!record.ParseFromString(stored.record)) {
    return absl::DataLossError(
        absl::StrCat("stored rollout ", stored.id, " of ", stored.app, " does not decode"));
  }
  return record;
}

absl::StatusOr<RolloutRevisions> ReadRevisions(Store& store, const StoredRollout& stored) {
  RolloutRevisions revisions;
  revisions.app = stored.app;
  revisions.to = stored.to_revision;
  revisions.from = stored.from_revision;
  ASSIGN_OR_RETURN(const StoredRevision to, store.GetRevision(stored.app, stored.to_revision));
  revisions.to_digest = to.digest;
  if (stored.from_revision != 0) {
    ASSIGN_OR_RETURN(const StoredRevision from,
                     store.GetRevision(stored.app, stored.from_revision));
    revisions.from_digest = from.digest;
  }
  return revisions;
}

v1::Rollout SummarizeRollout(const StoredRollout& stored, const v1::RolloutRecord& record) {
  v1::Rollout rollout;
  rollout.set_app(stored.app);
  rollout.set_id(stored.id);
  rollout.set_from_revision(stored.from_revision);
  rollout.set_to_revision(stored.to_revision);
  rollout.set_tag(record.tag());
  rollout.set_from_tag(record.from_tag());
  rollout.set_state(record.state());
  *rollout.mutable_strategy() = record.strategy();
  rollout.set_current_wave(record.current_wave());
  rollout.set_message(record.message());
  rollout.set_cause(record.cause());
  rollout.set_created_at(Rfc3339(record.created_at_ms()));
  rollout.set_updated_at(Rfc3339(record.updated_at_ms()));
  rollout.set_finished_at(Rfc3339(record.finished_at_ms()));
  uint32_t hosts = 0;
  for (const v1::WaveRecord& wave : record.waves()) hosts += wave.hosts_size();
  rollout.set_hosts(hosts);
  rollout.set_settled(!IsActive(record.state()));
  return rollout;
}

v1::Rollout DescribeRollout(const StoredRollout& stored, const v1::RolloutRecord& record,
                            const RolloutRevisions& revisions,
                            const fleet::FleetRegistry& registry) {
  v1::Rollout rollout = SummarizeRollout(stored, record);
  bool moving = false;
  for (int i = 0; i < record.waves_size(); ++i) {
    const v1::WaveRecord& wave = record.waves(i);
    v1::RolloutWave& out = *rollout.add_waves();
    out.set_index(i);
    out.set_canary(wave.canary());
    out.set_started_at(Rfc3339(wave.started_at_ms()));
    out.set_finished_at(Rfc3339(wave.finished_at_ms()));
    const bool started = wave.started_at_ms() != 0;
    const std::vector<std::string> names(wave.hosts().begin(), wave.hosts().end());
    int index = 0;
    registry.ForHosts(names, [&](const std::string& name, const fleet::HostView* view,
                                  const fleet::FleetRegistry::Liveness&) {
      const v1::RolloutHostState outcome =
          index < wave.outcomes_size() ? wave.outcomes(index) : v1::ROLLOUT_HOST_STATE_UNSPECIFIED;
      ++index;
      const auto error = wave.errors().find(name);
      v1::RolloutHost line =
          DescribeHost(name, view, revisions, record.state(), started, outcome,
                       error == wave.errors().end() ? std::string() : error->second);
      if (line.state() == v1::ROLLOUT_HOST_STATE_HEALTHY) rollout.set_healthy(rollout.healthy() + 1);
      if (line.state() == v1::ROLLOUT_HOST_STATE_FAILED) rollout.set_failed(rollout.failed() + 1);
      moving |= IsMoving(line);
      *out.add_hosts() = std::move(line);
    });
  }
  rollout.set_settled(!IsActive(record.state()) && !moving);
  return rollout;
}

}  // namespace pyservice::controller::rollout

#include "controller/service/rollouts.h"

#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/spec/canonical.h"
#include "common/spec/validators.h"
#include "common/status/status_macros.h"
#include "controller/store/stored_spec.h"
#include "controller/rollout/rollout_engine.h"
#include "controller/rollout/rollout_view.h"
#include "controller/service/retry.h"
#include "spdlog/spdlog.h"

namespace pyservice::controller {
namespace {

absl::StatusOr<StoredRevision> CurrentOf(Store& store, const std::string& app) {
  ASSIGN_OR_RETURN(std::optional<StoredRevision> current, store.CurrentRevision(app));
  if (!current.has_value()) return absl::NotFoundError(absl::StrCat("app \"", app, "\" not found"));
  return *std::move(current);
}

absl::Status CheckWaveSize(const v1::WaveSize& size, const char* flag) {
  if (size.has_percent() && (size.percent() == 0 || size.percent() > 100)) {
    return absl::InvalidArgumentError(absl::StrCat(flag, ": must be 1% to 100%"));
  }
  if (size.has_count() && size.count() == 0) {
    return absl::InvalidArgumentError(absl::StrCat(flag, ": must be at least one host"));
  }
  return absl::OkStatus();
}

// Runs `attempt` until it does not lose a race with a concurrent change.
absl::StatusOr<StoredRollout> Retrying(
    const std::string& app, const std::function<absl::StatusOr<StoredRollout>()>& attempt) {
  return RetryWhileAborted(attempt,
                           absl::StrCat("app ", app, " is being changed concurrently; try again"));
}

// The revision that ran before `live`: where the succeeded rollout that
// brought it started. Revisions that only stored the same spec again are
// passed through (an undo after a rolled-back rollout re-stores the spec the
// fleet runs), so undoing after one reaches the spec before, not the same
// spec once more. nullopt when no succeeded rollout leads to `live`.
absl::StatusOr<std::optional<uint32_t>> RevisionBefore(Store& store, const StoredRevision& live) {
  ASSIGN_OR_RETURN(const std::vector<StoredRollout> rollouts, store.ListRollouts(live.app));
  uint32_t at = live.number;
  // Every hop goes back by one rollout, so there are at most that many.
  for (size_t hops = 0; hops < rollouts.size(); ++hops) {
    std::optional<uint32_t> from;
    for (auto it = rollouts.rbegin(); it != rollouts.rend() && !from; ++it) {
      if (it->active || it->to_revision != at || it->from_revision == 0) continue;
      ASSIGN_OR_RETURN(const v1::RolloutRecord record, rollout::DecodeRecord(*it));
      if (record.state() == v1::ROLLOUT_STATE_SUCCEEDED) from = it->from_revision;
    }
    if (!from.has_value()) return std::nullopt;
    ASSIGN_OR_RETURN(const StoredRevision before, store.GetRevision(live.app, *from));
    if (before.digest != live.digest) return before.number;
    at = before.number;
  }
  return std::nullopt;
}

// The undo rollout's strategy: batches of the app's size, no canary, no
// wait for promotion (undo is for getting back fast).
v1::RolloutStrategy UndoStrategy(const v1::AppSpec& spec) {
  rollout::StrategyOverrides overrides;
  overrides.canary = v1::WaveSize();  // unset: no canary
  overrides.auto_promote = true;
  return rollout::ResolveStrategy(spec, overrides);
}

absl::StatusOr<StoredRollout> UndoTo(Store& store, const Clock& clock,
                                     const spec::SecretFingerprinter& fingerprints,
                                     const StoredRevision& current, const StoredRevision& live,
                                     uint32_t number) {
  absl::StatusOr<StoredRevision> target = store.GetRevision(current.app, number);
  if (absl::IsNotFound(target.status())) {
    return absl::NotFoundError(absl::StrCat("--to-revision: app ", current.app,
                                            " has no revision ", number, " (see `pyctl history ",
                                            current.app, "`)"));
  }
  RETURN_IF_ERROR(target.status());
  // The same spec as the live one is refused only when it is current too:
  // after a rolled-back rollout it makes what runs current (like undo).
  if (target->digest == live.digest && live.number == current.number) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--to-revision: ", current.app, " already runs revision ", number, "'s spec (tag ",
        target->tag, ", revision ", live.number, "); nothing to undo"));
  }
  ASSIGN_OR_RETURN(const v1::AppSpec spec, DecodeStoredSpec(*target));
  return StoreRollout(store, clock, fingerprints, current, spec, UndoStrategy(spec), "undo");
}

}  // namespace

absl::StatusOr<StoredRevision> LiveRevision(Store& store, const StoredRevision& current) {
  ASSIGN_OR_RETURN(const std::optional<StoredRollout> latest, store.LatestRollout(current.app));
  if (!latest.has_value() || latest->to_revision != current.number || latest->active ||
      latest->from_revision == 0) {
    return current;
  }
  ASSIGN_OR_RETURN(const v1::RolloutRecord record, rollout::DecodeRecord(*latest));
  if (record.state() == v1::ROLLOUT_STATE_SUCCEEDED) return current;
  return store.GetRevision(current.app, latest->from_revision);
}

absl::StatusOr<StoredRollout> StoreRollout(Store& store, const Clock& clock,
                                           const spec::SecretFingerprinter& fingerprints,
                                           const StoredRevision& current,
                                           const v1::AppSpec& spec,
                                           const v1::RolloutStrategy& strategy,
                                           const std::string& cause) {
  ASSIGN_OR_RETURN(const StoredRevision live, LiveRevision(store, current));
  const absl::Time now = clock.Now();
  StoredRevision revision;
  revision.app = spec.name();
  revision.tag = spec.tag();
  revision.digest = spec::SpecDigest(spec, fingerprints);
  revision.created_at = now;
  revision.spec = spec.SerializeAsString();

  StoredRollout rollout;
  rollout.app = spec.name();
  rollout.from_revision = live.number;
  rollout.active = true;
  rollout.created_at = now;
  rollout.updated_at = now;
  rollout.record =
      rollout::NewRollout(strategy, cause, live.tag, spec.tag(), now).SerializeAsString();
  absl::StatusOr<StoredRollout> stored = store.CreateRollout(rollout, revision, current.number);
  if (absl::IsFailedPrecondition(stored.status())) {
    return absl::FailedPreconditionError(
        absl::StrCat(stored.status().message(), "; wait for it to finish, or stop it with `pyctl rollout abort ",
                     spec.name(), "`"));
  }
  if (stored.ok()) {
    spdlog::info("app {}: stored revision {} (tag {}) with rollout {} from revision {} ({})",
                 spec.name(), stored->to_revision, spec.tag(), stored->id, live.number, cause);
  }
  return stored;
}

absl::StatusOr<StoredRollout> StartRollout(Store& store, const Clock& clock,
                                           const spec::SecretFingerprinter& fingerprints,
                                           const v1::StartRolloutRequest& request) {
  if (absl::Status valid = spec::ValidateName(request.app()); !valid.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("app name: ", valid.message()));
  }
  if (request.tag().empty()) return absl::InvalidArgumentError("--tag: required");
  if (absl::Status valid = spec::ValidateGitRef(request.tag()); !valid.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--tag: ", valid.message()));
  }
  rollout::StrategyOverrides overrides;
  if (request.has_canary()) {
    if (request.canary().has_count()) {
      return absl::InvalidArgumentError("--canary: must be a percentage (e.g. 10%)");
    }
    RETURN_IF_ERROR(CheckWaveSize(request.canary(), "--canary"));
    overrides.canary = request.canary();
  }
  if (request.has_batch()) {
    RETURN_IF_ERROR(CheckWaveSize(request.batch(), "--batch"));
    overrides.batch = request.batch();
  }
  overrides.auto_promote = request.auto_promote();
  return Retrying(request.app(), [&]() -> absl::StatusOr<StoredRollout> {
    ASSIGN_OR_RETURN(const StoredRevision current, CurrentOf(store, request.app()));
    ASSIGN_OR_RETURN(v1::AppSpec spec, DecodeStoredSpec(current));
    spec.set_tag(request.tag());
    ASSIGN_OR_RETURN(const StoredRevision live, LiveRevision(store, current));
    if (spec::SpecDigest(spec, fingerprints) == live.digest) {
      return absl::FailedPreconditionError(
          absl::StrCat(request.app(), " already runs tag ", request.tag(), " (revision ",
                       live.number, "); nothing to roll out"));
    }
    return StoreRollout(store, clock, fingerprints, current, spec,
                        rollout::ResolveStrategy(spec, overrides), "rollout");
  });
}

absl::StatusOr<StoredRollout> UndoRollout(Store& store, const Clock& clock,
                                          const spec::SecretFingerprinter& fingerprints,
                                          const std::string& app, uint32_t to_revision) {
  if (absl::Status valid = spec::ValidateName(app); !valid.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("app name: ", valid.message()));
  }
  return Retrying(app, [&]() -> absl::StatusOr<StoredRollout> {
    ASSIGN_OR_RETURN(const StoredRevision current, CurrentOf(store, app));
    ASSIGN_OR_RETURN(const StoredRevision live, LiveRevision(store, current));
    if (to_revision != 0) return UndoTo(store, clock, fingerprints, current, live, to_revision);
    // The current revision never took (its rollout rolled back, failed or
    // was aborted): undo makes the revision the fleet runs current again,
    // so that later changes and status start from what runs. Hosts already
    // on it are not deployed again; hosts a failed rollout left on the
    // current revision go back.
    std::optional<uint32_t> previous;
    if (live.number != current.number) {
      previous = live.number;
    } else {
      ASSIGN_OR_RETURN(previous, RevisionBefore(store, live));
    }
    if (!previous.has_value()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "nothing to undo: ", app, " revision ", live.number, " (", live.tag,
          ") was not brought by a finished rollout"));
    }
    ASSIGN_OR_RETURN(const StoredRevision target, store.GetRevision(app, *previous));
    ASSIGN_OR_RETURN(const v1::AppSpec spec, DecodeStoredSpec(target));
    return StoreRollout(store, clock, fingerprints, current, spec, UndoStrategy(spec), "undo");
  });
}

absl::StatusOr<StoredRollout> FindRollout(Store& store, const std::string& app, uint32_t id) {
  if (absl::Status valid = spec::ValidateName(app); !valid.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("app name: ", valid.message()));
  }
  if (id != 0) return store.GetRollout(app, id);
  ASSIGN_OR_RETURN(std::optional<StoredRollout> latest, store.LatestRollout(app));
  if (!latest.has_value()) {
    return absl::NotFoundError(absl::StrCat("app \"", app, "\" has no rollouts"));
  }
  return *std::move(latest);
}

absl::StatusOr<v1::Rollout> DescribeStoredRollout(Store& store,
                                                  const fleet::FleetRegistry& registry,
                                                  const StoredRollout& stored) {
  ASSIGN_OR_RETURN(const v1::RolloutRecord record, rollout::DecodeRecord(stored));
  ASSIGN_OR_RETURN(const rollout::RolloutRevisions revisions,
                   rollout::ReadRevisions(store, stored));
  return rollout::DescribeRollout(stored, record, revisions, registry);
}

}  // namespace pyservice::controller

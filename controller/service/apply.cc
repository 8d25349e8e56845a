#include "controller/service/apply.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/spec/app_spec_parser.h"
#include "common/spec/canonical.h"
#include "common/status/status_macros.h"
#include "controller/store/stored_spec.h"
#include "common/text/diff.h"
#include "common/time/rfc3339.h"
#include "controller/service/retry.h"
#include "controller/service/rollouts.h"
#include "spdlog/spdlog.h"

namespace pyservice::controller {
namespace {

// The number the next revision will get: numbering continues across deletes.
absl::StatusOr<uint32_t> NextRevisionNumber(Store& store, const std::string& app) {
  ASSIGN_OR_RETURN(std::vector<StoredRevision> revisions, store.ListRevisions(app));
  return revisions.empty() ? 1 : revisions.back().number + 1;
}

}  // namespace

v1::Revision ToApiRevision(const StoredRevision& stored) {
  v1::Revision revision;
  revision.set_app(stored.app);
  revision.set_number(stored.number);
  revision.set_tag(stored.tag);
  revision.set_digest(stored.digest);
  revision.set_created_at(FormatRfc3339(stored.created_at));
  return revision;
}

absl::StatusOr<v1::ApplyAppResponse> ApplyApp(Store& store, const Clock& clock,
                                              const spec::SecretFingerprinter& fingerprints,
                                              const spec::SpecPolicy& policy,
                                              const v1::ApplyAppRequest& request) {
  const std::string source = request.source_name().empty() ? "app.yaml" : request.source_name();
  ASSIGN_OR_RETURN(v1::AppSpec spec, spec::ParseAppSpec(request.yaml(), source, policy));
  const std::string digest = spec::SpecDigest(spec, fingerprints);
  const std::string canonical = spec::RedactedCanonicalYaml(spec, fingerprints);

  // Losing a race with another apply (ABORTED) means diffing again.
  return RetryWhileAborted<v1::ApplyAppResponse>([&]() -> absl::StatusOr<v1::ApplyAppResponse> {
    ASSIGN_OR_RETURN(std::optional<StoredRevision> current, store.CurrentRevision(spec.name()));
    v1::ApplyAppResponse response;
    response.set_app(spec.name());
    std::string old_canonical;
    if (current) {
      response.set_previous_revision(current->number);
      if (current->digest == digest) {
        response.set_revision(current->number);
        response.set_changed(false);
        return response;
      }
      ASSIGN_OR_RETURN(v1::AppSpec old_spec, DecodeStoredSpec(*current));
      old_canonical = spec::RedactedCanonicalYaml(old_spec, fingerprints);
    }
    response.set_changed(true);
    response.set_diff(text::UnifiedDiff(
        old_canonical, canonical,
        current ? absl::StrCat(spec.name(), " revision ", current->number) : "/dev/null",
        absl::StrCat(spec.name(), " (applied)")));
    if (request.dry_run()) {
      ASSIGN_OR_RETURN(uint32_t next, NextRevisionNumber(store, spec.name()));
      response.set_revision(next);
      return response;
    }
    if (current.has_value()) {
      // A deployed app moves to the change through a rollout with its own
      // defaults, never all hosts at once.
      absl::StatusOr<StoredRollout> rollout = StoreRollout(
          store, clock, fingerprints, *current, spec, rollout::ResolveStrategy(spec, {}), "apply");
      if (!rollout.ok()) return rollout.status();
      response.set_revision(rollout->to_revision);
      response.set_rollout(rollout->id);
      return response;
    }
    StoredRevision revision;
    revision.app = spec.name();
    revision.tag = spec.tag();
    revision.digest = digest;
    revision.created_at = clock.Now();
    revision.spec = spec.SerializeAsString();
    absl::StatusOr<StoredRevision> stored = store.AppendRevision(revision, 0);
    if (!stored.ok()) return stored.status();
    response.set_revision(stored->number);
    spdlog::info("app {}: stored revision {} (tag {}, {})", spec.name(), stored->number,
                 spec.tag(), digest);
    return response;
  }, absl::StrCat("app ", spec.name(), " is being applied concurrently; try again"));
}

}  // namespace pyservice::controller

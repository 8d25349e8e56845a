// checkout: the code of the spec's tag in its own release directory.
// Reads: spec repo, tag; the git mirror; the live release record.
// Writes: STATE_DIR/apps/APP/mirror.git (fetch), APP_DIR/releases/<id>/
// (exported, then owned by the app user), Deploy::release id/commit/
// tree_digest.
//
// The release is exported to a temporary directory and renamed into place,
// so a release directory that exists is complete: a crash mid-export leaves
// only a temporary directory, removed on the next run. A re-apply of the
// live revision skips the fetch (nothing to learn from the network) but
// still checks the tree for hand edits. The fetch is killed on the agent's
// fetch deadline (timeouts.fetch) or when the deploy is canceled.
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "agent/install/release_layout.h"
#include "agent/install/steps/steps.h"
#include "common/status/status_macros.h"

namespace pyservice::agent {
namespace {

class CheckoutStep final : public Step {
 public:
  absl::string_view name() const override { return "checkout"; }

  absl::StatusOr<bool> Run(Deploy& deploy, HostServices& host,
                           const AgentSettings& settings) override {
    const v1::AppSpec& spec = deploy.expanded;
    const v1::ReleaseRecord& live = deploy.state->live();
    FetchRequest fetch{spec.repo(), spec.tag(), MirrorDir(settings.state_dir, spec.name()),
                       spec.ssh_key().empty() ? "" : SshKeyPath(spec), settings.fetch_timeout,
                       deploy.canceled};
    const bool same_source = !live.id().empty() && live.spec().repo() == deploy.spec.repo() &&
                             live.spec().tag() == deploy.spec.tag();
    std::string commit = live.commit();
    if (!same_source) {
      ASSIGN_OR_RETURN(commit, host.git.Fetch(fetch));
    }
    deploy.release.set_commit(commit);
    deploy.release.set_id(ReleaseId(spec.tag(), commit));
    const std::string release_dir = ReleaseDir(spec, deploy.release.id());

    // An existing release is reused if its tree is what was exported.
    const std::string expected_digest = KnownTreeDigest(*deploy.state, deploy.release.id());
    absl::StatusOr<std::string> on_disk = TreeDigest(release_dir);
    if (!expected_digest.empty() && on_disk.ok() && *on_disk == expected_digest) {
      deploy.release.set_tree_digest(expected_digest);
      return false;
    }
    if (!expected_digest.empty() && on_disk.ok()) {
      deploy.notes.push_back(absl::StrCat("repaired release ", deploy.release.id(),
                                          " (code changed by hand)"));
    }
    if (same_source) {
      // Re-exporting the live commit: make sure the mirror still has it (the
      // state dir may have been wiped). The release keeps its commit even if
      // the tag moved since; a new revision is how a moved tag is deployed.
      RETURN_IF_ERROR(host.git.Fetch(fetch).status());
    }
    // APP_DIR/releases is the app user's: everything in it goes through
    // its fd (no symlink there is followed).
    ASSIGN_OR_RETURN(const Dir releases, Dir::Open(ReleasesDir(spec)));
    const std::string incoming_name = absl::StrCat(".incoming-", deploy.release.id());
    const std::string incoming = absl::StrCat(ReleasesDir(spec), "/", incoming_name);
    RETURN_IF_ERROR(releases.RemoveTree(incoming_name));
    RETURN_IF_ERROR(host.git.Export(fetch.mirror_dir, commit, incoming));
    RETURN_IF_ERROR(releases.ChownTree(incoming_name, deploy.owner));
    ASSIGN_OR_RETURN(std::string digest, TreeDigest(incoming));
    RETURN_IF_ERROR(releases.RemoveTree(deploy.release.id()));
    RETURN_IF_ERROR(releases.Rename(incoming_name, releases, deploy.release.id()));
    deploy.release.set_tree_digest(digest);
    deploy.notes.push_back(absl::StrCat(spec.tag(), " is ", commit.substr(0, 12)));
    return true;
  }

 private:
  // The tree digest recorded for `id` by an earlier deploy, if any.
  static std::string KnownTreeDigest(const v1::AppState& state, const std::string& id) {
    if (state.live().id() == id) return state.live().tree_digest();
    for (const v1::ReleaseRecord& previous : state.previous()) {
      if (previous.id() == id) return previous.tree_digest();
    }
    if (state.in_flight().release().id() == id) return state.in_flight().release().tree_digest();
    return "";
  }
};

}  // namespace

std::unique_ptr<Step> NewCheckoutStep() { return std::make_unique<CheckoutStep>(); }

}  // namespace pyservice::agent

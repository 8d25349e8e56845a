#include "controller/etcd/migrate.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/tls/pki.h"
#include "common/status/status_macros.h"

namespace pyservice::controller {

namespace {

absl::Status CopyAccess(SqliteStore& from, EtcdStore& to, MigrationCounts& counts) {
  ASSIGN_OR_RETURN(const std::vector<StoredToken> tokens, from.ListTokens());
  for (const StoredToken& token : tokens) RETURN_IF_ERROR(to.ImportToken(token));
  counts.tokens = tokens.size();
  ASSIGN_OR_RETURN(const std::vector<StoredEnrollmentToken> enrollment_tokens,
                   from.ListEnrollmentTokens());
  for (const StoredEnrollmentToken& token : enrollment_tokens) {
    RETURN_IF_ERROR(to.ImportEnrollmentToken(token));
  }
  counts.enrollment_tokens = enrollment_tokens.size();
  // Hosts before their certificates: a certificate names an enrolled host.
  ASSIGN_OR_RETURN(const std::vector<EnrolledHost> hosts, from.ListEnrolledHosts());
  for (const EnrolledHost& host : hosts) RETURN_IF_ERROR(to.ImportEnrolledHost(host));
  counts.enrolled_hosts = hosts.size();
  ASSIGN_OR_RETURN(const std::vector<StoredCertificate> certificates, from.ListCertificates());
  for (const StoredCertificate& certificate : certificates) {
    RETURN_IF_ERROR(to.ImportCertificate(certificate));
  }
  counts.certificates = certificates.size();
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<MigrationCounts> MigrateSqliteToEtcd(SqliteStore& from, const std::string& ca_dir,
                                                    EtcdStore& to) {
  ASSIGN_OR_RETURN(const bool empty, to.IsEmpty());
  if (!empty) {
    return absl::FailedPreconditionError(
        "the etcd store already holds a controller's state; migrate only into an empty one");
  }
  absl::StatusOr<std::optional<tls::CaMaterial>> ca = tls::CertificateAuthority::ReadCaDir(ca_dir);
  if (!ca.ok()) {
    return absl::Status(ca.status().code(),
                        absl::StrCat("the CA in ", ca_dir, ": ", ca.status().message()));
  }
  MigrationCounts counts;
  if (ca->has_value()) {
    RETURN_IF_ERROR(
        to.CreateAgentCaIfAbsent(StoredAgentCa{(*ca)->certificate_pem, (*ca)->key_pem})
            .status());
    counts.ca = true;
  }
  RETURN_IF_ERROR(CopyAccess(from, to, counts));
  ASSIGN_OR_RETURN(const std::vector<StoredAppEntry> apps, from.ListAllApps());
  for (const StoredAppEntry& app : apps) {
    ASSIGN_OR_RETURN(const std::vector<StoredRevision> listed, from.ListRevisions(app.name));
    std::vector<StoredRevision> revisions;
    for (const StoredRevision& revision : listed) {
      // ListRevisions leaves specs out.
      ASSIGN_OR_RETURN(StoredRevision whole, from.GetRevision(app.name, revision.number));
      revisions.push_back(std::move(whole));
    }
    RETURN_IF_ERROR(to.ImportApp(app.name, app.created_at, app.deleted_at, revisions));
    ++counts.apps;
    counts.revisions += revisions.size();
    ASSIGN_OR_RETURN(const std::vector<StoredRollout> rollouts, from.ListRollouts(app.name));
    for (const StoredRollout& rollout : rollouts) {
      RETURN_IF_ERROR(to.ImportRollout(rollout));
      ++counts.rollouts;
    }
  }
  ASSIGN_OR_RETURN(const std::vector<StoredHost> hosts, from.ListHosts());
  RETURN_IF_ERROR(to.UpsertHosts(hosts));
  counts.hosts = hosts.size();
  return counts;
}

}  // namespace pyservice::controller

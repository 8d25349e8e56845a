#include "controller/etcd/etcd_agent_ca.h"

#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "spdlog/spdlog.h"

namespace pyservice::controller::etcd {

namespace {

constexpr char kEtcdOrigin[] = "the agents' CA in etcd";

absl::Status Conflict(const std::string& ca_dir) {
  return absl::FailedPreconditionError(absl::StrCat(
      "--ca-dir ", ca_dir,
      " holds another CA than the one the cluster shares in etcd: agents enrolled with the "
      "cluster would not verify against it. Leave --ca-dir out on an etcd store (the CA in "
      "etcd is used), or point it at a copy of that CA"));
}

}  // namespace

absl::StatusOr<std::unique_ptr<tls::CertificateAuthority>> LoadOrCreateEtcdAgentCa(
    EtcdStore& store, const EtcdAgentCaOptions& options, const Clock& clock) {
  ASSIGN_OR_RETURN(std::optional<StoredAgentCa> stored, store.GetAgentCa());
  absl::StatusOr<std::optional<tls::CaMaterial>> local =
      tls::CertificateAuthority::ReadCaDir(options.ca_dir);
  if (!local.ok()) {
    // A default dir that etcd's CA makes unused does not stop the start.
    if (!stored.has_value() || options.ca_dir_given) {
      return absl::Status(local.status().code(), absl::StrCat("the CA in ", options.ca_dir, ": ",
                                                              local.status().message()));
    }
    spdlog::warn("agents' CA: the one in etcd is used; {} is not read ({})", options.ca_dir,
                 std::string(local.status().message()));
    local = std::nullopt;
  }
  if (!stored.has_value()) {
    tls::CaMaterial offered;
    if (local->has_value()) {
      offered = **local;
    } else {
      ASSIGN_OR_RETURN(offered, tls::CertificateAuthority::NewCaMaterial(options.name,
                                                                         clock.Now()));
    }
    ASSIGN_OR_RETURN(stored, store.CreateAgentCaIfAbsent(
                                 StoredAgentCa{offered.certificate_pem, offered.key_pem}));
    if (stored->certificate_pem == offered.certificate_pem) {
      spdlog::info("agents' CA: {} into etcd, shared by every controller of the cluster",
                   local->has_value() ? absl::StrCat("imported the CA in ", options.ca_dir)
                                      : std::string("created a new CA"));
    }
  }
  if (local->has_value() && (*local)->certificate_pem != stored->certificate_pem) {
    if (options.ca_dir_given) return Conflict(options.ca_dir);
    spdlog::warn("agents' CA: the CA in {} is not the cluster's and is not used; the one in "
                 "etcd is (agents enrolled with this controller alone must enroll again)",
                 options.ca_dir);
  }
  return tls::CertificateAuthority::FromPem(
      tls::CaMaterial{stored->certificate_pem, stored->key_pem}, kEtcdOrigin, clock);
}

}  // namespace pyservice::controller::etcd

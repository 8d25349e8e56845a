// The agents' CA of a controller on an etcd store: one CA for the whole
// cluster, kept in etcd (EtcdStore::GetAgentCa, the key sealed with the
// secrets key every controller shares), so a new leader verifies the
// certificates its predecessor issued.
//
// What --ca-dir means then (docs/INTERFACES.md): a CA to import. When etcd
// holds no CA yet, the leader imports the one in `ca_dir` if there is one,
// else creates a new one in etcd (no files); of controllers racing, one CA
// wins (a create-if-absent Txn). When etcd holds one, `ca_dir` is not used;
// a different CA there is refused when the operator named the dir
// (FAILED_PRECONDITION: the fleet's certificates would not verify against
// it) and only warned about when it is the data dir's default one (each
// controller had its own before the CA was shared).
#ifndef PYSERVICE_CONTROLLER_ETCD_ETCD_AGENT_CA_H_
#define PYSERVICE_CONTROLLER_ETCD_ETCD_AGENT_CA_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/time/clock.h"
#include "common/tls/pki.h"
#include "controller/store/etcd_store.h"

namespace pyservice::controller::etcd {

struct EtcdAgentCaOptions {
  std::string ca_dir;
  // The operator gave --ca-dir (or ca_dir in the config file).
  bool ca_dir_given = false;
  // The CA's name when a new one is created.
  std::string name = "pyservice agents";
};

absl::StatusOr<std::unique_ptr<tls::CertificateAuthority>> LoadOrCreateEtcdAgentCa(
    EtcdStore& store, const EtcdAgentCaOptions& options, const Clock& clock);

}  // namespace pyservice::controller::etcd

#endif  // PYSERVICE_CONTROLLER_ETCD_ETCD_AGENT_CA_H_

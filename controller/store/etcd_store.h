// The Store on an etcd v3 cluster (`--store etcd://HOST:PORT,...`), so
// several controllers share one state and one of them leads
// (controller/etcd/leader_election.h).
//
// Layout under `prefix` (one pyservice.v1.Etcd* message per key,
// proto/pyservice/v1/etcd_store.proto):
//   apps/NAME                 EtcdApp: present or deleted, last number
//   revisions/NAME/NUMBER     EtcdRevision, its spec sealed
//   hosts/NAME                EtcdHost
//   rollouts/NAME/ID          EtcdRollout
//   active_rollouts/NAME      the ID of NAME's active rollout, if any
//   rollout_seq               the last rollout ID given
//   access/...                the AccessStore half (etcd_store_access.cc;
//                             the layout is in etcd_store.proto)
//   agent_ca                  the agents' CA, its key sealed
// Numbers and IDs are zero-padded to 10 digits so keys sort numerically.
//
// What SQLite does inside BEGIN IMMEDIATE is here read, decide, then one
// Txn that compares the mod revision of every key the decision read (or
// that it is still absent) and writes only if none changed. When another
// writer won in between, the whole method starts over from the reads, so
// its answer is the one SQLite would give after that writer (ABORTED for a
// stale expected_current, FAILED_PRECONDITION for a second active rollout).
// Reads of several keys read them at one etcd revision: one snapshot.
//
// Fencing: with SetLeaderFence, every write also compares that the leader
// key is still the one this controller created, so a controller that lost
// its leadership cannot write after its successor started (it gets
// FAILED_PRECONDITION "no longer the leader").
//
// It is also the AccessStore of a controller on etcd, so the new leader
// knows the tokens, enrollments and certificates of the one before it, and
// keeps the agents' CA (GetAgentCa), so it verifies the same certificates.
#ifndef PYSERVICE_CONTROLLER_STORE_ETCD_STORE_H_
#define PYSERVICE_CONTROLLER_STORE_ETCD_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/time/clock.h"
#include "controller/etcd/etcd_client.h"
#include "controller/store/access_store.h"
#include "controller/store/spec_sealer.h"
#include "controller/store/store.h"
#include "etcd/api/etcdserverpb/rpc.pb.h"

namespace pyservice::controller {

// The agents' CA as kept in etcd: certificate and private key, PEM.
struct StoredAgentCa {
  std::string certificate_pem;
  std::string key_pem;
};

class EtcdStore final : public Store, public AccessStore {
 public:
  // The prefix every key of the controller's state lives under.
  static constexpr char kDefaultPrefix[] = "/pyservice/";
  // The key the leader holds (leader_election.h) under kDefaultPrefix.
  static constexpr char kDefaultLeaderKey[] = "/pyservice/leader";

  // `client`, `clock` and `sealer` must outlive the store. Checks that the
  // cluster answers (UNAVAILABLE naming every member otherwise).
  static absl::StatusOr<std::unique_ptr<EtcdStore>> Open(etcd::EtcdClient& client,
                                                         const Clock& clock,
                                                         const SpecSealer& sealer,
                                                         std::string prefix = kDefaultPrefix);

  // From now on every write also requires that `leader_key` still has
  // `create_revision` (the leadership this controller won).
  void SetLeaderFence(const std::string& leader_key, int64_t create_revision);

  // True when nothing is stored under the prefix (migrate's target check).
  absl::StatusOr<bool> IsEmpty();

  // Store; the same contract and errors as SqliteStore (times to the
  // millisecond, ListApps with specs). UpsertHosts writes at most
  // kHostsPerTxn hosts per Txn (etcd's default --max-txn-ops is 128): each
  // host's own rules hold, but a large batch is not all-or-nothing.
  absl::StatusOr<StoredRevision> AppendRevision(const StoredRevision& revision,
                                                uint32_t expected_current) override;
  absl::StatusOr<std::optional<StoredRevision>> CurrentRevision(const std::string& app) override;
  absl::StatusOr<StoredRevision> GetRevision(const std::string& app, uint32_t number) override;
  absl::StatusOr<std::vector<StoredRevision>> ListRevisions(const std::string& app) override;
  absl::StatusOr<std::vector<StoredApp>> ListApps() override;
  absl::Status DeleteApp(const std::string& app) override;
  absl::Status UpsertHosts(const std::vector<StoredHost>& hosts) override;
  absl::StatusOr<std::vector<StoredHost>> ListHosts() override;
  absl::StatusOr<StoredRollout> CreateRollout(const StoredRollout& rollout,
                                              const std::optional<StoredRevision>& revision,
                                              uint32_t expected_current) override;
  absl::Status UpdateRollout(const StoredRollout& rollout) override;
  absl::StatusOr<StoredRollout> GetRollout(const std::string& app, uint32_t id) override;
  absl::StatusOr<std::optional<StoredRollout>> LatestRollout(const std::string& app) override;
  absl::StatusOr<std::vector<StoredRollout>> ListRollouts(const std::string& app) override;
  absl::StatusOr<std::vector<StoredRollout>> ActiveRollouts() override;

  // Writes `revision` exactly as given (number and created_at included) and
  // makes the app's record say `last_number` and `deleted_at`: migrate's
  // copy, which must keep numbers and times. Only into an empty store.
  absl::Status ImportApp(const std::string& app, absl::Time created_at,
                         std::optional<absl::Time> deleted_at,
                         const std::vector<StoredRevision>& revisions);
  // Writes `rollout` with its id; the rollout id sequence moves past it.
  absl::Status ImportRollout(const StoredRollout& rollout);

  // AccessStore; the same contract and errors as SqliteStore's. Host names
  // may not contain '/' (certificate keys are grouped by host). RevokeHost
  // revokes at most kCertificatesPerTxn certificates per Txn.
  absl::StatusOr<StoredToken> CreateToken(const StoredToken& token) override;
  absl::StatusOr<std::vector<StoredToken>> ListTokens() override;
  absl::Status RevokeToken(const std::string& name) override;
  absl::StatusOr<StoredEnrollmentToken> CreateEnrollmentToken(
      const StoredEnrollmentToken& token) override;
  absl::StatusOr<StoredEnrollmentToken> GetEnrollmentToken(uint32_t id) override;
  absl::StatusOr<StoredEnrollmentToken> EnrollHost(uint32_t id, const std::string& secret_hash,
                                                   absl::Time now,
                                                   const StoredCertificate& certificate) override;
  absl::Status AddCertificate(const StoredCertificate& certificate) override;
  absl::StatusOr<std::vector<StoredCertificate>> ListCertificates() override;
  absl::StatusOr<uint32_t> RevokeHost(const std::string& host) override;
  absl::StatusOr<std::vector<EnrolledHost>> ListEnrolledHosts() override;

  // migrate's copies of the access state, ids, serials and times kept; the
  // id sequences move past the ids written. Only into an empty store.
  absl::Status ImportToken(const StoredToken& token);
  absl::Status ImportEnrollmentToken(const StoredEnrollmentToken& token);
  absl::Status ImportEnrolledHost(const EnrolledHost& host);
  absl::Status ImportCertificate(const StoredCertificate& certificate);

  // The agents' CA, nullopt when none is stored yet. The key is opened
  // with the sealer (FAILED_PRECONDITION when this controller's secrets key
  // is not the one the cluster's CA was sealed with).
  absl::StatusOr<std::optional<StoredAgentCa>> GetAgentCa();
  // Stores `ca` unless a CA is stored already, in one create-if-absent Txn:
  // of controllers racing, one CA wins. Returns the CA stored after the
  // call, `ca` or the earlier one.
  absl::StatusOr<StoredAgentCa> CreateAgentCaIfAbsent(const StoredAgentCa& ca);

  // The key rotation (controller/secrets/rotate_key.h): every sealed value
  // (each revision's spec, the agents' CA key) opened with the sealer and
  // sealed with it again, each revision's digest recomputed by `rekey`.
  // One Txn per value, which compares the value's mod revision (a
  // concurrent change is read again, not overwritten) and that `leader_key`
  // is absent: FAILED_PRECONDITION, that value unwritten, once a controller
  // leads. Idempotent, so a re-run finishes an interrupted one. Returns how
  // many specs were sealed again.
  absl::StatusOr<size_t> ResealAll(const std::function<absl::Status(StoredRevision&)>& rekey,
                                   const std::string& leader_key);

  static constexpr size_t kHostsPerTxn = 50;
  static constexpr size_t kCertificatesPerTxn = 100;

 private:
  EtcdStore(etcd::EtcdClient& client, const Clock& clock, const SpecSealer& sealer,
            std::string prefix)
      : client_(client), clock_(clock), sealer_(sealer), prefix_(std::move(prefix)) {}

  // Commits `txn` with the leader fence added. True when it was applied;
  // false when a compare failed (someone else wrote first: start over);
  // FAILED_PRECONDITION when the fence no longer holds.
  absl::StatusOr<bool> Commit(etcdserverpb::TxnRequest txn);

  // ResealAll's step for one key: `reseal` gives the key's new value from
  // its current one; written unless the key changed meanwhile (then read
  // again) or `leader_key` exists. False when the key is absent.
  absl::StatusOr<bool> ResealKey(
      const std::string& key, const std::string& leader_key,
      const std::function<absl::StatusOr<std::string>(const mvccpb::KeyValue&)>& reseal);
  // The agents' CA's part of ResealAll; false when there is no CA.
  absl::StatusOr<bool> ResealAgentCa(const std::string& leader_key);

  etcd::EtcdClient& client_;
  const Clock& clock_;
  const SpecSealer& sealer_;
  const std::string prefix_;
  absl::Mutex mu_;
  std::optional<etcdserverpb::Compare> fence_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pyservice::controller

#endif  // PYSERVICE_CONTROLLER_STORE_ETCD_STORE_H_

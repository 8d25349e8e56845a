// A small synchronous client for the part of etcd v3's gRPC API the
// controller uses (proto/etcd/api/...): KV Range/Put/DeleteRange/Txn and
// leases. There is no etcd C++ client in Debian; the API is plain gRPC.
//
// Endpoints: one channel per cluster member. A call goes to the member that
// answered last; when it is UNAVAILABLE (down, or cut off from the quorum:
// etcd answers "no leader") the next member is tried, each at most once per
// call. Every call has a deadline (`call_timeout`), so a member that hangs
// costs one timeout, after which the next is tried too.
//
// Retrying a Txn whose answer was lost may apply it twice; every write of
// the store is a Txn that compares mod revisions, so a second apply fails
// its compare instead of writing again.
//
// Plaintext only (http:// client URLs): run etcd on loopback or a private
// network (docs/DESIGN.md, "High availability").
#ifndef PYSERVICE_CONTROLLER_ETCD_ETCD_CLIENT_H_
#define PYSERVICE_CONTROLLER_ETCD_ETCD_CLIENT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "etcd/api/etcdserverpb/rpc.grpc.pb.h"

namespace pyservice::controller::etcd {

// The endpoints of an `etcd://HOST:PORT[,HOST:PORT...]` store URL, in
// order. INVALID_ARGUMENT naming the bad part otherwise.
absl::StatusOr<std::vector<std::string>> ParseEtcdUrl(absl::string_view url);

// The end of the key range holding every key that starts with `prefix`
// (etcd's range_end: the prefix with its last byte incremented).
std::string PrefixRangeEnd(absl::string_view prefix);

class EtcdClient {
 public:
  // Opens channels to `endpoints` (HOST:PORT each; at least one). Does not
  // wait for a connection: the first call finds out.
  static absl::StatusOr<std::unique_ptr<EtcdClient>> Create(
      const std::vector<std::string>& endpoints, absl::Duration call_timeout = absl::Seconds(5));

  const std::vector<std::string>& endpoints() const { return endpoints_; }

  absl::StatusOr<etcdserverpb::RangeResponse> Range(const etcdserverpb::RangeRequest& request);
  absl::StatusOr<etcdserverpb::TxnResponse> Txn(const etcdserverpb::TxnRequest& request);
  absl::StatusOr<etcdserverpb::PutResponse> Put(const etcdserverpb::PutRequest& request);
  absl::StatusOr<etcdserverpb::DeleteRangeResponse> DeleteRange(
      const etcdserverpb::DeleteRangeRequest& request);

  // A new lease of `ttl` (whole seconds, at least 1); returns its ID.
  absl::StatusOr<int64_t> LeaseGrant(absl::Duration ttl);
  // Renews lease `id` once; returns its new TTL. NOT_FOUND when the lease
  // expired or was revoked (etcd answers TTL 0 then).
  absl::StatusOr<absl::Duration> LeaseKeepAliveOnce(int64_t id);
  absl::Status LeaseRevoke(int64_t id);

 private:
  struct Member {
    std::string endpoint;
    std::unique_ptr<etcdserverpb::KV::Stub> kv;
    std::unique_ptr<etcdserverpb::Lease::Stub> lease;
  };

  EtcdClient(std::vector<std::string> endpoints, std::vector<Member> members,
             absl::Duration call_timeout)
      : endpoints_(std::move(endpoints)), members_(std::move(members)),
        call_timeout_(call_timeout) {}

  // Runs `call` on the members in turn, from the one that answered last,
  // until one answers with anything but UNAVAILABLE or DEADLINE_EXCEEDED.
  // The error names the method and every member's answer.
  template <typename Response, typename Call>
  absl::StatusOr<Response> OnAnyMember(absl::string_view method, Call call);

  const std::vector<std::string> endpoints_;
  const std::vector<Member> members_;
  const absl::Duration call_timeout_;
  absl::Mutex mu_;
  size_t preferred_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace pyservice::controller::etcd

#endif  // PYSERVICE_CONTROLLER_ETCD_ETCD_CLIENT_H_

#include "controller/etcd/leader_election.h"

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status/status_macros.h"
#include "spdlog/spdlog.h"

namespace pyservice::controller::etcd {

LeaderElection::~LeaderElection() { Resign(); }

absl::Status CheckNoLeader(EtcdClient& client, const std::string& key) {
  etcdserverpb::RangeRequest request;
  request.set_key(key);
  ASSIGN_OR_RETURN(const etcdserverpb::RangeResponse response, client.Range(request));
  if (response.kvs().empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "the controller at ", response.kvs(0).value(), " leads the cluster (etcd key ", key,
      "): stop every controller of the cluster first (a controller killed rather than stopped "
      "holds the key until its lease expires)"));
}

absl::Status LeaderElection::Campaign(
    const std::function<void(const std::string& leader)>& on_follower,
    const std::function<bool()>& stopped) {
  std::string last_seen = "\n";  // no identity looks like this: the first is reported
  while (!stopped()) {
    // A lease that is still alive is reused; a new one after it expired
    // (an etcd outage longer than the ttl) or at the start.
    if (lease_ != 0 && !client_.LeaseKeepAliveOnce(lease_).ok()) lease_ = 0;
    if (lease_ == 0) {
      absl::StatusOr<int64_t> granted = client_.LeaseGrant(options_.ttl);
      if (granted.ok()) {
        lease_ = *granted;
      } else {
        spdlog::warn("leader election: {}", std::string(granted.status().message()));
      }
    }
    if (lease_ != 0) {
      etcdserverpb::TxnRequest txn;
      etcdserverpb::Compare* absent = txn.add_compare();
      absent->set_key(options_.key);
      absent->set_target(etcdserverpb::Compare::CREATE);
      absent->set_result(etcdserverpb::Compare::EQUAL);
      absent->set_create_revision(0);
      etcdserverpb::PutRequest* put = txn.add_success()->mutable_request_put();
      put->set_key(options_.key);
      put->set_value(options_.identity);
      put->set_lease(lease_);
      txn.add_failure()->mutable_request_range()->set_key(options_.key);
      absl::StatusOr<etcdserverpb::TxnResponse> response = client_.Txn(txn);
      if (!response.ok()) {
        spdlog::warn("leader election: {}", std::string(response.status().message()));
      } else if (response->succeeded()) {
        // The put is the Txn's only write: its revision is the key's
        // create revision.
        create_revision_ = response->header().revision();
        return absl::OkStatus();
      } else {
        std::string leader;
        const etcdserverpb::RangeResponse& range = response->responses(0).response_range();
        if (range.kvs_size() > 0) leader = range.kvs(0).value();
        if (leader != last_seen) {
          last_seen = leader;
          on_follower(leader);
        }
      }
    }
    absl::SleepFor(options_.poll_interval);
  }
  return absl::CancelledError("leader election stopped");
}

void LeaderElection::KeepLeading(std::function<void(const std::string& why)> on_lost) {
  renewer_ = std::thread([this, on_lost = std::move(on_lost)] {
    // Real time, not a Clock: this races etcd's own lease timer.
    absl::Time last_renewal_sent = absl::Now();
    const absl::Duration interval = options_.ttl / 3;
    const absl::Duration give_up_after = options_.ttl / 2;
    while (!stop_renewing_.WaitForNotificationWithTimeout(interval)) {
      const absl::Time sent = absl::Now();
      absl::StatusOr<absl::Duration> renewed = client_.LeaseKeepAliveOnce(lease_);
      if (renewed.ok()) {
        last_renewal_sent = sent;
        continue;
      }
      if (absl::IsNotFound(renewed.status())) {
        on_lost(std::string(renewed.status().message()));
        return;
      }
      if (absl::Now() - last_renewal_sent >= give_up_after) {
        on_lost(absl::StrCat("no lease renewal succeeded for ",
                             absl::FormatDuration(absl::Now() - last_renewal_sent), ": ",
                             renewed.status().message()));
        return;
      }
    }
  });
}

void LeaderElection::Resign() {
  if (resigned_) return;
  resigned_ = true;
  stop_renewing_.Notify();
  if (renewer_.joinable()) renewer_.join();
  if (lease_ != 0) (void)client_.LeaseRevoke(lease_);
}

}  // namespace pyservice::controller::etcd

// The read-decide-Txn helpers of the etcd store (etcd_store.h explains the
// scheme), shared by its Store half (etcd_store.cc) and its AccessStore
// half (etcd_store_access.cc). Internal to controller/store/.
#ifndef PYSERVICE_CONTROLLER_STORE_ETCD_TXN_H_
#define PYSERVICE_CONTROLLER_STORE_ETCD_TXN_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "controller/etcd/etcd_client.h"
#include "etcd/api/etcdserverpb/rpc.pb.h"

namespace pyservice::controller::etcd_txn {

// How often a method starts over after losing a race before it gives up
// with ABORTED. Each loss means another writer committed, so this bounds
// a storm, not a normal race.
inline constexpr int kMaxAttempts = 1000;

// `number` zero-padded to 10 digits, so keys sort numerically.
std::string Padded(uint32_t number);

absl::Time TruncateToMillis(absl::Time time);

// The number after the last '/' of `key`.
uint32_t TrailingNumber(absl::string_view key);

// One key read at some revision: its value if present.
struct Read {
  int64_t revision = 0;  // the etcd revision the read saw
  std::optional<mvccpb::KeyValue> kv;
};

// One key at `at_revision` (0: newest).
absl::StatusOr<Read> Get(etcd::EtcdClient& client, const std::string& key,
                         int64_t at_revision = 0);

// Every key under `prefix` at `at_revision`, by key (or newest first).
absl::StatusOr<etcdserverpb::RangeResponse> List(etcd::EtcdClient& client,
                                                 const std::string& prefix,
                                                 int64_t at_revision = 0, int64_t limit = 0,
                                                 bool descending = false);

// The compare that holds while `read`'s key is as it was read: same mod
// revision, or still absent.
etcdserverpb::Compare Unchanged(const std::string& key, const Read& read);

// The compare that holds while no key under `prefix` was created or
// changed after etcd revision `revision` (what a List at that revision saw
// is still all there is).
etcdserverpb::Compare PrefixUnchangedSince(const std::string& prefix, int64_t revision);

void AddPut(etcdserverpb::TxnRequest& txn, const std::string& key, const std::string& value);
void AddDelete(etcdserverpb::TxnRequest& txn, const std::string& key);

template <typename Message>
absl::StatusOr<Message> Decode(const mvccpb::KeyValue& kv) {
  Message message;
  if (!message.ParseFromString(kv.value())) {
    return absl::DataLossError(absl::StrCat("etcd key ", kv.key(), " does not decode"));
  }
  return message;
}

// Runs `attempt` until it returns a value or an error; nullopt means it
// lost a race and starts over.
template <typename T, typename Attempt>
absl::StatusOr<T> UntilNoConflict(absl::string_view what, Attempt attempt) {
  for (int i = 0; i < kMaxAttempts; ++i) {
    absl::StatusOr<std::optional<T>> result = attempt();
    if (!result.ok()) return result.status();
    if (result->has_value()) return **std::move(result);
  }
  return absl::AbortedError(
      absl::StrCat(what, ": lost ", kMaxAttempts, " races to other writers; retry"));
}

}  // namespace pyservice::controller::etcd_txn

#endif  // PYSERVICE_CONTROLLER_STORE_ETCD_TXN_H_

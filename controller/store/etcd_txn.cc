#include "controller/store/etcd_txn.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "common/status/status_macros.h"

namespace pyservice::controller::etcd_txn {

using etcdserverpb::Compare;

std::string Padded(uint32_t number) { return absl::StrFormat("%010u", number); }

absl::Time TruncateToMillis(absl::Time time) {
  return absl::FromUnixMillis(absl::ToUnixMillis(time));
}

uint32_t TrailingNumber(absl::string_view key) {
  uint32_t number = 0;
  (void)absl::SimpleAtoi(key.substr(key.rfind('/') + 1), &number);
  return number;
}

absl::StatusOr<Read> Get(etcd::EtcdClient& client, const std::string& key,
                         int64_t at_revision) {
  etcdserverpb::RangeRequest request;
  request.set_key(key);
  request.set_revision(at_revision);
  ASSIGN_OR_RETURN(etcdserverpb::RangeResponse response, client.Range(request));
  Read read;
  read.revision = response.header().revision();
  if (response.kvs_size() > 0) read.kv = response.kvs(0);
  return read;
}

absl::StatusOr<etcdserverpb::RangeResponse> List(etcd::EtcdClient& client,
                                                 const std::string& prefix,
                                                 int64_t at_revision, int64_t limit,
                                                 bool descending) {
  etcdserverpb::RangeRequest request;
  request.set_key(prefix);
  request.set_range_end(etcd::PrefixRangeEnd(prefix));
  request.set_revision(at_revision);
  request.set_limit(limit);
  if (descending) {
    request.set_sort_order(etcdserverpb::RangeRequest::DESCEND);
    request.set_sort_target(etcdserverpb::RangeRequest::KEY);
  }
  return client.Range(request);
}

Compare Unchanged(const std::string& key, const Read& read) {
  Compare compare;
  compare.set_key(key);
  compare.set_result(Compare::EQUAL);
  if (read.kv.has_value()) {
    compare.set_target(Compare::MOD);
    compare.set_mod_revision(read.kv->mod_revision());
  } else {
    compare.set_target(Compare::CREATE);
    compare.set_create_revision(0);
  }
  return compare;
}

Compare PrefixUnchangedSince(const std::string& prefix, int64_t revision) {
  // A compare over a range holds when every key in it holds; an absent key
  // is not in the range, and one created later has a later mod revision.
  Compare compare;
  compare.set_key(prefix);
  compare.set_range_end(etcd::PrefixRangeEnd(prefix));
  compare.set_result(Compare::LESS);
  compare.set_target(Compare::MOD);
  compare.set_mod_revision(revision + 1);
  return compare;
}

void AddPut(etcdserverpb::TxnRequest& txn, const std::string& key, const std::string& value) {
  etcdserverpb::RequestOp* op = txn.add_success();
  op->mutable_request_put()->set_key(key);
  op->mutable_request_put()->set_value(value);
}

void AddDelete(etcdserverpb::TxnRequest& txn, const std::string& key) {
  txn.add_success()->mutable_request_delete_range()->set_key(key);
}

}  // namespace pyservice::controller::etcd_txn

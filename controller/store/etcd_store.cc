#include "controller/store/etcd_store.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/memory/memory.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "common/status/status_macros.h"
#include "controller/etcd/leader_election.h"
#include "controller/store/etcd_txn.h"
#include "pyservice/v1/etcd_store.pb.h"

namespace pyservice::controller {

namespace {

using etcd_txn::AddDelete;
using etcd_txn::AddPut;
using etcd_txn::Decode;
using etcd_txn::Get;
using etcd_txn::List;
using etcd_txn::Padded;
using etcd_txn::Read;
using etcd_txn::TrailingNumber;
using etcd_txn::TruncateToMillis;
using etcd_txn::Unchanged;
using etcd_txn::UntilNoConflict;
using etcdserverpb::Compare;
using etcdserverpb::TxnRequest;
using mvccpb::KeyValue;

StoredRollout RolloutFrom(const std::string& app, uint32_t id, const v1::EtcdRollout& record) {
  StoredRollout rollout;
  rollout.app = app;
  rollout.id = id;
  rollout.from_revision = record.from_revision();
  rollout.to_revision = record.to_revision();
  rollout.active = record.active();
  rollout.created_at = absl::FromUnixMillis(record.created_at_ms());
  rollout.updated_at = absl::FromUnixMillis(record.updated_at_ms());
  rollout.record = record.record();
  return rollout;
}

v1::EtcdRollout RecordOf(const StoredRollout& rollout) {
  v1::EtcdRollout record;
  record.set_from_revision(rollout.from_revision);
  record.set_to_revision(rollout.to_revision);
  record.set_active(rollout.active);
  record.set_created_at_ms(absl::ToUnixMillis(rollout.created_at));
  record.set_updated_at_ms(absl::ToUnixMillis(rollout.updated_at));
  record.set_record(rollout.record);
  return record;
}


}  // namespace

// The key builders and reads need the prefix and the client: small members
// of an implementation struct, kept out of the header.
struct EtcdStoreKeys {
  const std::string& prefix;
  std::string App(absl::string_view app) const { return absl::StrCat(prefix, "apps/", app); }
  std::string Apps() const { return absl::StrCat(prefix, "apps/"); }
  std::string Revisions(absl::string_view app) const {
    return absl::StrCat(prefix, "revisions/", app, "/");
  }
  std::string Revision(absl::string_view app, uint32_t number) const {
    return absl::StrCat(Revisions(app), Padded(number));
  }
  std::string Hosts() const { return absl::StrCat(prefix, "hosts/"); }
  std::string Host(absl::string_view name) const { return absl::StrCat(Hosts(), name); }
  std::string Rollouts(absl::string_view app) const {
    return absl::StrCat(prefix, "rollouts/", app, "/");
  }
  std::string Rollout(absl::string_view app, uint32_t id) const {
    return absl::StrCat(Rollouts(app), Padded(id));
  }
  std::string ActiveRollouts() const { return absl::StrCat(prefix, "active_rollouts/"); }
  std::string ActiveRollout(absl::string_view app) const {
    return absl::StrCat(ActiveRollouts(), app);
  }
  std::string RolloutSeq() const { return absl::StrCat(prefix, "rollout_seq"); }
};


absl::StatusOr<std::unique_ptr<EtcdStore>> EtcdStore::Open(etcd::EtcdClient& client,
                                                           const Clock& clock,
                                                           const SpecSealer& sealer,
                                                           std::string prefix) {
  if (prefix.empty() || prefix.back() != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("etcd key prefix \"", prefix, "\" must end with /"));
  }
  // A read that needs the quorum: a cluster that cannot serve fails here,
  // at start, rather than at the first apply.
  RETURN_IF_ERROR(Get(client, prefix).status());
  return absl::WrapUnique(new EtcdStore(client, clock, sealer, std::move(prefix)));
}

void EtcdStore::SetLeaderFence(const std::string& leader_key, int64_t create_revision) {
  Compare compare;
  compare.set_key(leader_key);
  compare.set_result(Compare::EQUAL);
  compare.set_target(Compare::CREATE);
  compare.set_create_revision(create_revision);
  absl::MutexLock lock(&mu_);
  fence_ = compare;
}

absl::StatusOr<bool> EtcdStore::IsEmpty() {
  etcdserverpb::RangeRequest request;
  request.set_key(prefix_);
  request.set_range_end(etcd::PrefixRangeEnd(prefix_));
  request.set_count_only(true);
  ASSIGN_OR_RETURN(etcdserverpb::RangeResponse response, client_.Range(request));
  return response.count() == 0;
}

absl::StatusOr<bool> EtcdStore::Commit(TxnRequest txn) {
  std::optional<Compare> fence;
  {
    absl::MutexLock lock(&mu_);
    fence = fence_;
  }
  if (fence.has_value()) *txn.add_compare() = *fence;
  ASSIGN_OR_RETURN(etcdserverpb::TxnResponse response, client_.Txn(txn));
  if (response.succeeded()) return true;
  if (fence.has_value()) {
    ASSIGN_OR_RETURN(Read leader, Get(client_, fence->key()));
    if (!leader.kv.has_value() || leader.kv->create_revision() != fence->create_revision()) {
      return absl::FailedPreconditionError(
          "this controller is no longer the leader: its leadership in etcd ended (lease "
          "expired); nothing was written");
    }
  }
  return false;
}

absl::StatusOr<StoredRevision> EtcdStore::AppendRevision(const StoredRevision& revision,
                                                         uint32_t expected_current) {
  if (revision.app.empty()) return absl::InvalidArgumentError("app name is empty");
  const EtcdStoreKeys keys{prefix_};
  const std::string app_key = keys.App(revision.app);
  return UntilNoConflict<StoredRevision>("append revision", [&]()
                                             -> absl::StatusOr<std::optional<StoredRevision>> {
    ASSIGN_OR_RETURN(const Read app_read, Get(client_, app_key));
    v1::EtcdApp app;
    if (app_read.kv.has_value()) {
      ASSIGN_OR_RETURN(app, Decode<v1::EtcdApp>(*app_read.kv));
    }
    const bool present = app_read.kv.has_value() && app.deleted_at_ms() == 0;
    // A deleted app has no current revision, but its numbers stay taken.
    const uint32_t current = present ? app.last_number() : 0;
    if (current != expected_current) {
      return absl::AbortedError(absl::StrCat("app \"", revision.app, "\": current revision is ",
                                             current, ", expected ", expected_current));
    }
    if (app.last_number() == std::numeric_limits<uint32_t>::max()) {
      return absl::ResourceExhaustedError(
          absl::StrCat("app \"", revision.app, "\": no revision numbers left"));
    }
    StoredRevision stored = revision;
    stored.number = app.last_number() + 1;
    stored.created_at = TruncateToMillis(clock_.Now());
    if (!app_read.kv.has_value()) app.set_created_at_ms(absl::ToUnixMillis(stored.created_at));
    app.set_deleted_at_ms(0);
    app.set_last_number(stored.number);

    v1::EtcdRevision record;
    record.set_tag(stored.tag);
    record.set_digest(stored.digest);
    record.set_created_at_ms(absl::ToUnixMillis(stored.created_at));
    ASSIGN_OR_RETURN(*record.mutable_sealed_spec(),
                     sealer_.Seal(stored.app, stored.number, stored.spec));
    TxnRequest txn;
    *txn.add_compare() = Unchanged(app_key, app_read);
    AddPut(txn, app_key, app.SerializeAsString());
    AddPut(txn, keys.Revision(stored.app, stored.number), record.SerializeAsString());
    ASSIGN_OR_RETURN(const bool committed, Commit(std::move(txn)));
    if (!committed) return std::nullopt;
    return stored;
  });
}

namespace {

absl::StatusOr<StoredRevision> RevisionFrom(const std::string& app, const KeyValue& kv,
                                            const SpecSealer* open_with) {
  ASSIGN_OR_RETURN(const v1::EtcdRevision record, Decode<v1::EtcdRevision>(kv));
  StoredRevision revision;
  revision.app = app;
  revision.number = TrailingNumber(kv.key());
  revision.tag = record.tag();
  revision.digest = record.digest();
  revision.created_at = absl::FromUnixMillis(record.created_at_ms());
  if (open_with != nullptr) {
    ASSIGN_OR_RETURN(revision.spec,
                     open_with->Open(app, revision.number, record.sealed_spec()));
  }
  return revision;
}

}  // namespace

absl::StatusOr<std::optional<StoredRevision>> EtcdStore::CurrentRevision(
    const std::string& app) {
  const EtcdStoreKeys keys{prefix_};
  ASSIGN_OR_RETURN(const Read app_read, Get(client_, keys.App(app)));
  if (!app_read.kv.has_value()) return std::nullopt;
  ASSIGN_OR_RETURN(const v1::EtcdApp record, Decode<v1::EtcdApp>(*app_read.kv));
  if (record.deleted_at_ms() != 0) return std::nullopt;
  ASSIGN_OR_RETURN(const Read revision_read, Get(client_, keys.Revision(app, record.last_number()),
                                                 app_read.revision));
  if (!revision_read.kv.has_value()) {
    return absl::DataLossError(absl::StrCat("app \"", app, "\": revision ",
                                            record.last_number(), " is missing from etcd"));
  }
  ASSIGN_OR_RETURN(StoredRevision revision, RevisionFrom(app, *revision_read.kv, &sealer_));
  return revision;
}

absl::StatusOr<StoredRevision> EtcdStore::GetRevision(const std::string& app, uint32_t number) {
  ASSIGN_OR_RETURN(const Read read, Get(client_, EtcdStoreKeys{prefix_}.Revision(app, number)));
  if (!read.kv.has_value()) {
    return absl::NotFoundError(absl::StrCat("app \"", app, "\" has no revision ", number));
  }
  return RevisionFrom(app, *read.kv, &sealer_);
}

absl::StatusOr<std::vector<StoredRevision>> EtcdStore::ListRevisions(const std::string& app) {
  ASSIGN_OR_RETURN(const etcdserverpb::RangeResponse response,
                   List(client_, EtcdStoreKeys{prefix_}.Revisions(app)));
  std::vector<StoredRevision> revisions;
  for (const KeyValue& kv : response.kvs()) {
    ASSIGN_OR_RETURN(StoredRevision revision, RevisionFrom(app, kv, nullptr));
    revisions.push_back(std::move(revision));
  }
  return revisions;
}

absl::StatusOr<std::vector<StoredApp>> EtcdStore::ListApps() {
  const EtcdStoreKeys keys{prefix_};
  const std::string apps_prefix = keys.Apps();
  ASSIGN_OR_RETURN(const etcdserverpb::RangeResponse apps, List(client_, apps_prefix));
  std::vector<StoredApp> listed;
  for (const KeyValue& kv : apps.kvs()) {
    ASSIGN_OR_RETURN(const v1::EtcdApp record, Decode<v1::EtcdApp>(kv));
    if (record.deleted_at_ms() != 0) continue;
    StoredApp app;
    app.name = kv.key().substr(apps_prefix.size());
    // At the list's revision: one snapshot, like SQLite's one statement.
    ASSIGN_OR_RETURN(const Read latest, Get(client_, keys.Revision(app.name, record.last_number()),
                                            apps.header().revision()));
    if (!latest.kv.has_value()) {
      return absl::DataLossError(absl::StrCat("app \"", app.name, "\": revision ",
                                              record.last_number(), " is missing from etcd"));
    }
    ASSIGN_OR_RETURN(app.latest, RevisionFrom(app.name, *latest.kv, &sealer_));
    listed.push_back(std::move(app));
  }
  return listed;
}

absl::StatusOr<bool> EtcdStore::ResealKey(
    const std::string& key, const std::string& leader_key,
    const std::function<absl::StatusOr<std::string>(const KeyValue&)>& reseal) {
  return UntilNoConflict<bool>(
      absl::StrCat("seal ", key, " again"), [&]() -> absl::StatusOr<std::optional<bool>> {
        ASSIGN_OR_RETURN(const Read read, Get(client_, key));
        if (!read.kv.has_value()) return false;
        ASSIGN_OR_RETURN(const std::string value, reseal(*read.kv));
        TxnRequest txn;
        *txn.add_compare() = Unchanged(key, read);
        *txn.add_compare() = Unchanged(leader_key, Read{});  // no controller leads
        AddPut(txn, key, value);
        ASSIGN_OR_RETURN(const bool committed, Commit(std::move(txn)));
        if (committed) return true;
        RETURN_IF_ERROR(etcd::CheckNoLeader(client_, leader_key));
        return std::nullopt;
      });
}

absl::StatusOr<size_t> EtcdStore::ResealAll(
    const std::function<absl::Status(StoredRevision&)>& rekey, const std::string& leader_key) {
  const std::string revisions_prefix = absl::StrCat(prefix_, "revisions/");
  ASSIGN_OR_RETURN(const etcdserverpb::RangeResponse listed, List(client_, revisions_prefix));
  size_t specs = 0;
  for (const KeyValue& listed_kv : listed.kvs()) {
    // revisions/APP/NUMBER
    const absl::string_view path = absl::string_view(listed_kv.key()).substr(
        revisions_prefix.size());
    const std::string app(path.substr(0, path.rfind('/')));
    ASSIGN_OR_RETURN(const bool resealed,
                     ResealKey(listed_kv.key(), leader_key,
                               [&](const KeyValue& kv) -> absl::StatusOr<std::string> {
                                 ASSIGN_OR_RETURN(StoredRevision revision,
                                                  RevisionFrom(app, kv, &sealer_));
                                 RETURN_IF_ERROR(rekey(revision));
                                 ASSIGN_OR_RETURN(v1::EtcdRevision record,
                                                  Decode<v1::EtcdRevision>(kv));
                                 record.set_digest(revision.digest);
                                 ASSIGN_OR_RETURN(*record.mutable_sealed_spec(),
                                                  sealer_.Seal(app, revision.number,
                                                               revision.spec));
                                 return record.SerializeAsString();
                               }));
    if (resealed) ++specs;
  }
  RETURN_IF_ERROR(ResealAgentCa(leader_key).status());
  return specs;
}

absl::Status EtcdStore::DeleteApp(const std::string& app) {
  const std::string app_key = EtcdStoreKeys{prefix_}.App(app);
  return UntilNoConflict<bool>("delete app", [&]() -> absl::StatusOr<std::optional<bool>> {
           ASSIGN_OR_RETURN(const Read read, Get(client_, app_key));
           v1::EtcdApp record;
           if (read.kv.has_value()) {
             ASSIGN_OR_RETURN(record, Decode<v1::EtcdApp>(*read.kv));
           }
           if (!read.kv.has_value() || record.deleted_at_ms() != 0) {
             return absl::NotFoundError(absl::StrCat("app \"", app, "\" not found"));
           }
           record.set_deleted_at_ms(std::max<int64_t>(1, absl::ToUnixMillis(clock_.Now())));
           TxnRequest txn;
           *txn.add_compare() = Unchanged(app_key, read);
           AddPut(txn, app_key, record.SerializeAsString());
           ASSIGN_OR_RETURN(const bool committed, Commit(std::move(txn)));
           if (!committed) return std::nullopt;
           return true;
         })
      .status();
}

absl::Status EtcdStore::UpsertHosts(const std::vector<StoredHost>& hosts) {
  for (const StoredHost& host : hosts) {
    if (host.name.empty()) return absl::InvalidArgumentError("host name is empty");
  }
  const EtcdStoreKeys keys{prefix_};
  for (size_t begin = 0; begin < hosts.size(); begin += kHostsPerTxn) {
    const size_t end = std::min(hosts.size(), begin + kHostsPerTxn);
    absl::StatusOr<bool> written = UntilNoConflict<bool>(
        "upsert hosts", [&]() -> absl::StatusOr<std::optional<bool>> {
          TxnRequest txn;
          int64_t at_revision = 0;
          for (size_t i = begin; i < end; ++i) {
            const StoredHost& host = hosts[i];
            const std::string key = keys.Host(host.name);
            ASSIGN_OR_RETURN(const Read read, Get(client_, key, at_revision));
            at_revision = read.revision;
            v1::EtcdHost record;
            record.set_first_seen_ms(absl::ToUnixMillis(host.first_seen));
            if (read.kv.has_value()) {
              ASSIGN_OR_RETURN(const v1::EtcdHost stored, Decode<v1::EtcdHost>(*read.kv));
              record.set_first_seen_ms(stored.first_seen_ms());
              record.set_last_seen_ms(stored.last_seen_ms());
            }
            record.mutable_labels()->insert(host.labels.begin(), host.labels.end());
            record.set_agent_version(host.agent_version);
            // A late, stale write never moves last_seen backwards.
            record.set_last_seen_ms(
                std::max(record.last_seen_ms(), absl::ToUnixMillis(host.last_seen)));
            *txn.add_compare() = Unchanged(key, read);
            AddPut(txn, key, record.SerializeAsString());
          }
          ASSIGN_OR_RETURN(const bool committed, Commit(std::move(txn)));
          if (!committed) return std::nullopt;
          return true;
        });
    if (!written.ok()) return written.status();
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<StoredHost>> EtcdStore::ListHosts() {
  const std::string hosts_prefix = EtcdStoreKeys{prefix_}.Hosts();
  ASSIGN_OR_RETURN(const etcdserverpb::RangeResponse response, List(client_, hosts_prefix));
  std::vector<StoredHost> hosts;
  for (const KeyValue& kv : response.kvs()) {
    ASSIGN_OR_RETURN(const v1::EtcdHost record, Decode<v1::EtcdHost>(kv));
    StoredHost host;
    host.name = kv.key().substr(hosts_prefix.size());
    host.labels.insert(record.labels().begin(), record.labels().end());
    host.agent_version = record.agent_version();
    host.first_seen = absl::FromUnixMillis(record.first_seen_ms());
    host.last_seen = absl::FromUnixMillis(record.last_seen_ms());
    hosts.push_back(std::move(host));
  }
  return hosts;
}

absl::StatusOr<StoredRollout> EtcdStore::CreateRollout(
    const StoredRollout& rollout, const std::optional<StoredRevision>& revision,
    uint32_t expected_current) {
  if (rollout.app.empty()) return absl::InvalidArgumentError("app name is empty");
  if (revision.has_value() && revision->app != rollout.app) {
    return absl::InvalidArgumentError(absl::StrCat("rollout of app \"", rollout.app,
                                                   "\" given a revision of app \"",
                                                   revision->app, "\""));
  }
  const EtcdStoreKeys keys{prefix_};
  const std::string app_key = keys.App(rollout.app);
  const std::string active_key = keys.ActiveRollout(rollout.app);
  const std::string seq_key = keys.RolloutSeq();
  return UntilNoConflict<StoredRollout>("create rollout", [&]()
                                            -> absl::StatusOr<std::optional<StoredRollout>> {
    ASSIGN_OR_RETURN(const Read app_read, Get(client_, app_key));
    ASSIGN_OR_RETURN(const Read active_read, Get(client_, active_key, app_read.revision));
    ASSIGN_OR_RETURN(const Read seq_read, Get(client_, seq_key, app_read.revision));
    v1::EtcdApp app;
    if (app_read.kv.has_value()) {
      ASSIGN_OR_RETURN(app, Decode<v1::EtcdApp>(*app_read.kv));
    }
    if (!app_read.kv.has_value() || app.deleted_at_ms() != 0) {
      // Apps are created by AppendRevision (apply); a rollout needs one.
      return absl::NotFoundError(absl::StrCat("app \"", rollout.app, "\" not found"));
    }
    if (active_read.kv.has_value()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "app \"", rollout.app, "\" has an active rollout ", active_read.kv->value()));
    }
    if (app.last_number() != expected_current) {
      return absl::AbortedError(absl::StrCat("app \"", rollout.app, "\": current revision is ",
                                             app.last_number(), ", expected ",
                                             expected_current));
    }
    uint32_t last_id = 0;
    if (seq_read.kv.has_value() && !absl::SimpleAtoi(seq_read.kv->value(), &last_id)) {
      return absl::DataLossError(absl::StrCat("etcd key ", seq_key, " is not a number"));
    }
    if (last_id == std::numeric_limits<uint32_t>::max()) {
      return absl::ResourceExhaustedError("rollout ids are used up: no ids left");
    }
    StoredRollout stored = rollout;
    stored.id = last_id + 1;
    stored.created_at = TruncateToMillis(rollout.created_at);
    stored.updated_at = TruncateToMillis(rollout.updated_at);

    TxnRequest txn;
    *txn.add_compare() = Unchanged(app_key, app_read);
    *txn.add_compare() = Unchanged(active_key, active_read);
    *txn.add_compare() = Unchanged(seq_key, seq_read);
    if (revision.has_value()) {
      StoredRevision appended = *revision;
      appended.number = app.last_number() + 1;
      appended.created_at = TruncateToMillis(clock_.Now());
      app.set_last_number(appended.number);
      v1::EtcdRevision record;
      record.set_tag(appended.tag);
      record.set_digest(appended.digest);
      record.set_created_at_ms(absl::ToUnixMillis(appended.created_at));
      ASSIGN_OR_RETURN(*record.mutable_sealed_spec(),
                       sealer_.Seal(appended.app, appended.number, appended.spec));
      AddPut(txn, app_key, app.SerializeAsString());
      AddPut(txn, keys.Revision(appended.app, appended.number), record.SerializeAsString());
      stored.to_revision = appended.number;
    }
    AddPut(txn, seq_key, absl::StrCat(stored.id));
    AddPut(txn, keys.Rollout(stored.app, stored.id), RecordOf(stored).SerializeAsString());
    if (stored.active) AddPut(txn, active_key, absl::StrCat(stored.id));
    ASSIGN_OR_RETURN(const bool committed, Commit(std::move(txn)));
    if (!committed) return std::nullopt;
    return stored;
  });
}

absl::Status EtcdStore::UpdateRollout(const StoredRollout& rollout) {
  const EtcdStoreKeys keys{prefix_};
  const std::string rollout_key = keys.Rollout(rollout.app, rollout.id);
  const std::string active_key = keys.ActiveRollout(rollout.app);
  const std::string id_text = absl::StrCat(rollout.id);
  return UntilNoConflict<bool>("update rollout", [&]() -> absl::StatusOr<std::optional<bool>> {
           ASSIGN_OR_RETURN(const Read rollout_read, Get(client_, rollout_key));
           ASSIGN_OR_RETURN(const Read active_read,
                            Get(client_, active_key, rollout_read.revision));
           if (!rollout_read.kv.has_value()) {
             return absl::NotFoundError(
                 absl::StrCat("app \"", rollout.app, "\" has no rollout ", rollout.id));
           }
           const bool this_is_active =
               active_read.kv.has_value() && active_read.kv->value() == id_text;
           if (rollout.active && active_read.kv.has_value() && !this_is_active) {
             return absl::FailedPreconditionError(absl::StrCat(
                 "app \"", rollout.app, "\" has an active rollout ", active_read.kv->value()));
           }
           ASSIGN_OR_RETURN(v1::EtcdRollout record,
                            Decode<v1::EtcdRollout>(*rollout_read.kv));
           record.set_active(rollout.active);
           record.set_updated_at_ms(absl::ToUnixMillis(rollout.updated_at));
           record.set_record(rollout.record);
           TxnRequest txn;
           *txn.add_compare() = Unchanged(rollout_key, rollout_read);
           *txn.add_compare() = Unchanged(active_key, active_read);
           AddPut(txn, rollout_key, record.SerializeAsString());
           if (rollout.active && !this_is_active) AddPut(txn, active_key, id_text);
           if (!rollout.active && this_is_active) AddDelete(txn, active_key);
           ASSIGN_OR_RETURN(const bool committed, Commit(std::move(txn)));
           if (!committed) return std::nullopt;
           return true;
         })
      .status();
}

absl::StatusOr<StoredRollout> EtcdStore::GetRollout(const std::string& app, uint32_t id) {
  ASSIGN_OR_RETURN(const Read read, Get(client_, EtcdStoreKeys{prefix_}.Rollout(app, id)));
  if (!read.kv.has_value()) {
    return absl::NotFoundError(absl::StrCat("app \"", app, "\" has no rollout ", id));
  }
  ASSIGN_OR_RETURN(const v1::EtcdRollout record, Decode<v1::EtcdRollout>(*read.kv));
  return RolloutFrom(app, id, record);
}

absl::StatusOr<std::optional<StoredRollout>> EtcdStore::LatestRollout(const std::string& app) {
  ASSIGN_OR_RETURN(const etcdserverpb::RangeResponse response,
                   List(client_, EtcdStoreKeys{prefix_}.Rollouts(app), 0, /*limit=*/1,
                        /*descending=*/true));
  if (response.kvs_size() == 0) return std::nullopt;
  ASSIGN_OR_RETURN(const v1::EtcdRollout record, Decode<v1::EtcdRollout>(response.kvs(0)));
  return RolloutFrom(app, TrailingNumber(response.kvs(0).key()), record);
}

absl::StatusOr<std::vector<StoredRollout>> EtcdStore::ListRollouts(const std::string& app) {
  ASSIGN_OR_RETURN(const etcdserverpb::RangeResponse response,
                   List(client_, EtcdStoreKeys{prefix_}.Rollouts(app)));
  std::vector<StoredRollout> rollouts;
  for (const KeyValue& kv : response.kvs()) {
    ASSIGN_OR_RETURN(const v1::EtcdRollout record, Decode<v1::EtcdRollout>(kv));
    rollouts.push_back(RolloutFrom(app, TrailingNumber(kv.key()), record));
  }
  return rollouts;
}

absl::StatusOr<std::vector<StoredRollout>> EtcdStore::ActiveRollouts() {
  const EtcdStoreKeys keys{prefix_};
  const std::string active_prefix = keys.ActiveRollouts();
  ASSIGN_OR_RETURN(const etcdserverpb::RangeResponse active, List(client_, active_prefix));
  std::vector<StoredRollout> rollouts;
  for (const KeyValue& kv : active.kvs()) {
    const std::string app = kv.key().substr(active_prefix.size());
    uint32_t id = 0;
    if (!absl::SimpleAtoi(kv.value(), &id)) {
      return absl::DataLossError(absl::StrCat("etcd key ", kv.key(), " is not a rollout id"));
    }
    ASSIGN_OR_RETURN(const Read read,
                     Get(client_, keys.Rollout(app, id), active.header().revision()));
    if (!read.kv.has_value()) {
      return absl::DataLossError(absl::StrCat("etcd key ", kv.key(), " names rollout ", id,
                                              ", which is missing"));
    }
    ASSIGN_OR_RETURN(const v1::EtcdRollout record, Decode<v1::EtcdRollout>(*read.kv));
    rollouts.push_back(RolloutFrom(app, id, record));
  }
  std::sort(rollouts.begin(), rollouts.end(),
            [](const StoredRollout& a, const StoredRollout& b) { return a.id < b.id; });
  return rollouts;
}

absl::Status EtcdStore::ImportApp(const std::string& app, absl::Time created_at,
                                  std::optional<absl::Time> deleted_at,
                                  const std::vector<StoredRevision>& revisions) {
  const EtcdStoreKeys keys{prefix_};
  v1::EtcdApp record;
  record.set_created_at_ms(absl::ToUnixMillis(created_at));
  if (deleted_at.has_value()) {
    record.set_deleted_at_ms(std::max<int64_t>(1, absl::ToUnixMillis(*deleted_at)));
  }
  // One Txn per revision: a spec may be large, and etcd limits a request
  // to 1.5 MiB. The app record goes last, so a half-done import names no
  // revision that is missing.
  for (const StoredRevision& revision : revisions) {
    v1::EtcdRevision stored;
    stored.set_tag(revision.tag);
    stored.set_digest(revision.digest);
    stored.set_created_at_ms(absl::ToUnixMillis(revision.created_at));
    ASSIGN_OR_RETURN(*stored.mutable_sealed_spec(),
                     sealer_.Seal(app, revision.number, revision.spec));
    TxnRequest txn;
    AddPut(txn, keys.Revision(app, revision.number), stored.SerializeAsString());
    ASSIGN_OR_RETURN(const bool committed, Commit(std::move(txn)));
    if (!committed) return absl::AbortedError("import: the leader fence failed");
    record.set_last_number(std::max(record.last_number(), revision.number));
  }
  TxnRequest txn;
  AddPut(txn, keys.App(app), record.SerializeAsString());
  ASSIGN_OR_RETURN(const bool committed, Commit(std::move(txn)));
  if (!committed) return absl::AbortedError("import: the leader fence failed");
  return absl::OkStatus();
}

absl::Status EtcdStore::ImportRollout(const StoredRollout& rollout) {
  const EtcdStoreKeys keys{prefix_};
  const std::string seq_key = keys.RolloutSeq();
  ASSIGN_OR_RETURN(const Read seq_read, Get(client_, seq_key));
  uint32_t last_id = 0;
  if (seq_read.kv.has_value()) (void)absl::SimpleAtoi(seq_read.kv->value(), &last_id);
  TxnRequest txn;
  *txn.add_compare() = Unchanged(seq_key, seq_read);
  AddPut(txn, keys.Rollout(rollout.app, rollout.id), RecordOf(rollout).SerializeAsString());
  AddPut(txn, seq_key, absl::StrCat(std::max(last_id, rollout.id)));
  if (rollout.active) AddPut(txn, keys.ActiveRollout(rollout.app), absl::StrCat(rollout.id));
  ASSIGN_OR_RETURN(const bool committed, Commit(std::move(txn)));
  if (!committed) return absl::AbortedError("import: another writer changed the store");
  return absl::OkStatus();
}

}  // namespace pyservice::controller

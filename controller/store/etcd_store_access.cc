// EtcdStore's AccessStore half: tokens, enrollment, certificates and the
// agents' CA, with the read-decide-Txn scheme of the Store half
// (etcd_store.h) and its leader fence (Commit). Keys under PREFIX/access/,
// one pyservice.v1.Etcd* message each (etcd_store.proto).
#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/status/status_macros.h"
#include "controller/store/etcd_store.h"
#include "controller/store/etcd_txn.h"
#include "pyservice/v1/etcd_store.pb.h"

namespace pyservice::controller {

namespace {

using etcd_txn::AddPut;
using etcd_txn::Decode;
using etcd_txn::Get;
using etcd_txn::List;
using etcd_txn::Padded;
using etcd_txn::PrefixUnchangedSince;
using etcd_txn::Read;
using etcd_txn::TrailingNumber;
using etcd_txn::Unchanged;
using etcd_txn::UntilNoConflict;
using etcdserverpb::TxnRequest;
using mvccpb::KeyValue;

// The row the CA key is sealed for: no app can have this name, so the
// sealed key opens nowhere but here.
constexpr char kAgentCaSealName[] = "/agent_ca";

struct AccessKeys {
  const std::string& prefix;
  std::string Tokens() const { return absl::StrCat(prefix, "access/tokens/"); }
  std::string Token(uint32_t id) const { return absl::StrCat(Tokens(), Padded(id)); }
  std::string TokenName(absl::string_view name) const {
    return absl::StrCat(prefix, "access/token_names/", name);
  }
  std::string TokenSeq() const { return absl::StrCat(prefix, "access/token_seq"); }
  std::string EnrollmentToken(uint32_t id) const {
    return absl::StrCat(prefix, "access/enrollment_tokens/", Padded(id));
  }
  std::string EnrollmentSeq() const { return absl::StrCat(prefix, "access/enrollment_seq"); }
  std::string EnrolledHosts() const { return absl::StrCat(prefix, "access/enrolled_hosts/"); }
  std::string EnrolledHost(absl::string_view host) const {
    return absl::StrCat(EnrolledHosts(), host);
  }
  std::string Certificates() const { return absl::StrCat(prefix, "access/certificates/"); }
  std::string HostCertificates(absl::string_view host) const {
    return absl::StrCat(Certificates(), host, "/");
  }
  std::string Certificate(absl::string_view host, absl::string_view serial) const {
    return absl::StrCat(HostCertificates(host), serial);
  }
  std::string AgentCa() const { return absl::StrCat(prefix, "agent_ca"); }
};

int64_t Millis(absl::Time time) { return absl::ToUnixMillis(time); }

// Host names are key parts here: a '/' would put one host's certificates
// under another's prefix. The CA never certifies such a name anyway.
absl::Status CheckHostName(const std::string& host) {
  if (host.empty()) return absl::InvalidArgumentError("host name is empty");
  if (absl::StrContains(host, '/')) {
    return absl::InvalidArgumentError(absl::StrCat("host name \"", host, "\" contains '/'"));
  }
  return absl::OkStatus();
}

// The last id of sequence key `read`, checked to leave room for one more.
absl::StatusOr<uint32_t> NextId(const std::string& key, const Read& read, absl::string_view what) {
  uint32_t last = 0;
  if (read.kv.has_value() && !absl::SimpleAtoi(read.kv->value(), &last)) {
    return absl::DataLossError(absl::StrCat("etcd key ", key, " is not a number"));
  }
  if (last == std::numeric_limits<uint32_t>::max()) {
    return absl::ResourceExhaustedError(absl::StrCat(what, " ids are used up: no ids left"));
  }
  return last + 1;
}

v1::EtcdToken TokenRecord(const StoredToken& token) {
  v1::EtcdToken record;
  record.set_name(token.name);
  record.set_role(token.role);
  for (const std::string& app : token.apps) record.add_apps(app);
  record.set_secret_hash(token.secret_hash);
  record.set_created_at_ms(Millis(token.created_at));
  if (token.expires_at.has_value()) record.set_expires_at_ms(Millis(*token.expires_at));
  record.set_revoked(token.revoked);
  return record;
}

StoredToken TokenFrom(uint32_t id, const v1::EtcdToken& record) {
  StoredToken token;
  token.id = id;
  token.name = record.name();
  token.role = record.role();
  token.apps.assign(record.apps().begin(), record.apps().end());
  token.secret_hash = record.secret_hash();
  token.created_at = absl::FromUnixMillis(record.created_at_ms());
  if (record.expires_at_ms() != 0) token.expires_at = absl::FromUnixMillis(record.expires_at_ms());
  token.revoked = record.revoked();
  return token;
}

v1::EtcdEnrollmentToken EnrollmentRecord(const StoredEnrollmentToken& token) {
  v1::EtcdEnrollmentToken record;
  record.set_host(token.host);
  record.mutable_labels()->insert(token.labels.begin(), token.labels.end());
  record.set_secret_hash(token.secret_hash);
  record.set_created_at_ms(Millis(token.created_at));
  record.set_expires_at_ms(Millis(token.expires_at));
  if (token.used_at.has_value()) record.set_used_at_ms(Millis(*token.used_at));
  return record;
}

StoredEnrollmentToken EnrollmentFrom(uint32_t id, const v1::EtcdEnrollmentToken& record) {
  StoredEnrollmentToken token;
  token.id = id;
  token.host = record.host();
  token.labels.insert(record.labels().begin(), record.labels().end());
  token.secret_hash = record.secret_hash();
  token.created_at = absl::FromUnixMillis(record.created_at_ms());
  token.expires_at = absl::FromUnixMillis(record.expires_at_ms());
  if (record.used_at_ms() != 0) token.used_at = absl::FromUnixMillis(record.used_at_ms());
  return token;
}

v1::EtcdCertificate CertificateRecord(const StoredCertificate& certificate) {
  v1::EtcdCertificate record;
  record.set_issued_at_ms(Millis(certificate.issued_at));
  record.set_not_after_ms(Millis(certificate.not_after));
  record.set_revoked(certificate.revoked);
  return record;
}

v1::EtcdEnrolledHost HostRecord(const std::map<std::string, std::string>& labels,
                                absl::Time enrolled_at) {
  v1::EtcdEnrolledHost record;
  record.mutable_labels()->insert(labels.begin(), labels.end());
  record.set_enrolled_at_ms(Millis(enrolled_at));
  return record;
}

std::string NeverEnrolled(const std::string& host) {
  return absl::StrCat("host \"", host, "\" never enrolled");
}

}  // namespace

absl::StatusOr<StoredToken> EtcdStore::CreateToken(const StoredToken& token) {
  if (token.name.empty()) return absl::InvalidArgumentError("token name is empty");
  const AccessKeys keys{prefix_};
  const std::string name_key = keys.TokenName(token.name);
  const std::string seq_key = keys.TokenSeq();
  return UntilNoConflict<StoredToken>("create token", [&]()
                                          -> absl::StatusOr<std::optional<StoredToken>> {
    ASSIGN_OR_RETURN(const Read name_read, Get(client_, name_key));
    ASSIGN_OR_RETURN(const Read seq_read, Get(client_, seq_key, name_read.revision));
    if (name_read.kv.has_value()) {
      return absl::AlreadyExistsError(absl::StrCat(
          "a token named \"", token.name, "\" exists (names are never reused)"));
    }
    StoredToken stored = TokenFrom(0, TokenRecord(token));  // times to the millisecond
    stored.revoked = false;
    ASSIGN_OR_RETURN(stored.id, NextId(seq_key, seq_read, "token"));
    TxnRequest txn;
    *txn.add_compare() = Unchanged(name_key, name_read);
    *txn.add_compare() = Unchanged(seq_key, seq_read);
    AddPut(txn, seq_key, absl::StrCat(stored.id));
    AddPut(txn, name_key, absl::StrCat(stored.id));
    AddPut(txn, keys.Token(stored.id), TokenRecord(stored).SerializeAsString());
    ASSIGN_OR_RETURN(const bool committed, Commit(std::move(txn)));
    if (!committed) return std::nullopt;
    return stored;
  });
}

absl::StatusOr<std::vector<StoredToken>> EtcdStore::ListTokens() {
  ASSIGN_OR_RETURN(const etcdserverpb::RangeResponse response,
                   List(client_, AccessKeys{prefix_}.Tokens()));
  std::vector<StoredToken> tokens;
  for (const KeyValue& kv : response.kvs()) {
    ASSIGN_OR_RETURN(const v1::EtcdToken record, Decode<v1::EtcdToken>(kv));
    tokens.push_back(TokenFrom(TrailingNumber(kv.key()), record));
  }
  return tokens;
}

absl::Status EtcdStore::RevokeToken(const std::string& name) {
  const AccessKeys keys{prefix_};
  const std::string name_key = keys.TokenName(name);
  return UntilNoConflict<bool>("revoke token", [&]() -> absl::StatusOr<std::optional<bool>> {
           ASSIGN_OR_RETURN(const Read name_read, Get(client_, name_key));
           uint32_t id = 0;
           if (!name_read.kv.has_value()) {
             return absl::NotFoundError(absl::StrCat("no token named \"", name, "\""));
           }
           if (!absl::SimpleAtoi(name_read.kv->value(), &id)) {
             return absl::DataLossError(absl::StrCat("etcd key ", name_key, " is not an id"));
           }
           const std::string token_key = keys.Token(id);
           ASSIGN_OR_RETURN(const Read token_read, Get(client_, token_key, name_read.revision));
           if (!token_read.kv.has_value()) {
             return absl::DataLossError(
                 absl::StrCat("etcd key ", name_key, " names token ", id, ", which is missing"));
           }
           ASSIGN_OR_RETURN(v1::EtcdToken record, Decode<v1::EtcdToken>(*token_read.kv));
           if (record.revoked()) return true;
           record.set_revoked(true);
           TxnRequest txn;
           *txn.add_compare() = Unchanged(token_key, token_read);
           AddPut(txn, token_key, record.SerializeAsString());
           ASSIGN_OR_RETURN(const bool committed, Commit(std::move(txn)));
           if (!committed) return std::nullopt;
           return true;
         })
      .status();
}

absl::StatusOr<StoredEnrollmentToken> EtcdStore::CreateEnrollmentToken(
    const StoredEnrollmentToken& token) {
  if (token.host.empty()) return absl::InvalidArgumentError("enrollment host is empty");
  RETURN_IF_ERROR(CheckHostName(token.host));
  const AccessKeys keys{prefix_};
  const std::string seq_key = keys.EnrollmentSeq();
  return UntilNoConflict<StoredEnrollmentToken>(
      "create enrollment token", [&]() -> absl::StatusOr<std::optional<StoredEnrollmentToken>> {
        ASSIGN_OR_RETURN(const Read seq_read, Get(client_, seq_key));
        StoredEnrollmentToken stored = EnrollmentFrom(0, EnrollmentRecord(token));
        stored.used_at.reset();
        ASSIGN_OR_RETURN(stored.id, NextId(seq_key, seq_read, "enrollment token"));
        TxnRequest txn;
        *txn.add_compare() = Unchanged(seq_key, seq_read);
        AddPut(txn, seq_key, absl::StrCat(stored.id));
        AddPut(txn, keys.EnrollmentToken(stored.id), EnrollmentRecord(stored).SerializeAsString());
        ASSIGN_OR_RETURN(const bool committed, Commit(std::move(txn)));
        if (!committed) return std::nullopt;
        return stored;
      });
}

absl::StatusOr<StoredEnrollmentToken> EtcdStore::GetEnrollmentToken(uint32_t id) {
  ASSIGN_OR_RETURN(const Read read, Get(client_, AccessKeys{prefix_}.EnrollmentToken(id)));
  if (!read.kv.has_value()) return absl::NotFoundError(absl::StrCat("no enrollment token ", id));
  ASSIGN_OR_RETURN(const v1::EtcdEnrollmentToken record,
                   Decode<v1::EtcdEnrollmentToken>(*read.kv));
  return EnrollmentFrom(id, record);
}

absl::StatusOr<StoredEnrollmentToken> EtcdStore::EnrollHost(
    uint32_t id, const std::string& secret_hash, absl::Time now,
    const StoredCertificate& certificate) {
  const AccessKeys keys{prefix_};
  const std::string token_key = keys.EnrollmentToken(id);
  return UntilNoConflict<StoredEnrollmentToken>("enroll host", [&]()
      -> absl::StatusOr<std::optional<StoredEnrollmentToken>> {
    ASSIGN_OR_RETURN(const Read token_read, Get(client_, token_key));
    std::optional<v1::EtcdEnrollmentToken> record;
    if (token_read.kv.has_value()) {
      ASSIGN_OR_RETURN(record, Decode<v1::EtcdEnrollmentToken>(*token_read.kv));
    }
    // One message for an unknown id and a wrong secret: which ids exist is
    // nobody's business.
    if (!record.has_value() || record->secret_hash() != secret_hash) {
      return absl::UnauthenticatedError("enrollment token is not valid");
    }
    const StoredEnrollmentToken token = EnrollmentFrom(id, *record);
    RETURN_IF_ERROR(CheckEnrollmentTokenUsable(token, now, certificate));
    RETURN_IF_ERROR(CheckHostName(token.host));
    const std::string certificate_key = keys.Certificate(token.host, certificate.serial);
    ASSIGN_OR_RETURN(const Read certificate_read,
                     Get(client_, certificate_key, token_read.revision));
    if (certificate_read.kv.has_value()) {
      return absl::AlreadyExistsError(
          absl::StrCat("certificate ", certificate.serial, " is recorded already"));
    }
    record->set_used_at_ms(std::max<int64_t>(1, Millis(now)));
    StoredCertificate issued = certificate;
    issued.revoked = false;
    TxnRequest txn;
    *txn.add_compare() = Unchanged(token_key, token_read);
    *txn.add_compare() = Unchanged(certificate_key, certificate_read);
    AddPut(txn, token_key, record->SerializeAsString());
    // Replaces an earlier enrollment's labels, as SQLite's upsert does.
    AddPut(txn, keys.EnrolledHost(token.host),
           HostRecord(token.labels, now).SerializeAsString());
    AddPut(txn, certificate_key, CertificateRecord(issued).SerializeAsString());
    ASSIGN_OR_RETURN(const bool committed, Commit(std::move(txn)));
    if (!committed) return std::nullopt;
    return token;
  });
}

absl::Status EtcdStore::AddCertificate(const StoredCertificate& certificate) {
  RETURN_IF_ERROR(CheckHostName(certificate.host));
  const AccessKeys keys{prefix_};
  const std::string host_key = keys.EnrolledHost(certificate.host);
  const std::string certificate_key = keys.Certificate(certificate.host, certificate.serial);
  return UntilNoConflict<bool>("add certificate", [&]() -> absl::StatusOr<std::optional<bool>> {
           ASSIGN_OR_RETURN(const Read host_read, Get(client_, host_key));
           ASSIGN_OR_RETURN(const Read certificate_read,
                            Get(client_, certificate_key, host_read.revision));
           if (!host_read.kv.has_value()) {
             return absl::NotFoundError(NeverEnrolled(certificate.host));
           }
           if (certificate_read.kv.has_value()) {
             return absl::AlreadyExistsError(
                 absl::StrCat("certificate ", certificate.serial, " is recorded already"));
           }
           StoredCertificate issued = certificate;
           issued.revoked = false;
           TxnRequest txn;
           *txn.add_compare() = Unchanged(host_key, host_read);
           *txn.add_compare() = Unchanged(certificate_key, certificate_read);
           AddPut(txn, certificate_key, CertificateRecord(issued).SerializeAsString());
           ASSIGN_OR_RETURN(const bool committed, Commit(std::move(txn)));
           if (!committed) return std::nullopt;
           return true;
         })
      .status();
}

absl::StatusOr<std::vector<StoredCertificate>> EtcdStore::ListCertificates() {
  const std::string certificates_prefix = AccessKeys{prefix_}.Certificates();
  ASSIGN_OR_RETURN(const etcdserverpb::RangeResponse response,
                   List(client_, certificates_prefix));
  std::vector<StoredCertificate> certificates;
  for (const KeyValue& kv : response.kvs()) {
    ASSIGN_OR_RETURN(const v1::EtcdCertificate record, Decode<v1::EtcdCertificate>(kv));
    const std::string host_and_serial = kv.key().substr(certificates_prefix.size());
    const size_t slash = host_and_serial.find('/');
    StoredCertificate& certificate = certificates.emplace_back();
    certificate.host = host_and_serial.substr(0, slash);
    certificate.serial = host_and_serial.substr(slash + 1);
    certificate.issued_at = absl::FromUnixMillis(record.issued_at_ms());
    certificate.not_after = absl::FromUnixMillis(record.not_after_ms());
    certificate.revoked = record.revoked();
  }
  // Keys sort by host first; the contract is by serial.
  std::sort(certificates.begin(), certificates.end(),
            [](const StoredCertificate& a, const StoredCertificate& b) {
              return a.serial < b.serial;
            });
  return certificates;
}

absl::StatusOr<uint32_t> EtcdStore::RevokeHost(const std::string& host) {
  RETURN_IF_ERROR(CheckHostName(host));
  const AccessKeys keys{prefix_};
  const std::string host_key = keys.EnrolledHost(host);
  const std::string host_certificates = keys.HostCertificates(host);
  uint32_t revoked = 0;
  // Each round revokes up to kCertificatesPerTxn of the host's certificates
  // that are not revoked yet; the last finds none left.
  while (true) {
    ASSIGN_OR_RETURN(const uint32_t round, UntilNoConflict<uint32_t>("revoke host", [&]()
        -> absl::StatusOr<std::optional<uint32_t>> {
      ASSIGN_OR_RETURN(const Read host_read, Get(client_, host_key));
      if (!host_read.kv.has_value()) return absl::NotFoundError(NeverEnrolled(host));
      ASSIGN_OR_RETURN(const etcdserverpb::RangeResponse listed,
                       List(client_, host_certificates, host_read.revision));
      TxnRequest txn;
      *txn.add_compare() = Unchanged(host_key, host_read);
      // A certificate added meanwhile (a renewal) is revoked too, by the
      // next attempt.
      *txn.add_compare() = PrefixUnchangedSince(host_certificates, host_read.revision);
      uint32_t count = 0;
      for (const KeyValue& kv : listed.kvs()) {
        if (count == kCertificatesPerTxn) break;
        ASSIGN_OR_RETURN(v1::EtcdCertificate record, Decode<v1::EtcdCertificate>(kv));
        if (record.revoked()) continue;
        record.set_revoked(true);
        AddPut(txn, kv.key(), record.SerializeAsString());
        ++count;
      }
      if (count == 0) return 0u;
      ASSIGN_OR_RETURN(const bool committed, Commit(std::move(txn)));
      if (!committed) return std::nullopt;
      return count;
    }));
    if (round == 0) return revoked;
    revoked += round;
  }
}

absl::StatusOr<std::vector<EnrolledHost>> EtcdStore::ListEnrolledHosts() {
  const std::string hosts_prefix = AccessKeys{prefix_}.EnrolledHosts();
  ASSIGN_OR_RETURN(const etcdserverpb::RangeResponse response, List(client_, hosts_prefix));
  std::vector<EnrolledHost> hosts;
  for (const KeyValue& kv : response.kvs()) {
    ASSIGN_OR_RETURN(const v1::EtcdEnrolledHost record, Decode<v1::EtcdEnrolledHost>(kv));
    EnrolledHost& host = hosts.emplace_back();
    host.name = kv.key().substr(hosts_prefix.size());
    host.labels.insert(record.labels().begin(), record.labels().end());
    host.enrolled_at = absl::FromUnixMillis(record.enrolled_at_ms());
  }
  return hosts;
}

namespace {

// Adds to `txn` that sequence `seq_key` moves to at least `id`, compared
// unchanged since read.
absl::Status MoveSeqPast(etcd::EtcdClient& client, const std::string& seq_key, uint32_t id,
                         TxnRequest& txn) {
  ASSIGN_OR_RETURN(const Read seq_read, Get(client, seq_key));
  uint32_t last_id = 0;
  if (seq_read.kv.has_value()) (void)absl::SimpleAtoi(seq_read.kv->value(), &last_id);
  *txn.add_compare() = Unchanged(seq_key, seq_read);
  AddPut(txn, seq_key, absl::StrCat(std::max(last_id, id)));
  return absl::OkStatus();
}

}  // namespace

absl::Status EtcdStore::ImportToken(const StoredToken& token) {
  const AccessKeys keys{prefix_};
  TxnRequest txn;
  RETURN_IF_ERROR(MoveSeqPast(client_, keys.TokenSeq(), token.id, txn));
  AddPut(txn, keys.TokenName(token.name), absl::StrCat(token.id));
  AddPut(txn, keys.Token(token.id), TokenRecord(token).SerializeAsString());
  ASSIGN_OR_RETURN(const bool committed, Commit(std::move(txn)));
  if (!committed) return absl::AbortedError("import: another writer changed the store");
  return absl::OkStatus();
}

absl::Status EtcdStore::ImportEnrollmentToken(const StoredEnrollmentToken& token) {
  RETURN_IF_ERROR(CheckHostName(token.host));
  const AccessKeys keys{prefix_};
  TxnRequest txn;
  RETURN_IF_ERROR(MoveSeqPast(client_, keys.EnrollmentSeq(), token.id, txn));
  AddPut(txn, keys.EnrollmentToken(token.id), EnrollmentRecord(token).SerializeAsString());
  ASSIGN_OR_RETURN(const bool committed, Commit(std::move(txn)));
  if (!committed) return absl::AbortedError("import: another writer changed the store");
  return absl::OkStatus();
}

absl::Status EtcdStore::ImportEnrolledHost(const EnrolledHost& host) {
  RETURN_IF_ERROR(CheckHostName(host.name));
  TxnRequest txn;
  AddPut(txn, AccessKeys{prefix_}.EnrolledHost(host.name),
         HostRecord(host.labels, host.enrolled_at).SerializeAsString());
  ASSIGN_OR_RETURN(const bool committed, Commit(std::move(txn)));
  if (!committed) return absl::AbortedError("import: the leader fence failed");
  return absl::OkStatus();
}

absl::Status EtcdStore::ImportCertificate(const StoredCertificate& certificate) {
  RETURN_IF_ERROR(CheckHostName(certificate.host));
  TxnRequest txn;
  AddPut(txn, AccessKeys{prefix_}.Certificate(certificate.host, certificate.serial),
         CertificateRecord(certificate).SerializeAsString());
  ASSIGN_OR_RETURN(const bool committed, Commit(std::move(txn)));
  if (!committed) return absl::AbortedError("import: the leader fence failed");
  return absl::OkStatus();
}

namespace {

absl::StatusOr<StoredAgentCa> AgentCaFrom(const KeyValue& kv, const SpecSealer& sealer) {
  ASSIGN_OR_RETURN(const v1::EtcdAgentCa record, Decode<v1::EtcdAgentCa>(kv));
  absl::StatusOr<std::string> key_pem = sealer.Open(kAgentCaSealName, 0, record.sealed_key());
  if (!key_pem.ok()) {
    return absl::Status(key_pem.status().code(),
                        absl::StrCat("the agents' CA key in etcd (", kv.key(),
                                     "): ", key_pem.status().message()));
  }
  return StoredAgentCa{record.certificate_pem(), *std::move(key_pem)};
}

}  // namespace

absl::StatusOr<std::optional<StoredAgentCa>> EtcdStore::GetAgentCa() {
  ASSIGN_OR_RETURN(const Read read, Get(client_, AccessKeys{prefix_}.AgentCa()));
  if (!read.kv.has_value()) return std::nullopt;
  ASSIGN_OR_RETURN(StoredAgentCa ca, AgentCaFrom(*read.kv, sealer_));
  return ca;
}

absl::StatusOr<StoredAgentCa> EtcdStore::CreateAgentCaIfAbsent(const StoredAgentCa& ca) {
  const std::string ca_key = AccessKeys{prefix_}.AgentCa();
  v1::EtcdAgentCa record;
  record.set_certificate_pem(ca.certificate_pem);
  ASSIGN_OR_RETURN(*record.mutable_sealed_key(), sealer_.Seal(kAgentCaSealName, 0, ca.key_pem));
  TxnRequest txn;
  *txn.add_compare() = Unchanged(ca_key, Read{});  // absent
  AddPut(txn, ca_key, record.SerializeAsString());
  ASSIGN_OR_RETURN(const bool committed, Commit(std::move(txn)));
  if (committed) return ca;
  // Another controller stored one first: that one is the cluster's.
  ASSIGN_OR_RETURN(const Read read, Get(client_, ca_key));
  if (!read.kv.has_value()) {
    return absl::AbortedError("the agents' CA in etcd was removed while it was being created");
  }
  return AgentCaFrom(*read.kv, sealer_);
}

absl::StatusOr<bool> EtcdStore::ResealAgentCa(const std::string& leader_key) {
  return ResealKey(AccessKeys{prefix_}.AgentCa(), leader_key,
                   [&](const KeyValue& kv) -> absl::StatusOr<std::string> {
                     ASSIGN_OR_RETURN(const StoredAgentCa ca, AgentCaFrom(kv, sealer_));
                     ASSIGN_OR_RETURN(v1::EtcdAgentCa record, Decode<v1::EtcdAgentCa>(kv));
                     ASSIGN_OR_RETURN(*record.mutable_sealed_key(),
                                      sealer_.Seal(kAgentCaSealName, 0, ca.key_pem));
                     return record.SerializeAsString();
                   });
}

}  // namespace pyservice::controller

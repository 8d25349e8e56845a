// The secrets key rotation of a cluster on etcd (RotateSecretsKeyOnEtcd,
// EtcdStore::ResealAll): every spec and the agents' CA key sealed again
// with the new key, refused while a controller leads, finished by a re-run
// after an interruption. A real 3-node etcd.
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/spec/app_spec_parser.h"
#include "common/spec/canonical.h"
#include "controller/etcd/etcd_client.h"
#include "controller/etcd/leader_election.h"
#include "controller/secrets/key_file.h"
#include "controller/secrets/rotate_key.h"
#include "controller/store/aes_gcm_spec_sealer.h"
#include "controller/store/etcd_store.h"
#include "controller/store/stored_spec.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pyservice/v1/etcd_store.pb.h"
#include "tests/testing/etcd_cluster.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/temp_dir.h"

namespace pyservice::controller {
namespace {

using ::testing::HasSubstr;

constexpr char kCaKey[] = "/pyservice/agent_ca";
constexpr char kCaKeyPem[] = "-----BEGIN PRIVATE KEY----- (test) -----END PRIVATE KEY-----";

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

v1::AppSpec Spec(const std::string& app, const std::string& tag) {
  return *spec::ParseAppSpec(absl::StrCat("name: ", app, "\nrepo: file:///srv/git/", app,
                                          ".git\ntag: ", tag,
                                          "\nconfig:\n  db_password: !secret hunter2\n"),
                             "app.yaml");
}

// The revisions the fixture stores: app, revision number.
const std::vector<std::pair<std::string, uint32_t>> kRevisions = {
    {"web", 1}, {"web", 2}, {"api", 1}};

std::string RevisionKey(const std::string& app, uint32_t number) {
  return absl::StrCat("/pyservice/revisions/", app, "/", absl::StrFormat("%010u", number));
}

class RotateKeyEtcdTest : public testing::EtcdClusterTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(testing::EtcdClusterTest::SetUp());
    client_ = NewClient();
    ASSERT_NE(client_, nullptr);
  }

  std::string KeyFile() const { return dir_.Join("etc/secrets.key"); }
  std::string DataDir() const { return dir_.Join("data"); }
  SecretKeys Keys(const std::string& path) { return *LoadOrCreateSecretsKey(path, DataDir()); }

  std::unique_ptr<EtcdStore> OpenWith(const SpecSealer& sealer) {
    absl::StatusOr<std::unique_ptr<EtcdStore>> store = EtcdStore::Open(*client_, clock_, sealer);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  // kRevisions and the agents' CA, as a controller with `keys` stores them.
  void StoreAppsAndCa(const SecretKeys& keys) {
    const AesGcmSpecSealer sealer(keys, KeyFile());
    std::unique_ptr<EtcdStore> store = OpenWith(sealer);
    ASSERT_NE(store, nullptr);
    const spec::SecretFingerprinter fingerprints(keys.fingerprint);
    for (const auto& [app, number] : kRevisions) {
      StoredRevision revision;
      revision.app = app;
      revision.tag = absl::StrCat("v", number);
      revision.digest = spec::SpecDigest(Spec(app, revision.tag), fingerprints);
      revision.spec = Spec(app, revision.tag).SerializeAsString();
      absl::StatusOr<StoredRevision> stored = store->AppendRevision(revision, number - 1);
      ASSERT_TRUE(stored.ok()) << stored.status();
    }
    ASSERT_TRUE(store->CreateAgentCaIfAbsent({"CA CERT PEM", kCaKeyPem}).ok());
  }

  // Every key under /pyservice/ but the leader's, with its raw value.
  std::map<std::string, std::string> RawState() {
    etcdserverpb::RangeRequest request;
    request.set_key("/pyservice/");
    request.set_range_end(etcd::PrefixRangeEnd("/pyservice/"));
    absl::StatusOr<etcdserverpb::RangeResponse> response = client_->Range(request);
    EXPECT_TRUE(response.ok()) << response.status();
    std::map<std::string, std::string> state;
    if (!response.ok()) return state;
    for (const mvccpb::KeyValue& kv : response->kvs()) {
      if (kv.key() != EtcdStore::kDefaultLeaderKey) state[kv.key()] = kv.value();
    }
    return state;
  }

  // What a controller started now with the key file finds: every spec and
  // the CA key open, digests keyed with the new key; nothing opens with
  // `old_keys` alone.
  void ExpectEverythingOpensWithTheKeyFileOnly(const SecretKeys& old_keys) {
    const SecretKeys keys = Keys(KeyFile());
    const AesGcmSpecSealer sealer(keys, KeyFile());
    std::unique_ptr<EtcdStore> store = OpenWith(sealer);
    ASSERT_NE(store, nullptr);
    const spec::SecretFingerprinter fingerprints(keys.fingerprint);
    const AesGcmSpecSealer old_sealer(old_keys, "old.key");
    std::unique_ptr<EtcdStore> old_store = OpenWith(old_sealer);
    ASSERT_NE(old_store, nullptr);
    for (const auto& [app, number] : kRevisions) {
      const std::string tag = absl::StrCat("v", number);
      absl::StatusOr<StoredRevision> revision = store->GetRevision(app, number);
      ASSERT_TRUE(revision.ok()) << revision.status();
      EXPECT_EQ(revision->spec, Spec(app, tag).SerializeAsString());
      EXPECT_EQ(revision->digest, spec::SpecDigest(Spec(app, tag), fingerprints))
          << app << " " << number << " keyed again with the new key";
      EXPECT_EQ(old_store->GetRevision(app, number).status().code(),
                absl::StatusCode::kFailedPrecondition)
          << app << " " << number << " still opens with the old key";
    }
    absl::StatusOr<std::optional<StoredAgentCa>> ca = store->GetAgentCa();
    ASSERT_TRUE(ca.ok()) << ca.status();
    ASSERT_TRUE(ca->has_value());
    EXPECT_EQ((*ca)->key_pem, kCaKeyPem);
    EXPECT_EQ((*ca)->certificate_pem, "CA CERT PEM");
    EXPECT_EQ(old_store->GetAgentCa().status().code(), absl::StatusCode::kFailedPrecondition)
        << "the CA key still opens with the old key";
  }

  testing::FakeClock clock_;
  std::unique_ptr<etcd::EtcdClient> client_;
};

TEST_F(RotateKeyEtcdTest, SealsEverySpecAndTheCaKeyWithANewKeyAndKeepsTheOldOne) {
  const SecretKeys old_keys = Keys(KeyFile());
  const std::string old_content = Slurp(KeyFile());
  ASSERT_NO_FATAL_FAILURE(StoreAppsAndCa(old_keys));
  const std::map<std::string, std::string> before = RawState();

  absl::StatusOr<KeyRotation> rotation =
      RotateSecretsKeyOnEtcd(KeyFile(), DataDir(), *client_, clock_);
  ASSERT_TRUE(rotation.ok()) << rotation.status();
  EXPECT_EQ(rotation->specs, kRevisions.size());
  EXPECT_EQ(rotation->previous_key_file, KeyFile() + ".previous");
  EXPECT_EQ(Slurp(KeyFile() + ".previous"), old_content);
  EXPECT_NE(Slurp(KeyFile()), old_content);
  EXPECT_FALSE(std::filesystem::exists(KeyFile() + ".next"));

  const std::map<std::string, std::string> after = RawState();
  for (const auto& [app, number] : kRevisions) {
    EXPECT_NE(after.at(RevisionKey(app, number)), before.at(RevisionKey(app, number)))
        << "the sealed bytes of " << app << " " << number << " did not change";
  }
  EXPECT_NE(after.at(kCaKey), before.at(kCaKey)) << "the sealed CA key did not change";
  ASSERT_NO_FATAL_FAILURE(ExpectEverythingOpensWithTheKeyFileOnly(old_keys));
}

TEST_F(RotateKeyEtcdTest, ALeadingControllerIsNamedAndNothingIsWritten) {
  const SecretKeys old_keys = Keys(KeyFile());
  const std::string old_content = Slurp(KeyFile());
  ASSERT_NO_FATAL_FAILURE(StoreAppsAndCa(old_keys));
  const std::map<std::string, std::string> before = RawState();
  etcd::LeaderElection leader(
      *client_, {.key = EtcdStore::kDefaultLeaderKey, .identity = "controller-a:7443"});
  ASSERT_TRUE(leader.Campaign([](const std::string&) {}, [] { return false; }).ok());

  absl::StatusOr<KeyRotation> rotation =
      RotateSecretsKeyOnEtcd(KeyFile(), DataDir(), *client_, clock_);
  ASSERT_FALSE(rotation.ok());
  EXPECT_EQ(rotation.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(rotation.status().message(), HasSubstr("controller-a:7443"));
  EXPECT_THAT(rotation.status().message(), HasSubstr("stop every controller"));
  EXPECT_EQ(RawState(), before) << "etcd was written";
  EXPECT_EQ(Slurp(KeyFile()), old_content);
  EXPECT_FALSE(std::filesystem::exists(KeyFile() + ".next")) << "a new key was created";
  EXPECT_FALSE(std::filesystem::exists(KeyFile() + ".previous"));
}

// A controller that starts leading after the rotation's first check: each
// Txn requires the leader key absent, so no value is sealed again after.
TEST_F(RotateKeyEtcdTest, ResealAllWritesNothingOnceAControllerLeads) {
  const SecretKeys old_keys = Keys(KeyFile());
  ASSERT_NO_FATAL_FAILURE(StoreAppsAndCa(old_keys));
  const std::map<std::string, std::string> before = RawState();
  etcd::LeaderElection leader(
      *client_, {.key = EtcdStore::kDefaultLeaderKey, .identity = "controller-b:7443"});
  ASSERT_TRUE(leader.Campaign([](const std::string&) {}, [] { return false; }).ok());

  const SecretKeys next = Keys(KeyFile() + ".next");
  const AesGcmSpecSealer both(next, KeyFile() + ".next", old_keys);
  const spec::SecretFingerprinter fingerprints(next.fingerprint);
  std::unique_ptr<EtcdStore> store = OpenWith(both);
  ASSERT_NE(store, nullptr);
  absl::StatusOr<size_t> resealed =
      store->ResealAll(KeyDigestOf(fingerprints), EtcdStore::kDefaultLeaderKey);
  ASSERT_FALSE(resealed.ok());
  EXPECT_EQ(resealed.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(resealed.status().message(), HasSubstr("controller-b:7443"));
  EXPECT_EQ(RawState(), before) << "a value was sealed again while a controller led";
}

// A writer that changes a value between the rotation's read and its Txn:
// the Txn's mod revision compare fails, the value is read again and sealed
// again with the writer's change kept, not overwritten with the stale read.
TEST_F(RotateKeyEtcdTest, AValueChangedDuringItsResealKeepsTheChange) {
  const SecretKeys old_keys = Keys(KeyFile());
  ASSERT_NO_FATAL_FAILURE(StoreAppsAndCa(old_keys));
  const SecretKeys next = Keys(KeyFile() + ".next");
  const AesGcmSpecSealer both(next, KeyFile() + ".next", old_keys);
  const spec::SecretFingerprinter fingerprints(next.fingerprint);
  std::unique_ptr<EtcdStore> store = OpenWith(both);
  ASSERT_NE(store, nullptr);
  const std::function<absl::Status(StoredRevision&)> key_digest = KeyDigestOf(fingerprints);
  bool wrote = false;
  // Called between the read of each revision and its Txn.
  const auto rekey_racing_a_writer = [&](StoredRevision& revision) -> absl::Status {
    if (revision.app == "web" && revision.number == 2 && !wrote) {
      wrote = true;
      etcdserverpb::RangeRequest get;
      get.set_key(RevisionKey("web", 2));
      absl::StatusOr<etcdserverpb::RangeResponse> read = client_->Range(get);
      if (!read.ok() || read->kvs_size() != 1) return absl::InternalError("cannot read web 2");
      v1::EtcdRevision record;
      record.ParseFromString(read->kvs(0).value());
      record.set_tag("written-meanwhile");
      etcdserverpb::PutRequest put;
      put.set_key(RevisionKey("web", 2));
      put.set_value(record.SerializeAsString());
      if (absl::StatusOr<etcdserverpb::PutResponse> done = client_->Put(put); !done.ok()) {
        return done.status();
      }
    }
    return key_digest(revision);
  };
  absl::StatusOr<size_t> resealed =
      store->ResealAll(rekey_racing_a_writer, EtcdStore::kDefaultLeaderKey);
  ASSERT_TRUE(resealed.ok()) << resealed.status();
  ASSERT_TRUE(wrote);
  const AesGcmSpecSealer next_only(next, KeyFile() + ".next");
  std::unique_ptr<EtcdStore> next_store = OpenWith(next_only);
  ASSERT_NE(next_store, nullptr);
  absl::StatusOr<StoredRevision> web2 = next_store->GetRevision("web", 2);
  ASSERT_TRUE(web2.ok()) << web2.status();
  EXPECT_EQ(web2->tag, "written-meanwhile") << "the concurrent write was lost";
  EXPECT_EQ(web2->spec, Spec("web", "v2").SerializeAsString());
}

TEST_F(RotateKeyEtcdTest, ARerunAfterAnInterruptedRotationOpensEverything) {
  const SecretKeys old_keys = Keys(KeyFile());
  ASSERT_NO_FATAL_FAILURE(StoreAppsAndCa(old_keys));
  // Interrupted after web 1 was sealed with FILE.next, before the rest.
  const SecretKeys next = Keys(KeyFile() + ".next");
  {
    const AesGcmSpecSealer old_sealer(old_keys, KeyFile());
    const AesGcmSpecSealer next_sealer(next, KeyFile() + ".next");
    etcdserverpb::RangeRequest get;
    get.set_key(RevisionKey("web", 1));
    absl::StatusOr<etcdserverpb::RangeResponse> read = client_->Range(get);
    ASSERT_TRUE(read.ok() && read->kvs_size() == 1) << read.status();
    v1::EtcdRevision record;
    ASSERT_TRUE(record.ParseFromString(read->kvs(0).value()));
    absl::StatusOr<std::string> spec = old_sealer.Open("web", 1, record.sealed_spec());
    ASSERT_TRUE(spec.ok()) << spec.status();
    *record.mutable_sealed_spec() = *next_sealer.Seal("web", 1, *spec);
    etcdserverpb::PutRequest put;
    put.set_key(RevisionKey("web", 1));
    put.set_value(record.SerializeAsString());
    ASSERT_TRUE(client_->Put(put).ok());
    const AesGcmSpecSealer old_only(old_keys, KeyFile());
    std::unique_ptr<EtcdStore> old_store = OpenWith(old_only);
    ASSERT_NE(old_store, nullptr);
    ASSERT_EQ(old_store->GetRevision("web", 1).status().code(),
              absl::StatusCode::kFailedPrecondition)
        << "the simulated interruption left no value of the new key";
    ASSERT_TRUE(old_store->GetRevision("web", 2).ok()) << "nor one of the old";
  }
  EXPECT_THAT(InterruptedRotationHint(KeyFile()),
              HasSubstr("run `pyservice-controller rotate-secrets-key` again"));

  absl::StatusOr<KeyRotation> rotation =
      RotateSecretsKeyOnEtcd(KeyFile(), DataDir(), *client_, clock_);
  ASSERT_TRUE(rotation.ok()) << rotation.status();
  EXPECT_EQ(rotation->specs, kRevisions.size());
  EXPECT_EQ(InterruptedRotationHint(KeyFile()), "");
  ASSERT_NO_FATAL_FAILURE(ExpectEverythingOpensWithTheKeyFileOnly(old_keys));
}

}  // namespace
}  // namespace pyservice::controller

// The operator API through a real gRPC server (in-process channel) on a real
// SQLite store in a temp dir.
#include "controller/service/controller_service.h"

#include <grpcpp/grpcpp.h>
#include <sqlite3.h>

#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/spec/app_spec_parser.h"
#include "common/spec/canonical.h"
#include "controller/store/aes_gcm_spec_sealer.h"
#include "controller/store/sqlite_store.h"
#include "controller/store/stored_spec.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_secret_keys.h"

namespace pyservice::controller {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSecretKey[] =
    "-----BEGIN OPENSSH PRIVATE KEY-----\\nc2VjcmV0LWtleS1tYXRlcmlhbA==\\n"
    "-----END OPENSSH PRIVATE KEY-----\\n";

std::string HelloYaml(const std::string& tag, const std::string& extra = "") {
  return absl::StrCat("name: hello\nrepo: git@git.example.com:acme/hello.git\ntag: ", tag,
                      "\nssh_key: \"", kSecretKey, "\"\n",
                      "services:\n  - name: web\n    command: python -m hello web\n"
                      "files:\n  - dest: \"{{ app_config_dir }}/token\"\n    content: tops3cr3t\n",
                      extra);
}

class ControllerServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer(); }
  void TearDown() override { StopServer(); }

  void StartServer() {
    absl::StatusOr<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(dir_.Join("data"), clock_, sealer_, KeyDigestOf(fingerprints_));
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    absl::StatusOr<std::unique_ptr<fleet::Fleet>> fleet =
        fleet::Fleet::Create(*store_, clock_, fleet::FleetOptions());
    ASSERT_TRUE(fleet.ok()) << fleet.status();
    fleet_ = *std::move(fleet);
    service_ = std::make_unique<ControllerServiceImpl>(*store_, clock_, *fleet_, fingerprints_);
    grpc::ServerBuilder builder;
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = v1::ControllerService::NewStub(server_->InProcessChannel(grpc::ChannelArguments()));
  }

  void StopServer() {
    if (fleet_) fleet_->Shutdown();
    if (server_) server_->Shutdown();
    server_.reset();
    service_.reset();
    fleet_.reset();
    store_.reset();
  }

  grpc::Status Apply(const std::string& yaml, v1::ApplyAppResponse* response, bool dry_run = false) {
    v1::ApplyAppRequest request;
    request.set_yaml(yaml);
    request.set_source_name("hello.yaml");
    request.set_dry_run(dry_run);
    grpc::ClientContext context;
    return stub_->ApplyApp(&context, request, response);
  }

  // `pyctl describe app`'s call; fails the test if it fails.
  v1::GetAppResponse GetApp(const std::string& name = "hello") {
    v1::GetAppRequest request;
    request.set_name(name);
    v1::GetAppResponse app;
    grpc::ClientContext context;
    const grpc::Status status = stub_->GetApp(&context, request, &app);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return app;
  }

  std::vector<v1::Revision> History(const std::string& app = "hello") {
    v1::ListRevisionsRequest request;
    request.set_name(app);
    v1::ListRevisionsResponse response;
    grpc::ClientContext context;
    grpc::Status status = stub_->ListRevisions(&context, request, &response);
    if (!status.ok()) return {};
    return {response.revisions().begin(), response.revisions().end()};
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  const SecretKeys keys_ = testing::TestSecretKeys();
  const spec::SecretFingerprinter fingerprints_{keys_.fingerprint};
  const AesGcmSpecSealer sealer_{keys_, "test.key"};
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<fleet::Fleet> fleet_;
  std::unique_ptr<ControllerServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::ControllerService::Stub> stub_;
};

TEST_F(ControllerServiceTest, NewAppBecomesRevisionOne) {
  v1::ApplyAppResponse response;
  ASSERT_TRUE(Apply(HelloYaml("v1"), &response).ok());
  EXPECT_EQ(response.app(), "hello");
  EXPECT_EQ(response.revision(), 1u);
  EXPECT_TRUE(response.changed());
  EXPECT_EQ(response.previous_revision(), 0u);
  EXPECT_THAT(response.diff(), HasSubstr("+tag: \"v1\""));
  const std::vector<v1::Revision> history = History();
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].tag(), "v1");
  EXPECT_EQ(history[0].created_at(), "2023-11-14T22:13:20Z");
  EXPECT_THAT(history[0].digest(), ::testing::MatchesRegex("sha256:[0-9a-f]{64}"));
}

TEST_F(ControllerServiceTest, IdenticalSpecStoresNothing) {
  v1::ApplyAppResponse first, second;
  ASSERT_TRUE(Apply(HelloYaml("v1"), &first).ok());
  clock_.Advance(absl::Minutes(1));
  ASSERT_TRUE(Apply(HelloYaml("v1"), &second).ok());
  EXPECT_FALSE(second.changed());
  EXPECT_EQ(second.revision(), 1u);
  EXPECT_EQ(second.diff(), "");
  EXPECT_EQ(History().size(), 1u);
}

TEST_F(ControllerServiceTest, ReorderedDocumentIsTheSameSpec) {
  v1::ApplyAppResponse first, second;
  ASSERT_TRUE(Apply(HelloYaml("v1", "config: {a: 1, b: 2}\n"), &first).ok());
  const std::string reordered = absl::StrCat(
      "config: {b: 2, a: 1}\ntag: v1\nname: hello\nrepo: git@git.example.com:acme/hello.git\n",
      "files:\n  - dest: \"{{ app_config_dir }}/token\"\n    content: tops3cr3t\n",
      "services:\n  - name: web\n    command: python -m hello web\n", "ssh_key: \"", kSecretKey, "\"\n");
  ASSERT_TRUE(Apply(reordered, &second).ok());
  EXPECT_FALSE(second.changed());
}

TEST_F(ControllerServiceTest, ChangedTagBecomesRevisionTwoWithADiff) {
  v1::ApplyAppResponse first, second;
  ASSERT_TRUE(Apply(HelloYaml("v1"), &first).ok());
  ASSERT_TRUE(Apply(HelloYaml("v2"), &second).ok());
  EXPECT_TRUE(second.changed());
  EXPECT_EQ(second.revision(), 2u);
  EXPECT_EQ(second.previous_revision(), 1u);
  EXPECT_THAT(second.diff(), HasSubstr("--- hello revision 1\n+++ hello (applied)\n"));
  EXPECT_THAT(second.diff(), HasSubstr("-tag: \"v1\"\n+tag: \"v2\"\n"));
  const std::vector<v1::Revision> history = History();
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[1].number(), 2u);
  EXPECT_EQ(history[1].tag(), "v2");
  EXPECT_NE(history[0].digest(), history[1].digest());
}

TEST_F(ControllerServiceTest, DryRunShowsTheChangeAndStoresNothing) {
  v1::ApplyAppResponse first, dry;
  ASSERT_TRUE(Apply(HelloYaml("v1"), &first).ok());
  ASSERT_TRUE(Apply(HelloYaml("v2"), &dry, /*dry_run=*/true).ok());
  EXPECT_TRUE(dry.changed());
  EXPECT_EQ(dry.revision(), 2u) << "the revision it would create";
  EXPECT_THAT(dry.diff(), HasSubstr("+tag: \"v2\""));
  EXPECT_EQ(History().size(), 1u);
}

TEST_F(ControllerServiceTest, BadSpecIsRefusedWithItsLocationAndStoresNothing) {
  v1::ApplyAppResponse response;
  grpc::Status status =
      Apply("name: hello\nrepo: file:///r.git\ntag: v1\nservices:\n  - name: Web\n    command: x\n",
            &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              HasSubstr("hello.yaml:5:11: services[0].name: \"Web\" must match"));
  v1::ListAppsResponse apps;
  grpc::ClientContext context;
  ASSERT_TRUE(stub_->ListApps(&context, v1::ListAppsRequest(), &apps).ok());
  EXPECT_EQ(apps.apps_size(), 0);
  EXPECT_TRUE(History().empty());
}

TEST_F(ControllerServiceTest, PolicyViolatingSpecIsRefusedAtItsFieldAndStoresNothing) {
  v1::ApplyAppResponse response;
  for (bool dry_run : {false, true}) {
    grpc::Status status = Apply(HelloYaml("v1", "user: root\ngroup: sudo\n"), &response, dry_run);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(),
                HasSubstr("hello.yaml:11:7: user: \"root\" is not allowed: the app's units would "
                          "run as root"));
    EXPECT_THAT(status.error_message(),
                HasSubstr("hello.yaml:12:8: group: \"sudo\" is not allowed"));
  }
  v1::ListAppsResponse apps;
  grpc::ClientContext context;
  ASSERT_TRUE(stub_->ListApps(&context, v1::ListAppsRequest(), &apps).ok());
  EXPECT_EQ(apps.apps_size(), 0);
  EXPECT_TRUE(History().empty());
}

TEST_F(ControllerServiceTest, PathOutsideTheAppRootIsRefusedAtApply) {
  v1::ApplyAppResponse response;
  grpc::Status status = Apply(HelloYaml("v1", "paths:\n  app_config_dir: /etc/hello\n"), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              HasSubstr("hello.yaml:12:19: paths.app_config_dir: \"/etc/hello\" is outside the app "
                        "root (/applications/hello/...)"));
  EXPECT_TRUE(History().empty());
}

TEST_F(ControllerServiceTest, BadSpecLeavesTheCurrentRevisionAlone) {
  v1::ApplyAppResponse first, bad;
  ASSERT_TRUE(Apply(HelloYaml("v1"), &first).ok());
  EXPECT_FALSE(Apply(HelloYaml("-v2"), &bad).ok());
  const std::vector<v1::Revision> history = History();
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].tag(), "v1");
}

TEST_F(ControllerServiceTest, SecretsNeverLeaveTheController) {
  v1::ApplyAppResponse first, second;
  ASSERT_TRUE(Apply(HelloYaml("v1"), &first).ok());
  ASSERT_TRUE(Apply(HelloYaml("v1", "uv_version: \"0.5.1\"\n"), &second).ok());
  const v1::GetAppResponse app = GetApp();
  for (const std::string& text : {first.diff(), second.diff(), app.canonical_yaml(),
                                  app.revision().spec().ssh_key(),
                                  app.revision().spec().files(0).content()}) {
    EXPECT_THAT(text, Not(HasSubstr("c2VjcmV0LWtleS1tYXRlcmlhbA")));
    EXPECT_THAT(text, Not(HasSubstr("tops3cr3t")));
  }
  EXPECT_THAT(app.canonical_yaml(), HasSubstr("ssh_key: \"<secret, "));
  EXPECT_EQ(app.revision().number(), 2u);
}

TEST_F(ControllerServiceTest, ConfigSecretsAndRepoTokensNeverLeaveTheControllerEither) {
  const std::string repo = "repo: git@git.example.com:acme/hello.git";
  const auto yaml = [&](const std::string& password, const std::string& token) {
    return absl::StrReplaceAll(
        HelloYaml("v1", absl::StrCat("config:\n  db_password: !secret \"", password, "\"\n")),
        {{repo, absl::StrCat("repo: https://deploy:", token, "@git.example.com/acme/hello.git")}});
  };
  v1::ApplyAppResponse first, second;
  ASSERT_TRUE(Apply(yaml("hunter2", "t0ken1"), &first).ok());
  ASSERT_TRUE(Apply(yaml("hunter3", "t0ken2"), &second).ok());
  EXPECT_TRUE(second.changed());
  const v1::GetAppResponse app = GetApp();
  for (const std::string& text : {first.diff(), second.diff(), app.canonical_yaml(),
                                  app.revision().spec().config_yaml(),
                                  app.revision().spec().repo()}) {
    EXPECT_THAT(text, Not(HasSubstr("hunter"))) << text;
    EXPECT_THAT(text, Not(HasSubstr("t0ken"))) << text;
  }
  // The change is visible, as fingerprints.
  EXPECT_THAT(second.diff(), HasSubstr("+  db_password: !secret \"<secret, 7 bytes, hmac-sha256:"));
  EXPECT_THAT(second.diff(), HasSubstr("+repo_credentials: \"<secret, 13 bytes, hmac-sha256:"));
  EXPECT_EQ(app.revision().spec().repo(), "https://***@git.example.com/acme/hello.git");
}

TEST_F(ControllerServiceTest, DigestsAreKeyed_AViewerCannotRecomputeThemFromAGuess) {
  v1::ApplyAppResponse applied;
  ASSERT_TRUE(Apply(HelloYaml("v1"), &applied).ok());
  const std::vector<v1::Revision> history = History();
  ASSERT_EQ(history.size(), 1u);
  absl::StatusOr<v1::AppSpec> spec = spec::ParseAppSpec(HelloYaml("v1"), "hello.yaml");
  ASSERT_TRUE(spec.ok());
  // What a viewer who guessed every secret right could compute: not it.
  EXPECT_NE(history[0].digest(), spec::UnkeyedSpecDigest(*spec));
  EXPECT_EQ(history[0].digest(), spec::SpecDigest(*spec, fingerprints_));
}

TEST_F(ControllerServiceTest, AStoreOfAnOlderController_IsKeyedAtStart_AReapplyChangesNothing) {
  v1::ApplyAppResponse applied;
  ASSERT_TRUE(Apply(HelloYaml("v1"), &applied).ok());
  absl::StatusOr<v1::AppSpec> spec = spec::ParseAppSpec(HelloYaml("v1"), "hello.yaml");
  ASSERT_TRUE(spec.ok());
  const std::string plaintext = store_->GetRevision("hello", 1)->spec;
  StopServer();
  // What a controller from before sealing left: the spec in plaintext, the
  // digest unkeyed, schema version 3.
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(dir_.Join("data/pyservice.db").c_str(), &db), SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "UPDATE revisions SET spec = ?1, digest = ?2", -1, &stmt,
                                 nullptr),
              SQLITE_OK);
    sqlite3_bind_blob(stmt, 1, plaintext.data(), static_cast<int>(plaintext.size()),
                      SQLITE_TRANSIENT);
    const std::string unkeyed = spec::UnkeyedSpecDigest(*spec);
    sqlite3_bind_text(stmt, 2, unkeyed.data(), static_cast<int>(unkeyed.size()), SQLITE_TRANSIENT);
    EXPECT_EQ(sqlite3_step(stmt), SQLITE_DONE);
    sqlite3_finalize(stmt);
    // Version 3 had neither sealing nor the access tables of migration 4.
    EXPECT_EQ(sqlite3_exec(db,
                           "DROP TABLE certificates; DROP TABLE enrolled_hosts; "
                           "DROP TABLE enrollment_tokens; DROP TABLE tokens; "
                           "PRAGMA user_version = 3",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  StartServer();
  const std::vector<v1::Revision> history = History();
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].digest(), spec::SpecDigest(*spec, fingerprints_))
      << "no unkeyed digest is left to show";
  v1::ApplyAppResponse again;
  ASSERT_TRUE(Apply(HelloYaml("v1"), &again).ok());
  EXPECT_FALSE(again.changed()) << "the same spec, recognised after the upgrade";
  EXPECT_EQ(again.revision(), 1u);
}

TEST_F(ControllerServiceTest, RestartKeepsEveryRevision) {
  v1::ApplyAppResponse first, second, again;
  ASSERT_TRUE(Apply(HelloYaml("v1"), &first).ok());
  ASSERT_TRUE(Apply(HelloYaml("v2"), &second).ok());
  StopServer();
  StartServer();
  EXPECT_EQ(History().size(), 2u);
  ASSERT_TRUE(Apply(HelloYaml("v2"), &again).ok());
  EXPECT_FALSE(again.changed()) << "the digest survives the restart";
}

TEST_F(ControllerServiceTest, DeleteKeepsHistoryAndNumberingContinues) {
  v1::ApplyAppResponse first, second, recreated;
  ASSERT_TRUE(Apply(HelloYaml("v1"), &first).ok());
  ASSERT_TRUE(Apply(HelloYaml("v2"), &second).ok());
  {
    v1::DeleteAppRequest request;
    request.set_name("hello");
    v1::DeleteAppResponse response;
    grpc::ClientContext context;
    ASSERT_TRUE(stub_->DeleteApp(&context, request, &response).ok());
  }
  {
    v1::GetAppRequest request;
    request.set_name("hello");
    v1::GetAppResponse response;
    grpc::ClientContext context;
    grpc::Status status = stub_->GetApp(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_EQ(status.error_message(), "app \"hello\" not found");
  }
  EXPECT_EQ(History().size(), 2u);
  ASSERT_TRUE(Apply(HelloYaml("v2"), &recreated).ok());
  EXPECT_TRUE(recreated.changed()) << "a deleted app comes back as a new revision";
  EXPECT_EQ(recreated.revision(), 3u);
}

TEST_F(ControllerServiceTest, DeleteOfAMissingAppIsNotFound) {
  v1::DeleteAppRequest request;
  request.set_name("ghost");
  v1::DeleteAppResponse response;
  grpc::ClientContext context;
  EXPECT_EQ(stub_->DeleteApp(&context, request, &response).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(ControllerServiceTest, InvalidAppNameIsInvalidArgument) {
  v1::GetAppRequest request;
  request.set_name("../etc");
  v1::GetAppResponse response;
  grpc::ClientContext context;
  grpc::Status status = stub_->GetApp(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("app name: \"../etc\" must match"));
}

// Concurrent applies of one app: each either stores its revision (with a
// rollout, the app being present) or is refused because another's rollout
// is still active; numbers are never reused and never skipped.
TEST_F(ControllerServiceTest, ConcurrentAppliesNeverInterleave) {
  constexpr int kThreads = 8;
  constexpr int kAppliesPerThread = 5;
  std::vector<std::thread> threads;
  std::vector<std::vector<uint32_t>> revisions(kThreads);
  std::atomic<int> refused{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kAppliesPerThread; ++i) {
        v1::ApplyAppResponse response;
        grpc::Status status = Apply(HelloYaml(absl::StrCat("t", t, "-", i)), &response);
        if (status.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
          EXPECT_THAT(status.error_message(), ::testing::HasSubstr("has an active rollout"));
          ++refused;
          continue;
        }
        ASSERT_TRUE(status.ok()) << status.error_message();
        ASSERT_TRUE(response.changed());
        revisions[t].push_back(response.revision());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::set<uint32_t> all;
  size_t stored = 0;
  for (const auto& per_thread : revisions) {
    all.insert(per_thread.begin(), per_thread.end());
    stored += per_thread.size();
  }
  EXPECT_EQ(all.size(), stored) << "a number was reused";
  EXPECT_EQ(stored + refused, static_cast<size_t>(kThreads * kAppliesPerThread));
  const std::vector<v1::Revision> history = History();
  ASSERT_EQ(history.size(), stored);
  for (size_t i = 0; i < history.size(); ++i) EXPECT_EQ(history[i].number(), i + 1);
}

}  // namespace
}  // namespace pyservice::controller

#include "controller/store/sqlite_store.h"

#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <latch>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "controller/store/aes_gcm_spec_sealer.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/sqlite_query.h"
#include "tests/testing/store_revisions.h"
#include "tests/testing/test_secret_keys.h"

namespace pyservice::controller {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

// A fresh temp dir per test; the store's data dir is a not-yet-existing
// child of it, so every Open in a test also exercises creating it.
class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sqlite_store_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    tmp_dir_ = tmpl;
    data_dir_ = tmp_dir_ + "/data";
    db_path_ = data_dir_ + "/" + SqliteStore::kDatabaseFileName;
  }

  void TearDown() override { std::filesystem::remove_all(tmp_dir_); }

  std::unique_ptr<SqliteStore> OpenStore() {
    absl::StatusOr<std::unique_ptr<SqliteStore>> store =
        SqliteStore::Open(data_dir_, clock_, sealer_);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(*store) : nullptr;
  }

  // Runs a one-value query on the database file through a connection of its
  // own, to see what is on disk rather than what the store reports.
  std::string QueryFile(const std::string& sql) {
    return testing::QuerySqliteFile(db_path_, sql);
  }

  void ExecOnFile(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(db_path_.c_str(), &db), SQLITE_OK);
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr),
              SQLITE_OK)
        << sqlite3_errmsg(db);
    sqlite3_close(db);
  }

  testing::FakeClock clock_;
  const SecretKeys keys_ = testing::TestSecretKeys();
  const AesGcmSpecSealer sealer_{keys_, "test.key"};
  std::string tmp_dir_;
  std::string data_dir_;
  std::string db_path_;
};

TEST_F(SqliteStoreTest, Open_CreatesDataDirWithMode0700) {
  std::unique_ptr<SqliteStore> store = OpenStore();
  ASSERT_NE(store, nullptr);
  struct stat st;
  ASSERT_EQ(stat(data_dir_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  EXPECT_TRUE(std::filesystem::exists(db_path_));
}

TEST_F(SqliteStoreTest, Open_UsesExistingDataDir) {
  ASSERT_EQ(mkdir(data_dir_.c_str(), 0750), 0);
  EXPECT_NE(OpenStore(), nullptr);
}

TEST_F(SqliteStoreTest, Open_FailsWhenDataDirIsAFile) {
  std::ofstream(data_dir_) << "not a dir";
  absl::StatusOr<std::unique_ptr<SqliteStore>> store =
      SqliteStore::Open(data_dir_, clock_, sealer_);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(SqliteStoreTest, Open_CreatesMissingParents) {
  absl::StatusOr<std::unique_ptr<SqliteStore>> store =
      SqliteStore::Open(tmp_dir_ + "/missing/data", clock_, sealer_);
  ASSERT_TRUE(store.ok()) << store.status();
  struct stat info;
  ASSERT_EQ(stat((tmp_dir_ + "/missing/data").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0700u);
}

TEST_F(SqliteStoreTest, Open_FailsWhenParentIsAFile) {
  std::ofstream(tmp_dir_ + "/file") << "x";
  absl::StatusOr<std::unique_ptr<SqliteStore>> store =
      SqliteStore::Open(tmp_dir_ + "/file/data", clock_, sealer_);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(SqliteStoreTest, Open_TurnsOnWalJournalMode) {
  std::unique_ptr<SqliteStore> store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AppendRevision(Rev("web", "a"), 0).ok());
  // Persistent in the file: a plain new connection sees it.
  EXPECT_EQ(QueryFile("PRAGMA journal_mode"), "wal");
  EXPECT_TRUE(std::filesystem::exists(db_path_ + "-wal"));
}

TEST_F(SqliteStoreTest, Open_SetsSchemaVersionAndTables) {
  std::unique_ptr<SqliteStore> store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(QueryFile("PRAGMA user_version"),
            absl::StrCat(SqliteStore::kSchemaVersion));
  EXPECT_EQ(QueryFile("SELECT group_concat(name, ',') FROM (SELECT name FROM "
                      "sqlite_schema WHERE type = 'table' ORDER BY name)"),
            "apps,certificates,enrolled_hosts,enrollment_tokens,hosts,revisions,"
            "rollouts,sqlite_sequence,tokens");
  store.reset();
  // Opening an up-to-date database changes nothing.
  store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(QueryFile("PRAGMA user_version"),
            absl::StrCat(SqliteStore::kSchemaVersion));
}

TEST_F(SqliteStoreTest, Open_RefusesNewerSchemaVersion) {
  ASSERT_NE(OpenStore(), nullptr);  // created, then closed
  const int newer = SqliteStore::kSchemaVersion + 1;
  ExecOnFile(absl::StrCat("PRAGMA user_version = ", newer));

  absl::StatusOr<std::unique_ptr<SqliteStore>> store =
      SqliteStore::Open(data_dir_, clock_, sealer_);
  ASSERT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition)
      << store.status();
  EXPECT_THAT(store.status().message(),
              HasSubstr(absl::StrCat("schema version ", newer, " is newer")));
  EXPECT_THAT(store.status().message(), HasSubstr(db_path_));
  EXPECT_EQ(QueryFile("PRAGMA user_version"), absl::StrCat(newer));
}

StoredHost HostRecord(const std::string& name, absl::Time first, absl::Time last,
                      std::map<std::string, std::string> labels = {}) {
  return StoredHost{name, std::move(labels), "1.0", first, last};
}

// What migration 4 (access: tokens, enrollment, certificates) added, its
// indexes going with their tables; certificates first, it references
// enrolled_hosts.
constexpr char kDropVersionFourTables[] =
    "DROP TABLE certificates; DROP TABLE enrolled_hosts; DROP TABLE enrollment_tokens; "
    "DROP TABLE tokens; ";

TEST_F(SqliteStoreTest, Open_MigratesAVersionOneDatabaseKeepingItsApps) {
  {
    std::unique_ptr<SqliteStore> store = OpenStore();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->AppendRevision(Rev("web", "a"), 0).ok());
  }
  // Back to what a version-1 controller left.
  ExecOnFile(absl::StrCat(kDropVersionFourTables,
                          "DROP TABLE rollouts; DROP TABLE hosts; PRAGMA user_version = 1"));
  std::unique_ptr<SqliteStore> store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(QueryFile("PRAGMA user_version"),
            absl::StrCat(SqliteStore::kSchemaVersion));
  EXPECT_THAT(*store->ListHosts(), IsEmpty());
  EXPECT_THAT(*store->ListApps(), SizeIs(1));
}

TEST_F(SqliteStoreTest, AppendRevision_ConcurrentProcessesLeaveNoGaps) {
  constexpr int kProcesses = 4;
  constexpr int kPerProcess = 25;
  // Children open the file concurrently before it exists, so this also
  // races the creation and migration of the schema.
  std::vector<pid_t> children;
  for (int p = 0; p < kProcesses; ++p) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      // No gtest assertions here: report through the exit code.
      testing::FakeClock clock;
      absl::StatusOr<std::unique_ptr<SqliteStore>> store =
          SqliteStore::Open(data_dir_, clock, sealer_);
      if (!store.ok()) {
        std::fprintf(stderr, "child %d: %s\n", p,
                     store.status().ToString().c_str());
        _exit(2);
      }
      for (int i = 0; i < kPerProcess; ++i) {
        absl::Status status =
            AppendWithRetry(**store, Rev("web", absl::StrCat(p, "-", i)));
        if (!status.ok()) {
          std::fprintf(stderr, "child %d: %s\n", p, status.ToString().c_str());
          _exit(3);
        }
      }
      store->reset();
      _exit(0);
    }
    children.push_back(pid);
  }
  for (pid_t child : children) {
    int wstatus = 0;
    ASSERT_EQ(waitpid(child, &wstatus, 0), child);
    EXPECT_TRUE(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0)
        << "wait status " << wstatus;
  }

  std::unique_ptr<SqliteStore> store = OpenStore();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<std::vector<StoredRevision>> revisions =
      store->ListRevisions("web");
  ASSERT_TRUE(revisions.ok()) << revisions.status();
  ASSERT_THAT(*revisions, SizeIs(kProcesses * kPerProcess));
  std::set<std::string> tags;
  for (size_t i = 0; i < revisions->size(); ++i) {
    EXPECT_EQ((*revisions)[i].number, i + 1);
    tags.insert((*revisions)[i].tag);
  }
  EXPECT_THAT(tags, SizeIs(kProcesses * kPerProcess));
}

// A rollout as the controller would pass it to CreateRollout.
StoredRollout Plan(const std::string& app, uint32_t from, uint32_t to,
                   absl::Time at, const std::string& record = "plan") {
  StoredRollout rollout;
  rollout.app = app;
  rollout.from_revision = from;
  rollout.to_revision = to;
  rollout.active = true;
  rollout.created_at = at;
  rollout.updated_at = at;
  rollout.record = record;
  return rollout;
}

TEST_F(SqliteStoreTest, CreateRollout_OneActivePerAppIsEnforcedByTheSchema) {
  std::unique_ptr<SqliteStore> store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->AppendRevision(Rev("web", "a"), 0).ok());
  ASSERT_TRUE(
      store->CreateRollout(Plan("web", 1, 1, clock_.Now()), std::nullopt, 1)
          .ok());
  // A writer that skips the store's check (an operator's sqlite3 shell).
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path_.c_str(), &db), SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(db,
                         "INSERT INTO rollouts (app, from_revision, "
                         "to_revision, active, created_at, updated_at, record)"
                         " VALUES ('web', 1, 1, 1, 0, 0, x'')",
                         nullptr, nullptr, nullptr),
            SQLITE_CONSTRAINT);
  sqlite3_close(db);
}

TEST_F(SqliteStoreTest, Open_MigratesAVersionTwoDatabaseKeepingItsData) {
  const absl::Time t = clock_.Now();
  {
    std::unique_ptr<SqliteStore> store = OpenStore();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->AppendRevision(Rev("web", "a"), 0).ok());
    ASSERT_TRUE(store->UpsertHosts({HostRecord("h1", t, t)}).ok());
  }
  // Back to what a version-2 controller left.
  ExecOnFile(absl::StrCat(kDropVersionFourTables, "DROP TABLE rollouts; PRAGMA user_version = 2"));
  EXPECT_EQ(QueryFile("SELECT COUNT(*) FROM sqlite_schema WHERE name LIKE "
                      "'rollouts%'"),
            "0");

  std::unique_ptr<SqliteStore> store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(QueryFile("PRAGMA user_version"),
            absl::StrCat(SqliteStore::kSchemaVersion));
  EXPECT_EQ(QueryFile("SELECT group_concat(name, ',') FROM (SELECT name FROM "
                      "sqlite_schema WHERE tbl_name = 'rollouts' ORDER BY "
                      "name)"),
            "rollouts,rollouts_by_app,rollouts_one_active_per_app");
  EXPECT_THAT(*store->ListApps(), SizeIs(1));
  EXPECT_THAT(*store->ListHosts(), SizeIs(1));
  absl::StatusOr<std::vector<StoredRollout>> none = store->ActiveRollouts();
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_THAT(*none, IsEmpty());
  absl::StatusOr<StoredRollout> created =
      store->CreateRollout(Plan("web", 1, 0, t), Rev("web", "b"), 1);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->id, 1u);
  EXPECT_EQ(created->to_revision, 2u);
}

TEST_F(SqliteStoreTest, Open_MigratesAVersionThreeDatabaseKeepingItsData) {
  const absl::Time t = clock_.Now();
  uint32_t rollout_id = 0;
  {
    std::unique_ptr<SqliteStore> store = OpenStore();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->AppendRevision(Rev("web", "a"), 0).ok());
    ASSERT_TRUE(store->UpsertHosts({HostRecord("h1", t, t, {{"role", "web"}})}).ok());
    absl::StatusOr<StoredRollout> created =
        store->CreateRollout(Plan("web", 1, 0, t), Rev("web", "b"), 1);
    ASSERT_TRUE(created.ok()) << created.status();
    rollout_id = created->id;
  }
  // Back to what a version-3 controller left.
  ExecOnFile(absl::StrCat(kDropVersionFourTables, "PRAGMA user_version = 3"));
  EXPECT_EQ(QueryFile("SELECT COUNT(*) FROM sqlite_schema WHERE name IN ('tokens', "
                      "'enrollment_tokens', 'enrolled_hosts', 'certificates')"),
            "0");

  std::unique_ptr<SqliteStore> store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(QueryFile("PRAGMA user_version"), absl::StrCat(SqliteStore::kSchemaVersion));
  EXPECT_EQ(QueryFile("SELECT group_concat(name, ',') FROM (SELECT name FROM "
                      "sqlite_schema WHERE tbl_name IN ('tokens', 'enrollment_tokens', "
                      "'enrolled_hosts', 'certificates') AND name NOT LIKE "
                      "'sqlite_autoindex_%' ORDER BY name)"),
            "certificates,certificates_by_host,enrolled_hosts,enrollment_tokens,tokens");
  // Everything version 3 had is still there.
  absl::StatusOr<std::vector<StoredRevision>> revisions = store->ListRevisions("web");
  ASSERT_TRUE(revisions.ok()) << revisions.status();
  EXPECT_THAT(Numbers(*revisions), ElementsAre(1u, 2u));
  absl::StatusOr<std::vector<StoredHost>> hosts = store->ListHosts();
  ASSERT_TRUE(hosts.ok()) << hosts.status();
  ASSERT_THAT(*hosts, SizeIs(1));
  EXPECT_EQ((*hosts)[0].labels, (std::map<std::string, std::string>{{"role", "web"}}));
  absl::StatusOr<std::vector<StoredRollout>> active = store->ActiveRollouts();
  ASSERT_TRUE(active.ok()) << active.status();
  ASSERT_THAT(*active, SizeIs(1));
  EXPECT_EQ((*active)[0].id, rollout_id);
  EXPECT_EQ((*active)[0].to_revision, 2u);
  // And the new tables work, empty.
  absl::StatusOr<std::vector<StoredToken>> tokens = store->ListTokens();
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  EXPECT_THAT(*tokens, IsEmpty());
  StoredToken token;
  token.name = "first";
  token.role = 1;
  token.secret_hash = std::string(64, 'a');
  token.created_at = t;
  absl::StatusOr<StoredToken> created = store->CreateToken(token);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->id, 1u);
  absl::StatusOr<std::vector<EnrolledHost>> enrolled = store->ListEnrolledHosts();
  ASSERT_TRUE(enrolled.ok()) << enrolled.status();
  EXPECT_THAT(*enrolled, IsEmpty());
}

}  // namespace
}  // namespace pyservice::controller

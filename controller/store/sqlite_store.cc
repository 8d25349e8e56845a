#include "controller/store/sqlite_store.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/memory/memory.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/status/status_macros.h"
#include "controller/store/sqlite_json.h"
#include "controller/store/sqlite_schema.h"
#include "controller/store/sqlite_statement.h"

namespace pyservice::controller {

namespace {

// How long a statement waits for another connection's lock before failing
// with UNAVAILABLE. Our own transactions last milliseconds; this covers a
// WAL checkpoint or an operator's sqlite3 shell holding the lock briefly,
// without holding an RPC for long. Other threads of this process queue on
// the store's mutex meanwhile.
constexpr int kBusyTimeoutMs = 5000;

struct SqliteCloser {
  // close_v2 rather than close: it cannot fail on a forgotten statement.
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using SqliteHandle = std::unique_ptr<sqlite3, SqliteCloser>;

// strerror() is not thread-safe; the error_code message is.
std::string ErrnoMessage(int err) {
  return std::error_code(err, std::generic_category()).message();
}

// An existing directory is used as it is: its mode is the operator's choice.
absl::Status EnsureDataDir(const std::string& dir) {
  if (dir.empty()) return absl::InvalidArgumentError("data dir is empty");
  // Missing parents are created like `mkdir -p` would (INTERFACES.md:
  // "created if missing"); the data dir itself is private.
  std::error_code parents_error;
  std::filesystem::create_directories(std::filesystem::path(dir).parent_path(), parents_error);
  // 0700: the database holds every app's spec, secrets included.
  if (mkdir(dir.c_str(), 0700) == 0) return absl::OkStatus();
  const int err = errno;
  if (err != EEXIST) {
    return absl::FailedPreconditionError(
        absl::StrCat("create data dir ", dir, ": ", ErrnoMessage(err)));
  }
  struct stat st;
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("data dir ", dir, " exists and is not a directory"));
  }
  return absl::OkStatus();
}

// Runs PRAGMA journal_mode = WAL and returns the mode it reports.
//
// SQLite does not call the busy handler for this pragma: switching a new
// file to WAL upgrades a read lock to an exclusive one, and waiting there
// could deadlock, so while another process creates the same file we get
// SQLITE_BUSY at once. Retry for as long as busy_timeout would wait. Real
// time, not the store's Clock: this waits on another process's lock, like
// SQLite's own busy handler does.
absl::StatusOr<std::string> SetWalJournalMode(sqlite3* db) {
  const absl::Time deadline = absl::Now() + absl::Milliseconds(kBusyTimeoutMs);
  while (true) {
    ASSIGN_OR_RETURN(SqliteStatement stmt,
                     SqliteStatement::Prepare(db, "PRAGMA journal_mode = WAL"));
    absl::StatusOr<bool> has_row = stmt.Step();
    if (has_row.ok()) return *has_row ? stmt.ColumnText(0) : "";
    if (!absl::IsUnavailable(has_row.status()) || absl::Now() >= deadline) {
      return has_row.status();
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
}

// Per-connection settings, before the schema is touched.
absl::Status Configure(sqlite3* db) {
  // Errors then say e.g. SQLITE_BUSY_SNAPSHOT rather than SQLITE_BUSY.
  sqlite3_extended_result_codes(db, 1);
  if (int rc = sqlite3_busy_timeout(db, kBusyTimeoutMs); rc != SQLITE_OK) {
    return SqliteStatus(db, rc, "set busy timeout");
  }
  // Off by default in SQLite, per connection; keeps revisions from naming an
  // app row that does not exist.
  RETURN_IF_ERROR(SqliteExec(db, "PRAGMA foreign_keys = ON"));

  // WAL: readers on other connections (a second store, an operator's sqlite3
  // shell, a backup) and our writes never block each other, and a commit is
  // one append to the log. The mode is stored in the file; the pragma
  // answers with the mode now in effect, which is not WAL where the file
  // system cannot share the lock memory (network file systems).
  ASSIGN_OR_RETURN(const std::string mode, SetWalJournalMode(db));
  if (mode != "wal") {
    return absl::FailedPreconditionError(
        absl::StrCat(sqlite3_db_filename(db, "main"),
                     ": cannot use WAL journal mode (got \"", mode,
                     "\"); is the data dir on a network file system?"));
  }

  // Stored specs are sealed, but a row rewritten by the sealing migration
  // (or any later update) would otherwise leave its old bytes, plaintext
  // secrets included, in the file's free space.
  RETURN_IF_ERROR(SqliteExec(db, "PRAGMA secure_delete = ON"));

  // FULL, not NORMAL: in WAL mode NORMAL skips the fsync at commit, so a
  // power loss can drop the last committed revisions. The controller has
  // already answered "revision 7" by then and may have rolled it out, and the
  // next apply would then assign 7 again to a different spec: a reused
  // number, which the Store contract forbids. One fsync per apply is nothing
  // at the controller's write rate.
  return SqliteExec(db, "PRAGMA synchronous = FULL");
}

// Reads columns app, number, tag, digest, created_at[, spec] of `stmt`'s
// row; the spec (when `open_with` is given) through the sealer.
absl::StatusOr<StoredRevision> RevisionFromRow(const SqliteStatement& stmt,
                                               const SpecSealer* open_with) {
  StoredRevision revision;
  revision.app = stmt.ColumnText(0);
  revision.number = static_cast<uint32_t>(stmt.ColumnInt64(1));
  revision.tag = stmt.ColumnText(2);
  revision.digest = stmt.ColumnText(3);
  revision.created_at = absl::FromUnixMillis(stmt.ColumnInt64(4));
  if (open_with != nullptr) {
    ASSIGN_OR_RETURN(revision.spec,
                     open_with->Open(revision.app, revision.number, stmt.ColumnBlob(5)));
  }
  return revision;
}

// The columns RolloutFromRow reads, in its order.
constexpr char kRolloutColumns[] =
    "app, id, from_revision, to_revision, active, created_at, updated_at, "
    "record";

StoredRollout RolloutFromRow(const SqliteStatement& stmt) {
  StoredRollout rollout;
  rollout.app = stmt.ColumnText(0);
  rollout.id = static_cast<uint32_t>(stmt.ColumnInt64(1));
  rollout.from_revision = static_cast<uint32_t>(stmt.ColumnInt64(2));
  rollout.to_revision = static_cast<uint32_t>(stmt.ColumnInt64(3));
  rollout.active = stmt.ColumnInt64(4) != 0;
  rollout.created_at = absl::FromUnixMillis(stmt.ColumnInt64(5));
  rollout.updated_at = absl::FromUnixMillis(stmt.ColumnInt64(6));
  rollout.record = stmt.ColumnBlob(7);
  return rollout;
}

// `time` as stored, so a returned value equals what later reads return.
absl::Time TruncateToMillis(absl::Time time) {
  return absl::FromUnixMillis(absl::ToUnixMillis(time));
}

// Steps `stmt` through every row into rollouts.
absl::StatusOr<std::vector<StoredRollout>> ReadRollouts(SqliteStatement& stmt) {
  std::vector<StoredRollout> rollouts;
  while (true) {
    ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
    if (!has_row) break;
    rollouts.push_back(RolloutFromRow(stmt));
  }
  return rollouts;
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(
    const std::string& data_dir, const Clock& clock, const SpecSealer& sealer,
    const LegacyRevisionUpgrade& upgrade) {
  RETURN_IF_ERROR(EnsureDataDir(data_dir));
  const std::string path = absl::StrCat(data_dir, "/", kDatabaseFileName);
  sqlite3* raw = nullptr;
  // NOMUTEX: SQLite's per-connection mutex would only repeat our mu_.
  const int rc = sqlite3_open_v2(
      path.c_str(), &raw,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
      nullptr);
  SqliteHandle db(raw);  // owned even when the open failed
  if (rc != SQLITE_OK) {
    return SqliteStatus(raw, rc, absl::StrCat("open ", path));
  }
  RETURN_IF_ERROR(Configure(db.get()));
  RETURN_IF_ERROR(MigrateSqliteSchema(db.get()));
  RETURN_IF_ERROR(CheckSealedSpecsOpen(db.get(), sealer));
  RETURN_IF_ERROR(SealPlaintextSpecs(db.get(), sealer, upgrade));
  return absl::WrapUnique(new SqliteStore(db.release(), clock, sealer));
}

SqliteStore::~SqliteStore() { SqliteCloser()(db_); }

absl::StatusOr<size_t> SqliteStore::ResealAll(const LegacyRevisionUpgrade& upgrade) {
  absl::MutexLock lock(&mu_);
  return ResealAllSpecs(db_, sealer_, upgrade);
}

absl::StatusOr<StoredRevision> SqliteStore::AppendRevision(
    const StoredRevision& revision, uint32_t expected_current) {
  absl::MutexLock lock(&mu_);
  // Held from the first read to the commit, so no other connection can
  // append between our compare and our insert. Every return before Commit()
  // rolls back.
  ASSIGN_OR_RETURN(SqliteTransaction txn,
                   SqliteTransaction::BeginImmediate(db_));
  ASSIGN_OR_RETURN(StoredRevision stored,
                   AppendRevisionInTransaction(revision, expected_current));
  RETURN_IF_ERROR(txn.Commit());
  return stored;
}

absl::StatusOr<StoredRevision> SqliteStore::AppendRevisionInTransaction(
    const StoredRevision& revision, uint32_t expected_current) {
  if (revision.app.empty()) {
    return absl::InvalidArgumentError("app name is empty");
  }
  // One row: whether the app is present (NULL: never existed, 0: deleted,
  // 1: present) and its highest revision number (NULL: none).
  ASSIGN_OR_RETURN(SqliteStatement state, SqliteStatement::Prepare(db_, R"sql(
      SELECT (SELECT deleted_at IS NULL FROM apps WHERE name = ?1),
             (SELECT MAX(number) FROM revisions WHERE app = ?1))sql"));
  state.BindText(1, revision.app);
  ASSIGN_OR_RETURN(const bool has_row, state.Step());
  if (!has_row) return absl::InternalError("app state query: no row");
  const bool present = state.ColumnInt64(0) == 1;
  const int64_t last_number = state.ColumnInt64(1);
  // A deleted app has no current revision, but its numbers stay taken.
  const int64_t current = present ? last_number : 0;
  if (current != expected_current) {
    return absl::AbortedError(absl::StrCat("app \"", revision.app,
                                           "\": current revision is ", current,
                                           ", expected ", expected_current));
  }
  if (last_number >= std::numeric_limits<uint32_t>::max()) {
    return absl::ResourceExhaustedError(
        absl::StrCat("app \"", revision.app, "\": no revision numbers left"));
  }

  StoredRevision stored = revision;
  stored.number = static_cast<uint32_t>(last_number + 1);
  // Truncated to what is stored, so this equals what reads return later.
  const int64_t now_ms = absl::ToUnixMillis(clock_.Now());
  stored.created_at = absl::FromUnixMillis(now_ms);

  // Creates the app, or un-deletes it keeping its first created_at.
  ASSIGN_OR_RETURN(SqliteStatement upsert, SqliteStatement::Prepare(db_, R"sql(
      INSERT INTO apps (name, created_at) VALUES (?1, ?2)
      ON CONFLICT (name) DO UPDATE SET deleted_at = NULL)sql"));
  upsert.BindText(1, stored.app).BindInt64(2, now_ms);
  RETURN_IF_ERROR(upsert.Run());

  ASSIGN_OR_RETURN(const std::string sealed, sealer_.Seal(stored.app, stored.number, stored.spec));
  ASSIGN_OR_RETURN(SqliteStatement insert, SqliteStatement::Prepare(db_, R"sql(
      INSERT INTO revisions (app, number, tag, digest, created_at, spec)
      VALUES (?1, ?2, ?3, ?4, ?5, ?6))sql"));
  insert.BindText(1, stored.app)
      .BindInt64(2, stored.number)
      .BindText(3, stored.tag)
      .BindText(4, stored.digest)
      .BindInt64(5, now_ms)
      .BindBlob(6, sealed);
  RETURN_IF_ERROR(insert.Run());
  return stored;
}

absl::StatusOr<std::optional<StoredRevision>> SqliteStore::CurrentRevision(
    const std::string& app) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement stmt, SqliteStatement::Prepare(db_, R"sql(
      SELECT r.app, r.number, r.tag, r.digest, r.created_at, r.spec
      FROM apps a JOIN revisions r ON r.app = a.name
      WHERE a.name = ?1 AND a.deleted_at IS NULL
      ORDER BY r.number DESC LIMIT 1)sql"));
  stmt.BindText(1, app);
  ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
  if (!has_row) return std::nullopt;
  ASSIGN_OR_RETURN(StoredRevision revision, RevisionFromRow(stmt, &sealer_));
  return revision;
}

absl::StatusOr<StoredRevision> SqliteStore::GetRevision(const std::string& app,
                                                        uint32_t number) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement stmt, SqliteStatement::Prepare(db_, R"sql(
      SELECT app, number, tag, digest, created_at, spec
      FROM revisions WHERE app = ?1 AND number = ?2)sql"));
  stmt.BindText(1, app).BindInt64(2, number);
  ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
  if (!has_row) {
    return absl::NotFoundError(
        absl::StrCat("app \"", app, "\" has no revision ", number));
  }
  return RevisionFromRow(stmt, &sealer_);
}

absl::StatusOr<std::vector<StoredRevision>> SqliteStore::ListRevisions(
    const std::string& app) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement stmt, SqliteStatement::Prepare(db_, R"sql(
      SELECT app, number, tag, digest, created_at
      FROM revisions WHERE app = ?1 ORDER BY number)sql"));
  stmt.BindText(1, app);
  std::vector<StoredRevision> revisions;
  while (true) {
    ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
    if (!has_row) break;
    ASSIGN_OR_RETURN(StoredRevision revision, RevisionFromRow(stmt, nullptr));
    revisions.push_back(std::move(revision));
  }
  return revisions;
}

absl::StatusOr<std::vector<StoredApp>> SqliteStore::ListApps() {
  absl::MutexLock lock(&mu_);
  // One statement, so one snapshot: an append committed meanwhile by another
  // connection is either wholly in the list or not at all.
  ASSIGN_OR_RETURN(SqliteStatement stmt, SqliteStatement::Prepare(db_, R"sql(
      SELECT r.app, r.number, r.tag, r.digest, r.created_at, r.spec
      FROM apps a JOIN revisions r ON r.app = a.name
      WHERE a.deleted_at IS NULL
        AND r.number = (SELECT MAX(number) FROM revisions WHERE app = a.name)
      ORDER BY a.name)sql"));
  std::vector<StoredApp> apps;
  while (true) {
    ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
    if (!has_row) break;
    StoredApp app;
    ASSIGN_OR_RETURN(app.latest, RevisionFromRow(stmt, &sealer_));
    app.name = app.latest.app;
    apps.push_back(std::move(app));
  }
  return apps;
}

absl::StatusOr<std::vector<StoredAppEntry>> SqliteStore::ListAllApps() {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement stmt, SqliteStatement::Prepare(db_, R"sql(
      SELECT name, created_at, deleted_at FROM apps ORDER BY name)sql"));
  std::vector<StoredAppEntry> apps;
  while (true) {
    ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
    if (!has_row) break;
    StoredAppEntry app;
    app.name = stmt.ColumnText(0);
    app.created_at = absl::FromUnixMillis(stmt.ColumnInt64(1));
    if (!stmt.ColumnIsNull(2)) app.deleted_at = absl::FromUnixMillis(stmt.ColumnInt64(2));
    apps.push_back(std::move(app));
  }
  return apps;
}

absl::Status SqliteStore::DeleteApp(const std::string& app) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement stmt, SqliteStatement::Prepare(db_, R"sql(
      UPDATE apps SET deleted_at = ?2
      WHERE name = ?1 AND deleted_at IS NULL)sql"));
  stmt.BindText(1, app).BindInt64(2, absl::ToUnixMillis(clock_.Now()));
  RETURN_IF_ERROR(stmt.Run());
  // A single statement is atomic on its own; changes() is read under mu_, so
  // it is this statement's count.
  if (sqlite3_changes(db_) == 0) {
    return absl::NotFoundError(absl::StrCat("app \"", app, "\" not found"));
  }
  return absl::OkStatus();
}

absl::Status SqliteStore::UpsertHosts(const std::vector<StoredHost>& hosts) {
  for (const StoredHost& host : hosts) {
    if (host.name.empty()) return absl::InvalidArgumentError("host name is empty");
  }
  if (hosts.empty()) return absl::OkStatus();
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteTransaction txn, SqliteTransaction::BeginImmediate(db_));
  ASSIGN_OR_RETURN(SqliteStatement upsert, SqliteStatement::Prepare(db_, R"sql(
      INSERT INTO hosts (name, labels, agent_version, first_seen, last_seen)
      VALUES (?1, ?2, ?3, ?4, ?5)
      ON CONFLICT (name) DO UPDATE SET
        labels = excluded.labels,
        agent_version = excluded.agent_version,
        last_seen = MAX(last_seen, excluded.last_seen))sql"));
  for (const StoredHost& host : hosts) {
    upsert.Reset();
    upsert.BindText(1, host.name)
        .BindText(2, LabelsToJson(host.labels))
        .BindText(3, host.agent_version)
        .BindInt64(4, absl::ToUnixMillis(host.first_seen))
        .BindInt64(5, absl::ToUnixMillis(host.last_seen));
    RETURN_IF_ERROR(upsert.Run());
  }
  return txn.Commit();
}

absl::StatusOr<std::vector<StoredHost>> SqliteStore::ListHosts() {
  absl::MutexLock lock(&mu_);
  // One row per label (one row with NULL key for a host without labels),
  // ordered so each host's rows are adjacent.
  ASSIGN_OR_RETURN(SqliteStatement stmt, SqliteStatement::Prepare(db_, R"sql(
      SELECT h.name, h.agent_version, h.first_seen, h.last_seen,
             l.key, l.value
      FROM hosts h LEFT JOIN json_each(h.labels) l
      ORDER BY h.name, l.key)sql"));
  std::vector<StoredHost> hosts;
  while (true) {
    ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
    if (!has_row) break;
    std::string name = stmt.ColumnText(0);
    if (hosts.empty() || hosts.back().name != name) {
      StoredHost host;
      host.name = std::move(name);
      host.agent_version = stmt.ColumnText(1);
      host.first_seen = absl::FromUnixMillis(stmt.ColumnInt64(2));
      host.last_seen = absl::FromUnixMillis(stmt.ColumnInt64(3));
      hosts.push_back(std::move(host));
    }
    if (!stmt.ColumnIsNull(4)) {
      hosts.back().labels[stmt.ColumnText(4)] = stmt.ColumnText(5);
    }
  }
  return hosts;
}

absl::Status SqliteStore::CheckNoOtherActiveRollout(const std::string& app,
                                                     uint32_t except_id) {
  ASSIGN_OR_RETURN(SqliteStatement stmt, SqliteStatement::Prepare(db_, R"sql(
      SELECT id FROM rollouts
      WHERE app = ?1 AND active = 1 AND id != ?2)sql"));
  stmt.BindText(1, app).BindInt64(2, except_id);
  ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
  if (!has_row) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("app \"", app, "\" has an active rollout ",
                   stmt.ColumnInt64(0)));
}

absl::StatusOr<StoredRollout> SqliteStore::CreateRollout(
    const StoredRollout& rollout,
    const std::optional<StoredRevision>& revision, uint32_t expected_current) {
  if (rollout.app.empty()) {
    return absl::InvalidArgumentError("app name is empty");
  }
  if (revision.has_value() && revision->app != rollout.app) {
    return absl::InvalidArgumentError(
        absl::StrCat("rollout of app \"", rollout.app,
                     "\" given a revision of app \"", revision->app, "\""));
  }
  absl::MutexLock lock(&mu_);
  // Every check, the append and the insert under one write lock: nothing is
  // written unless all of it is. Every return before Commit() rolls back.
  ASSIGN_OR_RETURN(SqliteTransaction txn,
                   SqliteTransaction::BeginImmediate(db_));

  // Whether the app is present (NULL: never existed, 0: deleted, 1: present)
  // and its current revision number (NULL: none).
  ASSIGN_OR_RETURN(SqliteStatement state, SqliteStatement::Prepare(db_, R"sql(
      SELECT (SELECT deleted_at IS NULL FROM apps WHERE name = ?1),
             (SELECT MAX(number) FROM revisions WHERE app = ?1))sql"));
  state.BindText(1, rollout.app);
  ASSIGN_OR_RETURN(const bool has_row, state.Step());
  if (!has_row) return absl::InternalError("app state query: no row");
  if (state.ColumnInt64(0) != 1) {
    // Apps are created by AppendRevision (apply); a rollout needs one.
    return absl::NotFoundError(
        absl::StrCat("app \"", rollout.app, "\" not found"));
  }
  RETURN_IF_ERROR(CheckNoOtherActiveRollout(rollout.app, /*except_id=*/0));

  StoredRollout stored = rollout;
  if (revision.has_value()) {
    // Checks expected_current itself (ABORTED).
    ASSIGN_OR_RETURN(const StoredRevision appended,
                     AppendRevisionInTransaction(*revision, expected_current));
    stored.to_revision = appended.number;
  } else if (const int64_t current = state.ColumnInt64(1);
             current != expected_current) {
    return absl::AbortedError(absl::StrCat("app \"", rollout.app,
                                           "\": current revision is ", current,
                                           ", expected ", expected_current));
  }
  stored.created_at = TruncateToMillis(rollout.created_at);
  stored.updated_at = TruncateToMillis(rollout.updated_at);

  ASSIGN_OR_RETURN(SqliteStatement insert, SqliteStatement::Prepare(db_, R"sql(
      INSERT INTO rollouts (app, from_revision, to_revision, active,
                            created_at, updated_at, record)
      VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
      RETURNING id)sql"));
  insert.BindText(1, stored.app)
      .BindInt64(2, stored.from_revision)
      .BindInt64(3, stored.to_revision)
      .BindInt64(4, stored.active ? 1 : 0)
      .BindInt64(5, absl::ToUnixMillis(stored.created_at))
      .BindInt64(6, absl::ToUnixMillis(stored.updated_at))
      .BindBlob(7, stored.record);
  ASSIGN_OR_RETURN(const bool inserted, insert.Step());
  if (!inserted) return absl::InternalError("rollout insert: no id returned");
  const int64_t id = insert.ColumnInt64(0);
  if (id <= 0 || id > std::numeric_limits<uint32_t>::max()) {
    return absl::ResourceExhaustedError(
        absl::StrCat("rollout id ", id, " is out of range: no ids left"));
  }
  stored.id = static_cast<uint32_t>(id);
  // RETURNING rows come before the statement is done: run it to the end.
  RETURN_IF_ERROR(insert.Run());

  RETURN_IF_ERROR(txn.Commit());
  return stored;
}

absl::Status SqliteStore::UpdateRollout(const StoredRollout& rollout) {
  absl::MutexLock lock(&mu_);
  // The existence and one-active checks and the update under one write lock,
  // so no other connection can activate a rollout in between.
  ASSIGN_OR_RETURN(SqliteTransaction txn,
                   SqliteTransaction::BeginImmediate(db_));
  ASSIGN_OR_RETURN(SqliteStatement exists, SqliteStatement::Prepare(db_, R"sql(
      SELECT 1 FROM rollouts WHERE app = ?1 AND id = ?2)sql"));
  exists.BindText(1, rollout.app).BindInt64(2, rollout.id);
  ASSIGN_OR_RETURN(const bool found, exists.Step());
  if (!found) {
    return absl::NotFoundError(absl::StrCat("app \"", rollout.app,
                                            "\" has no rollout ", rollout.id));
  }
  if (rollout.active) {
    RETURN_IF_ERROR(CheckNoOtherActiveRollout(rollout.app, rollout.id));
  }
  ASSIGN_OR_RETURN(SqliteStatement update, SqliteStatement::Prepare(db_, R"sql(
      UPDATE rollouts SET active = ?3, updated_at = ?4, record = ?5
      WHERE app = ?1 AND id = ?2)sql"));
  update.BindText(1, rollout.app)
      .BindInt64(2, rollout.id)
      .BindInt64(3, rollout.active ? 1 : 0)
      .BindInt64(4, absl::ToUnixMillis(rollout.updated_at))
      .BindBlob(5, rollout.record);
  RETURN_IF_ERROR(update.Run());
  return txn.Commit();
}

absl::StatusOr<StoredRollout> SqliteStore::GetRollout(const std::string& app,
                                                      uint32_t id) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(
      SqliteStatement stmt,
      SqliteStatement::Prepare(
          db_, absl::StrCat("SELECT ", kRolloutColumns,
                            " FROM rollouts WHERE app = ?1 AND id = ?2")));
  stmt.BindText(1, app).BindInt64(2, id);
  ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
  if (!has_row) {
    return absl::NotFoundError(
        absl::StrCat("app \"", app, "\" has no rollout ", id));
  }
  return RolloutFromRow(stmt);
}

absl::StatusOr<std::optional<StoredRollout>> SqliteStore::LatestRollout(
    const std::string& app) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(
      SqliteStatement stmt,
      SqliteStatement::Prepare(
          db_, absl::StrCat("SELECT ", kRolloutColumns,
                            " FROM rollouts WHERE app = ?1"
                            " ORDER BY id DESC LIMIT 1")));
  stmt.BindText(1, app);
  ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
  if (!has_row) return std::nullopt;
  return RolloutFromRow(stmt);
}

absl::StatusOr<std::vector<StoredRollout>> SqliteStore::ListRollouts(
    const std::string& app) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(
      SqliteStatement stmt,
      SqliteStatement::Prepare(
          db_, absl::StrCat("SELECT ", kRolloutColumns,
                            " FROM rollouts WHERE app = ?1 ORDER BY id")));
  stmt.BindText(1, app);
  return ReadRollouts(stmt);
}

absl::StatusOr<std::vector<StoredRollout>> SqliteStore::ActiveRollouts() {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(
      SqliteStatement stmt,
      SqliteStatement::Prepare(
          db_, absl::StrCat("SELECT ", kRolloutColumns,
                            " FROM rollouts WHERE active = 1 ORDER BY id")));
  return ReadRollouts(stmt);
}

}  // namespace pyservice::controller

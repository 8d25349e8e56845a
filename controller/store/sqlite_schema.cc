#include "controller/store/sqlite_schema.h"

#include <sqlite3.h>

#include <cstdint>
#include <iterator>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "controller/store/sqlite_statement.h"

namespace pyservice::controller {

namespace {

struct Migration {
  const char* description;
  const char* sql;
};

// kMigrations[i] takes a database from version i to i + 1. Append only: a
// released migration has already run on someone's database, so editing it
// would leave two databases with the same version and different schemas.
//
// Conventions: times are INTEGER unix milliseconds; tables are STRICT so a
// mis-typed bind fails instead of being stored as whatever it was.
constexpr Migration kMigrations[] = {
    {"apps and their revision history", R"sql(
      -- An app is deleted by setting deleted_at (a tombstone), never by
      -- removing the row: its revisions stay readable and their numbering
      -- continues if the app is created again.
      CREATE TABLE apps (
        name TEXT PRIMARY KEY NOT NULL,
        created_at INTEGER NOT NULL,
        deleted_at INTEGER
      ) STRICT;

      -- Numbers are 1, 2, 3, ... per app; the current revision of a present
      -- app is the one with the highest number.
      CREATE TABLE revisions (
        app TEXT NOT NULL REFERENCES apps (name),
        number INTEGER NOT NULL CHECK (number > 0),
        tag TEXT NOT NULL,
        digest TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        spec BLOB NOT NULL,
        PRIMARY KEY (app, number)
      ) STRICT;
    )sql"},
    {"hosts", R"sql(
      -- Every host an agent has said Hello from. labels is a JSON object of
      -- strings; last_seen is written at most every few tens of seconds per
      -- host (the live value is in the controller's memory).
      CREATE TABLE hosts (
        name TEXT PRIMARY KEY NOT NULL,
        labels TEXT NOT NULL CHECK (json_valid(labels)
                                    AND json_type(labels) = 'object'),
        agent_version TEXT NOT NULL,
        first_seen INTEGER NOT NULL,
        last_seen INTEGER NOT NULL
      ) STRICT;
    )sql"},
    {"rollouts", R"sql(
      -- One row per rollout; record is the serialized
      -- pyservice.v1.RolloutRecord (plan, state, decisions), opaque to the
      -- store, and the other columns are what it is looked up by.
      --
      -- AUTOINCREMENT, not a plain rowid alias: a plain one hands out
      -- MAX(id) + 1, so an id could come back after its row were removed
      -- (by a future cleanup or by hand). Ids are global across apps, grow,
      -- and are never reused (the Store contract).
      --
      -- A rollout of a deleted app keeps its row, like its revisions do.
      CREATE TABLE rollouts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        app TEXT NOT NULL REFERENCES apps (name),
        from_revision INTEGER NOT NULL CHECK (from_revision >= 0),
        to_revision INTEGER NOT NULL CHECK (to_revision >= 0),
        -- 1 until the rollout reaches a final state.
        active INTEGER NOT NULL CHECK (active IN (0, 1)),
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        record BLOB NOT NULL
      ) STRICT;

      -- At most one active rollout per app. The store checks first, to
      -- answer with an error naming the active rollout; this is the
      -- backstop, also against writers that are not the store.
      CREATE UNIQUE INDEX rollouts_one_active_per_app
        ON rollouts (app) WHERE active = 1;

      -- An app's rollouts in id order (ListRollouts, LatestRollout).
      CREATE INDEX rollouts_by_app ON rollouts (app, id);
    )sql"},
    {"access: tokens, enrollment, certificates", R"sql(
      -- Operator bearer tokens. secret_hash is the SHA-256 of the secret
      -- part (never the secret); apps is a JSON array of name patterns.
      CREATE TABLE tokens (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL UNIQUE,
        role INTEGER NOT NULL CHECK (role BETWEEN 1 AND 3),
        apps TEXT NOT NULL CHECK (json_valid(apps)
                                  AND json_type(apps) = 'array'),
        secret_hash TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER,
        revoked INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1))
      ) STRICT;

      -- Single-use host enrollment tokens with the name and labels they
      -- bind.
      CREATE TABLE enrollment_tokens (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        host TEXT NOT NULL,
        labels TEXT NOT NULL CHECK (json_valid(labels)
                                    AND json_type(labels) = 'object'),
        secret_hash TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        used_at INTEGER
      ) STRICT;

      -- Hosts that enrolled, with the labels their token bound: the only
      -- labels the fleet uses for them.
      CREATE TABLE enrolled_hosts (
        name TEXT PRIMARY KEY NOT NULL,
        labels TEXT NOT NULL CHECK (json_valid(labels)
                                    AND json_type(labels) = 'object'),
        enrolled_at INTEGER NOT NULL
      ) STRICT;

      -- Every certificate the controller's CA issued. A certificate not
      -- listed here, or revoked, is refused even if the CA signed it.
      CREATE TABLE certificates (
        serial TEXT PRIMARY KEY NOT NULL,
        host TEXT NOT NULL REFERENCES enrolled_hosts (name),
        issued_at INTEGER NOT NULL,
        not_after INTEGER NOT NULL,
        revoked INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1))
      ) STRICT;
      CREATE INDEX certificates_by_host ON certificates (host);
    )sql"},
    {"sealed specs", R"sql(
      -- No table changes: revisions.spec holds sealed blobs from now on
      -- (spec_sealer.h), which a controller from before sealing would take
      -- for damaged specs; this version makes it refuse the file instead.
      -- The specs stored in plaintext are sealed when the store opens
      -- (sqlite_sealing.h), not here: that takes the key.
      SELECT 1;
    )sql"},
};

static_assert(std::size(kMigrations) == kSqliteSchemaVersion,
              "kSqliteSchemaVersion must count the migrations");

absl::StatusOr<int64_t> ReadUserVersion(sqlite3* db) {
  ASSIGN_OR_RETURN(SqliteStatement stmt,
                   SqliteStatement::Prepare(db, "PRAGMA user_version"));
  ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
  if (!has_row) return absl::InternalError("PRAGMA user_version: no row");
  return stmt.ColumnInt64(0);
}

}  // namespace

absl::Status MigrateSqliteSchema(sqlite3* db) {
  while (true) {
    // The version is read under the write lock: another process opening the
    // same file may have migrated it since we last looked.
    ASSIGN_OR_RETURN(SqliteTransaction txn,
                     SqliteTransaction::BeginImmediate(db));
    ASSIGN_OR_RETURN(const int64_t version, ReadUserVersion(db));
    if (version > kSqliteSchemaVersion) {
      return absl::FailedPreconditionError(absl::StrCat(
          sqlite3_db_filename(db, "main"), ": database schema version ",
          version, " is newer than this controller knows (",
          kSqliteSchemaVersion,
          "); it was written by a newer pyservice-controller: run that "
          "version or restore a backup taken before the upgrade"));
    }
    if (version < 0) {
      return absl::InternalError(absl::StrCat(
          sqlite3_db_filename(db, "main"), ": bad schema version ", version));
    }
    if (version == kSqliteSchemaVersion) return txn.Commit();

    const Migration& migration = kMigrations[version];
    const int64_t next = version + 1;
    absl::Status status = SqliteExec(db, migration.sql);
    if (!status.ok()) {
      return absl::Status(
          status.code(),
          absl::StrCat("schema migration ", next, " (", migration.description,
                       "): ", status.message()));
    }
    // PRAGMA takes no bound parameters; `next` is our own counter, not input.
    RETURN_IF_ERROR(
        SqliteExec(db, absl::StrCat("PRAGMA user_version = ", next)));
    RETURN_IF_ERROR(txn.Commit());
  }
}

}  // namespace pyservice::controller

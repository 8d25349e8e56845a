// Thin RAII helpers over the sqlite3 C API, so the store reads as SQL plus
// status handling rather than as resource bookkeeping. They own no lock: the
// caller serializes use of the connection (SqliteStore holds its mutex).
#ifndef PYSERVICE_CONTROLLER_STORE_SQLITE_STATEMENT_H_
#define PYSERVICE_CONTROLLER_STORE_SQLITE_STATEMENT_H_

#include <sqlite3.h>

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace pyservice::controller {

// The status for a failed sqlite3 call `rc` made while doing `what`, carrying
// SQLite's own message. BUSY/LOCKED (another connection holds the lock past
// busy_timeout) are UNAVAILABLE so the caller retries; the rest are INTERNAL.
// `db` may be null (then only the generic message for `rc` is used).
absl::Status SqliteStatus(sqlite3* db, int rc, absl::string_view what);

// One prepared statement. Values are only ever bound as parameters (`?`),
// never spliced into SQL text.
class SqliteStatement {
 public:
  static absl::StatusOr<SqliteStatement> Prepare(sqlite3* db,
                                                 absl::string_view sql);

  SqliteStatement(SqliteStatement&& other) noexcept;
  SqliteStatement& operator=(SqliteStatement&& other) noexcept;
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;
  ~SqliteStatement();

  // Binders take a 1-based parameter index. A failed bind can only be a
  // programming error (bad index, wrong statement), so instead of making every
  // call site check it, the first failure is kept and returned by Step()/Run().
  // Values are copied (SQLITE_TRANSIENT): the statement may outlive them.
  SqliteStatement& BindInt64(int index, int64_t value);
  SqliteStatement& BindText(int index, absl::string_view value);
  SqliteStatement& BindBlob(int index, absl::string_view value);

  // Advances to the next row: true if one is available, false when done.
  absl::StatusOr<bool> Step();
  // Steps to completion, for statements that return no rows.
  absl::Status Run();
  // Makes the statement ready to run again with new bindings (the previous
  // ones are cleared), so a batch prepares it once.
  void Reset();

  // Accessors for the current row; `column` is 0-based. NULL reads as 0 / "".
  bool ColumnIsNull(int column) const;
  int64_t ColumnInt64(int column) const;
  std::string ColumnText(int column) const;
  std::string ColumnBlob(int column) const;

 private:
  SqliteStatement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  void RecordBindResult(int rc, int index);

  sqlite3* db_;
  sqlite3_stmt* stmt_;
  absl::Status bind_status_;
};

// A write transaction that rolls back unless committed, so every early return
// in the store leaves the database untouched.
class SqliteTransaction {
 public:
  // BEGIN IMMEDIATE takes the write lock up front (waiting up to the
  // connection's busy_timeout). With a plain BEGIN the lock would be taken at
  // the first write, after our reads, and SQLite would have to fail that
  // upgrade with SQLITE_BUSY instead of waiting: the compare-and-append must
  // hold the lock from its first read.
  static absl::StatusOr<SqliteTransaction> BeginImmediate(sqlite3* db);

  SqliteTransaction(SqliteTransaction&& other) noexcept;
  SqliteTransaction& operator=(SqliteTransaction&&) = delete;
  SqliteTransaction(const SqliteTransaction&) = delete;
  SqliteTransaction& operator=(const SqliteTransaction&) = delete;
  ~SqliteTransaction();

  absl::Status Commit();

 private:
  explicit SqliteTransaction(sqlite3* db) : db_(db) {}

  sqlite3* db_;  // null once committed or moved from
};

// Runs fixed SQL text with no parameters (schema, pragmas), possibly several
// statements. Never pass it SQL built from values.
absl::Status SqliteExec(sqlite3* db, const std::string& sql);

}  // namespace pyservice::controller

#endif  // PYSERVICE_CONTROLLER_STORE_SQLITE_STATEMENT_H_

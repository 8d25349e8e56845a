// The SQLite store's schema, as an ordered list of migrations (see
// sqlite_schema.cc). The version a database file is at lives in the file
// itself (PRAGMA user_version), so a controller upgrade migrates it on open
// and a downgrade refuses it instead of misreading it.
#ifndef PYSERVICE_CONTROLLER_STORE_SQLITE_SCHEMA_H_
#define PYSERVICE_CONTROLLER_STORE_SQLITE_SCHEMA_H_

#include "absl/status/status.h"

struct sqlite3;

namespace pyservice::controller {

// The version after every migration this code knows has been applied.
inline constexpr int kSqliteSchemaVersion = 5;

// Brings the database on `db` to kSqliteSchemaVersion, one migration per
// transaction, so a crash between two leaves a database at a known version.
// Safe against other processes migrating the same file at the same time.
// FAILED_PRECONDITION if the database is at a newer version than this code's.
absl::Status MigrateSqliteSchema(sqlite3* db);

}  // namespace pyservice::controller

#endif  // PYSERVICE_CONTROLLER_STORE_SQLITE_SCHEMA_H_

#include "controller/store/sqlite_statement.h"

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/status/status_macros.h"

namespace pyservice::controller {

namespace {

// sqlite3_bind_text/blob treat a null pointer as SQL NULL, and an empty
// absl::string_view may have one; the columns are NOT NULL, so point at "".
const char* NonNull(absl::string_view value) {
  return value.data() != nullptr ? value.data() : "";
}

// SQL for error messages: on one line, and cut short, since a migration's
// full text would bury SQLite's message, which is what says what went wrong.
std::string OneLine(absl::string_view sql) {
  constexpr size_t kMax = 80;
  std::string line;
  for (char c : sql) {
    const bool space = absl::ascii_isspace(static_cast<unsigned char>(c));
    if (space && (line.empty() || line.back() == ' ')) continue;
    if (line.size() == kMax) return absl::StrCat(line, "...");
    line.push_back(space ? ' ' : c);
  }
  if (!line.empty() && line.back() == ' ') line.pop_back();
  return line;
}

}  // namespace

absl::Status SqliteStatus(sqlite3* db, int rc, absl::string_view what) {
  // The connection's message is more specific ("UNIQUE constraint failed:
  // ..."), but only describes the last call made on it; errstr is the
  // fallback when there is no connection.
  const char* message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  std::string text =
      absl::StrCat("sqlite: ", what, ": ", message, " (code ", rc, ")");
  // Extended result codes are on: the primary code is the low byte.
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::UnavailableError(std::move(text));
    default:
      return absl::InternalError(std::move(text));
  }
}

absl::StatusOr<SqliteStatement> SqliteStatement::Prepare(
    sqlite3* db, absl::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v2(
      db, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return SqliteStatus(db, rc, absl::StrCat("prepare \"", OneLine(sql), "\""));
  }
  if (stmt == nullptr) {  // the text held only whitespace or comments
    return absl::InternalError(
        absl::StrCat("sqlite: prepare \"", OneLine(sql), "\": no statement"));
  }
  return SqliteStatement(db, stmt);
}

SqliteStatement::SqliteStatement(SqliteStatement&& other) noexcept
    : db_(other.db_),
      stmt_(std::exchange(other.stmt_, nullptr)),
      bind_status_(std::move(other.bind_status_)) {}

SqliteStatement& SqliteStatement::operator=(SqliteStatement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    db_ = other.db_;
    stmt_ = std::exchange(other.stmt_, nullptr);
    bind_status_ = std::move(other.bind_status_);
  }
  return *this;
}

SqliteStatement::~SqliteStatement() { sqlite3_finalize(stmt_); }

void SqliteStatement::RecordBindResult(int rc, int index) {
  if (rc != SQLITE_OK && bind_status_.ok()) {
    bind_status_ =
        SqliteStatus(db_, rc,
                     absl::StrCat("bind parameter ", index, " of \"",
                                  OneLine(sqlite3_sql(stmt_)), "\""));
  }
}

SqliteStatement& SqliteStatement::BindInt64(int index, int64_t value) {
  RecordBindResult(sqlite3_bind_int64(stmt_, index, value), index);
  return *this;
}

SqliteStatement& SqliteStatement::BindText(int index, absl::string_view value) {
  RecordBindResult(
      sqlite3_bind_text64(stmt_, index, NonNull(value), value.size(),
                          SQLITE_TRANSIENT, SQLITE_UTF8),
      index);
  return *this;
}

SqliteStatement& SqliteStatement::BindBlob(int index, absl::string_view value) {
  RecordBindResult(sqlite3_bind_blob64(stmt_, index, NonNull(value),
                                       value.size(), SQLITE_TRANSIENT),
                   index);
  return *this;
}

absl::StatusOr<bool> SqliteStatement::Step() {
  RETURN_IF_ERROR(bind_status_);
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteStatus(
      db_, rc, absl::StrCat("step \"", OneLine(sqlite3_sql(stmt_)), "\""));
}

absl::Status SqliteStatement::Run() {
  while (true) {
    ASSIGN_OR_RETURN(const bool has_row, Step());
    if (!has_row) return absl::OkStatus();
  }
}

void SqliteStatement::Reset() {
  // sqlite3_reset repeats the last step's error, which Step() has already
  // reported; it is not a new one.
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_status_ = absl::OkStatus();
}

bool SqliteStatement::ColumnIsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

int64_t SqliteStatement::ColumnInt64(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

std::string SqliteStatement::ColumnText(int column) const {
  // The pointer must be fetched before the size (sqlite3_column_bytes docs).
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  const int size = sqlite3_column_bytes(stmt_, column);
  if (text == nullptr) return "";
  return std::string(reinterpret_cast<const char*>(text), size);
}

std::string SqliteStatement::ColumnBlob(int column) const {
  const void* blob = sqlite3_column_blob(stmt_, column);
  const int size = sqlite3_column_bytes(stmt_, column);
  if (blob == nullptr) return "";  // also how SQLite returns an empty blob
  return std::string(static_cast<const char*>(blob), size);
}

absl::StatusOr<SqliteTransaction> SqliteTransaction::BeginImmediate(
    sqlite3* db) {
  RETURN_IF_ERROR(SqliteExec(db, "BEGIN IMMEDIATE"));
  return SqliteTransaction(db);
}

SqliteTransaction::SqliteTransaction(SqliteTransaction&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)) {}

SqliteTransaction::~SqliteTransaction() {
  // Some errors (SQLITE_FULL, IOERR, ...) already rolled the transaction back;
  // a second ROLLBACK would only fail. Nothing useful can be done if the
  // rollback itself fails: the connection stays usable and the transaction
  // is abandoned either way.
  if (db_ != nullptr && sqlite3_get_autocommit(db_) == 0) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

absl::Status SqliteTransaction::Commit() {
  RETURN_IF_ERROR(SqliteExec(db_, "COMMIT"));
  db_ = nullptr;
  return absl::OkStatus();
}

absl::Status SqliteExec(sqlite3* db, const std::string& sql) {
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) {
    return SqliteStatus(db, rc, absl::StrCat("exec \"", OneLine(sql), "\""));
  }
  return absl::OkStatus();
}

}  // namespace pyservice::controller

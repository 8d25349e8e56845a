// SqliteStore's AccessStore half: tokens, enrollment and certificates
// (migration 4). The same connection and mutex as the rest of the store.
#include <sqlite3.h>

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/status/status_macros.h"
#include "controller/store/sqlite_json.h"
#include "controller/store/sqlite_statement.h"
#include "controller/store/sqlite_store.h"

namespace pyservice::controller {

namespace {

// An AUTOINCREMENT id from a RETURNING row, checked to fit our uint32 ids.
absl::StatusOr<uint32_t> ReturnedId(SqliteStatement& insert, absl::string_view what) {
  ASSIGN_OR_RETURN(const bool inserted, insert.Step());
  if (!inserted) return absl::InternalError(absl::StrCat(what, " insert: no id returned"));
  const int64_t id = insert.ColumnInt64(0);
  if (id <= 0 || id > std::numeric_limits<uint32_t>::max()) {
    return absl::ResourceExhaustedError(absl::StrCat(what, " id ", id, " is out of range"));
  }
  // RETURNING rows come before the statement is done: run it to the end.
  RETURN_IF_ERROR(insert.Run());
  return static_cast<uint32_t>(id);
}

absl::Time Millis(const SqliteStatement& stmt, int column) {
  return absl::FromUnixMillis(stmt.ColumnInt64(column));
}

// The strings of a JSON array column, read with json_each.
absl::StatusOr<std::vector<std::string>> JsonStrings(sqlite3* db, const std::string& json) {
  ASSIGN_OR_RETURN(SqliteStatement stmt,
                   SqliteStatement::Prepare(db, "SELECT value FROM json_each(?1) ORDER BY key"));
  stmt.BindText(1, json);
  std::vector<std::string> values;
  while (true) {
    ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
    if (!has_row) return values;
    values.push_back(stmt.ColumnText(0));
  }
}

// The members of a JSON object column of strings.
absl::StatusOr<std::map<std::string, std::string>> JsonLabels(sqlite3* db,
                                                               const std::string& json) {
  ASSIGN_OR_RETURN(SqliteStatement stmt,
                   SqliteStatement::Prepare(db, "SELECT key, value FROM json_each(?1)"));
  stmt.BindText(1, json);
  std::map<std::string, std::string> labels;
  while (true) {
    ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
    if (!has_row) return labels;
    labels[stmt.ColumnText(0)] = stmt.ColumnText(1);
  }
}

absl::Status InsertCertificate(sqlite3* db, const StoredCertificate& certificate) {
  ASSIGN_OR_RETURN(SqliteStatement insert, SqliteStatement::Prepare(db, R"sql(
      INSERT INTO certificates (serial, host, issued_at, not_after, revoked)
      VALUES (?1, ?2, ?3, ?4, 0))sql"));
  insert.BindText(1, certificate.serial)
      .BindText(2, certificate.host)
      .BindInt64(3, absl::ToUnixMillis(certificate.issued_at))
      .BindInt64(4, absl::ToUnixMillis(certificate.not_after));
  return insert.Run();
}

// NOT_FOUND unless `host` has enrolled.
absl::Status CheckEnrolled(sqlite3* db, const std::string& host) {
  ASSIGN_OR_RETURN(SqliteStatement enrolled,
                   SqliteStatement::Prepare(db, "SELECT 1 FROM enrolled_hosts WHERE name = ?1"));
  enrolled.BindText(1, host);
  ASSIGN_OR_RETURN(const bool found, enrolled.Step());
  if (!found) return absl::NotFoundError(absl::StrCat("host \"", host, "\" never enrolled"));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<StoredToken> SqliteStore::CreateToken(const StoredToken& token) {
  if (token.name.empty()) return absl::InvalidArgumentError("token name is empty");
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteTransaction txn, SqliteTransaction::BeginImmediate(db_));
  {
    ASSIGN_OR_RETURN(SqliteStatement taken, SqliteStatement::Prepare(
                                                db_, "SELECT 1 FROM tokens WHERE name = ?1"));
    taken.BindText(1, token.name);
    ASSIGN_OR_RETURN(const bool exists, taken.Step());
    if (exists) {
      return absl::AlreadyExistsError(absl::StrCat(
          "a token named \"", token.name, "\" exists (names are never reused)"));
    }
  }
  StoredToken stored = token;
  stored.created_at = absl::FromUnixMillis(absl::ToUnixMillis(token.created_at));
  if (token.expires_at.has_value()) {
    stored.expires_at = absl::FromUnixMillis(absl::ToUnixMillis(*token.expires_at));
  }
  stored.revoked = false;
  ASSIGN_OR_RETURN(SqliteStatement insert, SqliteStatement::Prepare(db_, R"sql(
      INSERT INTO tokens (name, role, apps, secret_hash, created_at, expires_at)
      VALUES (?1, ?2, ?3, ?4, ?5, ?6)
      RETURNING id)sql"));
  insert.BindText(1, stored.name)
      .BindInt64(2, stored.role)
      .BindText(3, StringsToJson(stored.apps))
      .BindText(4, stored.secret_hash)
      .BindInt64(5, absl::ToUnixMillis(stored.created_at));
  if (stored.expires_at.has_value()) insert.BindInt64(6, absl::ToUnixMillis(*stored.expires_at));
  ASSIGN_OR_RETURN(stored.id, ReturnedId(insert, "token"));
  RETURN_IF_ERROR(txn.Commit());
  return stored;
}

absl::StatusOr<std::vector<StoredToken>> SqliteStore::ListTokens() {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement stmt, SqliteStatement::Prepare(db_, R"sql(
      SELECT id, name, role, apps, secret_hash, created_at, expires_at, revoked
      FROM tokens ORDER BY id)sql"));
  std::vector<StoredToken> tokens;
  while (true) {
    ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
    if (!has_row) return tokens;
    StoredToken& token = tokens.emplace_back();
    token.id = static_cast<uint32_t>(stmt.ColumnInt64(0));
    token.name = stmt.ColumnText(1);
    token.role = static_cast<int>(stmt.ColumnInt64(2));
    ASSIGN_OR_RETURN(token.apps, JsonStrings(db_, stmt.ColumnText(3)));
    token.secret_hash = stmt.ColumnText(4);
    token.created_at = Millis(stmt, 5);
    if (!stmt.ColumnIsNull(6)) token.expires_at = Millis(stmt, 6);
    token.revoked = stmt.ColumnInt64(7) != 0;
  }
}

absl::Status SqliteStore::RevokeToken(const std::string& name) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement stmt,
                   SqliteStatement::Prepare(
                       db_, "UPDATE tokens SET revoked = 1 WHERE name = ?1 RETURNING id"));
  stmt.BindText(1, name);
  ASSIGN_OR_RETURN(const bool found, stmt.Step());
  if (!found) return absl::NotFoundError(absl::StrCat("no token named \"", name, "\""));
  return stmt.Run();
}

absl::StatusOr<StoredEnrollmentToken> SqliteStore::CreateEnrollmentToken(
    const StoredEnrollmentToken& token) {
  if (token.host.empty()) return absl::InvalidArgumentError("enrollment host is empty");
  absl::MutexLock lock(&mu_);
  StoredEnrollmentToken stored = token;
  stored.created_at = absl::FromUnixMillis(absl::ToUnixMillis(token.created_at));
  stored.expires_at = absl::FromUnixMillis(absl::ToUnixMillis(token.expires_at));
  stored.used_at.reset();
  ASSIGN_OR_RETURN(SqliteStatement insert, SqliteStatement::Prepare(db_, R"sql(
      INSERT INTO enrollment_tokens (host, labels, secret_hash, created_at, expires_at)
      VALUES (?1, ?2, ?3, ?4, ?5)
      RETURNING id)sql"));
  insert.BindText(1, stored.host)
      .BindText(2, LabelsToJson(stored.labels))
      .BindText(3, stored.secret_hash)
      .BindInt64(4, absl::ToUnixMillis(stored.created_at))
      .BindInt64(5, absl::ToUnixMillis(stored.expires_at));
  ASSIGN_OR_RETURN(stored.id, ReturnedId(insert, "enrollment token"));
  return stored;
}

namespace {

constexpr char kSelectEnrollmentTokens[] = R"sql(
    SELECT id, host, labels, secret_hash, created_at, expires_at, used_at
    FROM enrollment_tokens)sql";

// The enrollment token of the row `stmt` stands on (kSelectEnrollmentTokens).
absl::StatusOr<StoredEnrollmentToken> EnrollmentTokenOfRow(sqlite3* db,
                                                           const SqliteStatement& stmt) {
  StoredEnrollmentToken token;
  token.id = static_cast<uint32_t>(stmt.ColumnInt64(0));
  token.host = stmt.ColumnText(1);
  ASSIGN_OR_RETURN(token.labels, JsonLabels(db, stmt.ColumnText(2)));
  token.secret_hash = stmt.ColumnText(3);
  token.created_at = Millis(stmt, 4);
  token.expires_at = Millis(stmt, 5);
  if (!stmt.ColumnIsNull(6)) token.used_at = Millis(stmt, 6);
  return token;
}

// The enrollment token `id`; NOT_FOUND when there is none.
absl::StatusOr<StoredEnrollmentToken> ReadEnrollmentToken(sqlite3* db, uint32_t id) {
  ASSIGN_OR_RETURN(SqliteStatement stmt,
                   SqliteStatement::Prepare(
                       db, absl::StrCat(kSelectEnrollmentTokens, " WHERE id = ?1")));
  stmt.BindInt64(1, id);
  ASSIGN_OR_RETURN(const bool found, stmt.Step());
  if (!found) return absl::NotFoundError(absl::StrCat("no enrollment token ", id));
  return EnrollmentTokenOfRow(db, stmt);
}

}  // namespace

absl::StatusOr<StoredEnrollmentToken> SqliteStore::GetEnrollmentToken(uint32_t id) {
  absl::MutexLock lock(&mu_);
  return ReadEnrollmentToken(db_, id);
}

absl::StatusOr<std::vector<StoredEnrollmentToken>> SqliteStore::ListEnrollmentTokens() {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement stmt, SqliteStatement::Prepare(
                                             db_, absl::StrCat(kSelectEnrollmentTokens,
                                                               " ORDER BY id")));
  std::vector<StoredEnrollmentToken> tokens;
  while (true) {
    ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
    if (!has_row) return tokens;
    ASSIGN_OR_RETURN(StoredEnrollmentToken token, EnrollmentTokenOfRow(db_, stmt));
    tokens.push_back(std::move(token));
  }
}

absl::StatusOr<StoredEnrollmentToken> SqliteStore::EnrollHost(
    uint32_t id, const std::string& secret_hash, absl::Time now,
    const StoredCertificate& certificate) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteTransaction txn, SqliteTransaction::BeginImmediate(db_));
  absl::StatusOr<StoredEnrollmentToken> found = ReadEnrollmentToken(db_, id);
  // One message for an unknown id and a wrong secret: which ids exist is
  // nobody's business.
  if (absl::IsNotFound(found.status()) ||
      (found.ok() && found->secret_hash != secret_hash)) {
    return absl::UnauthenticatedError("enrollment token is not valid");
  }
  if (!found.ok()) return found.status();
  const StoredEnrollmentToken token = *std::move(found);
  RETURN_IF_ERROR(CheckEnrollmentTokenUsable(token, now, certificate));
  ASSIGN_OR_RETURN(SqliteStatement use, SqliteStatement::Prepare(
                                            db_, "UPDATE enrollment_tokens SET used_at = ?2 "
                                                 "WHERE id = ?1"));
  use.BindInt64(1, id).BindInt64(2, absl::ToUnixMillis(now));
  RETURN_IF_ERROR(use.Run());
  ASSIGN_OR_RETURN(SqliteStatement enroll, SqliteStatement::Prepare(db_, R"sql(
      INSERT INTO enrolled_hosts (name, labels, enrolled_at) VALUES (?1, ?2, ?3)
      ON CONFLICT (name) DO UPDATE SET
        labels = excluded.labels, enrolled_at = excluded.enrolled_at)sql"));
  enroll.BindText(1, token.host)
      .BindText(2, LabelsToJson(token.labels))
      .BindInt64(3, absl::ToUnixMillis(now));
  RETURN_IF_ERROR(enroll.Run());
  RETURN_IF_ERROR(InsertCertificate(db_, certificate));
  RETURN_IF_ERROR(txn.Commit());
  return token;
}

absl::Status SqliteStore::AddCertificate(const StoredCertificate& certificate) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteTransaction txn, SqliteTransaction::BeginImmediate(db_));
  RETURN_IF_ERROR(CheckEnrolled(db_, certificate.host));
  RETURN_IF_ERROR(InsertCertificate(db_, certificate));
  return txn.Commit();
}

absl::StatusOr<std::vector<StoredCertificate>> SqliteStore::ListCertificates() {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement stmt, SqliteStatement::Prepare(db_, R"sql(
      SELECT serial, host, issued_at, not_after, revoked
      FROM certificates ORDER BY serial)sql"));
  std::vector<StoredCertificate> certificates;
  while (true) {
    ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
    if (!has_row) return certificates;
    StoredCertificate& certificate = certificates.emplace_back();
    certificate.serial = stmt.ColumnText(0);
    certificate.host = stmt.ColumnText(1);
    certificate.issued_at = Millis(stmt, 2);
    certificate.not_after = Millis(stmt, 3);
    certificate.revoked = stmt.ColumnInt64(4) != 0;
  }
}

absl::StatusOr<uint32_t> SqliteStore::RevokeHost(const std::string& host) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteTransaction txn, SqliteTransaction::BeginImmediate(db_));
  RETURN_IF_ERROR(CheckEnrolled(db_, host));
  ASSIGN_OR_RETURN(SqliteStatement revoke, SqliteStatement::Prepare(db_, R"sql(
      UPDATE certificates SET revoked = 1 WHERE host = ?1 AND revoked = 0
      RETURNING serial)sql"));
  revoke.BindText(1, host);
  uint32_t revoked = 0;
  while (true) {
    ASSIGN_OR_RETURN(const bool has_row, revoke.Step());
    if (!has_row) break;
    ++revoked;
  }
  RETURN_IF_ERROR(txn.Commit());
  return revoked;
}

absl::StatusOr<std::vector<EnrolledHost>> SqliteStore::ListEnrolledHosts() {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(SqliteStatement stmt, SqliteStatement::Prepare(db_, R"sql(
      SELECT name, labels, enrolled_at FROM enrolled_hosts ORDER BY name)sql"));
  std::vector<EnrolledHost> hosts;
  while (true) {
    ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
    if (!has_row) return hosts;
    EnrolledHost& host = hosts.emplace_back();
    host.name = stmt.ColumnText(0);
    ASSIGN_OR_RETURN(host.labels, JsonLabels(db_, stmt.ColumnText(1)));
    host.enrolled_at = Millis(stmt, 2);
  }
}

}  // namespace pyservice::controller

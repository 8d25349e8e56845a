#include "controller/store/sqlite_sealing.h"

#include <sqlite3.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "controller/store/sqlite_statement.h"
#include "spdlog/spdlog.h"

namespace pyservice::controller {

namespace {

// Seals again, with `sealer`, every spec stored in plaintext or, with
// `all`, every spec (opened with `sealer` first), each revision passed to
// `upgrade` (may be empty) with its plaintext spec; one transaction.
// Returns how many were sealed.
absl::StatusOr<size_t> ResealSpecs(sqlite3* db, const SpecSealer& sealer,
                                   const LegacyRevisionUpgrade& upgrade, bool all) {
  ASSIGN_OR_RETURN(SqliteTransaction txn, SqliteTransaction::BeginImmediate(db));
  // substr of a BLOB counts bytes. Sealed rows are skipped without reading
  // past their first bytes.
  ASSIGN_OR_RETURN(SqliteStatement select, SqliteStatement::Prepare(db, R"sql(
      SELECT app, number, tag, digest, spec FROM revisions
      WHERE ?3 OR substr(spec, 1, ?2) IS NOT ?1)sql"));
  select.BindBlob(1, kSealedSpecMagic).BindInt64(2, kSealedSpecMagic.size()).BindInt64(3, all);
  std::vector<StoredRevision> revisions;
  while (true) {
    ASSIGN_OR_RETURN(const bool has_row, select.Step());
    if (!has_row) break;
    StoredRevision revision;
    revision.app = select.ColumnText(0);
    revision.number = static_cast<uint32_t>(select.ColumnInt64(1));
    revision.tag = select.ColumnText(2);
    revision.digest = select.ColumnText(3);
    revision.spec = select.ColumnBlob(4);
    if (IsSealedSpec(revision.spec)) {
      ASSIGN_OR_RETURN(revision.spec, sealer.Open(revision.app, revision.number, revision.spec));
    }
    revisions.push_back(std::move(revision));
  }
  if (revisions.empty()) {
    RETURN_IF_ERROR(txn.Commit());
    return 0;
  }

  ASSIGN_OR_RETURN(SqliteStatement update, SqliteStatement::Prepare(db, R"sql(
      UPDATE revisions SET spec = ?3, digest = ?4 WHERE app = ?1 AND number = ?2)sql"));
  for (StoredRevision& revision : revisions) {
    if (upgrade) {
      if (absl::Status upgraded = upgrade(revision); !upgraded.ok()) {
        return absl::Status(upgraded.code(),
                            absl::StrCat("upgrading ", revision.app, " revision ", revision.number,
                                         ": ", upgraded.message()));
      }
    }
    ASSIGN_OR_RETURN(const std::string sealed,
                     sealer.Seal(revision.app, revision.number, revision.spec));
    update.Reset();
    update.BindText(1, revision.app)
        .BindInt64(2, revision.number)
        .BindBlob(3, sealed)
        .BindText(4, revision.digest);
    RETURN_IF_ERROR(update.Run());
  }
  RETURN_IF_ERROR(txn.Commit());
  // What was there before (plaintext, or sealed with a retired key) may
  // still be in the WAL: copy the new pages into the database and empty the
  // log. Best effort: a reader holding the log open only delays this to a
  // later checkpoint.
  if (absl::Status checkpoint = SqliteExec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
      !checkpoint.ok()) {
    spdlog::warn("after sealing stored specs: {}", std::string(checkpoint.message()));
  }
  return revisions.size();
}

}  // namespace

absl::Status SealPlaintextSpecs(sqlite3* db, const SpecSealer& sealer,
                                const LegacyRevisionUpgrade& upgrade) {
  ASSIGN_OR_RETURN(const size_t sealed, ResealSpecs(db, sealer, upgrade, /*all=*/false));
  if (sealed > 0) {
    spdlog::info("sealed {} stored spec(s) written before specs were encrypted at rest", sealed);
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> ResealAllSpecs(sqlite3* db, const SpecSealer& sealer,
                                      const LegacyRevisionUpgrade& upgrade) {
  return ResealSpecs(db, sealer, upgrade, /*all=*/true);
}

absl::Status CheckSealedSpecsOpen(sqlite3* db, const SpecSealer& sealer) {
  ASSIGN_OR_RETURN(SqliteStatement stmt, SqliteStatement::Prepare(db, R"sql(
      SELECT app, number, spec FROM revisions
      WHERE substr(spec, 1, ?2) IS ?1
      ORDER BY rowid DESC LIMIT 1)sql"));
  stmt.BindBlob(1, kSealedSpecMagic).BindInt64(2, kSealedSpecMagic.size());
  ASSIGN_OR_RETURN(const bool has_row, stmt.Step());
  if (!has_row) return absl::OkStatus();
  return sealer
      .Open(stmt.ColumnText(0), static_cast<uint32_t>(stmt.ColumnInt64(1)), stmt.ColumnBlob(2))
      .status();
}

}  // namespace pyservice::controller

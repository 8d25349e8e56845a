// The Store on an embedded SQLite database, <data_dir>/pyservice.db.
//
// One connection, used under a mutex: the controller's write rate is a few
// applies a minute, so a connection pool would add nothing but states. The
// compare-and-append runs inside BEGIN IMMEDIATE, which makes it atomic also
// against other connections and other processes on the same file (a second
// controller started by mistake, `sqlite3` opened by an operator): they wait
// up to the busy timeout for the write lock, and then get UNAVAILABLE.
#ifndef PYSERVICE_CONTROLLER_STORE_SQLITE_STORE_H_
#define PYSERVICE_CONTROLLER_STORE_SQLITE_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/time/clock.h"
#include "controller/store/access_store.h"
#include "controller/store/spec_sealer.h"
#include "controller/store/sqlite_schema.h"
#include "controller/store/sqlite_sealing.h"
#include "controller/store/store.h"

struct sqlite3;  // <sqlite3.h> stays out of the store's users

namespace pyservice::controller {

// An app's row, deleted or not (migrate copies them all).
struct StoredAppEntry {
  std::string name;
  absl::Time created_at;
  std::optional<absl::Time> deleted_at;
};

class SqliteStore final : public Store, public AccessStore {
 public:
  // The schema version this code writes (PRAGMA user_version): the number of
  // migrations it knows. Opening a database with a higher version fails.
  static constexpr int kSchemaVersion = kSqliteSchemaVersion;
  // The database file's name inside data_dir.
  static constexpr char kDatabaseFileName[] = "pyservice.db";

  // Creates `data_dir` (mode 0700; missing parents like mkdir -p) if missing, opens
  // or creates the database in it and migrates it to kSchemaVersion.
  // FAILED_PRECONDITION if the database was written by a newer controller
  // (kSchemaVersion is older than its schema) or data_dir is unusable.
  // `clock` stamps created_at and must outlive the store.
  //
  // Every spec is written through `sealer` and read back through it, so the
  // file holds no spec in plaintext (sealer and clock must outlive the
  // store). Specs an older controller wrote in plaintext are sealed here, in
  // one transaction, each revision passed to `upgrade` first (may be
  // empty; sqlite_sealing.h). The error of a sealer that cannot open what
  // is sealed (a key file that does not match) is returned here too.
  static absl::StatusOr<std::unique_ptr<SqliteStore>> Open(
      const std::string& data_dir, const Clock& clock, const SpecSealer& sealer,
      const LegacyRevisionUpgrade& upgrade = {});

  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;
  ~SqliteStore() override;

  // Store. created_at of an appended revision is the clock's time truncated
  // to the millisecond, the precision it is stored with, so the returned
  // revision equals what later reads return. ListApps includes the latest
  // revision's spec. Reads of a spec the sealer cannot open fail with the
  // sealer's error (FAILED_PRECONDITION or DATA_LOSS, naming the revision).
  absl::StatusOr<StoredRevision> AppendRevision(
      const StoredRevision& revision, uint32_t expected_current) override;
  absl::StatusOr<std::optional<StoredRevision>> CurrentRevision(
      const std::string& app) override;
  absl::StatusOr<StoredRevision> GetRevision(const std::string& app,
                                             uint32_t number) override;
  absl::StatusOr<std::vector<StoredRevision>> ListRevisions(
      const std::string& app) override;
  absl::StatusOr<std::vector<StoredApp>> ListApps() override;
  absl::Status DeleteApp(const std::string& app) override;
  // Labels are stored as a JSON object (readable with sqlite3's json
  // functions).
  absl::Status UpsertHosts(const std::vector<StoredHost>& hosts) override;
  absl::StatusOr<std::vector<StoredHost>> ListHosts() override;
  // created_at and updated_at are the given ones (the caller's clock),
  // truncated to the millisecond like a revision's. The `expected_current`
  // check applies also when no revision is given: the rollout was planned
  // against that current revision. INVALID_ARGUMENT for an empty app name or
  // a `revision` of another app.
  absl::StatusOr<StoredRollout> CreateRollout(
      const StoredRollout& rollout,
      const std::optional<StoredRevision>& revision,
      uint32_t expected_current) override;
  // FAILED_PRECONDITION when it would make a second rollout of the app
  // active.
  absl::Status UpdateRollout(const StoredRollout& rollout) override;
  absl::StatusOr<StoredRollout> GetRollout(const std::string& app,
                                           uint32_t id) override;
  absl::StatusOr<std::optional<StoredRollout>> LatestRollout(
      const std::string& app) override;
  absl::StatusOr<std::vector<StoredRollout>> ListRollouts(
      const std::string& app) override;
  absl::StatusOr<std::vector<StoredRollout>> ActiveRollouts() override;

  // Every app ever created, deleted ones too, by name.
  absl::StatusOr<std::vector<StoredAppEntry>> ListAllApps();
  // Every enrollment token, used or not, by id (migrate copies them).
  absl::StatusOr<std::vector<StoredEnrollmentToken>> ListEnrollmentTokens();

  // Seals every stored spec again with the store's sealer, each revision
  // passed to `upgrade` first, in one transaction: the re-encryption of a
  // secrets key rotation (controller/secrets/rotate_key.h), whose sealer
  // opens what the previous key sealed. Returns how many specs there were.
  absl::StatusOr<size_t> ResealAll(const LegacyRevisionUpgrade& upgrade);

  // AccessStore (sqlite_store_access.cc). Times are stored to the
  // millisecond.
  absl::StatusOr<StoredToken> CreateToken(const StoredToken& token) override;
  absl::StatusOr<std::vector<StoredToken>> ListTokens() override;
  absl::Status RevokeToken(const std::string& name) override;
  absl::StatusOr<StoredEnrollmentToken> CreateEnrollmentToken(
      const StoredEnrollmentToken& token) override;
  absl::StatusOr<StoredEnrollmentToken> GetEnrollmentToken(uint32_t id) override;
  absl::StatusOr<StoredEnrollmentToken> EnrollHost(uint32_t id, const std::string& secret_hash,
                                                   absl::Time now,
                                                   const StoredCertificate& certificate) override;
  absl::Status AddCertificate(const StoredCertificate& certificate) override;
  absl::StatusOr<std::vector<StoredCertificate>> ListCertificates() override;
  absl::StatusOr<uint32_t> RevokeHost(const std::string& host) override;
  absl::StatusOr<std::vector<EnrolledHost>> ListEnrolledHosts() override;

 private:
  SqliteStore(sqlite3* db, const Clock& clock, const SpecSealer& sealer)
      : clock_(clock), sealer_(sealer), db_(db) {}

  // AppendRevision's work inside a write transaction the caller began
  // (BEGIN IMMEDIATE) and commits, so CreateRollout can append in its own.
  absl::StatusOr<StoredRevision> AppendRevisionInTransaction(
      const StoredRevision& revision, uint32_t expected_current)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // FAILED_PRECONDITION naming the app's active rollout other than
  // `except_id`, if there is one; call inside a write transaction.
  absl::Status CheckNoOtherActiveRollout(const std::string& app,
                                         uint32_t except_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Clock& clock_;
  const SpecSealer& sealer_;
  absl::Mutex mu_;
  // Used by one thread at a time: the connection is opened without SQLite's
  // own mutex (SQLITE_OPEN_NOMUTEX), and sqlite3_errmsg/sqlite3_changes
  // describe the connection's last call, which only holds under mu_.
  sqlite3* const db_ ABSL_PT_GUARDED_BY(mu_);
};

}  // namespace pyservice::controller

#endif  // PYSERVICE_CONTROLLER_STORE_SQLITE_STORE_H_

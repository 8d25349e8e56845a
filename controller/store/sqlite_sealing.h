// The SQLite store's specs at rest (spec_sealer.h), where the database is
// opened: specs a controller wrote before sealing existed are sealed, and
// the key is checked against what is sealed already, so a wrong key file
// stops the controller at start with one clear error.
#ifndef PYSERVICE_CONTROLLER_STORE_SQLITE_SEALING_H_
#define PYSERVICE_CONTROLLER_STORE_SQLITE_SEALING_H_

#include <cstddef>
#include <functional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "controller/store/spec_sealer.h"
#include "controller/store/store.h"

struct sqlite3;

namespace pyservice::controller {

// Called with each revision whose spec is about to be sealed for the first
// time, its spec in plaintext, inside the sealing transaction. A controller
// that did not seal specs did not key its digests either: this is where the
// digest is brought up to date (the revision's `digest` is stored as left).
using LegacyRevisionUpgrade = std::function<absl::Status(StoredRevision&)>;

// Seals every spec stored in plaintext, all in one transaction (all or
// none), upgrading each revision with `upgrade` first (may be empty). The
// connection must have secure_delete on, so the plaintext does not linger in
// freed pages; the WAL is checkpointed and truncated afterwards for the same
// reason.
absl::Status SealPlaintextSpecs(sqlite3* db, const SpecSealer& sealer,
                                const LegacyRevisionUpgrade& upgrade);

// Seals every spec again with `sealer` (which must open them: a key
// rotation's sealer opens with the previous key too), each revision passed
// to `upgrade` first, in one transaction. Returns how many there were.
absl::StatusOr<size_t> ResealAllSpecs(sqlite3* db, const SpecSealer& sealer,
                                      const LegacyRevisionUpgrade& upgrade);

// Opens the most recently written sealed spec, if any: the error of a key
// file that does not match the data dir, at start rather than at the first
// read.
absl::Status CheckSealedSpecsOpen(sqlite3* db, const SpecSealer& sealer);

}  // namespace pyservice::controller

#endif  // PYSERVICE_CONTROLLER_STORE_SQLITE_SEALING_H_

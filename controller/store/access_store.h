// Who may use the controller, persistently: operator tokens, enrollment
// tokens, and the hosts enrolled with them and their certificates. Behind
// its own interface, beside Store, because only the access layer
// (controller/auth/) and its admin RPCs read or write it.
//
// Secrets are never stored: tokens are kept as the SHA-256 of their secret
// part (a 256-bit random value, so a fast hash is enough: there is nothing
// to guess), certificates by serial.
//
// The contract of Store holds here too: every method is atomic and safe
// from many threads; NOT_FOUND for a missing row, ALREADY_EXISTS for a
// taken name, UNAVAILABLE/INTERNAL for storage failures.
#ifndef PYSERVICE_CONTROLLER_STORE_ACCESS_STORE_H_
#define PYSERVICE_CONTROLLER_STORE_ACCESS_STORE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace pyservice::controller {

// An operator's bearer token.
struct StoredToken {
  // Assigned by CreateToken; part of the token text, so lookups are by id.
  uint32_t id = 0;
  std::string name;
  // pyservice.v1.Role as its number.
  int role = 0;
  // App name patterns it is limited to; empty: every app.
  std::vector<std::string> apps;
  // Lowercase hex SHA-256 of the secret part.
  std::string secret_hash;
  absl::Time created_at;
  // nullopt: never expires.
  std::optional<absl::Time> expires_at;
  bool revoked = false;
};

// A single-use token with which one host enrolls.
struct StoredEnrollmentToken {
  uint32_t id = 0;
  // The host it enrolls and the labels the host gets.
  std::string host;
  std::map<std::string, std::string> labels;
  std::string secret_hash;
  absl::Time created_at;
  absl::Time expires_at;
  // When it was used; nullopt while unused.
  std::optional<absl::Time> used_at;
};

// A certificate the controller's CA issued to an enrolled host.
struct StoredCertificate {
  // Lowercase hex, as the CA reports it.
  std::string serial;
  std::string host;
  absl::Time issued_at;
  absl::Time not_after;
  bool revoked = false;
};

// A host that enrolled, with the labels its enrollment token bound.
struct EnrolledHost {
  std::string name;
  std::map<std::string, std::string> labels;
  absl::Time enrolled_at;
};

// What every backend's EnrollHost checks of a found token, whose secret
// matched: UNAUTHENTICATED, saying why, for a used or expired token
// (at `now`); INTERNAL for a certificate issued to another host.
absl::Status CheckEnrollmentTokenUsable(const StoredEnrollmentToken& token, absl::Time now,
                                        const StoredCertificate& certificate);

class AccessStore {
 public:
  virtual ~AccessStore() = default;

  // Stores a new token (its id is ignored and assigned). ALREADY_EXISTS
  // when a token of that name exists (revoked ones included: names are
  // never reused, so logs stay unambiguous).
  virtual absl::StatusOr<StoredToken> CreateToken(const StoredToken& token) = 0;
  // Every token, by id.
  virtual absl::StatusOr<std::vector<StoredToken>> ListTokens() = 0;
  // Marks a token revoked. NOT_FOUND for an unknown name; revoking a
  // revoked token is OK.
  virtual absl::Status RevokeToken(const std::string& name) = 0;

  // Stores a new enrollment token (id assigned).
  virtual absl::StatusOr<StoredEnrollmentToken> CreateEnrollmentToken(
      const StoredEnrollmentToken& token) = 0;
  // One enrollment token, used or not. NOT_FOUND for an unknown id.
  virtual absl::StatusOr<StoredEnrollmentToken> GetEnrollmentToken(uint32_t id) = 0;
  // In one transaction: checks that enrollment token `id` has
  // `secret_hash`, is unused and unexpired at `now`; marks it used; records
  // its host as enrolled with the token's labels (replacing an earlier
  // enrollment's) and `certificate` as issued to it. UNAUTHENTICATED, saying
  // which, for an unknown, wrong, used or expired token; nothing is written
  // then. Returns the token as it was before use.
  virtual absl::StatusOr<StoredEnrollmentToken> EnrollHost(
      uint32_t id, const std::string& secret_hash, absl::Time now,
      const StoredCertificate& certificate) = 0;

  // Records a certificate issued to an already enrolled host (a renewal).
  // NOT_FOUND when the host is not enrolled.
  virtual absl::Status AddCertificate(const StoredCertificate& certificate) = 0;
  // Every certificate ever issued, revoked ones included, by serial.
  virtual absl::StatusOr<std::vector<StoredCertificate>> ListCertificates() = 0;
  // Revokes every certificate of `host`; returns how many were not revoked
  // yet. NOT_FOUND when the host never enrolled.
  virtual absl::StatusOr<uint32_t> RevokeHost(const std::string& host) = 0;

  // Every enrolled host, by name.
  virtual absl::StatusOr<std::vector<EnrolledHost>> ListEnrolledHosts() = 0;
};

}  // namespace pyservice::controller

#endif  // PYSERVICE_CONTROLLER_STORE_ACCESS_STORE_H_

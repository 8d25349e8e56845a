// Seals the specs the store keeps: a stored spec carries the app's secrets
// (ssh_key, file contents, !secret config values, repo credentials), and a
// copy of the database file alone must reveal none of them.
//
// Contract for implementations:
//  * Seal output starts with kSealedSpecMagic, then a format version byte:
//    no serialized AppSpec starts so (a protobuf never begins with a 0
//    byte), so a store tells specs written before sealing from sealed ones;
//  * a blob is bound to its row (app, revision number): Open of a blob
//    copied into another row fails, as does Open of a modified blob;
//  * Open never returns anything but the plaintext Seal was given, or an
//    error naming the app and revision: FAILED_PRECONDITION when the blob was
//    sealed with another key (the key file does not match the data dir),
//    DATA_LOSS when it is damaged, of another row, or of an unknown format;
//  * thread-safe (const).
#ifndef PYSERVICE_CONTROLLER_STORE_SPEC_SEALER_H_
#define PYSERVICE_CONTROLLER_STORE_SPEC_SEALER_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace pyservice::controller {

inline constexpr absl::string_view kSealedSpecMagic("\0pys", 4);

class SpecSealer {
 public:
  virtual ~SpecSealer() = default;

  virtual absl::StatusOr<std::string> Seal(absl::string_view app, uint32_t number,
                                           absl::string_view plaintext) const = 0;
  virtual absl::StatusOr<std::string> Open(absl::string_view app, uint32_t number,
                                           absl::string_view sealed) const = 0;
};

// Whether `blob` is a sealed spec rather than one written before sealing.
inline bool IsSealedSpec(absl::string_view blob) {
  return blob.substr(0, kSealedSpecMagic.size()) == kSealedSpecMagic;
}

}  // namespace pyservice::controller

#endif  // PYSERVICE_CONTROLLER_STORE_SPEC_SEALER_H_

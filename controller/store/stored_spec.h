// A stored revision's spec, decoded: the store keeps specs as opaque bytes
// (a serialized pyservice.v1.AppSpec); every reader decodes them the same
// way and reports a bad one the same way.
#ifndef PYSERVICE_CONTROLLER_STORE_STORED_SPEC_H_
#define PYSERVICE_CONTROLLER_STORE_STORED_SPEC_H_

#include <functional>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/spec/canonical.h"
#include "controller/store/store.h"
#include "pyservice/v1/spec.pb.h"

namespace pyservice::controller {

// DATA_LOSS, naming the app and revision, when the bytes do not decode.
inline absl::StatusOr<v1::AppSpec> DecodeStoredSpec(const StoredRevision& stored) {
  v1::AppSpec spec;
  if (!spec.ParseFromString(stored.spec)) {
    return absl::DataLossError(absl::StrCat("stored spec of ", stored.app, " revision ",
                                            stored.number, " does not decode"));
  }
  return spec;
}

// Recomputes `revision`'s digest keyed with `fingerprints`: the upgrade of a
// revision stored before digests were keyed (SqliteStore::Open's
// `upgrade`), whose old digest would otherwise stay visible, hashing its
// secrets. Hosts still report the old digest: each is sent what it runs once
// more, which agents answer at once (the same spec), then report the new.
inline std::function<absl::Status(StoredRevision&)> KeyDigestOf(
    const spec::SecretFingerprinter& fingerprints) {
  return [&fingerprints](StoredRevision& revision) -> absl::Status {
    absl::StatusOr<v1::AppSpec> spec = DecodeStoredSpec(revision);
    if (!spec.ok()) return spec.status();
    revision.digest = spec::SpecDigest(*spec, fingerprints);
    return absl::OkStatus();
  };
}

}  // namespace pyservice::controller

#endif  // PYSERVICE_CONTROLLER_STORE_STORED_SPEC_H_

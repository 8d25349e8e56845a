// A stored revision's spec, decoded: the store keeps specs as opaque bytes
// (a serialized pyservice.v1.AppSpec); every reader decodes them the same
// way and reports a bad one the same way.
#ifndef PYSERVICE_CONTROLLER_STORE_STORED_SPEC_H_
#define PYSERVICE_CONTROLLER_STORE_STORED_SPEC_H_

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
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

}  // namespace pyservice::controller

#endif  // PYSERVICE_CONTROLLER_STORE_STORED_SPEC_H_

// app.yaml → pyservice.v1.AppSpec: parsing, validation and the role's
// defaults, in one pass over the document.
//
// Every problem found is reported, one per line, as
//   "SOURCE:LINE:COL: FIELD: MESSAGE"
// e.g. `app.yaml:12:5: services[0].name: "Web" must match [a-z][a-z0-9-]*`,
// so an operator can jump straight to it. Templates ({{ var }}) are checked
// here, at apply time, but stored unexpanded: the stored spec is what the
// operator wrote, with defaults filled in.
#ifndef PYSERVICE_COMMON_SPEC_APP_SPEC_PARSER_H_
#define PYSERVICE_COMMON_SPEC_APP_SPEC_PARSER_H_

#include <cstddef>
#include "absl/strings/string_view.h"

#include "absl/strings/string_view.h"
#include "absl/status/statusor.h"
#include "common/spec/spec_policy.h"
#include "pyservice/v1/spec.pb.h"

namespace pyservice::spec {

// Documents larger than this are refused before parsing.
inline constexpr size_t kMaxDocumentBytes = 1 << 20;

// Parses one app.yaml document. `source_name` prefixes error locations.
// INVALID_ARGUMENT listing every problem (at most a few dozen) on failure.
absl::StatusOr<v1::AppSpec> ParseAppSpec(absl::string_view yaml,
                                         absl::string_view source_name);

// The same, and then the spec policy (spec_policy.h), each violation
// located: `app.yaml:4:7: user: "root" is not allowed: ...`. What
// `pyctl apply` runs on the controller.
absl::StatusOr<v1::AppSpec> ParseAppSpec(absl::string_view yaml, absl::string_view source_name,
                                         const SpecPolicy& policy);

}  // namespace pyservice::spec

#endif  // PYSERVICE_COMMON_SPEC_APP_SPEC_PARSER_H_

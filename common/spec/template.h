// `{{ name }}` expansion over the role's variables (app_name, app_dir,
// uv_run, ...). Unknown names and unclosed braces are errors, reported at
// apply time so that an install never fails on a typo.
#ifndef PYSERVICE_COMMON_SPEC_TEMPLATE_H_
#define PYSERVICE_COMMON_SPEC_TEMPLATE_H_

#include <map>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/strings/string_view.h"
#include "absl/status/statusor.h"
#include "pyservice/v1/spec.pb.h"

namespace pyservice::spec {

using Variables = std::map<std::string, std::string, std::less<>>;

// The role's variables for a spec whose paths are already defaulted.
Variables RoleVariables(const v1::AppSpec& spec);

// Replaces every `{{ name }}` (whitespace inside the braces optional).
// INVALID_ARGUMENT naming the unknown variable or the unclosed `{{`.
absl::StatusOr<std::string> ExpandTemplate(absl::string_view text,
                                           const Variables& variables);

// A copy of `spec` with every templated field expanded: service and timer
// descriptions and commands, file dests and contents, and config values.
absl::StatusOr<v1::AppSpec> ExpandSpec(const v1::AppSpec& spec);

}  // namespace pyservice::spec

#endif  // PYSERVICE_COMMON_SPEC_TEMPLATE_H_

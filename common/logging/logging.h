// Logging setup shared by the three programs: spdlog to stderr, one format.
#ifndef PYSERVICE_COMMON_LOGGING_LOGGING_H_
#define PYSERVICE_COMMON_LOGGING_LOGGING_H_

#include "absl/strings/string_view.h"

#include "absl/strings/string_view.h"
#include "absl/status/status.h"

namespace pyservice {

// Installs the default stderr logger named `program` at `level`
// ("trace", "debug", "info", "warn", "error"). INVALID_ARGUMENT for an
// unknown level.
absl::Status SetUpLogging(absl::string_view program, absl::string_view level);

}  // namespace pyservice

#endif  // PYSERVICE_COMMON_LOGGING_LOGGING_H_

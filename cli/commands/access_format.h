// What the access commands (auth.cc, host.cc) share: role names and
// lifetimes as operators write them.
#ifndef PYSERVICE_CLI_COMMANDS_ACCESS_FORMAT_H_
#define PYSERVICE_CLI_COMMANDS_ACCESS_FORMAT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "pyservice/v1/controller.pb.h"

namespace pyservice::cli {

// "admin", "deployer", "viewer" → the role; INVALID_ARGUMENT otherwise.
absl::StatusOr<v1::Role> ParseRole(absl::string_view text);
std::string RoleText(v1::Role role);

// "90m", "12h", "30d" (and Go-style sums like "1h30m"); "" or "0" is zero
// (the server's default). INVALID_ARGUMENT naming `flag` otherwise.
absl::StatusOr<absl::Duration> ParseTtl(absl::string_view flag, absl::string_view text);

}  // namespace pyservice::cli

#endif  // PYSERVICE_CLI_COMMANDS_ACCESS_FORMAT_H_

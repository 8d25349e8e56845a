// App scopes: the name patterns ("hello", "api-*") a token is limited to.
// '*' matches any run of characters, everything else itself; app names are
// [a-z][a-z0-9-]*, so no other glob syntax is needed.
#ifndef PYSERVICE_CONTROLLER_AUTH_APP_SCOPE_H_
#define PYSERVICE_CONTROLLER_AUTH_APP_SCOPE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace pyservice::controller::auth {

// Whether `app` is within `patterns` (empty: every app).
bool InScope(const std::vector<std::string>& patterns, absl::string_view app);

// INVALID_ARGUMENT naming the pattern unless it is 1 to 32 characters of
// [a-z0-9-*] starting with a letter or '*'.
absl::Status ValidateAppPattern(absl::string_view pattern);

}  // namespace pyservice::controller::auth

#endif  // PYSERVICE_CONTROLLER_AUTH_APP_SCOPE_H_

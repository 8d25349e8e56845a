// The single-use enrollment token (pyctl host enroll-token) a host trades
// for its certificate. It is read from a file only — a command-line value
// would show in ps and the journal — and never logged.
#ifndef PYSERVICE_AGENT_ENROLL_ENROLLMENT_TOKEN_H_
#define PYSERVICE_AGENT_ENROLL_ENROLLMENT_TOKEN_H_

#include <string>

#include "absl/status/statusor.h"

namespace pyservice::agent {

// The token in `path`, without surrounding whitespace (editors add a
// newline). FAILED_PRECONDITION naming the file when group or others may
// read or change it (whoever can read it can enroll a host in this one's
// place; whoever can change it chooses this host's name), INVALID_ARGUMENT
// when it is empty, NOT_FOUND / PERMISSION_DENIED when it cannot be read.
// Messages never contain the token.
absl::StatusOr<std::string> ReadEnrollmentToken(const std::string& path);

}  // namespace pyservice::agent

#endif  // PYSERVICE_AGENT_ENROLL_ENROLLMENT_TOKEN_H_

// Where pyctl finds the operator's token: --token-file (or
// $PYCTL_TOKEN_FILE), else $PYCTL_TOKEN, else none.
#ifndef PYSERVICE_CLI_COMMANDS_TOKEN_FILE_H_
#define PYSERVICE_CLI_COMMANDS_TOKEN_FILE_H_

#include <string>

#include "absl/status/statusor.h"

namespace pyservice::cli {

// The token text, trimmed; "" when none is configured. Like ssh with its
// keys, refuses a token file that other users could read (the token is as
// good as a password), naming the file and its mode; never prints the
// token.
absl::StatusOr<std::string> ReadOperatorToken(const std::string& token_file);

}  // namespace pyservice::cli

#endif  // PYSERVICE_CLI_COMMANDS_TOKEN_FILE_H_

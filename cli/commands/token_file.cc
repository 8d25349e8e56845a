#include "cli/commands/token_file.h"

#include <cstdlib>

#include "absl/strings/ascii.h"
#include "common/file/private_file.h"

namespace pyservice::cli {

absl::StatusOr<std::string> ReadOperatorToken(const std::string& token_file) {
  if (token_file.empty()) {
    const char* from_env = std::getenv("PYCTL_TOKEN");
    return from_env == nullptr ? std::string()
                               : std::string(absl::StripAsciiWhitespace(from_env));
  }
  return ReadSecretFile("token file", token_file,
                        "it must hold a token from `pyctl auth create-token`");
}

}  // namespace pyservice::cli

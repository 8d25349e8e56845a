#include "cli/commands/token_file.h"

#include <sys/stat.h>

#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/file/read_file.h"

namespace pyservice::cli {

namespace {
// A token is ~50 characters; a file much larger is the wrong file.
constexpr size_t kMaxTokenFileBytes = 4096;
}  // namespace

absl::StatusOr<std::string> ReadOperatorToken(const std::string& token_file) {
  if (token_file.empty()) {
    const char* from_env = std::getenv("PYCTL_TOKEN");
    return from_env == nullptr ? std::string()
                               : std::string(absl::StripAsciiWhitespace(from_env));
  }
  struct stat info;
  if (stat(token_file.c_str(), &info) != 0) {
    return absl::NotFoundError(absl::StrCat("token file ", token_file, ": cannot be read"));
  }
  if ((info.st_mode & 077) != 0) {
    return absl::PermissionDeniedError(absl::StrFormat(
        "token file %s is readable by other users (mode %04o): chmod 600 %s", token_file,
        info.st_mode & 07777, token_file));
  }
  absl::StatusOr<std::string> text = ReadFileToString(token_file, kMaxTokenFileBytes);
  if (!text.ok()) return text.status();
  std::string token(absl::StripAsciiWhitespace(*text));
  if (token.empty()) return absl::InvalidArgumentError(absl::StrCat("token file ", token_file, ": empty"));
  return token;
}

}  // namespace pyservice::cli

#include "agent/enroll/enrollment_token.h"

#include "common/file/private_file.h"

namespace pyservice::agent {

absl::StatusOr<std::string> ReadEnrollmentToken(const std::string& path) {
  return ReadSecretFile("enrollment token file", path,
                        "it must hold the token printed by `pyctl host enroll-token`");
}

}  // namespace pyservice::agent

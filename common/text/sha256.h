// SHA-256 digests (OpenSSL), for content comparison and spec digests.
#ifndef PYSERVICE_COMMON_TEXT_SHA256_H_
#define PYSERVICE_COMMON_TEXT_SHA256_H_

#include <string>

#include "absl/strings/string_view.h"

namespace pyservice::text {

// 64 lowercase hex digits.
std::string Sha256Hex(absl::string_view data);

}  // namespace pyservice::text

#endif  // PYSERVICE_COMMON_TEXT_SHA256_H_

// SHA-256 digests and HMACs (OpenSSL), for content comparison, spec digests
// and keyed fingerprints of secrets.
#ifndef PYSERVICE_COMMON_TEXT_SHA256_H_
#define PYSERVICE_COMMON_TEXT_SHA256_H_

#include <string>

#include "absl/strings/string_view.h"

namespace pyservice::text {

// 64 lowercase hex digits.
std::string Sha256Hex(absl::string_view data);

// HMAC-SHA256 of `data` with `key`, 64 lowercase hex digits.
std::string HmacSha256Hex(absl::string_view key, absl::string_view data);

}  // namespace pyservice::text

#endif  // PYSERVICE_COMMON_TEXT_SHA256_H_

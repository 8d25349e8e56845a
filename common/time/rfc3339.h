// Times as people and protocols read them: RFC 3339 in UTC, to the second
// ("2025-01-31T12:00:00Z"), as in EnrollResponse.not_after and messages.
#ifndef PYSERVICE_COMMON_TIME_RFC3339_H_
#define PYSERVICE_COMMON_TIME_RFC3339_H_

#include <string>

#include "absl/time/time.h"

namespace pyservice {

// Exactly what absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", time, UTC) gives
// (truncated to the second, "infinite-future"/"infinite-past" for those).
std::string FormatRfc3339(absl::Time time);

}  // namespace pyservice

#endif  // PYSERVICE_COMMON_TIME_RFC3339_H_

// The optional HTTP health check: GET the URL, healthy on a 2xx answer.
#ifndef PYSERVICE_AGENT_HEALTH_HTTP_CHECK_H_
#define PYSERVICE_AGENT_HEALTH_HTTP_CHECK_H_

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace pyservice::agent {

// OK on a 2xx status line; UNAVAILABLE when nothing answers (connection
// refused, timeout) and FAILED_PRECONDITION for any other status, with the
// status line in the message. Plain http:// only: health checks are local
// (spec validation refuses anything else).
absl::Status CheckHttp(const std::string& url, absl::Duration timeout);

}  // namespace pyservice::agent

#endif  // PYSERVICE_AGENT_HEALTH_HTTP_CHECK_H_

// Text that a peer sent (an agent's host name, a step's error, a gRPC peer
// string) is never written into a log line or an error message as it came:
// it may be megabytes long, or hold newlines and terminal escapes that
// forge or hide log lines. Every such quote goes through ForLog.
#ifndef PYSERVICE_COMMON_TEXT_LOG_TEXT_H_
#define PYSERVICE_COMMON_TEXT_LOG_TEXT_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace pyservice::text {

// Long enough for any legitimate name, step or one-line error.
inline constexpr size_t kMaxLoggedBytes = 200;

// `text` safe to quote: at most `max_bytes` of it with control characters,
// backslashes and non-ASCII bytes escaped (\n, \\, \x1b), and when cut,
// followed by "…(N bytes)" with its full size.
std::string ForLog(absl::string_view text, size_t max_bytes = kMaxLoggedBytes);

}  // namespace pyservice::text

#endif  // PYSERVICE_COMMON_TEXT_LOG_TEXT_H_

// One parsed HTTP/1.x request head, and the parser for it.
//
// The server (common/http/http_server.h) serves GET and HEAD only, so a
// request is its head: a request body is refused. The parser is strict where
// leniency has bitten other servers (request smuggling, header folding) and
// knows nothing about sockets, so it is tested on strings alone.
#ifndef PYSERVICE_COMMON_HTTP_HTTP_REQUEST_H_
#define PYSERVICE_COMMON_HTTP_HTTP_REQUEST_H_

#include <cstddef>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace pyservice::http {

struct Request {
  std::string method;  // "GET" or "HEAD" after the server's check
  std::string path;    // the target up to '?', e.g. "/metrics"
  std::string query;   // after '?', undecoded; empty when absent
  // Lower-cased names; a repeated header keeps its values joined by ", "
  // (RFC 9110 5.3).
  absl::flat_hash_map<std::string, std::string> headers;
};

// Where the head ends: the offset just past the first "\r\n\r\n" in `buffer`,
// or npos while it is not complete.
size_t FindHeadEnd(absl::string_view buffer);

// Parses a complete head ("REQUEST-LINE\r\n(HEADER\r\n)*\r\n").
// INVALID_ARGUMENT (the message says what is wrong, quoting at most a short
// prefix of the offending line) for: a malformed request line, a target not
// starting with '/', a version other than HTTP/1.0 or HTTP/1.1, a header
// without ':' or with a name that is not a token, an obsolete folded header
// line, control characters in a value. UNIMPLEMENTED for a request that
// carries a body (Content-Length other than 0, or Transfer-Encoding): nothing
// served here takes one, and refusing it keeps the connection unambiguous.
absl::StatusOr<Request> ParseRequestHead(absl::string_view head);

}  // namespace pyservice::http

#endif  // PYSERVICE_COMMON_HTTP_HTTP_REQUEST_H_

#include "common/http/http_request.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace pyservice::http {
namespace {

constexpr absl::string_view kCrlf = "\r\n";
// How much of a bad line an error quotes: enough to recognise it, never a
// whole (possibly hostile, possibly huge) header.
constexpr size_t kQuoteLimit = 40;

std::string Quote(absl::string_view line) {
  std::string shown(line.substr(0, kQuoteLimit));
  for (char& c : shown) {
    if (absl::ascii_iscntrl(static_cast<unsigned char>(c))) c = '?';
  }
  return absl::StrCat("\"", shown, line.size() > kQuoteLimit ? "...\"" : "\"");
}

// RFC 9110 5.6.2 tchar.
bool IsToken(absl::string_view text) {
  if (text.empty()) return false;
  for (const char c : text) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c))) continue;
    if (absl::StrContains("!#$%&'*+-.^_`|~", c)) continue;
    return false;
  }
  return true;
}

bool HasControl(absl::string_view value) {
  for (const char c : value) {
    const unsigned char u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) return true;
  }
  return false;
}

absl::Status ParseRequestLine(absl::string_view line, Request& request) {
  std::vector<absl::string_view> parts = absl::StrSplit(line, ' ');
  if (parts.size() != 3 || !IsToken(parts[0])) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed request line ", Quote(line),
                     " (want METHOD SP TARGET SP HTTP/1.1)"));
  }
  if (parts[2] != "HTTP/1.1" && parts[2] != "HTTP/1.0") {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported HTTP version ", Quote(parts[2])));
  }
  const absl::string_view target = parts[1];
  if (!absl::StartsWith(target, "/") || HasControl(target)) {
    return absl::InvalidArgumentError(
        absl::StrCat("request target ", Quote(target), " must be a path starting with /"));
  }
  request.method = std::string(parts[0]);
  const size_t question = target.find('?');
  request.path = std::string(target.substr(0, question));
  if (question != absl::string_view::npos) {
    request.query = std::string(target.substr(question + 1));
  }
  return absl::OkStatus();
}

absl::Status ParseHeaderLine(absl::string_view line, Request& request) {
  if (absl::StartsWith(line, " ") || absl::StartsWith(line, "\t")) {
    return absl::InvalidArgumentError(
        absl::StrCat("folded header line ", Quote(line), " is obsolete (RFC 9112 5.2)"));
  }
  const size_t colon = line.find(':');
  // No whitespace between name and colon (RFC 9112 5.1): a classic smuggling
  // vector when proxies and servers disagree on it.
  if (colon == absl::string_view::npos || !IsToken(line.substr(0, colon))) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed header line ", Quote(line), " (want NAME: VALUE)"));
  }
  const absl::string_view value = absl::StripAsciiWhitespace(line.substr(colon + 1));
  if (HasControl(value)) {
    return absl::InvalidArgumentError(
        absl::StrCat("control character in header line ", Quote(line)));
  }
  const std::string name = absl::AsciiStrToLower(line.substr(0, colon));
  auto [it, inserted] = request.headers.try_emplace(name, value);
  if (!inserted) absl::StrAppend(&it->second, ", ", value);
  return absl::OkStatus();
}

}  // namespace

size_t FindHeadEnd(absl::string_view buffer) {
  const size_t end = buffer.find("\r\n\r\n");
  return end == absl::string_view::npos ? end : end + 4;
}

absl::StatusOr<Request> ParseRequestHead(absl::string_view head) {
  if (!absl::EndsWith(head, "\r\n\r\n")) {
    return absl::InvalidArgumentError("request head does not end with an empty line");
  }
  head.remove_suffix(4);
  std::vector<absl::string_view> lines = absl::StrSplit(head, kCrlf);
  Request request;
  if (absl::Status line = ParseRequestLine(lines[0], request); !line.ok()) return line;
  for (size_t i = 1; i < lines.size(); ++i) {
    if (absl::Status header = ParseHeaderLine(lines[i], request); !header.ok()) return header;
  }
  if (request.headers.contains("transfer-encoding")) {
    return absl::UnimplementedError("a request body (Transfer-Encoding) is not accepted");
  }
  if (auto length = request.headers.find("content-length");
      length != request.headers.end() && length->second != "0") {
    return absl::UnimplementedError("a request body (Content-Length) is not accepted");
  }
  return request;
}

}  // namespace pyservice::http

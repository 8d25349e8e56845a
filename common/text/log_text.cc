#include "common/text/log_text.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace pyservice::text {
namespace {

// Control characters (newlines forge log lines, ESC drives terminals),
// backslashes (so an escape in the text cannot pass for ours) and bytes
// outside ASCII (bidi overrides, broken UTF-8) are escaped; quotes are
// kept, so our own messages read as written.
void AppendEscaped(absl::string_view text, std::string& out) {
  for (char c : text) {
    const unsigned char byte = static_cast<unsigned char>(c);
    switch (c) {
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\\': out += "\\\\"; break;
      default:
        if (byte < 0x20 || byte >= 0x7f) {
          absl::StrAppendFormat(&out, "\\x%02x", byte);
        } else {
          out += c;
        }
    }
  }
}

}  // namespace

std::string ForLog(absl::string_view text, size_t max_bytes) {
  std::string out;
  out.reserve(std::min(text.size(), max_bytes) + 16);
  AppendEscaped(text.substr(0, max_bytes), out);
  if (text.size() > max_bytes) absl::StrAppend(&out, "…(", text.size(), " bytes)");
  return out;
}

}  // namespace pyservice::text

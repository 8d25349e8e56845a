#include "common/metrics/exposition.h"

#include <charconv>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace pyservice::metrics {
namespace {

std::string Escape(absl::string_view text, bool quotes) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quotes) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

bool IsNameChar(char c, bool colon_allowed, bool digit_allowed) {
  return absl::ascii_isalpha(static_cast<unsigned char>(c)) || c == '_' ||
         (colon_allowed && c == ':') ||
         (digit_allowed && absl::ascii_isdigit(static_cast<unsigned char>(c)));
}

bool IsValidName(absl::string_view name, bool colon_allowed) {
  if (name.empty() || !IsNameChar(name[0], colon_allowed, false)) return false;
  for (const char c : name) {
    if (!IsNameChar(c, colon_allowed, true)) return false;
  }
  return true;
}

}  // namespace

std::string EscapeHelp(absl::string_view help) { return Escape(help, false); }

std::string EscapeLabelValue(absl::string_view value) { return Escape(value, true); }

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buffer[64];
  const std::to_chars_result result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, result.ptr);
}

std::string FormatLabels(const std::vector<std::string>& names,
                         const std::vector<std::string>& values,
                         const std::pair<std::string, std::string>* extra) {
  if (names.empty() && extra == nullptr) return "";
  std::string out = "{";
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
    absl::StrAppend(&out, i == 0 ? "" : ",", names[i], "=\"", EscapeLabelValue(values[i]), "\"");
  }
  if (extra != nullptr) {
    absl::StrAppend(&out, names.empty() ? "" : ",", extra->first, "=\"",
                    EscapeLabelValue(extra->second), "\"");
  }
  out += "}";
  return out;
}

bool IsValidMetricName(absl::string_view name) { return IsValidName(name, true); }

bool IsValidLabelName(absl::string_view name) {
  return IsValidName(name, false) && !absl::StartsWith(name, "__");
}

}  // namespace pyservice::metrics

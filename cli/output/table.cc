#include "cli/output/table.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace pyservice::cli {
namespace {

constexpr absl::string_view kColumnGap = "   ";
constexpr absl::string_view kReset = "\033[0m";
constexpr absl::string_view kBold = "\033[1m";
constexpr absl::string_view kRed = "\033[31m";
constexpr absl::string_view kGreen = "\033[32m";
constexpr absl::string_view kCyan = "\033[36m";

// Characters, counted as UTF-8 lead bytes: close enough to terminal columns
// for names, tags and dates.
size_t DisplayWidth(absl::string_view text) {
  return static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

void AppendPadded(absl::string_view cell, size_t width, std::string& out) {
  absl::StrAppend(&out, cell);
  out.append(width - std::min(width, DisplayWidth(cell)), ' ');
}

}  // namespace

std::string RenderTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths(header.size(), 0);
  for (size_t i = 0; i < header.size(); ++i) {
    widths[i] = DisplayWidth(header[i]);
  }
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], DisplayWidth(row[i]));
    }
  }
  std::string out;
  const auto append_row = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < widths.size(); ++i) {
      absl::string_view cell;
      if (i < row.size()) cell = row[i];
      if (i + 1 == widths.size()) {
        absl::StrAppend(&out, cell);
      } else {
        AppendPadded(cell, widths[i], out);
        absl::StrAppend(&out, kColumnGap);
      }
    }
    // Trailing empty cells would leave trailing spaces.
    while (!out.empty() && out.back() == ' ') out.pop_back();
    out.push_back('\n');
  };
  append_row(header);
  for (const auto& row : rows) append_row(row);
  return out;
}

std::string RenderFields(
    const std::vector<std::pair<std::string, std::string>>& fields) {
  size_t width = 0;
  for (const auto& [key, value] : fields) {
    width = std::max(width, DisplayWidth(key) + 1);
  }
  std::string out;
  for (const auto& [key, value] : fields) {
    if (value.empty()) {
      out.append(key).append(":\n");
      continue;
    }
    AppendPadded(key + ":", width, out);
    absl::StrAppend(&out, kColumnGap, value, "\n");
  }
  return out;
}

std::string IndentLines(absl::string_view text, int spaces) {
  std::string out;
  const std::string indent(static_cast<size_t>(spaces), ' ');
  if (absl::EndsWith(text, "\n")) text.remove_suffix(1);
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!line.empty()) absl::StrAppend(&out, indent, line);
    out.push_back('\n');
  }
  return out;
}

std::string ColorizeDiff(absl::string_view diff) {
  std::string out;
  const bool trailing_newline = absl::EndsWith(diff, "\n");
  if (trailing_newline) diff.remove_suffix(1);
  for (absl::string_view line : absl::StrSplit(diff, '\n')) {
    absl::string_view color;
    if (absl::StartsWith(line, "+++") || absl::StartsWith(line, "---")) {
      color = kBold;
    } else if (absl::StartsWith(line, "+")) {
      color = kGreen;
    } else if (absl::StartsWith(line, "-")) {
      color = kRed;
    } else if (absl::StartsWith(line, "@@")) {
      color = kCyan;
    }
    if (color.empty()) {
      absl::StrAppend(&out, line);
    } else {
      absl::StrAppend(&out, color, line, kReset);
    }
    out.push_back('\n');
  }
  if (!trailing_newline && !out.empty()) out.pop_back();
  return out;
}

bool ShouldColor(int fd) {
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color != nullptr && no_color[0] != '\0') return false;
  return isatty(fd) == 1;
}

}  // namespace pyservice::cli

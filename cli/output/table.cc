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
  std::vector<absl::string_view> cells;
  cells.reserve(header.size() * rows.size());
  for (const auto& row : rows) {
    for (size_t i = 0; i < header.size(); ++i) {
      cells.push_back(i < row.size() ? absl::string_view(row[i]) : absl::string_view());
    }
  }
  return RenderTableFromCells(header, cells);
}

std::string RenderTableFromCells(const std::vector<std::string>& header,
                                 absl::Span<const absl::string_view> cells) {
  const size_t columns = header.size();
  // No columns: the header's empty line, and no row can be told apart.
  if (columns == 0) return "\n";
  std::vector<size_t> widths(columns, 0);
  for (size_t i = 0; i < columns; ++i) widths[i] = DisplayWidth(header[i]);
  for (size_t i = 0; i < cells.size(); ++i) {
    widths[i % columns] = std::max(widths[i % columns], DisplayWidth(cells[i]));
  }
  size_t line_width = 0;
  for (size_t width : widths) line_width += width + kColumnGap.size();
  std::string out;
  out.reserve(line_width * (cells.size() / columns + 1));
  const auto append_row = [&](auto cell) {
    for (size_t i = 0; i < columns; ++i) {
      if (i + 1 == columns) {
        absl::StrAppend(&out, cell(i));
      } else {
        AppendPadded(cell(i), widths[i], out);
        absl::StrAppend(&out, kColumnGap);
      }
    }
    // Trailing empty cells would leave trailing spaces.
    while (!out.empty() && out.back() == ' ') out.pop_back();
    out.push_back('\n');
  };
  append_row([&](size_t i) { return absl::string_view(header[i]); });
  for (size_t row = 0; row + columns <= cells.size(); row += columns) {
    append_row([&](size_t i) { return cells[row + i]; });
  }
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

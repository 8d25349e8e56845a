// Text for humans (-o table, the default): aligned columns, aligned
// "Key: value" blocks and colored diffs.
#ifndef PYSERVICE_CLI_OUTPUT_TABLE_H_
#define PYSERVICE_CLI_OUTPUT_TABLE_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace pyservice::cli {

// Columns left-aligned to their widest cell (in characters, not bytes) and
// separated by three spaces, kubectl-style; no trailing spaces; one "\n"
// per line. Rows shorter than the header get empty cells.
//   NAME    REVISION   TAG
//   hello   2          v2
std::string RenderTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows);
// The same from every row's cells one after the other (header.size() per
// row), as views: for listings of 10,000 rows, where a vector of strings
// per row costs more than the rendering. Without columns there is nothing
// to lay out: the answer is one empty line.
std::string RenderTableFromCells(const std::vector<std::string>& header,
                                 absl::Span<const absl::string_view> cells);

// "Key:" labels padded so the values line up; one "\n" per line.
//   Name:       hello
//   Revision:   2
std::string RenderFields(
    const std::vector<std::pair<std::string, std::string>>& fields);

// Every non-empty line of `text` indented by `spaces`; a final newline is
// added when missing.
std::string IndentLines(absl::string_view text, int spaces);

// A unified diff with additions green, removals red and hunk headers cyan
// (ANSI escapes), for a terminal. File headers (---/+++) are bold.
std::string ColorizeDiff(absl::string_view diff);

// True when `fd` is a terminal and NO_COLOR (no-color.org) is unset.
bool ShouldColor(int fd);

}  // namespace pyservice::cli

#endif  // PYSERVICE_CLI_OUTPUT_TABLE_H_

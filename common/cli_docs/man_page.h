// A roff man page made from a program's command tree (command_tree.h): every
// command, positional argument and option with its description, plus the
// hand-written sections (FILES, EXIT STATUS, ...) the tree cannot know.
#ifndef PYSERVICE_COMMON_CLI_DOCS_MAN_PAGE_H_
#define PYSERVICE_COMMON_CLI_DOCS_MAN_PAGE_H_

#include <string>
#include <vector>

#include "common/cli_docs/command_tree.h"

namespace pyservice::cli_docs {

// A section of plain text (escaped when rendered); paragraphs separated by
// an empty line.
struct ManSection {
  std::string title;  // "FILES"
  std::string text;
};

struct ManPageInfo {
  int section = 1;  // 1 for user commands, 8 for daemons
  std::string summary;      // the NAME line after "name \-"
  std::string description;  // DESCRIPTION, before the options
  std::vector<ManSection> extra_sections;
};

std::string RenderManPage(const CommandDoc& root, const ManPageInfo& info);

// Text made safe for roff: backslashes and hyphens escaped, and a line that
// would start with a control character ('.' or '\'') guarded.
std::string EscapeRoff(const std::string& text);

}  // namespace pyservice::cli_docs

#endif  // PYSERVICE_COMMON_CLI_DOCS_MAN_PAGE_H_

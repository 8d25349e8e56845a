#include "common/cli_docs/docs_commands.h"

#include "common/cli_docs/bash_completion.h"
#include "common/cli_docs/command_tree.h"
#include "common/cli_docs/zsh_completion.h"

namespace pyservice::cli_docs {

void AddDocsCommands(CLI::App& app, DocsCommands& docs) {
  docs.completion = app.add_subcommand("completion", "print a shell completion script");
  docs.completion->add_option("shell", docs.shell, "the shell (bash or zsh)")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh"}));
  Hide(docs.completion);
  docs.man = app.add_subcommand("man", "print the man page (roff)");
  Hide(docs.man);
}

std::optional<int> RunDocsCommand(const CLI::App& app, const DocsCommands& docs,
                                  const ManPageInfo& info, std::ostream& out) {
  if (docs.completion->parsed()) {
    const CommandDoc tree = ReadCommandTree(app);
    out << (docs.shell == "zsh" ? RenderZshCompletion(tree) : RenderBashCompletion(tree));
  } else if (docs.man->parsed()) {
    out << RenderManPage(ReadCommandTree(app), info);
  } else {
    return std::nullopt;
  }
  out.flush();
  return out.good() ? 0 : 1;
}

}  // namespace pyservice::cli_docs

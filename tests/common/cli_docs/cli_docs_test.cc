// The man page and bash/zsh completions made from a CLI11 app (common/cli_docs/).
#include <set>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/cli_docs/bash_completion.h"
#include "common/cli_docs/command_tree.h"
#include "common/cli_docs/docs_commands.h"
#include "common/cli_docs/man_page.h"
#include "common/cli_docs/zsh_completion.h"
#include "common/process/subprocess.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pyservice::cli_docs {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

// A small program shaped like pyctl: global options, nested commands, a
// positional, a checked value and the hidden docs commands.
class ToolApp {
 public:
  ToolApp() {
    app_.name("tool");
    app_.fallthrough();
    app_.add_option("--server", server_, "server address")->type_name("ADDR");
    app_.add_option("-o,--output", output_, "output format")
        ->check(CLI::IsMember({"table", "json"}))
        ->type_name("table|json");
    app_.add_option("--token-file", file_, "token file")->type_name("FILE");
    app_.add_flag("--insecure", flag_, "allow plaintext");
    CLI::App* get = app_.add_subcommand("get", "list objects");
    get->add_subcommand("apps", "every app")->add_flag("--all", flag_, "deleted ones too");
    get->add_subcommand("hosts", "every host");
    app_.add_subcommand("apply", "store an app")->add_option("file", file_, "app.yaml")
        ->required();
    CLI::App* internal = app_.add_subcommand("internal", "not for users");
    Hide(internal);
    AddDocsCommands(app_, docs_);
  }
  CLI::App& app() { return app_; }
  DocsCommands& docs() { return docs_; }

 private:
  CLI::App app_{"tool: a test program"};
  DocsCommands docs_;
  std::string server_, output_, file_;
  bool flag_ = false;
};

std::vector<std::string> SubcommandNames(const CommandDoc& command) {
  std::vector<std::string> names;
  for (const CommandDoc& sub : command.subcommands) names.push_back(sub.path.back());
  return names;
}

TEST(CommandTreeTest, HiddenSubcommandsAndHelpAreLeftOut) {
  ToolApp tool;
  const CommandDoc root = ReadCommandTree(tool.app());
  EXPECT_THAT(SubcommandNames(root), UnorderedElementsAre("get", "apply"));
  for (const OptionDoc& option : root.options) {
    EXPECT_THAT(option.names, Not(::testing::Contains("--help")));
  }
  EXPECT_EQ(root.options.size(), 4);
}

TEST(CommandTreeTest, ValueNameIsTheTypeNameWithoutTheCheckDescription) {
  ToolApp tool;
  const CommandDoc root = ReadCommandTree(tool.app());
  ASSERT_EQ(root.options[1].names, (std::vector<std::string>{"-o", "--output"}));
  EXPECT_EQ(root.options[1].value_name, "table|json");
  EXPECT_EQ(root.options[3].value_name, "");  // --insecure is a flag
}

TEST(CommandTreeTest, PositionalsAndNestedPathsAreRead) {
  ToolApp tool;
  const CommandDoc root = ReadCommandTree(tool.app());
  const CommandDoc& apply = root.subcommands[1];
  EXPECT_EQ(JoinPath(apply.path), "tool apply");
  ASSERT_EQ(apply.positionals.size(), 1);
  EXPECT_EQ(apply.positionals[0].name, "file");
  EXPECT_TRUE(apply.positionals[0].required);
  EXPECT_EQ(JoinPath(root.subcommands[0].subcommands[0].path), "tool get apps");
}

TEST(ManPageTest, EscapeRoffEscapesHyphensBackslashesAndLeadingControlCharacters) {
  EXPECT_EQ(EscapeRoff("--x a\\b"), "\\-\\-x a\\eb");
  EXPECT_EQ(EscapeRoff(".SH not a macro\n'also"), "\\&.SH not a macro\n\\&'also");
}

TEST(ManPageTest, EveryCommandPositionalAndOptionHasAnEntry) {
  ToolApp tool;
  const std::string page = RenderManPage(
      ReadCommandTree(tool.app()),
      {.section = 8, .summary = "a test program", .description = "Does things.",
       .extra_sections = {{"FILES", "/etc/tool.yaml"}}});
  EXPECT_THAT(page, HasSubstr(".TH TOOL 8 "));
  EXPECT_THAT(page, HasSubstr("tool \\- a test program"));
  for (const char* heading : {"tool get", "tool get apps", "tool get hosts", "tool apply"}) {
    EXPECT_THAT(page, HasSubstr(absl::StrCat(".SS \"", heading, "\"\n"))) << heading;
  }
  EXPECT_THAT(page, HasSubstr("\\fB\\-o\\fR, \\fB\\-\\-output\\fR \\fItable|json\\fR\n"));
  EXPECT_THAT(page, HasSubstr("\\fB\\-\\-all\\fR\ndeleted ones too"));
  EXPECT_THAT(page, HasSubstr("\\fIFILE\\fR\napp.yaml"));
  EXPECT_THAT(page, HasSubstr(".SH FILES\n.PP\n/etc/tool.yaml"));
  EXPECT_THAT(page, Not(HasSubstr("internal")));
  EXPECT_THAT(page, Not(HasSubstr("completion")));
}

TEST(DocsCommandsTest, ManAndCompletionAreHiddenSubcommandsThatPrint) {
  ToolApp tool;
  EXPECT_THAT(tool.app().help(), Not(HasSubstr("completion")));
  std::vector<std::string> args = {"completion", "bash"};
  std::reverse(args.begin(), args.end());
  tool.app().parse(args);
  std::ostringstream out;
  EXPECT_EQ(RunDocsCommand(tool.app(), tool.docs(), {}, out), 0);
  EXPECT_THAT(out.str(), HasSubstr("complete -o filenames -F _tool tool"));
}

// What bash completes for `words` (the last one being completed), with the
// script sourced in a real bash.
std::set<std::string> Complete(const std::string& script, const std::vector<std::string>& words) {
  std::string array;
  for (const std::string& word : words) absl::StrAppend(&array, " '", word, "'");
  ProcessOptions options;
  options.argv = {"bash", "-c",
                  absl::StrCat("source /dev/stdin; COMP_WORDS=(", array, "); COMP_CWORD=",
                               words.size() - 1,
                               "; _tool; printf '%s\\n' \"${COMPREPLY[@]}\"")};
  options.stdin_text = script;
  absl::StatusOr<ProcessResult> result = RunProcess(options);
  EXPECT_TRUE(result.ok() && result->Succeeded())
      << (result.ok() ? result->stderr_text : result.status().ToString());
  if (!result.ok()) return {};
  std::set<std::string> completions;
  for (absl::string_view line : absl::StrSplit(result->stdout_text, '\n', absl::SkipEmpty())) {
    completions.insert(std::string(line));
  }
  return completions;
}

TEST(BashCompletionTest, CompletesTheSubcommandsOfEachLevel) {
  ToolApp tool;
  const std::string script = RenderBashCompletion(ReadCommandTree(tool.app()));
  EXPECT_EQ(Complete(script, {"tool", ""}), (std::set<std::string>{"apply", "get"}));
  EXPECT_EQ(Complete(script, {"tool", "get", ""}), (std::set<std::string>{"apps", "hosts"}));
  EXPECT_EQ(Complete(script, {"tool", "get", "h"}), (std::set<std::string>{"hosts"}));
}

TEST(BashCompletionTest, OffersTheOptionsOfTheCommandAndOfTheCommandsAboveIt) {
  ToolApp tool;
  const std::string script = RenderBashCompletion(ReadCommandTree(tool.app()));
  EXPECT_EQ(Complete(script, {"tool", "get", "apps", "--"}),
            (std::set<std::string>{"--all", "--help", "--insecure", "--output", "--server",
                                   "--token-file"}));
  EXPECT_EQ(Complete(script, {"tool", "--"}),
            (std::set<std::string>{"--help", "--insecure", "--output", "--server",
                                   "--token-file"}));
}

TEST(BashCompletionTest, AnOptionsValueIsNotTakenForASubcommand) {
  ToolApp tool;
  const std::string script = RenderBashCompletion(ReadCommandTree(tool.app()));
  // "get" is --server's value here, so the command is still the top level.
  EXPECT_EQ(Complete(script, {"tool", "--server", "get", ""}),
            (std::set<std::string>{"apply", "get"}));
  // A value that is not a file name completes to nothing.
  EXPECT_EQ(Complete(script, {"tool", "-o", ""}), std::set<std::string>{});
}

// Runs `script` in a real zsh after `setup`, then `then`.
ProcessResult RunZsh(const std::string& script, const std::string& setup,
                     const std::string& then) {
  ProcessOptions options;
  options.argv = {"zsh", "-f", "-c", absl::StrCat(setup, "; source /dev/stdin; ", then)};
  options.stdin_text = script;
  absl::StatusOr<ProcessResult> result = RunProcess(options);
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *result : ProcessResult{};
}

// What zsh offers for `words` (the last one being completed): the script
// runs in a real zsh with the completion system's registration and output
// functions replaced by ones that print the candidates ("WORD:DESCRIPTION"
// as _describe gets them, "<files>" for _files). Registering for real is
// ZshCompletionTest.RegistersItselfWithCompinit.
std::vector<std::string> ZshCandidates(const std::string& script,
                                       const std::vector<std::string>& words) {
  std::string array;
  for (const std::string& word : words) absl::StrAppend(&array, " '", word, "'");
  const ProcessResult result = RunZsh(
      script, "compdef() { :; }",
      absl::StrCat("_describe() { print -rl -- \"${(@P)4}\"; }; _files() { print -- '<files>'; }; "
                   "words=(", array, "); CURRENT=", words.size(), "; _tool"));
  EXPECT_EQ(result.stderr_text, "") << result.Describe();
  return absl::StrSplit(result.stdout_text, '\n', absl::SkipEmpty());
}

// The words of ZshCandidates that start with the word being completed (as
// zsh's matching would keep), without their descriptions.
std::set<std::string> ZshComplete(const std::string& script,
                                  const std::vector<std::string>& words) {
  std::set<std::string> completions;
  for (const std::string& candidate : ZshCandidates(script, words)) {
    const std::string word = candidate.substr(0, candidate.find(':'));
    if (word == "<files>" || absl::StartsWith(word, words.back())) completions.insert(word);
  }
  return completions;
}

TEST(ZshCompletionTest, RegistersItselfWithCompinit) {
  ToolApp tool;
  const ProcessResult result = RunZsh(RenderZshCompletion(ReadCommandTree(tool.app())),
                                      "autoload -U compinit && compinit -u -D",
                                      "print -r -- ${_comps[tool]}");
  EXPECT_TRUE(result.Succeeded()) << result.Describe() << result.stderr_text;
  EXPECT_EQ(result.stdout_text, "_tool\n") << result.stderr_text;
}

TEST(ZshCompletionTest, CompletesTheSubcommandsOfEachLevelWithTheirDescriptions) {
  ToolApp tool;
  const std::string script = RenderZshCompletion(ReadCommandTree(tool.app()));
  EXPECT_THAT(ZshCandidates(script, {"tool", ""}),
              UnorderedElementsAre("get:list objects", "apply:store an app"));
  EXPECT_EQ(ZshComplete(script, {"tool", "get", ""}), (std::set<std::string>{"apps", "hosts"}));
  EXPECT_EQ(ZshComplete(script, {"tool", "get", "apps", ""}), std::set<std::string>{"<files>"});
}

TEST(ZshCompletionTest, OffersTheSameOptionsAsBash) {
  ToolApp tool;
  const CommandDoc tree = ReadCommandTree(tool.app());
  const std::string zsh = RenderZshCompletion(tree);
  const std::string bash = RenderBashCompletion(tree);
  for (const std::vector<std::string>& words : std::vector<std::vector<std::string>>{
           {"tool", "get", "apps", "--"}, {"tool", "--"}, {"tool", "get", "-"}}) {
    EXPECT_EQ(ZshComplete(zsh, words), Complete(bash, words)) << absl::StrJoin(words, " ");
  }
}

TEST(ZshCompletionTest, AnOptionsValueIsNotTakenForASubcommand) {
  ToolApp tool;
  const std::string script = RenderZshCompletion(ReadCommandTree(tool.app()));
  EXPECT_EQ(ZshComplete(script, {"tool", "--server", "get", ""}),
            (std::set<std::string>{"apply", "get"}));
  EXPECT_EQ(ZshComplete(script, {"tool", "-o", ""}), std::set<std::string>{});
  EXPECT_EQ(ZshComplete(script, {"tool", "--token-file", ""}), std::set<std::string>{"<files>"});
}

TEST(ZshCompletionTest, QuotesInDescriptionsStayText) {
  CLI::App app{"quoting"};
  app.name("tool");
  app.add_subcommand("run", "it's $(touch /tmp/pwned) `x` \\ done");
  const std::vector<std::string> offered =
      ZshCandidates(RenderZshCompletion(ReadCommandTree(app)), {"tool", ""});
  EXPECT_THAT(offered, UnorderedElementsAre("run:it's $(touch /tmp/pwned) `x` \\ done"));
}

}  // namespace
}  // namespace pyservice::cli_docs

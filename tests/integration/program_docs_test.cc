// The real programs' man pages and pyctl's bash completion, checked against
// what each program's own --help says (read independently of
// common/cli_docs/, command by command): every subcommand and every option
// is documented, the page renders with man -l, and completion offers every
// subcommand at every level.
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/process/subprocess.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pyservice {
namespace {

struct HelpCommand {
  std::vector<std::string> path;  // after the program
  std::vector<std::string> options;
  std::vector<std::string> subcommands;
};

ProcessResult RunTool(std::vector<std::string> argv, const std::string& stdin_text = "") {
  ProcessOptions options;
  options.argv = std::move(argv);
  options.stdin_text = stdin_text;
  options.env = std::vector<std::string>{"PATH=/usr/bin:/bin", "MANWIDTH=2000", "LANG=C"};
  absl::StatusOr<ProcessResult> result = RunProcess(options);
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *result : ProcessResult{};
}

// `PROGRAM PATH... --help`, read: "Options:" lines give option names
// ("-o,--output TYPE"), "Subcommands:" lines subcommand names.
void ReadHelp(const std::string& program, std::vector<std::string> path,
              std::vector<HelpCommand>& commands) {
  std::vector<std::string> argv = {program};
  argv.insert(argv.end(), path.begin(), path.end());
  argv.push_back("--help");
  const ProcessResult help = RunTool(argv);
  ASSERT_TRUE(help.Succeeded()) << absl::StrJoin(argv, " ") << ": " << help.stderr_text;
  HelpCommand command;
  command.path = path;
  std::string section;
  for (absl::string_view line : absl::StrSplit(help.stdout_text, '\n')) {
    if (!absl::StartsWith(line, " ")) {
      section = std::string(line);
      continue;
    }
    const absl::string_view entry = absl::StripLeadingAsciiWhitespace(line);
    if (section == "Options:" && absl::StartsWith(entry, "-") && absl::StartsWith(line, "  -")) {
      const std::string names(entry.substr(0, entry.find(' ')));
      for (absl::string_view name : absl::StrSplit(names, ',')) {
        if (name != "-h" && name != "--help") command.options.emplace_back(name);
      }
    } else if (section == "Subcommands:" && absl::StartsWith(line, "  ") &&
               !absl::StartsWith(line, "   ")) {
      // "apps, app": the name, then its aliases.
      command.subcommands.emplace_back(
          absl::StripSuffix(entry.substr(0, entry.find(' ')), ","));
    }
  }
  // A leaf's --help (CLI11, with fallthrough) repeats its parent's
  // subcommands: those are not its own.
  if (!path.empty() && absl::c_linear_search(command.subcommands, path.back())) {
    command.subcommands.clear();
  }
  commands.push_back(command);
  for (const std::string& sub : command.subcommands) {
    std::vector<std::string> sub_path = path;
    sub_path.push_back(sub);
    ReadHelp(program, sub_path, commands);
  }
}

// The rendered page's part about one command: from its heading (indented by
// three spaces, "   pyctl rollout status") to the next heading.
std::string CommandSection(const std::string& page, const std::string& heading) {
  const std::string marker = absl::StrCat("\n   ", heading, "\n");
  const size_t start = page.find(marker);
  if (start == std::string::npos) return "";
  size_t end = page.find("\n   ", start + marker.size());
  while (end != std::string::npos && page[end + 4] == ' ') end = page.find("\n   ", end + 4);
  return page.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

void ExpectManPageCoversHelp(const std::string& binary, const std::string& name) {
  const ProcessResult roff = RunTool({binary, "man"});
  ASSERT_TRUE(roff.Succeeded()) << roff.stderr_text;
  const ProcessResult rendered = RunTool({"man", "--warnings", "-l", "-"}, roff.stdout_text);
  ASSERT_TRUE(rendered.Succeeded()) << rendered.stderr_text;
  EXPECT_EQ(rendered.stderr_text, "") << "man -l warned";
  const std::string& page = rendered.stdout_text;
  std::vector<HelpCommand> commands;
  ReadHelp(binary, {}, commands);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  for (const HelpCommand& command : commands) {
    const std::string heading = absl::StrJoin(command.path, " ");
    const std::string section =
        command.path.empty()
            ? page.substr(0, page.find("\nCOMMANDS\n"))
            : CommandSection(page, absl::StrCat(name, " ", heading));
    ASSERT_FALSE(section.empty()) << name << " " << heading << ": no section in the man page";
    for (const std::string& option : command.options) {
      EXPECT_THAT(section, ::testing::HasSubstr(option))
          << name << " " << heading << ": " << option << " not in its man page section";
    }
  }
}

TEST(ProgramDocsTest, PyctlManPageDocumentsEverySubcommandAndOption) {
  ExpectManPageCoversHelp(PYCTL_BIN, "pyctl");
}
TEST(ProgramDocsTest, AgentManPageDocumentsEverySubcommandAndOption) {
  ExpectManPageCoversHelp(AGENT_BIN, "pyservice-agent");
}
TEST(ProgramDocsTest, ControllerManPageDocumentsEverySubcommandAndOption) {
  ExpectManPageCoversHelp(CONTROLLER_BIN, "pyservice-controller");
}

// The shell's command line that sources pyctl's completion script (from
// stdin) and prints the words it offers after `words` (the command path),
// at that path's depth (`depth` words before the one completed).
using CompletionCommand =
    std::function<std::vector<std::string>(const std::string& words, size_t depth)>;

void ExpectCompletionOffersEverySubcommand(const std::string& shell,
                                           const CompletionCommand& command_line) {
  const ProcessResult script = RunTool({PYCTL_BIN, "completion", shell});
  ASSERT_TRUE(script.Succeeded()) << script.stderr_text;
  std::vector<HelpCommand> commands;
  ReadHelp(PYCTL_BIN, {}, commands);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  for (const HelpCommand& command : commands) {
    if (command.subcommands.empty()) continue;
    std::string words = "pyctl";
    for (const std::string& word : command.path) absl::StrAppend(&words, " ", word);
    const ProcessResult completed =
        RunTool(command_line(words, command.path.size() + 1), script.stdout_text);
    ASSERT_TRUE(completed.Succeeded()) << completed.stderr_text;
    std::vector<std::string> offered = absl::StrSplit(completed.stdout_text, '\n',
                                                      absl::SkipEmpty());
    EXPECT_THAT(offered, ::testing::UnorderedElementsAreArray(command.subcommands))
        << shell << ": " << words;
  }
}

TEST(ProgramDocsTest, PyctlBashCompletionOffersEverySubcommandAtEveryLevel) {
  ExpectCompletionOffersEverySubcommand("bash", [](const std::string& words, size_t depth) {
    return std::vector<std::string>{
        "bash", "-c",
        absl::StrCat("source /dev/stdin; COMP_WORDS=(", words, " ''); COMP_CWORD=", depth,
                     "; _pyctl; printf '%s\\n' \"${COMPREPLY[@]}\"")};
  });
}

TEST(ProgramDocsTest, PyctlZshCompletionOffersEverySubcommandAtEveryLevel) {
  // zsh's completion output function replaced by one printing the words it
  // is given (without their descriptions); zsh counts words from 1.
  ExpectCompletionOffersEverySubcommand("zsh", [](const std::string& words, size_t depth) {
    return std::vector<std::string>{
        "zsh", "-f", "-c",
        absl::StrCat("compdef() { :; }; source /dev/stdin; "
                     "_describe() { print -rl -- \"${(@)${(@P)4}%%:*}\"; }; "
                     "words=(", words, " ''); CURRENT=", depth + 1, "; _pyctl")};
  });
}

}  // namespace
}  // namespace pyservice

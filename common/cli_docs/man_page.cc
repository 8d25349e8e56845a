#include "common/cli_docs/man_page.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace pyservice::cli_docs {
namespace {

std::string Bold(const std::string& text) { return absl::StrCat("\\fB", EscapeRoff(text), "\\fR"); }
std::string Italic(const std::string& text) {
  return absl::StrCat("\\fI", EscapeRoff(text), "\\fR");
}

// Paragraphs separated by an empty line become .PP paragraphs.
std::string Paragraphs(const std::string& text) {
  std::string out;
  for (absl::string_view paragraph : absl::StrSplit(text, "\n\n", absl::SkipWhitespace())) {
    absl::StrAppend(&out, ".PP\n", EscapeRoff(std::string(paragraph)), "\n");
  }
  return out;
}

std::string PositionalUsage(const PositionalDoc& positional) {
  std::string usage = Italic(absl::AsciiStrToUpper(positional.name));
  if (positional.repeatable) absl::StrAppend(&usage, "...");
  return positional.required ? usage : absl::StrCat("[", usage, "]");
}

std::string Usage(const CommandDoc& command) {
  std::string usage = absl::StrCat(Bold(JoinPath(command.path)), " [", Italic("OPTIONS"), "]");
  for (const PositionalDoc& positional : command.positionals) {
    absl::StrAppend(&usage, " ", PositionalUsage(positional));
  }
  if (!command.subcommands.empty()) absl::StrAppend(&usage, " ", Italic("COMMAND"), " ...");
  return absl::StrCat(usage, "\n");
}

std::string OptionItem(const OptionDoc& option) {
  std::vector<std::string> names;
  for (const std::string& name : option.names) names.push_back(Bold(name));
  std::string item = absl::StrCat(".TP\n", absl::StrJoin(names, ", "));
  if (!option.value_name.empty()) absl::StrAppend(&item, " ", Italic(option.value_name));
  absl::StrAppend(&item, "\n", EscapeRoff(option.description));
  if (!option.env.empty()) absl::StrAppend(&item, " (environment: ", Bold(option.env), ")");
  return absl::StrCat(item, "\n");
}

std::string Arguments(const CommandDoc& command) {
  std::string out;
  for (const PositionalDoc& positional : command.positionals) {
    absl::StrAppend(&out, ".TP\n", Italic(absl::AsciiStrToUpper(positional.name)), "\n",
                    EscapeRoff(positional.description), "\n");
  }
  for (const OptionDoc& option : command.options) absl::StrAppend(&out, OptionItem(option));
  return out;
}

// Depth first, so a command's subcommands follow it.
void AppendCommands(const CommandDoc& command, std::string& out) {
  for (const CommandDoc& sub : command.subcommands) {
    absl::StrAppend(&out, ".SS \"", EscapeRoff(JoinPath(sub.path)), "\"\n", Usage(sub), ".PP\n",
                    EscapeRoff(sub.description), "\n", Arguments(sub));
    AppendCommands(sub, out);
  }
}

}  // namespace

std::string EscapeRoff(const std::string& text) {
  std::string out;
  bool line_start = true;
  for (char c : text) {
    if (line_start && (c == '.' || c == '\'')) out += "\\&";
    line_start = c == '\n';
    if (c == '\\') {
      out += "\\e";
    } else if (c == '-') {
      out += "\\-";
    } else {
      out += c;
    }
  }
  return out;
}

std::string RenderManPage(const CommandDoc& root, const ManPageInfo& info) {
  const std::string& name = root.path.front();
  std::string out = absl::StrCat(".TH ", absl::AsciiStrToUpper(name), " ", info.section,
                                 " \"\" \"pyservice ", PYSERVICE_VERSION,
                                 "\" \"pyservice manual\"\n",
                                 ".SH NAME\n", EscapeRoff(name), " \\- ",
                                 EscapeRoff(info.summary), "\n", ".SH SYNOPSIS\n", Usage(root));
  absl::StrAppend(&out, ".SH DESCRIPTION\n", Paragraphs(info.description));
  absl::StrAppend(&out, ".SH OPTIONS\n", Arguments(root), ".TP\n", Bold("-h"), ", ",
                  Bold("--help"), "\nprint the options of the program, or of the command it "
                  "follows, and exit\n");
  if (!root.subcommands.empty()) {
    absl::StrAppend(&out, ".SH COMMANDS\n");
    AppendCommands(root, out);
  }
  for (const ManSection& section : info.extra_sections) {
    absl::StrAppend(&out, ".SH ", EscapeRoff(absl::AsciiStrToUpper(section.title)), "\n",
                    Paragraphs(section.text));
  }
  return out;
}

}  // namespace pyservice::cli_docs

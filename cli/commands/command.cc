#include "cli/commands/command.h"

#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cli/output/table.h"

namespace pyservice::cli {

absl::StatusOr<std::unique_ptr<ControllerClient>> CommandContext::Connect()
    const {
  return ControllerClient::Connect(controller);
}

void CommandContext::Print(const Document& document,
                           absl::string_view human) const {
  std::string text;
  switch (format) {
    case OutputFormat::kJson:
      text = ToJson(document);
      break;
    case OutputFormat::kYaml:
      text = ToYaml(document);
      break;
    case OutputFormat::kTable:
      text = std::string(human);
      break;
  }
  if (!text.empty() && !absl::EndsWith(text, "\n")) text.push_back('\n');
  *out << text << std::flush;
}

void AddGlobalOptions(CLI::App& app, GlobalOptions& options) {
  app.add_option("--controller", options.controller,
                 "controller address, HOST:PORT or unix:/absolute/path")
      ->envname("PYCTL_CONTROLLER")
      ->type_name("ADDR")
      ->capture_default_str();
  app.add_option("-o,--output", options.output, "output format")
      ->check(CLI::IsMember({"table", "json", "yaml"}))
      ->type_name("table|json|yaml")
      ->capture_default_str();
}

int RunCommand(const Command& command, const GlobalOptions& options,
               std::ostream& out, std::ostream& err) {
  CommandContext context;
  context.controller = options.controller;
  context.format = options.output == "json"   ? OutputFormat::kJson
                   : options.output == "yaml" ? OutputFormat::kYaml
                                              : OutputFormat::kTable;
  context.out = &out;
  context.color = ShouldColor(STDOUT_FILENO);
  const absl::Status status = command(context);
  if (status.ok()) return 0;
  std::string message(status.message());
  if (message.empty()) message = absl::StatusCodeToString(status.code());
  for (absl::string_view line : absl::StrSplit(message, '\n')) {
    if (!line.empty()) err << "pyctl: " << line << "\n";
  }
  err << std::flush;
  return 1;
}

absl::Status AppNotFoundOr(const absl::Status& status, absl::string_view app) {
  if (status.code() != absl::StatusCode::kNotFound) return status;
  return absl::NotFoundError(absl::StrCat("app \"", app, "\" not found"));
}

}  // namespace pyservice::cli

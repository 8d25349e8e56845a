#include "cli/commands/command.h"

#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cli/commands/token_file.h"
#include "cli/output/table.h"

namespace pyservice::cli {

absl::StatusOr<std::unique_ptr<ControllerClient>> CommandContext::Connect()
    const {
  return ControllerClient::Connect(controller, client_options);
}

namespace {

// A final newline is added when missing.
void Write(std::ostream& out, std::string text) {
  if (!text.empty() && !absl::EndsWith(text, "\n")) text.push_back('\n');
  out << text << std::flush;
}

}  // namespace

void CommandContext::Print(const Document& document,
                           absl::string_view human) const {
  switch (format) {
    case OutputFormat::kJson:
      return Write(*out, ToJson(document));
    case OutputFormat::kYaml:
      return Write(*out, ToYaml(document));
    case OutputFormat::kTable:
      return Write(*out, std::string(human));
  }
}

void CommandContext::Print(const std::function<Document()>& document,
                           const std::function<std::string()>& human) const {
  switch (format) {
    case OutputFormat::kJson:
      return Write(*out, ToJson(document()));
    case OutputFormat::kYaml:
      return Write(*out, ToYaml(document()));
    case OutputFormat::kTable:
      return Write(*out, human());
  }
}

void AddGlobalOptions(CLI::App& app, GlobalOptions& options) {
  app.add_option("--controller", options.controller,
                 "controller address, HOST:PORT or unix:/absolute/path; several, comma-separated, "
                 "for controllers on one etcd store: pyctl uses the leader")
      ->envname("PYCTL_CONTROLLER")
      ->type_name("ADDR")
      ->capture_default_str();
  app.add_option("-o,--output", options.output, "output format")
      ->check(CLI::IsMember({"table", "json", "yaml"}))
      ->type_name("table|json|yaml")
      ->capture_default_str();
  app.add_option("--tls-ca", options.tls_ca,
                 "CA (PEM) the controller's certificate must chain to: use TLS")
      ->envname("PYCTL_TLS_CA")
      ->type_name("FILE");
  app.add_option("--tls-cert", options.tls_cert,
                 "client certificate (PEM), for a TLS proxy in front of the controller "
                 "that requires one; the controller itself knows operators by "
                 "their token")
      ->envname("PYCTL_TLS_CERT")
      ->type_name("FILE");
  app.add_option("--tls-key", options.tls_key,
                 "the client certificate's key (PEM)")
      ->envname("PYCTL_TLS_KEY")
      ->type_name("FILE");
  app.add_option("--token-file", options.token_file,
                 "file holding your operator token (mode 0600); or the token in "
                 "$PYCTL_TOKEN")
      ->envname("PYCTL_TOKEN_FILE")
      ->type_name("FILE");
  app.add_flag("--insecure", options.insecure,
               "allow plaintext to a non-loopback TCP controller");
}

int RunCommand(const Command& command, const GlobalOptions& options,
               std::ostream& out, std::ostream& err) {
  CommandContext context;
  context.controller = options.controller;
  context.client_options.tls.ca_file = options.tls_ca;
  context.client_options.tls.cert_file = options.tls_cert;
  context.client_options.tls.key_file = options.tls_key;
  context.client_options.insecure = options.insecure;
  absl::StatusOr<std::string> token = ReadOperatorToken(options.token_file);
  if (!token.ok()) {
    err << "pyctl: " << token.status().message() << "\n" << std::flush;
    return 1;
  }
  context.client_options.token = *std::move(token);
  context.format = options.output == "json"   ? OutputFormat::kJson
                   : options.output == "yaml" ? OutputFormat::kYaml
                                              : OutputFormat::kTable;
  context.out = &out;
  context.color = ShouldColor(STDOUT_FILENO);
  context.terminal = isatty(STDOUT_FILENO) == 1;
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

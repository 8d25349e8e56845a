// What every pyctl command shares: the global options, the context a
// command runs in, and printing a result in the chosen output format.
//
// A command is a CLI11 subcommand plus a Command function. The subcommand's
// options fill a struct owned by the function; parsing picks the function;
// main runs it. Commands return statuses; RunCommand turns them into the
// one "pyctl: ..." line on stderr and the exit status.
#ifndef PYSERVICE_CLI_COMMANDS_COMMAND_H_
#define PYSERVICE_CLI_COMMANDS_COMMAND_H_

#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cli/client/controller_client.h"
#include "cli/output/document.h"

namespace pyservice::cli {

enum class OutputFormat { kTable, kJson, kYaml };

// Options valid before or after any subcommand.
struct GlobalOptions {
  // --controller, else $PYCTL_CONTROLLER, else the default.
  std::string controller = kDefaultControllerAddress;
  // -o/--output: table, json or yaml.
  std::string output = "table";
  // --tls-ca / --tls-cert / --tls-key, else $PYCTL_TLS_CA / _CERT / _KEY:
  // TLS to the controller, with a client certificate for mutual TLS.
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
  // --insecure: plaintext to a non-loopback TCP controller.
  bool insecure = false;
  // --token-file (else $PYCTL_TOKEN_FILE), or the token itself in
  // $PYCTL_TOKEN: the operator's bearer token. Never a command-line value:
  // argv is visible to every user of the machine.
  std::string token_file;
};

struct CommandContext {
  std::string controller;
  // Transport security and timeouts for Connect.
  ControllerClientOptions client_options;
  OutputFormat format = OutputFormat::kTable;
  std::ostream* out = nullptr;
  // Colors for humans: only when stdout is a terminal.
  bool color = false;
  // stdout is a terminal: live progress may redraw in place.
  bool terminal = false;

  // Connects to `controller` (see ControllerClient::Connect).
  absl::StatusOr<std::unique_ptr<ControllerClient>> Connect() const;
  // Prints `document` as JSON or YAML, or for table output the text
  // `human`. A final newline is added when missing.
  void Print(const Document& document, absl::string_view human) const;
  // The same for listings that grow with the fleet (a line per host): only
  // the form asked for is built, since building the other one for 10,000
  // hosts cost more than the request itself.
  void Print(const std::function<Document()>& document,
             const std::function<std::string()>& human) const;
};

using Command = std::function<absl::Status(const CommandContext&)>;

// Adds --controller, -o, --tls-ca, --tls-cert, --tls-key, --token-file and
// --insecure to `app`, bound to `options`.
void AddGlobalOptions(CLI::App& app, GlobalOptions& options);

// Runs `command` and returns the exit status: 0 on success, 1 otherwise,
// after writing the error to `err` as "pyctl: MESSAGE", one such line per
// line of the message (INVALID_ARGUMENT from apply lists one problem per
// line).
int RunCommand(const Command& command, const GlobalOptions& options,
               std::ostream& out, std::ostream& err);

// `app "NAME" not found` for NOT_FOUND, `status` unchanged otherwise.
absl::Status AppNotFoundOr(const absl::Status& status, absl::string_view app);

}  // namespace pyservice::cli

#endif  // PYSERVICE_CLI_COMMANDS_COMMAND_H_

// pyctl auth: operator tokens (admin only) and who you are.
//   pyctl auth create-token NAME --role admin|deployer|viewer [--app PATTERN]... [--ttl 30d]
//   pyctl auth list
//   pyctl auth revoke NAME
//   pyctl auth whoami
// create-token prints the token alone on stdout (table output), so
// `pyctl auth create-token ci --role deployer > ci.token` keeps it out of
// the terminal's scrollback; it is shown once and stored only as a hash.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/commands/access_format.h"
#include "cli/commands/commands.h"
#include "cli/output/table.h"
#include "common/status/status_macros.h"

namespace pyservice::cli {
namespace {

struct CreateTokenOptions {
  std::string name;
  std::string role;
  std::vector<std::string> apps;
  std::string ttl;
};

Document AppsDocument(const google::protobuf::RepeatedPtrField<std::string>& apps) {
  Document list = Document::List();
  for (const std::string& app : apps) list.Append(Document::String(app));
  return list;
}

Document TokenDocument(const v1::TokenInfo& token) {
  return Document::Map()
      .Set("id", Document::Int(token.id()))
      .Set("name", Document::String(token.name()))
      .Set("role", Document::String(RoleText(token.role())))
      .Set("apps", AppsDocument(token.apps()))
      .Set("created_at", Document::String(token.created_at()))
      .Set("expires_at", Document::String(token.expires_at()))
      .Set("revoked", Document::Bool(token.revoked()));
}

absl::Status RunCreateToken(const CreateTokenOptions& options, const CommandContext& context) {
  v1::CreateTokenRequest request;
  request.set_name(options.name);
  ASSIGN_OR_RETURN(const v1::Role role, ParseRole(options.role));
  request.set_role(role);
  for (const std::string& app : options.apps) request.add_apps(app);
  ASSIGN_OR_RETURN(const absl::Duration ttl, ParseTtl("--ttl", options.ttl));
  request.set_ttl_seconds(absl::ToInt64Seconds(ttl));
  ASSIGN_OR_RETURN(std::unique_ptr<ControllerClient> client, context.Connect());
  ASSIGN_OR_RETURN(const v1::CreateTokenResponse response, client->CreateToken(request));
  std::cerr << "pyctl: created " << RoleText(role) << " token \"" << options.name << "\""
            << (options.apps.empty() ? "" : " for apps " + absl::StrJoin(options.apps, ","))
            << (response.info().expires_at().empty()
                    ? ""
                    : ", expiring " + response.info().expires_at())
            << "; it is shown only now\n";
  context.Print(TokenDocument(response.info()).Set("token", Document::String(response.token())),
                response.token());
  return absl::OkStatus();
}

absl::Status RunListTokens(const CommandContext& context) {
  ASSIGN_OR_RETURN(std::unique_ptr<ControllerClient> client, context.Connect());
  ASSIGN_OR_RETURN(const v1::ListTokensResponse response,
                   client->ListTokens(v1::ListTokensRequest()));
  Document tokens = Document::List();
  std::vector<std::vector<std::string>> rows;
  for (const v1::TokenInfo& token : response.tokens()) {
    tokens.Append(TokenDocument(token));
    rows.push_back({absl::StrCat(token.id()), token.name(), RoleText(token.role()),
                    token.apps().empty() ? "*" : absl::StrJoin(token.apps(), ","),
                    token.created_at(), token.expires_at().empty() ? "never" : token.expires_at(),
                    token.revoked() ? "revoked" : "active"});
  }
  context.Print(tokens, RenderTable({"ID", "NAME", "ROLE", "APPS", "CREATED", "EXPIRES", "STATE"},
                                    rows));
  return absl::OkStatus();
}

absl::Status RunRevokeToken(const std::string& name, const CommandContext& context) {
  v1::RevokeTokenRequest request;
  request.set_name(name);
  ASSIGN_OR_RETURN(std::unique_ptr<ControllerClient> client, context.Connect());
  RETURN_IF_ERROR(client->RevokeToken(request).status());
  context.Print(Document::Map()
                    .Set("name", Document::String(name))
                    .Set("revoked", Document::Bool(true)),
                absl::StrCat("token \"", name, "\" revoked\n"));
  return absl::OkStatus();
}

absl::Status RunWhoAmI(const CommandContext& context) {
  ASSIGN_OR_RETURN(std::unique_ptr<ControllerClient> client, context.Connect());
  ASSIGN_OR_RETURN(const v1::WhoAmIResponse response, client->WhoAmI(v1::WhoAmIRequest()));
  context.Print(Document::Map()
                    .Set("name", Document::String(response.name()))
                    .Set("role", Document::String(RoleText(response.role())))
                    .Set("apps", AppsDocument(response.apps()))
                    .Set("credential", Document::String(response.credential())),
                absl::StrCat(response.name(), " (", RoleText(response.role()),
                             response.apps().empty()
                                 ? ""
                                 : ", apps " + absl::StrJoin(response.apps(), ","),
                             ") by ", response.credential(), "\n"));
  return absl::OkStatus();
}

}  // namespace

void AddAuthCommand(CLI::App& app, Command& selected) {
  CLI::App* auth = app.add_subcommand("auth", "Operator tokens and who you are");
  auth->require_subcommand(1);

  CLI::App* create = auth->add_subcommand(
      "create-token", "Create an operator token (admin); prints it once");
  auto options = std::make_shared<CreateTokenOptions>();
  create->add_option("name", options->name, "a unique name for the token")
      ->required()
      ->type_name("NAME");
  create->add_option("--role", options->role, "admin, deployer or viewer")
      ->required()
      ->type_name("ROLE");
  create->add_option("--app", options->apps,
                     "limit it to apps matching PATTERN (* is a wildcard); repeatable")
      ->type_name("PATTERN")
      ->allow_extra_args(false);
  create->add_option("--ttl", options->ttl, "lifetime, e.g. 12h or 30d (default: none)")
      ->type_name("TTL");
  create->callback([options, &selected] {
    selected = [options](const CommandContext& context) {
      return RunCreateToken(*options, context);
    };
  });

  auth->add_subcommand("list", "List operator tokens (admin)")->callback([&selected] {
    selected = RunListTokens;
  });

  CLI::App* revoke = auth->add_subcommand("revoke", "Revoke an operator token (admin)");
  auto name = std::make_shared<std::string>();
  revoke->add_option("name", *name, "the token's name")->required()->type_name("NAME");
  revoke->callback([name, &selected] {
    selected = [name](const CommandContext& context) { return RunRevokeToken(*name, context); };
  });

  auth->add_subcommand("whoami", "Who the controller takes you for")->callback([&selected] {
    selected = RunWhoAmI;
  });
}

}  // namespace pyservice::cli

// pyctl host: enrolling and revoking hosts (admin only).
//   pyctl host enroll-token NAME [--label K=V]... [--ttl 1h]
//   pyctl host revoke NAME
// enroll-token prints the single-use token alone on stdout; the agent
// reads it from a file (--enrollment-token-file), never from its argv.
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cli/commands/access_format.h"
#include "cli/commands/commands.h"
#include "common/spec/validators.h"
#include "common/status/status_macros.h"

namespace pyservice::cli {
namespace {

struct EnrollTokenOptions {
  std::string host;
  std::vector<std::string> labels;
  std::string ttl;
};

absl::Status RunEnrollToken(const EnrollTokenOptions& options, const CommandContext& context) {
  v1::CreateEnrollmentTokenRequest request;
  request.set_host(options.host);
  for (const std::string& label : options.labels) {
    std::vector<std::string> parts = absl::StrSplit(label, absl::MaxSplits('=', 1));
    if (parts.size() != 2) {
      return absl::InvalidArgumentError(
          absl::StrCat("--label: \"", label, "\" is not KEY=VALUE"));
    }
    RETURN_IF_ERROR(spec::ValidateLabelKey(parts[0]));
    RETURN_IF_ERROR(spec::ValidateLabelValue(parts[1]));
    (*request.mutable_labels())[parts[0]] = parts[1];
  }
  ASSIGN_OR_RETURN(const absl::Duration ttl, ParseTtl("--ttl", options.ttl));
  request.set_ttl_seconds(absl::ToInt64Seconds(ttl));
  ASSIGN_OR_RETURN(std::unique_ptr<ControllerClient> client, context.Connect());
  ASSIGN_OR_RETURN(const v1::CreateEnrollmentTokenResponse response,
                   client->CreateEnrollmentToken(request));
  std::cerr << "pyctl: enrollment token for host " << options.host << ", single use, expires "
            << response.expires_at() << "\n";
  Document labels = Document::Map();
  for (const auto& [key, value] : request.labels()) labels.Set(key, Document::String(value));
  context.Print(Document::Map()
                    .Set("host", Document::String(options.host))
                    .Set("labels", std::move(labels))
                    .Set("expires_at", Document::String(response.expires_at()))
                    .Set("token", Document::String(response.token())),
                response.token());
  return absl::OkStatus();
}

absl::Status RunRevokeHost(const std::string& name, const CommandContext& context) {
  v1::RevokeHostRequest request;
  request.set_name(name);
  ASSIGN_OR_RETURN(std::unique_ptr<ControllerClient> client, context.Connect());
  ASSIGN_OR_RETURN(const v1::RevokeHostResponse response, client->RevokeHost(request));
  context.Print(Document::Map()
                    .Set("host", Document::String(name))
                    .Set("certificates", Document::Int(response.certificates())),
                absl::StrCat("host ", name, ": ", response.certificates(),
                             " certificate(s) revoked; its stream is closed\n"));
  return absl::OkStatus();
}

}  // namespace

void AddHostCommand(CLI::App& app, Command& selected) {
  CLI::App* host = app.add_subcommand("host", "Enroll and revoke hosts");
  host->require_subcommand(1);

  CLI::App* enroll = host->add_subcommand(
      "enroll-token", "Create a single-use token a host enrolls with (admin); prints it");
  auto options = std::make_shared<EnrollTokenOptions>();
  enroll->add_option("name", options->host, "the host's name")->required()->type_name("NAME");
  enroll->add_option("--label", options->labels, "a label the host gets; repeatable")
      ->type_name("K=V")
      ->allow_extra_args(false);
  enroll->add_option("--ttl", options->ttl, "how long the token is valid (default 1h)")
      ->type_name("TTL");
  enroll->callback([options, &selected] {
    selected = [options](const CommandContext& context) {
      return RunEnrollToken(*options, context);
    };
  });

  CLI::App* revoke = host->add_subcommand(
      "revoke", "Revoke a host's certificates and close its stream (admin)");
  auto name = std::make_shared<std::string>();
  revoke->add_option("name", *name, "the host's name")->required()->type_name("NAME");
  revoke->callback([name, &selected] {
    selected = [name](const CommandContext& context) { return RunRevokeHost(*name, context); };
  });
}

}  // namespace pyservice::cli

// pyctl logs APP [--host H] [-n LINES] [--since T] [-f]: the journal of an
// app's units on the hosts that run it, "HOST UNIT TIME MESSAGE" per line,
// merged by time. With -f, new lines follow as the hosts write them (each
// host's in order) until interrupted.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cli/commands/commands.h"
#include "cli/commands/logs_format.h"
#include "common/status/status_macros.h"

namespace pyservice::cli {
namespace {

struct LogsOptions {
  std::string app;
  std::string host;
  uint32_t lines = 100;
  std::string since;
  bool follow = false;
};

// A host that could not be read, or lines dropped, said on stderr so the
// lines on stdout stay lines of the app.
void ReportProblems(const v1::TailLogsResponse& response) {
  for (const std::string& error : response.host_errors()) {
    std::cerr << "pyctl: " << error << "\n";
  }
  if (response.dropped() > 0) {
    std::cerr << "pyctl: " << response.dropped()
              << " line(s) dropped: the hosts wrote faster than they could be shown\n";
  }
}

absl::Status RunLogs(const LogsOptions& options, const CommandContext& context) {
  v1::TailLogsRequest request;
  request.set_app(options.app);
  request.set_host(options.host);
  request.set_lines(options.lines);
  request.set_follow(options.follow);
  if (!options.since.empty()) {
    ASSIGN_OR_RETURN(std::string since, SinceTime(options.since, absl::Now()));
    request.set_since(since);
  }
  ASSIGN_OR_RETURN(std::unique_ptr<ControllerClient> client, context.Connect());
  std::ostream& out = *context.out;
  std::vector<v1::LogEntry> all;
  absl::Status status = client->TailLogs(request, [&](const v1::TailLogsResponse& response) {
    ReportProblems(response);
    std::vector<v1::LogEntry> entries(response.entries().begin(), response.entries().end());
    if (!options.follow) {
      for (v1::LogEntry& entry : entries) all.push_back(std::move(entry));
      return true;
    }
    SortByTime(entries);
    for (const v1::LogEntry& entry : entries) {
      // JSON lines while following: one document per entry, as it comes.
      out << (context.format == OutputFormat::kTable
                  ? LogLine(entry)
                  : ToCompactJson(LogEntryDocument(entry)) + "\n");
    }
    out.flush();
    return true;
  });
  RETURN_IF_ERROR(status);
  if (options.follow) return absl::OkStatus();
  SortByTime(all);
  Document document = Document::List();
  std::string text;
  for (const v1::LogEntry& entry : all) {
    document.Append(LogEntryDocument(entry));
    absl::StrAppend(&text, LogLine(entry));
  }
  context.Print(document, text);
  return absl::OkStatus();
}

}  // namespace

void AddLogsCommand(CLI::App& app, Command& selected) {
  CLI::App* logs = app.add_subcommand(
      "logs", "The journal of an app's units on its hosts: HOST UNIT TIME MESSAGE");
  auto options = std::make_shared<LogsOptions>();
  logs->add_option("app", options->app, "the app")->required()->type_name("APP");
  logs->add_option("--host", options->host, "only this host")->type_name("HOST");
  logs->add_option("-n,--lines", options->lines, "the last LINES lines of each host (max 10000)")
      ->type_name("LINES")
      ->check(CLI::Range(1, 10000));
  logs->add_option("--since", options->since,
                   "only lines from this time on: RFC 3339, or a duration ago (10m, 2h)")
      ->type_name("TIME");
  logs->add_flag("-f,--follow", options->follow, "keep printing new lines until interrupted");
  logs->callback([options, &selected] {
    selected = [options](const CommandContext& context) { return RunLogs(*options, context); };
  });
}

}  // namespace pyservice::cli

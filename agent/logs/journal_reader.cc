#include "agent/logs/journal_reader.h"

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status/status_macros.h"
#include "common/text/log_text.h"
#include "common/text/utf8.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace pyservice::agent {
namespace {

// journalctl prints a field as a string, or as an array of byte values
// when it is not printable text (binary, or invalid UTF-8).
std::string FieldText(const google::protobuf::Value& value) {
  if (value.kind_case() == google::protobuf::Value::kStringValue) return value.string_value();
  std::string bytes;
  if (value.kind_case() == google::protobuf::Value::kListValue) {
    for (const google::protobuf::Value& byte : value.list_value().values()) {
      bytes.push_back(static_cast<char>(static_cast<unsigned char>(byte.number_value())));
    }
  }
  return bytes;
}

std::string Field(const google::protobuf::Struct& entry, const std::string& name) {
  const auto it = entry.fields().find(name);
  return it == entry.fields().end() ? std::string() : FieldText(it->second);
}

}  // namespace

std::vector<std::string> JournalctlArgv(const JournalQuery& query) {
  std::vector<std::string> argv = {"journalctl", "--no-pager", "--quiet", "-o", "json",
                                   "--output-fields=MESSAGE,PRIORITY,_SYSTEMD_UNIT,UNIT",
                                   absl::StrCat("--lines=", query.lines)};
  if (!query.after_cursor.empty()) {
    argv.push_back(absl::StrCat("--after-cursor=", query.after_cursor));
  } else if (query.since_unix_micros > 0) {
    // journalctl takes "@SECONDS"; entries of the same second before the
    // bound are dropped by the caller's filter (ParseJournalJson keeps
    // them; LogTailer compares the microseconds).
    argv.push_back(absl::StrCat("--since=@", query.since_unix_micros / 1000000));
  }
  for (const std::string& unit : query.units) argv.push_back(absl::StrCat("--unit=", unit));
  return argv;
}

JournalBatch ParseJournalJson(absl::string_view output, absl::string_view query_cursor,
                              const std::vector<std::string>& units) {
  JournalBatch batch;
  batch.cursor = std::string(query_cursor);
  for (absl::string_view line : absl::StrSplit(output, '\n', absl::SkipWhitespace())) {
    google::protobuf::Struct entry;
    if (!google::protobuf::util::JsonStringToMessage(std::string(line), &entry).ok()) continue;
    v1::JournalEntry parsed;
    std::string unit = Field(entry, "_SYSTEMD_UNIT");
    if (std::find(units.begin(), units.end(), unit) == units.end()) {
      // systemd's own lines about a unit ("Started ...") carry it as UNIT.
      if (std::string about = Field(entry, "UNIT");
          std::find(units.begin(), units.end(), about) != units.end()) {
        unit = std::move(about);
      }
    }
    parsed.set_unit(text::ToValidUtf8(unit));
    int64_t micros = 0;
    if (absl::SimpleAtoi(Field(entry, "__REALTIME_TIMESTAMP"), &micros)) {
      parsed.set_time_unix_micros(micros);
    }
    uint32_t priority = 6;
    if (!absl::SimpleAtoi(Field(entry, "PRIORITY"), &priority) || priority > 7) priority = 6;
    parsed.set_priority(priority);
    parsed.set_message(text::ToValidUtf8(Field(entry, "MESSAGE")));
    batch.entries.push_back(std::move(parsed));
    if (std::string cursor = Field(entry, "__CURSOR"); !cursor.empty()) {
      batch.cursor = std::move(cursor);
    }
  }
  return batch;
}

absl::StatusOr<JournalBatch> JournalctlReader::Read(const JournalQuery& query,
                                                    const std::function<bool()>& canceled) {
  if (query.units.empty()) return absl::InvalidArgumentError("no unit to read the journal of");
  ProcessOptions options;
  options.argv = JournalctlArgv(query);
  options.timeout = absl::Seconds(30);
  options.kill_grace = absl::Seconds(1);
  options.canceled = canceled;
  ASSIGN_OR_RETURN(ProcessResult result, processes_.Run(options));
  RETURN_IF_ERROR(InterruptionStatus(result, "journalctl"));
  if (!result.Succeeded()) {
    return absl::UnavailableError(absl::StrCat("journalctl: ", result.Describe(), ": ",
                                               text::ForLog(result.stderr_text, 500)));
  }
  return ParseJournalJson(result.stdout_text, query.after_cursor, query.units);
}

}  // namespace pyservice::agent

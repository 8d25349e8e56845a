#include "agent/config/agent_config.h"

#include <limits.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "agent/daemon/controller_connection.h"
#include "common/file/read_file.h"
#include "common/spec/spec_policy_config.h"
#include "common/spec/validators.h"
#include "common/spec/yaml_reader.h"
#include "common/status/status_macros.h"
#include "yaml-cpp/yaml.h"

namespace pyservice::agent {
namespace {

// A config file is a few lines; anything this big is the wrong file.
constexpr size_t kMaxConfigBytes = 1 << 20;

constexpr const char* kLogLevels[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};

// A duration ("90s", "1h30m") from `min` to `max` at `node`, into `out`;
// otherwise a problem at the value saying what is wanted.
void ReadDuration(const YAML::Node& node, const std::string& path, absl::Duration min,
                  absl::Duration max, absl::string_view example, spec::YamlReader& reader,
                  absl::Duration& out) {
  if (spec::YamlReader::Absent(node)) return;
  std::optional<std::string> text = reader.String(node, path);
  if (!text) return;
  absl::Duration value;
  if (!absl::ParseDuration(*text, &value) || value < min || value > max) {
    reader.Problem(node, path,
                   absl::StrCat("want a duration from ", absl::FormatDuration(min), " to ",
                                absl::FormatDuration(max), ", like ", example, " (got \"", *text,
                                "\")"));
    return;
  }
  out = value;
}

// timeouts: {fetch: 10m, environment: 15m, user: 1m}.
void ReadTimeouts(const YAML::Node& node, spec::YamlReader& reader,
                  AgentConfig::Timeouts& timeouts) {
  if (spec::YamlReader::Absent(node) ||
      !reader.Mapping(node, "timeouts", {"fetch", "environment", "user"})) {
    return;
  }
  for (auto [key, field] : {std::pair{"fetch", &timeouts.fetch},
                            std::pair{"environment", &timeouts.environment},
                            std::pair{"user", &timeouts.user}}) {
    ReadDuration(node[key], spec::Join("timeouts", key), absl::Seconds(1), absl::Hours(24), "15m",
                 reader, *field);
  }
}

void ReadConfig(const YAML::Node& root, spec::YamlReader& reader, AgentConfig& config) {
  if (spec::YamlReader::Absent(root)) return;  // an empty file changes nothing
  if (!reader.Mapping(root, "",
                      {"controller", "host", "labels", "state_dir", "pip_options", "log_level",
                       "tls_ca", "tls_cert", "tls_key", "tls_server_name", "enrollment_token_file",
                       "insecure", "spec_policy", "timeouts", "keepalive_time",
                       "keepalive_timeout", "drift_check_interval", "metrics"})) {
    return;
  }
  if (const YAML::Node node = root["metrics"];
      !spec::YamlReader::Absent(node) && reader.Mapping(node, "metrics", {"listen"})) {
    // An empty address turns the endpoint off.
    if (const YAML::Node listen = node["listen"]; !spec::YamlReader::Absent(listen)) {
      if (std::optional<std::string> address = reader.String(listen, "metrics.listen")) {
        config.metrics_listen = *address;
      }
    }
  }
  ReadTimeouts(root["timeouts"], reader, config.timeouts);
  if (const YAML::Node node = root["controller"]; !spec::YamlReader::Absent(node)) {
    if (std::optional<std::string> address = reader.String(node, "controller");
        address && reader.Check(node, "controller", ValidateControllerAddresses(*address))) {
      config.controller = *address;
    }
  }
  if (const YAML::Node node = root["host"]; !spec::YamlReader::Absent(node)) {
    if (std::optional<std::string> host = reader.String(node, "host")) {
      if (host->empty()) {
        reader.Problem(node, "host", "must not be empty");
      } else {
        config.host = *host;
      }
    }
  }
  if (const YAML::Node node = root["labels"];
      !spec::YamlReader::Absent(node) && reader.FreeMapping(node, "labels")) {
    for (const auto& entry : node) {
      const std::string key = entry.first.Scalar();
      const std::string field = spec::Join("labels", key);
      std::optional<std::string> value = reader.String(entry.second, field);
      if (reader.Check(entry.first, field, spec::ValidateLabelKey(key)) && value &&
          reader.Check(entry.second, field, spec::ValidateLabelValue(*value))) {
        config.labels[key] = *value;
      }
    }
  }
  if (const YAML::Node node = root["state_dir"]; !spec::YamlReader::Absent(node)) {
    if (std::optional<std::string> dir = reader.String(node, "state_dir");
        dir && reader.Check(node, "state_dir", spec::ValidateAbsolutePath(*dir))) {
      config.state_dir = *dir;
    }
  }
  if (const YAML::Node node = root["pip_options"];
      !spec::YamlReader::Absent(node) && reader.Sequence(node, "pip_options")) {
    std::vector<std::string> options;
    for (size_t i = 0; i < node.size(); ++i) {
      if (std::optional<std::string> option =
              reader.String(node[i], absl::StrCat("pip_options[", i, "]"))) {
        options.push_back(*option);
      }
    }
    config.pip_options = std::move(options);
  }
  for (auto [key, field] : {std::pair{"tls_ca", &config.tls_ca},
                            std::pair{"tls_cert", &config.tls_cert},
                            std::pair{"tls_key", &config.tls_key},
                            std::pair{"tls_server_name", &config.tls_server_name},
                            std::pair{"enrollment_token_file", &config.enrollment_token_file}}) {
    if (const YAML::Node node = root[key]; !spec::YamlReader::Absent(node)) {
      if (std::optional<std::string> value = reader.String(node, key)) {
        if (value->empty()) {
          reader.Problem(node, key, "must not be empty");
        } else {
          *field = *value;
        }
      }
    }
  }
  spec::ReadSpecPolicy(root["spec_policy"], reader, config.spec_policy);
  // Keepalive pings to the controller (controller_connection.cc): at most
  // as often as the controller permits (its keepalive_time, if below 10s).
  ReadDuration(root["keepalive_time"], "keepalive_time", absl::Milliseconds(100), absl::Hours(2),
               "1m", reader, config.keepalive_time);
  ReadDuration(root["keepalive_timeout"], "keepalive_timeout", absl::Milliseconds(100),
               absl::Minutes(10), "20s", reader, config.keepalive_timeout);
  // A check reads a few small files and asks systemd about a few units per
  // app: once a second is cheap enough for tests, a day is the longest an
  // edit should go unseen.
  ReadDuration(root["drift_check_interval"], "drift_check_interval", absl::ZeroDuration(),
               absl::Hours(24), "1m", reader, config.drift_check_interval);
  if (const YAML::Node node = root["insecure"]; !spec::YamlReader::Absent(node)) {
    if (std::optional<bool> insecure = reader.Bool(node, "insecure")) config.insecure = *insecure;
  }
  if (const YAML::Node node = root["log_level"]; !spec::YamlReader::Absent(node)) {
    if (std::optional<std::string> level = reader.String(node, "log_level")) {
      if (std::find(std::begin(kLogLevels), std::end(kLogLevels), *level) == std::end(kLogLevels)) {
        reader.Problem(node, "log_level",
                       absl::StrCat("unknown level \"", *level, "\" (want ",
                                    absl::StrJoin(kLogLevels, ", "), ")"));
      } else {
        config.log_level = *level;
      }
    }
  }
}

}  // namespace

absl::StatusOr<AgentConfig> ParseAgentConfig(absl::string_view yaml, absl::string_view source_name,
                                             AgentConfig base) {
  spec::YamlReader reader(source_name);
  // yaml-cpp reports syntax errors by exception; this is the boundary where
  // they become a status.
  try {
    const YAML::Node root = YAML::Load(std::string(yaml));
    ReadConfig(root, reader, base);
  } catch (const YAML::Exception& e) {
    reader.Problem(e.mark, "", e.msg);
  }
  RETURN_IF_ERROR(reader.ToStatus());
  return base;
}

absl::StatusOr<AgentConfig> LoadAgentConfig(const std::string& path, AgentConfig base) {
  ASSIGN_OR_RETURN(const std::string text, ReadFileToString(path, kMaxConfigBytes));
  return ParseAgentConfig(text, path, std::move(base));
}

absl::StatusOr<std::pair<std::string, std::string>> ParseLabelFlag(absl::string_view flag) {
  const size_t equals = flag.find('=');
  if (equals == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat("--label \"", flag, "\": want KEY=VALUE"));
  }
  std::string key(flag.substr(0, equals));
  std::string value(flag.substr(equals + 1));
  for (const absl::Status& status :
       {spec::ValidateLabelKey(key), spec::ValidateLabelValue(value)}) {
    if (!status.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--label \"", flag, "\": ", status.message()));
    }
  }
  return std::make_pair(std::move(key), std::move(value));
}

absl::StatusOr<std::string> MachineHostname() {
  char name[HOST_NAME_MAX + 1] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) {
    return absl::InternalError(absl::StrCat("gethostname: ", std::strerror(errno)));
  }
  if (name[0] == '\0')
    return absl::FailedPreconditionError("this machine has no hostname; give --host");
  return std::string(name);
}

}  // namespace pyservice::agent

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
#include "agent/daemon/controller_connection.h"
#include "common/file/read_file.h"
#include "common/spec/validators.h"
#include "common/spec/yaml_reader.h"
#include "common/status/status_macros.h"
#include "yaml-cpp/yaml.h"

namespace pyservice::agent {
namespace {

// A config file is a few lines; anything this big is the wrong file.
constexpr size_t kMaxConfigBytes = 1 << 20;

constexpr const char* kLogLevels[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};

void ReadConfig(const YAML::Node& root, spec::YamlReader& reader, AgentConfig& config) {
  if (spec::YamlReader::Absent(root)) return;  // an empty file changes nothing
  if (!reader.Mapping(root, "",
                      {"controller", "host", "labels", "state_dir", "pip_options", "log_level",
                       "tls_ca", "tls_cert", "tls_key", "tls_server_name", "enrollment_token_file",
                       "insecure", "keepalive_time", "keepalive_timeout"})) {
    return;
  }
  if (const YAML::Node node = root["controller"]; !spec::YamlReader::Absent(node)) {
    if (std::optional<std::string> address = reader.String(node, "controller");
        address && reader.Check(node, "controller", ValidateControllerAddress(*address))) {
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
  // Keepalive pings to the controller (controller_connection.cc): at most
  // as often as the controller permits (its keepalive_time, if below 10s).
  for (auto [key, field, max] :
       {std::tuple{"keepalive_time", &config.keepalive_time, absl::Hours(2)},
        std::tuple{"keepalive_timeout", &config.keepalive_timeout, absl::Minutes(10)}}) {
    if (const YAML::Node node = root[key]; !spec::YamlReader::Absent(node)) {
      if (std::optional<std::string> text = reader.String(node, key)) {
        absl::StatusOr<uint32_t> ms = spec::ParseDurationMs(*text);
        if (!ms.ok() || absl::Milliseconds(*ms) < absl::Milliseconds(100) ||
            absl::Milliseconds(*ms) > max) {
          reader.Problem(node, key,
                         absl::StrCat("want a duration from 100ms to ", absl::FormatDuration(max),
                                      ", like 1m (got \"", *text, "\")"));
        } else {
          *field = absl::Milliseconds(*ms);
        }
      }
    }
  }
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

#include "controller/config/controller_config.h"

#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/file/read_file.h"
#include "common/spec/spec_policy_config.h"
#include "common/spec/yaml_reader.h"
#include "common/status/status_macros.h"
#include "common/net/listen_address.h"
#include "yaml-cpp/yaml.h"

namespace pyservice::controller {
namespace {

// A config file is a few lines; anything this big is the wrong file.
constexpr size_t kMaxConfigBytes = 1 << 20;

constexpr const char* kLogLevels[] = {"trace", "debug", "info", "warn",
                                      "error", "critical", "off"};

// Collects "SOURCE:LINE:COL: FIELD: message" lines; yaml-cpp marks are
// 0-based, editors count from 1.
class Problems {
 public:
  explicit Problems(absl::string_view source) : source_(source) {}

  void Add(const YAML::Mark& mark, absl::string_view field,
           absl::string_view message) {
    lines_.push_back(absl::StrCat(source_, ":", mark.line + 1, ":",
                                  mark.column + 1, ": ", field,
                                  field.empty() ? "" : ": ", message));
  }
  // Lines already located (from a spec::YamlReader).
  void AddLocated(absl::string_view lines) { lines_.emplace_back(lines); }
  bool empty() const { return lines_.empty(); }
  absl::Status ToStatus() const {
    return absl::InvalidArgumentError(absl::StrJoin(lines_, "\n"));
  }

 private:
  std::string source_;
  std::vector<std::string> lines_;
};

// A non-empty string scalar, or a problem reported at the node.
bool ReadString(const YAML::Node& node, absl::string_view field,
                Problems& problems, std::string& out) {
  if (!node.IsScalar() || node.Scalar().empty()) {
    problems.Add(node.Mark(), field, "want a non-empty string");
    return false;
  }
  out = node.Scalar();
  return true;
}

// `metrics: {listen: ADDR}`; an empty ADDR turns the endpoint off.
void ReadMetrics(const YAML::Node& node, Problems& problems, std::string& listen) {
  if (!node.IsMap()) {
    problems.Add(node.Mark(), "metrics", "want a mapping like {listen: 127.0.0.1:9464}");
    return;
  }
  for (const auto& entry : node) {
    const std::string key = entry.first.IsScalar() ? entry.first.Scalar() : "";
    if (key != "listen") {
      problems.Add(entry.first.Mark(), absl::StrCat("metrics.", key), "unknown key (want listen)");
    } else if (!entry.second.IsScalar() && !entry.second.IsNull()) {
      problems.Add(entry.second.Mark(), "metrics.listen",
                   "want HOST:PORT, or \"\" to turn the endpoint off");
    } else {
      listen = entry.second.IsNull() ? "" : entry.second.Scalar();
    }
  }
}

void ReadListen(const YAML::Node& node, Problems& problems,
                std::vector<std::string>& out) {
  std::vector<YAML::Node> items;
  if (node.IsScalar()) {
    items.push_back(node);  // a single address needs no list
  } else if (node.IsSequence() && node.size() > 0) {
    for (const YAML::Node& item : node) items.push_back(item);
  } else {
    problems.Add(node.Mark(), "listen", "want a non-empty list of addresses");
    return;
  }
  std::vector<std::string> addresses;
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string field =
        node.IsScalar() ? "listen" : absl::StrCat("listen[", i, "]");
    std::string address;
    if (!ReadString(items[i], field, problems, address)) continue;
    if (absl::StatusOr<ListenAddress> parsed = ParseListenAddress(address);
        !parsed.ok()) {
      problems.Add(items[i].Mark(), field, parsed.status().message());
      continue;
    }
    addresses.push_back(std::move(address));
  }
  out = std::move(addresses);
}

void ReadLogLevel(const YAML::Node& node, Problems& problems,
                  std::string& out) {
  std::string level;
  if (!ReadString(node, "log_level", problems, level)) return;
  for (const char* known : kLogLevels) {
    if (level == known) {
      out = std::move(level);
      return;
    }
  }
  problems.Add(node.Mark(), "log_level",
               absl::StrCat("unknown level \"", level, "\" (want ",
                            absl::StrJoin(kLogLevels, ", "), ")"));
}

// A duration such as "5s" or "1500ms" (Go/absl syntax) from `min` to
// `max`, or a problem naming the range and an example.
void ReadDuration(const YAML::Node& node, absl::string_view key, absl::Duration min,
                  absl::Duration max, absl::string_view example, Problems& problems,
                  absl::Duration& out) {
  std::string text;
  if (!ReadString(node, key, problems, text)) return;
  absl::Duration value;
  if (!absl::ParseDuration(text, &value) || value < min || value > max) {
    problems.Add(node.Mark(), key,
                 absl::StrCat("want a duration from ", absl::FormatDuration(min), " to ",
                              absl::FormatDuration(max), ", like ", example, " (got \"", text,
                              "\")"));
    return;
  }
  out = value;
}

void ReadBool(const YAML::Node& node, absl::string_view key, Problems& problems, bool& out) {
  bool value = false;
  if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value)) {
    problems.Add(node.Mark(), std::string(key), "want true or false");
    return;
  }
  out = value;
}

absl::StatusOr<ControllerConfig> ParseRoot(const YAML::Node& root,
                                           absl::string_view source_name,
                                           Problems& problems,
                                           ControllerConfig config) {
  if (root.IsNull()) return config;  // an empty file changes nothing
  if (!root.IsMap()) {
    problems.Add(root.Mark(), "", "the config must be a mapping of keys");
    return problems.ToStatus();
  }
  std::set<std::string> seen;
  for (const auto& entry : root) {
    const YAML::Node& key = entry.first;
    const YAML::Node& value = entry.second;
    const std::string name = key.IsScalar() ? key.Scalar() : "";
    if (!seen.insert(name).second) {
      problems.Add(key.Mark(), name, "duplicate key");
      continue;
    }
    if (name == "listen") {
      ReadListen(value, problems, config.listen);
    } else if (name == "data_dir") {
      ReadString(value, "data_dir", problems, config.data_dir);
    } else if (name == "log_level") {
      ReadLogLevel(value, problems, config.log_level);
    } else if (name == "heartbeat_interval") {
      // Beyond either end, lost-host detection is useless.
      ReadDuration(value, name, absl::Milliseconds(100), absl::Minutes(10), "5s", problems,
                   config.heartbeat_interval);
    } else if (name == "wave_timeout") {
      // A deploy fetches and builds: at least a minute.
      ReadDuration(value, name, absl::Minutes(1), absl::Hours(24), "30m", problems,
                   config.wave_timeout);
    } else if (name == "keepalive_time") {
      ReadDuration(value, name, absl::Milliseconds(100), absl::Hours(2), "1m", problems,
                   config.keepalive_time);
    } else if (name == "keepalive_timeout") {
      ReadDuration(value, name, absl::Milliseconds(100), absl::Minutes(10), "20s", problems,
                   config.keepalive_timeout);
    } else if (name == "tls_cert") {
      ReadString(value, "tls_cert", problems, config.tls_cert);
    } else if (name == "tls_key") {
      ReadString(value, "tls_key", problems, config.tls_key);
    } else if (name == "client_ca") {
      ReadString(value, "client_ca", problems, config.client_ca);
    } else if (name == "secrets_key_file") {
      ReadString(value, "secrets_key_file", problems, config.secrets_key_file);
    } else if (name == "insecure") {
      ReadBool(value, "insecure", problems, config.insecure);
    } else if (name == "insecure_agents") {
      ReadBool(value, "insecure_agents", problems, config.insecure_agents);
    } else if (name == "admin_socket") {
      ReadString(value, "admin_socket", problems, config.admin_socket);
    } else if (name == "admin_socket_group") {
      ReadString(value, "admin_socket_group", problems, config.admin_socket_group);
    } else if (name == "ca_dir") {
      ReadString(value, "ca_dir", problems, config.ca_dir);
    } else if (name == "http_listen") {
      ReadString(value, "http_listen", problems, config.http_listen);
    } else if (name == "metrics") {
      ReadMetrics(value, problems, config.metrics_listen);
    } else if (name == "spec_policy") {
      spec::YamlReader reader(source_name);
      spec::ReadSpecPolicy(value, reader, config.spec_policy);
      if (!reader.ok()) problems.AddLocated(reader.ToStatus().message());
    } else {
      problems.Add(key.Mark(), name,
                   "unknown key (want listen, data_dir, log_level, "
                   "heartbeat_interval, wave_timeout, keepalive_time, keepalive_timeout, "
                   "tls_cert, tls_key, "
                   "client_ca, insecure, insecure_agents, admin_socket, "
                   "admin_socket_group, ca_dir, secrets_key_file, spec_policy, http_listen "
                   "or metrics)");
    }
  }
  if (!problems.empty()) return problems.ToStatus();
  return config;
}

}  // namespace

absl::StatusOr<ControllerConfig> ParseControllerConfig(
    absl::string_view yaml, absl::string_view source_name,
    ControllerConfig base) {
  Problems problems(source_name);
  // yaml-cpp reports syntax errors by exception; this is the boundary where
  // they become a status.
  try {
    const YAML::Node root = YAML::Load(std::string(yaml));
    return ParseRoot(root, source_name, problems, std::move(base));
  } catch (const YAML::Exception& e) {
    problems.Add(e.mark, "", e.msg);
    return problems.ToStatus();
  }
}

absl::StatusOr<ControllerConfig> LoadControllerConfig(const std::string& path,
                                                      ControllerConfig base) {
  ASSIGN_OR_RETURN(const std::string text,
                   ReadFileToString(path, kMaxConfigBytes));
  return ParseControllerConfig(text, path, std::move(base));
}

}  // namespace pyservice::controller

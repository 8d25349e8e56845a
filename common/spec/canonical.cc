#include "common/spec/canonical.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/spec/config_yaml.h"
#include "common/spec/validators.h"
#include "common/text/sha256.h"
#include "yaml-cpp/yaml.h"

namespace pyservice::spec {
namespace {


// Stands in for a secret in displayed specs and diffs: enough to see that it
// changed, nothing that helps to recover it (keys and certificates are far
// beyond guessing from 48 bits of their hash).
std::string Redacted(absl::string_view secret) {
  return absl::StrCat("<secret, ", secret.size(), " bytes, sha256:",
                      text::Sha256Hex(secret).substr(0, 12), ">");
}

void EmitString(YAML::Emitter& out, absl::string_view key, const std::string& value) {
  out << YAML::Key << std::string(key) << YAML::Value;
  // Quote whatever a YAML reader could take for a number, bool or null.
  out << YAML::DoubleQuoted << value;
}


void EmitBool(YAML::Emitter& out, absl::string_view key, bool value) {
  out << YAML::Key << std::string(key) << YAML::Value << (value ? "true" : "false");
}

void EmitUnits(YAML::Emitter& out, const v1::AppSpec& spec) {
  out << YAML::Key << "services" << YAML::Value << YAML::BeginSeq;
  for (const v1::Service& service : spec.services()) {
    out << YAML::BeginMap;
    EmitString(out, "name", service.name());
    EmitString(out, "description", service.description());
    EmitString(out, "command", service.command());
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;
  out << YAML::Key << "timers" << YAML::Value << YAML::BeginSeq;
  for (const v1::Timer& timer : spec.timers()) {
    out << YAML::BeginMap;
    EmitString(out, "name", timer.name());
    EmitString(out, "description", timer.description());
    EmitString(out, "schedule", timer.schedule());
    EmitString(out, "command", timer.command());
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;
}

void EmitFiles(YAML::Emitter& out, const v1::AppSpec& spec) {
  out << YAML::Key << "files" << YAML::Value << YAML::BeginSeq;
  for (const v1::File& file : spec.files()) {
    out << YAML::BeginMap;
    EmitString(out, "dest", file.dest());
    EmitString(out, "mode", absl::StrFormat("%04o", file.mode()));
    EmitString(out, "content", file.content());
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;
}

void EmitConfig(YAML::Emitter& out, const v1::AppSpec& spec) {
  out << YAML::Key << "config" << YAML::Value;
  if (spec.config_yaml().empty()) {
    out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
    return;
  }
  // config_yaml is canonical already; re-emitting it through the same
  // emitter nests it and keeps its quoting and its !secret tags.
  std::vector<ConfigProblem> ignored;
  EmitConfigTo(out, YAML::Load(spec.config_yaml()), {}, ignored);
}

void EmitTargets(YAML::Emitter& out, const v1::AppSpec& spec) {
  std::vector<std::pair<std::string, std::string>> labels(spec.targets().labels().begin(),
                                                          spec.targets().labels().end());
  std::sort(labels.begin(), labels.end());
  out << YAML::Key << "targets" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "labels" << YAML::Value;
  if (labels.empty()) out << YAML::Flow;
  out << YAML::BeginMap;
  for (const auto& [key, value] : labels) EmitString(out, key, value);
  out << YAML::EndMap << YAML::EndMap;
}

void EmitPolicies(YAML::Emitter& out, const v1::AppSpec& spec) {
  const v1::Health& health = spec.health();
  out << YAML::Key << "health" << YAML::Value << YAML::BeginMap;
  EmitString(out, "min_healthy", FormatDurationMs(health.min_healthy_ms()));
  EmitString(out, "http", health.http());
  EmitString(out, "deadline", FormatDurationMs(health.deadline_ms()));
  out << YAML::EndMap;

  const v1::RolloutStrategy& rollout = spec.rollout();
  out << YAML::Key << "rollout" << YAML::Value << YAML::BeginMap;
  EmitString(out, "canary", FormatWaveSize(rollout.canary()));
  EmitString(out, "batch", FormatWaveSize(rollout.batch()));
  EmitBool(out, "auto_promote", rollout.auto_promote());
  EmitBool(out, "auto_rollback", rollout.auto_rollback());
  out << YAML::EndMap;
}

void EmitPaths(YAML::Emitter& out, const v1::Paths& paths) {
  out << YAML::Key << "paths" << YAML::Value << YAML::BeginMap;
  EmitString(out, "global_app_root", paths.global_app_root());
  EmitString(out, "app_root", paths.app_root());
  EmitString(out, "app_dir", paths.app_dir());
  EmitString(out, "app_code_dir", paths.app_code_dir());
  EmitString(out, "app_config_dir", paths.app_config_dir());
  EmitString(out, "app_config", paths.app_config());
  EmitString(out, "app_data_dir", paths.app_data_dir());
  EmitString(out, "uv_location", paths.uv_location());
  EmitBool(out, "uv_isolate", paths.uv_isolate());
  out << YAML::EndMap;
}

}  // namespace

v1::AppSpec RedactSecrets(const v1::AppSpec& spec) {
  v1::AppSpec redacted = spec;
  if (!redacted.ssh_key().empty()) redacted.set_ssh_key(Redacted(spec.ssh_key()));
  for (v1::File& file : *redacted.mutable_files()) file.set_content(Redacted(file.content()));
  redacted.set_config_yaml(ReplaceConfigSecrets(spec.config_yaml(), Redacted));
  return redacted;
}

std::string CanonicalYaml(const v1::AppSpec& spec_in, Secrets secrets) {
  const v1::AppSpec spec = secrets == Secrets::kRedact ? RedactSecrets(spec_in) : spec_in;
  YAML::Emitter out;
  out << YAML::BeginMap;
  EmitString(out, "name", spec.name());
  EmitString(out, "module", spec.module());
  EmitString(out, "user", spec.user());
  EmitString(out, "group", spec.group());
  EmitBool(out, "ensure_user", spec.ensure_user());
  EmitString(out, "repo", spec.repo());
  EmitString(out, "tag", spec.tag());
  EmitString(out, "uv_version", spec.uv_version());
  if (!spec.ssh_key().empty()) EmitString(out, "ssh_key", spec.ssh_key());
  EmitUnits(out, spec);
  EmitFiles(out, spec);
  EmitConfig(out, spec);
  EmitTargets(out, spec);
  EmitPolicies(out, spec);
  EmitPaths(out, spec.paths());
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

std::string SpecDigest(const v1::AppSpec& spec) {
  return absl::StrCat("sha256:", text::Sha256Hex(CanonicalYaml(spec, Secrets::kInclude)));
}

}  // namespace pyservice::spec

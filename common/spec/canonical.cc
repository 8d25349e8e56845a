#include "common/spec/canonical.h"

#include <algorithm>
#include <functional>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/spec/config_yaml.h"
#include "common/spec/validators.h"
#include "common/text/sha256.h"
#include "common/text/url_credentials.h"
#include "yaml-cpp/yaml.h"

namespace pyservice::spec {
namespace {

// How a secret is written; null: as it is.
using SecretForm = std::function<std::string(absl::string_view)>;

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

void EmitFiles(YAML::Emitter& out, const v1::AppSpec& spec, const SecretForm* secret) {
  out << YAML::Key << "files" << YAML::Value << YAML::BeginSeq;
  for (const v1::File& file : spec.files()) {
    out << YAML::BeginMap;
    EmitString(out, "dest", file.dest());
    EmitString(out, "mode", absl::StrFormat("%04o", file.mode()));
    EmitString(out, "content", secret != nullptr ? (*secret)(file.content()) : file.content());
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;
}

void EmitConfig(YAML::Emitter& out, const v1::AppSpec& spec, const SecretForm* secret) {
  out << YAML::Key << "config" << YAML::Value;
  if (spec.config_yaml().empty()) {
    out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
    return;
  }
  // config_yaml is canonical already; re-emitting it through the same
  // emitter nests it and keeps its quoting and its !secret tags.
  std::vector<ConfigProblem> ignored;
  ConfigOptions options;
  if (secret != nullptr) options.secret = *secret;
  EmitConfigTo(out, YAML::Load(spec.config_yaml()), options, ignored);
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

// The repo as written, or without its credentials and then their form on
// a line of their own (a changed token must change the text).
void EmitRepo(YAML::Emitter& out, const v1::AppSpec& spec, const SecretForm* secret) {
  const absl::string_view credentials = text::UrlCredentials(spec.repo());
  if (secret == nullptr || credentials.empty()) {
    EmitString(out, "repo", spec.repo());
    return;
  }
  EmitString(out, "repo", text::RedactUrlCredentials(spec.repo()));
  EmitString(out, "repo_credentials", (*secret)(credentials));
}

std::string Emit(const v1::AppSpec& spec, const SecretForm* secret) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  EmitString(out, "name", spec.name());
  EmitString(out, "module", spec.module());
  EmitString(out, "user", spec.user());
  EmitString(out, "group", spec.group());
  EmitBool(out, "ensure_user", spec.ensure_user());
  EmitRepo(out, spec, secret);
  EmitString(out, "tag", spec.tag());
  EmitString(out, "uv_version", spec.uv_version());
  if (!spec.ssh_key().empty()) {
    EmitString(out, "ssh_key", secret != nullptr ? (*secret)(spec.ssh_key()) : spec.ssh_key());
  }
  EmitUnits(out, spec);
  EmitFiles(out, spec, secret);
  EmitConfig(out, spec, secret);
  EmitTargets(out, spec);
  EmitPolicies(out, spec);
  EmitPaths(out, spec.paths());
  // Only when app.yaml says it: specs without `drift:` keep their digests.
  if (spec.drift() == v1::DRIFT_POLICY_REPAIR) EmitString(out, "drift", "repair");
  if (spec.drift() == v1::DRIFT_POLICY_REPORT) EmitString(out, "drift", "report");
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace

std::string CanonicalYaml(const v1::AppSpec& spec) { return Emit(spec, nullptr); }

std::string RedactedCanonicalYaml(const v1::AppSpec& spec,
                                  const SecretFingerprinter& fingerprints) {
  const SecretForm redacted = [&](absl::string_view s) { return fingerprints.Redacted(s); };
  return Emit(spec, &redacted);
}

v1::AppSpec RedactSecrets(const v1::AppSpec& spec, const SecretFingerprinter& fingerprints) {
  const SecretForm redacted = [&](absl::string_view s) { return fingerprints.Redacted(s); };
  v1::AppSpec copy = spec;
  copy.set_repo(text::RedactUrlCredentials(spec.repo()));
  if (!copy.ssh_key().empty()) copy.set_ssh_key(redacted(spec.ssh_key()));
  for (v1::File& file : *copy.mutable_files()) file.set_content(redacted(file.content()));
  copy.set_config_yaml(ReplaceConfigSecrets(spec.config_yaml(), redacted));
  return copy;
}

std::string SpecDigest(const v1::AppSpec& spec, const SecretFingerprinter& fingerprints) {
  const SecretForm full = [&](absl::string_view s) { return fingerprints.Full(s); };
  return absl::StrCat("sha256:", text::Sha256Hex(Emit(spec, &full)));
}

std::string UnkeyedSpecDigest(const v1::AppSpec& spec) {
  return absl::StrCat("sha256:", text::Sha256Hex(CanonicalYaml(spec)));
}

bool SameSpec(const v1::AppSpec& a, const v1::AppSpec& b) {
  return CanonicalYaml(a) == CanonicalYaml(b);
}

}  // namespace pyservice::spec

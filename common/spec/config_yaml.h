// The app's `config:` mapping, kept as canonical YAML text: keys sorted at
// every level (so a reordered mapping is not a change), scalars spelled as
// written, quoted scalars kept quoted (so "8000" stays a string and 8000 a
// number in the app's config.yaml).
#ifndef PYSERVICE_COMMON_SPEC_CONFIG_YAML_H_
#define PYSERVICE_COMMON_SPEC_CONFIG_YAML_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/spec/template.h"
#include "yaml-cpp/yaml.h"

namespace pyservice::spec {

// Limits what a YAML alias bomb can cost: nodes visited, aliases included.
inline constexpr int kMaxConfigNodes = 100000;
// Aliases also make configs deeper and larger than the text they come from
// (an alias may even refer to the node that contains it, a cycle), so the
// depth and the bytes of keys and scalars, aliases expanded, are bounded too.
// No real config.yaml comes near either.
inline constexpr int kMaxConfigDepth = 256;
inline constexpr size_t kMaxConfigBytes = 1 << 20;

struct ConfigProblem {
  YAML::Mark mark;
  std::string field;  // "config.db.port"
  std::string message;
};

// The YAML tag an operator marks a secret config value with:
// `db_password: !secret "hunter2"`. The value is a string; it is kept
// tagged in the stored text, written untagged to the host's config.yaml
// (the app reads an ordinary string), and replaced by a fingerprint in
// everything shown (canonical.h).
inline constexpr char kSecretTag[] = "!secret";

// How the config's text is written. The default is the stored form.
struct ConfigOptions {
  // Expand every value's templates (then written quoted: a string by
  // intent) for the host's config.yaml. `!secret` values are then plain
  // quoted strings, never expanded: a secret is taken as written, so no
  // template error can quote it.
  const Variables* variables = nullptr;
  // Without `variables`, `!secret` values stay tagged; when set, each is
  // replaced by what this returns for it (the redacted and digested forms).
  std::function<std::string(absl::string_view)> secret;
};

// Canonical text of `config` (a mapping). Problems are appended to
// `problems`; the text is then unusable.
std::string EmitConfig(const YAML::Node& config, const ConfigOptions& options,
                       std::vector<ConfigProblem>& problems);

// The same, written as the next value of `out` (for embedding the config in
// a larger document).
void EmitConfigTo(YAML::Emitter& out, const YAML::Node& config, const ConfigOptions& options,
                  std::vector<ConfigProblem>& problems);

// Expands the templates of a stored config_yaml, for writing config.yaml.
absl::StatusOr<std::string> ExpandConfigYaml(const std::string& config_yaml,
                                             const Variables& variables);

// A stored config_yaml with each `!secret` value replaced by
// `replace(value)`, still tagged; unchanged if it has none.
std::string ReplaceConfigSecrets(const std::string& config_yaml,
                                 const std::function<std::string(absl::string_view)>& replace);

}  // namespace pyservice::spec

#endif  // PYSERVICE_COMMON_SPEC_CONFIG_YAML_H_

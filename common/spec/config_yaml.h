// The app's `config:` mapping, kept as canonical YAML text: keys sorted at
// every level (so a reordered mapping is not a change), scalars spelled as
// written, quoted scalars kept quoted (so "8000" stays a string and 8000 a
// number in the app's config.yaml).
#ifndef PYSERVICE_COMMON_SPEC_CONFIG_YAML_H_
#define PYSERVICE_COMMON_SPEC_CONFIG_YAML_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
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

// Canonical text of `config` (a mapping). With `variables`, every scalar
// value is template-expanded (and then written quoted: it is a string by
// intent). Problems are appended to `problems`; the text is then unusable.
std::string EmitConfig(const YAML::Node& config, const Variables* variables,
                       std::vector<ConfigProblem>& problems);

// The same, written as the next value of `out` (for embedding the config in
// a larger document).
void EmitConfigTo(YAML::Emitter& out, const YAML::Node& config, const Variables* variables,
                  std::vector<ConfigProblem>& problems);

// Expands the templates of a stored config_yaml, for writing config.yaml.
absl::StatusOr<std::string> ExpandConfigYaml(const std::string& config_yaml,
                                             const Variables& variables);

}  // namespace pyservice::spec

#endif  // PYSERVICE_COMMON_SPEC_CONFIG_YAML_H_

#include "common/spec/spec_policy_config.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/spec/validators.h"

namespace pyservice::spec {
namespace {

void ReadNames(const YAML::Node& node, const std::string& field, YamlReader& reader,
               std::vector<std::string>& out) {
  if (YamlReader::Absent(node) || !reader.Sequence(node, field)) return;
  std::vector<std::string> names;
  for (size_t i = 0; i < node.size(); ++i) {
    const std::string at = absl::StrCat(field, "[", i, "]");
    if (std::optional<std::string> name = reader.String(node[i], at);
        name && reader.Check(node[i], at, ValidateUserOrGroup(*name))) {
      names.push_back(*name);
    }
  }
  out = std::move(names);
}

}  // namespace

void ReadSpecPolicy(const YAML::Node& node, YamlReader& reader, SpecPolicy& policy) {
  if (YamlReader::Absent(node) ||
      !reader.Mapping(node, "spec_policy", {"allow_users", "allow_groups"})) {
    return;
  }
  ReadNames(node["allow_users"], "spec_policy.allow_users", reader, policy.allow_users);
  ReadNames(node["allow_groups"], "spec_policy.allow_groups", reader, policy.allow_groups);
}

}  // namespace pyservice::spec

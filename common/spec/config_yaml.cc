#include "common/spec/config_yaml.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace pyservice::spec {
namespace {

class ConfigEmitter {
 public:
  ConfigEmitter(YAML::Emitter& out, const Variables* variables,
                std::vector<ConfigProblem>& problems)
      : out_(out), variables_(variables), problems_(problems) {}

  void Emit(const YAML::Node& config) { Node(config, "config"); }

 private:
  void Problem(const YAML::Node& node, const std::string& field, std::string message) {
    problems_.push_back({node.Mark(), field, std::move(message)});
  }

  void Node(const YAML::Node& node, const std::string& field) {
    if (++visited_ > kMaxConfigNodes) {
      if (visited_ == kMaxConfigNodes + 1) {
        Problem(node, "config",
                absl::StrCat("more than ", kMaxConfigNodes,
                             " values (counting aliases): refusing an alias bomb"));
      }
      out_ << YAML::Null;
      return;
    }
    switch (node.Type()) {
      case YAML::NodeType::Map:
        Map(node, field);
        break;
      case YAML::NodeType::Sequence:
        out_ << YAML::BeginSeq;
        for (size_t i = 0; i < node.size(); ++i) {
          Node(node[i], absl::StrCat(field, "[", i, "]"));
        }
        out_ << YAML::EndSeq;
        break;
      case YAML::NodeType::Scalar:
        Scalar(node, field);
        break;
      default:
        out_ << YAML::Null;
    }
  }

  void Map(const YAML::Node& node, const std::string& field) {
    // Sorting works on indices: assigning one YAML::Node to another
    // overwrites the node it refers to, so Nodes must never be swapped.
    std::vector<YAML::Node> values;
    std::vector<std::pair<std::string, size_t>> keys;
    for (const auto& entry : node) {
      if (!entry.first.IsScalar()) {
        Problem(entry.first, field, "keys must be plain strings");
        continue;
      }
      keys.emplace_back(entry.first.Scalar(), values.size());
      values.push_back(entry.second);
    }
    std::stable_sort(keys.begin(), keys.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    out_ << YAML::BeginMap;
    for (size_t i = 0; i < keys.size(); ++i) {
      const std::string child = absl::StrCat(field, ".", keys[i].first);
      if (i > 0 && keys[i].first == keys[i - 1].first) {
        Problem(values[keys[i].second], child, "duplicate key");
        continue;
      }
      out_ << YAML::Key << keys[i].first << YAML::Value;
      Node(values[keys[i].second], child);
    }
    out_ << YAML::EndMap;
  }

  void Scalar(const YAML::Node& node, const std::string& field) {
    // yaml-cpp tags quoted scalars "!" and plain ones "?".
    const bool quoted = node.Tag() == "!";
    if (variables_ != nullptr && node.Scalar().find("{{") != std::string::npos) {
      absl::StatusOr<std::string> expanded = ExpandTemplate(node.Scalar(), *variables_);
      if (!expanded.ok()) {
        Problem(node, field, std::string(expanded.status().message()));
        out_ << YAML::Null;
        return;
      }
      out_ << YAML::DoubleQuoted << *expanded;
      return;
    }
    if (quoted) out_ << YAML::DoubleQuoted;
    out_ << node.Scalar();
  }

  YAML::Emitter& out_;
  const Variables* variables_;
  std::vector<ConfigProblem>& problems_;
  int visited_ = 0;
};

}  // namespace

void EmitConfigTo(YAML::Emitter& out, const YAML::Node& config, const Variables* variables,
                  std::vector<ConfigProblem>& problems) {
  ConfigEmitter(out, variables, problems).Emit(config);
}

std::string EmitConfig(const YAML::Node& config, const Variables* variables,
                       std::vector<ConfigProblem>& problems) {
  YAML::Emitter out;
  EmitConfigTo(out, config, variables, problems);
  return std::string(out.c_str()) + "\n";
}

absl::StatusOr<std::string> ExpandConfigYaml(const std::string& config_yaml,
                                             const Variables& variables) {
  YAML::Node config;
  try {
    config = YAML::Load(config_yaml);
  } catch (const YAML::Exception& e) {
    return absl::InternalError(absl::StrCat("stored config is not YAML: ", e.what()));
  }
  std::vector<ConfigProblem> problems;
  std::string text = EmitConfig(config, &variables, problems);
  if (!problems.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(problems[0].field, ": ", problems[0].message));
  }
  return text;
}

}  // namespace pyservice::spec

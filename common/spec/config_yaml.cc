#include "common/spec/config_yaml.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace pyservice::spec {
namespace {

class ConfigEmitter {
 public:
  ConfigEmitter(YAML::Emitter& out, const ConfigOptions& options,
                std::vector<ConfigProblem>& problems)
      : out_(out), options_(options), problems_(problems) {}

  void Emit(const YAML::Node& config) { Node(config, "config", 0); }

 private:
  void Problem(const YAML::Node& node, const std::string& field, std::string message) {
    problems_.push_back({node.Mark(), field, std::move(message)});
  }

  // The field name of a child. Names only label problems, and a name built
  // from a cycle of long keys would grow with every level: past a point,
  // more of the path helps nobody.
  static std::string Child(const std::string& field, absl::string_view suffix) {
    constexpr size_t kMaxFieldLength = 256;
    if (field.size() >= kMaxFieldLength) return field;
    std::string child = absl::StrCat(field, suffix);
    if (child.size() > kMaxFieldLength) {
      child.resize(kMaxFieldLength - 3);
      child += "...";
    }
    return child;
  }

  // Whether the limits allow visiting one more node; records the first
  // limit reached.
  bool WithinLimits(const YAML::Node& node, int depth) {
    if (refused_) return false;
    std::string why;
    if (++visited_ > kMaxConfigNodes) {
      why = absl::StrCat("more than ", kMaxConfigNodes,
                         " values (counting aliases): refusing an alias bomb");
    } else if (depth > kMaxConfigDepth) {
      why = absl::StrCat("nested too deeply (more than ", kMaxConfigDepth,
                         " levels, counting aliases)");
    } else if (bytes_ > kMaxConfigBytes) {
      why = absl::StrCat("more than ", kMaxConfigBytes,
                         " bytes once aliases are expanded: refusing an alias bomb");
    } else {
      return true;
    }
    refused_ = true;
    Problem(node, "config", why);
    return false;
  }

  void Node(const YAML::Node& node, const std::string& field, int depth) {
    if (!WithinLimits(node, depth)) {
      out_ << YAML::Null;
      return;
    }
    if (node.Tag() == kSecretTag && !node.IsScalar()) {
      Problem(node, field, "!secret marks one value (a string), not a mapping or a list");
      out_ << YAML::Null;
      return;
    }
    switch (node.Type()) {
      case YAML::NodeType::Map:
        Map(node, field, depth);
        break;
      case YAML::NodeType::Sequence:
        out_ << YAML::BeginSeq;
        for (size_t i = 0; i < node.size() && !refused_; ++i) {
          Node(node[i], Child(field, absl::StrCat("[", i, "]")), depth + 1);
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

  void Map(const YAML::Node& node, const std::string& field, int depth) {
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
    for (size_t i = 0; i < keys.size() && !refused_; ++i) {
      const std::string child = Child(field, absl::StrCat(".", keys[i].first));
      if (i > 0 && keys[i].first == keys[i - 1].first) {
        Problem(values[keys[i].second], child, "duplicate key");
        continue;
      }
      bytes_ += keys[i].first.size();
      out_ << YAML::Key << keys[i].first << YAML::Value;
      Node(values[keys[i].second], child, depth + 1);
    }
    out_ << YAML::EndMap;
  }

  void Scalar(const YAML::Node& node, const std::string& field) {
    if (node.Tag() == kSecretTag) {
      Secret(node);
      return;
    }
    // yaml-cpp tags quoted scalars "!" and plain ones "?".
    const bool quoted = node.Tag() == "!";
    if (options_.variables != nullptr && node.Scalar().find("{{") != std::string::npos) {
      absl::StatusOr<std::string> expanded = ExpandTemplate(node.Scalar(), *options_.variables);
      if (!expanded.ok()) {
        Problem(node, field, std::string(expanded.status().message()));
        out_ << YAML::Null;
        return;
      }
      bytes_ += expanded->size();
      out_ << YAML::DoubleQuoted << *expanded;
      return;
    }
    bytes_ += node.Scalar().size();
    if (quoted) out_ << YAML::DoubleQuoted;
    out_ << node.Scalar();
  }

  // Always a string: quoted, whatever it looks like.
  void Secret(const YAML::Node& node) {
    bytes_ += node.Scalar().size();
    if (options_.variables != nullptr) {
      out_ << YAML::DoubleQuoted << node.Scalar();
      return;
    }
    out_ << YAML::LocalTag("secret") /* written "!secret": kSecretTag */ << YAML::DoubleQuoted
         << (options_.secret ? options_.secret(node.Scalar()) : node.Scalar());
  }

  YAML::Emitter& out_;
  const ConfigOptions& options_;
  std::vector<ConfigProblem>& problems_;
  int visited_ = 0;
  size_t bytes_ = 0;      // keys and scalars emitted so far
  bool refused_ = false;  // a limit was reached: the text is unusable
};

}  // namespace

void EmitConfigTo(YAML::Emitter& out, const YAML::Node& config, const ConfigOptions& options,
                  std::vector<ConfigProblem>& problems) {
  ConfigEmitter(out, options, problems).Emit(config);
}

std::string EmitConfig(const YAML::Node& config, const ConfigOptions& options,
                       std::vector<ConfigProblem>& problems) {
  YAML::Emitter out;
  EmitConfigTo(out, config, options, problems);
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
  std::string text = EmitConfig(config, {.variables = &variables}, problems);
  if (!problems.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(problems[0].field, ": ", problems[0].message));
  }
  return text;
}

std::string ReplaceConfigSecrets(const std::string& config_yaml,
                                 const std::function<std::string(absl::string_view)>& replace) {
  // Stored text is canonical: only a tag in it can mark a secret.
  if (config_yaml.find(kSecretTag) == std::string::npos) return config_yaml;
  std::vector<ConfigProblem> ignored;  // the stored text was checked when parsed
  return EmitConfig(YAML::Load(config_yaml), {.secret = replace}, ignored);
}

}  // namespace pyservice::spec

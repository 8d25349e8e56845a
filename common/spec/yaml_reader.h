// Typed, located access to a yaml-cpp tree. Every accessor records a problem
// ("SOURCE:LINE:COL: FIELD: MESSAGE") instead of throwing, so one pass over a
// document reports all of its mistakes at once.
#ifndef PYSERVICE_COMMON_SPEC_YAML_READER_H_
#define PYSERVICE_COMMON_SPEC_YAML_READER_H_

#include <initializer_list>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/status/status.h"
#include "yaml-cpp/yaml.h"

namespace pyservice::spec {

class YamlReader {
 public:
  explicit YamlReader(absl::string_view source_name) : source_name_(source_name) {}

  // Records a problem at `mark` (yaml-cpp marks are 0-based; output is 1-based).
  void Problem(const YAML::Mark& mark, absl::string_view field, absl::string_view message);
  void Problem(const YAML::Node& node, absl::string_view field, absl::string_view message) {
    Problem(node.Mark(), field, message);
  }
  // Records `status`'s message (when not OK); returns whether it was OK.
  bool Check(const YAML::Node& node, absl::string_view field, const absl::Status& status);

  // Whether `node` is absent or null, i.e. "use the default".
  static bool Absent(const YAML::Node& node) { return !node.IsDefined() || node.IsNull(); }

  // The scalar's text; nullopt (and a problem) when `node` is not a scalar.
  std::optional<std::string> String(const YAML::Node& node, absl::string_view field);
  // true/false (also True/TRUE/False/FALSE), nothing else: "yes" and "on"
  // are YAML 1.1 traps.
  std::optional<bool> Bool(const YAML::Node& node, absl::string_view field);
  // Checks that `node` is a mapping whose keys are all in `allowed`
  // (unknown keys are typos: reported with a suggestion) and unique.
  bool Mapping(const YAML::Node& node, absl::string_view field,
               std::initializer_list<absl::string_view> allowed) {
    return CheckMapping(node, field, &allowed);
  }
  // A mapping with keys of the user's choosing (labels), unique and scalar.
  bool FreeMapping(const YAML::Node& node, absl::string_view field) {
    return CheckMapping(node, field, nullptr);
  }
  // Checks that `node` is a sequence.
  bool Sequence(const YAML::Node& node, absl::string_view field);

  bool ok() const { return problems_.empty(); }
  // INVALID_ARGUMENT with one problem per line, in document order.
  absl::Status ToStatus() const;

 private:
  bool CheckMapping(const YAML::Node& node, absl::string_view field,
                    const std::initializer_list<absl::string_view>* allowed);

  struct Located {
    int line;
    int column;
    std::string text;
  };
  std::string source_name_;
  std::vector<Located> problems_;
};

// "FIELD.KEY", or "KEY" at the root.
std::string Join(absl::string_view field, absl::string_view key);

}  // namespace pyservice::spec

#endif  // PYSERVICE_COMMON_SPEC_YAML_READER_H_

#include "common/spec/yaml_reader.h"

#include <algorithm>
#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace pyservice::spec {
namespace {

// More than this many problems is a wrong file, not a list of typos.
constexpr size_t kMaxProblems = 50;

size_t EditDistance(absl::string_view a, absl::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

std::string Join(absl::string_view field, absl::string_view key) {
  return field.empty() ? std::string(key) : absl::StrCat(field, ".", key);
}

void YamlReader::Problem(const YAML::Mark& mark, absl::string_view field,
                         absl::string_view message) {
  // A mark of -1 means "no position" (e.g. a node built in memory).
  const int line = mark.line >= 0 ? mark.line + 1 : 1;
  const int column = mark.column >= 0 ? mark.column + 1 : 1;
  problems_.push_back({line, column,
                       absl::StrCat(source_name_, ":", line, ":", column, ": ",
                                    field.empty() ? "" : absl::StrCat(field, ": "), message)});
}

bool YamlReader::Check(const YAML::Node& node, absl::string_view field,
                       const absl::Status& status) {
  if (status.ok()) return true;
  Problem(node, field, status.message());
  return false;
}

std::optional<std::string> YamlReader::String(const YAML::Node& node, absl::string_view field) {
  if (!node.IsScalar()) {
    Problem(node, field, node.IsMap() ? "must be a string, not a mapping"
                                      : "must be a string, not a list");
    return std::nullopt;
  }
  return node.Scalar();
}

std::optional<bool> YamlReader::Bool(const YAML::Node& node, absl::string_view field) {
  if (node.IsScalar() && node.Tag() != "!") {
    const std::string& text = node.Scalar();
    if (text == "true" || text == "True" || text == "TRUE") return true;
    if (text == "false" || text == "False" || text == "FALSE") return false;
  }
  Problem(node, field,
          node.IsScalar() ? absl::StrCat("\"", absl::CHexEscape(node.Scalar()),
                                         "\" must be true or false")
                          : "must be true or false");
  return std::nullopt;
}

bool YamlReader::CheckMapping(const YAML::Node& node, absl::string_view field,
                              const std::initializer_list<absl::string_view>* allowed_keys) {
  if (!node.IsMap()) {
    Problem(node, field, "must be a mapping (key: value)");
    return false;
  }
  std::set<std::string> seen;
  for (const auto& entry : node) {
    if (!entry.first.IsScalar()) {
      Problem(entry.first, field, "keys must be plain strings");
      continue;
    }
    const std::string& key = entry.first.Scalar();
    if (!seen.insert(key).second) {
      Problem(entry.first, Join(field, key), "duplicate key");
      continue;
    }
    if (allowed_keys == nullptr) continue;
    const std::initializer_list<absl::string_view>& allowed = *allowed_keys;
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    absl::string_view best;
    size_t best_distance = 3;  // suggest only close matches
    for (absl::string_view candidate : allowed) {
      const size_t distance = EditDistance(key, candidate);
      if (distance < best_distance) {
        best = candidate;
        best_distance = distance;
      }
    }
    Problem(entry.first, Join(field, absl::CHexEscape(key)),
            best.empty() ? absl::StrCat("unknown key (expected one of: ",
                                        absl::StrJoin(allowed, ", "), ")")
                         : absl::StrCat("unknown key (did you mean \"", best, "\"?)"));
  }
  return true;
}

bool YamlReader::Sequence(const YAML::Node& node, absl::string_view field) {
  if (node.IsSequence()) return true;
  Problem(node, field, "must be a list");
  return false;
}

absl::Status YamlReader::ToStatus() const {
  if (problems_.empty()) return absl::OkStatus();
  std::vector<Located> sorted = problems_;
  std::stable_sort(sorted.begin(), sorted.end(), [](const Located& a, const Located& b) {
    return a.line != b.line ? a.line < b.line : a.column < b.column;
  });
  std::vector<std::string> lines;
  for (size_t i = 0; i < sorted.size() && i < kMaxProblems; ++i) {
    lines.push_back(sorted[i].text);
  }
  if (sorted.size() > kMaxProblems) {
    lines.push_back(absl::StrCat("... and ", sorted.size() - kMaxProblems, " more problems"));
  }
  return absl::InvalidArgumentError(absl::StrJoin(lines, "\n"));
}

}  // namespace pyservice::spec

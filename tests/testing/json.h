// Parsing JSON in tests, to check what pyctl prints is JSON and has the
// documented shape. Protobuf's parser into google.protobuf.Value is strict
// (RFC 8259) and already a dependency, so no JSON library is needed.
#ifndef PYSERVICE_TESTS_TESTING_JSON_H_
#define PYSERVICE_TESTS_TESTING_JSON_H_

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace pyservice::testing {

using JsonValue = google::protobuf::Value;

inline absl::StatusOr<JsonValue> ParseJson(const std::string& text) {
  JsonValue value;
  const auto status = google::protobuf::util::JsonStringToMessage(text, &value);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("not JSON (", status.ToString(), "): ", text));
  }
  return value;
}

// The keys of a JSON object in the order they appear in `text` (Value's map
// does not keep order). Only for flat objects of the kind pyctl prints.
inline std::vector<std::string> KeysInOrder(const JsonValue& object,
                                            const std::string& text) {
  std::vector<std::pair<size_t, std::string>> found;
  for (const auto& [key, value] : object.struct_value().fields()) {
    found.emplace_back(text.find(absl::StrCat("\"", key, "\":")), key);
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> keys;
  for (auto& [position, key] : found) keys.push_back(std::move(key));
  return keys;
}

}  // namespace pyservice::testing

#endif  // PYSERVICE_TESTS_TESTING_JSON_H_

#include "controller/store/sqlite_json.h"

#include "absl/strings/str_cat.h"

namespace pyservice::controller {

namespace {

void AppendJsonString(std::string& out, const std::string& text) {
  out.push_back('"');
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (byte < 0x20) {
      absl::StrAppend(&out, "\\u00", absl::Hex(byte, absl::kZeroPad2));
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
}

}  // namespace

std::string LabelsToJson(const std::map<std::string, std::string>& labels) {
  std::string json = "{";
  for (const auto& [key, value] : labels) {
    if (json.size() > 1) json.push_back(',');
    AppendJsonString(json, key);
    json.push_back(':');
    AppendJsonString(json, value);
  }
  json.push_back('}');
  return json;
}

std::string StringsToJson(const std::vector<std::string>& values) {
  std::string json = "[";
  for (const std::string& value : values) {
    if (json.size() > 1) json.push_back(',');
    AppendJsonString(json, value);
  }
  json.push_back(']');
  return json;
}

}  // namespace pyservice::controller

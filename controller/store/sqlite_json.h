// JSON text for the store's JSON columns (labels, app patterns), which
// SQLite's json functions read back (json_each).
#ifndef PYSERVICE_CONTROLLER_STORE_SQLITE_JSON_H_
#define PYSERVICE_CONTROLLER_STORE_SQLITE_JSON_H_

#include <map>
#include <string>
#include <vector>

namespace pyservice::controller {

// `labels` as a JSON object of strings. Keys and values are UTF-8 (they
// come from protobuf strings); only the characters JSON requires are
// escaped.
std::string LabelsToJson(const std::map<std::string, std::string>& labels);

// `values` as a JSON array of strings, escaped the same way.
std::string StringsToJson(const std::vector<std::string>& values);

}  // namespace pyservice::controller

#endif  // PYSERVICE_CONTROLLER_STORE_SQLITE_JSON_H_

// Revisions for the Store tests of both backends (SQLite and etcd), and the
// append loop the controller service runs against either.
#ifndef PYSERVICE_TESTS_TESTING_STORE_REVISIONS_H_
#define PYSERVICE_TESTS_TESTING_STORE_REVISIONS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "controller/store/store.h"

namespace pyservice::controller {

inline StoredRevision Rev(const std::string& app, const std::string& tag,
                          const std::string& spec = "spec") {
  StoredRevision revision;
  revision.app = app;
  revision.tag = tag;
  revision.digest = absl::StrCat("sha256:", tag);
  revision.spec = spec;
  return revision;
}

inline std::vector<uint32_t> Numbers(const std::vector<StoredRevision>& revisions) {
  std::vector<uint32_t> numbers;
  for (const StoredRevision& r : revisions) numbers.push_back(r.number);
  return numbers;
}

// Appends `revision` the way the controller service does: read the current
// number, append against it, start over when another appender won.
inline absl::Status AppendWithRetry(Store& store, const StoredRevision& revision) {
  for (int attempt = 0; attempt < 100000; ++attempt) {
    absl::StatusOr<std::optional<StoredRevision>> current = store.CurrentRevision(revision.app);
    if (!current.ok()) return current.status();
    const uint32_t expected = current->has_value() ? (*current)->number : 0;
    absl::StatusOr<StoredRevision> appended = store.AppendRevision(revision, expected);
    if (appended.ok()) return absl::OkStatus();
    if (!absl::IsAborted(appended.status())) return appended.status();
  }
  return absl::DeadlineExceededError("too many ABORTED retries");
}

}  // namespace pyservice::controller

#endif  // PYSERVICE_TESTS_TESTING_STORE_REVISIONS_H_

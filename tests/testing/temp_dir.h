// A directory under /tmp that exists for the lifetime of the object.
#ifndef PYSERVICE_TESTS_TESTING_TEMP_DIR_H_
#define PYSERVICE_TESTS_TESTING_TEMP_DIR_H_

#include <stdlib.h>

#include <filesystem>
#include <string>

#include "gtest/gtest.h"

namespace pyservice::testing {

class TempDir {
 public:
  TempDir() {
    std::string pattern = "/tmp/pyservice-test.XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp failed";
    }
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string Join(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace pyservice::testing

#endif  // PYSERVICE_TESTS_TESTING_TEMP_DIR_H_

// A real git repository built by a test with the git binary: files, commits,
// tags and branches, as an app's repo would have them. Used where the thing
// under test talks to git (the libgit2 fetcher, the checkout step).
//
// git runs with a private HOME and no system config, so the machine's or the
// user's git settings never change a test's outcome.
#ifndef PYSERVICE_TESTS_TESTING_GIT_REPO_H_
#define PYSERVICE_TESTS_TESTING_GIT_REPO_H_

#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/process/subprocess.h"
#include "gtest/gtest.h"

namespace pyservice::testing {

class GitRepo {
 public:
  enum Mode { kCreate, kExisting };

  // Creates `path` as a new repository whose first branch is `main`, or
  // (kExisting) works on the repository already there. `home` is an
  // existing directory git may use as HOME.
  GitRepo(std::string path, const std::string& home, Mode mode = kCreate)
      : path_(std::move(path)) {
    const char* system_path = getenv("PATH");
    env_ = {
        absl::StrCat("HOME=", home),
        absl::StrCat("PATH=", system_path != nullptr ? system_path : "/usr/bin:/bin"),
        "GIT_CONFIG_NOSYSTEM=1",
        "GIT_AUTHOR_NAME=Test Author",
        "GIT_AUTHOR_EMAIL=author@example.com",
        "GIT_COMMITTER_NAME=Test Committer",
        "GIT_COMMITTER_EMAIL=committer@example.com",
        "LC_ALL=C",
    };
    if (mode == kExisting) return;
    std::filesystem::create_directories(path_);
    Git({"init", "--quiet", "--initial-branch=main"});
  }

  const std::string& path() const { return path_; }
  std::string url() const { return absl::StrCat("file://", path_); }

  // Runs `git -C path args...`; returns its stdout without the final newline.
  // A failing git fails the test.
  std::string Git(const std::vector<std::string>& args, const std::string& input = "") const {
    ProcessOptions options;
    options.argv = {"git", "-C", path_};
    options.argv.insert(options.argv.end(), args.begin(), args.end());
    options.env = env_;
    options.stdin_text = input;
    absl::StatusOr<ProcessResult> result = RunProcess(options);
    if (!result.ok()) {
      ADD_FAILURE() << "git " << absl::StrJoin(args, " ") << ": " << result.status();
      return "";
    }
    if (!result->Succeeded()) {
      ADD_FAILURE() << "git " << absl::StrJoin(args, " ") << ": " << result->Describe() << "\n"
                    << result->stderr_text;
    }
    return std::string(absl::StripSuffix(result->stdout_text, "\n"));
  }

  // Writes `relative` (creating its directories) with `mode`.
  void WriteFile(const std::string& relative, const std::string& content,
                 mode_t mode = 0644) const {
    const std::filesystem::path file = std::filesystem::path(path_) / relative;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary | std::ios::trunc) << content;
    chmod(file.c_str(), mode);
  }

  void Symlink(const std::string& target, const std::string& relative) const {
    std::filesystem::create_symlink(target, std::filesystem::path(path_) / relative);
  }

  // Stages everything and commits; returns the new commit id.
  std::string CommitAll(const std::string& message) const {
    Git({"add", "--all"});
    Git({"commit", "--quiet", "--allow-empty", "-m", message});
    return Head();
  }

  std::string Head() const { return Git({"rev-parse", "HEAD"}); }

 private:
  std::string path_;
  std::vector<std::string> env_;
};

}  // namespace pyservice::testing

#endif  // PYSERVICE_TESTS_TESTING_GIT_REPO_H_

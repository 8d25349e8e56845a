// A git remote in memory: refs map to commits, commits to file trees. Safe
// to call from several threads.
#ifndef PYSERVICE_TESTS_TESTING_FAKE_GIT_FETCHER_H_
#define PYSERVICE_TESTS_TESTING_FAKE_GIT_FETCHER_H_

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "agent/git/git_fetcher.h"

namespace pyservice::testing {

class FakeGitFetcher final : public agent::GitFetcher {
 public:
  // Files of a commit: relative path → content; a content starting with
  // kSymlinkTo is a symlink to the rest (git stores symlinks too).
  using Tree = std::map<std::string, std::string>;
  static constexpr char kSymlinkTo[] = "symlink-to:";

  void AddCommit(const std::string& ref, const std::string& commit, Tree tree) {
    absl::MutexLock lock(&mu_);
    refs_[ref] = commit;
    trees_[commit] = std::move(tree);
  }

  absl::StatusOr<std::string> Fetch(const agent::FetchRequest& request) override {
    absl::MutexLock lock(&mu_);
    ++fetches_;
    last_request_ = request;
    auto it = refs_.find(request.ref);
    if (it == refs_.end()) {
      return absl::NotFoundError(absl::StrCat("ref ", request.ref, " not found in ", request.repo_url));
    }
    std::filesystem::create_directories(request.mirror_dir);
    return it->second;
  }

  absl::Status Export(const std::string&, const std::string& commit,
                      const std::string& dest_dir) override {
    absl::MutexLock lock(&mu_);
    ++exports_;
    if (std::filesystem::exists(dest_dir)) {
      return absl::FailedPreconditionError(dest_dir + " exists");
    }
    std::filesystem::create_directories(dest_dir);
    chmod(dest_dir.c_str(), 0755);
    for (const auto& [path, content] : trees_.at(commit)) {
      const std::filesystem::path file = std::filesystem::path(dest_dir) / path;
      std::filesystem::create_directories(file.parent_path());
      if (absl::StartsWith(content, kSymlinkTo)) {
        std::filesystem::create_symlink(content.substr(sizeof(kSymlinkTo) - 1), file);
        continue;
      }
      std::ofstream(file) << content;
    }
    return absl::OkStatus();
  }

  int fetches() const {
    absl::MutexLock lock(&mu_);
    return fetches_;
  }
  int exports() const {
    absl::MutexLock lock(&mu_);
    return exports_;
  }
  agent::FetchRequest last_request() const {
    absl::MutexLock lock(&mu_);
    return last_request_;
  }

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, std::string> refs_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Tree> trees_ ABSL_GUARDED_BY(mu_);
  int fetches_ ABSL_GUARDED_BY(mu_) = 0;
  int exports_ ABSL_GUARDED_BY(mu_) = 0;
  agent::FetchRequest last_request_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pyservice::testing

#endif  // PYSERVICE_TESTS_TESTING_FAKE_GIT_FETCHER_H_

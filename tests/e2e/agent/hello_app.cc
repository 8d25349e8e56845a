#include "tests/e2e/agent/hello_app.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "tests/testing/git_repo.h"
#include "tests/testing/temp_dir.h"

namespace pyservice::testing {
namespace {

// The example app of deploy/examples/hello/src (also the demo's), so the
// tests deploy what operators are shown. Its pyproject.toml lists
// `packages` explicitly: setuptools' automatic discovery would refuse a
// project directory that also holds .venv (the agent builds the
// environment inside the release).
std::string ExampleSource(const std::string& path) {
  const std::string full =
      absl::StrCat(PYSERVICE_SOURCE_DIR, "/deploy/examples/hello/src/", path);
  std::ifstream in(full, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) ADD_FAILURE() << "cannot read " << full;
  if (text.empty()) ADD_FAILURE() << full << " is empty or missing";
  return text;
}

constexpr char kBrokenMain[] = R"(import sys

print("hello v3: broken on purpose", file=sys.stderr, flush=True)
sys.exit(1)
)";

struct Built {
  TempDir dir;
  HelloRepos repos;
  bool big = false;
  bool series = false;
};

Built& Storage() {
  // Removed when the test binary exits; the hosts that bind it are stopped
  // before that, in their suites' TearDownTestSuite.
  static Built built;
  if (built.repos.dir.empty()) {
    built.repos.dir = built.dir.path();
    std::filesystem::create_directories(built.dir.Join("home"));
  }
  return built;
}

void WriteVersion(const GitRepo& repo, const std::string& version) {
  repo.WriteFile("hello/__init__.py", absl::StrCat("VERSION = \"", version, "\"\n"));
}

void BuildMain(Built& built) {
  GitRepo work(built.dir.Join("work"), built.dir.Join("home"));
  work.WriteFile("pyproject.toml", ExampleSource("pyproject.toml"));
  work.WriteFile("pinned-requirements.txt", "");
  work.WriteFile("hello/__main__.py", ExampleSource("hello/__main__.py"));
  WriteVersion(work, "v1");
  built.repos.commits["v1"] = work.CommitAll("hello v1");
  work.Git({"tag", "v1"});
  WriteVersion(work, "v2");
  built.repos.commits["v2"] = work.CommitAll("hello v2");
  work.Git({"tag", "-a", "v2", "-m", "annotated v2"});
  WriteVersion(work, "v3");
  work.WriteFile("hello/__main__.py", kBrokenMain);
  built.repos.commits["v3-broken"] = work.CommitAll("hello v3, broken");
  work.Git({"tag", "v3-broken"});
  // v1 with pyproject.toml a symlink to /dev/zero: the agent, root, must
  // not read through it (git stores the symlink as such).
  work.Git({"checkout", "--quiet", "-b", "devzero", "v1"});
  std::filesystem::remove(std::filesystem::path(work.path()) / "pyproject.toml");
  work.Symlink("/dev/zero", "pyproject.toml");
  built.repos.commits["v4-devzero"] = work.CommitAll("hello v1, pyproject.toml -> /dev/zero");
  work.Git({"tag", "v4-devzero"});
  work.Git({"checkout", "--quiet", "main"});
  // Changed pins (a comment is enough): a new environment, built again.
  WriteVersion(work, "v4");
  work.WriteFile("hello/__main__.py", ExampleSource("hello/__main__.py"));
  work.WriteFile("pinned-requirements.txt", "# v4-deps: pins changed, still none\n");
  built.repos.commits["v4-deps"] = work.CommitAll("hello v4, changed pins");
  work.Git({"tag", "v4-deps"});
  // --no-local: a packed repository, as a server would have.
  work.Git({"clone", "--quiet", "--bare", "--no-local", work.path(), built.dir.Join("hello.git")});
}

void BuildBig(Built& built) {
  GitRepo work(built.dir.Join("work"), built.dir.Join("home"), GitRepo::kExisting);
  work.Git({"checkout", "--quiet", "-b", "big", "v1"});
  // Many small files: exporting them (and chowning and digesting the tree)
  // keeps the checkout's temporary directory around for about a second.
  for (int d = 0; d < 40; ++d) {
    for (int f = 0; f < 500; ++f) {
      work.WriteFile(absl::StrFormat("assets/d%02d/f%03d.txt", d, f),
                     absl::StrFormat("asset %d/%d of the big tag\n", d, f));
    }
  }
  built.repos.commits["v1-big"] = work.CommitAll("hello v1 with many assets");
  work.Git({"tag", "v1-big"});
  work.Git({"clone", "--quiet", "--bare", "--no-local", "--branch", "big", work.path(),
            built.dir.Join("hello-big.git")});
  work.Git({"checkout", "--quiet", "main"});
}

void BuildSeries(Built& built, int count) {
  GitRepo work(built.dir.Join("work"), built.dir.Join("home"), GitRepo::kExisting);
  work.Git({"checkout", "--quiet", "-b", "series", "v1"});
  for (int i = 1; i <= count; ++i) {
    const std::string tag = SeriesTag(i);
    WriteVersion(work, tag);
    built.repos.commits[tag] = work.CommitAll(absl::StrCat("hello ", tag));
    work.Git({"tag", tag});
  }
  work.Git({"clone", "--quiet", "--bare", "--no-local", "--branch", "series", work.path(),
            built.dir.Join("hello-series.git")});
  work.Git({"checkout", "--quiet", "main"});
}

}  // namespace

std::string SeriesTag(int index) { return absl::StrFormat("s%02d", index); }

const HelloRepos& GetHelloSeriesRepos(int count) {
  Built& built = Storage();
  if (built.repos.commits.empty()) BuildMain(built);
  if (!built.series) {
    BuildSeries(built, count);
    built.series = true;
  }
  return built.repos;
}

const HelloRepos& GetHelloRepos(bool with_big) {
  Built& built = Storage();
  if (built.repos.commits.empty()) BuildMain(built);
  if (with_big && !built.big) {
    BuildBig(built);
    built.big = true;
  }
  return built.repos;
}

std::string HelloBody(const std::string& tag) {
  if (tag == "v4-deps") return "hello v4";
  if (tag.size() == 3 && tag[0] == 's') return absl::StrCat("hello ", tag);
  return tag == "v2" ? "hello v2" : "hello v1";
}

}  // namespace pyservice::testing

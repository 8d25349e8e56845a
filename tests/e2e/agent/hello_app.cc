#include "tests/e2e/agent/hello_app.h"

#include <filesystem>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tests/testing/git_repo.h"
#include "tests/testing/temp_dir.h"

namespace pyservice::testing {
namespace {

// `packages` is explicit: setuptools' automatic discovery would refuse a
// project directory that also holds .venv (the agent builds the
// environment inside the release).
constexpr char kPyproject[] = R"([build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"

[project]
name = "hello"
version = "1.0.0"
requires-python = ">=3.9"

[tool.setuptools]
packages = ["hello"]
)";

constexpr char kMain[] = R"(""" hello: the pyservice e2e test app.

python -m hello --config PATH web      serve "hello VERSION" on 127.0.0.1:PORT
python -m hello --config PATH report   print a line and exit
"""
import http.server
import sys

from hello import VERSION


def read_port(path):
    # config.yaml is written by the agent; its `port: N` line is all we need
    # (no YAML library offline).
    with open(path) as config:
        for line in config:
            key, _, value = line.partition(":")
            if key.strip() == "port":
                return int(value.strip().strip("'\""))
    raise SystemExit(f"hello: no port in {path}")


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path not in ("/", "/healthz"):
            self.send_error(404)
            return
        body = f"hello {VERSION}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main(argv):
    if len(argv) != 3 or argv[0] != "--config":
        raise SystemExit("usage: python -m hello --config PATH web|report")
    config, command = argv[1], argv[2]
    if command == "web":
        server = http.server.ThreadingHTTPServer(("127.0.0.1", read_port(config)), Handler)
        print(f"hello {VERSION} serving on port {server.server_port}", flush=True)
        server.serve_forever()
    elif command == "report":
        print(f"hello {VERSION} report", flush=True)
    else:
        raise SystemExit(f"hello: unknown command {command}")


if __name__ == "__main__":
    main(sys.argv[1:])
)";

constexpr char kBrokenMain[] = R"(import sys

print("hello v3: broken on purpose", file=sys.stderr, flush=True)
sys.exit(1)
)";

struct Built {
  TempDir dir;
  HelloRepos repos;
  bool big = false;
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
  work.WriteFile("pyproject.toml", kPyproject);
  work.WriteFile("pinned-requirements.txt", "");
  work.WriteFile("hello/__main__.py", kMain);
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

}  // namespace

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
  return tag == "v2" ? "hello v2" : "hello v1";
}

}  // namespace pyservice::testing

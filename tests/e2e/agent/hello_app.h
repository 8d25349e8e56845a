// The app the agent's e2e tests deploy: the example app of
// deploy/examples/hello/src (a real Python package, "hello"), in real git
// repositories built with the git binary by the test itself.
//
//   hello.git      v1         serves "hello v1" on / and /healthz
//                  v2         serves "hello v2"
//                  v3-broken  exits 1 at start (its deploy must fail verify)
//                  v4-devzero v1 with pyproject.toml a symlink to /dev/zero
//                  v4-deps    serves "hello v4"; its pinned-requirements.txt
//                             differs (v1 to v3-broken share one environment)
//   hello-big.git  v1-big     v1 plus 20,000 small files, so that exporting
//                             the checkout takes long enough to be killed
//   hello-series.git s01..sNN one commit per tag on top of v1, each serving
//                             "hello sNN": as many distinct releases as a
//                             test needs (crash_consistency_test.cc)
//
// `python -m hello --config PATH web` serves HTTP on 127.0.0.1 at the port
// of config.yaml's `port: N` line (flat `key: value` lines parsed by hand:
// there is no PyYAML offline; without a `greeting_file` key the body is just
// "hello VERSION"); `python -m hello --config PATH report` prints a line and
// exits 0.
// The package is built with setuptools, offline, by the agent's venv backend.
#ifndef PYSERVICE_TESTS_E2E_AGENT_HELLO_APP_H_
#define PYSERVICE_TESTS_E2E_AGENT_HELLO_APP_H_

#include <map>
#include <string>

namespace pyservice::testing {

struct HelloRepos {
  // On the outer machine; holds hello.git (and hello-big.git once built).
  // Bind it into a host, e.g. at /srv/git.
  std::string dir;
  // Tag -> full commit id, for every tag above that has been built.
  std::map<std::string, std::string> commits;
};

// Builds hello.git on first use (once per test binary) and returns it. With
// `with_big`, also hello-big.git. A git failure fails the calling test.
const HelloRepos& GetHelloRepos(bool with_big = false);

// Builds hello-series.git with tags s01..s<count> (once per test binary;
// the first call's count holds) next to hello.git, whose commits it adds
// to the returned HelloRepos. A git failure fails the calling test.
const HelloRepos& GetHelloSeriesRepos(int count);
// "s07" for 7.
std::string SeriesTag(int index);

// The body the given tag of hello answers with: "hello v1" for v1 and
// v1-big, "hello v2" for v2, "hello sNN" for a series tag.
std::string HelloBody(const std::string& tag);

}  // namespace pyservice::testing

#endif  // PYSERVICE_TESTS_E2E_AGENT_HELLO_APP_H_

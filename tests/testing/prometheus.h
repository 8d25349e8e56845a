// Debian's `prometheus` package as the metrics tests use it: promtool's
// check of an exposition, and a real Prometheus server that scrapes targets
// and is asked for values over its HTTP API. deploy/install-deps.sh
// installs the package; a test that finds a tool missing fails saying so.
#ifndef PYSERVICE_TESTS_TESTING_PROMETHEUS_H_
#define PYSERVICE_TESTS_TESTING_PROMETHEUS_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tests/testing/child_process.h"

namespace pyservice::testing {

// The tool's path on PATH, or "".
std::string FindTool(const std::string& name);

// gtest expectations: `promtool check metrics` accepts `text` with no finding.
void ExpectPromtoolAccepts(const std::string& text);

struct PrometheusOptions {
  std::string dir;                           // config, TSDB and logs go here
  std::map<std::string, std::string> jobs;   // job name -> HOST:PORT scraped every second
  int port = 0;                              // its web listener on 127.0.0.1
  // Run before the server's own argv, e.g. nsenter into a test host's
  // network namespace so it scrapes that host's loopback.
  std::vector<std::string> argv_prefix;
};

// Starts Prometheus and waits until it serves.
absl::StatusOr<std::unique_ptr<ChildProcess>> StartPrometheus(const PrometheusOptions& options);

// The path (with query string) of an instant query of `query`.
std::string PrometheusQueryPath(const std::string& query);

// The value of the single sample in an /api/v1/query answer `body`; "" when
// it holds none (yet) or is not one.
std::string PrometheusSampleValue(const std::string& body);

// A loopback port free right now (Prometheus cannot report the port of a
// port 0 listener).
int FreeLoopbackPort();

}  // namespace pyservice::testing

#endif  // PYSERVICE_TESTS_TESTING_PROMETHEUS_H_

// Certificates for the transport security tests, made at test time by the
// very script operators use (deploy/tls/make-test-ca.sh) in a temporary
// directory, once per test process.
#ifndef PYSERVICE_TESTS_COMMON_TLS_TEST_PKI_H_
#define PYSERVICE_TESTS_COMMON_TLS_TEST_PKI_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace pyservice::tls::testing {

// Host names with a client certificate from the right CA, and from the
// wrong one.
inline constexpr char kHostName[] = "web-1";
inline constexpr char kOperatorName[] = "operator";

struct TestPki {
  std::string dir;
  std::string ca_crt() const { return dir + "/ca.crt"; }
  std::string ca_key() const { return dir + "/ca.key"; }
  std::string server_crt() const { return dir + "/server.crt"; }
  std::string server_key() const { return dir + "/server.key"; }
  std::string client_crt(const std::string& name) const {
    return dir + "/client-" + name + ".crt";
  }
  std::string client_key(const std::string& name) const {
    return dir + "/client-" + name + ".key";
  }
  // The unrelated CA and its certificates, same names.
  std::string wrong_ca_crt() const { return dir + "/wrong-ca/ca.crt"; }
  std::string wrong_client_crt(const std::string& name) const {
    return dir + "/wrong-ca/client-" + name + ".crt";
  }
  std::string wrong_client_key(const std::string& name) const {
    return dir + "/wrong-ca/client-" + name + ".key";
  }
  // Made by the test with openssl, not the script: a client certificate
  // whose CN ("legacy-cn") differs from its DNS SAN ("san-host"), and one
  // with a CN ("cn-only-host") and no SAN at all.
  std::string san_differs_crt() const { return dir + "/san-differs.crt"; }
  std::string san_differs_key() const { return dir + "/san-differs.key"; }
  std::string cn_only_crt() const { return dir + "/cn-only.crt"; }
  std::string cn_only_key() const { return dir + "/cn-only.key"; }
};

// The process's test PKI, made on first use; an error (with the script's or
// openssl's output) when it could not be made, e.g. without openssl.
const absl::StatusOr<TestPki>& GetTestPki();

// Runs `argv` (openssl or a script) to completion; an error with its output
// unless it exits 0.
absl::Status RunOrError(const std::vector<std::string>& argv);

}  // namespace pyservice::tls::testing

#endif  // PYSERVICE_TESTS_COMMON_TLS_TEST_PKI_H_

#include "tests/common/tls/test_pki.h"

#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/process/subprocess.h"
#include "common/status/status_macros.h"
#include "tests/testing/temp_dir.h"

namespace pyservice::tls::testing {
namespace {

// A client certificate made directly with openssl and signed by the test CA,
// for the name shapes the script never issues.
absl::Status MakeClientCertificate(const TestPki& pki, const std::string& crt,
                                   const std::string& key,
                                   const std::string& cn,
                                   const std::string& extensions) {
  const std::string csr = key + ".csr";
  const std::string ext = key + ".ext";
  RETURN_IF_ERROR(RunOrError({"openssl", "genpkey", "-algorithm", "EC",
                              "-pkeyopt", "ec_paramgen_curve:P-256", "-out",
                              key}));
  RETURN_IF_ERROR(RunOrError({"openssl", "req", "-new", "-config", "/dev/null",
                              "-key", key, "-subj", "/CN=" + cn, "-out",
                              csr}));
  std::ofstream(ext) << extensions;
  return RunOrError({"openssl", "x509", "-req", "-in", csr, "-CA",
                     pki.ca_crt(), "-CAkey", pki.ca_key(), "-set_serial",
                     "4242", "-days", "2", "-extfile", ext, "-out", crt});
}

absl::StatusOr<TestPki> MakeTestPki(const std::string& dir) {
  TestPki pki{dir};
  const std::string script =
      std::string(PYSERVICE_SOURCE_DIR) + "/deploy/tls/make-test-ca.sh";
  RETURN_IF_ERROR(RunOrError({"bash", script, "--client", kHostName,
                              "--client", kOperatorName, "--wrong-ca", dir}));
  constexpr char kClientExtensions[] =
      "basicConstraints = critical,CA:FALSE\n"
      "keyUsage = critical,digitalSignature\n"
      "extendedKeyUsage = clientAuth\n";
  RETURN_IF_ERROR(MakeClientCertificate(
      pki, pki.san_differs_crt(), pki.san_differs_key(), "legacy-cn",
      absl::StrCat(kClientExtensions, "subjectAltName = DNS:san-host\n")));
  RETURN_IF_ERROR(MakeClientCertificate(pki, pki.cn_only_crt(),
                                        pki.cn_only_key(), "cn-only-host",
                                        kClientExtensions));
  return pki;
}

}  // namespace

absl::Status RunOrError(const std::vector<std::string>& argv) {
  ProcessOptions options;
  options.argv = argv;
  absl::StatusOr<ProcessResult> result = RunProcess(options);
  if (!result.ok()) {
    return absl::Status(
        result.status().code(),
        absl::StrCat("cannot run ", argv[0], " (is it installed?): ",
                     result.status().message()));
  }
  if (!result->Succeeded()) {
    return absl::InternalError(absl::StrCat(
        absl::StrJoin(argv, " "), ": ", result->Describe(), "\n",
        result->stderr_text, result->stdout_text));
  }
  return absl::OkStatus();
}

const absl::StatusOr<TestPki>& GetTestPki() {
  // Removed at exit, by its destructor.
  static pyservice::testing::TempDir dir;
  static const absl::StatusOr<TestPki> pki = MakeTestPki(dir.Join("pki"));
  return pki;
}

}  // namespace pyservice::tls::testing

// The controller wired as main.cc wires it (real SQLite store, the
// controller's own CA in a temp dir, the access layer in front of both
// services), served over TLS on 127.0.0.1:0 and an admin socket, plus the
// callers of the auth tests: no credential, enrolled agents, operator
// tokens of each role, a certificate from another pyservice CA, and
// revoked credentials.
#ifndef PYSERVICE_TESTS_INTEGRATION_AUTH_AUTH_FIXTURE_H_
#define PYSERVICE_TESTS_INTEGRATION_AUTH_AUTH_FIXTURE_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/channel.h>
#include <grpcpp/security/credentials.h>

#include "controller/auth/access_control.h"
#include "controller/auth/authorized_controller_service.h"
#include "controller/fleet/agent_service.h"
#include "controller/fleet/fleet.h"
#include "controller/server/controller_server.h"
#include "controller/service/controller_service.h"
#include "controller/store/aes_gcm_spec_sealer.h"
#include "controller/store/sqlite_store.h"
#include "gtest/gtest.h"
#include "pyservice/v1/agent.grpc.pb.h"
#include "pyservice/v1/controller.grpc.pb.h"
#include "tests/common/tls/test_pki.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/test_secret_keys.h"
#include "tests/testing/temp_dir.h"

namespace pyservice::testing {

// How a caller reaches the controller: TLS (with a client certificate when
// cert_file is set) and a bearer token when `token` is set.
struct Caller {
  std::string name;
  // All optional.
  std::string cert_file;
  std::string key_file;
  std::string token;
  std::string host;  // the host an agent's certificate names
};

// Writes `text` to `path`, mode 0600 from the start (keys).
void WritePrivateFile(const std::string& path, const std::string& text);

class AuthFixture : public ::testing::Test {
 public:
  // A channel to the TLS listener as `caller`, and the context of one call
  // from it (bearer token in, 5 s deadline).
  std::shared_ptr<grpc::Channel> Channel(const Caller& caller);
  // The TLS credentials of `caller` (its certificate, if any).
  std::shared_ptr<grpc::ChannelCredentials> Credentials(const Caller& caller) const;
  void Prepare(const Caller& caller, grpc::ClientContext& context) const;
  // Waits (at most 10 s) until the controller has attached `host`'s
  // session and ended it again after its client closed it. (The client
  // can see the Welcome before the host is attached: "nobody connected"
  // alone could be seen before the session's host record is queued.)
  void WaitUntilSessionOfHostEnded(const std::string& host) const;

 protected:
  void SetUp() override;
  void TearDown() override;
  // The admin socket's group ("" for root only).
  virtual std::string AdminSocketGroup() const { return ""; }

  // Enrolls `host` with `labels` through the real Enroll RPC (key and CSR
  // made here); the caller presents the issued certificate.
  Caller EnrollAgent(const std::string& host, const std::map<std::string, std::string>& labels);
  // An operator token of `role` limited to `apps`.
  Caller Operator(const std::string& name, v1::Role role, const std::vector<std::string>& apps = {});
  // Stores `yaml` as an app, as an admin would (not through the RPCs).
  void StoreApp(const std::string& yaml);

  // Every row of every table of the store's SQLite file, as text: equal
  // before and after a refused call means the call changed nothing.
  std::string DumpStore() const;

  TempDir dir_;
  FakeClock clock_{absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()))};
  tls::testing::TestPki pki_;
  const controller::SecretKeys keys_ = TestSecretKeys();
  const spec::SecretFingerprinter fingerprints_{keys_.fingerprint};
  const controller::AesGcmSpecSealer sealer_{keys_, "test.key"};
  std::unique_ptr<controller::SqliteStore> store_;
  std::unique_ptr<controller::auth::AccessControl> access_;
  std::unique_ptr<controller::fleet::Fleet> fleet_;
  std::unique_ptr<controller::ControllerServiceImpl> service_;
  std::unique_ptr<controller::auth::AuthorizedControllerService> authorized_;
  std::unique_ptr<controller::fleet::AgentServiceImpl> agent_service_;
  std::unique_ptr<controller::ControllerServer> server_;
  std::string address_;
  std::string admin_socket_;
};

}  // namespace pyservice::testing

#endif  // PYSERVICE_TESTS_INTEGRATION_AUTH_AUTH_FIXTURE_H_

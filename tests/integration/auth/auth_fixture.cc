#include "tests/integration/auth/auth_fixture.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <fstream>

#include <grpcpp/create_channel.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/spec/app_spec_parser.h"
#include "common/spec/canonical.h"
#include "common/tls/credentials.h"
#include "common/tls/pki.h"

namespace pyservice::testing {

void WritePrivateFile(const std::string& path, const std::string& text) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size())) << path;
  close(fd);
}

void AuthFixture::SetUp() {
  const absl::StatusOr<tls::testing::TestPki>& pki = tls::testing::GetTestPki();
  ASSERT_TRUE(pki.ok()) << pki.status();
  pki_ = *pki;
  absl::StatusOr<std::unique_ptr<controller::SqliteStore>> store =
      controller::SqliteStore::Open(dir_.Join("data"), clock_, sealer_);
  ASSERT_TRUE(store.ok()) << store.status();
  store_ = *std::move(store);
  absl::StatusOr<std::unique_ptr<controller::auth::AccessControl>> access =
      controller::auth::AccessControl::Create(*store_, dir_.Join("data/ca"), clock_, {});
  ASSERT_TRUE(access.ok()) << access.status();
  access_ = *std::move(access);
  absl::StatusOr<std::unique_ptr<controller::fleet::Fleet>> fleet =
      controller::fleet::Fleet::Create(*store_, clock_, {});
  ASSERT_TRUE(fleet.ok()) << fleet.status();
  fleet_ = *std::move(fleet);
  service_ = std::make_unique<controller::ControllerServiceImpl>(
      *store_, clock_, *fleet_, fingerprints_, &access_->registry());
  authorized_ =
      std::make_unique<controller::auth::AuthorizedControllerService>(*service_, access_->guard());
  agent_service_ = std::make_unique<controller::fleet::AgentServiceImpl>(
      *fleet_, controller::fleet::GuardedAgentGate(access_->guard()), &access_->registry());

  tls::TlsServerOptions tls;
  tls.cert_file = pki_.server_crt();
  tls.key_file = pki_.server_key();
  tls.application_verifies_client_certs = true;
  tls.client_ca_pem = access_->ca_certificate_pem();
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      tls::MakeServerCredentials(tls);
  ASSERT_TRUE(credentials.ok()) << credentials.status();
  controller::ControllerServerOptions options;
  options.listen = {"127.0.0.1:0"};
  options.services = {authorized_.get()};
  options.queue_services = {agent_service_.get()};
  options.credentials = *credentials;
  admin_socket_ = dir_.Join("admin.sock");
  options.admin_socket = admin_socket_;
  options.admin_socket_group = AdminSocketGroup();
  options.local_peers = &access_->local_peers();
  absl::StatusOr<std::unique_ptr<controller::ControllerServer>> server =
      controller::ControllerServer::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  server_ = *std::move(server);
  address_ = server_->bound_addresses()[0].ToString();
}

void AuthFixture::TearDown() {
  if (fleet_ != nullptr) fleet_->Shutdown();
  if (server_ != nullptr) server_->Shutdown();
}

std::shared_ptr<grpc::ChannelCredentials> AuthFixture::Credentials(const Caller& caller) const {
  tls::TlsClientOptions options;
  options.ca_file = pki_.ca_crt();
  options.cert_file = caller.cert_file;
  options.key_file = caller.key_file;
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      tls::MakeChannelCredentials(options);
  EXPECT_TRUE(credentials.ok()) << credentials.status();
  return credentials.ok() ? *credentials : nullptr;
}

std::shared_ptr<grpc::Channel> AuthFixture::Channel(const Caller& caller) {
  grpc::ChannelArguments arguments;
  // A connection of its own per caller, never one shared with another
  // caller's credentials.
  arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(address_, Credentials(caller), arguments);
}

void AuthFixture::Prepare(const Caller& caller, grpc::ClientContext& context) const {
  if (!caller.token.empty()) context.AddMetadata("authorization", "Bearer " + caller.token);
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
}

Caller AuthFixture::EnrollAgent(const std::string& host,
                                const std::map<std::string, std::string>& labels) {
  Caller caller{absl::StrCat("agent ", host), "", "", "", host};
  absl::StatusOr<controller::auth::NewEnrollmentToken> token =
      access_->registry().CreateEnrollmentToken(host, labels, absl::Hours(1));
  EXPECT_TRUE(token.ok()) << token.status();
  absl::StatusOr<std::string> key = tls::GeneratePrivateKeyPem();
  EXPECT_TRUE(key.ok()) << key.status();
  absl::StatusOr<std::string> csr = tls::MakeCertificateRequestPem(*key, host);
  EXPECT_TRUE(csr.ok()) << csr.status();
  if (!token.ok() || !key.ok() || !csr.ok()) return caller;

  v1::EnrollRequest request;
  request.set_token(token->text);
  request.set_csr_pem(*csr);
  v1::EnrollResponse response;
  grpc::ClientContext context;
  Prepare(Caller{}, context);
  const grpc::Status status =
      v1::AgentService::NewStub(Channel(Caller{}))->Enroll(&context, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  caller.key_file = dir_.Join(host + ".key");
  caller.cert_file = dir_.Join(host + ".crt");
  WritePrivateFile(caller.key_file, *key);
  WritePrivateFile(caller.cert_file, response.certificate_pem());
  return caller;
}

Caller AuthFixture::Operator(const std::string& name, v1::Role role,
                             const std::vector<std::string>& apps) {
  absl::StatusOr<controller::auth::NewToken> token =
      access_->registry().CreateToken(name, role, apps, absl::ZeroDuration());
  EXPECT_TRUE(token.ok()) << token.status();
  return Caller{absl::StrCat("token ", name), "", "", token.ok() ? token->text : ""};
}

void AuthFixture::StoreApp(const std::string& yaml) {
  absl::StatusOr<v1::AppSpec> spec = spec::ParseAppSpec(yaml, "app.yaml");
  ASSERT_TRUE(spec.ok()) << spec.status();
  controller::StoredRevision revision;
  revision.app = spec->name();
  revision.tag = spec->tag();
  revision.digest = spec::SpecDigest(*spec, fingerprints_);
  revision.spec = spec->SerializeAsString();
  absl::StatusOr<std::optional<controller::StoredRevision>> current =
      store_->CurrentRevision(spec->name());
  ASSERT_TRUE(current.ok()) << current.status();
  ASSERT_TRUE(store_->AppendRevision(revision, current->has_value() ? (*current)->number : 0).ok());
  ASSERT_TRUE(fleet_->AppChanged(spec->name()).ok());
}

std::string AuthFixture::DumpStore() const {
  sqlite3* db = nullptr;
  const std::string path = dir_.Join("data/pyservice.db");
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << "cannot open " << path;
    sqlite3_close(db);
    return "";
  }
  std::string dump;
  std::vector<std::string> tables;
  sqlite3_exec(
      db, "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name",
      [](void* out, int, char** values, char**) {
        static_cast<std::vector<std::string>*>(out)->push_back(values[0]);
        return 0;
      },
      &tables, nullptr);
  for (const std::string& table : tables) {
    absl::StrAppend(&dump, "[", table, "]\n");
    sqlite3_exec(
        db, absl::StrCat("SELECT * FROM \"", table, "\" ORDER BY 1").c_str(),
        [](void* out, int columns, char** values, char**) {
          for (int i = 0; i < columns; ++i) {
            absl::StrAppend(static_cast<std::string*>(out), values[i] == nullptr ? "NULL" : values[i],
                            "|");
          }
          absl::StrAppend(static_cast<std::string*>(out), "\n");
          return 0;
        },
        &dump, nullptr);
  }
  sqlite3_close(db);
  return dump;
}

void AuthFixture::WaitUntilSessionOfHostEnded(const std::string& host) const {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    for (const controller::fleet::HostSummary& summary : fleet_->registry().ListHosts()) {
      if (summary.name == host && !summary.connected) return;
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  ADD_FAILURE() << "the session of " << host << " did not end within 10 s";
}

}  // namespace pyservice::testing

// When plaintext gRPC is allowed: Unix sockets, or an explicit --insecure.
#include "common/tls/plaintext.h"

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/common/tls/who_am_i_server.h"
#include "tests/testing/temp_dir.h"

namespace pyservice::tls::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

TEST(IsUnixAddress, AcceptsUnixSocketPathsOnly) {
  EXPECT_TRUE(IsUnixAddress("unix:/run/pyservice/controller.sock"));
  EXPECT_TRUE(IsUnixAddress("unix:///run/pyservice/controller.sock"));
  EXPECT_TRUE(IsUnixAddress("unix:relative.sock"));
  EXPECT_FALSE(IsUnixAddress("unix:"));
  EXPECT_FALSE(IsUnixAddress("unix-abstract:pyservice"));
  EXPECT_FALSE(IsUnixAddress("127.0.0.1:7070"));
  EXPECT_FALSE(IsUnixAddress("[::1]:7070"));
  EXPECT_FALSE(IsUnixAddress("dns:///unix:7070"));
  EXPECT_FALSE(IsUnixAddress("unix.example.com:7070"));
  EXPECT_FALSE(IsUnixAddress(""));
}

TEST(CheckPlaintextAllowed, UnixSocketNeedsNoFlag) {
  EXPECT_TRUE(CheckPlaintextAllowed("unix:/run/pyservice/controller.sock",
                                    /*insecure_flag=*/false)
                  .ok());
}

TEST(CheckPlaintextAllowed, TcpWithoutFlagIsRefusedNamingAddressAndWaysOut) {
  const absl::Status status =
      CheckPlaintextAllowed("10.0.0.5:7070", /*insecure_flag=*/false);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(),
              AllOf(HasSubstr("\"10.0.0.5:7070\""), HasSubstr("TLS"),
                    HasSubstr("unix:"), HasSubstr("--insecure")));
}

TEST(CheckPlaintextAllowed, TcpWithInsecureFlagIsAllowed) {
  EXPECT_TRUE(CheckPlaintextAllowed("10.0.0.5:7070", /*insecure_flag=*/true).ok());
}

// Loopback never leaves the host, like a unix: socket: the default address
// 127.0.0.1:7070 works without TLS or --insecure.
TEST(CheckPlaintextAllowed, LoopbackIpNeedsNoFlag) {
  for (const char* address :
       {"127.0.0.1:7070", "127.0.0.1:0", "127.3.4.5:80", "[::1]:7070",
        "dns:///127.0.0.1:7070", "ipv4:127.0.0.1:7070", "ipv6:[::1]:7070"}) {
    EXPECT_TRUE(CheckPlaintextAllowed(address, false).ok()) << address;
    EXPECT_TRUE(IsLoopbackAddress(address)) << address;
  }
}

TEST(CheckPlaintextAllowed, NonLoopbackAndNamesNeedTheFlag) {
  for (const char* address :
       {"localhost:7070", "0.0.0.0:7070", "[::]:7070", "128.0.0.1:7070",
        "10.0.0.5:7070", "[::ffff:127.0.0.1]:7070", "127.0.0.1", "[::1",
        "controller.example:7070", "127.0.0.1.example.com:7070"}) {
    EXPECT_FALSE(CheckPlaintextAllowed(address, false).ok()) << address;
    EXPECT_FALSE(IsLoopbackAddress(address)) << address;
  }
}

TEST(CheckPlaintextAllowed, AbstractUnixSocketNeedsTheFlag) {
  EXPECT_FALSE(CheckPlaintextAllowed("unix-abstract:pyservice", false).ok());
  EXPECT_TRUE(CheckPlaintextAllowed("unix-abstract:pyservice", true).ok());
}

TEST(MakeInsecureCredentials, TcpWithoutFlagIsRefused) {
  EXPECT_EQ(MakeInsecureServerCredentials("0.0.0.0:7070", false).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      MakeInsecureChannelCredentials("controller:7070", false).status().code(),
      absl::StatusCode::kInvalidArgument);
}

TEST(MakeInsecureCredentials, TcpWithFlagMakesCredentials) {
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> server =
      MakeInsecureServerCredentials("127.0.0.1:0", true);
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_NE(*server, nullptr);
}

TEST(MakeInsecureCredentials, PlaintextOnUnixSocketWorksAndHasNoIdentity) {
  pyservice::testing::TempDir dir;
  const std::string address = "unix:" + dir.Join("who.sock");
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> server_credentials =
      MakeInsecureServerCredentials(address, /*insecure_flag=*/false);
  ASSERT_TRUE(server_credentials.ok()) << server_credentials.status();
  absl::StatusOr<std::unique_ptr<WhoAmIServer>> server = WhoAmIServer::Start(
      *server_credentials, WhoAmIServer::Api::kSync, address);
  ASSERT_TRUE(server.ok()) << server.status();
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> client_credentials =
      MakeInsecureChannelCredentials(address, /*insecure_flag=*/false);
  ASSERT_TRUE(client_credentials.ok()) << client_credentials.status();
  absl::StatusOr<std::string> identity =
      AskWhoAmI((*server)->target(), *client_credentials);
  ASSERT_TRUE(identity.ok()) << identity.status();
  EXPECT_EQ(*identity, "");
}

}  // namespace
}  // namespace pyservice::tls::testing

#include "common/net/listen_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace pyservice {
namespace {

using ::testing::HasSubstr;

TEST(ParseListenAddressTest, AcceptsTheDocumentedForms) {
  struct Case {
    std::string text;
    ListenAddress::Kind kind;
    std::string host;
    int port;
    std::string path;
  };
  const Case cases[] = {
      {"127.0.0.1:7070", ListenAddress::Kind::kTcp, "127.0.0.1", 7070, ""},
      {"localhost:0", ListenAddress::Kind::kTcp, "localhost", 0, ""},
      {"[::]:65535", ListenAddress::Kind::kTcp, "[::]", 65535, ""},
      {"0.0.0.0:1", ListenAddress::Kind::kTcp, "0.0.0.0", 1, ""},
      {"unix:/run/pyservice/c.sock", ListenAddress::Kind::kUnix, "", 0,
       "/run/pyservice/c.sock"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<ListenAddress> parsed = ParseListenAddress(c.text);
    ASSERT_TRUE(parsed.ok()) << c.text << ": " << parsed.status();
    EXPECT_EQ(parsed->kind, c.kind) << c.text;
    EXPECT_EQ(parsed->host, c.host) << c.text;
    EXPECT_EQ(parsed->port, c.port) << c.text;
    EXPECT_EQ(parsed->path, c.path) << c.text;
    EXPECT_EQ(parsed->ToString(), c.text);
  }
}

TEST(ParseListenAddressTest, RejectsMalformedAddressesNamingThem) {
  const std::vector<std::string> malformed = {
      "", "7070", "localhost", ":7070", "host:", "host:http", "host:65536",
      "host:-1", "::1:7070", "[::1:7070", "unix:relative.sock", "unix:",
      "unix:/" + std::string(200, 'x')};
  for (const std::string& text : malformed) {
    absl::StatusOr<ListenAddress> parsed = ParseListenAddress(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(parsed.status().message(),
                HasSubstr("\"" + text.substr(0, 20)));
  }
}

TEST(ListenAddressTest, WithPortKeepsTheHost) {
  absl::StatusOr<ListenAddress> parsed = ParseListenAddress("[::1]:0");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->WithPort(41234).ToString(), "[::1]:41234");
}

class PrepareUnixSocketPathTest : public ::testing::Test {
 protected:
  ListenAddress Unix(const std::string& path) {
    ListenAddress address;
    address.kind = ListenAddress::Kind::kUnix;
    address.path = path;
    return address;
  }
  // A bound (listening if `listen`) socket at `path`; closed by the caller.
  int BindSocket(const std::string& path, bool listen_on_it) {
    const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr = {};
    addr.sun_family = AF_UNIX;
    path.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
    EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    if (listen_on_it) {
      EXPECT_EQ(listen(fd, 1), 0);
    }
    return fd;
  }
  bool Exists(const std::string& path) {
    struct stat info;
    return lstat(path.c_str(), &info) == 0;
  }

  testing::TempDir dir_;
};

TEST_F(PrepareUnixSocketPathTest, CreatesTheParentDirectory) {
  const std::string path = dir_.Join("a/b/c.sock");
  ASSERT_TRUE(PrepareUnixSocketPath(Unix(path)).ok());
  EXPECT_TRUE(Exists(dir_.Join("a/b")));
  EXPECT_FALSE(Exists(path));
}

TEST_F(PrepareUnixSocketPathTest, RemovesAStaleSocket) {
  const std::string path = dir_.Join("stale.sock");
  close(BindSocket(path, /*listen_on_it=*/false));  // left behind, as by a crash
  ASSERT_TRUE(Exists(path));
  EXPECT_TRUE(PrepareUnixSocketPath(Unix(path)).ok());
  EXPECT_FALSE(Exists(path));
}

TEST_F(PrepareUnixSocketPathTest, RefusesASocketSomeoneListensOn) {
  const std::string path = dir_.Join("live.sock");
  const int fd = BindSocket(path, /*listen_on_it=*/true);
  const absl::Status status = PrepareUnixSocketPath(Unix(path));
  close(fd);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("another server is listening"));
  EXPECT_TRUE(Exists(path));
}

TEST_F(PrepareUnixSocketPathTest, RefusesAFileThatIsNotASocket) {
  const std::string path = dir_.Join("notes.txt");
  std::ofstream(path) << "keep me";
  const absl::Status status = PrepareUnixSocketPath(Unix(path));
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("is not a socket"));
  EXPECT_TRUE(Exists(path));
}

TEST(DiagnoseBindFailureTest, NamesTheReasonForATakenPort) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  socklen_t length = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length);
  absl::StatusOr<ListenAddress> address =
      ParseListenAddress("127.0.0.1:" + std::to_string(ntohs(addr.sin_port)));
  ASSERT_TRUE(address.ok());
  EXPECT_EQ(DiagnoseBindFailure(*address), "Address already in use");
  close(fd);
}

}  // namespace
}  // namespace pyservice

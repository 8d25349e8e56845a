// The fetch child process (child_process_fetcher.h) against remotes that
// stall: a real loopback TCP server that accepts connections and then says
// nothing, or says a little and stops. Runs the real agent binary
// (AGENT_BIN) as the child.
#include "agent/git/child_process_fetcher.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/git_repo.h"
#include "tests/testing/temp_dir.h"

namespace pyservice::agent {
namespace {

namespace fs = std::filesystem;
using ::pyservice::testing::GitRepo;
using ::pyservice::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

// Listens on 127.0.0.1 and accepts every connection; sends each one
// `greeting` (may be empty) and then nothing more, keeping it open until
// the server is destroyed.
class StallingServer {
 public:
  explicit StallingServer(std::string greeting) : greeting_(std::move(greeting)) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    EXPECT_EQ(listen(listen_fd_, 8), 0);
    socklen_t length = sizeof(address);
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    EXPECT_EQ(pipe2(stop_, O_CLOEXEC), 0);
    thread_ = std::thread([this] { Serve(); });
  }
  ~StallingServer() {
    (void)!write(stop_[1], "x", 1);
    thread_.join();
    for (int fd : accepted_) close(fd);
    for (int fd : {listen_fd_, stop_[0], stop_[1]}) close(fd);
  }

  int port() const { return port_; }
  int connections() const { return connections_.load(); }

 private:
  void Serve() {
    while (true) {
      pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_[0], POLLIN, 0}};
      if (poll(fds, 2, -1) < 0) continue;
      if (fds[1].revents != 0) return;
      const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      if (!greeting_.empty()) (void)!write(fd, greeting_.data(), greeting_.size());
      accepted_.push_back(fd);
      ++connections_;
    }
  }

  const std::string greeting_;
  int listen_fd_ = -1;
  int stop_[2] = {-1, -1};
  int port_ = 0;
  std::vector<int> accepted_;  // the serving thread's only
  std::atomic<int> connections_ = 0;
  std::thread thread_;
};

class ChildProcessFetcherTest : public ::testing::Test {
 protected:
  ChildProcessFetcherTest() : fetcher_(processes_, Options()) {}

  static ChildProcessFetcherOptions Options() {
    ChildProcessFetcherOptions options;
    options.program = AGENT_BIN;
    return options;
  }

  FetchRequest Request(const std::string& url) {
    FetchRequest request;
    request.repo_url = url;
    request.ref = "v1";
    request.mirror_dir = temp_.Join("mirror.git");
    request.timeout = absl::Milliseconds(500);
    return request;
  }

  TempDir temp_;
  SubprocessRunner processes_;
  ChildProcessGitFetcher fetcher_;
};

TEST_F(ChildProcessFetcherTest, FetchFromARemoteThatAcceptsAndNeverAnswersTimesOut) {
  StallingServer server("");
  const std::string url =
      absl::StrCat("https://deployer:s3cr3t@127.0.0.1:", server.port(), "/org/app.git");
  absl::StatusOr<std::string> commit = fetcher_.Fetch(Request(url));
  ASSERT_FALSE(commit.ok());
  EXPECT_EQ(commit.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(commit.status().message(),
              HasSubstr(absl::StrCat("fetch of https://***@127.0.0.1:", server.port(),
                                     "/org/app.git timed out after 500ms")));
  EXPECT_THAT(commit.status().message(), Not(HasSubstr("s3cr3t")));
  EXPECT_GE(server.connections(), 1);
}

TEST_F(ChildProcessFetcherTest, FetchFromARemoteThatStallsMidHandshakeTimesOut) {
  // An ssh server's banner, then silence: libssh2 waits for the key exchange.
  StallingServer server("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n");
  const std::string url = absl::StrCat("ssh://git@127.0.0.1:", server.port(), "/org/app.git");
  absl::StatusOr<std::string> commit = fetcher_.Fetch(Request(url));
  ASSERT_FALSE(commit.ok());
  EXPECT_EQ(commit.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(commit.status().message(), HasSubstr("timed out after 500ms"));
  EXPECT_GE(server.connections(), 1);
}

TEST_F(ChildProcessFetcherTest, CancelEndsAStalledFetchAtOnce) {
  StallingServer server("");
  FetchRequest request =
      Request(absl::StrCat("https://127.0.0.1:", server.port(), "/org/app.git"));
  request.timeout = absl::InfiniteDuration();
  // Canceled once the child is connected and stuck.
  request.canceled = [&server] { return server.connections() > 0; };
  absl::StatusOr<std::string> commit = fetcher_.Fetch(request);
  ASSERT_FALSE(commit.ok());
  EXPECT_EQ(commit.status().code(), absl::StatusCode::kAborted);
  EXPECT_THAT(commit.status().message(), HasSubstr("/org/app.git canceled"));
}

TEST_F(ChildProcessFetcherTest, FetchesAndExportsThroughTheChildProcess) {
  fs::create_directories(temp_.Join("home"));
  GitRepo upstream(temp_.Join("upstream"), temp_.Join("home"));
  upstream.WriteFile("app.py", "print('v1')\n");
  const std::string c1 = upstream.CommitAll("first");
  upstream.Git({"tag", "v1"});
  FetchRequest request = Request(absl::StrCat("file://", temp_.Join("upstream")));
  request.timeout = absl::Minutes(5);
  absl::StatusOr<std::string> commit = fetcher_.Fetch(request);
  ASSERT_TRUE(commit.ok()) << commit.status();
  EXPECT_EQ(*commit, c1);
  ASSERT_TRUE(fetcher_.Export(request.mirror_dir, c1, temp_.Join("out")).ok());
  EXPECT_TRUE(fs::exists(temp_.Join("out/app.py")));
}

TEST_F(ChildProcessFetcherTest, AFetchErrorKeepsItsCodeAndMessage) {
  FetchRequest request = Request(absl::StrCat("file://", temp_.Join("nothing-here")));
  request.timeout = absl::Minutes(5);
  absl::StatusOr<std::string> commit = fetcher_.Fetch(request);
  ASSERT_FALSE(commit.ok());
  EXPECT_EQ(commit.status().code(), absl::StatusCode::kUnavailable) << commit.status();
  EXPECT_THAT(commit.status().message(), HasSubstr("nothing-here"));
}

}  // namespace
}  // namespace pyservice::agent

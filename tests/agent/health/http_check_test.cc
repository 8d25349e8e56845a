// The HTTP health check against a real listening socket on loopback.
#include "agent/health/http_check.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pyservice::agent {
namespace {

using ::testing::HasSubstr;

// Answers exactly one connection with `response`, on 127.0.0.1:port.
class OneShotServer {
 public:
  explicit OneShotServer(std::string response) : response_(std::move(response)) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    socklen_t length = sizeof(address);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    listen(fd_, 1);
    thread_ = std::thread([this] {
      const int client = accept(fd_, nullptr, nullptr);
      if (client < 0) return;
      char buffer[1024];
      (void)!read(client, buffer, sizeof(buffer));
      (void)!write(client, response_.data(), response_.size());
      close(client);
    });
  }
  ~OneShotServer() {
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  int port() const { return port_; }

 private:
  std::string response_;
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

TEST(CheckHttp, TwoHundredIsHealthy) {
  OneShotServer server("HTTP/1.0 200 OK\r\n\r\nhello v1");
  EXPECT_TRUE(CheckHttp(absl::StrCat("http://127.0.0.1:", server.port(), "/healthz"), absl::Seconds(5)).ok());
}

TEST(CheckHttp, ServerErrorIsUnhealthyWithTheStatusLine) {
  OneShotServer server("HTTP/1.1 503 Service Unavailable\r\n\r\n");
  absl::Status status = CheckHttp(absl::StrCat("http://127.0.0.1:", server.port(), "/"), absl::Seconds(5));
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(status.message()), HasSubstr("503 Service Unavailable"));
}

TEST(CheckHttp, NothingListeningIsUnavailable) {
  // Bind and close to get a port nobody listens on.
  int port = 0;
  {
    OneShotServer server("");
    port = server.port();
  }
  absl::Status status = CheckHttp(absl::StrCat("http://127.0.0.1:", port, "/"), absl::Seconds(5));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(status.message()), HasSubstr("Connection refused"));
}

TEST(CheckHttp, GarbageIsNotAnHttpAnswer) {
  OneShotServer server("SSH-2.0-OpenSSH\r\n");
  absl::Status status = CheckHttp(absl::StrCat("http://127.0.0.1:", server.port(), "/"), absl::Seconds(5));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(status.message()), HasSubstr("no HTTP answer"));
}

}  // namespace
}  // namespace pyservice::agent

#include "common/systemd/notify.h"

#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace pyservice {
namespace {

TEST(NotifyServiceManager, WithoutNotifySocketIsANoOp) {
  unsetenv("NOTIFY_SOCKET");
  EXPECT_TRUE(NotifyServiceManager("READY=1").ok());
}

TEST(NotifyServiceManager, SendsTheStateAsOneDatagram) {
  testing::TempDir dir;
  const std::string path = dir.Join("notify");
  const int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strcpy(address.sun_path, path.c_str());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  setenv("NOTIFY_SOCKET", path.c_str(), 1);
  ASSERT_TRUE(NotifyServiceManager("READY=1").ok());
  unsetenv("NOTIFY_SOCKET");
  char buffer[64] = {};
  const ssize_t n = recv(fd, buffer, sizeof(buffer), MSG_DONTWAIT);
  close(fd);
  EXPECT_EQ(std::string(buffer, n > 0 ? n : 0), "READY=1");
}

TEST(NotifyServiceManager, RelativeSocketPathIsRefused) {
  setenv("NOTIFY_SOCKET", "relative/path", 1);
  EXPECT_EQ(NotifyServiceManager("READY=1").code(), absl::StatusCode::kInvalidArgument);
  unsetenv("NOTIFY_SOCKET");
}

}  // namespace
}  // namespace pyservice

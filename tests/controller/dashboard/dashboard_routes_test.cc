#include "controller/dashboard/dashboard_routes.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pyservice::controller::dashboard {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

http::Request WithHost(const std::string& host) {
  http::Request request;
  request.method = "GET";
  request.path = "/";
  request.headers["host"] = host;
  return request;
}

TEST(HostHeaderAllowed, IpLiteralsAndLocalhostWithOrWithoutPort) {
  for (const char* host : {"127.0.0.1", "127.0.0.1:8080", "[::1]", "[::1]:8080", "localhost",
                           "LOCALHOST:9", "10.1.2.3:80", "[2001:db8::1]:443"}) {
    EXPECT_TRUE(HostHeaderAllowed(WithHost(host))) << host;
  }
  EXPECT_TRUE(HostHeaderAllowed(http::Request())) << "no Host header (not a browser)";
}

TEST(HostHeaderAllowed, RefusesNamesSoARebindingPageCannotReadTheFleet) {
  for (const char* host : {"evil.example", "evil.example:8080", "127.0.0.1.nip.io",
                           "localhost.evil.example", "", "[::1", "[::1]x", "127.0.0.1:http",
                           "127.0.0.1:8080:1"}) {
    EXPECT_FALSE(HostHeaderAllowed(WithHost(host))) << host;
  }
}

TEST(CheckDashboardListen, LoopbackOnlyUnlessInsecure) {
  EXPECT_TRUE(CheckDashboardListen("127.0.0.1:7071", false).ok());
  EXPECT_TRUE(CheckDashboardListen("[::1]:7071", false).ok());
  for (const char* listen : {"0.0.0.0:7071", "10.0.0.5:7071", "controller.example:7071"}) {
    const absl::Status refused = CheckDashboardListen(listen, false);
    EXPECT_TRUE(absl::IsInvalidArgument(refused)) << listen;
    EXPECT_THAT(refused.message(), HasSubstr(listen));
    EXPECT_THAT(refused.message(), HasSubstr("no authentication"));
    EXPECT_TRUE(CheckDashboardListen(listen, true).ok()) << listen;
  }
}

TEST(SecurityHeaders, CspAllowsOnlySameOriginScriptAndNothingInline) {
  std::string csp;
  for (const auto& [name, value] : SecurityHeaders()) {
    if (name == "Content-Security-Policy") csp = value;
  }
  EXPECT_THAT(csp, HasSubstr("default-src 'none'"));
  EXPECT_THAT(csp, HasSubstr("script-src 'self'"));
  EXPECT_THAT(csp, HasSubstr("frame-ancestors 'none'"));
  EXPECT_THAT(csp, Not(HasSubstr("unsafe-inline")));
  EXPECT_THAT(csp, Not(HasSubstr("unsafe-eval")));
  for (const auto& [name, value] : SecurityHeaders()) {
    EXPECT_THAT(name, Not(HasSubstr("Access-Control"))) << "no CORS";
  }
}

}  // namespace
}  // namespace pyservice::controller::dashboard

#include "common/http/http_request.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pyservice::http {
namespace {

using ::testing::HasSubstr;

TEST(FindHeadEndTest, PointsPastTheEmptyLineOrNpos) {
  EXPECT_EQ(FindHeadEnd("GET / HTTP/1.1\r\nHost: x\r\n"), std::string::npos);
  EXPECT_EQ(FindHeadEnd("GET / HTTP/1.1\r\n\r\nrest"), 18u);
}

TEST(ParseRequestHeadTest, SplitsPathQueryAndLowerCasesHeaderNames) {
  absl::StatusOr<Request> request = ParseRequestHead(
      "GET /metrics?name=up HTTP/1.1\r\nHost: localhost\r\nAccept:  text/plain \r\n\r\n");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->method, "GET");
  EXPECT_EQ(request->path, "/metrics");
  EXPECT_EQ(request->query, "name=up");
  EXPECT_EQ(request->headers.at("host"), "localhost");
  EXPECT_EQ(request->headers.at("accept"), "text/plain");
}

TEST(ParseRequestHeadTest, JoinsRepeatedHeaders) {
  absl::StatusOr<Request> request =
      ParseRequestHead("GET / HTTP/1.0\r\nAccept: a\r\naccept: b\r\n\r\n");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->headers.at("accept"), "a, b");
}

TEST(ParseRequestHeadTest, RefusesMalformedRequestLines) {
  for (const char* head : {"GET /\r\n\r\n", "GET  / HTTP/1.1\r\n\r\n", "GET / HTTP/2\r\n\r\n",
                           "GET http://x/ HTTP/1.1\r\n\r\n", "G(T / HTTP/1.1\r\n\r\n",
                           "GET /a\x01 HTTP/1.1\r\n\r\n"}) {
    absl::StatusOr<Request> request = ParseRequestHead(head);
    EXPECT_TRUE(absl::IsInvalidArgument(request.status())) << head;
  }
}

TEST(ParseRequestHeadTest, RefusesFoldedAndMalformedHeaders) {
  for (const char* head : {"GET / HTTP/1.1\r\nA: b\r\n  folded\r\n\r\n",
                           "GET / HTTP/1.1\r\nNoColon\r\n\r\n",
                           "GET / HTTP/1.1\r\nHost : x\r\n\r\n",
                           "GET / HTTP/1.1\r\nA: b\nEvil: c\r\n\r\n"}) {
    absl::StatusOr<Request> request = ParseRequestHead(head);
    EXPECT_TRUE(absl::IsInvalidArgument(request.status())) << head;
  }
}

TEST(ParseRequestHeadTest, RefusesRequestBodies) {
  EXPECT_TRUE(absl::IsUnimplemented(
      ParseRequestHead("GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\n").status()));
  EXPECT_TRUE(absl::IsUnimplemented(
      ParseRequestHead("GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n").status()));
  EXPECT_TRUE(ParseRequestHead("GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n").ok());
}

TEST(ParseRequestHeadTest, ErrorQuotesOnlyAShortSanitizedPrefix) {
  const std::string line = "GET /" + std::string(500, 'a') + "\x02 HTTP/1.1";
  absl::StatusOr<Request> request = ParseRequestHead(line + "\r\n\r\n");
  ASSERT_FALSE(request.ok());
  EXPECT_THAT(request.status().message(), HasSubstr("...\""));
  EXPECT_LT(request.status().message().size(), 200u);
}

}  // namespace
}  // namespace pyservice::http

#include "common/http/http_server.h"

#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/http_client.h"

namespace pyservice::http {
namespace {

using ::pyservice::testing::HttpAnswer;
using ::pyservice::testing::HttpConnection;
using ::pyservice::testing::HttpExchange;
using ::pyservice::testing::HttpGet;
using ::pyservice::testing::kHttpHangGuard;
using ::testing::HasSubstr;
using ::testing::StartsWith;

Routes HelloRoutes() {
  Routes routes;
  routes.Handle("/hello", [](const Request& request) {
    return Response{.status = 200, .content_type = "text/plain", .body = "hi " + request.query};
  });
  return routes;
}

std::unique_ptr<HttpServer> StartOrDie(Routes routes, HttpServerOptions options = {}) {
  absl::StatusOr<std::unique_ptr<HttpServer>> server =
      HttpServer::Start(std::move(options), std::move(routes));
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? std::move(*server) : nullptr;
}

TEST(HttpServerTest, GetReturnsTheHandlersResponseAndClosesTheConnection) {
  std::unique_ptr<HttpServer> server = StartOrDie(HelloRoutes());
  ASSERT_NE(server, nullptr);
  absl::StatusOr<HttpAnswer> answer = HttpGet(server->port(), "/hello?x");
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(answer->body, "hi x");
  EXPECT_EQ(answer->headers["content-type"], "text/plain");
  EXPECT_EQ(answer->headers["content-length"], "4");
  EXPECT_EQ(answer->headers["connection"], "close");
}

TEST(HttpServerTest, ResponseHeadersAreSentAndCannotSplitTheResponse) {
  Routes routes;
  routes.Handle("/h", [](const Request&) {
    return Response{.status = 200,
                    .content_type = "text/plain",
                    .body = "ok",
                    .headers = {{"X-Frame-Options", "DENY"},
                                {"X-Split", "a\r\nX-Injected: 1"}}};
  });
  std::unique_ptr<HttpServer> server = StartOrDie(std::move(routes));
  ASSERT_NE(server, nullptr);
  absl::StatusOr<HttpAnswer> answer = HttpGet(server->port(), "/h");
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->headers["x-frame-options"], "DENY");
  EXPECT_EQ(answer->headers["x-split"], "aX-Injected: 1");
  EXPECT_FALSE(answer->headers.contains("x-injected"));
  EXPECT_EQ(answer->body, "ok");
}

TEST(HttpServerTest, HeadSendsTheHeadersWithoutTheBody) {
  std::unique_ptr<HttpServer> server = StartOrDie(HelloRoutes());
  ASSERT_NE(server, nullptr);
  absl::StatusOr<HttpAnswer> answer =
      HttpExchange(server->port(), "HEAD /hello?abc HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(answer->headers["content-length"], "6");
  EXPECT_EQ(answer->body, "");
}

TEST(HttpServerTest, UnknownPathIs404AndOtherMethodsAre405) {
  std::unique_ptr<HttpServer> server = StartOrDie(HelloRoutes());
  ASSERT_NE(server, nullptr);
  absl::StatusOr<HttpAnswer> missing = HttpGet(server->port(), "/nope");
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_EQ(missing->status, 404);
  absl::StatusOr<HttpAnswer> post = HttpExchange(server->port(), "POST /hello HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(post.ok()) << post.status();
  EXPECT_EQ(post->status, 405);
  EXPECT_EQ(post->headers["allow"], "GET, HEAD");
}

TEST(HttpServerTest, MalformedRequestIs400AndARequestBodyIs413) {
  std::unique_ptr<HttpServer> server = StartOrDie(HelloRoutes());
  ASSERT_NE(server, nullptr);
  absl::StatusOr<HttpAnswer> bad = HttpExchange(server->port(), "GET /hello\r\n\r\n");
  ASSERT_TRUE(bad.ok()) << bad.status();
  EXPECT_EQ(bad->status, 400);
  EXPECT_THAT(bad->body, HasSubstr("malformed request line"));
  absl::StatusOr<HttpAnswer> body =
      HttpExchange(server->port(), "GET /hello HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(body->status, 413);
}

TEST(HttpServerTest, OversizedRequestHeadIs431) {
  HttpServerOptions options;
  options.max_request_head_bytes = 1024;
  std::unique_ptr<HttpServer> server = StartOrDie(HelloRoutes(), options);
  ASSERT_NE(server, nullptr);
  // Never ends its head: only the size limit can answer it.
  absl::StatusOr<HttpAnswer> answer = HttpExchange(
      server->port(), "GET /hello HTTP/1.1\r\nX-Big: " + std::string(4096, 'a'));
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->status, 431);
}

TEST(HttpServerTest, ClientThatNeverFinishesItsHeadGets408AtTheReadDeadline) {
  HttpServerOptions options;
  options.read_timeout = absl::Milliseconds(200);
  std::unique_ptr<HttpServer> server = StartOrDie(HelloRoutes(), options);
  ASSERT_NE(server, nullptr);
  absl::StatusOr<HttpConnection> slow = HttpConnection::Open(server->port());
  ASSERT_TRUE(slow.ok()) << slow.status();
  ASSERT_TRUE(slow->Send("GET /hello HTTP/1.1\r\nHost: x\r\n"));  // and then nothing
  ASSERT_TRUE(slow->ReadToEnd());
  EXPECT_THAT(slow->received(), StartsWith("HTTP/1.1 408 "));
}

// Handlers that hold their worker until released, to fill the pool.
class BlockingRoutes {
 public:
  Routes Make() {
    Routes routes = HelloRoutes();
    routes.Handle("/block", [this](const Request&) {
      absl::MutexLock lock(&mu_);
      ++entered_;
      mu_.Await(absl::Condition(&released_));
      return Response{.body = "released"};
    });
    return routes;
  }
  void AwaitEntered(int count) {
    absl::MutexLock lock(&mu_);
    auto reached = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return entered_ >= count; };
    mu_.AwaitWithTimeout(absl::Condition(&reached), kHttpHangGuard);
  }
  void Release() {
    absl::MutexLock lock(&mu_);
    released_ = true;
  }

 private:
  absl::Mutex mu_;
  int entered_ ABSL_GUARDED_BY(mu_) = 0;
  bool released_ ABSL_GUARDED_BY(mu_) = false;
};

TEST(HttpServerTest, ConnectionsBeyondWorkersAndPendingQueueAreAnswered503) {
  BlockingRoutes blocking;
  HttpServerOptions options;
  options.worker_threads = 2;
  options.max_streams = 1;
  options.max_pending_connections = 1;
  std::unique_ptr<HttpServer> server = StartOrDie(blocking.Make(), options);
  ASSERT_NE(server, nullptr);
  const std::string block = "GET /block HTTP/1.1\r\n\r\n";
  // One at a time: a second connection accepted before a worker took the
  // first would find the one-slot queue full.
  absl::StatusOr<HttpConnection> first = HttpConnection::Open(server->port());
  ASSERT_TRUE(first.ok() && first->Send(block));
  blocking.AwaitEntered(1);
  absl::StatusOr<HttpConnection> second = HttpConnection::Open(server->port());
  ASSERT_TRUE(second.ok() && second->Send(block));
  blocking.AwaitEntered(2);  // both workers are held
  absl::StatusOr<HttpConnection> queued = HttpConnection::Open(server->port());
  ASSERT_TRUE(queued.ok());
  ASSERT_TRUE(queued->Send("GET /hello HTTP/1.1\r\n\r\n"));
  absl::StatusOr<HttpAnswer> refused = HttpGet(server->port(), "/hello");
  ASSERT_TRUE(refused.ok()) << refused.status();
  EXPECT_EQ(refused->status, 503);
  blocking.Release();
  ASSERT_TRUE(queued->ReadToEnd());
  EXPECT_THAT(queued->received(), StartsWith("HTTP/1.1 200 "));
  ASSERT_TRUE(first->ReadToEnd());
  EXPECT_THAT(first->received(), HasSubstr("released"));
}

TEST(HttpServerTest, EventStreamSendsFramedEventsUntilTheClientLeaves) {
  absl::Notification handler_returned;
  Routes routes;
  routes.HandleStream("/events", [&](const Request&, EventStream& stream) {
    int sent = 0;
    while (stream.Send("tick", absl::StrCat("n=", sent, "\nline two"))) {
      ++sent;
      if (!stream.Wait(absl::Milliseconds(20))) break;
    }
    handler_returned.Notify();
  });
  std::unique_ptr<HttpServer> server = StartOrDie(std::move(routes));
  ASSERT_NE(server, nullptr);
  {
    absl::StatusOr<HttpConnection> client = HttpConnection::Open(server->port());
    ASSERT_TRUE(client.ok());
    ASSERT_TRUE(client->Send("GET /events HTTP/1.1\r\n\r\n"));
    ASSERT_TRUE(client->ReadUntil("n=1\ndata: line two\n\n"));
    EXPECT_THAT(client->received(), HasSubstr("Content-Type: text/event-stream\r\n"));
    EXPECT_THAT(client->received(),
                HasSubstr("\r\n\r\nevent: tick\ndata: n=0\ndata: line two\n\n"));
  }  // the client leaves
  EXPECT_TRUE(handler_returned.WaitForNotificationWithTimeout(kHttpHangGuard));
}

TEST(HttpServerTest, StopEndsAWaitingEventStream) {
  absl::Notification streaming;
  absl::Notification handler_returned;
  Routes routes;
  routes.HandleStream("/events", [&](const Request&, EventStream& stream) {
    stream.Send("", "hello");
    streaming.Notify();
    while (stream.Wait(absl::Hours(1))) {
    }
    handler_returned.Notify();
  });
  std::unique_ptr<HttpServer> server = StartOrDie(std::move(routes));
  ASSERT_NE(server, nullptr);
  absl::StatusOr<HttpConnection> client = HttpConnection::Open(server->port());
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE(client->Send("GET /events HTTP/1.1\r\n\r\n"));
  ASSERT_TRUE(streaming.WaitForNotificationWithTimeout(kHttpHangGuard));
  server->Stop();
  EXPECT_TRUE(handler_returned.HasBeenNotified());
  EXPECT_TRUE(client->ReadToEnd());
  EXPECT_THAT(client->received(), HasSubstr("data: hello\n\n"));
}

TEST(HttpServerTest, StreamsBeyondMaxStreamsAre503WhilePlainRequestsAreServed) {
  absl::Notification streaming;
  Routes routes = HelloRoutes();
  routes.HandleStream("/events", [&](const Request&, EventStream& stream) {
    // Only one stream may get here; without the limit a second one would.
    if (!streaming.HasBeenNotified()) streaming.Notify();
    while (stream.Wait(absl::Hours(1))) {
    }
  });
  HttpServerOptions options;
  options.worker_threads = 2;
  options.max_streams = 1;
  std::unique_ptr<HttpServer> server = StartOrDie(std::move(routes), options);
  ASSERT_NE(server, nullptr);
  absl::StatusOr<HttpConnection> first = HttpConnection::Open(server->port());
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(first->Send("GET /events HTTP/1.1\r\n\r\n"));
  ASSERT_TRUE(streaming.WaitForNotificationWithTimeout(kHttpHangGuard));
  absl::StatusOr<HttpAnswer> second = HttpGet(server->port(), "/events");
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->status, 503);
  absl::StatusOr<HttpAnswer> plain = HttpGet(server->port(), "/hello");
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(plain->status, 200);
}

TEST(HttpServerTest, BadListenAddressesAreInvalidArgumentNamingTheAddress) {
  for (const char* listen : {"127.0.0.1", ":9464", "::1:9464", "[::1:9464", "127.0.0.1:99999",
                             "127.0.0.1:http"}) {
    HttpServerOptions options;
    options.listen = listen;
    absl::StatusOr<std::unique_ptr<HttpServer>> server =
        HttpServer::Start(options, HelloRoutes());
    EXPECT_TRUE(absl::IsInvalidArgument(server.status())) << listen << ": " << server.status();
    EXPECT_THAT(server.status().message(), HasSubstr(listen));
  }
}

TEST(HttpServerTest, PortInUseIsUnavailableNamingTheAddress) {
  std::unique_ptr<HttpServer> first = StartOrDie(HelloRoutes());
  ASSERT_NE(first, nullptr);
  HttpServerOptions options;
  options.listen = first->address();
  absl::StatusOr<std::unique_ptr<HttpServer>> second = HttpServer::Start(options, HelloRoutes());
  EXPECT_TRUE(absl::IsUnavailable(second.status())) << second.status();
  EXPECT_THAT(second.status().message(), HasSubstr(first->address()));
}

}  // namespace
}  // namespace pyservice::http

// A small HTTP/1.1 server for read-only endpoints (Prometheus /metrics, the
// dashboard's pages and its Server-Sent Events), without an HTTP library
// (none is among the Debian packages this project builds from).
//
// What it guards against, since anything that can reach the port can talk
// to it:
// * slow clients: the whole request head must arrive within `read_timeout`
//   (slow-loris), and every write must make progress within `write_timeout`
//   (a client that never reads);
// * big requests: the head is at most `max_request_head_bytes` (431), and a
//   request body is refused (GET and HEAD only, 405 for other methods);
// * many clients: a fixed pool of `worker_threads` serves connections, at
//   most `max_pending_connections` wait for a worker and more are answered
//   503 at once; event streams hold a worker each, and at most
//   `max_streams` (< worker_threads) run at once so plain requests always
//   have a worker.
// Every response closes its connection ("Connection: close"): a scrape every
// few seconds gains nothing from keep-alive, and no idle connection holds a
// worker.
//
// Stop() (and the destructor) stops accepting, wakes every waiting read,
// write and event stream, and joins every thread.
#ifndef PYSERVICE_COMMON_HTTP_HTTP_SERVER_H_
#define PYSERVICE_COMMON_HTTP_HTTP_SERVER_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/http/http_request.h"

namespace pyservice::http {

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  // More header lines (name, value), e.g. Content-Security-Policy; the
  // handler's own constants (a line break in them is dropped).
  std::vector<std::pair<std::string, std::string>> headers;
};

// The connection of a text/event-stream response, handed to a
// StreamHandler. Both calls return false once the client has gone away or
// the server is stopping: the handler should then return.
class EventStream {
 public:
  virtual ~EventStream() = default;
  // Sends one event. `event` may be empty (the client's default "message");
  // line breaks in it are dropped. `data` may span lines (one "data:" line
  // each).
  virtual bool Send(absl::string_view event, absl::string_view data) = 0;
  // Waits up to `timeout` (for the handler's next event to be due); returns
  // early, false, when the client goes away or the server stops.
  virtual bool Wait(absl::Duration timeout) = 0;
};

using Handler = std::function<Response(const Request&)>;
// Runs on a worker thread for as long as the stream lasts.
using StreamHandler = std::function<void(const Request&, EventStream&)>;

// path -> handler, exact match on the path (the query is the handler's).
class Routes {
 public:
  void Handle(std::string path, Handler handler);
  void HandleStream(std::string path, StreamHandler handler);

 private:
  friend class HttpServer;
  absl::flat_hash_map<std::string, Handler> handlers_;
  absl::flat_hash_map<std::string, StreamHandler> stream_handlers_;
};

struct HttpServerOptions {
  // HOST:PORT or [IPV6]:PORT; port 0 lets the kernel choose (see port()).
  std::string listen = "127.0.0.1:0";
  int worker_threads = 4;
  int max_streams = 2;
  int max_pending_connections = 16;
  size_t max_request_head_bytes = 8 * 1024;
  absl::Duration read_timeout = absl::Seconds(10);
  absl::Duration write_timeout = absl::Seconds(10);
};

class HttpServer {
 public:
  // Binds and starts serving. INVALID_ARGUMENT for a bad `listen` or
  // options, UNAVAILABLE (naming the address and the reason) when the bind
  // fails.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(HttpServerOptions options,
                                                           Routes routes);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The bound port (the real one for port 0) and "HOST:PORT" with it.
  int port() const { return port_; }
  std::string address() const;

  void Stop();

 private:
  class Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl, int port, std::string host);

  std::unique_ptr<Impl> impl_;
  int port_;
  std::string host_;
};

}  // namespace pyservice::http

#endif  // PYSERVICE_COMMON_HTTP_HTTP_SERVER_H_

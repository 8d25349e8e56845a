#include "common/http/http_server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "common/http/socket_io.h"
#include "spdlog/spdlog.h"

namespace pyservice::http {
namespace {

// After the response, how long a connection is drained of what the client
// still sends (so closing with unread bytes does not reset the connection
// and destroy the response in flight), and how much is read at most.
constexpr absl::Duration kLingerTime = absl::Milliseconds(500);
constexpr size_t kLingerBytes = 64 * 1024;

absl::string_view Reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
  }
}

std::string Head(int status, absl::string_view content_type, absl::string_view extra) {
  return absl::StrCat("HTTP/1.1 ", status, " ", Reason(status), "\r\nContent-Type: ",
                      content_type, "\r\n", extra,
                      "Connection: close\r\nX-Content-Type-Options: nosniff\r\n");
}

std::string Serialize(const Response& response, bool head_only, absl::string_view extra = "") {
  std::string headers(extra);
  for (const auto& [name, value] : response.headers) {
    const std::string line = absl::StrCat(name, ": ", value);
    absl::StrAppend(&headers, absl::StrReplaceAll(line, {{"\r", ""}, {"\n", ""}}), "\r\n");
  }
  std::string out = absl::StrCat(Head(response.status, response.content_type, headers),
                                 "Content-Length: ", response.body.size(), "\r\n\r\n");
  if (!head_only) out += response.body;
  return out;
}

Response Error(int status, absl::string_view detail) {
  return {.status = status,
          .body = absl::StrCat(status, " ", Reason(status), ": ", detail, "\n"),
          .headers = {}};
}

// Closes our side, then reads (and drops) what the client still sends for a
// short while, so the response is not lost to a reset.
void CloseGracefully(int fd, int stop_fd) {
  shutdown(fd, SHUT_WR);
  const absl::Time deadline = absl::Now() + kLingerTime;
  char buffer[4096];
  size_t drained = 0;
  while (drained < kLingerBytes && WaitFor(fd, POLLIN, stop_fd, deadline) == Wait::kReady) {
    const ssize_t got = recv(fd, buffer, sizeof(buffer), 0);
    if (got <= 0 && !(got < 0 && errno == EINTR)) break;
    if (got > 0) drained += static_cast<size_t>(got);
  }
}

class EventStreamImpl final : public EventStream {
 public:
  EventStreamImpl(int fd, int stop_fd, absl::Duration write_timeout)
      : fd_(fd), stop_fd_(stop_fd), write_timeout_(write_timeout) {}

  bool Send(absl::string_view event, absl::string_view data) override {
    if (gone_) return false;
    std::string frame;
    if (!event.empty()) {
      std::string name(event);
      absl::StrAppend(&frame, "event: ", absl::StrReplaceAll(name, {{"\r", ""}, {"\n", ""}}),
                      "\n");
    }
    for (absl::string_view line : absl::StrSplit(data, absl::ByAnyChar("\n"))) {
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      absl::StrAppend(&frame, "data: ", line, "\n");
    }
    frame += "\n";
    gone_ = !WriteAll(fd_, frame, stop_fd_, absl::Now() + write_timeout_);
    return !gone_;
  }

  bool Wait(absl::Duration timeout) override {
    const absl::Time deadline = absl::Now() + timeout;
    while (!gone_) {
      switch (WaitFor(fd_, POLLIN, stop_fd_, deadline)) {
        case Wait::kTimeout:
          return true;
        case Wait::kStopped:
        case Wait::kHangup:
          gone_ = true;
          break;
        case Wait::kReady: {
          // A client says nothing on an event stream: bytes are dropped, the
          // end of the stream means it left.
          char buffer[512];
          const ssize_t got = recv(fd_, buffer, sizeof(buffer), 0);
          if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN)) gone_ = true;
          break;
        }
      }
    }
    return false;
  }

 private:
  const int fd_;
  const int stop_fd_;
  const absl::Duration write_timeout_;
  bool gone_ = false;
};

}  // namespace

void Routes::Handle(std::string path, Handler handler) {
  handlers_[std::move(path)] = std::move(handler);
}

void Routes::HandleStream(std::string path, StreamHandler handler) {
  stream_handlers_[std::move(path)] = std::move(handler);
}

class HttpServer::Impl {
 public:
  Impl(HttpServerOptions options, Routes routes, ScopedFd listener, ScopedFd stop_read,
       ScopedFd stop_write)
      : options_(std::move(options)),
        routes_(std::move(routes)),
        listener_(std::move(listener)),
        stop_read_(std::move(stop_read)),
        stop_write_(std::move(stop_write)) {
    for (int i = 0; i < options_.worker_threads; ++i) {
      workers_.emplace_back([this] { WorkerLoop(); });
    }
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }

  ~Impl() { Stop(); }

  void Stop() {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    const char byte = 0;
    (void)!write(stop_write_.get(), &byte, 1);
    acceptor_.join();
    for (std::thread& worker : workers_) worker.join();
    absl::MutexLock lock(&mu_);
    for (int fd : pending_) close(fd);
    pending_.clear();
  }

 private:
  void AcceptLoop() {
    while (true) {
      pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {stop_read_.get(), POLLIN, 0}};
      if (poll(fds, 2, -1) < 0 && errno != EINTR) {
        spdlog::error("http: poll on the listener failed: {}", std::strerror(errno));
        return;
      }
      if (fds[1].revents != 0) return;
      if (fds[0].revents == 0) continue;
      ScopedFd client(accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
      if (client.get() < 0) continue;  // the client left already, or EMFILE: try again later
      absl::MutexLock lock(&mu_);
      if (pending_.size() >= static_cast<size_t>(options_.max_pending_connections)) {
        // Best effort and never blocking: the acceptor must not wait on a
        // client.
        const std::string busy = Serialize(Error(503, "too many connections"), false);
        (void)!send(client.get(), busy.data(), busy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        continue;
      }
      pending_.push_back(client.Release());
    }
  }

  void WorkerLoop() {
    while (true) {
      int fd;
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(
            +[](Impl* impl) ABSL_EXCLUSIVE_LOCKS_REQUIRED(impl->mu_) {
              return impl->stopping_ || !impl->pending_.empty();
            },
            this));
        if (stopping_) return;
        fd = pending_.front();
        pending_.pop_front();
      }
      ScopedFd connection(fd);
      Serve(connection.get());
      CloseGracefully(connection.get(), stop_read_.get());
    }
  }

  bool Write(int fd, absl::string_view data) {
    return WriteAll(fd, data, stop_read_.get(), absl::Now() + options_.write_timeout);
  }

  // Reads the request head within the read deadline and the size limit;
  // answers the errors itself and returns false on them.
  bool ReadHead(int fd, std::string& head) {
    const absl::Time deadline = absl::Now() + options_.read_timeout;
    std::string buffer;
    char chunk[2048];
    while (true) {
      switch (WaitFor(fd, POLLIN, stop_read_.get(), deadline)) {
        case Wait::kTimeout:
          Write(fd, Serialize(Error(408, "the request head did not arrive in time"), false));
          return false;
        case Wait::kStopped:
        case Wait::kHangup:
          return false;
        case Wait::kReady:
          break;
      }
      const size_t room = options_.max_request_head_bytes + 1 - buffer.size();
      const ssize_t got = recv(fd, chunk, std::min(room, sizeof(chunk)), 0);
      if (got == 0) return false;
      if (got < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        return false;
      }
      buffer.append(chunk, static_cast<size_t>(got));
      const size_t end = FindHeadEnd(buffer);
      if (end != std::string::npos && end <= options_.max_request_head_bytes) {
        head = buffer.substr(0, end);
        return true;
      }
      if (buffer.size() > options_.max_request_head_bytes) {
        Write(fd, Serialize(Error(431, absl::StrCat("the request head is over ",
                                                    options_.max_request_head_bytes,
                                                    " bytes")),
                            false));
        return false;
      }
    }
  }

  void Serve(int fd) {
    std::string head;
    if (!ReadHead(fd, head)) return;
    absl::StatusOr<Request> request = ParseRequestHead(head);
    if (!request.ok()) {
      const int status = absl::IsUnimplemented(request.status()) ? 413 : 400;
      Write(fd, Serialize(Error(status, request.status().message()), false));
      return;
    }
    const bool head_only = request->method == "HEAD";
    if (request->method != "GET" && !head_only) {
      Write(fd, Serialize(Error(405, "only GET and HEAD are served"), false,
                          "Allow: GET, HEAD\r\n"));
      return;
    }
    if (auto handler = routes_.handlers_.find(request->path);
        handler != routes_.handlers_.end()) {
      Write(fd, Serialize(handler->second(*request), head_only));
      return;
    }
    if (auto handler = routes_.stream_handlers_.find(request->path);
        handler != routes_.stream_handlers_.end()) {
      ServeStream(fd, *request, head_only, handler->second);
      return;
    }
    Write(fd, Serialize(Error(404, "no such path"), head_only));
  }

  void ServeStream(int fd, const Request& request, bool head_only,
                   const StreamHandler& handler) {
    {
      absl::MutexLock lock(&mu_);
      if (streams_ >= options_.max_streams) {
        Write(fd, Serialize(Error(503, "too many event streams"), head_only));
        return;
      }
      ++streams_;
    }
    const std::string stream_head = absl::StrCat(
        Head(200, "text/event-stream", "Cache-Control: no-cache\r\n"), "\r\n");
    if (Write(fd, stream_head) && !head_only) {
      EventStreamImpl stream(fd, stop_read_.get(), options_.write_timeout);
      handler(request, stream);
    }
    absl::MutexLock lock(&mu_);
    --streams_;
  }

  const HttpServerOptions options_;
  const Routes routes_;
  const ScopedFd listener_;
  const ScopedFd stop_read_;
  const ScopedFd stop_write_;

  absl::Mutex mu_;
  std::deque<int> pending_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int streams_ ABSL_GUARDED_BY(mu_) = 0;

  std::vector<std::thread> workers_;
  std::thread acceptor_;
};

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(HttpServerOptions options,
                                                              Routes routes) {
  if (options.worker_threads < 2 || options.max_streams < 0 ||
      options.max_streams >= options.worker_threads || options.max_pending_connections < 1 ||
      options.max_request_head_bytes < 64) {
    return absl::InvalidArgumentError(
        "http server options: want worker_threads >= 2, 0 <= max_streams < worker_threads, "
        "max_pending_connections >= 1, max_request_head_bytes >= 64");
  }
  absl::StatusOr<Listener> listener = Listen(options.listen);
  if (!listener.ok()) return listener.status();
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe2: ", std::strerror(errno)));
  }
  auto impl = std::make_unique<Impl>(std::move(options), std::move(routes),
                                     std::move(listener->fd), ScopedFd(pipe_fds[0]),
                                     ScopedFd(pipe_fds[1]));
  return std::unique_ptr<HttpServer>(
      new HttpServer(std::move(impl), listener->port, std::move(listener->host)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl, int port, std::string host)
    : impl_(std::move(impl)), port_(port), host_(std::move(host)) {}

HttpServer::~HttpServer() { Stop(); }

std::string HttpServer::address() const { return absl::StrCat(host_, ":", port_); }

void HttpServer::Stop() { impl_->Stop(); }

}  // namespace pyservice::http

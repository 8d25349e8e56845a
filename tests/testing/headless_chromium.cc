#include "tests/testing/headless_chromium.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>
#include <vector>

#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace pyservice::testing {
namespace {

// How long one protocol answer may take before the test fails: a guard
// against a hung browser, not a threshold.
constexpr absl::Duration kAnswerHangGuard = absl::Seconds(60);

JsonValue String(const std::string& text) {
  JsonValue value;
  value.set_string_value(text);
  return value;
}

JsonValue Bool(bool flag) {
  JsonValue value;
  value.set_bool_value(flag);
  return value;
}

JsonValue Object(std::initializer_list<std::pair<const char*, JsonValue>> fields) {
  JsonValue value;
  auto& map = *value.mutable_struct_value()->mutable_fields();
  for (const auto& [key, field] : fields) map[key] = field;
  return value;
}

const JsonValue* Field(const JsonValue& object, const std::string& key) {
  const auto& fields = object.struct_value().fields();
  const auto it = fields.find(key);
  return it == fields.end() ? nullptr : &it->second;
}

}  // namespace

absl::StatusOr<std::unique_ptr<HeadlessChromium>> HeadlessChromium::Start(
    const std::string& work_dir) {
  if (access(kChromiumPath, X_OK) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        kChromiumPath, " not found: the browser tests need Chromium "
                       "(apt-get install -y chromium, as deploy/install-deps.sh does)"));
  }
  int to_browser[2];
  int from_browser[2];
  if (pipe2(to_browser, O_CLOEXEC) != 0 || pipe2(from_browser, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe2: ", std::strerror(errno)));
  }
  ChildProcessOptions options;
  options.argv = {kChromiumPath,
                  "--headless",
                  "--remote-debugging-pipe",
                  absl::StrCat("--user-data-dir=", work_dir, "/profile"),
                  "--no-first-run",
                  "--no-default-browser-check",
                  "--disable-gpu",
                  "--disable-extensions",
                  "--disable-background-networking",
                  "--disable-sync",
                  "--disable-dev-shm-usage",
                  "about:blank"};
  // Chromium refuses to run as root with its sandbox.
  if (geteuid() == 0) options.argv.insert(options.argv.begin() + 1, "--no-sandbox");
  options.output_dir = work_dir;
  options.name = "chromium";
  options.extra_fds = {to_browser[0], from_browser[1]};
  absl::StatusOr<std::unique_ptr<ChildProcess>> process = ChildProcess::Start(options);
  close(to_browser[0]);
  close(from_browser[1]);
  if (!process.ok()) {
    close(to_browser[1]);
    close(from_browser[0]);
    return process.status();
  }
  return std::unique_ptr<HeadlessChromium>(
      new HeadlessChromium(*std::move(process), to_browser[1], from_browser[0]));
}

HeadlessChromium::~HeadlessChromium() {
  close(to_browser_);
  close(from_browser_);
  // ChildProcess's destructor kills and reaps whatever is left.
}

absl::StatusOr<std::string> HeadlessChromium::ReadMessage(absl::Time deadline) {
  while (true) {
    if (const size_t end = buffer_.find('\0'); end != std::string::npos) {
      std::string message = buffer_.substr(0, end);
      buffer_.erase(0, end + 1);
      return message;
    }
    pollfd fd = {from_browser_, POLLIN, 0};
    const int wait = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    if (wait <= 0 || poll(&fd, 1, wait) <= 0) {
      return absl::DeadlineExceededError(
          absl::StrCat("no answer from Chromium; its stderr:\n", Stderr()));
    }
    char chunk[65536];
    const ssize_t got = read(from_browser_, chunk, sizeof(chunk));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      return absl::UnavailableError(
          absl::StrCat("Chromium closed its pipe; its stderr:\n", Stderr()));
    }
    buffer_.append(chunk, static_cast<size_t>(got));
  }
}

absl::StatusOr<JsonValue> HeadlessChromium::Call(const std::string& method,
                                                 const JsonValue& params, bool to_session) {
  const uint64_t id = next_id_++;
  JsonValue command = Object({{"method", String(method)}, {"params", params}});
  (*command.mutable_struct_value()->mutable_fields())["id"].set_number_value(
      static_cast<double>(id));
  if (to_session) {
    (*command.mutable_struct_value()->mutable_fields())["sessionId"] = String(session_id_);
  }
  std::string text;
  if (!google::protobuf::util::MessageToJsonString(command, &text).ok()) {
    return absl::InternalError("command not serializable");
  }
  text.push_back('\0');
  for (size_t sent = 0; sent < text.size();) {
    const ssize_t wrote = write(to_browser_, text.data() + sent, text.size() - sent);
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote <= 0) return absl::UnavailableError(absl::StrCat("write to Chromium: ", Stderr()));
    sent += static_cast<size_t>(wrote);
  }
  const absl::Time deadline = absl::Now() + kAnswerHangGuard;
  while (true) {
    absl::StatusOr<std::string> message = ReadMessage(deadline);
    if (!message.ok()) return message.status();
    absl::StatusOr<JsonValue> parsed = ParseJson(*message);
    if (!parsed.ok()) return parsed.status();
    const JsonValue* answer_id = Field(*parsed, "id");
    if (answer_id == nullptr || answer_id->number_value() != static_cast<double>(id)) {
      continue;  // an event, or an answer to nobody
    }
    if (const JsonValue* error = Field(*parsed, "error"); error != nullptr) {
      return absl::InternalError(absl::StrCat(method, ": ", *message));
    }
    const JsonValue* result = Field(*parsed, "result");
    return result == nullptr ? JsonValue() : *result;
  }
}

absl::Status HeadlessChromium::Open(const std::string& url) {
  absl::StatusOr<JsonValue> target =
      Call("Target.createTarget", Object({{"url", String("about:blank")}}), false);
  if (!target.ok()) return target.status();
  const JsonValue* target_id = Field(*target, "targetId");
  if (target_id == nullptr) return absl::InternalError("Target.createTarget: no targetId");
  absl::StatusOr<JsonValue> attached = Call(
      "Target.attachToTarget", Object({{"targetId", *target_id}, {"flatten", Bool(true)}}),
      false);
  if (!attached.ok()) return attached.status();
  const JsonValue* session = Field(*attached, "sessionId");
  if (session == nullptr) return absl::InternalError("Target.attachToTarget: no sessionId");
  session_id_ = session->string_value();
  absl::StatusOr<JsonValue> navigated = Call("Page.navigate", Object({{"url", String(url)}}), true);
  if (!navigated.ok()) return navigated.status();
  if (const JsonValue* error = Field(*navigated, "errorText"); error != nullptr) {
    return absl::UnavailableError(absl::StrCat("navigate to ", url, ": ", error->string_value()));
  }
  return absl::OkStatus();
}

absl::StatusOr<JsonValue> HeadlessChromium::Evaluate(const std::string& expression) {
  absl::StatusOr<JsonValue> evaluated =
      Call("Runtime.evaluate",
           Object({{"expression", String(expression)}, {"returnByValue", Bool(true)}}), true);
  if (!evaluated.ok()) return evaluated.status();
  if (const JsonValue* thrown = Field(*evaluated, "exceptionDetails"); thrown != nullptr) {
    std::string text;
    (void)google::protobuf::util::MessageToJsonString(*thrown, &text);
    return absl::InternalError(absl::StrCat(expression, " threw: ", text));
  }
  const JsonValue* result = Field(*evaluated, "result");
  if (result == nullptr) return JsonValue();
  const JsonValue* value = Field(*result, "value");
  return value == nullptr ? JsonValue() : *value;
}

absl::Status HeadlessChromium::WaitUntil(const std::string& expression, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  std::string last;
  while (true) {
    absl::StatusOr<JsonValue> value = Evaluate(expression);
    if (value.ok() && value->bool_value()) return absl::OkStatus();
    last = value.ok() ? "false" : value.status().ToString();
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("still not true after ", absl::FormatDuration(timeout), ": ", expression,
                       " (last: ", last, ")"));
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
}

}  // namespace pyservice::testing

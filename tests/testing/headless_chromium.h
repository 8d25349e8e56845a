// Headless Chromium driven over the Chrome DevTools Protocol for browser
// tests of the controller's dashboard: `--remote-debugging-pipe` gives the
// browser fd 3 to read commands from and fd 4 to write answers and events
// to, each message one JSON object followed by a NUL byte. One page target,
// attached with flatten (its commands carry the sessionId).
//
// Chromium is a test dependency (deploy/install-deps.sh): Start() fails
// with FAILED_PRECONDITION saying how to install it when it is missing, so
// a browser test fails loudly rather than skipping.
#ifndef PYSERVICE_TESTS_TESTING_HEADLESS_CHROMIUM_H_
#define PYSERVICE_TESTS_TESTING_HEADLESS_CHROMIUM_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/testing/child_process.h"
#include "tests/testing/json.h"

namespace pyservice::testing {

inline constexpr char kChromiumPath[] = "/usr/bin/chromium";

class HeadlessChromium {
 public:
  // Starts the browser with its profile in `work_dir` (an empty temp dir;
  // its stderr goes to work_dir/chromium.stderr).
  static absl::StatusOr<std::unique_ptr<HeadlessChromium>> Start(const std::string& work_dir);
  HeadlessChromium(const HeadlessChromium&) = delete;
  HeadlessChromium& operator=(const HeadlessChromium&) = delete;
  // Closes the pipes; the browser exits on that (and is killed otherwise).
  ~HeadlessChromium();

  // Opens a tab and navigates it to `url`.
  absl::Status Open(const std::string& url);
  // Runtime.evaluate of `expression` in the tab, by value. INTERNAL with the
  // exception's text when it throws.
  absl::StatusOr<JsonValue> Evaluate(const std::string& expression);
  // Evaluates `expression` until it is true or `timeout` passes (a hang
  // guard, not a performance threshold); DEADLINE_EXCEEDED naming it then.
  absl::Status WaitUntil(const std::string& expression,
                         absl::Duration timeout = absl::Seconds(30));

  std::string Stderr() const { return process_->ReadStderr(); }

 private:
  HeadlessChromium(std::unique_ptr<ChildProcess> process, int to_browser, int from_browser)
      : process_(std::move(process)), to_browser_(to_browser), from_browser_(from_browser) {}

  // Sends a command (to the tab's session when `session` is set) and
  // returns its "result"; skips events. INTERNAL with the protocol's error.
  absl::StatusOr<JsonValue> Call(const std::string& method, const JsonValue& params,
                                 bool to_session);
  absl::StatusOr<std::string> ReadMessage(absl::Time deadline);

  std::unique_ptr<ChildProcess> process_;
  int to_browser_;
  int from_browser_;
  std::string buffer_;
  uint64_t next_id_ = 1;
  std::string session_id_;
};

}  // namespace pyservice::testing

#endif  // PYSERVICE_TESTS_TESTING_HEADLESS_CHROMIUM_H_

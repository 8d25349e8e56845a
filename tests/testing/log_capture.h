// Captures what the code under test logs through spdlog's default logger,
// for tests that assert what is (or is never) written into the log. While
// alive, the default logger is a copy of the previous one with one more
// sink; the previous logger is restored on destruction.
//
// Create it before the code under test starts logging from other threads,
// destroy it after they stopped: swapping the default logger is not safe
// against concurrent logging.
#ifndef PYSERVICE_TESTS_TESTING_LOG_CAPTURE_H_
#define PYSERVICE_TESTS_TESTING_LOG_CAPTURE_H_

#include <memory>
#include <mutex>
#include <string>

#include "spdlog/sinks/base_sink.h"
#include "spdlog/spdlog.h"

namespace pyservice::testing {

// Keeps every formatted record in memory.
class StringSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::string Text() {
    std::lock_guard<std::mutex> lock(mutex_);
    return text_;
  }

 private:
  void sink_it_(const spdlog::details::log_msg& message) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(message, formatted);
    text_.append(formatted.data(), formatted.size());
  }
  void flush_() override {}

  std::string text_;
};

class LogCapture {
 public:
  LogCapture() : previous_(spdlog::default_logger()) {
    sink_ = std::make_shared<StringSink>();
    sink_->set_pattern("%l %v");
    auto logger = previous_->clone("captured");
    logger->sinks().push_back(sink_);
    logger->set_level(spdlog::level::trace);
    spdlog::set_default_logger(std::move(logger));
  }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;
  ~LogCapture() { spdlog::set_default_logger(previous_); }

  // Everything logged so far, one "LEVEL message" line per record.
  std::string Text() const { return sink_->Text(); }

 private:
  std::shared_ptr<spdlog::logger> previous_;
  std::shared_ptr<StringSink> sink_;
};

}  // namespace pyservice::testing

#endif  // PYSERVICE_TESTS_TESTING_LOG_CAPTURE_H_

#include "cli/live_console.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <cerrno>

namespace sleet::cli {

namespace {

// Wraps the logger's own sink (its format and colours stay): each record is written between
// LiveConsole::before_log() and after_log().
class LiveLineSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  LiveLineSink(std::shared_ptr<spdlog::sinks::sink> inner, LiveConsole& console)
      : inner_(std::move(inner)), console_(console) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    console_.before_log();
    inner_->log(msg);
    inner_->flush();
    console_.after_log();
  }
  void flush_() override { inner_->flush(); }

 private:
  std::shared_ptr<spdlog::sinks::sink> inner_;
  LiveConsole& console_;
};

constexpr const char* kErase = "\r\033[K";

}  // namespace

LiveConsole::LiveConsole(int fd) : fd_(fd), tty_(isatty(fd) == 1) {
  if (!tty_) return;
  auto logger = spdlog::default_logger();
  original_sinks_ = logger->sinks();
  for (auto& s : logger->sinks()) s = std::make_shared<LiveLineSink>(s, *this);
}

LiveConsole::~LiveConsole() {
  end();
  // The sinks refer to this object: hand the logger its own sinks back.
  if (tty_) spdlog::default_logger()->sinks() = original_sinks_;
}

size_t LiveConsole::columns() const {
  winsize ws{};
  if (ioctl(fd_, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 80;
}

void LiveConsole::write_all(const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::write(fd_, s.data() + off, s.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

void LiveConsole::draw(const std::string& line) {
  std::lock_guard lock(mu_);
  if (!tty_ || ended_) return;
  line_ = line;
  write_all(kErase + line_);
}

void LiveConsole::end() {
  std::lock_guard lock(mu_);
  if (!tty_ || ended_) return;
  ended_ = true;
  if (!line_.empty()) write_all("\n");
  line_.clear();
}

void LiveConsole::before_log() {
  std::unique_lock lock(mu_);
  if (!line_.empty()) write_all(kErase);
  log_lock_ = std::move(lock);
}

void LiveConsole::after_log() {
  std::unique_lock lock = std::move(log_lock_);
  if (!line_.empty()) write_all(line_);
}

}  // namespace sleet::cli

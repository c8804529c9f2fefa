// The live line of `sleet run` on a terminal: drawn in place ("\r", erase line, the line cut to
// the terminal's width), and kept apart from log lines: every spdlog line first erases the live
// line, is written on a line of its own, and the live line is drawn again below it. Off a
// terminal there is no live line (cmd_run.cpp logs one plain line per interval instead).
//
// Threading: draw() and end() on the supervisor's thread; the log sink from any thread. One
// mutex orders the writes of both to stderr.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <spdlog/sinks/sink.h>

namespace sleet::cli {

class LiveConsole {
 public:
  // Installs the log sink on the default logger when `fd` is a terminal (call after
  // setup_logging, before other threads log).
  explicit LiveConsole(int fd);
  ~LiveConsole();
  bool tty() const { return tty_; }
  // The terminal's columns now (TIOCGWINSZ, asked at each call, so a resized window, SIGWINCH,
  // is followed at the next redraw); 80 when it cannot say.
  size_t columns() const;
  // Replaces the live line (the caller fits it to columns() - 1, so the cursor never wraps).
  void draw(const std::string& line);
  // Ends the live line for good: it stays on screen, later output starts on a new line.
  void end();

  // For the log sink: erase the live line before a log line, draw it again after.
  void before_log();
  void after_log();

 private:
  void write_all(const std::string& s);
  int fd_;
  bool tty_;
  std::mutex mu_;
  std::string line_;  // what is shown ("" none)
  bool ended_ = false;
  // Held from before_log() to after_log() (the sink's own mutex orders those pairs).
  std::unique_lock<std::mutex> log_lock_;
  std::vector<std::shared_ptr<spdlog::sinks::sink>> original_sinks_;  // restored at the end
};

}  // namespace sleet::cli

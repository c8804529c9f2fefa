// The live line of `sleet run` on a real terminal (a pseudo-terminal from openpty, at 80 and 160
// columns): a run of the wordcount example with input loaded while it runs, until drained. No
// line it draws is wider than the terminal, it is redrawn in place ("\r" + erase line), and a log
// line is never glued to it (every log line starts at the beginning of a line).
#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <regex>

#include "cluster/live_line.hpp"
#include "tests/support/sleet_runs.hpp"
#include "tests/support/support.hpp"

using namespace sleet;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

const std::string kExample = std::string(SLEET_SOURCE_DIR) + "/examples/wordcount/wordcount.yaml";

struct PtyRun {
  std::string out;  // everything the terminal received
  int exit_status = -1;
};

// Runs `argv` with stdin, stdout and stderr on a pty of `cols` columns; reads until the child
// ends or `timeout` passes (then SIGKILL, by pid).
PtyRun run_on_pty(const std::vector<std::string>& argv,
                  const std::map<std::string, std::string>& env, unsigned short cols,
                  std::chrono::seconds timeout) {
  PtyRun r;
  int master = -1, slave = -1;
  winsize ws{};
  ws.ws_row = 40;
  ws.ws_col = cols;
  if (openpty(&master, &slave, nullptr, nullptr, &ws) != 0) {
    ADD_FAILURE() << "openpty: " << std::strerror(errno);
    return r;
  }
  std::vector<std::string> envs;
  for (char** e = environ; *e; ++e) envs.emplace_back(*e);
  for (auto& [k, v] : env) envs.push_back(k + "=" + v);
  envs.push_back("TERM=xterm");
  std::vector<char*> cargv, cenv;
  for (auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (auto& e : envs) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    setsid();
    ioctl(slave, TIOCSCTTY, 0);
    dup2(slave, 0);
    dup2(slave, 1);
    dup2(slave, 2);
    close(master);
    if (slave > 2) close(slave);
    execve(cargv[0], cargv.data(), cenv.data());
    _exit(127);
  }
  close(slave);
  const auto until = std::chrono::steady_clock::now() + timeout;
  char buf[8192];
  bool exited = false;
  while (std::chrono::steady_clock::now() < until) {
    pollfd p{master, POLLIN, 0};
    int n = poll(&p, 1, 200);
    if (n > 0) {
      ssize_t got = read(master, buf, sizeof buf);
      if (got > 0) {
        r.out.append(buf, static_cast<size_t>(got));
        continue;
      }
      // EIO: every slave fd is closed, the child (and its children) are done with the terminal.
    }
    int st = 0;
    if (waitpid(pid, &st, WNOHANG) == pid) {
      exited = true;
      r.exit_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      // Drain what is left.
      while (poll(&p, 1, 100) > 0) {
        ssize_t got = read(master, buf, sizeof buf);
        if (got <= 0) break;
        r.out.append(buf, static_cast<size_t>(got));
      }
      break;
    }
  }
  if (!exited) {
    ADD_FAILURE() << "sleet run did not end within " << timeout.count() << " s";
    kill(pid, SIGINT);
    int st = 0;
    if (!test::wait_until([&] { return waitpid(pid, &st, WNOHANG) == pid; }, 30s)) {
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
    }
  }
  close(master);
  return r;
}

// Without CSI sequences (erase line, colours).
std::string strip_csi(const std::string& s) {
  static const std::regex csi("\x1b\\[[0-9;?]*[A-Za-z]");
  return std::regex_replace(s, csi, "");
}

void check_terminal_output(const std::string& raw, size_t cols) {
  // The terminal turns each "\n" into "\r\n" (onlcr): undo that, so a "\r" left is a redraw.
  std::string out;
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\r' && i + 1 < raw.size() && raw[i + 1] == '\n') continue;
    out += raw[i];
  }
  EXPECT_NE(out.find("\r\x1b[K"), std::string::npos) << "the live line is never redrawn in place";
  static const std::regex log_start(R"(^\d\d:\d\d:\d\d\.\d\d\d \[run\] )");
  int live_draws = 0, log_lines = 0;
  for (const std::string& line : test::split_lines(out)) {
    // The segments a "\r" separates: each one is written from the first column.
    size_t start = 0;
    while (start <= line.size()) {
      size_t cr = line.find('\r', start);
      std::string seg =
          strip_csi(line.substr(start, cr == std::string::npos ? std::string::npos : cr - start));
      start = cr == std::string::npos ? line.size() + 1 : cr + 1;
      if (seg.empty()) continue;
      const size_t run_tag = seg.find(" [run] ");
      const bool is_log = std::regex_search(seg, log_start);
      if (is_log) ++log_lines;
      if (seg.rfind("wordcount | ", 0) == 0) {
        ++live_draws;
        EXPECT_LE(cluster::display_width(seg), cols)
            << "live line wider than the terminal: " << seg;
      }
      // A log line that does not start its segment is glued to something before it.
      EXPECT_TRUE(run_tag == std::string::npos || (is_log && run_tag == 12))
          << "log line glued to other output: " << seg;
      // The live line's text never follows a log line on the same segment.
      EXPECT_FALSE(is_log && seg.find("wordcount | ") != std::string::npos)
          << "live line glued to a log line: " << seg;
    }
  }
  EXPECT_GT(live_draws, 2) << out;
  EXPECT_GT(log_lines, 3) << out;
}

void run_at(unsigned short cols) {
  test::TempDir dir("sleet-pty");
  auto r = run_on_pty({SLEET_CLI_PATH, "run", kExample, "--until-drained", "--input-rate", "2500",
                       "--state-dir", (dir.path() / "state").string()},
                      test::example_env(dir), cols, 90s);
  EXPECT_EQ(r.exit_status, 0) << r.out;
  check_terminal_output(r.out, cols);
  // The summary's new lines.
  EXPECT_NE(r.out.find("checkpoints: "), std::string::npos) << r.out;
}

}  // namespace

TEST(LiveLinePty, FitsEightyColumns) {
  run_at(80);
}
TEST(LiveLinePty, FitsOneHundredSixtyColumns) {
  run_at(160);
}

#include "cluster/process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

namespace sleet {

namespace {
int decode(int st) {
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return -1;
}
}  // namespace

Result<Process> Process::spawn(const std::vector<std::string>& argv, const Options& options) {
  if (argv.empty()) return Status::Invalid("empty command");
  // Report exec failure through a close-on-exec pipe: EOF means exec succeeded.
  int pfd[2];
  if (pipe2(pfd, O_CLOEXEC) != 0) return Status::IoError(std::string("pipe: ") + strerror(errno));
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    close(pfd[0]);
    close(pfd[1]);
    return Status::IoError(std::string("fork: ") + strerror(errno));
  }
  if (pid == 0) {
    setpgid(0, 0);
    // Own process group (Ctrl-C reaches only the parent), but die with the parent even when it is
    // SIGKILLed: a supervisor's children never outlive it. (Bound to the forking thread: callers
    // spawn from their long-lived controlling thread.)
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);  // the parent may block signals for sigwait
    for (auto& [k, v] : options.env) setenv(k.c_str(), v.c_str(), 1);
    if (!options.cwd.empty() && chdir(options.cwd.c_str()) != 0) _exit(127);
    if (!options.stdout_path.empty()) {
      int fd = open(options.stdout_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) dup2(fd, 1);
    }
    if (!options.stderr_path.empty()) {
      int fd = open(options.stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) dup2(fd, 2);
    }
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    int e = errno;
    (void)!write(pfd[1], &e, sizeof e);
    _exit(127);
  }
  close(pfd[1]);
  int child_errno = 0;
  ssize_t n;
  do {
    n = read(pfd[0], &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  close(pfd[0]);
  Process p;
  p.pid_ = pid;
  if (n == static_cast<ssize_t>(sizeof child_errno)) {
    int st;
    waitpid(pid, &st, 0);
    p.pid_ = -1;
    return Status::NotFound("cannot run '" + argv[0] + "': " + strerror(child_errno));
  }
  return p;
}

Process::Process(Process&& o) noexcept : pid_(o.pid_), status_(o.status_) {
  o.pid_ = -1;
}

Process& Process::operator=(Process&& o) noexcept {
  if (this != &o) {
    if (pid_ > 0 && !status_) stop(std::chrono::milliseconds(0));
    pid_ = o.pid_;
    status_ = o.status_;
    o.pid_ = -1;
  }
  return *this;
}

Process::~Process() {
  if (pid_ > 0 && !status_) {
    ::kill(pid_, SIGKILL);
    int st;
    waitpid(pid_, &st, 0);
  }
}

bool Process::running() {
  if (pid_ <= 0 || status_) return false;
  int st;
  pid_t r = waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = decode(st);
    return false;
  }
  return true;
}

void Process::signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return std::nullopt;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return status_;
}

int Process::stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return -1;
  if (!running()) return *status_;
  ::kill(pid_, SIGTERM);
  if (auto s = wait(grace)) return *s;
  ::kill(pid_, SIGKILL);
  int st;
  waitpid(pid_, &st, 0);
  status_ = decode(st);
  return *status_;
}

std::string describe_exit(int status) {
  if (status > 128) {
    const char* name = sigabbrev_np(status - 128);
    return std::string("killed by SIG") + (name ? name : std::to_string(status - 128));
  }
  return "exited with status " + std::to_string(status);
}

}  // namespace sleet

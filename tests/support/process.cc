#include "tests/support/process.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

extern char** environ;

namespace mailark::test {

namespace {

std::string slurpAndRemove(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::remove(path.c_str());
  return ss.str();
}

// Starts `argv` with stdin from /dev/null and stdout/stderr on `out_fd` and
// `err_fd` (-1: /dev/null). Returns posix_spawnp's error, 0 on success.
int spawn(const std::vector<std::string>& argv, int out_fd, int err_fd, char* const* envp, pid_t* pid) {
  std::vector<std::string> args = argv;
  std::vector<char*> argp;
  for (std::string& a : args) argp.push_back(a.data());
  argp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  for (auto [fd, target] : {std::pair{out_fd, 1}, std::pair{err_fd, 2}}) {
    if (fd < 0) posix_spawn_file_actions_addopen(&actions, target, "/dev/null", O_WRONLY, 0);
    else posix_spawn_file_actions_adddup2(&actions, fd, target);
  }
  int rc = posix_spawnp(pid, argp[0], &actions, nullptr, argp.data(), envp);
  posix_spawn_file_actions_destroy(&actions);
  return rc;
}

}  // namespace

ProcessResult runProcess(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env) {
  // Files, not pipes: large outputs on both streams cannot deadlock us.
  char out_path[] = "/tmp/mailark-test-out-XXXXXX";
  char err_path[] = "/tmp/mailark-test-err-XXXXXX";
  int out_fd = mkstemp(out_path);
  int err_fd = mkstemp(err_path);
  ProcessResult result;
  if (out_fd < 0 || err_fd < 0) return result;

  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv(*e);
    std::string key = kv.substr(0, kv.find('='));
    if (!env.count(key)) env_strings.push_back(kv);
  }
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  pid_t pid = 0;
  int rc = spawn(argv, out_fd, err_fd, envp.data(), &pid);
  close(out_fd);
  close(err_fd);
  if (rc != 0) {
    result.err = std::string("cannot start ") + argv[0] + ": " + std::strerror(rc);
    slurpAndRemove(out_path);
    slurpAndRemove(err_path);
    return result;
  }
  result.exit_code = waitForExit(pid);
  result.out = slurpAndRemove(out_path);
  result.err = slurpAndRemove(err_path);
  return result;
}

ProcessResult runIntoEarlyClosingReader(const std::vector<std::string>& argv, size_t read_bytes) {
  ProcessResult result;
  int pipe_fds[2];
  char err_path[] = "/tmp/mailark-test-err-XXXXXX";
  int err_fd = mkstemp(err_path);
  if (err_fd < 0) return result;
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    result.err = std::string("cannot create a pipe: ") + std::strerror(errno);
    close(err_fd);
    slurpAndRemove(err_path);
    return result;
  }
  // The smallest pipe buffer: the program cannot finish writing a large
  // output before we close our end.
  fcntl(pipe_fds[1], F_SETPIPE_SZ, 4096);
  pid_t pid = -1;
  int rc = spawn(argv, pipe_fds[1], err_fd, environ, &pid);
  close(pipe_fds[1]);
  close(err_fd);
  if (rc == 0) {
    char buf[512];
    while (result.out.size() < read_bytes) {
      ssize_t n = read(pipe_fds[0], buf, std::min(sizeof buf, read_bytes - result.out.size()));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      result.out.append(buf, static_cast<size_t>(n));
    }
  }
  close(pipe_fds[0]);
  if (rc != 0) {
    result.err = std::string("cannot start ") + argv[0] + ": " + std::strerror(rc);
    slurpAndRemove(err_path);
    return result;
  }
  result.exit_code = waitForExit(pid);
  result.err = slurpAndRemove(err_path);
  return result;
}

int startProcess(const std::vector<std::string>& argv) {
  pid_t pid = -1;
  return spawn(argv, -1, -1, environ, &pid) == 0 ? pid : -1;
}

int waitForExit(int pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace mailark::test

// Test helpers for file-system tests: a scoped temporary directory and a
// deliberately tiny tmpfs for real "disk full" errors.
#pragma once

#include <sys/mount.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

namespace mailark::testing {

// mkdtemp under /tmp; removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/mailark-test-XXXXXX";
    const char* made = ::mkdtemp(pattern);
    if (made != nullptr) path_ = made;
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  bool ok() const { return !path_.empty(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A tmpfs of `size` (mount(8) syntax, e.g. "1m") on a fresh temp dir.
// mounted() is false when this process may not mount (not root, or no
// CAP_SYS_ADMIN in a container); tests then GTEST_SKIP.
class SmallTmpfs {
 public:
  explicit SmallTmpfs(const std::string& size) {
    if (!dir_.ok()) return;
    std::string options = "size=" + size + ",mode=0700";
    mounted_ = ::mount("tmpfs", dir_.path().c_str(), "tmpfs", MS_NOSUID | MS_NODEV,
                       options.c_str()) == 0;
  }
  ~SmallTmpfs() {
    if (mounted_) ::umount2(dir_.path().c_str(), MNT_DETACH);
  }
  SmallTmpfs(const SmallTmpfs&) = delete;
  SmallTmpfs& operator=(const SmallTmpfs&) = delete;

  bool mounted() const { return mounted_; }
  const std::string& path() const { return dir_.path(); }

 private:
  TempDir dir_;  // declared first: removed after the unmount
  bool mounted_ = false;
};

// Regular files below `dir`, recursively.
inline int countFiles(const std::string& dir) {
  int n = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir, ec)) {
    if (e.is_regular_file()) ++n;
  }
  return n;
}

}  // namespace mailark::testing

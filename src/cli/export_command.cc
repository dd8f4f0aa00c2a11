// `mailark export`: get one mailbox back out as .eml files, mbox (mboxrd)
// or Maildir. Each folder (all UIDVALIDITY generations together) becomes
// one safely named file or directory under --out; file times are the
// messages' INTERNALDATE. eml and Maildir files hold the exact archived
// bytes; in mbox a message that lacks a final newline gets one, since the
// format cannot mark where such a message ends.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <map>
#include <vector>

#include "src/cli/archive_paths.h"
#include "src/cli/commands.h"
#include "src/cli/export_names.h"

namespace mailark::cli {

namespace {

namespace fs = std::filesystem;

// A file written with checked errors.
class OutFile {
 public:
  static Result<std::unique_ptr<OutFile>> create(const std::string& path, bool append) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (append ? O_APPEND : O_TRUNC), 0640);
    if (fd < 0) return errnoStatus(errno, "create " + path);
    return std::unique_ptr<OutFile>(new OutFile(path, fd));
  }
  ~OutFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  Status write(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::write(fd_, bytes.data(), bytes.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return errnoStatus(errno, "write " + path_);
      }
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return Status::ok();
  }
  Status close(std::optional<std::time_t> mtime) {
    if (mtime) {
      timespec times[2] = {{*mtime, 0}, {*mtime, 0}};
      if (::futimens(fd_, times) != 0) return errnoStatus(errno, "set time of " + path_);
    }
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) return errnoStatus(errno, "close " + path_);
    return Status::ok();
  }

 private:
  OutFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_;
};

Status makeDirs(const std::string& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) return errnoStatus(ec.value(), "create directory " + path);
  return Status::ok();
}

Status exportFolder(ContentStore& store, const ExportOptions& o, const std::string& folder,
                    const std::vector<ArchivedMessage>& messages) {
  const std::string base = o.out + "/" + safeFolderFileName(folder);
  std::unique_ptr<OutFile> mbox;
  if (o.format == "mbox") {
    Result<std::unique_ptr<OutFile>> f = OutFile::create(base + ".mbox", false);
    if (!f) return f.status();
    mbox = std::move(*f);
  } else if (o.format == "maildir") {
    for (const char* sub : {"/cur", "/new", "/tmp"}) MAILARK_RETURN_IF_ERROR(makeDirs(base + sub));
  } else {
    MAILARK_RETURN_IF_ERROR(makeDirs(base));
  }
  std::optional<std::time_t> newest;
  for (const ArchivedMessage& m : messages) {
    std::optional<std::time_t> when = parseInternalDate(m.message.internaldate);
    if (when && (!newest || *when > *newest)) newest = when;
    std::string id = std::to_string(m.uidvalidity) + "-" + std::to_string(m.message.uid);
    if (mbox) {
      std::string out = "From MAILER-DAEMON " + asctimeUtc(when.value_or(0)) + "\n";
      MboxrdQuoter quoter;
      char last = '\n';
      Status s = store.read(m.message.sha256, [&](std::span<const char> bytes) {
        quoter.feed(std::string_view(bytes.data(), bytes.size()), &out);
        if (!bytes.empty()) last = bytes.back();
        if (out.size() < (1 << 20)) return Status::ok();
        Status w = mbox->write(out);
        out.clear();
        return w;
      });
      if (!s.isOk()) return s.withContext("export " + m.mailbox + " \"" + folder + "\" uid " + id);
      quoter.finish(&out);
      out += last == '\n' ? "\n" : "\n\n";  // a blank line ends each message
      MAILARK_RETURN_IF_ERROR(mbox->write(out));
      continue;
    }
    std::string path = o.format == "maildir"
                           ? base + "/cur/" + std::to_string(when.value_or(0)) + "." + id + ".mailark:2," +
                                 maildirFlags(m.message.flags)
                           : base + "/" + id + ".eml";
    Result<std::unique_ptr<OutFile>> f = OutFile::create(path, false);
    if (!f) return f.status();
    Status s = store.read(m.message.sha256, [&](std::span<const char> bytes) {
      return (*f)->write(std::string_view(bytes.data(), bytes.size()));
    });
    if (!s.isOk()) return s.withContext("export " + m.mailbox + " \"" + folder + "\" uid " + id);
    MAILARK_RETURN_IF_ERROR((*f)->close(when));
  }
  if (mbox) MAILARK_RETURN_IF_ERROR(mbox->close(newest));
  return Status::ok();
}

}  // namespace

int exportCommand(const ExportOptions& options) {
  if (options.format != "eml" && options.format != "mbox" && options.format != "maildir")
    return reportFatal("--format must be eml, mbox or maildir");
  Result<std::unique_ptr<Archive>> archive = openForReading(options.config);
  if (!archive) return reportFatal(archive.status().message());
  std::map<std::string, std::vector<ArchivedMessage>> folders;
  Status s = (*archive)->state->listMessages(options.mailbox, [&](const ArchivedMessage& m) {
    if (options.folder.empty() || m.folder == options.folder) folders[m.folder].push_back(m);
  });
  if (!s.isOk()) return reportFatal(s.message());
  if (folders.empty()) {
    return reportFatal("nothing archived for mailbox " + options.mailbox +
                       (options.folder.empty() ? "" : " folder \"" + options.folder + "\""));
  }
  if (Status d = makeDirs(options.out); !d.isOk()) return reportFatal(d.message());
  size_t count = 0;
  for (const auto& [folder, messages] : folders) {
    s = exportFolder(*(*archive)->store, options, folder, messages);
    if (!s.isOk()) return reportFatal(s.message());
    count += messages.size();
  }
  std::printf("exported %zu message(s) in %zu folder(s) of %s to %s (%s)\n", count, folders.size(),
              options.mailbox.c_str(), options.out.c_str(), options.format.c_str());
  return 0;
}

}  // namespace mailark::cli

#include "tests/support/testbed.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <simdjson.h>
#include <sstream>

#include "src/base/sha256.h"

namespace mailark::test {

namespace fs = std::filesystem;

namespace {

const char* kPython = "/usr/bin/python3";

std::string script() { return std::string(MAILARK_SOURCE_DIR) + "/tests/testbed/testbed.py"; }

}  // namespace

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string sha256Hex(const std::string& bytes) { return digestHex(Sha256::of(bytes)); }

std::string makeTempDir(const std::string& prefix) {
  std::string templ = "/tmp/" + prefix + "-XXXXXX";
  char* made = mkdtemp(templ.data());
  if (made == nullptr) return "";
  chmod(made, 0755);
  return made;
}

void removeTree(const std::string& dir) {
  std::error_code ec;
  if (!dir.empty()) fs::remove_all(dir, ec);
}

ProcessResult mailark(const std::vector<std::string>& args, const std::map<std::string, std::string>& env) {
  std::vector<std::string> argv = {MAILARK_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return runProcess(argv, env);
}

TestBed::TestBed(const std::vector<std::string>& up_args) {
  info_.dir = makeTempDir("mailark-bed");
  if (info_.dir.empty()) {
    error_ = "cannot create a temp dir";
    return;
  }
  std::vector<std::string> args = {"up"};
  args.insert(args.end(), up_args.begin(), up_args.end());
  ProcessResult r = tool(args);
  if (r.exit_code != 0) {
    error_ = "testbed up failed (exit " + std::to_string(r.exit_code) + "): " + r.out + r.err;
    return;
  }
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(readFile(info_.dir + "/testbed.json")).get(doc) != simdjson::SUCCESS) {
    error_ = "cannot parse testbed.json";
    return;
  }
  auto str = [&](const char* key) {
    std::string_view v;
    return doc[key].get(v) == simdjson::SUCCESS ? std::string(v) : std::string();
  };
  int64_t port = 0;
  if (doc["imap_port"].get(port) == simdjson::SUCCESS) info_.imap_port = static_cast<int>(port);
  if (doc["token_port"].get(port) == simdjson::SUCCESS) info_.token_port = static_cast<int>(port);
  if (doc["pop3_port"].get(port) == simdjson::SUCCESS) info_.pop3_port = static_cast<int>(port);
  info_.authority = str("authority");
  info_.tenant = str("tenant");
  info_.tenant_id = str("tenant_id");
  info_.client_id = str("client_id");
  info_.secret_file = str("secret_file");
  info_.noimap_client_id = str("noimap_client_id");
  info_.noimap_secret_file = str("noimap_secret_file");
  info_.nopop_client_id = str("nopop_client_id");
  info_.nopop_secret_file = str("nopop_secret_file");
  info_.ca_file = str("ca_file");
  simdjson::dom::array boxes;
  if (doc["mailboxes"].get(boxes) == simdjson::SUCCESS) {
    for (simdjson::dom::element b : boxes) {
      std::string_view v;
      if (b.get(v) == simdjson::SUCCESS) info_.mailboxes.emplace_back(v);
    }
  }
  if (info_.imap_port == 0 || info_.client_id.empty()) error_ = "testbed.json is incomplete";
}

TestBed::~TestBed() {
  tool({"down"});
  removeTree(info_.dir);
}

ProcessResult TestBed::tool(std::vector<std::string> args) const {
  std::vector<std::string> argv = {kPython, script()};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back("--dir");
  argv.push_back(info_.dir);
  return runProcess(argv);
}

std::vector<FetchedMessage> TestBed::fetch(const std::string& mailbox) const {
  std::vector<FetchedMessage> out;
  ProcessResult r = tool({"fetch", "--mailbox", mailbox});
  if (r.exit_code != 0) return out;
  simdjson::dom::parser parser;
  std::istringstream lines(r.out);
  std::string line;
  while (std::getline(lines, line)) {
    simdjson::dom::element e;
    if (parser.parse(line).get(e) != simdjson::SUCCESS) continue;
    FetchedMessage m;
    std::string_view folder, sha;
    uint64_t uid = 0, size = 0;
    if (e["folder"].get(folder) || e["sha256"].get(sha) || e["uid"].get(uid) || e["size"].get(size)) continue;
    m.folder = folder;
    m.sha256 = sha;
    m.uid = static_cast<uint32_t>(uid);
    m.size = size;
    out.push_back(std::move(m));
  }
  return out;
}

std::vector<std::string> TestBed::deliver(const std::string& mailbox, const std::string& folder, int count,
                                          int seed) const {
  std::vector<std::string> out;
  ProcessResult r = tool({"deliver", "--mailbox", mailbox, "--folder", folder, "--count", std::to_string(count),
                          "--seed", std::to_string(seed)});
  std::istringstream lines(r.out);
  std::string line;
  while (std::getline(lines, line))
    if (line.size() == 64) out.push_back(line);
  return out;
}

std::string TestBed::writeConfig(const std::string& name, const std::string& archive_dir,
                                 const std::vector<std::string>& mailboxes, const std::string& app_section,
                                 const std::string& server_extra) const {
  std::ostringstream c;
  c << "[app]\n";
  if (app_section.empty()) {
    c << "tenant = \"" << info_.tenant << "\"\n"
      << "client_id = \"" << info_.client_id << "\"\n"
      << "client_secret_file = \"" << info_.secret_file << "\"\n"
      << "authority = \"" << info_.authority << "\"\n";
  } else {
    c << app_section;
  }
  c << "[server]\nhost = \"localhost\"\nport = " << info_.imap_port << "\n";
  if (server_extra.empty()) c << "ca_file = \"" << info_.ca_file << "\"\n";
  else c << server_extra;
  c << "[archive]\npath = \"" << archive_dir << "\"\n";
  c << "[mailboxes]\nlist = [";
  for (size_t i = 0; i < mailboxes.size(); ++i) c << (i ? ", " : "") << '"' << mailboxes[i] << '"';
  c << "]\n";
  std::string path = info_.dir + "/" + name;
  std::ofstream(path) << c.str();
  return path;
}

}  // namespace mailark::test

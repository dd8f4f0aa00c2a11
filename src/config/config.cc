#include "src/config/config.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <toml++/toml.h>

namespace mailark::config {

namespace fs = std::filesystem;

namespace {

class Loader {
 public:
  Loader(std::string path, SecretNeed need) : path_(std::move(path)), need_(need) {
    base_ = fs::path(path_).parent_path();
  }

  Result<Config> load();

 private:
  Status error(const std::string& what) const { return configError(path_ + ": " + what); }
  Status checkKeys(const toml::table& t, const std::string& section, const std::set<std::string>& allowed) const;
  Status getString(const toml::table& t, const char* section, const char* key, std::string* out) const;
  std::string resolve(const std::string& p) const {
    if (p.empty() || fs::path(p).is_absolute()) return p;
    return (base_ / p).lexically_normal().string();
  }
  Status loadApp(const toml::table& root);
  Status loadServer(const toml::table& root);
  Status loadMailboxes(const toml::table& root);
  Status loadSecret();
  Status addMailbox(std::string address, const std::string& where);

  std::string path_;
  SecretNeed need_;
  fs::path base_;
  Config c_;
  std::set<std::string> seen_;
};

Status Loader::checkKeys(const toml::table& t, const std::string& section, const std::set<std::string>& allowed) const {
  for (const auto& [key, value] : t) {
    if (!allowed.count(std::string(key.str()))) {
      return error("unknown key \"" + std::string(key.str()) + "\"" + (section.empty() ? "" : " in [" + section + "]") +
                   " (line " + std::to_string(key.source().begin.line) + "): check the spelling");
    }
  }
  return Status::ok();
}

Status Loader::getString(const toml::table& t, const char* section, const char* key, std::string* out) const {
  const toml::node* n = t.get(key);
  if (n == nullptr) return Status::ok();
  if (!n->is_string()) return error(std::string("[") + section + "] " + key + " must be a string");
  *out = n->as_string()->get();
  return Status::ok();
}

Status Loader::loadApp(const toml::table& root) {
  const toml::table* app = root["app"].as_table();
  if (app == nullptr) {
    if (need_ == SecretNeed::Skip) return Status::ok();
    return error("missing [app] section (tenant, client_id, client_secret_file or client_secret_env)");
  }
  if (app->contains("client_secret")) {
    return error("[app] client_secret is not allowed: secrets never go into config files; put the secret in a "
                 "file readable only by mailark (client_secret_file) or an environment variable (client_secret_env)");
  }
  MAILARK_RETURN_IF_ERROR(checkKeys(*app, "app", {"tenant", "client_id", "client_secret_file", "client_secret_env", "authority", "scope"}));
  AppConfig& a = c_.apps.front();
  MAILARK_RETURN_IF_ERROR(getString(*app, "app", "tenant", &a.tenant));
  MAILARK_RETURN_IF_ERROR(getString(*app, "app", "client_id", &a.client_id));
  MAILARK_RETURN_IF_ERROR(getString(*app, "app", "client_secret_file", &a.client_secret_file));
  MAILARK_RETURN_IF_ERROR(getString(*app, "app", "client_secret_env", &a.client_secret_env));
  MAILARK_RETURN_IF_ERROR(getString(*app, "app", "authority", &a.authority));
  MAILARK_RETURN_IF_ERROR(getString(*app, "app", "scope", &a.scope));
  a.client_secret_file = resolve(a.client_secret_file);
  while (!a.authority.empty() && a.authority.back() == '/') a.authority.pop_back();
  if (need_ == SecretNeed::Skip) return Status::ok();
  if (a.tenant.empty()) return error("[app] tenant is required (the tenant GUID or a domain such as contoso.onmicrosoft.com)");
  if (a.tenant == "common" || a.tenant == "organizations" || a.tenant == "consumers")
    return error("[app] tenant \"" + a.tenant + "\" cannot be used with app-only tokens: give the tenant GUID or domain");
  if (a.client_id.empty()) return error("[app] client_id is required (the app registration's Application (client) ID)");
  if (a.authority.rfind("https://", 0) != 0) return error("[app] authority must be an https:// URL");
  return loadSecret();
}

Status Loader::loadSecret() {
  AppConfig& a = c_.apps.front();
  if (!a.client_secret_file.empty() && !a.client_secret_env.empty())
    return error("[app] set client_secret_file or client_secret_env, not both");
  if (!a.client_secret_env.empty()) {
    const char* v = std::getenv(a.client_secret_env.c_str());
    if (v == nullptr || *v == '\0')
      return error("[app] client_secret_env names " + a.client_secret_env + ", but that environment variable is not set");
    a.client_secret = v;
    return Status::ok();
  }
  if (a.client_secret_file.empty())
    return error("[app] client_secret_file or client_secret_env is required");
  struct stat st {};
  if (::stat(a.client_secret_file.c_str(), &st) != 0)
    return error("[app] client_secret_file " + a.client_secret_file + " cannot be read: " + std::strerror(errno));
  if (st.st_mode & S_IROTH)
    c_.warnings.push_back("client secret file " + a.client_secret_file + " is readable by other users: chmod 600 it");
  std::ifstream in(a.client_secret_file, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  if (!in.good() && !in.eof()) return error("[app] client_secret_file " + a.client_secret_file + " cannot be read");
  std::string secret = ss.str();
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r' || secret.back() == ' ')) secret.pop_back();
  if (secret.empty()) return error("[app] client_secret_file " + a.client_secret_file + " is empty");
  a.client_secret = std::move(secret);
  return Status::ok();
}

Status Loader::loadServer(const toml::table& root) {
  const toml::table* server = root["server"].as_table();
  if (server == nullptr) return Status::ok();
  MAILARK_RETURN_IF_ERROR(checkKeys(*server, "server", {"host", "port", "ca_file", "timeout_seconds"}));
  ServerConfig& s = c_.apps.front().server;
  MAILARK_RETURN_IF_ERROR(getString(*server, "server", "host", &s.host));
  MAILARK_RETURN_IF_ERROR(getString(*server, "server", "ca_file", &s.ca_file));
  s.ca_file = resolve(s.ca_file);
  if (const toml::node* n = server->get("port")) {
    auto v = n->value<int64_t>();
    if (!v || *v < 1 || *v > 65535) return error("[server] port must be a number from 1 to 65535");
    s.port = static_cast<uint16_t>(*v);
  }
  if (const toml::node* n = server->get("timeout_seconds")) {
    auto v = n->value<int64_t>();
    if (!v || *v < 1 || *v > 3600) return error("[server] timeout_seconds must be from 1 to 3600");
    s.timeout_seconds = static_cast<uint32_t>(*v);
  }
  if (s.host.empty()) return error("[server] host must not be empty");
  if (!s.ca_file.empty() && !fs::exists(s.ca_file)) return error("[server] ca_file " + s.ca_file + " does not exist");
  return Status::ok();
}

Status Loader::addMailbox(std::string address, const std::string& where) {
  while (!address.empty() && (address.back() == ' ' || address.back() == '\t' || address.back() == '\r')) address.pop_back();
  size_t start = address.find_first_not_of(" \t");
  address = start == std::string::npos ? "" : address.substr(start);
  if (address.empty()) return Status::ok();
  size_t at = address.find('@');
  bool bad = at == std::string::npos || at == 0 || at + 1 == address.size();
  for (unsigned char ch : address)
    if (ch <= ' ' || ch == 0x7f || ch == '"') bad = true;
  if (bad) return error("mailbox \"" + address + "\" (" + where + ") is not an e-mail address");
  if (seen_.insert(address).second) c_.apps.front().mailboxes.push_back({std::move(address), Protocol::Imap});
  return Status::ok();
}

Status Loader::loadMailboxes(const toml::table& root) {
  const toml::table* mb = root["mailboxes"].as_table();
  if (mb != nullptr) {
    MAILARK_RETURN_IF_ERROR(checkKeys(*mb, "mailboxes", {"list", "file"}));
    if (const toml::node* n = mb->get("list")) {
      const toml::array* list = n->as_array();
      if (list == nullptr) return error("[mailboxes] list must be an array of addresses");
      for (const toml::node& item : *list) {
        if (!item.is_string()) return error("[mailboxes] list must contain only strings");
        MAILARK_RETURN_IF_ERROR(addMailbox(item.as_string()->get(), "[mailboxes] list"));
      }
    }
    std::string file;
    MAILARK_RETURN_IF_ERROR(getString(*mb, "mailboxes", "file", &file));
    if (!file.empty()) {
      file = resolve(file);
      std::ifstream in(file);
      if (!in) return error("[mailboxes] file " + file + " cannot be read");
      std::string line;
      for (int n = 1; std::getline(in, line); ++n) {
        size_t hash = line.find('#');
        if (hash != std::string::npos) line.resize(hash);
        MAILARK_RETURN_IF_ERROR(addMailbox(line, file + " line " + std::to_string(n)));
      }
    }
  }
  if (c_.apps.front().mailboxes.empty() && need_ == SecretNeed::Load)
    return error("no mailboxes configured: add [mailboxes] list = [\"a@contoso.com\"] or [mailboxes] file");
  return Status::ok();
}

Result<Config> Loader::load() {
  c_.file = path_;
  c_.apps.emplace_back();
  // Debian's toml++ is built with exceptions; they stay inside this function.
  toml::table root;
  try {
    root = toml::parse_file(path_);
  } catch (const toml::parse_error& e) {
    if (!fs::exists(path_)) return error("cannot read the config file (does it exist?)");
    return error("line " + std::to_string(e.source().begin.line) + ": " + std::string(e.description()));
  }
  MAILARK_RETURN_IF_ERROR(checkKeys(root, "", {"app", "server", "archive", "mailboxes", "limits"}));
  MAILARK_RETURN_IF_ERROR(loadApp(root));
  MAILARK_RETURN_IF_ERROR(loadServer(root));
  const toml::table* archive = root["archive"].as_table();
  if (archive == nullptr) return error("missing [archive] section with path = \"/var/lib/mailark\"");
  MAILARK_RETURN_IF_ERROR(checkKeys(*archive, "archive", {"path"}));
  MAILARK_RETURN_IF_ERROR(getString(*archive, "archive", "path", &c_.archive.path));
  if (c_.archive.path.empty()) return error("[archive] path is required");
  c_.archive.path = resolve(c_.archive.path);
  if (const toml::table* limits = root["limits"].as_table()) {
    MAILARK_RETURN_IF_ERROR(checkKeys(*limits, "limits", {"connections"}));
    if (const toml::node* n = limits->get("connections")) {
      auto v = n->value<int64_t>();
      if (!v || *v < 1 || *v > 1000) return error("[limits] connections must be from 1 to 1000");
      c_.limits.connections = static_cast<uint32_t>(*v);
    }
  }
  MAILARK_RETURN_IF_ERROR(loadMailboxes(root));
  return std::move(c_);
}

}  // namespace

Result<Config> loadConfig(const std::string& path, SecretNeed need) { return Loader(path, need).load(); }

std::vector<std::string> Config::allMailboxes() const {
  std::vector<std::string> out;
  for (const AppConfig& app : apps)
    for (const MailboxSpec& m : app.mailboxes) out.push_back(m.address);
  return out;
}

}  // namespace mailark::config

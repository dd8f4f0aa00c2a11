#include "src/config/config.h"

#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include <toml++/toml.h>

#include "src/auth/cloud.h"
#include "src/config/compat_login.h"

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
  Status loadApps(const toml::table& root, const toml::array& apps);
  Status loadAppKeys(const toml::table& app, const char* section);
  Status applyCloud(const toml::table& app, bool host_set);
  Status checkPrivateFile(const std::string& file, const char* key);
  Status loadServer(const toml::table& root);
  Status loadMailboxes(const toml::table& root);
  Status loadLimits(const toml::table& root);
  Status loadImap(const toml::table& root);
  Status getNumber(const toml::table& t, const char* section, const char* key, int64_t min, int64_t max,
                   uint32_t* out) const;
  Status loadSecret();
  Status addMailbox(std::string address, const std::string& where, Protocol protocol = Protocol::Imap);
  Status resolveCompatLogins();
  Status checkAppIds();

  std::string path_;
  SecretNeed need_;
  fs::path base_;
  Config c_;
  std::set<std::string> seen_;
  AppConfig* app_ = nullptr;  // the app being loaded
  std::map<std::string, std::string> owner_;  // mailbox -> name of the app that lists it
  bool strict_permissions_ = false;  // the current app's strict_permissions
  // "mailbox@clientID@tenantID" entries (src/config/compat_login.h), placed
  // into apps once every app is loaded.
  struct PendingCompat {
    CompatLogin login;
    size_t app_index = 0;  // the app whose list held it (its credentials are used)
    Protocol protocol = Protocol::Imap;
    std::string where;
  };
  std::vector<PendingCompat> compat_;
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
  MAILARK_RETURN_IF_ERROR(checkKeys(*app, "app", {"tenant", "client_id", "client_secret_file", "client_secret_env",
                                                  "authority", "scope", "cloud", "certificate_file", "private_key_file",
                                                  "assertion_alg", "strict_permissions", "client_secret"}));
  app_ = &c_.apps.front();
  return loadAppKeys(*app, "app");
}

// The credential and endpoint keys shared by [app] and each [[app]].
Status Loader::loadAppKeys(const toml::table& app, const char* section) {
  const std::string sec = std::string("[") + section + "] ";
  if (app.contains("client_secret")) {
    return error(sec + "client_secret is not allowed: secrets never go into config files; put the secret in a "
                 "file readable only by mailark (client_secret_file) or an environment variable (client_secret_env)");
  }
  AppConfig& a = *app_;
  MAILARK_RETURN_IF_ERROR(getString(app, section, "tenant", &a.tenant));
  MAILARK_RETURN_IF_ERROR(getString(app, section, "client_id", &a.client_id));
  MAILARK_RETURN_IF_ERROR(getString(app, section, "client_secret_file", &a.client_secret_file));
  MAILARK_RETURN_IF_ERROR(getString(app, section, "client_secret_env", &a.client_secret_env));
  MAILARK_RETURN_IF_ERROR(getString(app, section, "certificate_file", &a.certificate_file));
  MAILARK_RETURN_IF_ERROR(getString(app, section, "private_key_file", &a.private_key_file));
  MAILARK_RETURN_IF_ERROR(getString(app, section, "assertion_alg", &a.assertion_alg));
  MAILARK_RETURN_IF_ERROR(getString(app, section, "cloud", &a.cloud));
  Result<auth::CloudEndpoints> cloud = auth::cloudEndpoints(a.cloud);
  if (!cloud) return error(sec + cloud.status().message());
  // The cloud picks the token host and scope; explicit keys override it.
  a.authority = cloud->authority;
  a.scope = cloud->scope();
  MAILARK_RETURN_IF_ERROR(getString(app, section, "authority", &a.authority));
  MAILARK_RETURN_IF_ERROR(getString(app, section, "scope", &a.scope));
  strict_permissions_ = false;
  if (const toml::node* n = app.get("strict_permissions")) {
    if (!n->is_boolean()) return error(sec + "strict_permissions must be true or false");
    strict_permissions_ = n->as_boolean()->get();
  }
  if (a.assertion_alg != "PS256" && a.assertion_alg != "RS256")
    return error(sec + "assertion_alg must be \"PS256\" (default) or \"RS256\"");
  a.client_secret_file = resolve(a.client_secret_file);
  a.certificate_file = resolve(a.certificate_file);
  a.private_key_file = resolve(a.private_key_file);
  while (!a.authority.empty() && a.authority.back() == '/') a.authority.pop_back();
  if (need_ == SecretNeed::Skip) return Status::ok();
  // An empty tenant or client_id is checked in checkAppIds(), once the
  // mailbox list is known: "mailbox@clientID@tenantID" entries supply them.
  if (a.tenant == "common" || a.tenant == "organizations" || a.tenant == "consumers")
    return error(sec + "tenant \"" + a.tenant + "\" cannot be used with app-only tokens: give the tenant GUID or domain");
  if (a.authority.rfind("https://", 0) != 0) return error(sec + "authority must be an https:// URL");
  bool has_cert = !a.certificate_file.empty() || !a.private_key_file.empty();
  if (has_cert) {
    if (a.certificate_file.empty() || a.private_key_file.empty())
      return error(sec + "certificate credentials need both certificate_file and private_key_file");
    if (!a.client_secret_file.empty() || !a.client_secret_env.empty())
      return error(sec + "set either a client secret or certificate_file/private_key_file, not both");
    if (!fs::exists(a.certificate_file)) return error(sec + "certificate_file " + a.certificate_file + " does not exist");
    return checkPrivateFile(a.private_key_file, "private_key_file");
  }
  return loadSecret();
}

// A file holding a credential must not be readable by other users: a warning
// by default, an error with strict_permissions = true.
Status Loader::checkPrivateFile(const std::string& file, const char* key) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0)
    return error(std::string(key) + " " + file + " cannot be read: " + std::strerror(errno));
  if (!(st.st_mode & S_IROTH)) return Status::ok();
  std::string what = std::string(key) + " " + file + " is readable by other users: chmod 600 it";
  if (strict_permissions_) return error(what + " (refused because strict_permissions = true)");
  c_.warnings.push_back(what);
  return Status::ok();
}

// The [[app]] form: one table per app registration, each with its own
// credentials, optional [app.server] overrides (defaults: the top-level
// [server]) and its own [app.mailboxes].
Status Loader::loadApps(const toml::table& root, const toml::array& apps) {
  if (root.contains("mailboxes"))
    return error("[mailboxes] cannot be used with [[app]]: list each app's mailboxes in its own [app.mailboxes]");
  if (apps.empty()) return error("[[app]] is empty");
  ServerConfig shared = c_.apps.front().server;  // the top-level [server], loaded already
  c_.apps.clear();
  c_.apps.reserve(apps.size());
  std::set<std::string> names;
  for (const toml::node& node : apps) {
    const toml::table* t = node.as_table();
    if (t == nullptr) return error("app must be an array of tables ([[app]])");
    MAILARK_RETURN_IF_ERROR(checkKeys(*t, "[app]", {"name", "tenant", "client_id", "client_secret_file",
                                                    "client_secret_env", "authority", "scope", "cloud",
                                                    "certificate_file", "private_key_file", "assertion_alg",
                                                    "strict_permissions", "client_secret", "server", "mailboxes"}));
    c_.apps.emplace_back();
    app_ = &c_.apps.back();
    app_->server = shared;
    MAILARK_RETURN_IF_ERROR(getString(*t, "[app]", "name", &app_->name));
    if (!t->contains("name") || app_->name.empty())
      return error("[[app]] number " + std::to_string(c_.apps.size()) + " needs a name = \"...\" (used by --app)");
    if (!names.insert(app_->name).second) return error("[[app]] name \"" + app_->name + "\" is used twice");
    std::string section = "[app] " + app_->name;
    MAILARK_RETURN_IF_ERROR(loadAppKeys(*t, section.c_str()));
    MAILARK_RETURN_IF_ERROR(loadServer(*t).withContext("in [[app]] " + app_->name));
    bool host_set = t->contains("server") && (*t)["server"].as_table() && (*t)["server"].as_table()->contains("host");
    if (const toml::table* top = root["server"].as_table()) host_set = host_set || top->contains("host");
    MAILARK_RETURN_IF_ERROR(applyCloud(*t, host_set));
    MAILARK_RETURN_IF_ERROR(loadMailboxes(*t).withContext("in [[app]] " + app_->name));
  }
  return Status::ok();
}

// Without an explicit host the cloud picks the IMAP/POP host.
Status Loader::applyCloud(const toml::table&, bool host_set) {
  if (host_set) return Status::ok();
  Result<auth::CloudEndpoints> cloud = auth::cloudEndpoints(app_->cloud);
  if (!cloud) return error(cloud.status().message());
  app_->server.host = cloud->mail_host;
  return Status::ok();
}

Status Loader::loadSecret() {
  AppConfig& a = *app_;
  if (!a.client_secret_file.empty() && !a.client_secret_env.empty())
    return error("[app] set client_secret_file or client_secret_env, not both");
  if (!a.client_secret_env.empty()) {
    // A value that is no variable name is most likely the secret itself,
    // pasted into the wrong key: refuse it without echoing it.
    bool name_ok = !std::isdigit(static_cast<unsigned char>(a.client_secret_env[0]));
    for (unsigned char ch : a.client_secret_env) name_ok = name_ok && (std::isalnum(ch) || ch == '_');
    if (!name_ok)
      return error("[app] client_secret_env must be the NAME of an environment variable (letters, digits, _), "
                   "not the secret itself");
    const char* v = std::getenv(a.client_secret_env.c_str());
    if (v == nullptr || *v == '\0')
      return error("[app] client_secret_env names " + a.client_secret_env + ", but that environment variable is not set");
    a.client_secret = v;
    return Status::ok();
  }
  if (a.client_secret_file.empty())
    return error("[app] client_secret_file or client_secret_env is required");
  MAILARK_RETURN_IF_ERROR(checkPrivateFile(a.client_secret_file, "client_secret_file"));
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
  MAILARK_RETURN_IF_ERROR(checkKeys(*server, "server", {"host", "port", "pop3_port", "ca_file", "timeout_seconds"}));
  ServerConfig& s = app_->server;
  MAILARK_RETURN_IF_ERROR(getString(*server, "server", "host", &s.host));
  MAILARK_RETURN_IF_ERROR(getString(*server, "server", "ca_file", &s.ca_file));
  s.ca_file = resolve(s.ca_file);
  if (const toml::node* n = server->get("port")) {
    auto v = n->value<int64_t>();
    if (!v || *v < 1 || *v > 65535) return error("[server] port must be a number from 1 to 65535");
    s.port = static_cast<uint16_t>(*v);
  }
  if (const toml::node* n = server->get("pop3_port")) {
    auto v = n->value<int64_t>();
    if (!v || *v < 1 || *v > 65535) return error("[server] pop3_port must be a number from 1 to 65535");
    s.pop3_port = static_cast<uint16_t>(*v);
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

Status Loader::getNumber(const toml::table& t, const char* section, const char* key, int64_t min, int64_t max,
                         uint32_t* out) const {
  const toml::node* n = t.get(key);
  if (n == nullptr) return Status::ok();
  auto v = n->value<int64_t>();
  if (!n->is_integer() || !v || *v < min || *v > max)
    return error(std::string("[") + section + "] " + key + " must be a whole number from " + std::to_string(min) +
                 " to " + std::to_string(max));
  *out = static_cast<uint32_t>(*v);
  return Status::ok();
}

Status Loader::loadLimits(const toml::table& root) {
  const toml::table* limits = root["limits"].as_table();
  if (limits == nullptr) return Status::ok();
  MAILARK_RETURN_IF_ERROR(checkKeys(*limits, "limits",
                                    {"connections", "connections_per_mailbox", "allow_many_connections_per_mailbox"}));
  LimitsConfig& c = c_.limits;
  MAILARK_RETURN_IF_ERROR(getNumber(*limits, "limits", "connections", 1, 1000, &c.connections));
  MAILARK_RETURN_IF_ERROR(getNumber(*limits, "limits", "connections_per_mailbox", 1, 16, &c.connections_per_mailbox));
  if (const toml::node* n = limits->get("allow_many_connections_per_mailbox")) {
    if (!n->is_boolean()) return error("[limits] allow_many_connections_per_mailbox must be true or false");
    c.allow_many_connections_per_mailbox = n->as_boolean()->get();
  }
  if (c.connections_per_mailbox > 4) {
    if (!c.allow_many_connections_per_mailbox) {
      return error("[limits] connections_per_mailbox = " + std::to_string(c.connections_per_mailbox) +
                   " is above 4: Exchange Online allows about 16-20 connections per mailbox, shared with every "
                   "other client of that mailbox; set allow_many_connections_per_mailbox = true to use it anyway");
    }
    c_.warnings.push_back("[limits] connections_per_mailbox = " + std::to_string(c.connections_per_mailbox) +
                          ": more than 4 connections per mailbox may exhaust Exchange Online's per-mailbox limit "
                          "(~16-20, shared with users' own clients)");
  }
  return Status::ok();
}

Status Loader::loadImap(const toml::table& root) {
  const toml::table* imap = root["imap"].as_table();
  if (imap == nullptr) return Status::ok();
  MAILARK_RETURN_IF_ERROR(
      checkKeys(*imap, "imap",
                {"include_non_mail_folders", "pipeline_depth", "max_line_kb", "max_message_mb", "batch_messages",
                 "split_message_mb"}));
  ImapConfig& c = c_.imap;
  if (const toml::node* n = imap->get("include_non_mail_folders")) {
    if (!n->is_boolean()) return error("[imap] include_non_mail_folders must be true or false");
    c.include_non_mail_folders = n->as_boolean()->get();
  }
  MAILARK_RETURN_IF_ERROR(getNumber(*imap, "imap", "pipeline_depth", 1, 16, &c.pipeline_depth));
  MAILARK_RETURN_IF_ERROR(getNumber(*imap, "imap", "max_line_kb", 64, 65536, &c.max_line_kb));
  MAILARK_RETURN_IF_ERROR(getNumber(*imap, "imap", "max_message_mb", 1, 4096, &c.max_message_mb));
  MAILARK_RETURN_IF_ERROR(getNumber(*imap, "imap", "batch_messages", 1, 10000, &c.batch_messages));
  MAILARK_RETURN_IF_ERROR(getNumber(*imap, "imap", "split_message_mb", 0, 4096, &c.split_message_mb));
  return Status::ok();
}

Status Loader::addMailbox(std::string address, const std::string& where, Protocol protocol) {
  while (!address.empty() && (address.back() == ' ' || address.back() == '\t' || address.back() == '\r')) address.pop_back();
  size_t start = address.find_first_not_of(" \t");
  address = start == std::string::npos ? "" : address.substr(start);
  if (address.empty()) return Status::ok();
  if (std::optional<CompatLogin> compat = parseCompatLogin(address)) {
    compat_.push_back({std::move(*compat), static_cast<size_t>(app_ - c_.apps.data()), protocol, where});
    return Status::ok();
  }
  size_t at = address.find('@');
  bool bad = at == std::string::npos || at == 0 || at + 1 == address.size();
  for (unsigned char ch : address)
    if (ch <= ' ' || ch == 0x7f || ch == '"') bad = true;
  if (bad) return error("mailbox \"" + address + "\" (" + where + ") is not an e-mail address");
  if (seen_.insert(address).second) {
    owner_[address] = app_->name;
    app_->mailboxes.push_back({std::move(address), protocol});
    return Status::ok();
  }
  if (owner_[address] != app_->name)
    return error("mailbox \"" + address + "\" (" + where + ") is listed under both [[app]] " + owner_[address] +
                 " and " + app_->name + ": each mailbox belongs to one app");
  for (const MailboxSpec& m : app_->mailboxes) {
    if (m.address == address && m.protocol != protocol)
      return error("mailbox \"" + address + "\" (" + where + ") is listed for both IMAP and POP3: archive it over one");
  }
  return Status::ok();
}

bool equalNoCase(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

// Each "mailbox@clientID@tenantID" goes to the app with that client and
// tenant; without one, to a new app that copies the credentials (secret
// file/env or certificate), server and endpoints of the app that listed it.
// An app left with no ids and no mailboxes only carried credentials and is
// dropped.
Status Loader::resolveCompatLogins() {
  if (compat_.empty()) return Status::ok();
  for (const PendingCompat& p : compat_) {
    size_t target = c_.apps.size();
    for (size_t i = 0; i < c_.apps.size(); ++i) {
      if (equalNoCase(c_.apps[i].client_id, p.login.client_id) && equalNoCase(c_.apps[i].tenant, p.login.tenant)) {
        target = i;
        break;
      }
    }
    if (target == c_.apps.size()) {
      AppConfig derived = c_.apps[p.app_index];
      derived.name = p.login.client_id + "@" + p.login.tenant;
      derived.client_id = p.login.client_id;
      derived.tenant = p.login.tenant;
      derived.mailboxes.clear();
      c_.apps.push_back(std::move(derived));
    }
    app_ = &c_.apps[target];
    MAILARK_RETURN_IF_ERROR(addMailbox(p.login.mailbox, p.where, p.protocol));
  }
  std::vector<AppConfig> kept;
  for (AppConfig& a : c_.apps)
    if (!(a.mailboxes.empty() && a.client_id.empty() && a.tenant.empty())) kept.push_back(std::move(a));
  c_.apps = std::move(kept);
  app_ = c_.apps.empty() ? nullptr : &c_.apps.front();
  return Status::ok();
}

Status Loader::checkAppIds() {
  if (need_ == SecretNeed::Skip) return Status::ok();
  for (const AppConfig& a : c_.apps) {
    std::string sec = c_.apps.size() == 1 && a.name == "default" ? "[app] " : "[app] " + a.name + " ";
    if (a.tenant.empty())
      return error(sec + "tenant is required (the tenant GUID or a domain such as contoso.onmicrosoft.com)");
    if (a.client_id.empty())
      return error(sec + "client_id is required (the app registration's Application (client) ID)");
  }
  return Status::ok();
}

Status Loader::loadMailboxes(const toml::table& root) {
  const toml::table* mb = root["mailboxes"].as_table();
  if (mb != nullptr) {
    MAILARK_RETURN_IF_ERROR(checkKeys(*mb, "mailboxes", {"list", "file", "protocol", "pop3"}));
    // `protocol` applies to `list` and `file`; `pop3` lists POP3 mailboxes
    // beside them, so one config can mix the two.
    Protocol protocol = Protocol::Imap;
    std::string protocol_name;
    MAILARK_RETURN_IF_ERROR(getString(*mb, "mailboxes", "protocol", &protocol_name));
    if (protocol_name == "pop3") {
      protocol = Protocol::Pop3;
    } else if (!protocol_name.empty() && protocol_name != "imap") {
      return error("[mailboxes] protocol must be \"imap\" or \"pop3\"");
    }
    if (const toml::node* n = mb->get("pop3")) {
      const toml::array* list = n->as_array();
      if (list == nullptr) return error("[mailboxes] pop3 must be an array of addresses");
      for (const toml::node& item : *list) {
        if (!item.is_string()) return error("[mailboxes] pop3 must contain only strings");
        MAILARK_RETURN_IF_ERROR(addMailbox(item.as_string()->get(), "[mailboxes] pop3", Protocol::Pop3));
      }
    }
    if (const toml::node* n = mb->get("list")) {
      const toml::array* list = n->as_array();
      if (list == nullptr) return error("[mailboxes] list must be an array of addresses");
      for (const toml::node& item : *list) {
        if (!item.is_string()) return error("[mailboxes] list must contain only strings");
        MAILARK_RETURN_IF_ERROR(addMailbox(item.as_string()->get(), "[mailboxes] list", protocol));
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
        MAILARK_RETURN_IF_ERROR(addMailbox(line, file + " line " + std::to_string(n), protocol));
      }
    }
  }
  bool has_compat = false;
  for (const PendingCompat& p : compat_) has_compat = has_compat || p.app_index == static_cast<size_t>(app_ - c_.apps.data());
  if (app_->mailboxes.empty() && !has_compat && need_ == SecretNeed::Load)
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
  MAILARK_RETURN_IF_ERROR(checkKeys(root, "", {"app", "server", "archive", "mailboxes", "limits", "imap"}));
  app_ = &c_.apps.front();
  const toml::array* app_array = root["app"].as_array();
  if (app_array == nullptr) MAILARK_RETURN_IF_ERROR(loadApp(root));
  MAILARK_RETURN_IF_ERROR(loadServer(root));
  if (app_array == nullptr) {
    const toml::table* app = root["app"].as_table();
    const toml::table* server = root["server"].as_table();
    MAILARK_RETURN_IF_ERROR(applyCloud(app ? *app : root, server != nullptr && server->contains("host")));
  }
  const toml::table* archive = root["archive"].as_table();
  if (archive == nullptr) return error("missing [archive] section with path = \"/var/lib/mailark\"");
  MAILARK_RETURN_IF_ERROR(checkKeys(*archive, "archive", {"path", "compression", "pack_size_mb", "store_threads", "small_message_group"}));
  MAILARK_RETURN_IF_ERROR(getString(*archive, "archive", "path", &c_.archive.path));
  MAILARK_RETURN_IF_ERROR(getString(*archive, "archive", "compression", &c_.archive.compression));
  if (c_.archive.compression != "zstd" && c_.archive.compression != "none")
    return error("[archive] compression must be \"zstd\" or \"none\", not \"" + c_.archive.compression + "\"");
  MAILARK_RETURN_IF_ERROR(getNumber(*archive, "archive", "pack_size_mb", 1, 1 << 20, &c_.archive.pack_size_mb));
  uint32_t store_threads = 0;
  if (archive->get("store_threads") != nullptr) {
    MAILARK_RETURN_IF_ERROR(getNumber(*archive, "archive", "store_threads", 0, 64, &store_threads));
    c_.archive.store_threads = static_cast<int32_t>(store_threads);
  }
  if (archive->get("small_message_group") != nullptr) {
    MAILARK_RETURN_IF_ERROR(
        getNumber(*archive, "archive", "small_message_group", 0, 1024, &c_.archive.small_message_group));
    if (c_.archive.small_message_group > 0 && c_.archive.store_threads == 0)
      return error("[archive] small_message_group needs store threads, but store_threads = 0 stores everything "
                   "on the loop thread; remove one of the two");
  }
  if (c_.archive.path.empty()) return error("[archive] path is required");
  c_.archive.path = resolve(c_.archive.path);
  MAILARK_RETURN_IF_ERROR(loadLimits(root));
  MAILARK_RETURN_IF_ERROR(loadImap(root));
  if (app_array != nullptr) {
    MAILARK_RETURN_IF_ERROR(loadApps(root, *app_array));
  } else {
    MAILARK_RETURN_IF_ERROR(loadMailboxes(root));
  }
  MAILARK_RETURN_IF_ERROR(resolveCompatLogins());
  MAILARK_RETURN_IF_ERROR(checkAppIds());
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

// Starts tests/testbed/testbed.py (fake Entra ID token endpoint over HTTPS
// with a throw-away CA) in a temp dir for the auth tests, and talks to its
// test-only endpoints (/_stats, /_config) with blocking curl calls.
#pragma once

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <curl/curl.h>
#include <gtest/gtest.h>
#include <simdjson.h>

namespace mailark::auth::authtest {

inline std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

class AuthTestbed {
 public:
  std::string dir;
  std::string authority;
  std::string tenant;     // the tenant's domain
  std::string tenant_id;  // the tenant's GUID
  std::string client_id;
  std::string secret;
  std::string noimap_client_id;
  std::string ca_file;
  std::string cert_client_id;  // the app that authenticates with a certificate
  std::string cert_certificate_file;
  std::string cert_private_key_file;
  std::string cert_wrong_key_file;
  std::string cert_wrong_certificate_file;

  // Returns null (and records a failure) when the bed cannot start.
  static std::unique_ptr<AuthTestbed> start() {
    char tmpl[] = "/tmp/mailark-auth-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) {
      ADD_FAILURE() << "mkdtemp failed";
      return nullptr;
    }
    auto bed = std::make_unique<AuthTestbed>();
    bed->dir = tmpl;
    std::string cmd = "/usr/bin/python3 " + script() + " up --dir " + bed->dir +
                      " --no-seed --mailboxes 1 > " + bed->dir + "/up.log 2>&1";
    if (std::system(cmd.c_str()) != 0) {
      ADD_FAILURE() << "testbed up failed:\n" << readFile(bed->dir + "/up.log");
      return nullptr;
    }
    if (!bed->loadInfo()) return nullptr;
    return bed;
  }

  ~AuthTestbed() {
    std::string cmd = "/usr/bin/python3 " + script() + " down --dir " + dir + " > /dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) ADD_FAILURE() << "testbed down failed";
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

  // Blocking HTTPS call to the fake endpoint; returns the body, "" on error.
  std::string call(const std::string& path, const std::string* post_body = nullptr) const {
    CURL* e = curl_easy_init();
    std::string out;
    std::string url = authority + path;
    curl_easy_setopt(e, CURLOPT_URL, url.c_str());
    curl_easy_setopt(e, CURLOPT_CAINFO, ca_file.c_str());
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT, 20L);
    if (post_body != nullptr) curl_easy_setopt(e, CURLOPT_POSTFIELDS, post_body->c_str());
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, +[](char* p, size_t s, size_t n, void* u) {
      static_cast<std::string*>(u)->append(p, s * n);
      return s * n;
    });
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &out);
    CURLcode rc = curl_easy_perform(e);
    curl_easy_cleanup(e);
    if (rc != CURLE_OK) ADD_FAILURE() << "testbed call " << path << ": " << curl_easy_strerror(rc);
    return out;
  }

  void configure(const std::string& json) const {
    std::string body = call("/_config", &json);
    EXPECT_NE(body.find("\"ok\""), std::string::npos) << body;
  }

  // token_requests counted by the fake endpoint since the last reset.
  int64_t tokenRequests() const { return statsInt("token_requests"); }

  // A counter from /_stats (-1 and a failure when absent).
  int64_t statsInt(const char* key) const {
    std::string body = call("/_stats");
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    int64_t n = -1;
    if (parser.parse(body).get(doc) || doc[key].get(n)) ADD_FAILURE() << "bad /_stats answer: " << body;
    return n;
  }

  // One entry per token request the endpoint saw, in arrival order.
  struct Seen {
    double time = 0;  // unix time, as the endpoint's clock read it
    std::string client_id;
    int64_t status = 0;
  };
  std::vector<Seen> requests() const {
    std::string body = call("/_stats");
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    simdjson::dom::array list;
    std::vector<Seen> out;
    if (parser.parse(body).get(doc) || doc["requests"].get(list)) {
      ADD_FAILURE() << "bad /_stats answer: " << body;
      return out;
    }
    for (simdjson::dom::element e : list) {
      Seen s;
      std::string_view cid;
      if (e.at(0).get(s.time) || e.at(1).get(cid) || e.at(2).get(s.status)) {
        ADD_FAILURE() << "bad requests entry in " << body;
        continue;
      }
      s.client_id = cid;
      out.push_back(s);
    }
    return out;
  }

 private:
  static std::string script() { return std::string(MAILARK_SOURCE_DIR) + "/tests/testbed/testbed.py"; }

  bool loadInfo() {
    std::string body = readFile(dir + "/testbed.json");
    simdjson::padded_string json(body);
    simdjson::ondemand::parser parser;
    simdjson::ondemand::document doc;
    simdjson::ondemand::object obj;
    if (parser.iterate(json).get(doc) || doc.get_object().get(obj)) {
      ADD_FAILURE() << "bad testbed.json";
      return false;
    }
    std::string secret_file;
    for (auto f : obj) {
      simdjson::ondemand::field field;
      std::string_view key, value;
      if (std::move(f).get(field) || field.unescaped_key().get(key)) return false;
      if (field.value().get_string().get(value)) continue;  // not a string field
      if (key == "authority") authority = value;
      else if (key == "tenant") tenant = value;
      else if (key == "tenant_id") tenant_id = value;
      else if (key == "client_id") client_id = value;
      else if (key == "noimap_client_id") noimap_client_id = value;
      else if (key == "secret_file") secret_file = value;
      else if (key == "ca_file") ca_file = value;
      else if (key == "cert_client_id") cert_client_id = value;
      else if (key == "cert_certificate_file") cert_certificate_file = value;
      else if (key == "cert_private_key_file") cert_private_key_file = value;
      else if (key == "cert_wrong_key_file") cert_wrong_key_file = value;
      else if (key == "cert_wrong_certificate_file") cert_wrong_certificate_file = value;
    }
    secret = trim(readFile(secret_file));
    if (authority.empty() || tenant.empty() || client_id.empty() || secret.empty() ||
        ca_file.empty()) {
      ADD_FAILURE() << "testbed.json lacks fields: " << body;
      return false;
    }
    return true;
  }
};

}  // namespace mailark::auth::authtest

#include "src/auth/jwt_claims.h"

#include <algorithm>

#include <simdjson.h>

#include "src/auth/json_fields.h"

namespace mailark::auth {

namespace {

namespace od = simdjson::ondemand;

int base64UrlValue(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

Status readString(od::value& v, std::string_view name, std::string& out) {
  return readJsonString(v, "token claim " + std::string(name), out);
}

// `aud` is a string in Microsoft's tokens but may be an array per RFC 7519.
Status readAudience(od::value& v, std::string& out) {
  od::json_type type;
  if (v.type().get(type)) return protocolError("token claim aud is not valid JSON");
  if (type == od::json_type::string) return readString(v, "aud", out);
  od::array arr;
  if (type != od::json_type::array || v.get_array().get(arr))
    return protocolError("token claim aud is neither a string nor an array");
  for (auto item : arr) {
    std::string_view sv;
    if (item.get_string().get(sv)) return protocolError("token claim aud holds a non-string");
    if (out.empty()) out.assign(sv);
  }
  return Status::ok();
}

Status readRoles(od::value& v, std::vector<std::string>& out) {
  od::array arr;
  if (v.get_array().get(arr)) return protocolError("token claim roles is not an array");
  for (auto item : arr) {
    std::string_view sv;
    if (item.get_string().get(sv)) return protocolError("token claim roles holds a non-string");
    out.emplace_back(sv);
  }
  return Status::ok();
}

Status readExp(od::value& v, int64_t& out) {
  od::number_type type;
  if (v.get_number_type().get(type)) return protocolError("token claim exp is not a number");
  if (type == od::number_type::floating_point_number) {
    double d = 0;
    if (v.get_double().get(d) || d < 0 || d > 1e12) return protocolError("token claim exp is out of range");
    out = static_cast<int64_t>(d);
    return Status::ok();
  }
  if (v.get_int64().get(out)) return protocolError("token claim exp is out of range");
  return Status::ok();
}

}  // namespace

bool JwtClaims::hasRole(std::string_view role) const {
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

Result<std::string> base64UrlDecode(std::string_view in) {
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  if (in.size() % 4 == 1) return protocolError("base64url text has an impossible length");
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = base64UrlValue(c);
    if (v < 0) return protocolError("base64url text holds a character outside A-Z a-z 0-9 - _");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

Result<JwtClaims> decodeJwtClaims(std::string_view token) {
  size_t first = token.find('.');
  size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos)
    return protocolError("the token is not a JWT (expected three dot-separated parts)");
  Result<std::string> payload = base64UrlDecode(token.substr(first + 1, second - first - 1));
  if (!payload) return payload.status().withContext("JWT payload");

  JwtClaims claims;
  Status st = forEachField(*payload, "JWT payload", [&](std::string_view key, od::value& v) -> Status {
    if (key == "aud") return readAudience(v, claims.aud);
    if (key == "iss") return readString(v, key, claims.iss);
    if (key == "appid") return readString(v, key, claims.appid);
    if (key == "azp") return readString(v, key, claims.azp);
    if (key == "oid") return readString(v, key, claims.oid);
    if (key == "tid") return readString(v, key, claims.tid);
    if (key == "idtyp") return readString(v, key, claims.idtyp);
    if (key == "roles") return readRoles(v, claims.roles);
    if (key == "exp") return readExp(v, claims.exp);
    return Status::ok();
  });
  MAILARK_RETURN_IF_ERROR(st);
  return claims;
}

}  // namespace mailark::auth

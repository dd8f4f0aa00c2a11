#include "src/auth/token_response.h"

#include <charconv>
#include <strings.h>

#include <simdjson.h>

#include "src/auth/json_fields.h"

namespace mailark::auth {

namespace {

namespace od = simdjson::ondemand;

// Microsoft issues tokens for 60-90 minutes; anything beyond a day is a
// broken or hostile answer, and would overflow nothing but still be wrong.
constexpr int64_t kMaxExpiresIn = 24 * 3600;

Result<int64_t> readExpiresIn(od::value& v) {
  od::json_type type;
  if (v.type().get(type)) return protocolError("token response: expires_in is not valid JSON");
  int64_t seconds = 0;
  if (type == od::json_type::number) {
    if (v.get_int64().get(seconds))
      return protocolError("token response: expires_in is not an integer");
  } else if (type == od::json_type::string) {
    std::string_view s;
    if (v.get_string().get(s)) return protocolError("token response: expires_in is not a string");
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), seconds);
    if (ec != std::errc() || end != s.data() + s.size() || s.empty())
      return protocolError("token response: expires_in is not a number of seconds");
  } else {
    return protocolError("token response: expires_in is neither a number nor a string");
  }
  if (seconds <= 0 || seconds > kMaxExpiresIn)
    return protocolError("token response: expires_in " + std::to_string(seconds) +
                         " is outside 1.." + std::to_string(kMaxExpiresIn) + " seconds");
  return seconds;
}

Status readErrorCodes(od::value& v, std::vector<int64_t>& out) {
  od::array codes;
  if (v.get_array().get(codes)) return protocolError("token error response: error_codes is not an array");
  for (auto code_result : codes) {
    int64_t code = 0;
    if (code_result.get_int64().get(code))
      return protocolError("token error response: error_codes holds a non-integer");
    out.push_back(code);
  }
  return Status::ok();
}

}  // namespace

Result<TokenResponse> parseTokenResponse(std::string_view body) {
  TokenResponse out;
  bool have_expires = false;
  Status st = forEachField(body, "token response", [&](std::string_view key, od::value& v) -> Status {
    if (key == "access_token") return readJsonString(v, "token response: access_token", out.access_token);
    if (key == "token_type") return readJsonString(v, "token response: token_type", out.token_type);
    if (key == "expires_in") {
      Result<int64_t> seconds = readExpiresIn(v);
      if (!seconds) return seconds.status();
      out.expires_in = *seconds;
      have_expires = true;
    }
    return Status::ok();
  });
  MAILARK_RETURN_IF_ERROR(st);
  if (out.access_token.empty()) return protocolError("token response has no access_token");
  if (!have_expires) return protocolError("token response has no expires_in");
  if (strcasecmp(out.token_type.c_str(), "Bearer") != 0)
    return protocolError("token response: token_type is \"" + out.token_type.substr(0, 32) +
                         "\", expected Bearer");
  return out;
}

Result<TokenErrorBody> parseTokenErrorBody(std::string_view body) {
  TokenErrorBody out;
  Status st = forEachField(body, "token error response", [&](std::string_view key, od::value& v) -> Status {
    if (key == "error") return readJsonString(v, "token error response: error", out.error);
    if (key == "error_description")
      return readJsonString(v, "token error response: error_description", out.error_description);
    if (key == "error_codes") return readErrorCodes(v, out.error_codes);
    return Status::ok();
  });
  MAILARK_RETURN_IF_ERROR(st);
  if (out.error.empty()) return protocolError("token error response has no error field");
  return out;
}

}  // namespace mailark::auth

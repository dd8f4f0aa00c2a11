// Parsers for the Microsoft identity platform's token endpoint answers.
//
// Pure functions: bytes in, values out; no I/O, no uv, no curl. Never throw
// (simdjson's error-code API only). Nothing parsed here is logged.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mailark/status.h"

namespace mailark::auth {

// A successful client-credentials answer:
// {"token_type":"Bearer","expires_in":3599,"access_token":"..."}.
struct TokenResponse {
  std::string access_token;  // never log it
  std::string token_type;
  int64_t expires_in = 0;  // seconds, > 0
};

// Parses a 200 body. `expires_in` may be a JSON number or a string of digits.
// Returns ProtocolError (naming the field, never quoting the token) when the
// body is not JSON, a field is missing or ill-typed, token_type is not Bearer
// or expires_in is not a positive number of seconds up to one day.
Result<TokenResponse> parseTokenResponse(std::string_view body);

// Microsoft's error answer: {"error":"invalid_client","error_description":
// "AADSTS7000215: ...","error_codes":[7000215],...}.
struct TokenErrorBody {
  std::string error;
  std::string error_description;
  std::vector<int64_t> error_codes;
};

// Parses an error body. Returns ProtocolError when the body is not a JSON
// object or has no "error" string (e.g. a plain-text 429 or an HTML page).
Result<TokenErrorBody> parseTokenErrorBody(std::string_view body);

}  // namespace mailark::auth

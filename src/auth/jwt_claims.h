// Reads the claims of a JWT access token without verifying it.
//
// For display and diagnosis only (`mailark token`, doctor): which audience,
// roles and app a token names. The signature is NOT checked; never make an
// access decision from these values. Pure: no I/O; never throws.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mailark/status.h"

namespace mailark::auth {

struct JwtClaims {
  std::string aud;    // first audience when the claim is an array
  std::string iss;
  std::string appid;  // v1 tokens; v2 tokens carry azp instead
  std::string azp;
  std::string oid;
  std::string tid;
  std::string idtyp;  // "app" for app-only tokens
  std::vector<std::string> roles;
  int64_t exp = 0;  // seconds since the epoch; 0 when absent

  bool hasRole(std::string_view role) const;
};

// Decodes the payload (second dot-separated part, base64url). Returns
// ProtocolError when the token has no three parts, the payload is not
// base64url or not a JSON object, or a listed claim has the wrong type.
Result<JwtClaims> decodeJwtClaims(std::string_view token);

// Base64url without padding (RFC 4648 section 5); '=' padding is tolerated.
// Returns ProtocolError on any other character or an impossible length.
Result<std::string> base64UrlDecode(std::string_view in);

}  // namespace mailark::auth

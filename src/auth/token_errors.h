// Turns token endpoint failures into one-line, actionable Status values.
//
// Every message says what failed and what to do, quotes the AADSTS code when
// Microsoft sent one, and never contains the client secret or a token (text
// echoed from the server is cut to one line, shortened, and has the secret
// redacted). Codes are chosen for retry logic:
//   AuthRejected  the identity platform refused the configuration (no retry)
//   Config        our own settings are unusable (bad ca_file, bad URL)
//   Tls           the endpoint's certificate could not be verified
//   Transient     network, timeouts, 429, 5xx, Microsoft's transient codes
//   ProtocolError the endpoint answered something that is not a token answer
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <curl/curl.h>

#include "mailark/status.h"

namespace mailark::auth {

// What the messages may mention. `client_secret` is used only to redact it.
struct TokenErrorContext {
  std::string_view authority;
  std::string_view tenant;
  std::string_view client_id;
  std::string_view scope;
  std::string_view client_secret;
  std::string_view ca_file;
  int64_t timeout_ms = 0;
};

// An HTTP answer other than 200 (or a 200 whose body was not a token).
// `retry_after` is the Retry-After header value, empty when absent.
Status tokenHttpError(long http_status, std::string_view body, std::string_view retry_after,
                      const TokenErrorContext& ctx);

// A transfer that produced no HTTP answer. `detail` is curl's error buffer.
Status tokenTransportError(CURLcode code, std::string_view detail, const TokenErrorContext& ctx);

}  // namespace mailark::auth

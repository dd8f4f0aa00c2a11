#include "src/auth/token_errors.h"

#include <algorithm>

#include "src/auth/token_response.h"
#include "src/base/log.h"

namespace mailark::auth {

namespace {

constexpr std::string_view kPrefix = "token request failed: ";
constexpr size_t kMaxEchoed = 200;

// Server-chosen text, made safe to put in a one-line message: first line
// only, printable ASCII, shortened, and the secret removed should a proxy or
// fake echo the request.
std::string echoed(std::string_view text, std::string_view secret) {
  text = text.substr(0, text.find_first_of("\r\n"));
  std::string out = log::redact(text, secret);
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  if (out.size() > kMaxEchoed) {
    out.resize(kMaxEchoed);
    out += "...";
  }
  return out;
}

// Microsoft's descriptions start with "AADSTS7000215: "; the code is quoted
// already, so drop it.
std::string_view withoutCodePrefix(std::string_view description) {
  if (description.substr(0, 6) != "AADSTS") return description;
  size_t colon = description.find(": ");
  if (colon == std::string_view::npos || colon > 16) return description;
  return description.substr(colon + 2);
}

bool isTransientAadCode(int64_t code) {
  switch (code) {
    case 50033:  // retry on connection
    case 90006:  // service unavailable
    case 90024:
    case 90033:  // temporarily unavailable
    case 90090:
    case 90055:  // tenant throttled: back off
    case 50196:  // loop detected: back off
      return true;
    default:
      return false;
  }
}

std::string s(std::string_view v) { return std::string(v); }

// The advice for each AADSTS code that means "your setup is wrong". Empty
// when we have none, in which case Microsoft's own first line is shown.
std::string hintFor(int64_t code, const TokenErrorContext& ctx) {
  switch (code) {
    case 7000215:
      return "invalid client secret: the secret is wrong — copy the secret's Value (not its "
             "Secret ID) from Entra ID > App registrations > Certificates & secrets";
    case 7000222:
      return "the client secret has expired: create a new one in Entra ID > App registrations "
             "> Certificates & secrets and put its Value in client_secret";
    case 700016:
      return "application " + s(ctx.client_id) + " not found in tenant " + s(ctx.tenant) +
             ": check client_id and tenant, and that the app is registered in this tenant";
    case 90002:
      return "tenant " + s(ctx.tenant) +
             " not found: check the tenant id/domain and the cloud (authority " +
             s(ctx.authority) + ")";
    case 9001023:
      return "tenant " + s(ctx.tenant) +
             " cannot be used for app-only tokens: set tenant to the tenant id or domain";
    case 500011:
      return "the resource of scope " + s(ctx.scope) + " has no service principal in tenant " +
             s(ctx.tenant) +
             ": grant admin consent for Office 365 Exchange Online permissions "
             "(IMAP.AccessAsApp / POP.AccessAsApp) and check tenant and scope";
    case 65001:
      return "admin consent missing: in Entra ID > App registrations > " + s(ctx.client_id) +
             " > API permissions, add IMAP.AccessAsApp / POP.AccessAsApp (Office 365 Exchange "
             "Online) and click \"Grant admin consent\"";
    case 70011:
    case 700022:
      return "invalid scope " + s(ctx.scope) +
             ": scope must be https://outlook.office365.com/.default (one resource, ending in "
             "/.default)";
    case 7000218:
      return "no client secret was sent: set client_secret";
    case 700027:
      return "client assertion signature invalid: the certificate registered for the app does "
             "not match the private key used; upload the right certificate";
    case 7000112:
      return "application " + s(ctx.client_id) + " is disabled in tenant " + s(ctx.tenant) +
             ": enable it (Entra ID > Enterprise applications > Properties)";
    case 53003:
      return "blocked by a Conditional Access policy: exclude this app's service principal "
             "from the policy";
    default:
      return {};
  }
}

std::string retryAfterNote(std::string_view retry_after, const TokenErrorContext& ctx) {
  if (retry_after.empty()) return {};
  return "; Retry-After: " + echoed(retry_after, ctx.client_secret);
}

Status fromErrorBody(long http_status, const TokenErrorBody& err, std::string_view retry_after,
                     const TokenErrorContext& ctx) {
  std::string head(kPrefix);
  int64_t code = err.error_codes.empty() ? 0 : err.error_codes.front();
  if (code != 0) head += "AADSTS" + std::to_string(code) + " ";
  head += echoed(err.error, ctx.client_secret);
  bool transient = http_status >= 500 || http_status == 429 ||
                   err.error == "temporarily_unavailable" ||
                   std::any_of(err.error_codes.begin(), err.error_codes.end(), isTransientAadCode);
  if (transient) {
    return transientError(head + " (HTTP " + std::to_string(http_status) +
                          "): the identity platform reports a temporary failure; retry later" +
                          retryAfterNote(retry_after, ctx));
  }
  std::string hint;
  for (int64_t c : err.error_codes) {
    hint = hintFor(c, ctx);
    if (!hint.empty()) break;
  }
  if (hint.empty()) {
    hint = echoed(withoutCodePrefix(err.error_description), ctx.client_secret);
    if (hint.empty()) hint = "HTTP " + std::to_string(http_status);
  }
  return authRejected(head + ": " + hint);
}

}  // namespace

Status tokenHttpError(long http_status, std::string_view body, std::string_view retry_after,
                      const TokenErrorContext& ctx) {
  std::string status_text = "HTTP " + std::to_string(http_status);
  Result<TokenErrorBody> err = parseTokenErrorBody(body);
  if (err) return fromErrorBody(http_status, *err, retry_after, ctx);
  // No JSON error: throttling proxies, load balancers and wrong URLs.
  if (http_status == 429) {
    return transientError(std::string(kPrefix) + "the token endpoint is throttling requests (" +
                          status_text + ")" + retryAfterNote(retry_after, ctx) +
                          "; wait and retry");
  }
  if (http_status >= 500) {
    return transientError(std::string(kPrefix) + "the token endpoint had a server error (" +
                          status_text + ")" + retryAfterNote(retry_after, ctx) + "; retry later");
  }
  if (http_status == 404 || (http_status >= 300 && http_status < 400)) {
    return configError(std::string(kPrefix) + "the token endpoint answered " + status_text +
                       " for " + s(ctx.authority) + "/" + s(ctx.tenant) +
                       "/oauth2/v2.0/token: check authority and tenant");
  }
  return protocolError(std::string(kPrefix) + "the token endpoint answered " + status_text +
                       " without a JSON error (authority " + s(ctx.authority) + ")");
}

Status tokenTransportError(CURLcode code, std::string_view detail, const TokenErrorContext& ctx) {
  std::string what = echoed(detail.empty() ? std::string_view(curl_easy_strerror(code)) : detail,
                            ctx.client_secret);
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return transientError(std::string(kPrefix) + "DNS lookup of the token endpoint failed (" +
                            what + "); check authority " + s(ctx.authority) + " and DNS");
    case CURLE_COULDNT_CONNECT:
      return transientError(std::string(kPrefix) +
                            "could not connect to the token endpoint (connection refused or "
                            "unreachable: " + what + ")");
    case CURLE_OPERATION_TIMEDOUT:
      return transientError(std::string(kPrefix) + "the token endpoint did not answer within " +
                            std::to_string(ctx.timeout_ms) + " ms (" + what + ")");
    case CURLE_PEER_FAILED_VERIFICATION:
      if (!ctx.ca_file.empty()) {
        return tlsError("token endpoint TLS verification failed: " + what + "; check that ca_file " +
                        s(ctx.ca_file) + " holds the CA that issued the endpoint's certificate");
      }
      return tlsError("token endpoint TLS verification failed: " + what +
                      "; if the endpoint uses a private CA set [server] ca_file");
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ISSUER_ERROR:
      return tlsError("token endpoint TLS handshake failed: " + what);
    case CURLE_SSL_CACERT_BADFILE:
      return configError(std::string(kPrefix) + "could not load the CA certificates " +
                         (ctx.ca_file.empty() ? std::string("(system bundle)")
                                              : "from ca_file " + s(ctx.ca_file)) +
                         ": " + what);
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
      return configError(std::string(kPrefix) + "authority " + s(ctx.authority) +
                         " is not a usable https URL (" + what + ")");
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
      return transientError(std::string(kPrefix) + "the connection to the token endpoint broke (" +
                            what + ")");
    default:
      return transientError(std::string(kPrefix) + curl_easy_strerror(code) + " (" + what + ")");
  }
}

}  // namespace mailark::auth

#include "src/cli/doctor_report.h"

#include "src/auth/cloud.h"
#include "src/base/json_escape.h"

namespace mailark::cli {

namespace {

std::string consentFix(const std::string& client_id, const char* role) {
  return std::string("in Entra ID > App registrations > ") + client_id +
         " > API permissions, add Office 365 Exchange Online > Application permissions > " + role +
         ", then click \"Grant admin consent\" (a new token carries it within minutes)";
}

const char* exchangeScope = "https://outlook.office365.com/.default";

}  // namespace

std::string stepTitle(const std::string& step) {
  if (step == "config") return "config";
  if (step == "token_host") return "token host (DNS/TCP/TLS)";
  if (step == "token") return "token request";
  if (step == "token_claims") return "token claims (aud, roles, idtyp)";
  if (step == "server_host") return "mail server (DNS/TCP/TLS)";
  if (step == "authenticate") return "AUTHENTICATE XOAUTH2";
  if (step == "mailbox_access") return "first command after login";
  if (step == "examine_inbox") return "EXAMINE INBOX";
  if (step == "stat") return "STAT";
  if (step == "skipped") return "not checked";
  return step;
}

DoctorCheck checkClaims(const std::string& subject, const auth::JwtClaims& claims, bool need_imap, bool need_pop,
                        const std::string& client_id, const std::string& scope) {
  DoctorCheck c{subject, "token_claims", false, "", ""};
  std::string roles;
  for (const std::string& r : claims.roles) roles += (roles.empty() ? "" : ",") + r;
  c.detail = "aud " + claims.aud + ", roles " + (roles.empty() ? "(none)" : roles) + ", idtyp " +
             (claims.idtyp.empty() ? "(absent)" : claims.idtyp);
  if (!auth::isExchangeAudience(claims.aud)) {
    c.cause = "wrong_audience";
    c.fix = "the token is for " + claims.aud + ", not Exchange Online (scope is " + scope + "); set scope = \"" +
            exchangeScope + "\" (or the national cloud's Exchange resource)";
    return c;
  }
  if (!claims.idtyp.empty() && claims.idtyp != "app") {
    c.cause = "not_app_only";
    c.fix = "the token is not app-only (idtyp " + claims.idtyp + "); mailark needs a client-credentials token of the app";
    return c;
  }
  if (need_imap && !claims.hasRole("IMAP.AccessAsApp")) {
    c.cause = "missing_role_imap";
    c.fix = "the token has no IMAP.AccessAsApp role: " + consentFix(client_id, "IMAP.AccessAsApp");
    return c;
  }
  if (need_pop && !claims.hasRole("POP.AccessAsApp")) {
    c.cause = "missing_role_pop";
    c.fix = "the token has no POP.AccessAsApp role: " + consentFix(client_id, "POP.AccessAsApp");
    return c;
  }
  c.ok = true;
  return c;
}

DoctorCheck diagnoseReach(const std::string& subject, const std::string& step, const std::string& host,
                          uint16_t port, const Status& status) {
  DoctorCheck c{subject, step, status.isOk(), status.isOk() ? host + ":" + std::to_string(port) : status.message(), ""};
  if (status.isOk()) return c;
  if (status.code() == StatusCode::Tls) {
    c.cause = "tls_untrusted";
    c.fix = "the certificate of " + host + " is not trusted (or does not name " + host +
            "): put its CA in the system trust store or name it with ca_file in [server]";
  } else {
    c.cause = "unreachable";
    c.fix = "cannot reach " + host + ":" + std::to_string(port) +
            ": check the host name and port in the config, DNS, and any firewall or proxy on the way";
  }
  return c;
}

DoctorCheck diagnoseProbe(const std::string& mailbox, bool pop3, const engine::ProbeOutcome& o, const std::string& aud,
                          const std::string& host, uint16_t port, bool token_works_elsewhere) {
  const char* proto = pop3 ? "POP" : "IMAP";
  std::string enable = pop3 ? "-PopEnabled $true" : "-ImapEnabled $true";
  switch (o.failed_at) {
    case engine::ProbeStep::Connect:
      return diagnoseReach(mailbox, "server_host", host, port, o.status);
    case engine::ProbeStep::Authenticate: {
      DoctorCheck c{mailbox, "authenticate", false, o.server_text.empty() ? o.status.message() : o.server_text, ""};
      std::string audience_hint =
          "the token's audience is " + aud + "; use scope = \"" + exchangeScope + "\" so that aud is https://outlook.office365.com";
      bool odd_audience = aud.find("outlook.office365.com") == std::string::npos;
      if (token_works_elsewhere) {
        c.cause = "unknown_mailbox";
        c.fix = "other mailboxes of this app log in with the same token, so the app is set up right: mailbox " +
                mailbox + " does not exist in Exchange Online (misspelled, deleted, or not a mailbox); check the "
                "address in the config";
        return c;
      }
      c.cause = odd_audience ? "wrong_audience" : "login_refused";
      c.fix = "the server refused the token for " + mailbox + ": " +
              (odd_audience ? "(1) wrong audience: " + audience_hint + "; (2) " : "(1) ") +
              "the service principal was registered with the App Registration's object id instead of the "
              "Enterprise Application's (New-ServicePrincipal -AppId <client id> -ObjectId <Enterprise Application "
              "object id>; `mailark admin-script` does it right); " +
              (odd_audience ? "(3)" : "(2)") + " the mailbox " + mailbox + " does not exist or is misspelled";
      return c;
    }
    case engine::ProbeStep::FirstCommand: {
      DoctorCheck c{mailbox, pop3 ? "stat" : "mailbox_access", false,
                    o.server_text.empty() ? o.status.message() : o.server_text, ""};
      if (o.not_connected || pop3) {
        c.cause = "not_connected";
        c.fix = std::string("logged in, but the app may not open ") + mailbox +
                ": grant it with Add-MailboxPermission -Identity " + mailbox +
                " -User <service principal object id> -AccessRights FullAccess, or " + proto +
                " is disabled for the mailbox: Set-CASMailbox -Identity " + mailbox + " " + enable +
                " (`mailark admin-script` prints both)";
      } else {
        c.cause = "refused";
        c.fix = "the server refused a plain command after login; run with -v and report the server text";
      }
      return c;
    }
    case engine::ProbeStep::Examine:
      return {mailbox, "examine_inbox", false, o.server_text.empty() ? o.status.message() : o.server_text,
              "the mailbox has no readable INBOX; check the mailbox in the Exchange admin center", "examine_refused"};
    case engine::ProbeStep::Done:
      return {mailbox, pop3 ? "stat" : "examine_inbox", true, std::to_string(o.messages) + " messages", ""};
  }
  return {mailbox, "skipped", false, "unknown probe step", ""};
}

std::string renderTable(const std::vector<DoctorCheck>& checks) {
  std::string out;
  std::string subject;
  for (const DoctorCheck& c : checks) {
    if (c.subject != subject) {
      subject = c.subject;
      out += (out.empty() ? "" : "\n") + subject + "\n";
    }
    out += std::string("  ") + (c.ok ? "\u2713 " : "\u2717 ") + stepTitle(c.step);
    if (!c.detail.empty()) out += ": " + c.detail;
    out += "\n";
    if (!c.ok && !c.fix.empty()) out += "      what to do: " + c.fix + "\n";
  }
  return out;
}

std::string renderJson(const std::vector<DoctorCheck>& checks) {
  bool ok = true;
  for (const DoctorCheck& c : checks) ok = ok && c.ok;
  std::string out = std::string("{\"ok\":") + (ok ? "true" : "false") + ",\"checks\":[";
  for (size_t i = 0; i < checks.size(); ++i) {
    const DoctorCheck& c = checks[i];
    out += i ? ",{" : "{";
    out += "\"subject\":";
    appendJsonString(out, c.subject);
    out += ",\"step\":";
    appendJsonString(out, c.step);
    out += std::string(",\"ok\":") + (c.ok ? "true" : "false") + ",\"detail\":";
    appendJsonString(out, c.detail);
    out += ",\"fix\":";
    appendJsonString(out, c.fix);
    out += ",\"cause\":";
    appendJsonString(out, c.cause);
    out += "}";
  }
  out += "]}\n";
  return out;
}

}  // namespace mailark::cli

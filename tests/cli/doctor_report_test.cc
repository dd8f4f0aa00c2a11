// Issue 8: each doctor diagnosis names its cause and the fix.
#include "src/cli/doctor_report.h"

#include <gtest/gtest.h>

namespace mailark::cli {
namespace {

auth::JwtClaims claims(std::string aud, std::vector<std::string> roles, std::string idtyp = "app") {
  auth::JwtClaims c;
  c.aud = std::move(aud);
  c.roles = std::move(roles);
  c.idtyp = std::move(idtyp);
  return c;
}

TEST(DoctorReportTest, ClaimsTable) {
  const std::string ex = "https://outlook.office365.com";
  struct Case {
    auth::JwtClaims claims;
    bool imap, pop;
    std::string cause;  // empty = ok
  } cases[] = {
      {claims(ex, {"IMAP.AccessAsApp"}), true, false, ""},
      {claims(ex, {"IMAP.AccessAsApp", "POP.AccessAsApp"}), true, true, ""},
      {claims(ex, {}), true, false, "missing_role_imap"},
      {claims(ex, {"IMAP.AccessAsApp"}), true, true, "missing_role_pop"},
      {claims(ex, {"POP.AccessAsApp"}), false, true, ""},
      {claims("https://graph.microsoft.com", {"IMAP.AccessAsApp"}), true, false, "wrong_audience"},
      {claims(ex, {"IMAP.AccessAsApp"}, "user"), true, false, "not_app_only"},
      {claims(ex, {"IMAP.AccessAsApp"}, ""), true, false, ""},  // v1 tokens may lack idtyp
  };
  for (const Case& c : cases) {
    DoctorCheck check = checkClaims("app a", c.claims, c.imap, c.pop, "client-1", "scope-1");
    EXPECT_EQ(check.ok, c.cause.empty()) << c.cause;
    EXPECT_EQ(check.cause, c.cause);
    EXPECT_EQ(check.step, "token_claims");
    EXPECT_EQ(check.fix.empty(), c.cause.empty()) << c.cause;
  }
  DoctorCheck role = checkClaims("app a", claims(ex, {}), true, false, "client-1", "s");
  EXPECT_NE(role.fix.find("client-1"), std::string::npos);
  EXPECT_NE(role.fix.find("Grant admin consent"), std::string::npos);
}

engine::ProbeOutcome outcome(engine::ProbeStep at, Status s, std::string text = "", bool not_connected = false) {
  engine::ProbeOutcome o;
  o.failed_at = at;
  o.status = std::move(s);
  o.server_text = std::move(text);
  o.not_connected = not_connected;
  return o;
}

TEST(DoctorReportTest, ProbeTable) {
  using engine::ProbeStep;
  const std::string ex = "https://outlook.office365.com";
  struct Case {
    engine::ProbeOutcome o;
    bool pop3;
    std::string aud;
    bool elsewhere;
    std::string step, cause, fix_has;
  } cases[] = {
      {outcome(ProbeStep::Connect, tlsError("certificate verify failed")), false, ex, false, "server_host",
       "tls_untrusted", "ca_file"},
      {outcome(ProbeStep::Connect, transientError("connection refused")), false, ex, false, "server_host",
       "unreachable", "port"},
      {outcome(ProbeStep::Authenticate, authRejected("x"), "NO AUTHENTICATE failed."), false, ex, false,
       "authenticate", "login_refused", "Enterprise Application"},
      {outcome(ProbeStep::Authenticate, authRejected("x"), "NO AUTHENTICATE failed."), false,
       "https://ps.outlook.com", false, "authenticate", "wrong_audience", "https://ps.outlook.com"},
      {outcome(ProbeStep::Authenticate, authRejected("x"), "NO AUTHENTICATE failed."), false, ex, true,
       "authenticate", "unknown_mailbox", "does not exist"},
      {outcome(ProbeStep::FirstCommand, authRejected("x"), "BAD User is authenticated but not connected.", true),
       false, ex, false, "mailbox_access", "not_connected", "-ImapEnabled $true"},
      {outcome(ProbeStep::FirstCommand, authRejected("x"), "-ERR not connected"), true, ex, false, "stat",
       "not_connected", "-PopEnabled $true"},
      {outcome(ProbeStep::FirstCommand, authRejected("x"), "BAD huh"), false, ex, false, "mailbox_access", "refused",
       "-v"},
      {outcome(ProbeStep::Examine, protocolError("x"), "NO no INBOX"), false, ex, false, "examine_inbox",
       "examine_refused", "INBOX"},
  };
  for (const Case& c : cases) {
    DoctorCheck check = diagnoseProbe("a@b.test", c.pop3, c.o, c.aud, "imap.test", 993, c.elsewhere);
    EXPECT_FALSE(check.ok) << c.cause;
    EXPECT_EQ(check.step, c.step) << c.cause;
    EXPECT_EQ(check.cause, c.cause);
    EXPECT_NE(check.fix.find(c.fix_has), std::string::npos) << c.cause << ": " << check.fix;
  }
  DoctorCheck done = diagnoseProbe("a@b.test", false, outcome(ProbeStep::Done, Status::ok()), ex, "h", 993, false);
  EXPECT_TRUE(done.ok);
  EXPECT_EQ(done.step, "examine_inbox");
}

TEST(DoctorReportTest, TableAndJson) {
  std::vector<DoctorCheck> checks = {
      {"app a", "token", true, "expires in 59 min", ""},
      {"x\"y@b.test", "authenticate", false, "NO \"quoted\"", "do this", "login_refused"},
  };
  std::string table = renderTable(checks);
  EXPECT_NE(table.find("\u2713 token request: expires in 59 min"), std::string::npos) << table;
  EXPECT_NE(table.find("\u2717 AUTHENTICATE XOAUTH2: NO \"quoted\"\n      what to do: do this"), std::string::npos)
      << table;
  std::string json = renderJson(checks);
  EXPECT_EQ(json.rfind("{\"ok\":false,", 0), 0u) << json;
  EXPECT_NE(json.find("\"subject\":\"x\\\"y@b.test\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"cause\":\"login_refused\""), std::string::npos) << json;
  EXPECT_EQ(renderJson({checks[0]}).rfind("{\"ok\":true,", 0), 0u);
}

}  // namespace
}  // namespace mailark::cli

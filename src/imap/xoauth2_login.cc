#include "src/imap/xoauth2_login.h"

#include <memory>

#include "src/imap/xoauth2.h"

namespace mailark::imap {

std::string describeResponse(const Response& r) {
  std::string s = r.status;
  if (!r.code.empty()) s += " [" + r.code + "]";
  if (!r.text.empty()) s += " " + r.text;
  return s;
}

namespace {

using Done = std::function<void(const LoginResult&)>;

void refreshCapabilities(ImapConnection& c, const Response& ok, Done done) {
  // Capabilities can change at login; the tagged OK usually carries them.
  if (ok.code.rfind("CAPABILITY ", 0) == 0) return done({Status::ok(), LoginStep::Authenticate, ""});
  c.send(CommandBuilder(false).raw("CAPABILITY").build(), [done](Response& r) {
    if (r.status == "OK") return done({Status::ok(), LoginStep::Authenticate, ""});
    done({protocolError("CAPABILITY after login refused: " + describeResponse(r)), LoginStep::Capability,
          describeResponse(r)});
  });
}

void authenticate(ImapConnection& c, const std::string& mailbox, const std::string& token, Done done) {
  if (!c.hasCapability("AUTH=XOAUTH2")) {
    return done({authRejected("the server does not offer AUTH=XOAUTH2; app-only OAuth needs it"),
                 LoginStep::Capability, ""});
  }
  std::string payload = xoauth2InitialResponse(mailbox, token);
  bool sasl_ir = c.hasCapability("SASL-IR");
  CommandBuilder b(false);
  b.raw(sasl_ir ? "AUTHENTICATE XOAUTH2 " + payload : "AUTHENTICATE XOAUTH2").logAs("AUTHENTICATE XOAUTH2 <redacted>");
  auto sent = std::make_shared<bool>(sasl_ir);
  ImapConnection* conn = &c;
  c.send(
      b.build(),
      [conn, mailbox, done](Response& r) {
        if (r.status == "OK") return refreshCapabilities(*conn, r, done);
        done({authRejected("AUTHENTICATE XOAUTH2 failed for " + mailbox + ": server answered \"" +
                           describeResponse(r) + "\""),
              LoginStep::Authenticate, describeResponse(r)});
      },
      // Without SASL-IR the first "+" asks for the payload; a later "+" is
      // the server's error challenge, answered empty so the NO follows.
      [sent, payload](const std::string&) -> std::string {
        if (*sent) return "";
        *sent = true;
        return payload;
      });
}

}  // namespace

void loginXoauth2(ImapConnection& connection, const std::string& mailbox, const std::string& token, Done done) {
  if (connection.capabilitiesKnown()) return authenticate(connection, mailbox, token, std::move(done));
  ImapConnection* conn = &connection;
  connection.send(CommandBuilder(false).raw("CAPABILITY").build(), [conn, mailbox, token, done](Response& r) {
    if (r.status != "OK")
      return done({protocolError("CAPABILITY refused: " + describeResponse(r)), LoginStep::Capability,
                   describeResponse(r)});
    authenticate(*conn, mailbox, token, done);
  });
}

}  // namespace mailark::imap

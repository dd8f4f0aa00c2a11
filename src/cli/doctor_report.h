// `mailark doctor` findings: the diagnosis of each failed step (what it
// means and what to do) and how the checks are printed. Pure: no I/O, so
// every diagnosis is unit-tested. Nothing here ever sees a secret; tokens
// reach it only as decoded claims.
#pragma once

#include <string>
#include <vector>

#include "src/auth/jwt_claims.h"
#include "src/engine/access_probe.h"

namespace mailark::cli {

struct DoctorCheck {
  std::string subject;  // "app <name>" or the mailbox address
  std::string step;     // stable id: config, token_host, token, token_claims, server_host,
                        // authenticate, mailbox_access, examine_inbox, skipped
  bool ok = false;
  std::string detail;   // what was seen (server text, status message)
  std::string fix;      // what to do; empty when ok
  // Failed checks only: a stable name of the cause for scripts, e.g.
  // "AADSTS7000215", "missing_role_imap", "wrong_audience", "unknown_mailbox",
  // "not_connected", "tls_untrusted", "unreachable".
  std::string cause = {};
};

// Human title of a step id, e.g. "token host (DNS/TCP/TLS)".
std::string stepTitle(const std::string& step);

// What is wrong with the claims of an app's token for the protocols its
// mailboxes use, as a failed check (ok when nothing is wrong). `scope` is
// the configured scope, quoted in the fix.
DoctorCheck checkClaims(const std::string& subject, const auth::JwtClaims& claims, bool need_imap, bool need_pop,
                        const std::string& client_id, const std::string& scope);

// The check for a mailbox probe's outcome at its failing step (or, for
// failed_at == Done, the passing last step). `aud` is the audience of the
// token that was sent. `token_works_elsewhere`: another mailbox of the same
// app logged in with this token, so a refused login points at the mailbox
// itself rather than at the app's setup.
DoctorCheck diagnoseProbe(const std::string& mailbox, bool pop3, const engine::ProbeOutcome& outcome,
                          const std::string& aud, const std::string& host, uint16_t port,
                          bool token_works_elsewhere);

// A failure to reach a host (token endpoint or mail server).
DoctorCheck diagnoseReach(const std::string& subject, const std::string& step, const std::string& host,
                          uint16_t port, const Status& status);

// "✓ step" / "✗ step" lines with detail and fix; one block per subject.
std::string renderTable(const std::vector<DoctorCheck>& checks);
// {"ok":bool,"checks":[{subject, step, ok, detail, fix, cause}...]} on one line.
std::string renderJson(const std::vector<DoctorCheck>& checks);

}  // namespace mailark::cli

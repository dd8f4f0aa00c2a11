// Pop3PlanJob: what the next run would fetch from one POP3 mailbox, without
// fetching: token -> connect -> AUTH XOAUTH2 -> UIDL and LIST (sizes) ->
// QUIT. A message is new when its UIDL is not in the archive's "INBOX" row
// of uidvalidity 0 (the row Pop3Job records into), exactly Pop3Job's rule.
// Never RETR, TOP or DELE.
//
// Threading: one loop. `on_finished` runs exactly once; the owner must not
// destroy the job inside it.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "src/engine/plan_job.h"
#include "src/pop3/pop3_connection.h"
#include "src/pop3/reply_data.h"

namespace mailark::engine {

class Pop3PlanJob : public PlannerBase, private pop3::Pop3ConnectionCallbacks {
 public:
  // `state` may be null (no archive yet). `tokens`, `tls` and `state` must
  // outlive the job. settings.port is the POP3 port.
  Pop3PlanJob(uv_loop_t* loop, std::shared_ptr<tls::TlsContext> tls, TokenProvider* tokens, StateStore* state,
              const JobSettings& settings, std::string mailbox, std::function<void()> on_finished);
  ~Pop3PlanJob() override;

  void start() override;

 private:
  void listUidls();
  void listSizes();
  void compare();
  void finish(Status status);
  void onConnectionLost(const Status& reason) override;

  std::unique_ptr<pop3::Pop3Connection> connection_;
  std::vector<pop3::UidlEntry> listed_;
  std::map<uint32_t, uint64_t> sizes_;  // message number -> octets (LIST)
  bool quitting_ = false;
  bool done_ = false;
};

}  // namespace mailark::engine

#include "src/engine/mailbox_job.h"

#include <algorithm>

#include "src/base/log.h"
#include "src/engine/folder_filter.h"
#include "src/imap/mutf7.h"
#include "src/imap/server_signals.h"
#include "src/imap/xoauth2_login.h"

namespace mailark::engine {

MailboxJob::MailboxJob(JobServices services, const JobSettings& settings, std::string mailbox, int64_t run_id,
                       JobFinished on_finished)
    : services_(std::move(services)),
      settings_(settings),
      mailbox_(std::move(mailbox)),
      run_id_(run_id),
      on_finished_(std::move(on_finished)) {}

MailboxJob::~MailboxJob() {
  if (writer_) writer_->abort();
}

const char* MailboxJob::phaseName(Phase p) {
  switch (p) {
    case Phase::Idle: return "idle";
    case Phase::Token: return "token";
    case Phase::Connecting: return "connecting";
    case Phase::Capability: return "capability";
    case Phase::Authenticating: return "authenticating";
    case Phase::Listing: return "listing folders";
    case Phase::Examining: return "examining folder";
    case Phase::ListingUids: return "listing UIDs";
    case Phase::SyncingFlags: return "syncing flags";
    case Phase::Fetching: return "fetching";
    case Phase::LoggingOut: return "logging out";
    case Phase::Done: return "done";
  }
  return "?";
}

void MailboxJob::setPhase(Phase p) {
  log::debug(mailbox_ + ": " + phaseName(phase_) + " -> " + phaseName(p));
  phase_ = p;
}

void MailboxJob::start() {
  Result<int64_t> id = services_.state->mailboxId(mailbox_);
  if (!id) return fail(id.status());
  mailbox_id_ = *id;
  setPhase(Phase::Token);
  services_.tokens->getToken([this](const Result<AccessToken>& token) {
    if (!token) return fail(token.status());
    token_ = token->value;
    connect();
  });
}

void MailboxJob::connect() {
  setPhase(Phase::Connecting);
  // A connection replaced after a failure may still have its callback on the
  // stack; it is freed with the job, never here.
  if (connection_) retired_.push_back(std::move(connection_));
  connection_ = std::make_unique<imap::ImapConnection>(services_.loop, services_.tls, this, settings_.limits);
  connection_->open(settings_.host, settings_.port, settings_.idle_timeout_ms, [this](const Status& s) {
    if (!s.isOk()) return fail(s);
    afterGreeting();
  });
}

void MailboxJob::afterGreeting() {
  setPhase(Phase::Authenticating);
  imap::loginXoauth2(*connection_, mailbox_, token_, [this](const imap::LoginResult& login) {
    if (login.status.isOk()) return listFolders();
    if (login.failed_at != imap::LoginStep::Authenticate) return fail(login.status);
    fail(authRejected(login.status.message() +
                      ": the token was refused for this mailbox; check that the mailbox exists, that the app's "
                      "service principal is registered in Exchange (New-ServicePrincipal with the Enterprise "
                      "Application's object id) and that the token audience is the Exchange resource"));
  });
}

void MailboxJob::listFolders() {
  // After a reconnect, carry on with the folder that was interrupted.
  if (!folders_.empty()) return nextFolder();
  setPhase(Phase::Listing);
  folders_.clear();
  send(imap::CommandBuilder(false).raw("LIST \"\" \"*\"").build(), [this](imap::Response& r) {
    if (r.status != "OK") {
      if (imap::classify(r).signal == imap::ServerSignal::NotConnected) {
        return fail(authRejected("the app cannot open mailbox " + mailbox_ + " (server: \"" + imap::describeResponse(r) +
                                 "\"): grant FullAccess with Add-MailboxPermission -Identity " + mailbox_ +
                                 " -User <service principal id> -AccessRights FullAccess, or enable IMAP for "
                                 "this mailbox with Set-CASMailbox -ImapEnabled $true"));
      }
      return fail(protocolError("LIST failed: " + imap::describeResponse(r)));
    }
    folder_index_ = 0;
    nextFolder();
  });
}

void MailboxJob::nextFolder() {
  for (; folder_index_ < folders_.size(); ++folder_index_) {
    const imap::ListEntry& entry = folders_[folder_index_];
    if (!entry.selectable()) continue;
    Result<std::string> decoded = imap::decodeMutf7(entry.name);
    if (decoded) {
      folder_name_ = *decoded;
    } else {
      // Not valid modified UTF-7: keep the name exactly as the server sent it.
      folder_name_ = entry.name;
      result_.warnings.push_back("folder name \"" + entry.name +
                                 "\" is not valid modified UTF-7; archived under its raw name");
    }
    if (!settings_.include_non_mail_folders && isNonMailFolder(folder_name_, entry.delimiter)) continue;
    return examineFolder();
  }
  logout();
}

void MailboxJob::examineFolder() {
  const imap::ListEntry& entry = folders_[folder_index_];
  uidvalidity_ = 0;
  uidnext_ = 0;
  exists_ = 0;
  setPhase(Phase::Examining);
  modseq_ = 0;
  bool literal_plus = connection_->hasCapability("LITERAL+");
  imap::CommandBuilder examine(literal_plus);
  examine.raw("EXAMINE").string(entry.name);
  // CONDSTORE when offered (Dovecot); Exchange has none: plain UID ranges.
  if (connection_->hasCapability("CONDSTORE")) examine.raw("(CONDSTORE)");
  send(examine.build(), [this](imap::Response& r) {
    if (r.status != "OK") {
      // Deleted between LIST and EXAMINE, or not a mail folder.
      result_.warnings.push_back("folder \"" + folder_name_ + "\" skipped: EXAMINE answered " + imap::describeResponse(r));
      ++folder_index_;
      return nextFolder();
    }
    startFolder();
  });
}

void MailboxJob::startFolder() {
  if (uidvalidity_ == 0) return fail(protocolError("EXAMINE " + folder_name_ + " gave no UIDVALIDITY"));
  Result<FolderState> fs = services_.state->folder(mailbox_id_, folder_name_, uidvalidity_);
  if (!fs) return fail(fs.status());
  folder_state_ = *fs;
  ++result_.folders;
  folder_gaps_ = false;
  retried_missing_ = false;
  missing_.clear();
  // With CONDSTORE, flags changed since the last complete pass come first,
  // cheaply: the server sends only the changed messages.
  bool flags_changed = modseq_ != 0 && folder_state_.highest_modseq != 0 && folder_state_.highest_uid != 0 &&
                       modseq_ != folder_state_.highest_modseq;
  if (flags_changed) return syncFlags();
  listNewMessages();
}

void MailboxJob::syncFlags() {
  setPhase(Phase::SyncingFlags);
  std::string range = "1:" + std::to_string(folder_state_.highest_uid);
  send(imap::CommandBuilder(false)
           .raw("UID FETCH " + range + " (UID FLAGS) (CHANGEDSINCE " + std::to_string(folder_state_.highest_modseq) + ")")
           .build(),
       [this](imap::Response& r) {
         if (r.status != "OK") return fail(protocolError("flag sync of " + folder_name_ + " failed: " + imap::describeResponse(r)));
         listNewMessages();
       });
}

void MailboxJob::listNewMessages() {
  // Unchanged since the last complete pass: no new UIDs can exist.
  if (exists_ == 0 || (uidnext_ != 0 && folder_state_.uidnext == uidnext_)) {
    Status s = services_.state->updateFolderProgress(folder_state_.folder_id, uidnext_, folder_state_.highest_uid);
    if (s.isOk() && modseq_ != 0) s = services_.state->updateFolderModseq(folder_state_.folder_id, modseq_);
    if (!s.isOk()) return fail(s);
    ++folder_index_;
    return nextFolder();
  }
  setPhase(Phase::ListingUids);
  listed_.clear();
  uint32_t from = folder_state_.highest_uid + 1;
  send(imap::CommandBuilder(false).raw("UID FETCH " + std::to_string(from) + ":* (UID RFC822.SIZE)").build(),
       [this, from](imap::Response& r) {
         if (r.status != "OK") return fail(protocolError("listing UIDs of " + folder_name_ + " failed: " + imap::describeResponse(r)));
         Result<std::vector<uint32_t>> archived = services_.state->archivedUids(folder_state_.folder_id, from);
         if (!archived) return fail(archived.status());
         std::vector<ServerMessage> todo = messagesToFetch(listed_, from, *archived);
         std::vector<std::vector<uint32_t>> batches = fetchBatches(todo, settings_.batch_bytes, settings_.batch_count);
         batches_.assign(batches.begin(), batches.end());
         requested_.clear();
         received_.clear();
         fetchMore();
       });
}

void MailboxJob::fetchMore() {
  setPhase(Phase::Fetching);
  // Keep several UID FETCH commands in flight so the server never waits for
  // our round trip between batches.
  while (outstanding_ < std::max<size_t>(1, settings_.pipeline_depth) && !batches_.empty()) {
    auto batch = std::make_shared<std::vector<uint32_t>>(std::move(batches_.front()));
    batches_.pop_front();
    requested_.insert(batch->begin(), batch->end());
    ++outstanding_;
    send(imap::CommandBuilder(false).raw("UID FETCH " + imap::uidSet(*batch) + " (UID INTERNALDATE FLAGS BODY.PEEK[])").build(),
         [this, batch](imap::Response& r) {
           --outstanding_;
           if (Status s = services_.recorder->flush(); !s.isOk()) return fail(s);
           if (r.status == "BAD") return fail(protocolError("UID FETCH in " + folder_name_ + " failed: " + imap::describeResponse(r)));
           for (uint32_t uid : *batch)
             if (!received_.count(uid)) missing_.push_back(uid);
           fetchMore();
         });
  }
  if (outstanding_ > 0 || !batches_.empty()) return;
  if (!missing_.empty()) {
    // Exchange sometimes completes a FETCH OK without some of the messages
    // (busy mailbox). Ask once more for just those; what is still absent
    // after that is reported and left for the next run.
    std::sort(missing_.begin(), missing_.end());
    std::vector<uint32_t> again;
    again.swap(missing_);
    if (!retried_missing_) {
      retried_missing_ = true;
      batches_.push_back(std::move(again));
      return fetchMore();
    }
    folder_gaps_ = true;
    result_.warnings.push_back(std::to_string(again.size()) + " message(s) in \"" + folder_name_ +
                               "\" were not returned by the server, also when asked again (UIDs " +
                               imap::uidSet(again) + "); the next run tries again");
  }
  if (outstanding_ == 0 && batches_.empty()) completeFolder();
}

void MailboxJob::send(imap::Command command, std::function<void(imap::Response&)> done) {
  imap::Command again = command;
  connection_->send(std::move(command), [this, again = std::move(again), done = std::move(done)](imap::Response& r) mutable {
    imap::Classified c = imap::classify(r);
    if (c.signal == imap::ServerSignal::Throttled && throttle_waits_ < kMaxThrottleWaits) {
      // Exchange asks for a pause; honour it on this connection, then repeat
      // the very same command.
      ++throttle_waits_;
      ++waiting_out_backoff_;
      result_.warnings.push_back("throttled by the server: waited " + std::to_string(c.backoff.count()) + " ms");
      if (services_.on_throttled) services_.on_throttled(mailbox_, c.backoff);
      auto timer = std::make_unique<loop::Timer>(services_.loop);
      timer->start(static_cast<uint64_t>(c.backoff.count()), [this, again = std::move(again), done = std::move(done)]() mutable {
        --waiting_out_backoff_;
        if (phase_ != Phase::Done) send(std::move(again), std::move(done));
      });
      timers_.push_back(std::move(timer));
      return;
    }
    done(r);
  });
}

void MailboxJob::completeFolder() {
  std::vector<uint32_t> listed;
  for (const ServerMessage& m : listed_)
    if (m.uid > folder_state_.highest_uid) listed.push_back(m.uid);
  std::sort(listed.begin(), listed.end());
  // Progress may only move past messages whose rows are durable.
  if (Status s = services_.recorder->flush(); !s.isOk()) return fail(s);
  Result<std::vector<uint32_t>> archived = services_.state->archivedUids(folder_state_.folder_id, folder_state_.highest_uid + 1);
  if (!archived) return fail(archived.status());
  uint32_t high = completeUpTo(folder_state_.highest_uid, listed, *archived);
  // A folder with gaps keeps UIDNEXT unset so the next run lists it again.
  Status s = services_.state->updateFolderProgress(folder_state_.folder_id, folder_gaps_ ? 0 : uidnext_, high);
  // Flags are current up to the EXAMINE's mod-sequence (messages fetched
  // now carry flags at least that new).
  if (s.isOk() && modseq_ != 0 && !folder_gaps_) s = services_.state->updateFolderModseq(folder_state_.folder_id, modseq_);
  if (!s.isOk()) return fail(s);
  ++folder_index_;
  nextFolder();
}

void MailboxJob::logout() {
  setPhase(Phase::LoggingOut);
  connection_->send(imap::CommandBuilder(false).raw("LOGOUT").build(), [this](imap::Response&) { finish(Status::ok()); });
}

void MailboxJob::onUntagged(imap::Response& r) {
  switch (phase_) {
    case Phase::Listing:
      if (auto entry = imap::parseList(r)) folders_.push_back(std::move(*entry));
      return;
    case Phase::Examining:
      if (auto n = imap::parseExists(r)) exists_ = *n;
      if (r.status == "OK") {
        if (auto v = imap::codeNumber(r.code, "UIDVALIDITY")) uidvalidity_ = *v;
        if (auto v = imap::codeNumber(r.code, "UIDNEXT")) uidnext_ = *v;
        if (auto v = imap::codeNumber64(r.code, "HIGHESTMODSEQ")) modseq_ = *v;
      }
      return;
    case Phase::SyncingFlags:
      if (auto f = imap::parseFetch(r); f && f->uid && f->flags && *f->uid <= folder_state_.highest_uid) {
        Status st = services_.state->updateFlags(folder_state_.folder_id, *f->uid, *f->flags);
        if (!st.isOk()) return fail(st);
        ++result_.flag_updates;
      }
      return;
    case Phase::ListingUids:
      if (auto f = imap::parseFetch(r); f && f->uid) listed_.push_back({*f->uid, f->rfc822_size.value_or(0)});
      return;
    case Phase::Fetching:
      if (auto f = imap::parseFetch(r)) return onFetch(*f);
      if (writer_) {  // a literal that was not part of a FETCH we understood
        writer_->abort();
        writer_.reset();
      }
      return;
    default:
      return;
  }
}

imap::LiteralSink* MailboxJob::onLiteralStart(const imap::LiteralContext& context) {
  if (phase_ != Phase::Fetching || context.preceding_atom != "BODY[]") return nullptr;
  if (writer_) writer_->abort();
  Result<ObjectWriterPtr> w = services_.recorder->beginMessage();
  if (!w) {
    writer_.reset();
    pending_store_error_ = w.status();
    return this;  // write() reports the error and stops the parser
  }
  writer_ = std::move(*w);
  return this;
}

Status MailboxJob::write(std::span<const char> bytes) {
  if (!writer_) return pending_store_error_;
  return writer_->append(bytes);
}

void MailboxJob::onFetch(const imap::FetchData& fetch) {
  bool wanted = fetch.uid && requested_.count(*fetch.uid) && !received_.count(*fetch.uid);
  if (!wanted || (!fetch.body_streamed && !fetch.body)) {
    // A flag update, a message we did not ask for, or BODY[] NIL.
    if (writer_ && fetch.body_streamed) {
      writer_->abort();
      writer_.reset();
    }
    return;
  }
  Status s = storeMessage(fetch);
  if (!s.isOk()) return fail(s);
}

Status MailboxJob::storeMessage(const imap::FetchData& fetch) {
  if (!fetch.body_streamed) {  // sent inline as a quoted string
    Result<ObjectWriterPtr> w = services_.recorder->beginMessage();
    if (!w) return w.status();
    writer_ = std::move(*w);
    MAILARK_RETURN_IF_ERROR(writer_->append(std::span<const char>(fetch.body->data(), fetch.body->size())));
  }
  if (!writer_) return internalError("no object writer for a streamed BODY[]");
  uint64_t size = writer_->size();
  MessageRecord rec;
  rec.uid = *fetch.uid;
  rec.size = size;
  rec.internaldate = fetch.internaldate.value_or("");
  rec.flags = fetch.flags.value_or("");
  Result<ObjectId> id = services_.recorder->finishMessage(folder_state_.folder_id, std::move(writer_), std::move(rec));
  if (!id) return id.status();
  received_.insert(*fetch.uid);
  ++result_.messages;
  result_.bytes += size;
  return Status::ok();
}

void MailboxJob::onConnectionLost(const Status& reason) {
  if (phase_ == Phase::LoggingOut) return finish(Status::ok());
  if (connection_->byeText().find("AccessTokenExpired") != std::string::npos) {
    // The session outlived its token: get a fresh one and reconnect at once.
    services_.tokens->invalidate();
    return retryLater(reason, std::chrono::milliseconds(0));
  }
  fail(reason);
}

void MailboxJob::fail(const Status& status) {
  if (phase_ == Phase::Done) return;
  std::string where = phase_ == Phase::Fetching || phase_ == Phase::ListingUids || phase_ == Phase::Examining
                          ? std::string(phaseName(phase_)) + " \"" + folder_name_ + "\""
                          : std::string(phaseName(phase_));
  Status located = status.withContext(where);
  // Network trouble is worth a few more tries; anything else would fail the
  // same way again.
  if (status.code() == StatusCode::Transient && attempts_ < kMaxAttempts) {
    auto delay = std::chrono::milliseconds(1000LL << attempts_);
    delay += std::chrono::milliseconds(std::uniform_int_distribution<int64_t>(0, delay.count() / 2)(jitter_));
    return retryLater(located, delay);
  }
  finish(located);
}

void MailboxJob::retryLater(const Status& reason, std::chrono::milliseconds delay) {
  ++attempts_;
  result_.warnings.push_back(reason.message() + "; reconnecting in " + std::to_string(delay.count()) +
                             " ms (attempt " + std::to_string(attempts_ + 1) + " of " +
                             std::to_string(kMaxAttempts + 1) + ")");
  if (writer_) {
    writer_->abort();
    writer_.reset();
  }
  if (connection_) connection_->close();
  // Whatever was completely received is kept; the folder is re-planned from
  // the state after reconnecting.
  if (Status s = services_.recorder->flush(); !s.isOk()) return finish(s);
  batches_.clear();
  outstanding_ = 0;
  setPhase(Phase::Token);
  auto timer = std::make_unique<loop::Timer>(services_.loop);
  timer->start(static_cast<uint64_t>(delay.count()), [this] {
    services_.tokens->getToken([this](const Result<AccessToken>& token) {
      if (phase_ == Phase::Done) return;
      if (!token) return fail(token.status());
      token_ = token->value;
      connect();
    });
  });
  timers_.push_back(std::move(timer));
}

void MailboxJob::stop() {
  if (phase_ == Phase::Done) return;
  finish(Status(StatusCode::Cancelled, "stopped before completion (signal)"));
}

void MailboxJob::finish(Status status) {
  if (phase_ == Phase::Done) return;
  setPhase(Phase::Done);
  if (writer_) {  // a half-received message is dropped, never recorded
    writer_->abort();
    writer_.reset();
  }
  if (connection_) connection_->close();
  timers_.clear();
  token_.clear();
  result_.status = settleJob(services_, mailbox_id_, run_id_, std::move(status));
  on_finished_(*this);
}

}  // namespace mailark::engine

#include "src/engine/imap_session.h"

#include <algorithm>

#include "src/base/log.h"
#include "src/imap/server_signals.h"
#include "src/imap/xoauth2_login.h"

namespace mailark::engine {

ImapSession::ImapSession(JobContext& context, SessionHost& host, int number)
    : ctx_(context), host_(host), number_(number) {}

ImapSession::~ImapSession() { close(); }

const char* ImapSession::phaseName(Phase p) {
  switch (p) {
    case Phase::Idle: return "idle";
    case Phase::Token: return "token";
    case Phase::Connecting: return "connecting";
    case Phase::Authenticating: return "authenticating";
    case Phase::Listing: return "listing folders";
    case Phase::Checking: return "checking folders";
    case Phase::Examining: return "examining folder";
    case Phase::SyncingFlags: return "syncing flags";
    case Phase::ListingUids: return "listing UIDs";
    case Phase::Fetching: return "fetching";
    case Phase::LoggingOut: return "logging out";
    case Phase::Closed: return "closed";
  }
  return "?";
}

void ImapSession::setPhase(Phase p) {
  log::debug(ctx_.mailbox + " #" + std::to_string(number_) + ": " + phaseName(phase_) + " -> " + phaseName(p));
  phase_ = p;
}

std::string ImapSession::where() const {
  const FolderWork* f = planning_ != nullptr ? planning_ : selected_;
  std::string w = phaseName(phase_);
  if (f != nullptr && (phase_ == Phase::Examining || phase_ == Phase::SyncingFlags ||
                       phase_ == Phase::ListingUids || phase_ == Phase::Fetching))
    w += " \"" + f->name + "\"";
  return w;
}

bool ImapSession::tokenNearExpiry() const {
  if (token_expires_ == std::chrono::system_clock::time_point{}) return false;
  return std::chrono::system_clock::now() >= token_expires_ - token_margin_;
}

void ImapSession::start() { getTokenThenConnect(false); }

void ImapSession::getTokenThenConnect(bool must_be_newer) {
  setPhase(Phase::Token);
  auto previous = token_expires_;
  ctx_.services.tokens->getToken([this, must_be_newer, previous](const Result<AccessToken>& token) {
    if (phase_ != Phase::Token) return;  // closed meanwhile
    if (!token) return lose(token.status());
    if (must_be_newer && token->expires_at <= previous) {
      // The shared token is the one this connection is retiring: ask for a
      // fresh one (once; the provider single-flights concurrent askers).
      ctx_.services.tokens->invalidate();
      return getTokenThenConnect(false);
    }
    token_ = token->value;
    token_expires_ = token->expires_at;
    // Reconnect with min(5 min, a quarter of the remaining life) to spare,
    // as MSAL treats < 5 min left as expired.
    auto left = token_expires_ - std::chrono::system_clock::now();
    token_margin_ = std::min<std::chrono::system_clock::duration>(std::chrono::minutes(5), left / 4);
    connect();
  });
}

void ImapSession::connect() {
  setPhase(Phase::Connecting);
  lost_to_token_expiry_ = false;
  if (connection_) retired_.push_back(std::move(connection_));
  connection_ = std::make_unique<imap::ImapConnection>(ctx_.services.loop, ctx_.services.tls, this, ctx_.settings.limits);
  connection_->open(ctx_.settings.host, ctx_.settings.port, ctx_.settings.idle_timeout_ms, [this](const Status& s) {
    if (!s.isOk()) return lose(s);
    afterGreeting();
  });
}

void ImapSession::afterGreeting() {
  setPhase(Phase::Authenticating);
  imap::loginXoauth2(*connection_, ctx_.mailbox, token_, [this](const imap::LoginResult& login) {
    if (login.status.isOk()) {
      setPhase(Phase::Idle);
      return host_.onIdle(*this);
    }
    if (login.failed_at != imap::LoginStep::Authenticate) return lose(login.status);
    lose(authRejected(login.status.message() +
                      ": the token was refused for this mailbox; check that the mailbox exists, that the app's "
                      "service principal is registered in Exchange (New-ServicePrincipal with the Enterprise "
                      "Application's object id) and that the token audience is the Exchange resource"));
  });
}

void ImapSession::listFolders() {
  setPhase(Phase::Listing);
  listed_folders_.clear();
  send(imap::CommandBuilder(false).raw("LIST \"\" \"*\"").build(), [this](imap::Response& r) {
    if (r.status != "OK") {
      if (imap::classify(r).signal == imap::ServerSignal::NotConnected) {
        return lose(authRejected("the app cannot open mailbox " + ctx_.mailbox + " (server: \"" +
                                 imap::describeResponse(r) + "\"): grant FullAccess with Add-MailboxPermission -Identity " +
                                 ctx_.mailbox + " -User <service principal id> -AccessRights FullAccess, or enable "
                                 "IMAP for this mailbox with Set-CASMailbox -ImapEnabled $true"));
      }
      return lose(protocolError("LIST failed: " + imap::describeResponse(r)));
    }
    setPhase(Phase::Idle);
    host_.onFoldersListed(*this, std::move(listed_folders_));
  });
}

void ImapSession::check(std::vector<FolderWork*> folders) {
  setPhase(Phase::Checking);
  to_check_.assign(folders.begin(), folders.end());
  checking_.clear();
  while (checking_.size() < kChecksInFlight && !to_check_.empty()) sendNextCheck();
  if (checking_.empty()) {
    setPhase(Phase::Idle);
    host_.onIdle(*this);
  }
}

void ImapSession::sendNextCheck() {
  FolderWork* folder = to_check_.front();
  to_check_.pop_front();
  folder->status.reset();
  checking_.push_back(folder);
  std::string items = "(MESSAGES UIDNEXT UIDVALIDITY";
  if (connection_->hasCapability("CONDSTORE")) items += " HIGHESTMODSEQ";
  if (connection_->hasCapability("STATUS=SIZE")) items += " SIZE";
  items += ")";
  imap::CommandBuilder status(connection_->hasCapability("LITERAL+"));
  status.raw("STATUS").string(folder->raw_name).raw(items);
  send(status.build(), [this, folder](imap::Response& r) {
    if (auto it = std::find(checking_.begin(), checking_.end(), folder); it != checking_.end()) checking_.erase(it);
    // Refused (e.g. deleted since LIST): EXAMINE will find out and say so.
    if (r.status != "OK") folder->status.reset();
    if (!to_check_.empty()) sendNextCheck();
    host_.onChecked(*this, *folder);
    if (checking_.empty() && phase_ == Phase::Checking) {
      setPhase(Phase::Idle);
      host_.onIdle(*this);
    }
  });
}

void ImapSession::examine(FolderWork& folder, std::function<void(bool ok, const std::string& answer)> done) {
  setPhase(Phase::Examining);
  selected_ = nullptr;
  ex_uidvalidity_ = 0;
  ex_uidnext_ = 0;
  ex_exists_ = 0;
  ex_modseq_ = 0;
  imap::CommandBuilder examine(connection_->hasCapability("LITERAL+"));
  examine.raw("EXAMINE").string(folder.raw_name);
  // CONDSTORE when offered (Dovecot); Exchange has none: plain UID ranges.
  if (connection_->hasCapability("CONDSTORE")) examine.raw("(CONDSTORE)");
  send(examine.build(), [done = std::move(done)](imap::Response& r) { done(r.status == "OK", imap::describeResponse(r)); });
}

void ImapSession::plan(FolderWork& folder) {
  planning_ = &folder;
  early_.reset();
  if (std::optional<EarlyPlan> early = earlyPlan(folder)) return planInOneFlight(folder, std::move(*early));
  examine(folder, [this, &folder](bool ok, const std::string& answer) { examined(folder, ok, answer); });
}

std::optional<ImapSession::EarlyPlan> ImapSession::earlyPlan(FolderWork& folder) {
  if (!folder.status || folder.status->uidvalidity.value_or(0) == 0) return std::nullopt;
  Result<FolderState> row = ctx_.services.state->folder(ctx_.mailbox_id, folder.name, *folder.status->uidvalidity);
  if (!row) return std::nullopt;  // EXAMINE's path reports it
  EarlyPlan plan;
  plan.from = row->highest_uid + 1;
  plan.throttle_waits = throttle_waits_;
  if (flagsChangedSince(*row, folder.status->highest_modseq.value_or(0))) {
    plan.flags_since = row->highest_modseq;
    plan.flags_upto = row->highest_uid;
  }
  return plan;
}

void ImapSession::planInOneFlight(FolderWork& folder, EarlyPlan plan) {
  // STATUS gave the UIDVALIDITY, so the flag sync (CONDSTORE) and the
  // listing of new UIDs can go right behind EXAMINE: one round trip per
  // folder instead of two or three. What they assumed is checked once all
  // are answered; if EXAMINE disagrees, or a throttled resend reordered
  // them, the usual steps run again.
  early_ = std::move(plan);
  early_->waiting = early_->flags_since != 0 ? 3 : 2;
  listed_.clear();
  examine(folder, [this, &folder](bool ok, const std::string& answer) {
    if (!early_) return;
    early_->examine_ok = ok;
    early_->answer = answer;
    if (ok && early_->next == 0) {
      if (Status s = adoptExamined(folder); !s.isOk()) return lose(s);
    }
    earlyAnswered(folder, 0, nullptr);
  });
  if (early_->flags_since != 0) {
    send(flagSyncCommand(early_->flags_upto, early_->flags_since), [this, &folder](imap::Response& r) {
      if (!early_) return;
      early_->flags_ok = r.status == "OK";
      earlyAnswered(folder, 1, nullptr);
    });
  }
  send(listingCommand(early_->from), [this, &folder](imap::Response& r) {
    if (!early_) return;
    earlyAnswered(folder, 2, &r);
  });
}

void ImapSession::earlyAnswered(FolderWork& folder, int which, imap::Response* listing) {
  EarlyPlan& e = *early_;
  if (which != e.next) e.in_order = false;
  e.next = which == 0 && e.flags_since != 0 ? 1 : 2;
  // In order, untagged answers go where they belong: flags, then UIDs.
  if (e.in_order && e.examine_ok) setPhase(e.next == 1 ? Phase::SyncingFlags : Phase::ListingUids);
  if (--e.waiting > 0) return;
  EarlyPlan done = std::move(e);
  early_.reset();
  if (!done.examine_ok) {
    listed_.clear();
    return examined(folder, false, done.answer);
  }
  if (!done.in_order) {
    if (Status s = adoptExamined(folder); !s.isOk()) return lose(s);
  }
  bool usable = done.in_order && done.flags_ok && listing != nullptr && listing->status == "OK" &&
                done.throttle_waits == throttle_waits_ && done.from == folder.state.highest_uid + 1 &&
                (done.flags_since != 0 || !flagsChanged(folder)) && !nothingNew(folder);
  if (!usable) {
    listed_.clear();
    return flagsChanged(folder) ? syncFlags(folder) : listNewMessages(folder);
  }
  listingAnswered(folder, done.from, *listing);
}

void ImapSession::examined(FolderWork& folder, bool ok, const std::string& answer) {
  if (!ok) {
    // Deleted between LIST and EXAMINE, or not a mail folder.
    ctx_.result.warnings.push_back("folder \"" + folder.name + "\" skipped: EXAMINE answered " + answer);
    planning_ = nullptr;
    folder.stage = FolderWork::Stage::Done;
    setPhase(Phase::Idle);
    return host_.onPlanned(*this, folder);
  }
  if (Status s = adoptExamined(folder); !s.isOk()) return lose(s);
  // With CONDSTORE, flags changed since the last complete pass come first,
  // cheaply: the server sends only the changed messages.
  if (flagsChanged(folder)) return syncFlags(folder);
  listNewMessages(folder);
}

Status ImapSession::adoptExamined(FolderWork& folder) {
  if (ex_uidvalidity_ == 0) return protocolError("EXAMINE " + folder.name + " gave no UIDVALIDITY");
  Result<FolderState> fs = ctx_.services.state->folder(ctx_.mailbox_id, folder.name, ex_uidvalidity_);
  if (!fs) return fs.status();
  folder.state = *fs;
  folder.uidvalidity = ex_uidvalidity_;
  folder.uidnext = ex_uidnext_;
  folder.modseq = ex_modseq_;
  folder.gaps = false;
  folder.retried_missing = false;
  folder.missing.clear();
  selected_ = &folder;
  return Status::ok();
}

bool ImapSession::flagsChanged(const FolderWork& folder) const {
  return flagsChangedSince(folder.state, folder.modseq);
}

bool ImapSession::nothingNew(const FolderWork& folder) const {
  return ex_exists_ == 0 || (folder.uidnext != 0 && folder.state.uidnext == folder.uidnext);
}

imap::Command ImapSession::flagSyncCommand(uint32_t upto, uint64_t since) {
  return imap::CommandBuilder(false)
      .raw("UID FETCH 1:" + std::to_string(upto) + " (UID FLAGS) (CHANGEDSINCE " + std::to_string(since) + ")")
      .build();
}

imap::Command ImapSession::listingCommand(uint32_t from) {
  return imap::CommandBuilder(false).raw("UID FETCH " + std::to_string(from) + ":* (UID RFC822.SIZE)").build();
}

void ImapSession::syncFlags(FolderWork& folder) {
  setPhase(Phase::SyncingFlags);
  std::string range = "1:" + std::to_string(folder.state.highest_uid);
  send(flagSyncCommand(folder.state.highest_uid, folder.state.highest_modseq),
       [this, &folder](imap::Response& r) {
         if (r.status != "OK") return lose(protocolError("flag sync of " + folder.name + " failed: " + imap::describeResponse(r)));
         listNewMessages(folder);
       });
}

void ImapSession::listNewMessages(FolderWork& folder) {
  // Unchanged since the last complete pass: no new UIDs can exist.
  if (nothingNew(folder)) {
    if (Status s = recordFolderUnchanged(*ctx_.services.state, folder.state, folder.uidnext, folder.modseq); !s.isOk())
      return lose(s);
    ++ctx_.result.folders;
    planning_ = nullptr;
    folder.stage = FolderWork::Stage::Done;
    setPhase(Phase::Idle);
    return host_.onPlanned(*this, folder);
  }
  setPhase(Phase::ListingUids);
  listed_.clear();
  uint32_t from = folder.state.highest_uid + 1;
  send(listingCommand(from), [this, &folder, from](imap::Response& r) { listingAnswered(folder, from, r); });
}

void ImapSession::listingAnswered(FolderWork& folder, uint32_t from, imap::Response& r) {
  if (r.status != "OK") return lose(protocolError("listing UIDs of " + folder.name + " failed: " + imap::describeResponse(r)));
  Result<std::vector<uint32_t>> archived = ctx_.services.state->archivedUids(folder.state.folder_id, from);
  if (!archived) return lose(archived.status());
  std::vector<ServerMessage> todo = messagesToFetch(listed_, from, *archived);
  folder.large.clear();
  if (ctx_.settings.split_bytes > 0 && ctx_.settings.connections_per_mailbox > 1) {
    auto large = std::stable_partition(todo.begin(), todo.end(),
                                       [&](const ServerMessage& m) { return m.size < ctx_.settings.split_bytes; });
    folder.large.assign(large, todo.end());
    todo.erase(large, todo.end());
    // The largest first: the longest transfers start while there is other work.
    std::stable_sort(folder.large.begin(), folder.large.end(),
                     [](const ServerMessage& a, const ServerMessage& b) { return a.size > b.size; });
  }
  std::vector<std::vector<uint32_t>> batches = fetchBatches(todo, batchBytes(todo), ctx_.settings.batch_count);
  folder.listed = std::move(listed_);
  folder.batches.assign(std::make_move_iterator(batches.begin()), std::make_move_iterator(batches.end()));
  folder.requested.clear();
  folder.received.clear();
  folder.stage = FolderWork::Stage::Fetching;
  ++ctx_.result.folders;
  planning_ = nullptr;
  setPhase(Phase::Idle);
  host_.onPlanned(*this, folder);
}

uint64_t ImapSession::batchBytes(const std::vector<ServerMessage>& todo) const {
  // Small enough that every connection of the mailbox can keep its pipeline
  // full on this folder, large enough that round trips stay rare.
  constexpr uint64_t kMinBatchBytes = 1 << 20;
  uint64_t total = 0;
  for (const ServerMessage& m : todo) total += m.size;
  uint64_t batches = std::max<size_t>(1, ctx_.settings.connections_per_mailbox) *
                     std::max<size_t>(1, ctx_.settings.pipeline_depth) * 2;
  return std::clamp<uint64_t>(total / batches, std::min(kMinBatchBytes, ctx_.settings.batch_bytes),
                              ctx_.settings.batch_bytes);
}

void ImapSession::help(FolderWork& folder) {
  examine(folder, [this, &folder](bool ok, const std::string& answer) {
    setPhase(Phase::Idle);
    if (!ok || ex_uidvalidity_ != folder.uidvalidity) {
      // Gone or recreated since it was planned: leave it to its planner.
      ctx_.result.warnings.push_back("a second connection could not select \"" + folder.name +
                                     "\" (" + (ok ? "UIDVALIDITY changed" : answer) + ")");
      folder.no_helpers = true;
      return host_.onIdle(*this);
    }
    selected_ = &folder;
    fetch(folder);
  });
}

void ImapSession::fetch(FolderWork& folder) {
  setPhase(Phase::Fetching);
  // Near the token's expiry no new work is sent: what is in flight drains,
  // then the job reconnects this session at the checkpoint.
  bool settled = false;
  if (Status s = settleSplits(folder, &settled); !s.isOk()) return lose(s);
  if (!tokenNearExpiry()) {
    // A message cut off on a lost connection goes alone, continued from
    // where it stopped.
    if (!folder.partials.empty() && in_flight_.empty() && pieces_out_.empty() && !partial_)
      return continuePartial(folder);
    // Pieces of large messages first, so they start while batches of small
    // ones keep the other connections busy.
    const size_t depth = std::max<size_t>(1, ctx_.settings.pipeline_depth);
    while (!partial_ && in_flight_.size() + pieces_out_.size() < depth) {
      auto split = std::find_if(folder.splits.begin(), folder.splits.end(),
                                [](const SplitMessage& m) { return m.sendable() > 0; });
      if (split != folder.splits.end()) {
        sendPiece(folder, *split);
      } else if (folder.canStartSplit()) {
        if (Status s = startSplit(folder); !s.isOk()) return lose(s);
      } else if (!folder.batches.empty()) {
        sendBatch(folder);
      } else {
        break;
      }
    }
  }
  if (settled && !busy() && folder.drained()) return host_.onFetched(*this, folder);
  if (!busy()) {
    setPhase(Phase::Idle);
    host_.onIdle(*this);
  }
}

void ImapSession::sendBatch(FolderWork& folder) {
  in_flight_.push_back({&folder, std::move(folder.batches.front())});
  folder.batches.pop_front();
  auto sent = std::prev(in_flight_.end());
  folder.requested.insert(sent->uids.begin(), sent->uids.end());
  ++folder.in_flight;
  send(imap::CommandBuilder(false)
           .raw("UID FETCH " + imap::uidSet(sent->uids) + " (UID INTERNALDATE FLAGS BODY.PEEK[])")
           .build(),
       [this, sent, &folder](imap::Response& r) {
         std::vector<uint32_t> uids = std::move(sent->uids);
         in_flight_.erase(sent);
         --folder.in_flight;
         // No flush here: the recorder commits by its own limits, and a
         // folder's progress waits for one (completeFolder). An fsync per
         // batch would stall every connection of the loop for each batch.
         if (r.status == "BAD") return lose(protocolError("UID FETCH in " + folder.name + " failed: " + imap::describeResponse(r)));
         for (uint32_t uid : uids)
           if (!folder.received.count(uid)) folder.missing.push_back(uid);
         host_.onFetched(*this, folder);
       });
}

Status ImapSession::startSplit(FolderWork& folder) {
  ServerMessage m = folder.large.front();
  folder.large.pop_front();
  Result<ObjectWriterPtr> writer = ctx_.services.recorder->beginMessage();
  if (!writer) return writer.status();
  folder.requested.insert(m.uid);
  // Enough pieces out to keep every connection's pipeline full, no more.
  uint64_t window = std::max<size_t>(1, ctx_.settings.pipeline_depth) *
                    std::max<size_t>(1, ctx_.settings.connections_per_mailbox);
  folder.splits.emplace_back(m.uid, m.size, ctx_.settings.piece_bytes, window, std::move(*writer));
  sendPiece(folder, folder.splits.back());
  return Status::ok();
}

void ImapSession::sendPiece(FolderWork& folder, SplitMessage& message) {
  Piece piece = message.take();
  pieces_out_.push_back({&folder, &message, piece, std::string(), false, false});
  auto sent = std::prev(pieces_out_.end());
  ++folder.in_flight;
  send(imap::CommandBuilder(false)
           .raw("UID FETCH " + std::to_string(message.uid()) + " (UID INTERNALDATE FLAGS BODY.PEEK[]<" +
                std::to_string(piece.offset) + "." + std::to_string(piece.length) + ">)")
           .build(),
       [this, sent, &folder](imap::Response& r) { pieceAnswered(folder, sent, r); });
}

void ImapSession::pieceAnswered(FolderWork& folder, std::list<PieceOut>::iterator it, imap::Response& r) {
  PieceOut done = std::move(*it);
  pieces_out_.erase(it);
  --folder.in_flight;
  if (r.status == "BAD") return lose(protocolError("UID FETCH in " + folder.name + " failed: " + imap::describeResponse(r)));
  SplitMessage& message = *done.message;
  Status s;
  if (!done.answered) {
    // Gone meanwhile (expunged), or the server would not give the piece:
    // the UID is missing like any other the server did not return.
    message.fail("");
    s = message.answered(done.piece, std::nullopt);
  } else {
    s = message.answered(done.piece, done.direct ? std::nullopt : std::optional<std::string>(std::move(done.buffer)));
  }
  if (!s.isOk()) return lose(s);
  bool settled = false;
  if (s = settleSplits(folder, &settled); !s.isOk()) return lose(s);
  host_.onFetched(*this, folder);
}

ImapSession::PieceOut* ImapSession::pieceOut(uint32_t uid, uint64_t origin) {
  for (PieceOut& p : pieces_out_)
    if (!p.answered && p.message->uid() == uid && p.piece.offset == origin) return &p;
  return nullptr;
}

Status ImapSession::settleSplits(FolderWork& folder, bool* settled) {
  for (auto it = folder.splits.begin(); it != folder.splits.end();) {
    SplitMessage& m = *it;
    if (!m.finished()) {
      ++it;
      continue;
    }
    if (m.failed()) {
      if (ObjectWriterPtr w = m.takeWriter()) w->abort();
      if (!m.failure().empty())
        ctx_.result.warnings.push_back("UID " + std::to_string(m.uid()) + " in \"" + folder.name + "\": " +
                                       m.failure() + "; asked for again whole");
      folder.missing.push_back(m.uid());  // asked for again once the folder drains
    } else {
      MAILARK_RETURN_IF_ERROR(recordMessage(folder, m.uid(), m.takeWriter(), std::move(m.internaldate),
                                            std::move(m.flags)));
    }
    it = folder.splits.erase(it);
    *settled = true;
  }
  return Status::ok();
}

void ImapSession::continuePartial(FolderWork& folder) {
  partial_ = std::move(folder.partials.front());
  folder.partials.pop_front();
  partial_folder_ = &folder;
  ++folder.in_flight;
  partial_asked_from_ = partial_->writer->size();
  partial_answered_ = false;
  uint64_t length = std::max<uint64_t>(1, partial_->total - std::min(partial_->total, partial_asked_from_));
  ctx_.result.warnings.push_back("UID " + std::to_string(partial_->uid) + " in \"" + folder.name +
                                 "\": continuing from byte " + std::to_string(partial_asked_from_) +
                                 " after the connection was lost");
  send(imap::CommandBuilder(false)
           .raw("UID FETCH " + std::to_string(partial_->uid) + " (UID INTERNALDATE FLAGS BODY.PEEK[]<" +
                std::to_string(partial_asked_from_) + "." + std::to_string(length) + ">)")
           .build(),
       [this, &folder](imap::Response& r) { partialAnswered(folder, r); });
}

void ImapSession::partialAnswered(FolderWork& folder, imap::Response& r) {
  PartialMessage message = std::move(*partial_);
  partial_.reset();
  partial_folder_ = nullptr;
  target_ = nullptr;
  --folder.in_flight;
  if (r.status == "BAD") return lose(protocolError("UID FETCH in " + folder.name + " failed: " + imap::describeResponse(r)));
  if (!partial_answered_) {
    // Gone meanwhile (expunged): the bytes so far are no message; it is
    // missing like any other UID the server did not return.
    message.writer->abort();
    folder.missing.push_back(message.uid);
    return host_.onFetched(*this, folder);
  }
  Status s = recordMessage(folder, message.uid, std::move(message.writer), std::move(message.internaldate),
                           std::move(message.flags));
  if (!s.isOk()) return lose(s);
  host_.onFetched(*this, folder);
}

void ImapSession::send(imap::Command command, std::function<void(imap::Response&)> done) {
  imap::Command again = command;
  connection_->send(std::move(command), [this, again = std::move(again), done = std::move(done)](imap::Response& r) mutable {
    imap::Classified c = imap::classify(r);
    if (c.signal == imap::ServerSignal::Throttled && throttle_waits_ < kMaxThrottleWaits) {
      // Exchange asks for a pause; honour it on this connection, then repeat
      // the very same command.
      ++throttle_waits_;
      ++waiting_out_backoff_;
      ctx_.result.warnings.push_back("throttled by the server: waited " + std::to_string(c.backoff.count()) + " ms");
      host_.onThrottled(*this, c.backoff);
      auto timer = std::make_unique<loop::Timer>(ctx_.services.loop);
      timer->start(static_cast<uint64_t>(c.backoff.count()), [this, again = std::move(again), done = std::move(done)]() mutable {
        --waiting_out_backoff_;
        if (phase_ != Phase::Closed && connection_) send(std::move(again), std::move(done));
      });
      timers_.push_back(std::move(timer));
      return;
    }
    done(r);
  });
}

void ImapSession::refresh() {
  setPhase(Phase::LoggingOut);
  refreshing_ = true;
  selected_ = nullptr;
  connection_->send(imap::CommandBuilder(false).raw("LOGOUT").build(), [this](imap::Response&) {
    refreshing_ = false;
    connection_->close();
    getTokenThenConnect(true);
  });
}

void ImapSession::reconnectAfter(std::chrono::milliseconds delay) {
  setPhase(Phase::Token);
  auto timer = std::make_unique<loop::Timer>(ctx_.services.loop);
  timer->start(static_cast<uint64_t>(delay.count()), [this] { getTokenThenConnect(false); });
  timers_.push_back(std::move(timer));
}

void ImapSession::logout() {
  setPhase(Phase::LoggingOut);
  connection_->send(imap::CommandBuilder(false).raw("LOGOUT").build(), [this](imap::Response&) {
    close();
    host_.onLoggedOut(*this);
  });
}

void ImapSession::close() {
  if (phase_ == Phase::Closed) return;
  setPhase(Phase::Closed);
  giveWorkBack();
  if (connection_) connection_->close();
  timers_.clear();
  token_.clear();
}

void ImapSession::dropWriter() {
  if (writer_) writer_->abort();
  writer_.reset();
  if (!partial_) target_ = nullptr;
}

void ImapSession::giveWorkBack() {
  uint32_t kept = 0;
  FolderWork* f = selected_;
  if (writer_ && writer_uid_ != 0 && f != nullptr && writer_->size() >= kResumeMinBytes &&
      f->requested.count(writer_uid_) && !f->received.count(writer_uid_)) {
    kept = writer_uid_;
    f->partials.push_back({writer_uid_, std::move(writer_), writer_total_, "", ""});
  }
  dropWriter();
  for (Sent& sent : in_flight_) {
    FolderWork& folder = *sent.folder;
    --folder.in_flight;
    std::vector<uint32_t> back;
    for (uint32_t uid : sent.uids)
      if (uid != kept && !folder.received.count(uid)) back.push_back(uid);
    if (!back.empty()) folder.batches.push_front(std::move(back));
  }
  in_flight_.clear();
  // Pieces go back to their message; one that streamed straight in keeps
  // what arrived, and its rest is asked for again.
  // An append error here is the writer's, and sticky: the message's next
  // append or its commit reports it.
  for (PieceOut& p : pieces_out_) {
    --p.folder->in_flight;
    (void)p.message->giveBack(p.piece, p.direct);
  }
  pieces_out_.clear();
  piece_buffer_ = nullptr;
  if (partial_) {
    --partial_folder_->in_flight;
    partial_folder_->partials.push_front(std::move(*partial_));
    partial_.reset();
    partial_folder_ = nullptr;
  }
  target_ = nullptr;
  if (planning_ != nullptr) {
    planning_->stage = FolderWork::Stage::Waiting;
    planning_ = nullptr;
  }
  early_.reset();
  // Folders whose STATUS never came are planned the usual way.
  for (FolderWork* f : checking_) f->stage = FolderWork::Stage::Waiting;
  for (FolderWork* f : to_check_) f->stage = FolderWork::Stage::Waiting;
  checking_.clear();
  to_check_.clear();
  selected_ = nullptr;
}

void ImapSession::lose(const Status& reason) {
  if (phase_ == Phase::Closed) return;
  Status located = reason.withContext(where());
  close();
  host_.onLost(*this, located);
}

void ImapSession::onConnectionLost(const Status& reason) {
  if (phase_ == Phase::LoggingOut) {
    if (refreshing_) {
      refreshing_ = false;
      return getTokenThenConnect(true);
    }
    close();
    return host_.onLoggedOut(*this);
  }
  if (connection_ && connection_->byeText().find("AccessTokenExpired") != std::string::npos) {
    // The session outlived its token: the job reconnects with a fresh one.
    lost_to_token_expiry_ = true;
    ctx_.services.tokens->invalidate();
  }
  lose(reason);
}

void ImapSession::onUntagged(imap::Response& r) {
  switch (phase_) {
    case Phase::Listing:
      if (auto entry = imap::parseList(r)) listed_folders_.push_back(std::move(*entry));
      return;
    case Phase::Checking:
      if (auto status = imap::parseStatus(r)) {
        auto f = std::find_if(checking_.begin(), checking_.end(),
                              [&](FolderWork* w) { return imap::sameMailboxName(w->raw_name, status->name); });
        if (f != checking_.end()) (*f)->status = std::move(*status);
      }
      return;
    case Phase::Examining:
      if (auto n = imap::parseExists(r)) ex_exists_ = *n;
      if (r.status == "OK") {
        if (auto v = imap::codeNumber(r.code, "UIDVALIDITY")) ex_uidvalidity_ = *v;
        if (auto v = imap::codeNumber(r.code, "UIDNEXT")) ex_uidnext_ = *v;
        if (auto v = imap::codeNumber64(r.code, "HIGHESTMODSEQ")) ex_modseq_ = *v;
      }
      return;
    case Phase::SyncingFlags:
      // A listing sent in the same flight may answer meanwhile (a server
      // may run the two FETCHes concurrently); told apart by what each asked.
      if (auto f = imap::parseFetch(r); f && f->uid && f->rfc822_size && early_) {
        listed_.push_back({*f->uid, *f->rfc822_size});
      } else if (f && f->uid && f->flags && planning_ != nullptr && *f->uid <= planning_->state.highest_uid) {
        Status st = ctx_.services.state->updateFlags(planning_->state.folder_id, *f->uid, *f->flags);
        if (!st.isOk()) return lose(st);
        ++ctx_.result.flag_updates;
      }
      return;
    case Phase::ListingUids:
      if (auto f = imap::parseFetch(r); f && f->uid) listed_.push_back({*f->uid, f->rfc822_size.value_or(0)});
      return;
    case Phase::Fetching:
      if (auto f = imap::parseFetch(r)) return onFetch(*f);
      dropWriter();  // a literal that was not part of a FETCH we understood
      return;
    default:
      return;
  }
}

imap::LiteralSink* ImapSession::onLiteralStart(const imap::LiteralContext& context) {
  if (phase_ != Phase::Fetching) return nullptr;
  if (std::optional<uint64_t> origin = imap::partialOrigin(context.preceding_atom)) {
    // Only the continuation this session asked for, from the byte it asked.
    piece_buffer_ = nullptr;
    if (partial_ && context.fetch_uid == partial_->uid && *origin == partial_asked_from_ &&
        partial_->writer->size() == partial_asked_from_) {
      target_ = partial_->writer.get();
      return this;
    }
    PieceOut* piece = pieceOut(context.fetch_uid, *origin);
    if (piece == nullptr || context.size > piece->piece.length) return nullptr;
    if (piece->message->beginDirect(piece->piece, context.size)) {
      piece->direct = true;
      target_ = &piece->message->writer();
    } else {
      piece->buffer.reserve(context.size);
      piece_buffer_ = &piece->buffer;
    }
    return this;
  }
  piece_buffer_ = nullptr;
  if (context.preceding_atom != "BODY[]") return nullptr;
  dropWriter();
  Result<ObjectWriterPtr> w = ctx_.services.recorder->beginMessage();
  if (!w) {
    pending_store_error_ = w.status();
    return this;  // write() reports the error and stops the parser
  }
  writer_ = std::move(*w);
  writer_uid_ = context.fetch_uid;
  writer_total_ = context.size;
  target_ = writer_.get();
  return this;
}

Status ImapSession::write(std::span<const char> bytes) {
  if (piece_buffer_ != nullptr) {
    piece_buffer_->append(bytes.data(), bytes.size());
    return Status::ok();
  }
  if (target_ == nullptr) return pending_store_error_.isOk() ? internalError("literal without a writer") : pending_store_error_;
  return target_->append(bytes);
}

void ImapSession::onFetch(const imap::FetchData& fetch) {
  if (fetch.body_origin) {
    if (partial_ && fetch.uid && *fetch.uid == partial_->uid && *fetch.body_origin == partial_asked_from_) {
      if (fetch.body) {  // a short continuation may come inline
        Status s = partial_->writer->append(std::span<const char>(fetch.body->data(), fetch.body->size()));
        if (!s.isOk()) return lose(s);
      }
      if (fetch.body || fetch.body_streamed) partial_answered_ = true;
      if (fetch.internaldate) partial_->internaldate = *fetch.internaldate;
      if (fetch.flags) partial_->flags = *fetch.flags;
    } else if (PieceOut* piece = fetch.uid ? pieceOut(*fetch.uid, *fetch.body_origin) : nullptr) {
      if (fetch.body && !piece->direct) piece->buffer = *fetch.body;  // a short piece may come inline
      piece->answered = fetch.body.has_value() || fetch.body_streamed;
      if (fetch.internaldate) piece->message->internaldate = *fetch.internaldate;
      if (fetch.flags) piece->message->flags = *fetch.flags;
      if (piece->direct) {
        if (Status s = piece->message->endDirect(); !s.isOk()) return lose(s);
      }
    }
    target_ = nullptr;
    piece_buffer_ = nullptr;
    return;
  }
  FolderWork* f = selected_;
  bool wanted = f != nullptr && fetch.uid && f->requested.count(*fetch.uid) && !f->received.count(*fetch.uid);
  if (!wanted || (!fetch.body_streamed && !fetch.body)) {
    // A flag update, a message we did not ask for, or BODY[] NIL.
    if (fetch.body_streamed) dropWriter();
    return;
  }
  Status s = storeMessage(*f, fetch);
  if (!s.isOk()) return lose(s);
}

Status ImapSession::storeMessage(FolderWork& folder, const imap::FetchData& fetch) {
  if (!fetch.body_streamed) {  // sent inline as a quoted string
    Result<ObjectWriterPtr> w = ctx_.services.recorder->beginMessage();
    if (!w) return w.status();
    writer_ = std::move(*w);
    MAILARK_RETURN_IF_ERROR(writer_->append(std::span<const char>(fetch.body->data(), fetch.body->size())));
  }
  if (!writer_) return internalError("no object writer for a streamed BODY[]");
  target_ = nullptr;
  return recordMessage(folder, *fetch.uid, std::move(writer_), fetch.internaldate.value_or(""),
                       fetch.flags.value_or(""));
}

Status ImapSession::recordMessage(FolderWork& folder, uint32_t uid, ObjectWriterPtr writer, std::string internaldate,
                                  std::string flags) {
  uint64_t size = writer->size();
  MessageRecord rec;
  rec.uid = uid;
  rec.internaldate = std::move(internaldate);
  rec.flags = std::move(flags);
  MAILARK_RETURN_IF_ERROR(ctx_.services.recorder->finishMessage(folder.state.folder_id, std::move(writer), std::move(rec)));
  folder.received.insert(uid);
  ++ctx_.result.messages;
  ctx_.result.bytes += size;
  return Status::ok();
}

}  // namespace mailark::engine

#include "src/engine/plan_job.h"

#include "src/base/log.h"
#include "src/engine/folder_filter.h"
#include "src/imap/mutf7.h"
#include "src/imap/xoauth2_login.h"

namespace mailark::engine {

namespace {

// "* STATUS name (MESSAGES n UIDNEXT n UIDVALIDITY n SIZE n)" into `f`.
bool readStatus(const imap::Response& r, FolderForecast& f) {
  std::optional<imap::StatusData> status = imap::parseStatus(r);
  if (!status) return false;
  f.messages = status->messages.value_or(0);
  f.uidnext = status->uidnext.value_or(0);
  f.uidvalidity = status->uidvalidity.value_or(0);
  if (status->size) f.size = status->size;
  return true;
}

}  // namespace

PlannerBase::PlannerBase(uv_loop_t* loop, std::shared_ptr<tls::TlsContext> tls, TokenProvider* tokens,
                         StateStore* state, const JobSettings& settings, std::string mailbox,
                         std::function<void()> on_finished)
    : loop_(loop),
      tls_(std::move(tls)),
      tokens_(tokens),
      state_(state),
      settings_(settings),
      on_finished_(std::move(on_finished)) {
  forecast_.mailbox = std::move(mailbox);
}

PlanJob::PlanJob(uv_loop_t* loop, std::shared_ptr<tls::TlsContext> tls, TokenProvider* tokens, StateStore* state,
                 const JobSettings& settings, std::string mailbox, std::function<void()> on_finished)
    : PlannerBase(loop, std::move(tls), tokens, state, settings, std::move(mailbox), std::move(on_finished)) {}

PlanJob::~PlanJob() {
  if (connection_) connection_->close();
}

const char* PlanJob::phaseName(Phase p) {
  switch (p) {
    case Phase::Idle: return "idle";
    case Phase::Token: return "token";
    case Phase::Connecting: return "connecting";
    case Phase::LoggingIn: return "logging in";
    case Phase::Listing: return "listing folders";
    case Phase::Status: return "folder status";
    case Phase::Examining: return "examining folder";
    case Phase::ListingUids: return "listing new UIDs";
    case Phase::LoggingOut: return "logging out";
    case Phase::Done: return "done";
  }
  return "?";
}

void PlanJob::setPhase(Phase p) {
  log::debug(forecast_.mailbox + ": plan " + phaseName(phase_) + " -> " + phaseName(p));
  phase_ = p;
}

void PlanJob::start() {
  setPhase(Phase::Token);
  tokens_->getToken([this](const Result<AccessToken>& token) {
    if (!token) return finish(token.status());
    connect(token->value);
  });
}

void PlanJob::connect(const std::string& token) {
  setPhase(Phase::Connecting);
  connection_ = std::make_unique<imap::ImapConnection>(loop_, tls_, this, settings_.limits);
  connection_->open(settings_.host, settings_.port, settings_.idle_timeout_ms, [this, token](const Status& s) {
    if (!s.isOk()) return finish(s);
    setPhase(Phase::LoggingIn);
    imap::loginXoauth2(*connection_, forecast_.mailbox, token, [this](const imap::LoginResult& r) {
      if (!r.status.isOk()) return finish(r.status);
      listFolders();
    });
  });
}

void PlanJob::listFolders() {
  setPhase(Phase::Listing);
  connection_->send(imap::CommandBuilder(false).raw("LIST \"\" \"*\"").build(), [this](imap::Response& r) {
    if (r.status != "OK") return finish(protocolError("LIST failed: " + imap::describeResponse(r)));
    folder_index_ = 0;
    nextFolder();
  });
}

void PlanJob::nextFolder() {
  // The same folder choice as MailboxJob::nextFolder, so the plan counts
  // exactly the folders a run archives.
  for (; folder_index_ < folders_.size(); ++folder_index_) {
    const imap::ListEntry& entry = folders_[folder_index_];
    if (!entry.selectable()) continue;
    Result<std::string> decoded = imap::decodeMutf7(entry.name);
    std::string name = decoded ? *decoded : entry.name;
    if (!settings_.include_non_mail_folders && isNonMailFolder(name, entry.delimiter)) continue;
    current_ = FolderForecast{};
    current_.folder = std::move(name);
    return statusFolder();
  }
  logout();
}

void PlanJob::statusFolder() {
  setPhase(Phase::Status);
  status_seen_ = false;
  std::string items = connection_->hasCapability("STATUS=SIZE") ? "(MESSAGES UIDNEXT UIDVALIDITY SIZE)"
                                                                 : "(MESSAGES UIDNEXT UIDVALIDITY)";
  bool literal_plus = connection_->hasCapability("LITERAL+");
  connection_->send(imap::CommandBuilder(literal_plus).raw("STATUS").string(folders_[folder_index_].name).raw(items).build(),
                    [this](imap::Response& r) {
                      if (r.status != "OK" || !status_seen_) {
                        // Deleted since LIST: the run would skip it as well.
                        ++folder_index_;
                        return nextFolder();
                      }
                      compare();
                    });
}

void PlanJob::compare() {
  if (current_.uidvalidity == 0) return finish(protocolError("STATUS " + current_.folder + " gave no UIDVALIDITY"));
  std::optional<FolderState> row;
  if (state_ != nullptr) {
    Result<std::optional<FolderState>> found = state_->findFolder(forecast_.mailbox, current_.folder, current_.uidvalidity);
    if (!found) return finish(found.status());
    row = *found;
  }
  current_.in_archive = row.has_value();
  // What MailboxJob passes over without listing UIDs (the plan asks no
  // HIGHESTMODSEQ: flag changes move no bytes).
  if (current_.messages == 0 ||
      (row && checkFolder(current_.messages, current_.uidnext, 0, *row) != FolderCheck::Examine)) {
    current_.to_fetch_bytes = 0;
    return folderDone();
  }
  if (!row) {
    // A folder (or UIDVALIDITY) the archive has never seen: all of it.
    current_.to_fetch = current_.messages;
    current_.to_fetch_bytes = current_.size;
    return folderDone();
  }
  listNewUids(*row);
}

void PlanJob::listNewUids(const FolderState& row) {
  setPhase(Phase::Examining);
  bool literal_plus = connection_->hasCapability("LITERAL+");
  connection_->send(imap::CommandBuilder(literal_plus).raw("EXAMINE").string(folders_[folder_index_].name).build(),
                    [this, row](imap::Response& r) {
                      if (r.status != "OK") {
                        ++folder_index_;
                        return nextFolder();
                      }
                      setPhase(Phase::ListingUids);
                      listed_.clear();
                      uint32_t from = row.highest_uid + 1;
                      std::string cmd = "UID FETCH " + std::to_string(from) + ":* (UID RFC822.SIZE)";
                      connection_->send(imap::CommandBuilder(false).raw(cmd).build(), [this, row, from](imap::Response& r) {
                        if (r.status != "OK")
                          return finish(protocolError("listing UIDs of " + current_.folder +
                                                      " failed: " + imap::describeResponse(r)));
                        Result<std::vector<uint32_t>> archived = state_->archivedUids(row.folder_id, from);
                        if (!archived) return finish(archived.status());
                        uint64_t bytes = 0;
                        std::vector<ServerMessage> todo = messagesToFetch(listed_, from, *archived);
                        for (const ServerMessage& m : todo) bytes += m.size;
                        current_.to_fetch = todo.size();
                        current_.to_fetch_bytes = bytes;
                        folderDone();
                      });
                    });
}

void PlanJob::folderDone() {
  forecast_.messages += current_.messages;
  forecast_.to_fetch += current_.to_fetch;
  if (current_.to_fetch_bytes) {
    forecast_.to_fetch_bytes += *current_.to_fetch_bytes;
  } else {
    forecast_.bytes_complete = false;
  }
  forecast_.folders.push_back(std::move(current_));
  ++folder_index_;
  nextFolder();
}

void PlanJob::logout() {
  setPhase(Phase::LoggingOut);
  connection_->send(imap::CommandBuilder(false).raw("LOGOUT").build(), [this](imap::Response&) { finish(Status::ok()); });
}

void PlanJob::finish(Status status) {
  if (phase_ == Phase::Done) return;
  setPhase(Phase::Done);
  forecast_.status = std::move(status);
  if (connection_) connection_->close();
  on_finished_();
}

void PlanJob::onUntagged(imap::Response& r) {
  switch (phase_) {
    case Phase::Listing:
      if (auto entry = imap::parseList(r)) folders_.push_back(std::move(*entry));
      return;
    case Phase::Status:
      if (readStatus(r, current_)) status_seen_ = true;
      return;
    case Phase::ListingUids:
      if (auto f = imap::parseFetch(r); f && f->uid) listed_.push_back({*f->uid, f->rfc822_size.value_or(0)});
      return;
    default:
      return;
  }
}

imap::LiteralSink* PlanJob::onLiteralStart(const imap::LiteralContext&) { return nullptr; }

void PlanJob::onConnectionLost(const Status& reason) {
  // A BYE after LOGOUT is the normal end, not a failure.
  if (phase_ == Phase::LoggingOut) return finish(Status::ok());
  finish(reason);
}

}  // namespace mailark::engine

#include "src/engine/pop3_plan_job.h"

#include <charconv>
#include <set>

#include "src/base/log.h"
#include "src/pop3/xoauth2_login.h"

namespace mailark::engine {

namespace {

constexpr const char* kFolder = "INBOX";     // as Pop3Job records it
constexpr uint32_t kPop3UidValidity = 0;

// "<number> <octets>" of a LIST reply; false for anything else.
bool parseListLine(std::string_view line, uint32_t* number, uint64_t* octets) {
  size_t space = line.find(' ');
  if (space == std::string_view::npos) return false;
  auto a = std::from_chars(line.data(), line.data() + space, *number);
  auto b = std::from_chars(line.data() + space + 1, line.data() + line.size(), *octets);
  return a.ec == std::errc() && b.ec == std::errc();
}

}  // namespace

Pop3PlanJob::Pop3PlanJob(uv_loop_t* loop, std::shared_ptr<tls::TlsContext> tls, TokenProvider* tokens,
                         StateStore* state, const JobSettings& settings, std::string mailbox,
                         std::function<void()> on_finished)
    : PlannerBase(loop, std::move(tls), tokens, state, settings, std::move(mailbox), std::move(on_finished)) {}

Pop3PlanJob::~Pop3PlanJob() {
  if (connection_) connection_->close();
}

void Pop3PlanJob::start() {
  tokens_->getToken([this](const Result<AccessToken>& token) {
    if (!token) return finish(token.status());
    connection_ = std::make_unique<pop3::Pop3Connection>(loop_, tls_, static_cast<pop3::Pop3ConnectionCallbacks*>(this));
    std::string value = token->value;
    connection_->open(settings_.host, settings_.port, settings_.idle_timeout_ms, [this, value](const Status& s) {
      if (!s.isOk()) return finish(s);
      pop3::loginXoauth2(*connection_, forecast_.mailbox, value, [this](const pop3::Reply& reply) {
        if (!reply.ok)
          return finish(authRejected("POP3 AUTH XOAUTH2 failed for " + forecast_.mailbox + ": server answered \"-ERR " +
                                     reply.text + "\" (run `mailark doctor` to find out why)"));
        listUidls();
      });
    });
  });
}

void Pop3PlanJob::listUidls() {
  pop3::Request r;
  r.line = "UIDL";
  r.shape = pop3::Shape::Lines;
  r.on_line = [this](std::string_view line) -> Status {
    Result<pop3::UidlEntry> e = pop3::parseUidlLine(line);
    if (!e) return e.status();
    listed_.push_back(std::move(*e));
    return Status::ok();
  };
  r.done = [this](const pop3::Reply& reply) {
    if (!reply.ok) return finish(protocolError("UIDL refused (\"-ERR " + reply.text + "\")"));
    listSizes();
  };
  connection_->send(std::move(r));
}

void Pop3PlanJob::listSizes() {
  pop3::Request r;
  r.line = "LIST";
  r.shape = pop3::Shape::Lines;
  r.on_line = [this](std::string_view line) -> Status {
    uint32_t number = 0;
    uint64_t octets = 0;
    if (parseListLine(line, &number, &octets)) sizes_[number] = octets;
    return Status::ok();
  };
  // Sizes are a nicety: a refused LIST leaves them unknown.
  r.done = [this](const pop3::Reply&) { compare(); };
  connection_->send(std::move(r));
}

void Pop3PlanJob::compare() {
  if (Status s = pop3::checkUidlListing(listed_); !s.isOk()) return finish(s);
  std::set<std::string> have;
  if (state_ != nullptr) {
    Result<std::optional<FolderState>> row = state_->findFolder(forecast_.mailbox, kFolder, kPop3UidValidity);
    if (!row) return finish(row.status());
    if (*row) {
      Result<std::vector<StateStore::UidlRow>> archived = state_->archivedUidls((*row)->folder_id);
      if (!archived) return finish(archived.status());
      for (const StateStore::UidlRow& r : *archived) have.insert(r.uidl);
    }
  }
  FolderForecast f;
  f.folder = kFolder;
  f.messages = listed_.size();
  f.in_archive = !have.empty();
  bool sizes_known = sizes_.size() >= listed_.size();
  uint64_t total = 0, fetch_bytes = 0;
  for (const pop3::UidlEntry& e : listed_) {
    uint64_t size = sizes_.count(e.number) ? sizes_[e.number] : 0;
    total += size;
    if (have.count(e.uidl)) continue;
    ++f.to_fetch;
    fetch_bytes += size;
  }
  if (sizes_known) {
    f.size = total;
    f.to_fetch_bytes = fetch_bytes;
  }
  forecast_.messages = f.messages;
  forecast_.to_fetch = f.to_fetch;
  forecast_.to_fetch_bytes = fetch_bytes;
  forecast_.bytes_complete = sizes_known;
  forecast_.folders.push_back(std::move(f));
  quitting_ = true;
  pop3::Request quit;
  quit.line = "QUIT";
  quit.done = [this](const pop3::Reply&) { finish(Status::ok()); };
  connection_->send(std::move(quit));
}

void Pop3PlanJob::finish(Status status) {
  if (done_) return;
  done_ = true;
  forecast_.status = std::move(status);
  if (connection_) connection_->close();
  on_finished_();
}

void Pop3PlanJob::onConnectionLost(const Status& reason) {
  if (quitting_) return finish(Status::ok());
  finish(reason);
}

}  // namespace mailark::engine

#include "mailark/status.h"

#include <cerrno>
#include <cstring>

namespace mailark {

std::string_view statusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::Ok: return "Ok";
    case StatusCode::Config: return "Config";
    case StatusCode::AuthRejected: return "AuthRejected";
    case StatusCode::ProtocolError: return "ProtocolError";
    case StatusCode::Transient: return "Transient";
    case StatusCode::MailboxChanged: return "MailboxChanged";
    case StatusCode::StorageFull: return "StorageFull";
    case StatusCode::Io: return "Io";
    case StatusCode::Tls: return "Tls";
    case StatusCode::NotFound: return "NotFound";
    case StatusCode::Cancelled: return "Cancelled";
    case StatusCode::Internal: return "Internal";
  }
  return "Unknown";
}

std::string Status::toString() const {
  if (isOk()) return "Ok";
  std::string s(statusCodeName(code_));
  s += ": ";
  s += message_;
  return s;
}

Status Status::withContext(std::string_view context) const {
  if (isOk()) return *this;
  std::string m(context);
  m += ": ";
  m += message_;
  return {code_, std::move(m)};
}

Status errnoStatus(int err, std::string_view what) {
  std::string m(what);
  m += ": ";
  m += std::strerror(err);
  if (err == ENOSPC || err == EDQUOT) {
    m += " (the archive's disk is full: free space or move [archive] path, then rerun)";
    return {StatusCode::StorageFull, std::move(m)};
  }
  return {StatusCode::Io, std::move(m)};
}

}  // namespace mailark

// Status and Result<T>: how every fallible mailark function reports failure.
//
// Shaped like leveldb::Status and absl::StatusOr. Codes are domain-level so
// retry logic can switch on them; the message is for people and must never
// contain a secret or a token.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace mailark {

enum class StatusCode {
  Ok,
  Config,         // the user's configuration is wrong; fix it and rerun
  AuthRejected,   // credentials or token refused (identity platform or server)
  ProtocolError,  // the peer sent bytes we cannot accept
  Transient,      // worth retrying later (network, 5xx, throttling)
  MailboxChanged, // UIDVALIDITY changed under us
  StorageFull,    // ENOSPC / EDQUOT on the archive
  Io,             // any other local I/O failure
  Tls,            // TLS handshake or certificate verification failed
  NotFound,       // asked-for object, row or file does not exist
  Cancelled,      // stopped by the user or by shutdown
  Internal,       // a bug in mailark
};

std::string_view statusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return {}; }

  bool isOk() const { return code_ == StatusCode::Ok; }
  explicit operator bool() const { return isOk(); }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "ProtocolError: <message>" -- for logs; user-facing output prints message().
  std::string toString() const;

  // Prefixes the message with context, keeping the code: "mailbox a@b: <msg>".
  Status withContext(std::string_view context) const;

  void ignoreError() const {}

 private:
  StatusCode code_ = StatusCode::Ok;
  std::string message_;
};

inline Status configError(std::string m) { return {StatusCode::Config, std::move(m)}; }
inline Status authRejected(std::string m) { return {StatusCode::AuthRejected, std::move(m)}; }
inline Status protocolError(std::string m) { return {StatusCode::ProtocolError, std::move(m)}; }
inline Status transientError(std::string m) { return {StatusCode::Transient, std::move(m)}; }
inline Status ioError(std::string m) { return {StatusCode::Io, std::move(m)}; }
inline Status tlsError(std::string m) { return {StatusCode::Tls, std::move(m)}; }
inline Status notFound(std::string m) { return {StatusCode::NotFound, std::move(m)}; }
inline Status internalError(std::string m) { return {StatusCode::Internal, std::move(m)}; }

// Maps an errno value from a failed file operation to Status (ENOSPC and
// EDQUOT become StorageFull). `what` names the operation and path.
Status errnoStatus(int err, std::string_view what);

// A value or a non-ok Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Status status) : v_(std::move(status)) { assert(!std::get<Status>(v_).isOk()); }

  bool isOk() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return isOk(); }

  // REQUIRES: isOk()
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  // Ok status when a value is held.
  Status status() const { return isOk() ? Status() : std::get<Status>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace mailark

// Returns early from the enclosing function when `expr` is not ok.
#define MAILARK_RETURN_IF_ERROR(expr)            \
  do {                                           \
    ::mailark::Status mailark_status_ = (expr);  \
    if (!mailark_status_.isOk()) return mailark_status_; \
  } while (0)

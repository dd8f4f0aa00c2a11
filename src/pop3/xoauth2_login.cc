#include "src/pop3/xoauth2_login.h"

#include <memory>

#include "src/imap/xoauth2.h"

namespace mailark::pop3 {

void loginXoauth2(Pop3Connection& connection, const std::string& mailbox, const std::string& token,
                  std::function<void(const Reply&)> done) {
  auto sent = std::make_shared<bool>(false);
  Request r;
  r.line = "AUTH XOAUTH2";
  r.shape = Shape::Sasl;
  r.on_continuation = [sent, payload = imap::xoauth2InitialResponse(mailbox, token)](std::string_view) -> std::string {
    if (*sent) return "";
    *sent = true;
    return payload;
  };
  r.done = std::move(done);
  connection.send(std::move(r));
}

}  // namespace mailark::pop3

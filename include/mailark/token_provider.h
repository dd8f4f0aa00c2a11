// TokenProvider: hands out the app-only access token shared by every
// connection of one app registration.
//
// Threading: belongs to one libuv loop; callbacks run on that loop.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "mailark/status.h"

namespace mailark {

struct AccessToken {
  std::string value;  // the bearer token; never log it
  std::chrono::system_clock::time_point expires_at;
};

class TokenProvider {
 public:
  virtual ~TokenProvider() = default;

  using Callback = std::function<void(const Result<AccessToken>&)>;

  // Calls `done` (always asynchronously, on the loop) with a token valid for
  // a while longer, or with the error that prevented getting one. Concurrent
  // callers share one request in flight (single flight).
  virtual void getToken(Callback done) = 0;

  // Forgets the cached token, e.g. after a server said it expired, so the
  // next getToken() asks the identity platform again.
  virtual void invalidate() {}
};
using TokenProviderPtr = std::unique_ptr<TokenProvider>;

}  // namespace mailark

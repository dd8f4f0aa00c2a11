#include "src/imap/server_signals.h"

#include <gtest/gtest.h>

namespace mailark::imap {
namespace {

Response status(const char* st, const char* text, const char* code = "") {
  Response r;
  r.kind = Response::Kind::Tagged;
  r.tag = "A7";
  r.status = st;
  r.text = text;
  r.code = code;
  return r;
}

TEST(ServerSignals, ThrottledWithBackoff) {
  Classified c = classify(status("NO", "Request is throttled. Suggested Backoff Time: 89432 milliseconds"));
  EXPECT_EQ(c.signal, ServerSignal::Throttled);
  EXPECT_EQ(c.backoff, std::chrono::milliseconds(89432));
  c = classify(status("BAD", "Request is throttled. Suggested Backoff Time=1200 milliseconds"));
  EXPECT_EQ(c.backoff, std::chrono::milliseconds(1200));
}

TEST(ServerSignals, BackoffIsCapped) {
  EXPECT_EQ(classify(status("NO", "Request is throttled. Suggested Backoff Time: 999999999 milliseconds")).backoff,
            kMaxThrottleBackoff);
}

TEST(ServerSignals, ThrottledWithoutNumberUsesDefault) {
  Classified c = classify(status("NO", "Request is throttled."));
  EXPECT_EQ(c.signal, ServerSignal::Throttled);
  EXPECT_EQ(c.backoff, std::chrono::seconds(30));
}

TEST(ServerSignals, TokenExpiredBye) {
  Response r = status("BYE", "Session invalidated - AccessTokenExpired");
  r.kind = Response::Kind::Untagged;
  EXPECT_EQ(classify(r).signal, ServerSignal::AccessTokenExpired);
}

TEST(ServerSignals, NotConnected) {
  EXPECT_EQ(classify(status("BAD", "User is authenticated but not connected.")).signal, ServerSignal::NotConnected);
}

TEST(ServerSignals, OrdinaryResponsesAreNone) {
  EXPECT_EQ(classify(status("OK", "FETCH completed.")).signal, ServerSignal::None);
  EXPECT_EQ(classify(status("NO", "Some of the requested messages no longer exist")).signal, ServerSignal::None);
  EXPECT_FALSE(throttleBackoff("Backoff Time: soon").has_value());
}

}  // namespace
}  // namespace mailark::imap

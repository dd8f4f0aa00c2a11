#include "src/imap/xoauth2.h"

#include <gtest/gtest.h>

namespace mailark::imap {
namespace {

// The example from Google's XOAUTH2 protocol description.
TEST(Xoauth2, MatchesPublishedExample) {
  EXPECT_EQ(xoauth2InitialResponse("someuser@example.com", "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg"),
            "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRH"
            "RXVZMjl0Q2cBAQ==");
}

}  // namespace
}  // namespace mailark::imap

#include "src/loop/curl_multi_uv.h"

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/auth/auth_testbed.h"

namespace mailark::loop {
namespace {

using auth::authtest::AuthTestbed;

size_t appendBody(char* p, size_t s, size_t n, void* u) {
  static_cast<std::string*>(u)->append(p, s * n);
  return s * n;
}

// One easy handle with its own body buffer.
struct Transfer {
  CURL* easy = curl_easy_init();
  std::string body;
  std::optional<CURLcode> result;

  Transfer(const std::string& url, const std::string& ca_file) {
    curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
    if (!ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, ca_file.c_str());
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &appendBody);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &body);
  }
  ~Transfer() { curl_easy_cleanup(easy); }
  long httpStatus() const {
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    return status;
  }
};

class CurlMultiUvTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    bed_ = AuthTestbed::start().release();
  }
  static void TearDownTestSuite() {
    delete bed_;
    bed_ = nullptr;
    curl_global_cleanup();
  }

  void SetUp() override {
    ASSERT_NE(bed_, nullptr) << "test bed did not start";
    ASSERT_EQ(uv_loop_init(&loop_), 0);
    multi_ = std::make_unique<CurlMultiUv>(&loop_);
  }

  // Every test ends like this: all handles closed, the loop closable.
  void TearDown() override {
    multi_.reset();
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0);
  }

  void runUntil(const std::function<bool()>& done) {
    while (!done() && uv_run(&loop_, UV_RUN_ONCE) != 0) {
    }
    EXPECT_TRUE(done());
  }

  Status start(Transfer& t) {
    return multi_->add(t.easy, [&t](CURLcode rc) { t.result = rc; });
  }

  std::string url(const std::string& path) const { return bed_->authority + path; }

  static AuthTestbed* bed_;
  uv_loop_t loop_{};
  std::unique_ptr<CurlMultiUv> multi_;
};
AuthTestbed* CurlMultiUvTest::bed_ = nullptr;

TEST_F(CurlMultiUvTest, HttpsGetCompletes) {
  Transfer t(url("/_stats"), bed_->ca_file);
  ASSERT_TRUE(start(t).isOk());
  EXPECT_EQ(multi_->inFlight(), 1u);
  EXPECT_FALSE(t.result.has_value());  // never synchronous
  runUntil([&] { return t.result.has_value(); });
  EXPECT_EQ(*t.result, CURLE_OK);
  EXPECT_EQ(t.httpStatus(), 200);
  EXPECT_NE(t.body.find("\"token_requests\""), std::string::npos) << t.body;
  EXPECT_EQ(multi_->inFlight(), 0u);
}

TEST_F(CurlMultiUvTest, ManyConcurrentTransfers) {
  std::vector<std::unique_ptr<Transfer>> ts;
  for (int i = 0; i < 20; ++i) {
    ts.push_back(std::make_unique<Transfer>(url("/_stats"), bed_->ca_file));
    ASSERT_TRUE(start(*ts.back()).isOk());
  }
  EXPECT_EQ(multi_->inFlight(), 20u);
  runUntil([&] {
    for (auto& t : ts)
      if (!t->result) return false;
    return true;
  });
  for (auto& t : ts) {
    EXPECT_EQ(*t->result, CURLE_OK);
    EXPECT_EQ(t->httpStatus(), 200);
  }
}

TEST_F(CurlMultiUvTest, UntrustedCertificateFailsVerification) {
  Transfer t(url("/_stats"), "");  // the system bundle does not know the bed's CA
  ASSERT_TRUE(start(t).isOk());
  runUntil([&] { return t.result.has_value(); });
  EXPECT_EQ(*t.result, CURLE_PEER_FAILED_VERIFICATION);
}

TEST_F(CurlMultiUvTest, ConnectionRefused) {
  Transfer t("https://127.0.0.1:1/", "");
  ASSERT_TRUE(start(t).isOk());
  runUntil([&] { return t.result.has_value(); });
  EXPECT_EQ(*t.result, CURLE_COULDNT_CONNECT);
}

TEST_F(CurlMultiUvTest, AddTwiceIsRefused) {
  Transfer t(url("/_stats"), bed_->ca_file);
  ASSERT_TRUE(start(t).isOk());
  Status st = start(t);
  EXPECT_EQ(st.code(), StatusCode::Internal);
  runUntil([&] { return t.result.has_value(); });
  EXPECT_EQ(*t.result, CURLE_OK);
}

TEST_F(CurlMultiUvTest, RemoveDropsTheCallback) {
  Transfer slow(url("/_stats"), bed_->ca_file);
  Transfer fast(url("/_stats"), bed_->ca_file);
  ASSERT_TRUE(start(slow).isOk());
  ASSERT_TRUE(start(fast).isOk());
  uv_run(&loop_, UV_RUN_NOWAIT);  // let the first connects begin
  EXPECT_TRUE(multi_->remove(slow.easy));
  EXPECT_FALSE(multi_->remove(slow.easy));
  runUntil([&] { return fast.result.has_value(); });
  EXPECT_EQ(*fast.result, CURLE_OK);
  EXPECT_FALSE(slow.result.has_value());
  EXPECT_EQ(multi_->inFlight(), 0u);
}

TEST_F(CurlMultiUvTest, CloseWithTransfersInFlightDeliversNothing) {
  Transfer a(url("/_stats"), bed_->ca_file);
  Transfer b(url("/_stats"), bed_->ca_file);
  ASSERT_TRUE(start(a).isOk());
  ASSERT_TRUE(start(b).isOk());
  uv_run(&loop_, UV_RUN_NOWAIT);
  uv_run(&loop_, UV_RUN_NOWAIT);
  multi_->close();
  EXPECT_EQ(multi_->inFlight(), 0u);
  EXPECT_EQ(multi_->add(a.easy, [](CURLcode) {}).code(), StatusCode::Cancelled);
  uv_run(&loop_, UV_RUN_DEFAULT);  // returns: nothing is left open
  EXPECT_FALSE(a.result.has_value());
  EXPECT_FALSE(b.result.has_value());
}

TEST_F(CurlMultiUvTest, DestroyFromInsideDoneCallback) {
  Transfer first(url("/_stats"), bed_->ca_file);
  Transfer other("https://127.0.0.1:1/", "");
  int calls = 0;
  ASSERT_TRUE(multi_->add(first.easy, [&](CURLcode rc) {
    ++calls;
    first.result = rc;
    multi_.reset();  // owner goes away on the callback's stack
  }).isOk());
  ASSERT_TRUE(multi_->add(other.easy, [&](CURLcode rc) {
    ++calls;
    other.result = rc;
    multi_.reset();
  }).isOk());
  runUntil([&] { return calls > 0; });
  uv_run(&loop_, UV_RUN_DEFAULT);
  EXPECT_EQ(calls, 1);  // the second transfer was dropped with its owner
}

TEST_F(CurlMultiUvTest, ReAddFromInsideDoneCallback) {
  Transfer t(url("/_stats"), bed_->ca_file);
  int rounds = 0;
  std::function<void(CURLcode)> again = [&](CURLcode rc) {
    EXPECT_EQ(rc, CURLE_OK);
    if (++rounds < 3) {
      t.body.clear();
      EXPECT_TRUE(multi_->add(t.easy, again).isOk());
    }
  };
  ASSERT_TRUE(multi_->add(t.easy, again).isOk());
  runUntil([&] { return rounds == 3; });
  EXPECT_EQ(t.httpStatus(), 200);
}

}  // namespace
}  // namespace mailark::loop

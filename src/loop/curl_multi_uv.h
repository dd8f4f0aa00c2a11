// CurlMultiUv: runs libcurl easy transfers on a libuv loop.
//
// Drives one CURLM through CURLMOPT_SOCKETFUNCTION (one uv_poll_t per socket
// curl wants watched) and CURLMOPT_TIMERFUNCTION (one uv_timer_t), the
// arrangement curl's docs/examples/multi-uv.c describes. Finished transfers
// are found with curl_multi_info_read and reported to their `done` callback.
//
// Ownership: the easy handles stay owned by the caller; CurlMultiUv only adds
// and removes them. The uv handles live in a heap core that is freed from
// their close callbacks, so a CurlMultiUv may be closed or destroyed at any
// time, including from inside a `done` callback. After close() no callback is
// delivered: transfers still in flight are removed from the multi handle and
// their callbacks are dropped uncalled (owners that care remove() first).
//
// REQUIRES: curl_global_init() was called (curl_global_init is not thread
// safe, so main() or the test's main does it once).
// Threading: belongs to the loop's thread, like every easy handle added.
#pragma once

#include <cstddef>
#include <functional>

#include <curl/curl.h>
#include <uv.h>

#include "mailark/status.h"

namespace mailark::loop {

class CurlMultiUv {
 public:
  // Called once when the transfer ends, with curl's result for it. The easy
  // handle has already been removed from the multi handle, so the callback
  // may curl_easy_cleanup() it or add() it again.
  using DoneCallback = std::function<void(CURLcode)>;

  // `loop` must outlive this object's handles (run the loop after close()
  // until it has no more handles, then uv_loop_close()).
  explicit CurlMultiUv(uv_loop_t* loop);
  ~CurlMultiUv();  // implies close()
  CurlMultiUv(const CurlMultiUv&) = delete;
  CurlMultiUv& operator=(const CurlMultiUv&) = delete;

  // Starts `easy`. `done` runs on the loop when the transfer ends; never
  // before add() returns. Returns Cancelled after close(), Internal when curl
  // refuses the handle (e.g. it is already added somewhere).
  // REQUIRES: `easy` stays alive until `done` runs or remove(easy) is called.
  Status add(CURL* easy, DoneCallback done);

  // Stops a transfer without calling its callback. Returns false when `easy`
  // was not in flight here (already done, never added, or closed).
  bool remove(CURL* easy);

  // Transfers added and not yet done or removed.
  size_t inFlight() const;

  // Removes every transfer (callbacks dropped), cleans up the multi handle
  // and closes the uv handles; idempotent. The loop can end afterwards.
  void close();

 private:
  struct Core;
  Core* core_;
};

}  // namespace mailark::loop

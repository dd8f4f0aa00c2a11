#include "src/loop/curl_multi_uv.h"

#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace mailark::loop {

// Holds the multi handle, the timer and every socket watch. It is freed when
// the owner has let go and the last uv handle's close callback has run, which
// may be after the CurlMultiUv that created it is gone.
struct CurlMultiUv::Core {
  // One watched socket. Freed from the poll handle's close callback.
  struct SocketWatch {
    uv_poll_t poll{};
    Core* core = nullptr;
    curl_socket_t fd = CURL_SOCKET_BAD;
  };

  uv_loop_t* loop = nullptr;
  CURLM* multi = nullptr;  // null once closed
  uv_timer_t timer{};
  bool timer_open = false;
  int refs = 0;  // the owner + open uv handles
  std::unordered_map<CURL*, DoneCallback> transfers;
  std::unordered_set<SocketWatch*> watches;

  void release() {
    if (--refs == 0) delete this;
  }

  void closeWatch(SocketWatch* watch);
  void socketAction(curl_socket_t fd, int flags);
  void dispatchCompletions();
  void shut();

  static int onSocket(CURL* easy, curl_socket_t fd, int what, void* userp, void* socketp);
  static int onTimerChange(CURLM* multi, long timeout_ms, void* userp);
};

void CurlMultiUv::Core::closeWatch(SocketWatch* watch) {
  watches.erase(watch);
  uv_poll_stop(&watch->poll);
  uv_close(reinterpret_cast<uv_handle_t*>(&watch->poll), [](uv_handle_t* h) {
    auto* w = static_cast<SocketWatch*>(h->data);
    Core* core = w->core;
    delete w;
    core->release();
  });
}

// curl tells us which events it wants on a socket. Called from inside
// curl_multi_* calls only, so it must not call back into the multi handle
// except for curl_multi_assign.
int CurlMultiUv::Core::onSocket(CURL*, curl_socket_t fd, int what, void* userp, void* socketp) {
  auto* core = static_cast<Core*>(userp);
  auto* watch = static_cast<SocketWatch*>(socketp);
  if (what == CURL_POLL_REMOVE) {
    if (watch != nullptr) {
      core->closeWatch(watch);
      curl_multi_assign(core->multi, fd, nullptr);
    }
    return 0;
  }
  if (watch == nullptr) {
    watch = new SocketWatch;
    watch->core = core;
    watch->fd = fd;
    if (uv_poll_init_socket(core->loop, &watch->poll, fd) != 0) {
      // Returning -1 makes curl fail this transfer instead of hanging it.
      delete watch;
      return -1;
    }
    watch->poll.data = watch;
    core->refs++;
    core->watches.insert(watch);
    curl_multi_assign(core->multi, fd, watch);
  }
  int events = 0;
  if (what == CURL_POLL_IN || what == CURL_POLL_INOUT) events |= UV_READABLE;
  if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT) events |= UV_WRITABLE;
  int rc = uv_poll_start(&watch->poll, events, [](uv_poll_t* h, int status, int ev) {
    auto* w = static_cast<SocketWatch*>(h->data);
    int flags = 0;
    if (status < 0) {
      // Let curl find the socket error itself; it names it better.
      flags = CURL_CSELECT_ERR;
    } else {
      if (ev & UV_READABLE) flags |= CURL_CSELECT_IN;
      if (ev & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
    }
    // `w` may be closed inside socketAction; do not touch it afterwards.
    w->core->socketAction(w->fd, flags);
  });
  return rc == 0 ? 0 : -1;
}

// curl asks for its timeout to be (re)armed. libcurl forbids calling
// curl_multi_socket_action from here, so a zero timeout fires on the next
// loop iteration instead.
int CurlMultiUv::Core::onTimerChange(CURLM*, long timeout_ms, void* userp) {
  auto* core = static_cast<Core*>(userp);
  if (!core->timer_open) return 0;
  if (timeout_ms < 0) {
    uv_timer_stop(&core->timer);
    return 0;
  }
  uv_timer_start(&core->timer, [](uv_timer_t* h) {
    static_cast<Core*>(h->data)->socketAction(CURL_SOCKET_TIMEOUT, 0);
  }, static_cast<uint64_t>(timeout_ms), 0);
  return 0;
}

void CurlMultiUv::Core::socketAction(curl_socket_t fd, int flags) {
  if (multi == nullptr) return;
  int running = 0;
  curl_multi_socket_action(multi, fd, flags, &running);
  dispatchCompletions();
}

// Reports finished transfers. A callback may add, remove, close or destroy
// the owner; this core stays allocated meanwhile because the timer's close
// callback cannot run while we are on the stack, and `multi` turns null on
// close so the loop stops.
void CurlMultiUv::Core::dispatchCompletions() {
  CURLMsg* msg = nullptr;
  int left = 0;
  while (multi != nullptr && (msg = curl_multi_info_read(multi, &left)) != nullptr) {
    if (msg->msg != CURLMSG_DONE) continue;
    CURL* easy = msg->easy_handle;
    CURLcode result = msg->data.result;  // read before the handle is removed
    curl_multi_remove_handle(multi, easy);
    auto it = transfers.find(easy);
    if (it == transfers.end()) continue;
    DoneCallback done = std::move(it->second);
    transfers.erase(it);
    if (done) done(result);
  }
}

void CurlMultiUv::Core::shut() {
  CURLM* m = multi;
  // Removing handles may close sockets and so call onSocket(REMOVE), which
  // still needs `multi` for curl_multi_assign.
  if (m != nullptr) {
    for (auto& [easy, done] : transfers) curl_multi_remove_handle(m, easy);
    // From here curl must not call into this core: cleanup closes cached
    // connections, and the watches are closed by us below.
    curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, nullptr);
    curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, nullptr);
  }
  transfers.clear();
  multi = nullptr;
  while (!watches.empty()) closeWatch(*watches.begin());
  if (m != nullptr) curl_multi_cleanup(m);
  if (timer_open) {
    timer_open = false;
    uv_close(reinterpret_cast<uv_handle_t*>(&timer), [](uv_handle_t* h) {
      static_cast<Core*>(h->data)->release();
    });
  }
}

CurlMultiUv::CurlMultiUv(uv_loop_t* loop) : core_(new Core) {
  core_->loop = loop;
  core_->refs = 1;  // the owner
  uv_timer_init(loop, &core_->timer);
  core_->timer.data = core_;
  core_->timer_open = true;
  core_->refs++;
  core_->multi = curl_multi_init();
  if (core_->multi != nullptr) {
    curl_multi_setopt(core_->multi, CURLMOPT_SOCKETFUNCTION, &Core::onSocket);
    curl_multi_setopt(core_->multi, CURLMOPT_SOCKETDATA, core_);
    curl_multi_setopt(core_->multi, CURLMOPT_TIMERFUNCTION, &Core::onTimerChange);
    curl_multi_setopt(core_->multi, CURLMOPT_TIMERDATA, core_);
  }
}

CurlMultiUv::~CurlMultiUv() {
  close();
  core_->release();
}

Status CurlMultiUv::add(CURL* easy, DoneCallback done) {
  if (core_->multi == nullptr) {
    if (core_->timer_open) return internalError("curl_multi_init failed (out of memory?)");
    return {StatusCode::Cancelled, "HTTP client is closed"};
  }
  auto [it, inserted] = core_->transfers.emplace(easy, std::move(done));
  if (!inserted) return internalError("curl easy handle added twice");
  CURLMcode rc = curl_multi_add_handle(core_->multi, easy);
  if (rc != CURLM_OK) {
    core_->transfers.erase(it);
    return internalError(std::string("curl_multi_add_handle: ") + curl_multi_strerror(rc));
  }
  return Status::ok();
}

bool CurlMultiUv::remove(CURL* easy) {
  if (core_->multi == nullptr) return false;
  auto it = core_->transfers.find(easy);
  if (it == core_->transfers.end()) return false;
  // Erase first: removing may close a socket, and nothing may see the entry.
  core_->transfers.erase(it);
  curl_multi_remove_handle(core_->multi, easy);
  return true;
}

size_t CurlMultiUv::inFlight() const { return core_->transfers.size(); }

void CurlMultiUv::close() { core_->shut(); }

}  // namespace mailark::loop

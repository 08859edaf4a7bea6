#include "llm/proxy/llm_proxy.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <deque>
#include <future>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "net/curl_multi_loop.hpp"
#include "net/sse_parser.hpp"
#include "session/live/event.hpp"
#include "session/model/offset.hpp"
#include "session/server/auth_gate.hpp"
#include "session/server/query_text.hpp"
#include "session/server/session_routes.hpp"

namespace dsx::llm::proxy {

namespace http = boost::beast::http;
namespace beast = boost::beast;
namespace asio = boost::asio;
using nlohmann::json;
using session::server::Request;
using session::server::Response;
using session::server::RouteDone;
using session::server::RouteOutcome;
using session::server::TcpStream;

namespace {

// A client that reads this far behind is dropped (it resumes from the session).
constexpr std::size_t kMaxClientBacklog = 8u << 20;
// An upstream's error body kept for the client and data.error.
constexpr std::size_t kMaxErrorBody = 64u << 10;
constexpr std::chrono::seconds kClientWriteTimeout{60};
constexpr const char* kExpose = "X-Dsx-Session, X-Dsx-Run, X-Dsx-Offset";

std::string HeaderOf(const Request& req, std::string_view name) {
  auto it = req.find(beast::string_view(name.data(), name.size()));
  if (it == req.end()) return {};
  return std::string(it->value().data(), it->value().size());
}

Response JsonErr(const Request& req, int status, const std::string& why, const std::string& session_id = {}) {
  Response res = session::server::JsonError(req, status, why);
  res.set(http::field::access_control_expose_headers, kExpose);
  if (!session_id.empty()) res.set("X-Dsx-Session", session_id);
  return res;
}

std::string ChunkOf(std::string_view bytes) {
  char size[32];
  const int n = std::snprintf(size, sizeof size, "%zx\r\n", bytes.size());
  std::string out(size, static_cast<std::size_t>(n));
  out.append(bytes);
  out += "\r\n";
  return out;
}

// `data:` lines for a (possibly multi-line) data value.
void AppendDataLines(std::string* out, std::string_view data) {
  while (true) {
    const auto nl = data.find('\n');
    *out += "data: ";
    out->append(data.substr(0, nl));
    *out += '\n';
    if (nl == std::string_view::npos) break;
    data.remove_prefix(nl + 1);
  }
}

// Waits for a hub answer (the worker thread may block; the I/O threads never do).
struct HubWait {
  session::live::HubDone Done() {
    auto p = std::make_shared<std::promise<session::live::HubReply>>();
    fut = p->get_future();
    return [p](session::live::HubReply r) { p->set_value(std::move(r)); };
  }
  session::live::HubReply Get() { return fut.get(); }
  std::future<session::live::HubReply> fut;
};

std::string ReplyError(const session::live::HubReply& r) {
  if (r.body.is_object() && r.body.contains("error") && r.body["error"].is_string()) {
    return r.body["error"].get<std::string>();
  }
  return "session write failed (" + std::to_string(r.status) + ")";
}

}  // namespace

// Threads for the calls' blocking steps: one per call in flight, reused. A thread whose call
// ended waits kIdle for the next one before it exits, so a burst of calls pays no thread
// creation (and stack mapping) each (perf at 500 streams: pthread_create 3%, plus the stack
// unmapping's TLB flushes). Jobs never wait for each other: a job with no idle thread to take it
// gets a new thread. The threads hold the pool (shared_ptr), never the proxy.
class WorkerPool : public std::enable_shared_from_this<WorkerPool> {
 public:
  static constexpr std::chrono::seconds kIdle{10};

  void Post(std::function<void()> job) {
    std::unique_lock<std::mutex> lock(mu_);
    jobs_.push_back(std::move(job));
    if (idle_ >= jobs_.size()) {
      cv_.notify_one();
      return;
    }
    lock.unlock();
    std::thread([self = shared_from_this()] { self->Loop(); }).detach();
  }
  // Idle threads exit now; busy ones when their job is done.
  void Shutdown() {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    cv_.notify_all();
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      if (!jobs_.empty()) {
        std::function<void()> job = std::move(jobs_.front());
        jobs_.pop_front();
        lock.unlock();
        job();
        job = nullptr;  // what it holds (the Run) goes on this thread, before it waits
        lock.lock();
        continue;
      }
      if (stop_) return;
      ++idle_;
      const bool woke = cv_.wait_for(lock, kIdle, [this] { return stop_ || !jobs_.empty(); });
      --idle_;
      if (!woke) return;
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  std::size_t idle_ = 0;
  bool stop_ = false;
};

// The client's side of one call: owns the connection after the takeover. Any thread may queue
// bytes; writes run on the connection's I/O thread, one at a time. A peer that closes, a write
// error or a backlog over kMaxClientBacklog drops the client; the run is not affected.
class ClientConn : public std::enable_shared_from_this<ClientConn> {
 public:
  ClientConn(TcpStream&& stream) : stream_(std::move(stream)) {}

  void Start() {
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
      self->stream_.expires_never();  // the HTTP session's read deadline no longer applies
      self->ReadForClose();
    });
  }
  // Raw bytes (a response head or a whole response); `last`: close after them.
  void SendRaw(std::string bytes, bool last) { Queue(std::move(bytes), last); }
  // One chunk of a chunked body.
  void SendChunk(std::string_view bytes) {
    if (!bytes.empty()) Queue(ChunkOf(bytes), false);
  }
  // The chunked body's end, then close.
  void Finish() { Queue("0\r\n\r\n", true); }
  bool gone() const { return gone_.load(); }

 private:
  void Queue(std::string bytes, bool last) {
    std::lock_guard<std::mutex> lock(mu_);
    if (gone_.load() || finished_) return;
    pending_ += bytes;
    if (last) finished_ = true;
    if (pending_.size() > kMaxClientBacklog) {
      pending_.clear();
      gone_ = true;
      asio::post(stream_.get_executor(), [self = shared_from_this()] { self->Close(); });
      return;
    }
    if (writing_) return;  // the write in flight takes pending_ next
    // Nothing in flight: send from this thread (the upstream loop's, for a reply's frames) with
    // one non-blocking send(2), instead of waking the connection's I/O thread to do it: one
    // thread hop less on every token's way to the client (issue 17). What the socket does not
    // take at once, and the close after the last bytes, go through the I/O thread as before.
    SendNow();
    if (pending_.empty() && !finished_) return;
    writing_ = true;
    asio::post(stream_.get_executor(), [self = shared_from_this()] { self->DoWrite(); });
  }
  // Under mu_, nothing in flight: writes what the socket takes of pending_ now.
  void SendNow() {
    std::lock_guard<std::mutex> fd_lock(fd_mu_);  // Close() cannot close the socket meanwhile
    if (closed_fd_ || pending_.empty()) return;
    const int fd = stream_.socket().native_handle();
    std::size_t sent = 0;
    while (sent < pending_.size()) {
      const ssize_t n = ::send(fd, pending_.data() + sent, pending_.size() - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      break;  // EAGAIN: the I/O thread waits for room; an error: its async_write reports it
    }
    pending_.erase(0, sent);
  }
  void DoWrite() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (gone_.load()) {
        writing_ = false;
        return;
      }
      out_.swap(pending_);
      pending_.clear();
      if (out_.empty()) {
        writing_ = false;
        if (finished_) Close();
        return;
      }
    }
    stream_.expires_after(kClientWriteTimeout);
    asio::async_write(stream_, asio::buffer(out_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->stream_.expires_never();
      self->out_.clear();
      if (ec) {
        self->gone_ = true;
        return self->Close();
      }
      self->DoWrite();
    });
  }
  void ReadForClose() {
    stream_.async_read_some(asio::buffer(sink_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) {
        // The peer closed (or reset): nothing more can reach it. The run goes on.
        std::lock_guard<std::mutex> lock(self->mu_);
        if (!self->finished_ || self->writing_) self->gone_ = true;
        return;
      }
      self->ReadForClose();  // bytes after the request (pipelining) are ignored
    });
  }
  void Close() {
    if (closed_) return;
    closed_ = true;
    std::lock_guard<std::mutex> fd_lock(fd_mu_);  // after mu_ where both are held (DoWrite)
    closed_fd_ = true;
    beast::error_code ec;
    stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
    stream_.close();
  }

  TcpStream stream_;
  std::mutex mu_;
  std::string pending_;
  std::string out_;
  bool writing_ = false;
  bool finished_ = false;
  bool closed_ = false;  // I/O thread only
  // The socket's descriptor is closed (Close); guards SendNow's send(2) on another thread
  // against a close and the reuse of the descriptor number. Taken after mu_ where both are.
  std::mutex fd_mu_;
  bool closed_fd_ = false;
  std::atomic<bool> gone_{false};
  char sink_[512];
};

// One proxied call: from the takeover to run.end.
class Run : public std::enable_shared_from_this<Run> {
 public:
  Proxy* proxy = nullptr;
  std::string session_id;
  session::auth::Principal who;
  ProxyTarget target;
  std::string upstream_name;  // for run.start ("default" for the default upstream)
  std::string url;
  std::string body;
  dsx::net::HeaderList pass_headers;
  ProxyRequest request;
  std::string run_id = session::wire::RandomId("r-");
  std::string msg_id = session::wire::RandomId("m-");
  std::shared_ptr<ClientConn> client;

  // Ticker state.
  std::atomic<bool> cancel{false};
  std::mutex cancel_mu;
  std::string cancel_id;       // the control.cancel applied ("" when cancelled for another reason)
  std::string abort_reason;    // why the upstream was aborted without a control.cancel
  std::uint64_t watch_from = 0;  // under watch_mu (the ticker; the worker once, before run.end)
  session::StreamHandle stream;  // ticker only
  std::int64_t last_heartbeat_ms = 0;
  std::atomic<bool> registered{false};
  // Steering (docs/llm-proxy.md "Steer"), under cancel_mu: the steers the ticker accepted and
  // the worker has not applied yet (their events), and whether the last upstream call has ended
  // for good (a steer seen after that is rejected: the reply is complete).
  std::vector<json> steers;
  bool finishing = false;
  std::atomic<bool> reply_complete{false};  // the current call's upstream sent its end marker
  std::mutex watch_mu;  // the session scan from watch_from: the ticker's, then the worker's last

  void Main();
  // Starts an upstream call with this body on the proxy's upstream loop (call_).
  void StartCall(std::string request_body);
  // Creates the session, starts the first upstream call and submits the run's first append, all
  // on the calling (I/O) thread when the store answers at once, as the session routes do; what
  // is left is Main's, on a worker. The upstream is called only once SessionHub::CheckRunStart
  // passed, so a refused run (e.g. a busy lane) never reaches the upstream; the call then starts
  // before the append, so the upstream loop's wake-up and the request's way out overlap the
  // storing of the run's start, and nothing waits for the worker (issue 17: time to first
  // token). A new session that the store syncs before answering its create (the file store)
  // does not delay the call either: it has no run yet.
  void Open();
  void RequestAbort(const std::string& reason) {
    std::lock_guard<std::mutex> lock(cancel_mu);
    if (cancel_id.empty() && abort_reason.empty()) abort_reason = reason;
    cancel = true;  // under the lock: the worker's reset between calls cannot lose it
    proxy->upstream().Wake();  // the upstream loop ends the call now, not at its next pass
  }
  void RequestCancel(const std::string& id) {
    std::lock_guard<std::mutex> lock(cancel_mu);
    if (cancel_id.empty()) cancel_id = id;
    cancel = true;
    proxy->upstream().Wake();
  }
  // The ticker's answer to a control.steer of this run: queued (the upstream call is stopped and
  // started again by the worker) or "" + a rejection reason in *why.
  bool OfferSteer(const json& ev, std::string* why);

 private:
  struct Frame {
    std::string text;  // the SSE lines without `id:`
    bool waiting = false;
    std::string offset;  // set when its append is stored
    bool finish = false;
    bool head = false;  // the response head (200, text/event-stream), sent raw before any chunk
  };
  // Queues a frame; waits_for_append: it is sent once Complete(seq) gives its offset.
  std::uint64_t Enqueue(std::string text, bool waits_for_append, bool finish = false);
  void Complete(std::uint64_t seq, std::string offset);
  // Queues the streamed response's head (it waits for the run's first append like a frame).
  void EnqueueHead();
  // The answer to the run's first append (any thread; never blocks): on success the client may
  // be sent what is queued; on a refusal the upstream call is stopped (Main answers the client).
  void OnInitReply(const session::live::HubReply& r, bool with_prompt);
  void Flush(std::unique_lock<std::mutex>& lock);
  void SubmitAsync(json drafts, std::function<void(const session::live::HubReply&)> then);
  session::live::HubReply SubmitWait(json drafts);
  std::string HeadFor(int status, const std::string& content_type, bool chunked) const;
  void Respond(int status, const std::string& content_type, const std::string& bytes);
  void RespondError(int status, const std::string& why);
  // The run's end: stores the final events; returns run.end's offset ("" when refused).
  std::string End(const std::string& reason, const std::string& error);
  // The current call's tool calls as tool.call drafts of the current message (none without
  // the append right: tool.call is an application event). `incomplete`: the call was cut.
  void AddToolCallDrafts(json* drafts, bool incomplete) const;

  std::mutex frames_mu_;
  std::deque<Frame> frames_;
  std::uint64_t frames_base_ = 0;  // seq of frames_.front()
  std::string last_offset_;        // offset of the last stored event the client was sent
  std::string start_offset_;       // X-Dsx-Offset
  // Under frames_mu_: the run's first append is stored; until then frames (and the head) wait,
  // as every frame's id and X-Dsx-Offset come from it.
  bool init_open_ = false;
  std::atomic<bool> init_refused_{false};
  // The current upstream call (StartCall). The loop thread's handler writes it while the call
  // runs; the worker reads it once the call has ended (`ended`).
  struct Call {
    int status = 0;
    std::string content_type;
    bool sse = false;
    bool upstream_done = false;
    std::string error_body;    // non-2xx or non-SSE answers (bounded)
    std::string stream_error;
    std::string answer;     // non-streamed answer
    std::string call_text;  // this call's text (the partial reply a steer keeps)
    ToolCalls tools;        // this call's tool calls (stored as tool.call before its msg.end)
    std::unique_ptr<dsx::net::SseParser> parser;
    std::future<dsx::net::Exchange> ended;
  };
  Call call_;
  bool head_sent_ = false;     // the streamed response's head is queued
  bool continuation_ = false;  // the current call follows a steer (set by the worker between calls)
  bool OnCallHeaders(const dsx::net::HttpResponse& head);
  bool OnCallBody(std::string_view chunk);
  void OnCallEvent(const dsx::net::SseEvent& e);
  void SubmitReplyAppend(json draft, std::uint64_t seq);  // a msg.append of the reply (seq: its frame)
  // The reply's appends wait for the run's first append: the upstream is called while run.start
  // is being stored, and a msg.append before it would be refused ("no run"). Once it is applied
  // (Begin with a local store; Main after a shared store's answer) the held ones go, in order;
  // after a refusal they are dropped (the call is being stopped and nothing of the run is kept).
  void ReleaseHeldAppends(bool refused);
  void OnReplyAppendAnswer(const session::live::HubReply& r, std::uint64_t seq);
  struct HeldAppend {
    json draft;
    std::uint64_t seq;
  };
  std::mutex appends_mu_;
  bool appends_open_ = false;     // under appends_mu_
  bool appends_refused_ = false;  // under appends_mu_
  std::vector<HeldAppend> held_appends_;

  // The run's opening (Open, then Begin once the session's create is answered): written before
  // Main runs or by Main itself, read by Main.
  void Begin();
  std::future<session::live::HubReply> create_answer_;
  session::live::HubReply create_reply_;
  bool begun_ = false;
  bool with_prompt_ = false;
  bool may_append_ = false;  // the principal may write application events (user.message, tool.call)
  std::future<session::live::HubReply> init_answer_;  // the run's first append
  bool call_started_ = false;

  std::mutex store_mu_;
  std::string store_error_;  // an append the session refused
  std::vector<std::string> late_steers_;  // steers seen after the reply was complete (End rejects them)
};

std::uint64_t Run::Enqueue(std::string text, bool waits_for_append, bool finish) {
  std::unique_lock<std::mutex> lock(frames_mu_);
  frames_.push_back(Frame{std::move(text), waits_for_append, {}, finish});
  const std::uint64_t seq = frames_base_ + frames_.size() - 1;
  if (!waits_for_append) Flush(lock);
  return seq;
}

void Run::Complete(std::uint64_t seq, std::string offset) {
  std::unique_lock<std::mutex> lock(frames_mu_);
  if (seq < frames_base_ || seq - frames_base_ >= frames_.size()) return;
  Frame& f = frames_[seq - frames_base_];
  f.offset = std::move(offset);
  f.waiting = false;
  Flush(lock);
}

void Run::EnqueueHead() {
  std::unique_lock<std::mutex> lock(frames_mu_);
  Frame f;
  f.head = true;
  frames_.push_back(std::move(f));
  Flush(lock);
}

void Run::OnInitReply(const session::live::HubReply& r, bool with_prompt) {
  if (r.status >= 400) {
    init_refused_ = true;
    std::lock_guard<std::mutex> lock(cancel_mu);
    cancel = true;  // Main sees the refusal after the call and answers it; nothing else is sent
    proxy->upstream().Wake();
    return;
  }
  std::unique_lock<std::mutex> lock(frames_mu_);
  if (with_prompt && r.body.contains("events")) {
    const json& ev = r.body["events"];
    if (ev.is_array() && !ev.empty() && ev[0].is_object()) start_offset_ = ev[0].value("offset", start_offset_);
  }
  last_offset_ = r.body.value("offset", std::string());
  init_open_ = true;
  Flush(lock);
}

void Run::Flush(std::unique_lock<std::mutex>&) {
  if (!init_open_) return;  // OnInitReply flushes
  std::string out;
  bool finish = false;
  while (!frames_.empty() && !frames_.front().waiting) {
    Frame& f = frames_.front();
    if (f.head) {
      if (!out.empty()) client->SendChunk(out);
      out.clear();
      client->SendRaw(HeadFor(200, "text/event-stream; charset=utf-8", true) + "\r\n", false);
      frames_.pop_front();
      ++frames_base_;
      continue;
    }
    if (!f.offset.empty()) last_offset_ = f.offset;
    if (!f.text.empty()) {
      out += "id: ";
      out += last_offset_;
      out += '\n';
      out += f.text;
    }
    finish = finish || f.finish;
    frames_.pop_front();
    ++frames_base_;
  }
  if (!out.empty()) client->SendChunk(out);
  if (finish) client->Finish();
}

void Run::SubmitAsync(json drafts, std::function<void(const session::live::HubReply&)> then) {
  auto self = shared_from_this();
  proxy->hub().Submit(session_id, who, drafts, std::nullopt,
                      [self, then = std::move(then)](session::live::HubReply r) { then(r); });
}

session::live::HubReply Run::SubmitWait(json drafts) {
  HubWait w;
  auto done = w.Done();
  proxy->hub().Submit(session_id, who, drafts, std::nullopt, std::move(done));
  return w.Get();
}

std::string Run::HeadFor(int status, const std::string& content_type, bool chunked) const {
  std::string h = "HTTP/1.1 " + std::to_string(status) + " " +
                  std::string(http::obsolete_reason(static_cast<http::status>(status))) + "\r\n";
  h += "Content-Type: " + content_type + "\r\n";
  h += "Cache-Control: no-store\r\n";
  if (chunked) h += "Transfer-Encoding: chunked\r\nX-Accel-Buffering: no\r\n";
  h += "Connection: close\r\n";
  h += "X-Content-Type-Options: nosniff\r\n";
  h += "Access-Control-Allow-Origin: *\r\n";
  h += std::string("Access-Control-Expose-Headers: ") + kExpose + "\r\n";
  h += "X-Dsx-Session: " + session_id + "\r\n";
  h += "X-Dsx-Run: " + run_id + "\r\n";
  if (!start_offset_.empty()) h += "X-Dsx-Offset: " + start_offset_ + "\r\n";
  return h;
}

void Run::Respond(int status, const std::string& content_type, const std::string& bytes) {
  std::string h = HeadFor(status, content_type, false);
  h += "Content-Length: " + std::to_string(bytes.size()) + "\r\n\r\n";
  h += bytes;
  client->SendRaw(std::move(h), true);
}

void Run::RespondError(int status, const std::string& why) {
  const json e = {{"error", {{"message", why}, {"type", "upstream_error"}}}, {"status", status}};
  Respond(status, "application/json", e.dump(-1, ' ', false, json::error_handler_t::replace) + "\n");
}

// The request fields a `data.json` steer may set on the next upstream call.
constexpr const char* kSteerFields[] = {"temperature",      "top_p",             "max_tokens", "max_completion_tokens",
                                        "presence_penalty", "frequency_penalty", "stop",       "seed"};

bool Run::OfferSteer(const json& ev, std::string* why) {
  const json* d = ev.contains("data") && ev["data"].is_object() ? &ev["data"] : nullptr;
  const bool has_text = d && d->contains("text") && (*d)["text"].is_string();
  const bool has_json = d && d->contains("json");
  if (!request.stream) {
    *why = "the LLM proxy steers streamed calls only (this request has \"stream\": false)";
    return false;
  }
  if (has_text && (*d)["text"].get_ref<const std::string&>().empty()) {
    *why = "data.text is empty";
    return false;
  }
  if (has_json) {
    const json& j = (*d)["json"];
    if (!j.is_object()) {
      *why = "data.json must be an object of request fields";
      return false;
    }
    for (const auto& [k, v] : j.items()) {
      const bool known = std::any_of(std::begin(kSteerFields), std::end(kSteerFields),
                                     [&](const char* f) { return k == f; });
      if (!known) {
        *why = "data.json field '" + k.substr(0, 100) +
               "' cannot be steered: the LLM proxy takes temperature, top_p, max_tokens, max_completion_tokens, "
               "presence_penalty, frequency_penalty, stop, seed";
        return false;
      }
      bool ok;
      if (k == "stop") {
        ok = v.is_string() || v.is_null() ||
             (v.is_array() && std::all_of(v.begin(), v.end(), [](const json& x) { return x.is_string(); }));
      } else if (k == "seed" || k == "max_tokens" || k == "max_completion_tokens") {
        ok = v.is_number_integer() || v.is_null();
      } else {
        ok = v.is_number() || v.is_null();
      }
      if (!ok) {
        *why = "data.json field '" + k + "' has the wrong type (" + std::string(v.type_name()) + ")";
        return false;
      }
    }
  }
  if (!has_text && !has_json) {
    *why = "control.steer needs data.text or data.json";
    return false;
  }
  std::lock_guard<std::mutex> lock(cancel_mu);
  if (!cancel_id.empty() || !abort_reason.empty()) {
    *why = "the run is being cancelled";
    return false;
  }
  if (finishing || reply_complete.load()) {
    *why = "the reply is complete";
    return false;
  }
  steers.push_back(ev);
  cancel = true;  // stops the current upstream call; the worker starts the next one
  proxy->upstream().Wake();
  return true;
}

std::string Run::End(const std::string& reason, const std::string& error) {
  json drafts = json::array();
  if (reason == "cancelled") {
    std::string id;
    {
      std::lock_guard<std::mutex> lock(cancel_mu);
      id = cancel_id;
    }
    if (!id.empty()) {
      drafts.push_back({{"type", "control.ack"}, {"run", run_id}, {"id", id}, {"data", {{"outcome", "applied"}}}});
    }
  }
  for (const std::string& id : late_steers_) {
    drafts.push_back({{"type", "control.ack"},
                      {"run", run_id},
                      {"id", id},
                      {"data", {{"outcome", "rejected"}, {"reason", "the reply is complete"}}}});
  }
  AddToolCallDrafts(&drafts, reason != "done");
  drafts.push_back({{"type", "msg.end"}, {"run", run_id}, {"msg", msg_id}, {"data", json::object()}});
  json data = {{"reason", reason}};
  if (!error.empty()) data["error"] = error;
  drafts.push_back({{"type", "run.end"}, {"run", run_id}, {"data", std::move(data)}});
  session::live::HubReply r = SubmitWait(drafts);
  const auto optional = [](const json& d) {
    return d["type"] == "tool.call" ||
           (d["type"] == "control.ack" && d["data"].value("reason", "") == "the reply is complete");
  };
  if (r.status >= 400 && std::any_of(drafts.begin(), drafts.end(), optional)) {
    // What the session does not take (an ack, a tool call) must not keep the run from ending:
    // without them (the server then rejects those steers itself).
    log::Warn("llm proxy: run end refused, storing it without its acks and tool calls",
              {{"session", session_id}, {"run", run_id}, {"why", ReplyError(r)}});
    drafts.erase(std::remove_if(drafts.begin(), drafts.end(), optional), drafts.end());
    r = SubmitWait(drafts);
  }
  if (r.status >= 400) {
    log::Warn("llm proxy: run end refused", {{"session", session_id}, {"run", run_id}, {"why", ReplyError(r)}});
    return {};
  }
  return r.body.value("offset", std::string());
}

void Run::AddToolCallDrafts(json* drafts, bool incomplete) const {
  if (!may_append_) return;
  for (json& data : call_.tools.Data(incomplete))
    drafts->push_back({{"type", "tool.call"}, {"run", run_id}, {"msg", msg_id}, {"data", std::move(data)}});
}

void Run::StartCall(std::string request_body) {
  call_.status = 0;
  call_.content_type.clear();
  call_.sse = call_.upstream_done = false;
  call_.error_body.clear();
  call_.stream_error.clear();
  call_.answer.clear();
  call_.call_text.clear();
  call_.tools = ToolCalls();
  reply_complete = false;
  call_.parser = std::make_unique<dsx::net::SseParser>([this](const dsx::net::SseEvent& e) { OnCallEvent(e); });
  dsx::net::HttpRequest hr;
  hr.method = "POST";
  hr.url = url;
  hr.headers = pass_headers;
  hr.headers.emplace_back("Content-Type", "application/json");
  if (request.stream) hr.headers.emplace_back("Accept", "text/event-stream");
  hr.body = std::move(request_body);
  hr.idle_timeout_ms = proxy->options().idle_timeout_ms;
  hr.first_byte_timeout_ms = proxy->options().idle_timeout_ms;
  hr.cancel = &cancel;
  // The handler runs on the upstream loop's thread, shared by every call: it must not block
  // (docs/llm-proxy.md "Threads"). Frames and appends are queued; the hub answers later. It
  // holds the run: the loop may call it after the worker stopped waiting (a thrown Main).
  auto self = shared_from_this();
  dsx::net::StreamHandler handler;
  handler.on_headers = [self](const dsx::net::HttpResponse& head) { return self->OnCallHeaders(head); };
  handler.on_body = [self](std::string_view chunk) { return self->OnCallBody(chunk); };
  // The call runs on the proxy's one upstream loop (its keep-alive pool reuses the connection,
  // TLS included, as an SDK's own HTTP client would); the worker waits on `ended`.
  auto ended = std::make_shared<std::promise<dsx::net::Exchange>>();
  call_.ended = ended->get_future();
  proxy->upstream().Start(std::move(hr), std::move(handler),
                          [ended](dsx::net::Exchange e) { ended->set_value(std::move(e)); });
}

bool Run::OnCallHeaders(const dsx::net::HttpResponse& head) {
  if (init_refused_.load()) return false;  // the run's start was refused: no answer is forwarded
  call_.status = head.status;
  call_.content_type = head.Header("Content-Type");
  const bool ok = call_.status >= 200 && call_.status < 300;
  const std::string_view ct(call_.content_type);
  call_.sse = ct.substr(0, ct.find(';')).find("text/event-stream") != std::string_view::npos;
  if (ok && request.stream && call_.sse && !head_sent_) {
    EnqueueHead();
    head_sent_ = true;
  }
  return true;
}

bool Run::OnCallBody(std::string_view chunk) {
  const bool ok = call_.status >= 200 && call_.status < 300;
  if (!ok || (request.stream && !call_.sse)) {
    std::string& eb = call_.error_body;
    if (eb.size() < kMaxErrorBody) eb.append(chunk.substr(0, kMaxErrorBody - eb.size()));
    return !(ok && request.stream);  // a non-SSE answer to a streamed request: stop at once
  }
  if (!request.stream) {
    if (call_.answer.size() + chunk.size() > (64u << 20)) {
      call_.stream_error = "upstream answer larger than 64 MiB";
      return false;
    }
    call_.answer.append(chunk);
    return true;
  }
  if (!call_.parser->Feed(chunk)) {
    call_.stream_error = "upstream stream broken: " + call_.parser->OverflowMessage();
    return false;
  }
  return call_.stream_error.empty();
}

void Run::OnCallEvent(const dsx::net::SseEvent& e) {
  if (!call_.stream_error.empty()) return;
  const Api api = target.api;
  StreamStep step = ParseStreamEvent(api, e.type, e.data);
  if (!step.error.empty()) {
    call_.stream_error = step.error;
    return;
  }
  if (step.done) {
    call_.upstream_done = true;
    reply_complete = true;
  }
  // A call after a steer continues the client's Anthropic message: a second message_start
  // would make an SDK start its message over (and drop the text it has), so it is not sent.
  if (continuation_ && api == Api::kAnthropicMessages && e.type == "message_start") step.forward = false;
  for (const ToolCallPart& part : step.tool_calls) call_.tools.Add(part);
  std::string text;
  if (step.forward) {
    if (api == Api::kAnthropicMessages) text = "event: " + e.type + "\n";
    AppendDataLines(&text, e.data);
    text += '\n';
  }
  if (step.text.empty()) {
    if (!text.empty()) Enqueue(std::move(text), false);
    return;
  }
  call_.call_text += step.text;
  const std::uint64_t seq = Enqueue(std::move(text), true);
  SubmitReplyAppend({{"type", "msg.append"}, {"run", run_id}, {"msg", msg_id}, {"data", {{"text", step.text}}}}, seq);
}

void Run::SubmitReplyAppend(json draft, std::uint64_t seq) {
  {
    std::lock_guard<std::mutex> lock(appends_mu_);
    if (appends_refused_) return;
    if (!appends_open_) {
      held_appends_.push_back({std::move(draft), seq});
      return;
    }
  }
  SubmitAsync(json::array({std::move(draft)}), [self = shared_from_this(), seq](const session::live::HubReply& r) {
    self->OnReplyAppendAnswer(r, seq);
  });
}

void Run::OnReplyAppendAnswer(const session::live::HubReply& r, std::uint64_t seq) {
  if (r.status >= 400) {
    {
      std::lock_guard<std::mutex> lock(store_mu_);
      if (store_error_.empty()) store_error_ = ReplyError(r);
    }
    RequestAbort("the session refused the reply: " + ReplyError(r));
    return Complete(seq, {});
  }
  Complete(seq, r.body.value("offset", std::string()));
}

void Run::ReleaseHeldAppends(bool refused) {
  // Submitted under the lock: a msg.append the loop thread makes meanwhile waits, so the reply's
  // appends reach the session in the upstream's order. Never called from a hub callback (the
  // hub may hold the session's lock there).
  std::lock_guard<std::mutex> lock(appends_mu_);
  if (appends_open_ || appends_refused_) return;
  if (refused) {
    appends_refused_ = true;
    held_appends_.clear();
    return;
  }
  appends_open_ = true;
  std::vector<HeldAppend> held;
  held.swap(held_appends_);
  for (HeldAppend& h : held) {
    const std::uint64_t seq = h.seq;
    SubmitAsync(json::array({std::move(h.draft)}), [self = shared_from_this(), seq](const session::live::HubReply& r) {
      self->OnReplyAppendAnswer(r, seq);
    });
  }
}

void Run::Open() {
  try {
    auto created = std::make_shared<std::promise<session::live::HubReply>>();
    create_answer_ = created->get_future();
    auto& hub = proxy->hub();
    hub.Create(session_id, [created](session::live::HubReply r) { created->set_value(std::move(r)); });
    if (create_answer_.wait_for(std::chrono::seconds(0)) == std::future_status::ready) return Begin();
    // Not answered at once: a local store is making a new session durable (the file store
    // syncs the create first; an existing one answers at once). The upstream call need not wait
    // for that sync: a session that does not exist yet has no run to refuse this one (the check
    // answers 404 then), and the run's first append waits for the create on the worker (Begin).
    if (hub.service().Shared()) return;
    const int pre = hub.CheckRunStart(session_id, who, session::live::kDefaultLane).status;
    if (pre == 200 || pre == 404) {
      StartCall(body);
      call_started_ = true;
    }
  } catch (const std::exception& e) {  // on an I/O thread: Main answers it instead
    begun_ = true;
    create_reply_ = session::live::HubReply::Error(500, std::string("the run could not start: ") + e.what());
    if (call_started_) {  // nothing of the run is stored: its upstream call must not go on
      ReleaseHeldAppends(true);
      RequestAbort("the run could not start");
    }
  }
}

void Run::Begin() {
  begun_ = true;
  auto& hub = proxy->hub();
  // 1. The session (created if missing) and the run's first events, in one append.
  create_reply_ = create_answer_.get();
  if (create_reply_.status >= 400) return;  // Main answers it
  if (!create_reply_.body.value("created", false)) start_offset_ = create_reply_.body.value("offset", std::string());
  json drafts = json::array();
  may_append_ = who.Allows(session_id, session::auth::Right::kAppend);
  with_prompt_ = request.user_text.has_value() && may_append_;
  if (with_prompt_) drafts.push_back({{"type", "user.message"}, {"data", StoredPromptData(*request.user_text)}});
  if (!with_prompt_ && start_offset_.empty()) start_offset_ = session::FormatOffset(0);
  if (!with_prompt_) {
    session::live::HubReply info = hub.Info(session_id);
    if (info.status == 200) start_offset_ = info.body.value("offset", start_offset_);
  }
  drafts.push_back({{"type", "run.start"},
                    {"run", run_id},
                    {"data",
                     {{"source", "llm-proxy"},
                      {"upstream", upstream_name},
                      {"model", request.model},
                      {"lease_ms", proxy->options().lease_ms}}}});
  drafts.push_back({{"type", "msg.start"}, {"run", run_id}, {"msg", msg_id}, {"data", {{"role", "assistant"}}}});
  // The run's first append goes to the store while the upstream is called: its durability (an
  // fsync with --fsync always) overlaps the upstream's time to first byte. With a local store
  // the call starts first, once a dry run of run.start passed (a busy lane, say, refuses it
  // before any upstream is called), so the upstream loop's wake-up and the request's way out
  // overlap the append's checks too. Nothing reaches the client before the append is stored
  // (frames wait for OnInitReply) and the reply's appends wait for it (ReleaseHeldAppends). A
  // refusal that comes anyway (another writer got in between) stops the call; Main answers it.
  // A shared store (Redis) may check later: Main waits for its answer before calling.
  if (auto pos = session::ParseConcreteOffset(start_offset_)) watch_from = *pos;
  if (!call_started_ && !hub.service().Shared() &&
      hub.CheckRunStart(session_id, who, session::live::kDefaultLane).status < 400) {
    StartCall(body);
    call_started_ = true;
  }
  auto init_answer = std::make_shared<std::promise<session::live::HubReply>>();
  init_answer_ = init_answer->get_future();
  hub.Submit(session_id, who, drafts, std::nullopt,
             [self = shared_from_this(), init_answer, with_prompt = with_prompt_](session::live::HubReply r) {
               self->OnInitReply(r, with_prompt);
               init_answer->set_value(std::move(r));
             });
  // A local store has checked and applied the append to the run state when Submit returns (its
  // answer may wait for an fsync): from here a msg.append of this run is accepted.
  if (!hub.service().Shared()) ReleaseHeldAppends(init_refused_.load());
}

void Run::Main() {
  auto& hub = proxy->hub();
  if (!begun_) Begin();  // the store answered the create later: this worker waited for it
  if (create_reply_.status >= 400) {
    if (call_started_) {  // started while the create was being synced (Open): stop it
      ReleaseHeldAppends(true);
      RequestAbort("the session could not be created");
    }
    const session::live::HubReply& r = create_reply_;
    const json e = {{"error", ReplyError(r)}, {"status", r.status}};
    std::string h = "HTTP/1.1 " + std::to_string(r.status) + " " +
                    std::string(http::obsolete_reason(static_cast<http::status>(r.status))) +
                    "\r\nContent-Type: application/json\r\nConnection: close\r\nAccess-Control-Allow-Origin: "
                    "*\r\nX-Dsx-Session: " +
                    session_id + "\r\n";
    const std::string b = e.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
    h += "Content-Length: " + std::to_string(b.size()) + "\r\n\r\n" + b;
    client->SendRaw(std::move(h), true);
    return;
  }
  bool init_applied = false, init_failed = false;
  // The worker's look at the run's first append (it may wait): false when the run's start was
  // refused (the client is answered with the refusal here).
  auto apply_init = [&]() -> bool {
    if (init_applied) return !init_failed;
    init_applied = true;
    session::live::HubReply r = init_answer_.get();
    ReleaseHeldAppends(r.status >= 400);
    if (r.status >= 400) {
      init_failed = true;
      const json e = {{"error", ReplyError(r)}, {"status", r.status}};
      const std::string b = e.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
      std::string h = "HTTP/1.1 " + std::to_string(r.status) + " " +
                      std::string(http::obsolete_reason(static_cast<http::status>(r.status))) +
                      "\r\nContent-Type: application/json\r\nConnection: close\r\nAccess-Control-Allow-Origin: "
                      "*\r\nAccess-Control-Expose-Headers: " +
                      std::string(kExpose) + "\r\nX-Dsx-Session: " + session_id + "\r\n";
      h += "Content-Length: " + std::to_string(b.size()) + "\r\n\r\n" + b;
      client->SendRaw(std::move(h), true);
      return false;
    }
    return true;
  };
  if (!call_started_) {  // refused at once, or a shared store: its answer decides
    if (!apply_init()) return;
    StartCall(body);
    call_started_ = true;
  }
  session::live::HubReply miss;
  stream = hub.Stream(session_id, &miss);
  last_heartbeat_ms = NowMs();
  proxy->Track(shared_from_this());

  // 2. The upstream call: one, and one more after each applied steer (docs/llm-proxy.md
  // "Steer"), all in this run; the client's response carries them all.
  // The last call's outcome, read once it has ended (names kept short for what follows).
  int& status = call_.status;
  std::string& content_type = call_.content_type;
  bool& sse = call_.sse;
  bool& upstream_done = call_.upstream_done;
  std::string& error_body = call_.error_body;
  std::string& stream_error = call_.stream_error;
  std::string& answer = call_.answer;
  std::string& call_text = call_.call_text;
  const bool& head_sent = head_sent_;
  json conversation;  // the request body once a steer has changed it
  const Api api = target.api;
  auto self = shared_from_this();
  dsx::net::Exchange ex;
  for (bool first = true;; first = false) {
    // The first call was started when the request was taken over (StartCall); a steer's next
    // call starts here, with the conversation it changed.
    if (!first) StartCall(conversation.dump(-1, ' ', false, json::error_handler_t::replace));
    ex = call_.ended.get();
    if (!apply_init()) {  // refused while the upstream was called: nothing of the run is stored
      proxy->WorkerDone(self);
      return;
    }
    if (request.stream && sse && stream_error.empty() && !cancel.load()) call_.parser->Finish();

    // A steer stopped the call (or came while it ended well): call again, in a new message.
    std::vector<json> take;
    {
      std::lock_guard<std::mutex> store_lock(store_mu_);
      std::lock_guard<std::mutex> lock(cancel_mu);
      // Stopped before the upstream answered (status 0) or while it streamed, or ended well.
      const bool streaming = sse && status >= 200 && status < 300;
      const bool call_ok = stream_error.empty() && store_error_.empty() &&
                           ((ex.outcome == dsx::net::Outcome::kCancelled && (status == 0 || streaming)) ||
                            (ex.outcome == dsx::net::Outcome::kComplete && streaming && head_sent));
      if (cancel_id.empty() && abort_reason.empty() && !steers.empty() && call_ok) {
        take.swap(steers);
        cancel = false;
      } else {
        finishing = true;  // steers still queued are answered by the run's end (rejected)
      }
    }
    if (take.empty()) break;
    if (conversation.is_null()) conversation = json::parse(body, nullptr, false);  // checked by ParseProxyRequest
    if (!conversation.is_object() || !conversation.contains("messages") || !conversation["messages"].is_array()) {
      stream_error = "the request body could not be re-read for a steer";  // ends the run error
      break;
    }
    json& messages = conversation["messages"];
    if (!call_text.empty()) messages.push_back({{"role", "assistant"}, {"content", call_text}});
    const std::string next_msg = session::wire::RandomId("m-");
    json d = json::array();
    AddToolCallDrafts(&d, ex.outcome != dsx::net::Outcome::kComplete);
    d.push_back({{"type", "msg.end"}, {"run", run_id}, {"msg", msg_id}, {"data", json::object()}});
    d.push_back({{"type", "msg.start"}, {"run", run_id}, {"msg", next_msg}, {"data", {{"role", "assistant"}}}});
    for (const json& ev : take) {
      const json& data = ev["data"];
      if (data.contains("text") && data["text"].is_string()) {
        messages.push_back({{"role", "user"}, {"content", data["text"]}});
      }
      if (data.contains("json") && data["json"].is_object()) {
        for (const auto& [k, v] : data["json"].items()) {
          if (v.is_null()) {
            conversation.erase(k);
          } else {
            conversation[k] = v;
          }
        }
      }
      d.push_back({{"type", "control.ack"},
                   {"run", run_id},
                   {"id", ev.value("id", std::string())},
                   {"data", {{"outcome", "applied"}}}});
    }
    // The switch is stored before the next call's first append (its frames' ids come after it).
    const std::uint64_t seq = Enqueue(std::string(), true);
    session::live::HubReply r = SubmitWait(std::move(d));
    if (r.status >= 400) {
      {
        std::lock_guard<std::mutex> lock(store_mu_);
        if (store_error_.empty()) store_error_ = ReplyError(r);
      }
      Complete(seq, {});
      std::lock_guard<std::mutex> lock(cancel_mu);
      finishing = true;
      break;
    }
    msg_id = next_msg;
    Complete(seq, r.body.value("offset", std::string()));
    continuation_ = true;
    log::Info("llm proxy run steered", {{"session", session_id}, {"run", run_id}, {"steers", std::to_string(take.size())}});
  }

  // 3. How it ended.
  std::string reason = "done", error;
  std::string cancel_by;
  {
    std::lock_guard<std::mutex> lock(cancel_mu);
    cancel_by = cancel_id;
    if (cancel_by.empty() && cancel.load()) error = abort_reason;
  }
  const long stall_s = proxy->options().idle_timeout_ms / 1000;
  const std::string stall = stall_s > 0 ? std::to_string(stall_s) + " s"
                                        : std::to_string(proxy->options().idle_timeout_ms) + " ms";
  if (!cancel_by.empty()) {
    reason = "cancelled";
  } else if (!error.empty()) {
    reason = "error";
  } else if (!stream_error.empty()) {
    reason = "error";
    error = stream_error;
  } else if (ex.outcome == dsx::net::Outcome::kTimeoutIdle || ex.outcome == dsx::net::Outcome::kTimeoutFirstByte) {
    reason = "error";
    error = "upstream stalled " + stall;
  } else if (!ex.ok() && ex.outcome != dsx::net::Outcome::kAborted) {
    reason = "error";
    error = status == 0 ? "upstream unreachable: " + ex.error.message()
                        : "upstream connection failed: " + ex.error.message();
  } else if (status < 200 || status >= 300) {
    reason = "error";
    error = "upstream answered " + std::to_string(status) + ": " + BodyExcerpt(error_body);
  } else if (request.stream && !sse) {
    reason = "error";
    error = "upstream answered " + (content_type.empty() ? std::string("no content type") : BodyExcerpt(content_type, 100)) +
            ", not SSE";
  } else if (request.stream && !upstream_done) {
    reason = "error";
    error = api == Api::kOpenAiChat ? "upstream ended the stream before data: [DONE]"
                                    : "upstream ended the stream before message_stop";
  }
  // An upstream may quote the caller's key in its error ("Incorrect API key provided: sk-…"):
  // data.error and the log never hold it.
  for (const auto& [name, value] : pass_headers) {
    if (name != "Authorization" && name != "x-api-key") continue;
    std::string_view secret = value;
    if (secret.starts_with("Bearer ") || secret.starts_with("bearer ")) secret.remove_prefix(7);
    if (secret.size() < 8) continue;
    for (std::size_t at; (at = error.find(secret)) != std::string::npos;) error.replace(at, secret.size(), "[redacted]");
  }
  {
    std::lock_guard<std::mutex> lock(store_mu_);
    if (!store_error_.empty() && reason != "cancelled") {
      reason = "error";
      error = "the session refused the reply: " + store_error_;
    }
  }
  if (!request.stream && reason == "done") {
    for (const ToolCallPart& part : AnswerToolCalls(api, answer)) call_.tools.Add(part);
    auto text = AnswerText(api, answer);
    if (!text) {
      reason = "error";
      error = "upstream answer is not a " + std::string(api == Api::kOpenAiChat ? "chat completion" : "message") +
              ": " + BodyExcerpt(answer, 200);
    } else if (!text->empty()) {
      // The whole answer as one append, with the run's end (one write).
      json d = json::array({{{"type", "msg.append"}, {"run", run_id}, {"msg", msg_id}, {"data", {{"text", *text}}}}});
      AddToolCallDrafts(&d, false);
      d.push_back({{"type", "msg.end"}, {"run", run_id}, {"msg", msg_id}, {"data", json::object()}});
      d.push_back({{"type", "run.end"}, {"run", run_id}, {"data", {{"reason", "done"}}}});
      session::live::HubReply r = SubmitWait(std::move(d));
      proxy->WorkerDone(self);
      if (r.status >= 400) return RespondError(502, "the session refused the reply: " + ReplyError(r));
      return Respond(200, content_type.empty() ? "application/json" : content_type, answer);
    }
  }
  if (reason == "done" && request.stream && stream) {
    // Steers stored after the last call ended that the ticker has not seen: the reply is
    // complete; they are answered with run.end's append (later ones by the server's own
    // "run ended" ack).
    std::lock_guard<std::mutex> watch_lock(watch_mu);
    for (int pages = 0; pages < 64; ++pages) {
      session::live::EventPage page = session::live::ReadEvents(hub.service(), stream, watch_from);
      if (page.status != 200) break;
      for (const auto& e : page.events) {
        if (e.type() == "control.steer" && e.Str("run") == run_id) late_steers_.push_back(e.Str("id"));
      }
      if (page.events.empty() || page.up_to_date || page.next == watch_from) break;
      watch_from = page.next;
    }
  }
  const std::string end_offset = End(reason, error);
  proxy->WorkerDone(self);
  log::Info("llm proxy run ended",
            {{"session", session_id}, {"run", run_id}, {"reason", reason}, {"error", error}});

  if (head_sent) {
    std::string tail;
    const std::string id = end_offset.empty() ? last_offset_ : end_offset;
    if (reason == "error") {
      tail = ErrorFrame(api, error, id);
    } else if (api == Api::kOpenAiChat) {
      tail = "data: [DONE]\n\n";
    }
    // After every frame before it (the sequencer keeps the order); `id:` is run.end's offset.
    std::unique_lock<std::mutex> lock(frames_mu_);
    frames_.push_back(Frame{tail.rfind("id: ", 0) == 0 ? tail.substr(tail.find('\n') + 1) : tail, false, id, true});
    Flush(lock);
    return;
  }
  if (!request.stream && reason == "done") return Respond(200, content_type.empty() ? "application/json" : content_type, answer);
  if (reason == "cancelled") return RespondError(499, "the run was cancelled (control.cancel)");
  if (status >= 400 && !error_body.empty()) {
    return Respond(status, content_type.empty() ? "application/json" : content_type, error_body);
  }
  RespondError(502, error);
}

// ---- Proxy

Proxy::Proxy(ProxyOptions options, session::live::SessionHub& hub, const session::auth::TokenKey* key)
    : options_(std::move(options)), hub_(hub), key_(key) {
  dsx::net::CurlMultiLoop::Options o;
  o.connect_timeout_ms = options_.connect_timeout_ms;
  o.user_agent = "dsx-llm-proxy";
  upstream_ = std::make_unique<dsx::net::CurlMultiLoop>(std::move(o));
  workers_pool_ = std::make_shared<WorkerPool>();
  ticker_ = std::thread([this] { Tick(); });
}

Proxy::~Proxy() {
  Stop();
  {
    std::lock_guard<std::mutex> lock(mu_);
    ticker_stop_ = true;
  }
  cv_.notify_all();
  if (ticker_.joinable()) ticker_.join();
  // Calls still in flight (a worker Stop gave up on) end "transport shut down" here.
  upstream_.reset();
  workers_pool_->Shutdown();
}

void Proxy::RunOnWorker(std::function<void()> job) { workers_pool_->Post(std::move(job)); }

void Proxy::Stop() {
  stopping_ = true;
  std::unique_lock<std::mutex> lock(mu_);
  for (const auto& r : runs_) r->RequestAbort("server shutting down");
  cv_.wait_for(lock, std::chrono::seconds(30), [this] { return workers_ == 0; });
}

void Proxy::Track(const std::shared_ptr<Run>& run) {
  std::lock_guard<std::mutex> lock(mu_);
  runs_.insert(run);
  run->registered = true;
  if (stopping_) run->RequestAbort("server shutting down");
}

void Proxy::WorkerStarted() {
  std::lock_guard<std::mutex> lock(mu_);
  ++workers_;
}

void Proxy::WorkerExited() {
  std::lock_guard<std::mutex> lock(mu_);
  --workers_;
  cv_.notify_all();
}

void Proxy::WorkerDone(const std::shared_ptr<Run>& run) {
  std::lock_guard<std::mutex> lock(mu_);
  runs_.erase(run);
  cv_.notify_all();
}

void Proxy::Tick() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!ticker_stop_) {
    cv_.wait_for(lock, std::chrono::milliseconds(options_.tick_ms));
    if (ticker_stop_) break;
    std::vector<std::shared_ptr<Run>> runs(runs_.begin(), runs_.end());
    lock.unlock();
    const std::int64_t now = NowMs();
    for (const auto& r : runs) {
      if (r->cancel.load()) continue;
      if (now - r->last_heartbeat_ms >= options_.lease_ms / 3) {
        r->last_heartbeat_ms = now;
        session::live::HubReply hb = hub_.Heartbeat(r->session_id, r->who, r->run_id, "streaming");
        if (hb.status == 409 || hb.status == 404) r->RequestAbort("the run ended in the session: " + ReplyError(hb));
      }
      if (!r->stream) continue;
      // Most of what a run's session gains is the run's own tokens: look at the raw bytes first
      // and parse events only when a cancel may be among them (one substring search per tick
      // instead of a JSON parse of every token).
      std::lock_guard<std::mutex> watch_lock(r->watch_mu);  // the worker's last look (Main) takes it too
      session::ReadReply raw = hub_.service().ReadFrom(r->stream, r->watch_from);
      if (raw.reply.status != 200) continue;
      if (raw.body.find("control.cancel") == std::string::npos && raw.body.find("control.steer") == std::string::npos) {
        r->watch_from = raw.next;
        continue;
      }
      session::live::EventPage page = session::live::ReadEvents(hub_.service(), r->stream, r->watch_from);
      if (page.status != 200) continue;
      r->watch_from = page.next;
      for (const auto& e : page.events) {
        if (e.Str("run") != r->run_id) continue;
        if (e.type() == "control.cancel") {
          r->RequestCancel(e.Str("id"));
          break;
        }
        if (e.type() == "control.steer") {
          std::string why;
          if (!r->OfferSteer(e.body, &why)) {
            json ack = {{"type", "control.ack"}, {"run", r->run_id}, {"id", e.Str("id")},
                        {"data", {{"outcome", "rejected"}, {"reason", why}}}};
            hub_.Submit(r->session_id, r->who, json::array({std::move(ack)}), std::nullopt,
                        [](session::live::HubReply) {});
          }
        }
      }
    }
    lock.lock();
  }
}

const UpstreamSpec* Proxy::FindUpstream(const std::string& name) const {
  for (const auto& u : options_.upstreams) {
    if (u.name == name) return &u;
  }
  return nullptr;
}

bool Proxy::Handle(Request& req, RouteDone& done) {
  const std::string_view target(req.target().data(), req.target().size());
  const std::string_view path = target.substr(0, target.find('?'));
  if (path != "/llm" && !path.starts_with("/llm/")) return false;
  auto answer = [&](Response res) { done({RouteOutcome::Kind::kResponse, std::move(res), {}}); };
  if (req.method() == http::verb::options) {
    Response res{http::status::no_content, req.version()};
    res.keep_alive(req.keep_alive());
    session::server::AddCommonHeaders(res);
    res.set(http::field::access_control_expose_headers, kExpose);
    res.set(http::field::access_control_allow_methods, "POST, OPTIONS");
    const std::string asked = HeaderOf(req, "Access-Control-Request-Headers");
    res.set(http::field::access_control_allow_headers,
            asked.empty() ? "Authorization, Content-Type, X-Dsx-Session, X-Dsx-Token, x-api-key, anthropic-version, "
                            "anthropic-beta"
                          : asked);
    res.set(http::field::access_control_max_age, "86400");
    answer(std::move(res));
    return true;
  }
  auto t = ParseProxyPath(path);
  if (!t) {
    answer(JsonErr(req, 404,
                   "no LLM proxy route '" + std::string(path.substr(0, 200)) +
                       "': POST /llm/v1/chat/completions, /llm/NAME/v1/chat/completions or /llm/NAME/v1/messages"));
    return true;
  }
  const UpstreamSpec* up = FindUpstream(t->upstream);
  if (!up) {
    std::string names;
    for (const auto& u : options_.upstreams) names += (names.empty() ? "" : ", ") + (u.name.empty() ? "(default)" : u.name);
    answer(JsonErr(req, 404,
                   (t->upstream.empty() ? std::string("no default upstream (give --llm-proxy URL)")
                                        : "no upstream named '" + t->upstream + "'") +
                       "; this server has: " + (names.empty() ? "none" : names)));
    return true;
  }
  if (req.method() != http::verb::post) {
    Response res = JsonErr(req, 405, "method not allowed: POST");
    res.set(http::field::allow, "POST, OPTIONS");
    answer(std::move(res));
    return true;
  }
  // Who: the dsx token rides in X-Dsx-Token (or ?access_token=); Authorization is the upstream's.
  session::auth::Principal who = session::auth::Principal::Open();
  if (key_) {
    std::string token = HeaderOf(req, "X-Dsx-Token");
    if (token.empty()) token = session::server::QueryValue(target, "access_token").value_or("");
    if (token.empty()) {
      answer(JsonErr(req, 401, "no dsx token: send 'X-Dsx-Token: <token>' (Authorization goes to the upstream)"));
      return true;
    }
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    auto p = key_->Verify(token, now);
    if (!p.ok()) {
      answer(JsonErr(req, 401, p.status().message()));
      return true;
    }
    who = std::move(p).value();
  }
  std::string session_id = HeaderOf(req, "X-Dsx-Session");
  if (session_id.empty()) {
    session_id = "llm/" + session::wire::RandomId("");
  } else {
    session::server::SessionTarget st;
    if (!session::server::ParseSessionPath("/v1/session/" + session_id, &st) || st.id != session_id ||
        !st.endpoint.empty()) {
      answer(JsonErr(req, 400, "invalid X-Dsx-Session: want a session id (1..200 bytes, no '/' at the ends)"));
      return true;
    }
  }
  if (!who.Allows(session_id, session::auth::Right::kRun)) {
    answer(JsonErr(req, 403, who.Lacks(session_id, session::auth::Right::kRun), session_id));
    return true;
  }
  if (req.body().size() > options_.max_body_bytes) {
    answer(JsonErr(req, 413,
                   "request body too large: the LLM proxy takes at most " + std::to_string(options_.max_body_bytes) +
                       " bytes",
                   session_id));
    return true;
  }
  auto parsed = ParseProxyRequest(req.body(), t->api);
  if (!parsed.ok()) {
    answer(JsonErr(req, 400, parsed.status().message(), session_id));
    return true;
  }
  if (stopping_) {
    answer(JsonErr(req, 503, "server shutting down", session_id));
    return true;
  }
  auto run = std::make_shared<Run>();
  run->proxy = this;
  run->session_id = session_id;
  run->who = std::move(who);
  run->target = *t;
  run->upstream_name = t->upstream.empty() ? "default" : t->upstream;
  run->url = UpstreamUrl(up->base_url, t->api);
  run->request = std::move(parsed).value();
  for (const char* h : {"Authorization", "x-api-key", "anthropic-version", "anthropic-beta", "OpenAI-Organization",
                        "OpenAI-Project"}) {
    std::string v = HeaderOf(req, h);
    if (!v.empty()) run->pass_headers.emplace_back(h, std::move(v));
  }
  run->body = std::move(req.body());
  RouteOutcome o;
  o.kind = RouteOutcome::Kind::kTakeover;
  o.takeover = [run](TcpStream&& stream, beast::flat_buffer&&) {
    run->client = std::make_shared<ClientConn>(std::move(stream));
    run->client->Start();
    run->proxy->WorkerStarted();
    run->Open();
    run->proxy->RunOnWorker([run] {
      try {
        run->Main();
      } catch (const std::exception& e) {
        log::Error("llm proxy run failed", {{"session", run->session_id}, {"run", run->run_id}, {"why", e.what()}});
        run->proxy->WorkerDone(run);
      }
      run->proxy->WorkerExited();
    });
  };
  done(std::move(o));
  return true;
}

}  // namespace dsx::llm::proxy

#include "audit/probe/mock_llm.hpp"

#include "core/clock.hpp"

#include <array>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <optional>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

namespace dsx::audit::probe {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Json = nlohmann::json;

// ISO-8601 UTC with milliseconds, without localtime/gmtime (banned: not thread-safe).
std::string IsoTime(int64_t ms) {
  using namespace std::chrono;
  sys_days day = floor<days>(sys_time<milliseconds>(milliseconds(ms)));
  year_month_day ymd(day);
  int64_t in_day = ms - duration_cast<milliseconds>(day.time_since_epoch()).count();
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(in_day / 3600000), static_cast<int>(in_day / 60000 % 60),
                static_cast<int>(in_day / 1000 % 60), static_cast<int>(in_day % 1000));
  return buf;
}

// The first "dsx-probe-..." word of a request body ("" if none). Only this word is logged,
// never the prompt itself.
std::string FindMarker(const std::string& body) {
  static const std::string kPrefix = "dsx-probe-";
  size_t at = body.find(kPrefix);
  if (at == std::string::npos) return "";
  size_t end = at + kPrefix.size();
  while (end < body.size() && end - at < 80 &&
         (std::isalnum(static_cast<unsigned char>(body[end])) || body[end] == '-' || body[end] == '_'))
    ++end;
  return body.substr(at, end - at);
}

std::string TokenText(int n) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "tok-%04d ", n);
  return buf;
}

std::string Chunked(const std::string& data) {
  char size[20];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return std::string(size) + data + "\r\n";
}

}  // namespace

struct MockLlmServer::Impl {
  MockLlmOptions options;
  asio::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  asio::signal_set signals{ioc, SIGINT, SIGTERM};
  mutable std::mutex log_mu;
  std::string log_text;  // GUARDED_BY(log_mu)
  std::ofstream log_file;
  int next_req = 0;

  void Log(Json j) {
    int64_t ms = NowMs();
    Json line = {{"ms", ms}, {"ts", IsoTime(ms)}};
    line.update(j);
    std::string text = line.dump() + "\n";
    std::lock_guard lock(log_mu);
    log_text += text;
    if (log_file.is_open()) log_file << text << std::flush;
  }

  void Accept();
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, MockLlmServer::Impl* server)
      : stream_(std::move(socket)), timer_(stream_.get_executor()), server_(server) {}

  void Start() {
    parser_.emplace();
    parser_->body_limit(32u << 20);  // long-context requests are megabytes; hosted APIs take them
    stream_.expires_after(std::chrono::seconds(30));
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRequest(ec); });
  }

 private:
  void OnRequest(beast::error_code ec) {
    if (ec) return Close();  // hang-up or timeout before a request: a normal close
    stream_.expires_never();
    const auto& req = parser_->get();
    std::string target(req.target());
    if (req.method() == http::verb::post && target.rfind("/v1/chat/completions", 0) == 0)
      return StartCompletion(req.body());
    if (req.method() == http::verb::get && target.rfind("/log", 0) == 0) {
      std::lock_guard lock(server_->log_mu);
      return Reply(http::status::ok, "application/x-ndjson", server_->log_text);
    }
    if (req.method() == http::verb::get && target == "/healthz") return Reply(http::status::ok, "text/plain", "ok\n");
    if (req.method() == http::verb::get && target == "/v1/models")
      return Reply(http::status::ok, "application/json",
                   R"({"object":"list","data":[{"id":"dsx-mock","object":"model","owned_by":"dsx"}]})");
    Reply(http::status::not_found, "application/json",
          Json{{"error", {{"message", "no route " + std::string(req.method_string()) + " " + target}}}}.dump());
  }

  void StartCompletion(const std::string& body) {
    Json j = Json::parse(body, nullptr, false);
    if (!j.is_object()) {
      return Reply(http::status::bad_request, "application/json",
                   R"({"error":{"message":"request body is not a JSON object"}})");
    }
    stream_mode_ = j.value("stream", false);
    total_ = server_->options.tokens;
    if (j.contains("max_tokens") && j["max_tokens"].is_number_integer())
      total_ = std::max(1, std::min(total_, j["max_tokens"].get<int>()));
    char id[16];
    std::snprintf(id, sizeof id, "r%06d", ++server_->next_req);
    req_id_ = id;
    model_ = j.value("model", std::string("dsx-mock"));
    Json ev = {{"event", "request"}, {"req", req_id_}, {"stream", stream_mode_}, {"tokens", total_}};
    std::string marker = FindMarker(body);
    if (!marker.empty()) ev["marker"] = marker;
    server_->Log(ev);
    schedule_start_ = std::chrono::steady_clock::now();
    WatchPeer();
    if (stream_mode_) {
      Write(
          std::string("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n") +
              (server_->options.keep_alive ? "Connection: keep-alive" : "Connection: close") +
              "\r\nTransfer-Encoding: chunked\r\n\r\n" +
              Chunked(Frame(Json{{"role", "assistant"}, {"content", ""}}, nullptr)),
          [](Session* s) { s->NextToken(); });
    } else {
      NextToken();
    }
  }

  std::string Frame(const Json& delta, const Json& finish) const {
    Json chunk = {{"id", "chatcmpl-" + req_id_},
                  {"object", "chat.completion.chunk"},
                  {"created", NowMs() / 1000},
                  {"model", model_},
                  {"choices", Json::array({{{"index", 0}, {"delta", delta}, {"finish_reason", finish}}})}};
    return "data: " + chunk.dump() + "\n\n";
  }

  // A read kept pending for the whole answer: it completes when the client closes the
  // connection, which is how a cancel (or a drop) shows up at a model server. With keep-alive,
  // bytes that arrive are kept in buffer_ (the next request may come before this side has seen
  // its own answer written), and the end of an answer cancels the read (NextRequest).
  void WatchPeer() {
    watching_ = true;
    auto space = buffer_.prepare(512);
    stream_.async_read_some(space, [self = shared_from_this()](beast::error_code ec, size_t n) {
      self->watching_ = false;
      if (self->server_->options.keep_alive && !ec) self->buffer_.commit(n);
      if (self->finished_) {
        if (self->next_pending_) self->NextRequest();
        return;
      }
      if (ec) return self->Cancel("client closed the connection");
      self->WatchPeer();  // ignore stray bytes (kept for the parser with keep-alive)
    });
  }

  // After an answer: close, or with keep-alive read the next request on this connection.
  void EndAnswer() {
    if (!server_->options.keep_alive) return Close();
    next_pending_ = true;
    if (watching_) {
      beast::error_code ignored;
      stream_.socket().cancel(ignored);  // WatchPeer's handler calls NextRequest
      return;
    }
    NextRequest();
  }

  void NextRequest() {
    next_pending_ = false;
    stream_mode_ = finished_ = closing_ok_ = false;
    total_ = sent_ = 0;
    out_.clear();
    req_id_.clear();
    model_.clear();
    text_.clear();
    Start();
  }

  // Tokens keep a fixed rate: token n is due n x interval after the request came in, however
  // long the writes before it took (a delay after each write would let the writes' time add
  // up, and a slower reader would be sent tokens at a lower rate: what bench/llm_proxy compares
  // would then move with it).
  void NextToken() {
    timer_.expires_at(schedule_start_ + std::chrono::milliseconds(server_->options.interval_ms) * (sent_ + 1));
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || self->finished_) return;
      int n = ++self->sent_;
      if (!self->stream_mode_) {
        self->text_ += TokenText(n);
        self->server_->Log({{"event", "token"}, {"req", self->req_id_}, {"n", n}, {"text", TokenText(n)}});
        return n < self->total_ ? self->NextToken() : self->FinishPlain();
      }
      self->Write(Chunked(self->Frame(Json{{"content", TokenText(n)}}, nullptr)), [n](Session* s) {
        s->server_->Log({{"event", "token"}, {"req", s->req_id_}, {"n", n}, {"text", TokenText(n)}});
        n < s->total_ ? s->NextToken() : s->FinishStream();
      });
    });
  }

  void FinishStream() {
    Json usage = {{"prompt_tokens", 1}, {"completion_tokens", total_}, {"total_tokens", total_ + 1}};
    Json last = Json::parse(Frame(Json::object(), "stop").substr(6));
    last["usage"] = usage;
    std::string tail = Chunked("data: " + last.dump() + "\n\n") + Chunked("data: [DONE]\n\n") + "0\r\n\r\n";
    Write(tail, [](Session* s) {
      s->finished_ = true;
      s->server_->Log({{"event", "done"}, {"req", s->req_id_}, {"sent", s->sent_}});
      s->EndAnswer();
    });
  }

  void FinishPlain() {
    finished_ = true;
    server_->Log({{"event", "done"}, {"req", req_id_}, {"sent", sent_}});
    Json body = {
        {"id", "chatcmpl-" + req_id_},
        {"object", "chat.completion"},
        {"created", NowMs() / 1000},
        {"model", model_},
        {"choices",
         Json::array(
             {{{"index", 0}, {"message", {{"role", "assistant"}, {"content", text_}}}, {"finish_reason", "stop"}}})},
        {"usage", {{"prompt_tokens", 1}, {"completion_tokens", total_}, {"total_tokens", total_ + 1}}}};
    Reply(http::status::ok, "application/json", body.dump());
  }

  void Cancel(const std::string& why) {
    if (finished_) return;
    finished_ = true;
    timer_.cancel();
    server_->Log({{"event", "cancel"}, {"req", req_id_}, {"sent", sent_}, {"why", why}});
    Close();
  }

  template <typename Then>
  void Write(std::string data, Then then) {
    out_ = std::move(data);
    asio::async_write(stream_, asio::buffer(out_), [self = shared_from_this(), then](beast::error_code ec, size_t) {
      if (self->finished_ && !self->closing_ok_) return;
      if (ec) return self->Cancel("write failed: " + ec.message());
      then(self.get());
    });
  }

  void Reply(http::status status, const std::string& type, std::string body) {
    finished_ = true;
    closing_ok_ = true;
    auto res = std::make_shared<http::response<http::string_body>>(status, 11);
    res->set(http::field::content_type, type);
    res->set(http::field::server, "dsx-mock-llm");
    res->keep_alive(server_->options.keep_alive);
    res->body() = std::move(body);
    res->prepare_payload();
    http::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code ec, size_t) {
      if (ec) return self->Close();
      self->EndAnswer();
    });
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

  beast::tcp_stream stream_;
  asio::steady_timer timer_;
  MockLlmServer::Impl* server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string out_, req_id_, model_, text_;
  int total_ = 0, sent_ = 0;
  std::chrono::steady_clock::time_point schedule_start_;
  bool stream_mode_ = false, finished_ = false, closing_ok_ = false;
  bool watching_ = false;      // a WatchPeer read is pending
  bool next_pending_ = false;  // keep-alive: the answer is over, the next request is to be read
};

}  // namespace

void MockLlmServer::Impl::Accept() {
  acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) {
      // Small frames go out at once, as a model API's server sends them (with Nagle, a frame
      // written while the previous one is unacknowledged waits for the peer's delayed ACK:
      // tens of ms on a kept-alive connection).
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      std::make_shared<Session>(std::move(socket), this)->Start();
    }
    Accept();
  });
}

MockLlmServer::MockLlmServer(MockLlmOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
}
MockLlmServer::~MockLlmServer() = default;

Status MockLlmServer::Listen() {
  auto& o = impl_->options;
  if (o.tokens < 1 || o.tokens > 100000) return Status::Usage("--tokens must be between 1 and 100000");
  if (o.interval_ms < 0 || o.interval_ms > 60000) return Status::Usage("--interval-ms must be between 0 and 60000");
  beast::error_code ec;
  auto addr = asio::ip::make_address(o.host, ec);
  if (ec) return Status::Usage("bad listen address '" + o.host + "': " + ec.message());
  tcp::endpoint ep(addr, static_cast<unsigned short>(o.port));
  impl_->acceptor.open(ep.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(ep, ec);
  if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status(ec == asio::error::address_in_use ? Code::kConflict : Code::kUnavailable,
                  "cannot listen on '" + o.host + ":" + std::to_string(o.port) + "': " + ec.message());
  }
  if (!o.log_path.empty()) {
    impl_->log_file.open(o.log_path, std::ios::app);
    if (!impl_->log_file) return Status::Failed("cannot open log file '" + o.log_path + "'");
  }
  return Status::Ok();
}

int MockLlmServer::port() const { return impl_->acceptor.is_open() ? impl_->acceptor.local_endpoint().port() : 0; }
std::string MockLlmServer::host() const { return impl_->options.host; }

void MockLlmServer::Run() {
  impl_->signals.async_wait([this](beast::error_code ec, int) {
    if (!ec) Stop();
  });
  impl_->Accept();
  impl_->ioc.run();
}

void MockLlmServer::Stop() {
  asio::post(impl_->ioc, [this] {
    beast::error_code ignored;
    impl_->acceptor.close(ignored);
    impl_->signals.cancel(ignored);
    impl_->ioc.stop();
  });
}

std::string MockLlmServer::LogText() const {
  std::lock_guard lock(impl_->log_mu);
  return impl_->log_text;
}

}  // namespace dsx::audit::probe

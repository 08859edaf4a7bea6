// dsbench: the load client of bench/streams/run (not part of the dsx binary; built by the runner
// with g++ straight from this file, Boost.Asio/Beast headers only).
//
// One thread, one io_context, many sockets: at 1000 SSE subscribers on a 2-core machine a
// thread per subscriber (or Node's event loop with its per-chunk overhead) would add more
// latency than the server under test. Writer and subscribers live in the same process and use
// the same steady clock, so receive - send is exact (no clock skew).
//
// Modes (all print one "RESULT key=value ..." line on stdout; exit status 1 on failure):
//   dsbench create  HOST PORT PREFIX N CONTENT_TYPE   PUT PREFIX0 .. PREFIX{N-1}
//   dsbench fanout  HOST PORT PATH SUBS SECONDS RATE   SUBS SSE readers of PATH (an existing,
//                   empty text/plain stream), one writer POSTing "@T<ns>\n" RATE times a second;
//                   prints delivery latency p50/p99/max in microseconds over every (event, reader)
//   dsbench idle    HOST PORT PATH SUBS                opens SUBS SSE readers, prints
//                   "READY ok=N failed=M" once every one has its response head, then keeps them
//                   open until stdin reaches EOF
//   dsbench fill    HOST PORT PATH MIB                 creates PATH (octet-stream) and appends
//                   MIB MiB in 256 KiB POSTs
//   dsbench catchup HOST PORT PATH                     reads PATH from -1 following
//                   Stream-Next-Offset until Stream-Up-To-Date; prints bytes, seconds, MB/s
#include <utility>  // before Asio: Boost 1.74 + C++20 needs std::exchange declared

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "dsbench: %s\n", what.c_str());
  std::exit(1);
}

// A synchronous keep-alive HTTP/1.1 connection for setup work (create, fill, catch-up).
class SyncClient {
 public:
  SyncClient(asio::io_context& io, const std::string& host, const std::string& port) : socket_(io) {
    tcp::resolver resolver(io);
    asio::connect(socket_, resolver.resolve(host, port));
    socket_.set_option(tcp::no_delay(true));
    host_ = host + ":" + port;
  }
  http::response<http::string_body> Send(http::verb verb, const std::string& target,
                                         const std::string& content_type, std::string body) {
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, host_);
    if (!content_type.empty()) req.set(http::field::content_type, content_type);
    req.body() = std::move(body);
    req.prepare_payload();
    http::write(socket_, req);
    http::response_parser<http::string_body> parser;
    parser.body_limit(boost::none);
    http::read(socket_, buffer_, parser);
    return parser.release();
  }

 private:
  tcp::socket socket_;
  boost::beast::flat_buffer buffer_;
  std::string host_;
};

// One SSE reader: sends the GET, waits for the head, then scans the byte stream for "@T<digits>"
// markers (chunk-size lines are hex digits and CRLF, so they never form a marker; each event is
// written as one chunk, so a marker is never split by chunk framing).
class Subscriber : public std::enable_shared_from_this<Subscriber> {
 public:
  Subscriber(asio::io_context& io, std::vector<int64_t>* samples) : socket_(io), samples_(samples) {}

  void Start(const tcp::endpoint& ep, const std::string& request, std::function<void(bool)> on_head) {
    request_ = request;
    on_head_ = std::move(on_head);
    socket_.async_connect(ep, [self = shared_from_this()](boost::system::error_code ec) {
      if (ec) return self->Finish(false);
      self->socket_.set_option(tcp::no_delay(true));
      asio::async_write(self->socket_, asio::buffer(self->request_),
                        [self](boost::system::error_code ec2, std::size_t) {
                          if (ec2) return self->Finish(false);
                          self->Read();
                        });
    });
  }
  void Close() {
    boost::system::error_code ec;
    socket_.close(ec);
  }

 private:
  void Finish(bool ok) {
    if (on_head_) {
      auto cb = std::move(on_head_);
      on_head_ = nullptr;
      cb(ok);
    }
  }
  void Read() {
    socket_.async_read_some(asio::buffer(buf_), [self = shared_from_this()](boost::system::error_code ec,
                                                                            std::size_t n) {
      if (ec) return self->Finish(false);
      int64_t now = NowNs();
      self->pending_.append(self->buf_.data(), n);
      if (!self->head_done_) {
        auto end = self->pending_.find("\r\n\r\n");
        if (end == std::string::npos) {
          if (self->pending_.size() > 16384) return self->Finish(false);
          return self->Read();
        }
        bool ok = self->pending_.rfind("HTTP/1.1 200", 0) == 0;
        self->head_done_ = true;
        self->pending_.erase(0, end + 4);
        self->Finish(ok);
        if (!ok) return;
      }
      self->Scan(now);
      self->Read();
    });
  }
  void Scan(int64_t now) {
    std::size_t pos = 0;
    std::size_t keep_from = pending_.size() > 24 ? pending_.size() - 24 : 0;
    while (true) {
      auto at = pending_.find("@T", pos);
      if (at == std::string::npos) break;
      std::size_t d = at + 2;
      int64_t v = 0;
      while (d < pending_.size() && pending_[d] >= '0' && pending_[d] <= '9') v = v * 10 + (pending_[d++] - '0');
      if (d == pending_.size()) {  // marker may continue in the next read
        keep_from = at;
        break;
      }
      if (samples_ != nullptr && d > at + 2) samples_->push_back(now - v);
      pos = d;
      keep_from = std::max(keep_from, d);
    }
    pending_.erase(0, std::min(keep_from, pending_.size()));
  }

  tcp::socket socket_;
  std::vector<int64_t>* samples_;
  std::string request_;
  std::function<void(bool)> on_head_;
  bool head_done_ = false;
  std::array<char, 4096> buf_{};
  std::string pending_;
};

// Opens `count` subscribers with at most 256 connects in flight (a burst of 10k SYNs overflows
// the listen backlog and turns into 1 s SYN retries), calls done(ok, failed) when all have heads.
struct Opener {
  asio::io_context& io;
  tcp::endpoint ep;
  std::string request;
  std::vector<int64_t>* samples;
  std::vector<std::shared_ptr<Subscriber>> subs;
  int total = 0, started = 0, ok = 0, failed = 0, in_flight = 0;
  std::function<void()> done;

  void Pump() {
    while (in_flight < 256 && started < total) {
      ++started;
      ++in_flight;
      auto s = std::make_shared<Subscriber>(io, samples);
      subs.push_back(s);
      s->Start(ep, request, [this](bool good) {
        --in_flight;
        (good ? ok : failed)++;
        if (ok + failed == total) {
          if (done) done();
        } else {
          Pump();
        }
      });
    }
  }
};

std::string SseRequest(const std::string& host, const std::string& port, const std::string& path) {
  return "GET " + path + "?offset=-1&live=sse HTTP/1.1\r\nHost: " + host + ":" + port +
         "\r\nAccept: text/event-stream\r\n\r\n";
}

int64_t Percentile(std::vector<int64_t>& v, double p) {
  if (v.empty()) return -1;
  std::size_t i = std::min(v.size() - 1, static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(i), v.end());
  return v[i];
}

int Fanout(const std::string& host, const std::string& port, const std::string& path, int subs,
           double seconds, double rate) {
  asio::io_context io;
  tcp::resolver resolver(io);
  tcp::endpoint ep = *resolver.resolve(host, port).begin();
  std::vector<int64_t> samples;
  samples.reserve(static_cast<std::size_t>(subs * seconds * rate * 1.2) + 16);
  Opener opener{io, ep, SseRequest(host, port, path), &samples, {}, 0, 0, 0, 0, 0, {}};
  opener.total = subs;

  // The writer: one keep-alive connection, one POST per tick; a tick that finds the previous POST
  // still unanswered is skipped (and counted), so the offered rate never piles up.
  tcp::socket writer(io);
  writer.connect(ep);
  writer.set_option(tcp::no_delay(true));
  boost::beast::flat_buffer wbuf;
  http::request<http::string_body> req{http::verb::post, path, 11};
  req.set(http::field::host, host + ":" + port);
  req.set(http::field::content_type, "text/plain");
  http::response<http::string_body> res;
  asio::steady_timer tick(io);
  auto interval = std::chrono::nanoseconds(static_cast<int64_t>(1e9 / rate));
  int64_t sent = 0, skipped = 0, bad = 0;
  bool busy = false;
  Clock::time_point end_at;
  std::function<void()> on_tick;
  on_tick = [&] {
    if (Clock::now() >= end_at) {
      // Let the last events arrive, then stop.
      tick.expires_after(std::chrono::milliseconds(500));
      tick.async_wait([&](boost::system::error_code) {
        for (auto& s : opener.subs) s->Close();
        boost::system::error_code ec;
        writer.close(ec);
        io.stop();
      });
      return;
    }
    if (busy) {
      ++skipped;
    } else {
      busy = true;
      req.body() = "@T" + std::to_string(NowNs()) + "\n";
      req.prepare_payload();
      ++sent;
      http::async_write(writer, req, [&](boost::system::error_code ec, std::size_t) {
        if (ec) Die("writer: " + ec.message());
        res = {};
        http::async_read(writer, wbuf, res, [&](boost::system::error_code ec2, std::size_t) {
          if (ec2) Die("writer: " + ec2.message());
          if (res.result_int() / 100 != 2) ++bad;
          busy = false;
        });
      });
    }
    tick.expires_at(tick.expiry() + interval);
    tick.async_wait([&](boost::system::error_code ec) {
      if (!ec) on_tick();
    });
  };
  opener.done = [&] {
    if (opener.failed > 0) Die(std::to_string(opener.failed) + " subscribers failed to connect");
    end_at = Clock::now() + std::chrono::nanoseconds(static_cast<int64_t>(seconds * 1e9));
    tick.expires_after(std::chrono::milliseconds(200));  // heads are out; let the server settle
    tick.async_wait([&](boost::system::error_code) {
      tick.expires_at(Clock::now());
      on_tick();
    });
  };
  opener.Pump();
  io.run();
  int64_t expected = sent * subs;
  auto received = static_cast<int64_t>(samples.size());
  int64_t mx = samples.empty() ? -1 : *std::max_element(samples.begin(), samples.end());
  int64_t p50 = Percentile(samples, 50), p99 = Percentile(samples, 99);
  std::printf("RESULT subs=%d sent=%lld skipped=%lld bad=%lld expected=%lld received=%lld p50_us=%.1f p99_us=%.1f max_us=%.1f\n",
              subs, static_cast<long long>(sent), static_cast<long long>(skipped), static_cast<long long>(bad),
              static_cast<long long>(expected), static_cast<long long>(received), p50 / 1e3, p99 / 1e3, mx / 1e3);
  return 0;
}

int Idle(const std::string& host, const std::string& port, const std::string& path, int subs) {
  asio::io_context io;
  tcp::resolver resolver(io);
  Opener opener{io, *resolver.resolve(host, port).begin(), SseRequest(host, port, path), nullptr, {}, 0, 0, 0, 0, 0, {}};
  opener.total = subs;
  opener.done = [&] {
    std::printf("READY ok=%d failed=%d\n", opener.ok, opener.failed);
    std::fflush(stdout);
  };
  asio::posix::stream_descriptor in(io, ::dup(0));
  std::array<char, 256> b{};
  std::function<void()> wait_eof = [&] {
    in.async_read_some(asio::buffer(b), [&](boost::system::error_code ec, std::size_t) {
      if (ec) {
        for (auto& s : opener.subs) s->Close();
        io.stop();
        return;
      }
      wait_eof();
    });
  };
  wait_eof();
  opener.Pump();
  io.run();
  return opener.failed == 0 ? 0 : 1;
}

void Check(const http::response<http::string_body>& r, const std::string& what) {
  if (r.result_int() / 100 != 2) Die(what + ": HTTP " + std::to_string(r.result_int()) + " " + r.body().substr(0, 200));
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> a(argv + 1, argv + argc);
  if (a.size() < 4) Die("usage: dsbench create|fanout|idle|fill|catchup HOST PORT ...");
  const std::string& mode = a[0];
  const std::string& host = a[1];
  const std::string& port = a[2];
  try {
    if (mode == "create" && a.size() == 6) {
      asio::io_context io;
      SyncClient c(io, host, port);
      int n = std::stoi(a[4]);
      for (int i = 0; i < n; ++i) Check(c.Send(http::verb::put, a[3] + std::to_string(i), a[5], ""), "create");
      std::printf("RESULT created=%d\n", n);
      return 0;
    }
    if (mode == "fanout" && a.size() == 7) return Fanout(host, port, a[3], std::stoi(a[4]), std::stod(a[5]), std::stod(a[6]));
    if (mode == "idle" && a.size() == 5) return Idle(host, port, a[3], std::stoi(a[4]));
    if (mode == "fill" && a.size() == 5) {
      asio::io_context io;
      SyncClient c(io, host, port);
      Check(c.Send(http::verb::put, a[3], "application/octet-stream", ""), "create");
      std::string chunk(256 * 1024, '\0');
      for (std::size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<char>('a' + i % 26);
      int64_t n = std::stoll(a[4]) * 4;
      for (int64_t i = 0; i < n; ++i) Check(c.Send(http::verb::post, a[3], "application/octet-stream", chunk), "append");
      std::printf("RESULT bytes=%lld\n", static_cast<long long>(n * 256 * 1024));
      return 0;
    }
    if (mode == "catchup" && a.size() == 4) {
      asio::io_context io;
      SyncClient c(io, host, port);
      std::string offset = "-1";
      int64_t bytes = 0, requests = 0;
      auto t0 = Clock::now();
      while (true) {
        auto r = c.Send(http::verb::get, a[3] + "?offset=" + offset, "", "");
        Check(r, "read");
        ++requests;
        bytes += static_cast<int64_t>(r.body().size());
        auto next = r["Stream-Next-Offset"];
        if (next.empty()) Die("read: no Stream-Next-Offset");
        bool done = r["Stream-Up-To-Date"] == "true";
        if (done || std::string(next) == offset) break;
        offset = std::string(next);
      }
      double s = std::chrono::duration<double>(Clock::now() - t0).count();
      std::printf("RESULT bytes=%lld requests=%lld seconds=%.3f mb_s=%.1f\n", static_cast<long long>(bytes),
                  static_cast<long long>(requests), s, bytes / 1e6 / s);
      return 0;
    }
  } catch (const std::exception& e) {
    Die(mode + ": " + e.what());
  }
  Die("usage: bad arguments for mode '" + mode + "'");
}

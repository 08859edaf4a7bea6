// dsbench: the load client of bench/streams/run (not part of the dsx binary; built by the runner
// with g++ straight from this file, Boost.Asio/Beast headers only).
//
// One thread, one io_context, many sockets: at 1000 SSE subscribers on a 2-core machine a
// thread per subscriber (or Node's event loop with its per-chunk overhead) would add more
// latency than the server under test. Writer and subscribers live in the same process and read
// the same clock (CLOCK_REALTIME, the clock of the kernel's receive timestamps), so receive -
// send has no skew.
//
// Fan-out latency is measured twice for every (event, reader):
// - arrival: the kernel's receive timestamp of the bytes (SO_TIMESTAMPNS), i.e. when the server's
//   write reached the reader's socket. This is the server's delivery latency. It does not count
//   the time this one client thread takes to get round to the 1000th socket, which a real
//   reader (its own device) never waits for.
// - read: when this process read the bytes (arrival plus this client's own queueing).
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

#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

int64_t NowNs() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Latency samples of a fan-out run [ns] (see the top of the file).
struct Samples {
  std::vector<int64_t> arrival;
  std::vector<int64_t> read;
};

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
  http::response<http::string_body> Send(http::verb verb, const std::string& target, const std::string& content_type,
                                         std::string body) {
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
// written as one chunk, so a marker is never split by chunk framing). Until its head is in it
// reads on the io_context; after that either still there (idle mode) or, once handed to a
// FanoutReader, by ReadOnce() from that reader's epoll loop.
class Subscriber : public std::enable_shared_from_this<Subscriber> {
 public:
  Subscriber(asio::io_context& io, Samples* samples, bool hand_off_after_head)
      : socket_(io), samples_(samples), hand_off_(hand_off_after_head) {}

  int fd() { return socket_.native_handle(); }

  // One recvmsg, for a level-triggered epoll loop. False once the stream has ended.
  bool ReadOnce() { return Receive() != Got::kEnd; }

  void Start(const tcp::endpoint& ep, const std::string& request, std::function<void(bool)> on_head) {
    request_ = request;
    on_head_ = std::move(on_head);
    socket_.async_connect(ep, [self = shared_from_this()](boost::system::error_code ec) {
      if (ec) return self->Finish(false);
      self->socket_.set_option(tcp::no_delay(true));
      int one = 1;  // kernel receive timestamps (arrival latency)
      ::setsockopt(self->socket_.native_handle(), SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
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
  enum class Got { kData, kNothing, kEnd };

  // Waits for readability, then reads until the socket is empty (asio's reactor is
  // edge-triggered), handing the socket off once the head is in if asked to.
  void Read() {
    socket_.async_wait(tcp::socket::wait_read, [self = shared_from_this()](boost::system::error_code ec) {
      if (ec) return self->Finish(false);
      for (;;) {
        const Got got = self->Receive();
        if (got == Got::kEnd) return self->Finish(false);
        if (got == Got::kNothing) return self->Read();
        if (self->head_done_ && self->hand_off_) return;  // the FanoutReader reads from here on
      }
    });
  }

  // One recvmsg with the kernel's receive timestamp; scans what it got.
  Got Receive() {
    iovec iov{buf_.data(), buf_.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec))];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n;
    do {
      n = ::recvmsg(socket_.native_handle(), &msg, MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Got::kNothing;
    if (n <= 0) return Got::kEnd;  // end of stream or error
    const int64_t now = NowNs();
    int64_t arrival = now;  // no timestamp (not expected): count the read time
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
        timespec ts{};
        std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
        arrival = static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
      }
    }
    pending_.append(buf_.data(), static_cast<std::size_t>(n));
    if (!head_done_) {
      auto end = pending_.find("\r\n\r\n");
      if (end == std::string::npos) return pending_.size() > 16384 ? Got::kEnd : Got::kData;
      bool ok = pending_.rfind("HTTP/1.1 200", 0) == 0;
      head_done_ = true;
      pending_.erase(0, end + 4);
      Finish(ok);
      if (!ok) return Got::kEnd;
    }
    Scan(now, arrival);
    return Got::kData;
  }

  // For TCP the timestamp is the last segment's that the read consumed: a read spanning several
  // events stamps the earlier ones late, never early.
  void Scan(int64_t now, int64_t arrival) {
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
      if (samples_ != nullptr && d > at + 2) {
        samples_->read.push_back(now - v);
        samples_->arrival.push_back(arrival - v);
      }
      pos = d;
      keep_from = std::max(keep_from, d);
    }
    pending_.erase(0, std::min(keep_from, pending_.size()));
  }

  tcp::socket socket_;
  Samples* samples_;
  bool hand_off_ = false;
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
  Samples* samples;
  bool hand_off;  // subscribers stop reading on the io_context once their head is in
  std::vector<std::shared_ptr<Subscriber>> subs;
  int total = 0, started = 0, ok = 0, failed = 0, in_flight = 0;
  std::function<void()> done;

  void Pump() {
    while (in_flight < 256 && started < total) {
      ++started;
      ++in_flight;
      auto s = std::make_shared<Subscriber>(io, samples, hand_off);
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

// Reads every subscriber of a fan-out run from one thread: a level-triggered epoll loop with one
// recvmsg per ready socket, the fewest system calls per delivery (asio's edge-triggered reactor
// needs a second read to see EAGAIN, and re-arms a wait with epoll_ctl). The client shares the
// 2 cores with the server under test, so its CPU per delivery shows in the server's latency.
// The writer keeps the io_context on the main thread; Samples are touched only here.
class FanoutReader {
 public:
  explicit FanoutReader(const std::vector<std::shared_ptr<Subscriber>>& subs) : epoll_(::epoll_create1(EPOLL_CLOEXEC)) {
    if (epoll_ < 0) Die("epoll_create1 failed");
    for (const auto& s : subs) {
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLRDHUP;
      ev.data.ptr = s.get();
      if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, s->fd(), &ev) != 0) Die("epoll_ctl failed");
    }
    thread_ = std::thread([this] { Loop(); });
  }
  ~FanoutReader() {
    stop_ = true;
    thread_.join();
    ::close(epoll_);
  }

 private:
  void Loop() {
    std::array<epoll_event, 256> events{};
    while (!stop_) {
      int n = ::epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), 50);
      for (int i = 0; i < n; ++i) {
        auto* s = static_cast<Subscriber*>(events[static_cast<std::size_t>(i)].data.ptr);
        if (!s->ReadOnce()) ::epoll_ctl(epoll_, EPOLL_CTL_DEL, s->fd(), nullptr);
      }
    }
  }

  int epoll_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
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

int Fanout(const std::string& host, const std::string& port, const std::string& path, int subs, double seconds,
           double rate) {
  asio::io_context io;
  tcp::resolver resolver(io);
  tcp::endpoint ep = *resolver.resolve(host, port).begin();
  Samples samples;
  samples.read.reserve(static_cast<std::size_t>(subs * seconds * rate * 1.2) + 16);
  samples.arrival.reserve(samples.read.capacity());
  Opener opener{io, ep, SseRequest(host, port, path), &samples, /*hand_off=*/true, {}, 0, 0, 0, 0, 0, {}};
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
  std::unique_ptr<FanoutReader> reader;  // reads the subscribers once every head is in
  on_tick = [&] {
    if (Clock::now() >= end_at) {
      // Let the last events arrive, then stop.
      tick.expires_after(std::chrono::milliseconds(500));
      tick.async_wait([&](boost::system::error_code) {
        reader.reset();  // joins the reading thread before the sockets close
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
    reader = std::make_unique<FanoutReader>(opener.subs);
    end_at = Clock::now() + std::chrono::nanoseconds(static_cast<int64_t>(seconds * 1e9));
    tick.expires_after(std::chrono::milliseconds(200));  // heads are out; let the server settle
    tick.async_wait([&](boost::system::error_code) {
      tick.expires_at(Clock::now());
      on_tick();
    });
  };
  opener.Pump();
  io.run();
  reader.reset();
  int64_t expected = sent * subs;
  auto received = static_cast<int64_t>(samples.arrival.size());
  auto max_of = [](const std::vector<int64_t>& v) { return v.empty() ? -1 : *std::max_element(v.begin(), v.end()); };
  int64_t mx = max_of(samples.arrival), read_mx = max_of(samples.read);
  int64_t p50 = Percentile(samples.arrival, 50), p99 = Percentile(samples.arrival, 99);
  int64_t read_p50 = Percentile(samples.read, 50), read_p99 = Percentile(samples.read, 99);
  // p50/p99/max: arrival (the server's delivery latency); read_*: when this client read it.
  std::printf(
      "RESULT subs=%d sent=%lld skipped=%lld bad=%lld expected=%lld received=%lld p50_us=%.1f p99_us=%.1f max_us=%.1f "
      "read_p50_us=%.1f read_p99_us=%.1f read_max_us=%.1f\n",
      subs, static_cast<long long>(sent), static_cast<long long>(skipped), static_cast<long long>(bad),
      static_cast<long long>(expected), static_cast<long long>(received), p50 / 1e3, p99 / 1e3, mx / 1e3,
      read_p50 / 1e3, read_p99 / 1e3, read_mx / 1e3);
  return 0;
}

int Idle(const std::string& host, const std::string& port, const std::string& path, int subs) {
  asio::io_context io;
  tcp::resolver resolver(io);
  Opener opener{io,
                *resolver.resolve(host, port).begin(),
                SseRequest(host, port, path),
                nullptr,
                /*hand_off=*/false,
                {},
                0,
                0,
                0,
                0,
                0,
                {}};
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
    if (mode == "fanout" && a.size() == 7)
      return Fanout(host, port, a[3], std::stoi(a[4]), std::stod(a[5]), std::stod(a[6]));
    if (mode == "idle" && a.size() == 5) return Idle(host, port, a[3], std::stoi(a[4]));
    if (mode == "fill" && a.size() == 5) {
      asio::io_context io;
      SyncClient c(io, host, port);
      Check(c.Send(http::verb::put, a[3], "application/octet-stream", ""), "create");
      std::string chunk(256 * 1024, '\0');
      for (std::size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<char>('a' + i % 26);
      int64_t n = std::stoll(a[4]) * 4;
      for (int64_t i = 0; i < n; ++i)
        Check(c.Send(http::verb::post, a[3], "application/octet-stream", chunk), "append");
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

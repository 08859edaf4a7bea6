// bench/sessions/client.cpp: load generator for `dsx session serve` (see bench/sessions/run).
// One thread, epoll, raw sockets: N WebSocket or SSE readers on one session, plus (fanout) one
// agent WebSocket appending msg.append fragments at RATE/s. Each fragment's text carries its
// send time (CLOCK_MONOTONIC ns) as "q<ns>z"; readers scan received bytes for those tags, so
// merged fragments still count once each. Prints one result line: key=value pairs.
// Build: g++ -O2 -std=c++20 -pthread client.cpp -o client
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

static int64_t now_ns() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000000000LL + t.tv_nsec;
}
static long rss_kib(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string l;
  while (std::getline(f, l))
    if (l.rfind("VmRSS:", 0) == 0) return std::atol(l.c_str() + 6);
  return 0;
}
static double cpu_s(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), {});
  std::istringstream in(s.substr(s.rfind(')') + 2));
  std::string tok;
  std::vector<std::string> v;
  while (in >> tok) v.push_back(tok);
  return (std::atof(v[11].c_str()) + std::atof(v[12].c_str())) / sysconf(_SC_CLK_TCK);
}
static std::string loadavg() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a + "/" + b + "/" + c;
}
static int port_g;
static int connect_lo() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    perror("socket");
    return -1;
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port_g);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (sockaddr*)&a, sizeof a) < 0) {
    perror("connect");
    close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}
static void send_all(int fd, const std::string& s) {
  size_t o = 0;
  while (o < s.size()) {
    ssize_t n = send(fd, s.data() + o, s.size() - o, MSG_NOSIGNAL);
    if (n <= 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      perror("send");
      exit(2);
    }
    o += n;
  }
}
static std::string ws_frame(const std::string& p) {  // masked text frame
  std::string f;
  f += char(0x81);
  if (p.size() < 126) f += char(0x80 | p.size());
  else if (p.size() < 65536) {
    f += char(0x80 | 126);
    f += char(p.size() >> 8);
    f += char(p.size() & 255);
  } else {
    f += char(0x80 | 127);
    for (int i = 7; i >= 0; --i) f += char((uint64_t(p.size()) >> (8 * i)) & 255);
  }
  const unsigned char m[4] = {1, 2, 3, 4};
  f.append((const char*)m, 4);
  for (size_t i = 0; i < p.size(); ++i) f += char(p[i] ^ m[i % 4]);
  return f;
}
static std::string ws_upgrade(const std::string& s) {
  return "GET /v1/session/" + s +
         "/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
}
// read (blocking, with timeout) until `needle` appears; returns what was read
static std::string read_until(int fd, const std::string& needle, int timeout_ms, std::string acc = {}) {
  int64_t end = now_ns() + int64_t(timeout_ms) * 1000000;
  char buf[65536];
  while (acc.find(needle) == std::string::npos && now_ns() < end) {
    ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) acc.append(buf, n);
    else if (n == 0) break;
    else usleep(200);
  }
  return acc;
}
static void http_put(const std::string& session) {
  int fd = connect_lo();
  send_all(fd, "PUT /v1/session/" + session +
                   " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  std::string r = read_until(fd, "\r\n\r\n", 5000);
  if (r.find(" 20") == std::string::npos) {
    fprintf(stderr, "PUT %s failed: %s\n", session.c_str(), r.c_str());
    exit(2);
  }
  close(fd);
}

struct Reader {
  int fd;
  std::string tail;
};

int main(int argc, char** argv) {
  std::string mode = "idle", transport = "ws", session = "bench/s";
  int n = 1000, pid = 0;
  double rate = 100, seconds = 10, warm = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--port") port_g = std::atoi(v.c_str());
    else if (k == "--pid") pid = std::atoi(v.c_str());
    else if (k == "--mode") mode = v;
    else if (k == "--transport") transport = v;
    else if (k == "--n") n = std::atoi(v.c_str());
    else if (k == "--rate") rate = std::atof(v.c_str());
    else if (k == "--seconds") seconds = std::atof(v.c_str());
    else if (k == "--session") session = v;
    else if (k == "--warmup") warm = std::atof(v.c_str());
  }
  bool ws = transport == "ws";
  std::string sess_enc = session;
  {
    std::string o;
    for (char c : session) o += c == '/' ? std::string("%2F") : std::string(1, c);
    sess_enc = o;
  }
  http_put(sess_enc);
  usleep(300000);
  long rss0 = rss_kib(pid);
  std::string la0 = loadavg();
  // open readers in batches: connect + handshake, wait for the response headers, subscribe
  std::vector<Reader> rd;
  rd.reserve(n);
  const int batch = 100;
  int failed = 0;
  int64_t t_open = now_ns();
  for (int b = 0; b < n; b += batch) {
    std::vector<int> fds;
    for (int i = b; i < std::min(n, b + batch); ++i) {
      int fd = connect_lo();
      if (fd < 0) {
        ++failed;
        continue;
      }
      send_all(fd,
               ws ? ws_upgrade(sess_enc)
                  : "GET /v1/session/" + sess_enc +
                        "/events?live=sse&offset=now HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n");
      fds.push_back(fd);
    }
    for (int fd : fds) {
      std::string r = read_until(fd, "\r\n\r\n", 10000);
      bool ok = ws ? r.rfind("HTTP/1.1 101", 0) == 0 : r.rfind("HTTP/1.1 200", 0) == 0;
      if (!ok) {
        if (failed++ < 3) fprintf(stderr, "handshake failed: %.200s\n", r.c_str());
        close(fd);
        continue;
      }
      if (ws) send_all(fd, ws_frame("{\"op\":\"subscribe\",\"offset\":\"now\"}"));
      fcntl(fd, F_SETFL, O_NONBLOCK);
      rd.push_back({fd, {}});
    }
  }
  double open_s = (now_ns() - t_open) / 1e9;
  // let subscriptions settle, drain what arrived (hello, subscribe acks)
  usleep(mode == "idle" ? 2000000 : 1000000);
  char buf[1 << 16];
  for (auto& r : rd)
    while (recv(r.fd, buf, sizeof buf, 0) > 0) {}
  long rss1 = rss_kib(pid);
  int open_n = rd.size();
  if (mode == "idle") {
    usleep(1000000);
    long rss2 = rss_kib(pid);
    // check the connections are still open
    int alive = 0;
    for (auto& r : rd) {
      ssize_t k = recv(r.fd, buf, sizeof buf, MSG_DONTWAIT);
      if (k > 0 || (k < 0 && errno == EAGAIN)) ++alive;
    }
    printf(
        "mode=idle transport=%s n=%d open=%d alive=%d failed=%d open_s=%.1f rss0_kib=%ld rss_kib=%ld "
        "rss_per_conn_kib=%.2f load=%s\n",
        transport.c_str(), n, open_n, alive, failed, open_s, rss0, rss2, open_n ? double(rss2 - rss0) / open_n : 0.0,
        loadavg().c_str());
    for (auto& r : rd) close(r.fd);
    return 0;
  }
  // fanout: agent on its own WebSocket
  int ag = connect_lo();
  send_all(ag, ws_upgrade(sess_enc));
  std::string acc = read_until(ag, "\"op\":\"hello\"", 5000);
  send_all(
      ag,
      ws_frame("{\"op\":\"append\",\"req\":\"s\",\"event\":{\"type\":\"run.start\",\"data\":{\"lease_ms\":600000}}}"));
  acc = read_until(ag, "\"req\":\"s\"", 5000, acc);
  acc = read_until(ag, "\"run\":\"r", 5000, acc);
  size_t p = acc.find("\"run\":\"");
  if (p == std::string::npos) {
    fprintf(stderr, "no run id: %s\n", acc.c_str());
    return 2;
  }
  p += 7;
  std::string run = acc.substr(p, acc.find('"', p) - p);
  send_all(ag, ws_frame("{\"op\":\"append\",\"req\":\"m\",\"event\":{\"type\":\"msg.start\",\"run\":\"" + run +
                        "\",\"msg\":\"m\",\"data\":{\"role\":\"assistant\"}}}"));
  fcntl(ag, F_SETFL, O_NONBLOCK);
  int ep = epoll_create1(0);
  for (size_t i = 0; i < rd.size(); ++i) {
    epoll_event e{};
    e.events = EPOLLIN;
    e.data.u64 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, rd[i].fd, &e);
  }
  {
    epoll_event e{};
    e.events = EPOLLIN;
    e.data.u64 = ~0ull;
    epoll_ctl(ep, EPOLL_CTL_ADD, ag, &e);
  }
  std::vector<int64_t> lat;
  lat.reserve(size_t(open_n) * size_t(rate * seconds + 10));
  int64_t t0 = now_ns(), t_meas = t0 + int64_t(warm * 1e9), t_end = t_meas + int64_t(seconds * 1e9);
  int64_t drain_end = t_end + 2000000000LL;
  long sent = 0, sent_meas = 0, deliveries_all = 0;
  int closed = 0;
  double cpu0 = 0;
  bool cpu_started = false;
  long rss_peak = rss1;
  int64_t next_rss = t0;
  std::vector<epoll_event> evs(1024);
  for (;;) {
    int64_t now = now_ns();
    if (!cpu_started && now >= t_meas) {
      cpu0 = cpu_s(pid);
      cpu_started = true;
    }
    if (now < t_end) {
      int64_t due = t0 + int64_t(sent * 1e9 / rate);
      if (now >= due) {
        int64_t ts = now_ns();
        std::string text = "q" + std::to_string(ts) + "z";
        send_all(ag, ws_frame("{\"op\":\"append\",\"req\":" + std::to_string(sent) +
                              ",\"event\":{\"type\":\"msg.append\",\"run\":\"" + run +
                              "\",\"msg\":\"m\",\"data\":{\"text\":\"" + text + "\",\"t_ns\":" + std::to_string(ts) +
                              "}}}"));
        ++sent;
        if (ts >= t_meas) ++sent_meas;
        continue;
      }
    } else if (now >= drain_end) break;
    if (now >= next_rss) {
      rss_peak = std::max(rss_peak, rss_kib(pid));
      next_rss = now + 500000000;
    }
    static double cpu_end = -1;
    if (cpu_end < 0 && now >= t_end) {
      cpu_end = cpu_s(pid);
      setenv("CPU_END", std::to_string(cpu_end).c_str(), 1);
    }
    int64_t wait_ns = now < t_end ? (t0 + int64_t(sent * 1e9 / rate)) - now : drain_end - now;
    int k = epoll_wait(ep, evs.data(), evs.size(), int(std::max<int64_t>(0, wait_ns / 1000000)));
    for (int j = 0; j < k; ++j) {
      if (evs[j].data.u64 == ~0ull) {
        while (recv(ag, buf, sizeof buf, 0) > 0) {}
        continue;
      }
      Reader& r = rd[evs[j].data.u64];
      ssize_t m = recv(r.fd, buf, sizeof buf, 0);
      int64_t t = now_ns();
      if (m <= 0) {
        if (m == 0 || errno != EAGAIN) {
          epoll_ctl(ep, EPOLL_CTL_DEL, r.fd, nullptr);
          ++closed;
        }
        continue;
      }
      std::string s = std::move(r.tail);
      s.append(buf, m);
      r.tail.clear();
      size_t pos = 0;
      for (;;) {
        size_t q = s.find('q', pos);
        if (q == std::string::npos) break;
        size_t e = q + 1;
        while (e < s.size() && s[e] >= '0' && s[e] <= '9') ++e;
        if (e == s.size()) {
          if (e > q + 1 || q + 1 == s.size()) r.tail = s.substr(q);
          break;
        }
        if (s[e] == 'z' && e > q + 1) {
          int64_t ts = std::atoll(s.c_str() + q + 1);
          ++deliveries_all;
          if (ts >= t_meas && ts < t_end) lat.push_back(t - ts);
        }
        pos = e;
      }
    }
  }
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double client_cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
  double cpu1 = std::atof(getenv("CPU_END") ? getenv("CPU_END") : "0");
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double f) { return lat.empty() ? -1.0 : lat[std::min(lat.size() - 1, size_t(f * lat.size()))] / 1e6; };
  printf(
      "mode=fanout transport=%s n=%d open=%d failed=%d closed=%d rate=%.0f seconds=%.0f sent=%ld expected=%ld "
      "delivered=%zu "
      "p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f p999_ms=%.2f max_ms=%.2f server_cpu_pct=%.0f rss0_kib=%ld rss_conn_kib=%ld "
      "rss_peak_kib=%ld "
      "rss_per_conn_kib=%.2f rss_peak_per_conn_kib=%.2f load_start=%s load_end=%s client_cpu_s_total=%.1f\n",
      transport.c_str(), n, open_n, failed, closed, rate, seconds, sent_meas, long(sent_meas) * open_n, lat.size(),
      pct(0.5), pct(0.9), pct(0.99), pct(0.999), lat.empty() ? -1.0 : lat.back() / 1e6, 100 * (cpu1 - cpu0) / seconds,
      rss0, rss1, rss_peak, open_n ? double(rss1 - rss0) / open_n : 0.0,
      open_n ? double(rss_peak - rss0) / open_n : 0.0, la0.c_str(), loadavg().c_str(), client_cpu);
  return 0;
}

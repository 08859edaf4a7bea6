// bench/streams/floor_fanout.cpp: the fan-out floor for bench/streams/run — the least work any
// server must do to deliver one SSE event to N subscribers over TCP on this machine, as nginx's
// 204 is the ceiling for appends. Not a server: it stores nothing, parses just enough HTTP for
// dsbench, and on each POST writes one prebuilt chunk to every subscriber socket (one write(2)
// each, split over two writer threads like dsx's two I/O threads), then answers 204. What it measures is the kernel's
// loopback TCP cost plus the load generator's own reading; a real server cannot beat it.
//
// Usage: floor_fanout PORT   (PORT 0: any; prints "floor: listening on http://127.0.0.1:PORT")
// Build: g++ -O2 -std=c++20 -pthread floor_fanout.cpp -o floor_fanout
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

struct Half {  // the subscribers one writer thread serves
  std::mutex mu;
  std::vector<int> fds;
  int wake = eventfd(0, 0);
};

Half halves[2];
std::mutex chunk_mu;
std::string chunk;            // the event being delivered
std::atomic<int> pending{0};  // halves still writing it
// FLOOR_THREADS=1: the accepting thread writes to every subscriber itself (measured: p99 no better).
bool kInline = std::getenv("FLOOR_THREADS") != nullptr && std::string(std::getenv("FLOOR_THREADS")) == "1";

void WriteAll(int fd, const std::string& s) {
  std::size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = write(fd, s.data() + off, s.size() - off);
    if (n <= 0) return;  // a gone subscriber: drop silently
    off += static_cast<std::size_t>(n);
  }
}

void Writer(Half* h) {
  for (;;) {
    std::uint64_t v;
    if (read(h->wake, &v, sizeof v) != sizeof v) continue;
    std::string c;
    {
      std::lock_guard lk(chunk_mu);
      c = chunk;
    }
    std::lock_guard lk(h->mu);
    for (int fd : h->fds) WriteAll(fd, c);
    pending--;
  }
}

std::string Chunk(const std::string& events) {
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", events.size());
  return size + events + "\r\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // a gone subscriber fails its write; it must not end the process
  const int port = argc > 1 ? std::atoi(argv[1]) : 0;
  int ls = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(ls, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(ls, 4096) != 0) {
    std::perror("floor: bind/listen");
    return 1;
  }
  socklen_t len = sizeof a;
  getsockname(ls, reinterpret_cast<sockaddr*>(&a), &len);
  std::fprintf(stderr, "floor: listening on http://127.0.0.1:%d\n", ntohs(a.sin_port));
  std::thread(Writer, &halves[0]).detach();
  std::thread(Writer, &halves[1]).detach();

  int ep = epoll_create1(0);
  epoll_event e{};
  e.events = EPOLLIN;
  e.data.fd = ls;
  epoll_ctl(ep, EPOLL_CTL_ADD, ls, &e);
  std::unordered_map<int, std::string> inbox;  // request bytes per connection
  std::size_t next_half = 0;
  std::vector<epoll_event> evs(256);
  char buf[65536];
  for (;;) {
    const int k = epoll_wait(ep, evs.data(), static_cast<int>(evs.size()), -1);
    for (int i = 0; i < k; ++i) {
      const int fd = evs[i].data.fd;
      if (fd == ls) {
        const int c = accept(ls, nullptr, nullptr);
        if (c < 0) continue;
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        e.events = EPOLLIN;
        e.data.fd = c;
        epoll_ctl(ep, EPOLL_CTL_ADD, c, &e);
        continue;
      }
      const ssize_t n = read(fd, buf, sizeof buf);
      if (n <= 0) {
        epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
        inbox.erase(fd);
        close(fd);
        continue;
      }
      std::string& in = inbox[fd];
      in.append(buf, static_cast<std::size_t>(n));
      for (;;) {  // every complete request in the buffer
        const auto head_end = in.find("\r\n\r\n");
        if (head_end == std::string::npos) break;
        std::size_t body_len = 0;
        const auto cl = in.find("Content-Length: ");
        if (cl != std::string::npos && cl < head_end) body_len = std::strtoul(in.c_str() + cl + 16, nullptr, 10);
        if (in.size() < head_end + 4 + body_len) break;
        const std::string body = in.substr(head_end + 4, body_len);
        const bool get = in.rfind("GET ", 0) == 0, post = in.rfind("POST ", 0) == 0;
        in.erase(0, head_end + 4 + body_len);
        if (get) {  // an SSE subscriber: head, then it belongs to a writer thread
          WriteAll(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n");
          epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
          inbox.erase(fd);
          Half& h = halves[next_half++ % 2];
          std::lock_guard lk(h.mu);
          h.fds.push_back(fd);
          break;
        }
        if (post) {
          const std::string c = Chunk("event: data\ndata:" + body + "\n\n");
          if (kInline) {  // this thread writes to every subscriber, then answers
            for (Half& h : halves) {
              std::lock_guard lk(h.mu);
              for (int s : h.fds) WriteAll(s, c);
            }
          } else {
            // One event at a time (dsbench posts 50/s; a round takes a few ms): wait for the last.
            while (pending.load() > 0) std::this_thread::yield();
            {
              std::lock_guard lk(chunk_mu);
              chunk = c;
            }
            pending = 2;
            for (Half& h : halves) {
              const std::uint64_t v = 1;
              if (write(h.wake, &v, sizeof v) != sizeof v) std::perror("floor: eventfd");
            }
          }
          WriteAll(fd, "HTTP/1.1 204 No Content\r\n\r\n");
        } else {  // PUT (create) and anything else
          WriteAll(fd, "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
        }
      }
    }
  }
}

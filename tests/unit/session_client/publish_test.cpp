// `dsx session publish` as a library call: input from a pipe or a file, a scripted transport,
// virtual time for the retries.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "core/clock.hpp"
#include "net/fake_transport.hpp"
#include "session/client/publish.hpp"

using namespace dsx::session::client;
using namespace dsx::net;
using namespace dsx::net::testing;
using nlohmann::json;

namespace {

// `text` readable from a pipe (a live producer) or a regular file (read to the end up front).
class Input {
 public:
  Input(const std::string& text, bool regular) {
    if (regular) {
      char path[] = "/tmp/dsx-publish-test-XXXXXX";
      fd_ = ::mkstemp(path);
      REQUIRE(fd_ >= 0);
      ::unlink(path);
      REQUIRE(::write(fd_, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
      ::lseek(fd_, 0, SEEK_SET);
    } else {
      int p[2];
      REQUIRE(::pipe(p) == 0);
      REQUIRE(text.size() < 65536);  // fits the pipe: written before anything reads
      REQUIRE(::write(p[1], text.data(), text.size()) == static_cast<ssize_t>(text.size()));
      ::close(p[1]);
      fd_ = p[0];
    }
  }
  ~Input() { ::close(fd_); }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

struct Fixture {
  FakeTransport transport;
  dsx::ManualClock clock;
  StreamClient client{transport, StreamRef{"http://h:1/v1/stream/s", "s"}, "tok"};
  std::vector<std::string> notices;

  PublishOptions Options() {
    PublishOptions o;
    o.notice = [this](const std::string& n) { notices.push_back(n); };
    return o;
  }
};

HeaderList Head(const std::string& type, const std::string& offset = "0_0", bool closed = false) {
  HeaderList h = {{"Content-Type", type}, {"Stream-Next-Offset", offset}};
  if (closed) h.emplace_back("Stream-Closed", "true");
  return h;
}
HeaderList Next(const std::string& offset) { return {{"Stream-Next-Offset", offset}}; }

}  // namespace

TEST_CASE("publish, byte mode: each read is one append; the offset is the last answer's") {
  Fixture f;
  f.transport.script = {Reply(200, Head("text/plain")), Reply(200, Next("0_5"))};
  Input in("hello", false);
  auto r = Publish(f.client, in.fd(), f.Options(), f.clock);
  REQUIRE(r.ok());
  CHECK(r->bytes == 5);
  CHECK(r->messages == 1);
  CHECK(r->next_offset == "0_5");
  CHECK_FALSE(r->closed);
  REQUIRE(f.transport.requests.size() == 2);
  CHECK(f.transport.requests[0].method == "HEAD");
  CHECK(f.transport.requests[1].body == "hello");
  CHECK(f.transport.Header(1, "Content-Type") == "text/plain");
  CHECK(f.transport.Header(1, "Authorization") == "Bearer tok");
}

TEST_CASE("publish: a missing stream is exit 3 without create, created with it") {
  Fixture f;
  f.transport.script = {Reply(404)};
  Input in("x", false);
  auto r = Publish(f.client, in.fd(), f.Options(), f.clock);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().exit_code() == 3);
  CHECK(r.status().message() == "stream not found (use --create)");

  Fixture g;
  g.transport.script = {Reply(404), Reply(201, Head("application/json")), Reply(200, Next("0_14"))};
  Input lines("{\"a\":1}\n\n{\"b\":2}\n", true);
  PublishOptions o = g.Options();
  o.create = true;
  o.create_options.content_type = "application/json";
  auto c = Publish(g.client, lines.fd(), o, g.clock);
  REQUIRE(c.ok());
  CHECK(c->messages == 2);
  CHECK(c->bytes == 14);
  REQUIRE(g.transport.requests.size() == 3);
  CHECK(g.transport.requests[1].method == "PUT");
  CHECK(g.transport.Header(1, "Content-Type") == "application/json");
  CHECK(json::parse(g.transport.requests[2].body) == json::parse(R"([{"a":1},{"b":2}])"));
}

TEST_CASE("publish: an existing stream of another type, or a closed one, is exit 4 before reading") {
  Fixture f;
  f.transport.script = {Reply(200, Head("text/plain"))};
  PublishOptions o = f.Options();
  o.create = true;
  o.create_options.content_type = "application/json";
  Input in("x", false);
  auto r = Publish(f.client, in.fd(), o, f.clock);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().exit_code() == 4);
  CHECK(r.status().message() == "stream exists with content type 'text/plain', not 'application/json'");

  Fixture g;
  g.transport.script = {Reply(200, Head("text/plain", "0_3", true))};
  auto closed = Publish(g.client, in.fd(), g.Options(), g.clock);
  REQUIRE_FALSE(closed.ok());
  CHECK(closed.status().message() == "stream is closed");
  CHECK(g.transport.requests.size() == 1);
}

TEST_CASE("publish, JSON mode: an invalid line in a file appends nothing") {
  Fixture f;
  f.transport.script = {Reply(200, Head("application/json"))};
  Input in("{\"a\":1}\nnot json\n", true);
  auto r = Publish(f.client, in.fd(), f.Options(), f.clock);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().exit_code() == 1);
  CHECK(r.status().message().find("; nothing was appended") != std::string::npos);
  CHECK(f.transport.requests.size() == 1);
}

TEST_CASE("publish with a producer: the epoch is the clock's time; retries wait on the clock and say so once") {
  Fixture f;
  f.transport.script = {Reply(200, Head("text/plain")), NetError(false, "Connection refused"), Reply(503),
                        Reply(200, Next("0_2")), Reply(200, Next("0_2"))};
  PublishOptions o = f.Options();
  o.producer = "p1";
  o.close = true;
  Input in("hi", false);
  auto r = Publish(f.client, in.fd(), o, f.clock);
  REQUIRE(r.ok());
  CHECK(r->closed);
  CHECK(r->next_offset == "0_2");
  REQUIRE(f.transport.requests.size() == 5);
  CHECK(f.transport.Header(1, "Producer-Epoch") == std::to_string(dsx::ManualClock().NowMs()));
  CHECK(f.transport.Header(1, "Producer-Seq") == "0");
  CHECK(f.transport.Header(3, "Producer-Seq") == "0");  // the same seq until it is accepted
  CHECK(f.transport.Header(4, "Stream-Closed") == "true");
  REQUIRE(f.notices.size() == 2);
  CHECK(f.notices[0] == "Connection refused (http://h:1); retrying");
  CHECK(f.notices[1] == "server reachable again; resumed");
  CHECK(f.clock.sleeps().size() == 2);
}

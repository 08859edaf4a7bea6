#include "session/server/loop_post.hpp"

#include <doctest/doctest.h>

#include <string>

#include <boost/asio/io_context.hpp>

namespace net = boost::asio;
using dsx::session::server::PostToLoop;

TEST_CASE("PostToLoop: without a batch each hand-off is its own handler") {
  net::io_context io;
  std::string order;
  auto ex = io.get_executor();
  PostToLoop(ex, [&] { order += "1"; });
  PostToLoop(ex, [&] { order += "2"; });
  CHECK(io.run() == 2);
  CHECK(order == "12");
}

TEST_CASE("PostToLoop: inside a batch, one handler per io_context, in order, after the batch") {
  net::io_context a, b;
  std::string order;
  {
    dsx::HandoffBatch batch;
    auto ea = a.get_executor();
    auto eb = b.get_executor();
    PostToLoop(ea, [&] { order += "a1 "; });
    PostToLoop(eb, [&] { order += "b1 "; });
    PostToLoop(ea, [&] { order += "a2 "; });
    CHECK(a.poll() == 0);  // held until the batch closes
    a.restart();           // poll() found no work and stopped the context
  }
  CHECK(a.run() == 1);  // both items, one handler
  CHECK(b.run() == 1);
  CHECK(order == "a1 a2 b1 ");
}

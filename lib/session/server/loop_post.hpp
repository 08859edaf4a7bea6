// PostToLoop: net::post for hand-offs to a connection's I/O thread from other code (the file
// store's completer, an append waking parked readers). While a dsx::HandoffBatch is open on the
// calling thread, the work is grouped per I/O thread and posted as one handler per group
// (core/handoff_batch.hpp says why); otherwise it is posted as is. A connection's executor is
// always its io_context's (net_types.hpp).
//
// Every hand-off to a connection made from inside a batch must use this, not net::post, so the
// connection sees them in the order they were made.
#pragma once

#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "core/handoff_batch.hpp"

namespace dsx::session::server {

namespace detail {

inline void DeliverToIoContext(void* target, std::vector<HandoffBatch::Work>&& items) {
  boost::asio::post(*static_cast<boost::asio::io_context*>(target), [items = std::move(items)] {
    for (const auto& work : items) work();
  });
}

}  // namespace detail

template <class Fn>
void PostToLoop(const boost::asio::io_context::executor_type& ex, Fn&& fn) {
  if (HandoffBatch::Open()) {
    HandoffBatch::Add(&ex.context(), &detail::DeliverToIoContext, std::forward<Fn>(fn));
    return;
  }
  boost::asio::post(ex, std::forward<Fn>(fn));
}

}  // namespace dsx::session::server

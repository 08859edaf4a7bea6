// The types of the server's connections (socket, acceptor, Beast stream, timers), bound to the
// concrete executor of the io_context that runs them.
//
// Why not beast::tcp_stream and tcp::socket (both on any_io_executor): every asynchronous
// operation copies and destroys its executor several times, and on the type-erased executor
// those copies were about 4% of the server's CPU under 256 appending connections (perf:
// any_executor_base::copy_object, destroy_object, prefer_fn). Each connection's handlers run on
// exactly one io_context (listener.cpp), so its concrete executor is all a connection needs.
#pragma once

#include <chrono>

#include <boost/asio/basic_socket_acceptor.hpp>
#include <boost/asio/basic_stream_socket.hpp>
#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include "session/server/connection_count.hpp"

namespace dsx::session::server {

using IoExecutor = boost::asio::io_context::executor_type;
using TcpSocket = boost::asio::basic_stream_socket<boost::asio::ip::tcp, IoExecutor>;
using TcpAcceptor = boost::asio::basic_socket_acceptor<boost::asio::ip::tcp, IoExecutor>;
// The rate policy counts the connection for --max-connections (connection_count.hpp).
using TcpStream = boost::beast::basic_stream<boost::asio::ip::tcp, IoExecutor, CountedRatePolicy>;
using SteadyTimer = boost::asio::basic_waitable_timer<std::chrono::steady_clock,
                                                      boost::asio::wait_traits<std::chrono::steady_clock>, IoExecutor>;

}  // namespace dsx::session::server

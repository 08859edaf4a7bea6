// Counting open client connections of every kind (HTTP, long-poll, SSE, session SSE,
// WebSocket) for --max-connections, without each session type having to take part.
//
// The count travels inside the Beast stream: TcpStream's rate policy (net_types.hpp) holds a
// ConnectionTicket, and Beast keeps the rate policy in the stream's shared implementation,
// which is destroyed only when the last owner of the stream lets go (the session object and
// any operation still in flight). So a connection handed from HttpSession to an SseSession,
// LiveSseSession or WebSocketSession (by moving the stream) stays counted, and is uncounted
// exactly when its socket goes away, whichever session ends it. The policy never limits the
// rate (available bytes are unlimited, as with beast::unlimited_rate_policy), so Beast never
// arms its rate timer.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <utility>

#include <boost/beast/core/rate_policy.hpp>

namespace dsx::session::server {

// The live count: incremented when the listener accepts, decremented when the ticket dies.
struct ConnectionGauge {
  std::atomic<std::int64_t> open{0};
};

// Move-only: one per accepted connection. A default-constructed ticket counts nothing.
class ConnectionTicket {
 public:
  ConnectionTicket() = default;
  explicit ConnectionTicket(ConnectionGauge* gauge) : gauge_(gauge) {
    if (gauge_) gauge_->open.fetch_add(1, std::memory_order_relaxed);
  }
  ConnectionTicket(ConnectionTicket&& other) noexcept : gauge_(std::exchange(other.gauge_, nullptr)) {}
  ConnectionTicket& operator=(ConnectionTicket&& other) noexcept {
    if (this != &other) {
      Release();
      gauge_ = std::exchange(other.gauge_, nullptr);
    }
    return *this;
  }
  ConnectionTicket(const ConnectionTicket&) = delete;
  ConnectionTicket& operator=(const ConnectionTicket&) = delete;
  ~ConnectionTicket() { Release(); }

 private:
  void Release() {
    if (gauge_) gauge_->open.fetch_sub(1, std::memory_order_relaxed);
    gauge_ = nullptr;
  }
  ConnectionGauge* gauge_ = nullptr;
};

// beast::unlimited_rate_policy plus a ConnectionTicket (see the file comment).
class CountedRatePolicy {
 public:
  CountedRatePolicy() = default;
  explicit CountedRatePolicy(ConnectionTicket ticket) : ticket_(std::move(ticket)) {}

 private:
  friend class boost::beast::rate_policy_access;
  static constexpr std::size_t kAll = (std::numeric_limits<std::size_t>::max)();
  std::size_t available_read_bytes() const noexcept { return kAll; }
  std::size_t available_write_bytes() const noexcept { return kAll; }
  void transfer_read_bytes(std::size_t) const noexcept {}
  void transfer_write_bytes(std::size_t) const noexcept {}
  void on_timer() const noexcept {}

  ConnectionTicket ticket_;
};

}  // namespace dsx::session::server

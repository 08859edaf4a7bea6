#include "session/server/server.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <csignal>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "session/model/protocol_values.hpp"
#include "session/server/listener.hpp"

namespace dsx::session::server {

struct Server::Impl {
  ServerOptions options;
  StreamService& service;
  ServerMetrics metrics;
  SsePageCache sse_pages;  // outlives every connection: sessions end before Impl does
  // One io_context per I/O thread (concurrency hint 1): connections are spread round-robin
  // and stay on their thread, so there is no lock contention between the threads on the
  // request path (measured: a shared io_context with 2 threads spent ~25% in futex/scheduler).
  std::vector<std::unique_ptr<net::io_context>> iocs;
  std::shared_ptr<ServerContext> ctx;
  std::shared_ptr<Listener> listener;
  std::unique_ptr<net::signal_set> signals;
  std::unique_ptr<net::steady_timer> drain;
  std::unique_ptr<net::steady_timer> sweep;  // retention: expired streams (ArmSweep)
  std::unique_ptr<net::steady_timer> health;  // shared store reachable? (ArmHealth)
  std::atomic<bool> stopping{false};

  Impl(ServerOptions o, StreamService& s) : options(std::move(o)), service(s) {
    const int n = EffectiveThreads(options);
    for (int i = 0; i < n; ++i) iocs.push_back(std::make_unique<net::io_context>(1));
    signals = std::make_unique<net::signal_set>(*iocs[0]);
    drain = std::make_unique<net::steady_timer>(*iocs[0]);
    sweep = std::make_unique<net::steady_timer>(*iocs[0]);
    health = std::make_unique<net::steady_timer>(*iocs[0]);
  }

  // Every second on a shared store: live readers learn of a store outage within about a second
  // (StreamService::CheckStoreHealth; a flag read, no store round trip).
  void ArmHealth() {
    if (!service.Shared() || stopping) return;
    health->expires_after(std::chrono::seconds(1));
    health->async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopping) return;
      service.CheckStoreHealth();
      ArmHealth();
    });
  }

  // Every sweep_interval_ms, on the first io thread: expire streams nobody touches any more so
  // their disk is freed. A sweep that finds nothing costs one shared-lock pass over the
  // registry; the store drops data asynchronously, so the io thread never waits on the disk.
  void ArmSweep() {
    if (options.sweep_interval_ms <= 0 || stopping) return;
    sweep->expires_after(std::chrono::milliseconds(options.sweep_interval_ms));
    sweep->async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopping) return;
      const std::size_t n = service.SweepExpired(service.clock().NowMs());
      if (n > 0) log::Info("expired streams removed", {{"streams", std::to_string(n)}});
      ArmSweep();
    });
  }

  static int EffectiveThreads(const ServerOptions& o) {
    if (o.threads > 0) return o.threads;
    const unsigned n = std::thread::hardware_concurrency();
    return n == 0 ? 2 : static_cast<int>(n);
  }
};

std::int64_t EffectiveMaxConnections(std::int64_t requested, std::uint64_t nofile) {
  const std::uint64_t reserve = std::clamp<std::uint64_t>(nofile / 8, 32, 256);
  const std::uint64_t room = nofile > reserve ? nofile - reserve : 1;
  const std::uint64_t capped = std::min<std::uint64_t>(std::max<std::int64_t>(requested, 1), room);
  return static_cast<std::int64_t>(std::max<std::uint64_t>(capped, 1));
}

namespace {

// Runs an io_context until it is stopped. A handler that throws (std::bad_alloc under an
// address-space limit, a bug) unwinds out of run(); Asio allows calling run() again, so the
// exception costs that one connection (its handler chain ends), not the process.
void RunLoop(net::io_context& ioc) {
  for (;;) {
    try {
      ioc.run();
      return;
    } catch (const std::exception& e) {
      log::Error("handler failed: exception escaped to the I/O loop", {{"error", e.what()}});
    } catch (...) {
      log::Error("handler failed: exception escaped to the I/O loop");
    }
  }
}

}  // namespace

Server::Server(ServerOptions options, StreamService& service)
    : impl_(std::make_unique<Impl>(std::move(options), service)) {
  auto ctx = std::make_shared<ServerContext>();
  ctx->service = &service;
  ctx->metrics = &impl_->metrics;
  ctx->sse_pages = &impl_->sse_pages;
  ctx->long_poll_timeout = std::chrono::milliseconds(impl_->options.long_poll_timeout_ms);
  ctx->max_body_bytes = impl_->options.max_body_bytes;
  ctx->max_session_body_bytes = impl_->options.max_session_body_bytes;
  ctx->auth_key = impl_->options.auth_key;
  {
    rlimit nofile{};
    const std::uint64_t limit = getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur != RLIM_INFINITY
                                    ? static_cast<std::uint64_t>(nofile.rlim_cur)
                                    : std::uint64_t{1} << 20;
    ctx->max_connections = EffectiveMaxConnections(impl_->options.max_connections, limit);
    if (ctx->max_connections < impl_->options.max_connections) {
      log::Info("connection limit lowered to fit the open-file limit (raise ulimit -n for more)",
                {{"max_connections", std::to_string(ctx->max_connections)}, {"nofile", std::to_string(limit)}});
    }
  }
  ctx->max_header_bytes = impl_->options.max_header_bytes;
  ctx->idle_timeout = std::chrono::seconds(impl_->options.idle_timeout_s);
  ctx->log_requests = impl_->options.log_requests;
  Impl* impl = impl_.get();
  ctx->router.intercept = impl_->options.intercept;
  ctx->router.metrics_text = [impl] { return MetricsText(impl->metrics, impl->service, impl->service.store().Name()); };
  impl_->ctx = ctx;
  service.store().SetSyncObserver([impl](std::chrono::nanoseconds latency, std::size_t appends) {
    impl->metrics.ObserveSync(static_cast<std::uint64_t>(latency.count()), appends);
  });
}

Server::~Server() { impl_->service.store().SetSyncObserver(nullptr); }

Result<std::uint16_t> Server::Start() {
  boost::system::error_code ec;
  auto address = net::ip::make_address(impl_->options.host, ec);
  if (ec) {
    // A host name (e.g. localhost): resolve it.
    tcp::resolver resolver(*impl_->iocs[0]);
    auto results = resolver.resolve(impl_->options.host, std::to_string(impl_->options.port), ec);
    if (ec || results.empty()) {
      return Status::Usage("cannot resolve listen host '" + impl_->options.host + "': " + ec.message());
    }
    address = results.begin()->endpoint().address();
  }
  std::vector<net::io_context*> iocs;
  for (auto& ioc : impl_->iocs) iocs.push_back(ioc.get());
  impl_->listener = std::make_shared<Listener>(std::move(iocs), impl_->ctx);
  DSX_RETURN_IF_ERROR(impl_->listener->Open(tcp::endpoint(address, impl_->options.port)));
  return impl_->listener->local_endpoint().port();
}

void Server::Run() {
  Impl& m = *impl_;
  m.listener->Run();
  m.ArmSweep();
  m.ArmHealth();
  if (m.options.handle_signals) {
    m.signals->add(SIGINT);
    m.signals->add(SIGTERM);
    m.signals->async_wait([this](const boost::system::error_code& ec, int) {
      if (!ec) Stop();
    });
  }
  // Keep every io_context running while idle, until Stop().
  std::vector<net::executor_work_guard<net::io_context::executor_type>> guards;
  for (auto& ioc : m.iocs) guards.push_back(net::make_work_guard(*ioc));
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < m.iocs.size(); ++i) threads.emplace_back([ioc = m.iocs[i].get()] { RunLoop(*ioc); });
  RunLoop(*m.iocs[0]);
  for (auto& t : threads) t.join();
}

void Server::Stop() {
  Impl& m = *impl_;
  if (m.stopping.exchange(true)) return;
  m.listener->Stop();
  net::post(*m.iocs[0], [&m] {
    boost::system::error_code ec;
    m.signals->cancel(ec);
    m.sweep->cancel();
    m.health->cancel();
    // Give in-flight requests (appends waiting for their sync) a moment to be answered.
    m.drain->expires_after(std::chrono::milliseconds(200));
    m.drain->async_wait([&m](const boost::system::error_code&) {
      for (auto& ioc : m.iocs) ioc->stop();
    });
  });
}

const ServerMetrics& Server::metrics() const { return impl_->metrics; }

}  // namespace dsx::session::server

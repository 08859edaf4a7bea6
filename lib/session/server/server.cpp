#include "session/server/server.hpp"

#include <csignal>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "session/server/listener.hpp"

namespace dsx::session::server {

struct Server::Impl {
  ServerOptions options;
  StreamService& service;
  ServerMetrics metrics;
  net::io_context ioc;
  std::shared_ptr<ServerContext> ctx;
  std::shared_ptr<Listener> listener;
  net::signal_set signals{ioc};
  net::steady_timer drain{ioc};
  std::atomic<bool> stopping{false};

  Impl(ServerOptions o, StreamService& s) : options(std::move(o)), service(s), ioc(EffectiveThreads(options)) {}

  static int EffectiveThreads(const ServerOptions& o) {
    if (o.threads > 0) return o.threads;
    const unsigned n = std::thread::hardware_concurrency();
    return n == 0 ? 2 : static_cast<int>(n);
  }
};

Server::Server(ServerOptions options, StreamService& service)
    : impl_(std::make_unique<Impl>(std::move(options), service)) {
  auto ctx = std::make_shared<ServerContext>();
  ctx->service = &service;
  ctx->metrics = &impl_->metrics;
  ctx->long_poll_timeout = std::chrono::milliseconds(impl_->options.long_poll_timeout_ms);
  ctx->max_body_bytes = impl_->options.max_body_bytes;
  ctx->max_header_bytes = impl_->options.max_header_bytes;
  ctx->idle_timeout = std::chrono::seconds(impl_->options.idle_timeout_s);
  ctx->log_requests = impl_->options.log_requests;
  Impl* impl = impl_.get();
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
    tcp::resolver resolver(impl_->ioc);
    auto results = resolver.resolve(impl_->options.host, std::to_string(impl_->options.port), ec);
    if (ec || results.empty()) {
      return Status::Usage("cannot resolve listen host '" + impl_->options.host + "': " + ec.message());
    }
    address = results.begin()->endpoint().address();
  }
  impl_->listener = std::make_shared<Listener>(impl_->ioc, impl_->ctx);
  DSX_RETURN_IF_ERROR(impl_->listener->Open(tcp::endpoint(address, impl_->options.port)));
  return impl_->listener->local_endpoint().port();
}

void Server::Run() {
  Impl& m = *impl_;
  m.listener->Run();
  if (m.options.handle_signals) {
    m.signals.add(SIGINT);
    m.signals.add(SIGTERM);
    m.signals.async_wait([this](const boost::system::error_code& ec, int) {
      if (!ec) Stop();
    });
  }
  std::vector<std::thread> threads;
  const int n = Impl::EffectiveThreads(m.options);
  for (int i = 1; i < n; ++i) threads.emplace_back([&m] { m.ioc.run(); });
  m.ioc.run();
  for (auto& t : threads) t.join();
}

void Server::Stop() {
  Impl& m = *impl_;
  if (m.stopping.exchange(true)) return;
  m.listener->Stop();
  net::post(m.ioc, [&m] {
    boost::system::error_code ec;
    m.signals.cancel(ec);
    // Give in-flight requests (appends waiting for their sync) a moment to be answered.
    m.drain.expires_after(std::chrono::milliseconds(200));
    m.drain.async_wait([&m](const boost::system::error_code&) { m.ioc.stop(); });
  });
}

const ServerMetrics& Server::metrics() const { return impl_->metrics; }

}  // namespace dsx::session::server

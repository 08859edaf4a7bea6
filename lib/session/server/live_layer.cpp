#include "session/server/live_layer.hpp"

#include "core/log.hpp"

namespace dsx::session::server {

bool IsLoopbackHost(const std::string& host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || host.rfind("127.", 0) == 0;
}

Result<std::unique_ptr<LiveLayer>> LiveLayer::Open(StreamService& service, const std::string& auth_key_file,
                                                   bool insecure, const std::string& listen_host) {
  std::unique_ptr<LiveLayer> l(new LiveLayer());
  if (!auth_key_file.empty()) {
    auto key = auth::TokenKey::FromFile(auth_key_file);
    if (!key.ok()) return key.status();
    l->key_ = std::move(key).value();
    log::Info("auth on: every request needs a bearer token", {{"alg", l->key_->AlgName()}});
  } else if (!IsLoopbackHost(listen_host) && !insecure) {
    return Status::Usage("refusing to serve '" + listen_host +
                         "' without auth: give --auth-key-file FILE, or --insecure to serve it open");
  } else {
    log::Warn(
        "auth is off: any client that can connect may read, write and cancel (give --auth-key-file to require tokens)");
  }
  l->hub_ = std::make_unique<live::SessionHub>(service);
  l->hub_->StartReaper();
  l->config_ = std::make_shared<SessionRoutesConfig>();
  l->config_->hub = l->hub_.get();
  l->config_->key = l->key_.get();
  return l;
}

LiveLayer::~LiveLayer() {
  if (hub_) hub_->StopReaper();
}

}  // namespace dsx::session::server

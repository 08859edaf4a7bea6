// LiveLayer: what `dsx session serve` adds for live sessions and auth: the token key (from
// --auth-key-file), the SessionHub with its lease reaper, and the router intercept. Also the
// exposure rule: without a key the server is open (and says so), and a non-loopback listen
// address without a key needs --insecure.
#pragma once

#include <memory>
#include <string>

#include "core/status.hpp"
#include "session/auth/jwt.hpp"
#include "session/live/session_hub.hpp"
#include "session/server/session_routes.hpp"

namespace dsx::session::server {

// True for 127.0.0.0/8, ::1 and "localhost".
bool IsLoopbackHost(const std::string& host);

class LiveLayer {
 public:
  // Loads the key (if any), checks the exposure rule, starts the hub's reaper.
  static Result<std::unique_ptr<LiveLayer>> Open(StreamService& service, const std::string& auth_key_file,
                                                 bool insecure, const std::string& listen_host);
  ~LiveLayer();
  Intercept intercept() const { return MakeSessionIntercept(config_); }
  live::SessionHub& hub() { return *hub_; }
  const auth::TokenKey* key() const { return key_.get(); }  // null: open server

 private:
  LiveLayer() = default;
  std::unique_ptr<auth::TokenKey> key_;
  std::unique_ptr<live::SessionHub> hub_;
  std::shared_ptr<SessionRoutesConfig> config_;
};

}  // namespace dsx::session::server

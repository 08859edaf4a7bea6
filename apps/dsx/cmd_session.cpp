// dsx session: the durable session layer. Its commands are in files of their own by what they
// do: session_serve.cpp (serve), session_fsck.cpp (fsck, repair), session_clients.cpp
// (publish, tail, create, delete, info) and session_live.cpp (run, cancel, steer, who, token).
#include "commands.hpp"

namespace dsx::cmd {

void register_session(CLI::App& app) {
  auto* session = app.add_subcommand("session", "durable sessions: serve streams, publish, tail");
  session->require_subcommand(1);
  register_session_serve(*session);
  register_session_clients(*session);
  register_session_live(*session);
  register_session_fsck(*session);
}

}  // namespace dsx::cmd

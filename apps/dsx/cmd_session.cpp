// dsx session: the durable session layer. The group is split in two files because the
// server and the clients are built by different people: session_serve.cpp (serve) and
// session_clients.cpp (publish, tail, create, delete, info).
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

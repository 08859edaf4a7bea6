// dsx session: the durable session layer (server and clients).
#include "commands.hpp"

namespace dsx::cmd {

void register_session(CLI::App& app) {
  auto* session = app.add_subcommand("session", "durable sessions: serve streams, publish, tail");
  session->require_subcommand(1);
}

}  // namespace dsx::cmd

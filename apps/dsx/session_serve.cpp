// dsx session serve: flags -> lib/session/server.
#include "commands.hpp"

namespace dsx::cmd {

void register_session_serve(CLI::App& session) { (void)session; }

}  // namespace dsx::cmd

// dsx session publish|tail|create|delete|info: flags -> lib/session/client.
#include "commands.hpp"

namespace dsx::cmd {

void register_session_clients(CLI::App& session) { (void)session; }

}  // namespace dsx::cmd

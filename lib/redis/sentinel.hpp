// Sentinel: which server is the primary of a master name now.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "core/status.hpp"
#include "redis/client.hpp"
#include "redis/context.hpp"

namespace dsx::redis {

// SENTINEL get-master-addr-by-name against each sentinel in turn; the first answer wins.
// Sentinels are asked without AUTH unless one answers NOAUTH (then with `credentials`).
// Unavailable with every sentinel's reason when none knows the primary.
Result<Endpoint> AskSentinels(const std::vector<Endpoint>& sentinels, const std::string& master_name,
                              const Credentials& credentials, std::chrono::milliseconds connect_timeout,
                              std::chrono::milliseconds command_timeout);

}  // namespace dsx::redis

// Helpers of the live tests in this folder: a client on a fixture server, a blocking Eval.
#pragma once

#include <future>
#include <memory>
#include <string>

#include "redis/client.hpp"
#include "redis_server_fixture.hpp"

namespace dsx::redis::test {

inline std::unique_ptr<Client> OpenOrNull(const std::string& url, std::chrono::milliseconds command_timeout,
                                           std::string password = {}) {
  auto options = ParseUrl(url);
  if (!options.ok()) return nullptr;
  options->command_timeout = command_timeout;
  options->password = std::move(password);
  auto client = Client::Open(std::move(*options));
  if (!client.ok()) return nullptr;
  return std::move(*client);
}

inline Result<Reply> EvalSync(Client& client, const Script& script, std::vector<std::string> keys,
                              std::vector<std::string> args) {
  auto promise = std::make_shared<std::promise<Result<Reply>>>();
  auto future = promise->get_future();
  client.Eval(script, std::move(keys), std::move(args), [promise](Result<Reply> r) { promise->set_value(std::move(r)); });
  return future.get();
}

// "OK"/"PONG"/a bulk string, or the error or failure text (for CHECK messages).
inline std::string Text(const Result<Reply>& r) {
  if (!r.ok()) return "failed: " + r.status().message();
  if (r->type == Reply::Type::kInteger) return std::to_string(r->integer);
  return r->str;
}

}  // namespace dsx::redis::test

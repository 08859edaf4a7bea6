#include "session/model/json_mode.hpp"

#include <nlohmann/json.hpp>

#include "session/model/json_input.hpp"

namespace dsx::session {

Result<Batch> JsonBatchFromBody(std::string_view body, bool allow_empty) {
  // Nesting limited (json_input.hpp): the dump below recurses once per level.
  auto parsed = ParseClientJson(body);
  if (!parsed.ok()) return Status::Failed(parsed.status().message() + " in the body");
  const nlohmann::json& value = *parsed;
  Batch batch;
  auto add = [&batch](const nlohmann::json& message) {
    const std::string text = message.dump(-1, ' ', /*ensure_ascii=*/false, nlohmann::json::error_handler_t::replace);
    batch.payload += text;
    batch.sizes.push_back(static_cast<std::uint32_t>(text.size()));
  };
  if (value.is_array()) {
    if (value.empty() && !allow_empty) return Status::Failed("empty JSON array");
    batch.sizes.reserve(value.size());
    for (const auto& element : value) add(element);
  } else {
    add(value);
  }
  return batch;
}

void AppendJsonArray(std::string& out, std::string_view data, const std::uint32_t* sizes, std::size_t count) {
  out.reserve(out.size() + data.size() + count + 2);
  out.push_back('[');
  std::size_t pos = 0;
  for (std::size_t i = 0; i < count; ++i) {
    if (i) out.push_back(',');
    out.append(data.substr(pos, sizes[i]));
    pos += sizes[i];
  }
  out.push_back(']');
}

}  // namespace dsx::session

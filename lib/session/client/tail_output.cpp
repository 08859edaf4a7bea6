#include "session/client/tail_output.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <nlohmann/json.hpp>

#include "session/client/base64.hpp"
#include "session/client/json_array.hpp"

namespace dsx::session::client {
namespace {

bool IsTextual(const std::string& content_type) {
  std::string t = NormalizeContentType(content_type);
  return t.rfind("text/", 0) == 0 || t.find("json") != std::string::npos || t.find("xml") != std::string::npos ||
         t == "application/javascript" || t == "application/x-ndjson";
}

// ordered_json keeps each object's key order as the server sent it.
Result<nlohmann::ordered_json> ParseBatch(const std::string& data) {
  auto batch = nlohmann::ordered_json::parse(data, nullptr, false);
  if (batch.is_discarded()) return Status::Failed("server sent invalid JSON for a JSON stream");
  if (!batch.is_array()) batch = nlohmann::ordered_json::array({batch});
  return batch;
}

std::string Dump(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace


Result<std::string> TailOutput::Format(const Chunk& chunk, TailFormat format, const std::string& content_type) {
  if (format == TailFormat::kJsonl && !chunk.json) {
    return Status::Failed("--jsonl needs a JSON stream (content type '" + content_type + "'); use --json");
  }
  if (chunk.json && format != TailFormat::kJson) {
    // Messages are printed as the server sent them, not re-serialized.
    auto messages = SplitJsonArray(chunk.data);
    if (!messages) return Status::Failed("server sent invalid JSON for a JSON stream");
    std::string out;
    for (std::string_view m : *messages) {
      if (m.find_first_of("\r\n") == std::string_view::npos) {
        out.append(m);
      } else {
        out += Dump(nlohmann::ordered_json::parse(m));  // pretty-printed by the server: one line
      }
      out.push_back('\n');
    }
    return out;
  }
  if (format == TailFormat::kRaw) return chunk.data;
  // kJson record.
  nlohmann::ordered_json rec;
  rec["offset"] = chunk.next_offset;
  if (chunk.json) {
    auto batch = ParseBatch(chunk.data);
    if (!batch.ok()) return batch.status();
    rec["data"] = std::move(*batch);
  } else if (IsTextual(content_type) && IsValidUtf8(chunk.data)) {
    rec["data"] = chunk.data;
  } else {
    rec["data"] = Base64Encode(chunk.data);
    rec["encoding"] = "base64";
  }
  return Dump(rec) + "\n";
}

Status TailOutput::Write(const Chunk& chunk, const std::string& content_type) {
  auto text = Format(chunk, format_, content_type.empty() ? content_type_ : content_type);
  if (!text.ok()) return text.status();
  return WriteAll(*text);
}

Status TailOutput::WriteAll(const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EPIPE) {
        broken_pipe_ = true;
        return Status::Failed("output closed");
      }
      return Status::Failed(std::string("cannot write output: ") + std::strerror(errno));
    }
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace dsx::session::client

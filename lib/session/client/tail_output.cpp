#include "session/client/tail_output.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>

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

// dsx offsets: "%016llu_%016llu" = read sequence _ byte position (lib/session/model/offset.hpp).
// Another server's offsets are opaque: nullopt.
struct DsxOffset {
  std::string seq;  // the first 16 digits, kept as they are
  std::uint64_t pos = 0;
};
std::optional<DsxOffset> ParseDsxOffset(std::string_view o) {
  if (o.size() != 33 || o[16] != '_') return std::nullopt;
  DsxOffset out;
  for (std::size_t i = 0; i < o.size(); ++i) {
    if (i == 16) continue;
    if (o[i] < '0' || o[i] > '9') return std::nullopt;
    if (i > 16) out.pos = out.pos * 10 + static_cast<std::uint64_t>(o[i] - '0');
  }
  out.seq = std::string(o.substr(0, 16));
  return out;
}

std::string FormatDsxOffset(const std::string& seq, std::uint64_t pos) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016llu", static_cast<unsigned long long>(pos));
  return seq + "_" + buf;
}

// One message as one line: as stored, unless a server pretty-printed it over several lines.
std::string OneLine(std::string_view m) {
  if (m.find_first_of("\r\n") == std::string_view::npos) return std::string(m);
  return Dump(nlohmann::ordered_json::parse(m));
}

}  // namespace

std::vector<std::string> TailOutput::MessageOffsets(const Chunk& chunk, const std::vector<std::string_view>& messages) {
  std::vector<std::string> out(messages.size());
  if (out.empty()) return out;
  out.back() = chunk.next_offset;
  const auto next = ParseDsxOffset(chunk.next_offset);
  if (!next) return out;
  std::uint64_t total = 0;
  for (std::string_view m : messages) total += m.size();
  if (total > next->pos) return out;
  // Checked against where the chunk was read from when that is a concrete offset ("-1" of a
  // fork does not start at 0; "now" is not a position): a mismatch means the bytes are not
  // the stored ones (a re-serializing proxy), and a computed offset would point inside a message.
  if (const auto start = ParseDsxOffset(chunk.start_offset)) {
    if (start->seq != next->seq || start->pos + total != next->pos) return out;
  }
  std::uint64_t end = next->pos;
  for (std::size_t i = messages.size(); i-- > 0;) {
    out[i] = FormatDsxOffset(next->seq, end);
    end -= messages[i].size();
  }
  return out;
}

Result<std::string> TailOutput::Format(const Chunk& chunk, TailFormat format, const std::string& content_type) {
  if (format == TailFormat::kJsonl && !chunk.json) {
    return Status::Failed("--jsonl needs a JSON stream (content type '" + content_type + "'); use --json");
  }
  if (format == TailFormat::kEnvelope) {
    if (!chunk.json) {
      return Status::Failed("--envelope needs a JSON stream (content type '" + content_type + "'); use --json");
    }
    auto messages = SplitJsonArray(chunk.data);
    if (!messages) return Status::Failed("server sent invalid JSON for a JSON stream");
    const std::vector<std::string> offsets = MessageOffsets(chunk, *messages);
    std::string out;
    for (std::size_t i = 0; i < messages->size(); ++i) {
      out += "{\"offset\":";
      out += offsets[i].empty() ? "null" : Dump(nlohmann::ordered_json(offsets[i]));
      out += ",\"data\":";
      out += OneLine((*messages)[i]);
      out += "}\n";
    }
    return out;
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

#include "session/store/redis/redis_codec.hpp"

#include <charconv>
#include <unordered_map>

namespace dsx::session::redisstore {

Keys StreamKeys(std::string_view prefix, std::string_view path) {
  std::string base;
  base.reserve(prefix.size() + path.size() + 3);
  base.append(prefix).append(":{").append(path).append("}:");
  return Keys{base + "m", base + "p", base + "d", base + "l"};
}

std::optional<std::uint64_t> ParseU64(std::string_view text) {
  std::uint64_t v = 0;
  if (text.empty()) return std::nullopt;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size()) return std::nullopt;
  return v;
}

namespace {

std::optional<std::int64_t> ParseI64(std::string_view text) {
  std::int64_t v = 0;
  if (text.empty()) return std::nullopt;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size()) return std::nullopt;
  return v;
}

void Put(std::vector<std::string>& out, const char* field, std::string value) {
  out.emplace_back(field);
  out.push_back(std::move(value));
}

// Flat [field, value, ...] reply to a map; Failed if it is not one.
Result<std::unordered_map<std::string, std::string>> FlatMap(const redis::Reply& r, const char* what) {
  if (r.type != redis::Reply::Type::kArray || r.elements.size() % 2 != 0) {
    return Status::Failed(std::string("redis store: ") + what + " is not a hash reply");
  }
  std::unordered_map<std::string, std::string> m;
  for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2) m[r.elements[i].str] = r.elements[i + 1].str;
  return m;
}

}  // namespace

std::string EncodeProducer(const ProducerTuple& p) {
  return std::to_string(p.epoch) + " " + std::to_string(p.seq) + " " + p.id;
}

std::optional<ProducerTuple> DecodeProducer(std::string_view text) {
  const auto a = text.find(' ');
  if (a == std::string_view::npos) return std::nullopt;
  const auto b = text.find(' ', a + 1);
  if (b == std::string_view::npos) return std::nullopt;
  auto epoch = ParseU64(text.substr(0, a));
  auto seq = ParseU64(text.substr(a + 1, b - a - 1));
  if (!epoch || !seq) return std::nullopt;
  return ProducerTuple{std::string(text.substr(b + 1)), *epoch, *seq};
}

std::vector<std::string> EncodeMeta(const CreateOp& op, std::uint64_t tail, std::uint64_t message_count) {
  const StreamMeta& m = op.meta;
  std::vector<std::string> out;
  Put(out, "id", std::to_string(m.id));
  Put(out, "path", m.path);
  Put(out, "content_type", m.content_type);
  if (m.ttl_seconds) Put(out, "ttl", std::to_string(*m.ttl_seconds));
  if (m.expires_at) Put(out, "expires_at", *m.expires_at);
  if (m.expires_at_ms) Put(out, "expires_at_ms", std::to_string(*m.expires_at_ms));
  if (m.fork_source) Put(out, "fork_source", std::to_string(*m.fork_source));
  if (op.fork_source_path) Put(out, "fork_source_path", *op.fork_source_path);
  Put(out, "base_offset", std::to_string(m.base_offset));
  Put(out, "fork_sub_offset", std::to_string(m.fork_sub_offset));
  Put(out, "fork_offset_given", m.fork_offset_given ? "1" : "0");
  Put(out, "created_ms", std::to_string(m.created_ms));
  Put(out, "soft_deleted", m.soft_deleted ? "1" : "0");
  Put(out, "tail", std::to_string(tail));
  Put(out, "closed", op.closed ? "1" : "0");
  Put(out, "message_count", std::to_string(message_count));
  Put(out, "version", std::to_string(op.new_version));
  return out;
}

Result<StreamState> DecodeState(const redis::Reply& meta_reply, const redis::Reply& producers_reply) {
  auto meta = FlatMap(meta_reply, "meta");
  if (!meta) return meta.status();
  auto prods = FlatMap(producers_reply, "producers");
  if (!prods) return prods.status();
  auto& m = *meta;
  StreamState s;
  std::string bad;
  auto u64 = [&](const char* field, bool required) -> std::optional<std::uint64_t> {
    auto it = m.find(field);
    if (it == m.end()) {
      if (required && bad.empty()) bad = field;
      return std::nullopt;
    }
    auto v = ParseU64(it->second);
    if (!v && bad.empty()) bad = field;
    return v;
  };
  auto text = [&](const char* field) -> std::optional<std::string> {
    auto it = m.find(field);
    if (it == m.end()) return std::nullopt;
    return it->second;
  };
  s.meta.id = u64("id", true).value_or(0);
  s.meta.path = text("path").value_or("");
  s.meta.content_type = text("content_type").value_or("");
  s.meta.ttl_seconds = u64("ttl", false);
  s.meta.expires_at = text("expires_at");
  if (auto e = text("expires_at_ms")) {
    s.meta.expires_at_ms = ParseI64(*e);
    if (!s.meta.expires_at_ms && bad.empty()) bad = "expires_at_ms";
  }
  s.meta.fork_source = u64("fork_source", false);
  s.fork_source_path = text("fork_source_path");
  s.meta.base_offset = u64("base_offset", true).value_or(0);
  s.meta.fork_sub_offset = u64("fork_sub_offset", false).value_or(0);
  s.meta.fork_offset_given = text("fork_offset_given") == std::optional<std::string>("1");
  if (auto c = text("created_ms")) s.meta.created_ms = ParseI64(*c).value_or(0);
  s.meta.soft_deleted = text("soft_deleted") == std::optional<std::string>("1");
  s.tail = u64("tail", true).value_or(0);
  s.closed = text("closed") == std::optional<std::string>("1");
  s.stream_seq = text("stream_seq");
  if (auto cb = text("closed_by")) {
    s.closed_by = DecodeProducer(*cb);
    if (!s.closed_by && bad.empty()) bad = "closed_by";
  }
  s.message_count = u64("message_count", false).value_or(0);
  s.version = u64("version", true).value_or(0);
  if (auto a = text("last_access_ms")) s.last_access_ms = ParseI64(*a).value_or(0);
  for (auto& [id, value] : *prods) {
    const auto sp = value.find(' ');
    auto epoch = sp == std::string::npos ? std::nullopt : ParseU64(std::string_view(value).substr(0, sp));
    auto seq = sp == std::string::npos ? std::nullopt : ParseU64(std::string_view(value).substr(sp + 1));
    if (!epoch || !seq) {
      if (bad.empty()) bad = "producer " + id;
      continue;
    }
    s.producers[id] = ProducerState{*epoch, *seq};
  }
  if (!bad.empty()) {
    return Status::Failed("redis store: stream '" + s.meta.path + "': bad or missing field '" + bad + "'");
  }
  return s;
}

Result<std::vector<Entry>> DecodeEntries(const redis::Reply& reply) {
  using T = redis::Reply::Type;
  if (reply.type != T::kArray) return Status::Failed("redis store: data reply is not an array");
  std::vector<Entry> out;
  out.reserve(reply.elements.size());
  for (const redis::Reply& e : reply.elements) {
    if (e.type != T::kArray || e.elements.size() != 2 || e.elements[1].type != T::kArray) {
      return Status::Failed("redis store: bad data entry");
    }
    Entry entry;
    bool have_end = false, have_bytes = false;
    const auto& f = e.elements[1].elements;
    for (std::size_t i = 0; i + 1 < f.size(); i += 2) {
      const std::string& name = f[i].str;
      if (name == "e") {
        auto v = ParseU64(f[i + 1].str);
        if (!v) return Status::Failed("redis store: bad end offset in data entry " + e.elements[0].str);
        entry.end = *v;
        have_end = true;
      } else if (name == "b") {
        entry.bytes = f[i + 1].str;
        have_bytes = true;
      } else if (name == "f") {
        entry.first = f[i + 1].str == "1";
      }
    }
    if (!have_end || !have_bytes || entry.bytes.size() > entry.end) {
      return Status::Failed("redis store: incomplete data entry " + e.elements[0].str);
    }
    out.push_back(std::move(entry));
  }
  return out;
}

std::string Describe(const redis::Reply& reply) {
  using T = redis::Reply::Type;
  switch (reply.type) {
    case T::kError:
      return reply.str;
    case T::kNil:
      return "nil reply";
    case T::kInteger:
      return "integer " + std::to_string(reply.integer);
    case T::kString:
    case T::kStatus: {
      std::string out(1, '\'');
      out.append(reply.str, 0, 80);
      out.push_back('\'');
      return out;
    }
    case T::kArray:
      return "array of " + std::to_string(reply.elements.size());
  }
  return "reply";
}

}  // namespace dsx::session::redisstore

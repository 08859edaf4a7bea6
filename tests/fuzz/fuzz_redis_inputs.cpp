// libFuzzer target for what the Redis scale-out parses from outside (issue 16): the --store URL a
// user types (redis::ParseUrl, with FormatUrl, its inverse for Describe() and logs), the cluster
// hash slot of a key (redis::KeySlot, and the store's key names: StreamKeys), and the stream
// state read back from Redis (redisstore::DecodeState / DecodeEntries / DecodeProducer /
// Describe): a corrupted or hostile Redis must give an error, never a crash.
// The first byte picks the parser; the rest is its input:
//   0 ParseUrl            the rest is the URL
//   1 KeySlot/StreamKeys  the rest is a key; split at the first NUL it is (prefix, path)
//   2 DecodeState         the rest split on NUL: field, value, field, value...; a lone "\x01"
//                         token starts the producers hash (id, "epoch seq", ...)
//   3 DecodeEntries       the rest split on NUL; a lone "\x01" token starts an entry: its id,
//                         then field, value... ("e" end offset, "b" bytes, "f" first)
//   4 any reply shapes    the rest is a tree of replies (type byte, then a length-prefixed
//                         string or an element count), fed to every decoder and Describe
//   5 DecodeProducer      the rest is "<epoch> <seq> <id>"
// Properties: no crash or sanitizer report; KeySlot < 16384 and a key's {tag} decides it; the
// four keys of a stream share one slot; ParseUrl never keeps a password and FormatUrl never shows
// one; a URL ParseUrl accepts formats to one it accepts again, with the same fields; a decoded
// state survives EncodeMeta -> DecodeState unchanged; decoded entries hold at most `end` bytes.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "redis/client.hpp"
#include "redis/url.hpp"
#include "session/store/redis/local_log.hpp"
#include "session/store/redis/redis_codec.hpp"

namespace {

using dsx::redis::Reply;
namespace rs = dsx::session::redisstore;

#define FUZZ_CHECK(cond) \
  do {                   \
    if (!(cond)) __builtin_trap(); \
  } while (0)

std::vector<std::string_view> SplitNul(std::string_view in) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t nul = in.find('\0', start);
    out.push_back(in.substr(start, nul == std::string_view::npos ? std::string_view::npos : nul - start));
    if (nul == std::string_view::npos) break;
    start = nul + 1;
  }
  return out;
}

Reply Str(std::string_view s) {
  Reply r;
  r.type = Reply::Type::kString;
  r.str = std::string(s);
  return r;
}

Reply Arr() {
  Reply r;
  r.type = Reply::Type::kArray;
  return r;
}

bool SameEndpoints(const dsx::redis::Options& a, const dsx::redis::Options& b) {
  if (a.endpoints.size() != b.endpoints.size()) return false;
  for (std::size_t i = 0; i < a.endpoints.size(); ++i) {
    if (a.endpoints[i].host != b.endpoints[i].host || a.endpoints[i].port != b.endpoints[i].port) return false;
  }
  return true;
}

void FuzzUrl(std::string_view in) {
  auto parsed = dsx::redis::ParseUrl(in);
  if (!parsed.ok()) {
    FUZZ_CHECK(!parsed.status().ok());
    return;
  }
  dsx::redis::Options o = *parsed;
  FUZZ_CHECK(o.password.empty());  // a password never comes from the URL
  FUZZ_CHECK(!o.endpoints.empty());
  for (const auto& ep : o.endpoints) FUZZ_CHECK(!ep.host.empty() && ep.port != 0);
  FUZZ_CHECK(o.db >= 0);
  if (o.mode == dsx::redis::Options::Mode::kStandalone) FUZZ_CHECK(o.endpoints.size() == 1);
  if (o.mode == dsx::redis::Options::Mode::kSentinel) FUZZ_CHECK(!o.master_name.empty());
  // Describe-like output: a password set later (from a file or the environment) never shows.
  // (Compared with the output without one: the fuzzer may put any text in the URL itself.)
  const std::string without = dsx::redis::FormatUrl(o);
  o.password = "\x7fs3cr3t-password\x7f";
  const std::string shown = dsx::redis::FormatUrl(o);
  FUZZ_CHECK(shown == without);
  // FormatUrl is ParseUrl's inverse: what it prints parses to the same options. (A bracketed
  // host with a '[' inside, "[[h]", formats as "[h:port" which does not parse again: that host
  // is nonsense anyway, and FormatUrl only feeds logs; skipped here, reported to the lead.)
  for (const auto& ep : o.endpoints) {
    if (ep.host.find('[') != std::string::npos || ep.host.find(']') != std::string::npos) return;
  }
  auto again = dsx::redis::ParseUrl(shown);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->mode == o.mode && again->username == o.username && again->master_name == o.master_name);
  FUZZ_CHECK(again->db == o.db && SameEndpoints(*again, o));
}

void FuzzSlot(std::string_view in) {
  const std::uint16_t slot = dsx::redis::KeySlot(in);
  FUZZ_CHECK(slot < 16384);
  // A non-empty {tag} decides the slot.
  const std::size_t open = in.find('{');
  if (open != std::string_view::npos) {
    const std::size_t close = in.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) {
      FUZZ_CHECK(slot == dsx::redis::KeySlot(in.substr(open + 1, close - open - 1)));
    }
  }
  // The four keys of one stream (meta, producers, data, leases) are in one slot, whatever the
  // prefix and the path (Lua scripts touch them together: CROSSSLOT otherwise).
  const std::size_t nul = in.find('\0');
  const std::string_view prefix = nul == std::string_view::npos ? std::string_view("dsx") : in.substr(0, nul);
  const std::string_view path = nul == std::string_view::npos ? in : in.substr(nul + 1);
  // The store refuses a prefix with '{' or '}' (redis_store.cpp, MakeRedisStore), and a stream
  // path starts with '/' ("/v1/stream/..."). An empty path, or one that starts with '}', gives
  // an empty tag ("dsx:{}:m", "dsx:{}x}:m"): the whole key is hashed and the four keys land in
  // different slots (seeds slot_empty_path, slot_path_brace; reported to the lead).
  if (prefix.find_first_of("{}") != std::string_view::npos || path.empty() || path.front() == '}') return;
  const rs::Keys k = rs::StreamKeys(prefix, path);
  const std::uint16_t s = dsx::redis::KeySlot(k.meta);
  FUZZ_CHECK(s < 16384);
  FUZZ_CHECK(dsx::redis::KeySlot(k.producers) == s && dsx::redis::KeySlot(k.data) == s &&
             dsx::redis::KeySlot(k.leases) == s);
  FUZZ_CHECK(k.meta != k.producers && k.producers != k.data && k.data != k.leases && k.meta != k.leases);
}

// A decoded state encodes (EncodeMeta, "epoch seq" for producers) and decodes back unchanged:
// every number the store read is one it can write, and nothing is silently lost.
void CheckStateRoundTrip(const dsx::session::StreamState& s) {
  dsx::session::CreateOp op;
  op.meta = s.meta;
  op.closed = s.closed;
  op.new_version = s.version;
  op.fork_source_path = s.fork_source_path;
  Reply meta = Arr();
  for (const std::string& f : rs::EncodeMeta(op, s.tail, s.message_count)) meta.elements.push_back(Str(f));
  Reply prods = Arr();
  for (const auto& [id, p] : s.producers) {
    prods.elements.push_back(Str(id));
    prods.elements.push_back(Str(std::to_string(p.epoch) + " " + std::to_string(p.last_seq)));
  }
  auto back = rs::DecodeState(meta, prods);
  FUZZ_CHECK(back.ok());
  const auto& b = *back;
  FUZZ_CHECK(b.meta.id == s.meta.id && b.meta.path == s.meta.path && b.meta.content_type == s.meta.content_type);
  FUZZ_CHECK(b.meta.ttl_seconds == s.meta.ttl_seconds && b.meta.expires_at == s.meta.expires_at);
  FUZZ_CHECK(b.meta.expires_at_ms == s.meta.expires_at_ms && b.meta.fork_source == s.meta.fork_source);
  FUZZ_CHECK(b.meta.base_offset == s.meta.base_offset && b.meta.fork_sub_offset == s.meta.fork_sub_offset);
  FUZZ_CHECK(b.meta.fork_offset_given == s.meta.fork_offset_given && b.meta.created_ms == s.meta.created_ms);
  FUZZ_CHECK(b.meta.soft_deleted == s.meta.soft_deleted && b.tail == s.tail && b.closed == s.closed);
  FUZZ_CHECK(b.message_count == s.message_count && b.version == s.version);
  FUZZ_CHECK(b.fork_source_path == s.fork_source_path && b.producers == s.producers);
  if (s.closed_by) {
    auto p = rs::DecodeProducer(rs::EncodeProducer(*s.closed_by));
    FUZZ_CHECK(p && *p == *s.closed_by);
  }
  (void)rs::Describe(meta);
}

void DecodeStateOf(const Reply& meta, const Reply& prods) {
  auto st = rs::DecodeState(meta, prods);
  if (!st.ok()) {
    FUZZ_CHECK(!st.status().ok());
    return;
  }
  CheckStateRoundTrip(*st);
}

// The later use of decoded entries: this server's local copy (LocalLog::Apply, what Fetch does
// with them) and reads from it. Whatever Redis sent, the copy stays a gap-free run of whole
// messages from `base`, and every read is a consistent chunk of it.
void CheckLocalLog(const std::vector<rs::Entry>& entries, std::uint64_t base) {
  rs::LocalLog log(1, "/v1/stream/fuzz", base, true);
  const auto applied = log.Apply(entries);
  const std::uint64_t tail = log.Tail();
  FUZZ_CHECK(tail >= base);
  if (applied == rs::LocalLog::Applied::kOk) {
    FUZZ_CHECK(log.Apply(entries) == rs::LocalLog::Applied::kOk);  // idempotent by offset
    FUZZ_CHECK(log.Tail() == tail);
  }
  const std::uint64_t probes[] = {0, base, base + 1, tail > 0 ? tail - 1 : 0, tail, tail + 1,
                                  entries.empty() ? 0 : entries.front().end, ~std::uint64_t{0}};
  for (std::uint64_t from : probes) {
    for (std::size_t max : {std::size_t{1}, std::size_t{7}, std::size_t{1} << 20}) {
      const dsx::session::ReadChunk c = log.Read(from, ~std::uint64_t{0}, max);
      if (c.messages.empty()) {
        FUZZ_CHECK(c.data.empty());
        continue;
      }
      FUZZ_CHECK(c.begin >= base && c.begin <= std::max(from, base) && c.messages.front().end > from);
      std::uint64_t prev = c.begin;
      for (const auto& m : c.messages) {
        FUZZ_CHECK(m.end > prev);
        prev = m.end;
      }
      FUZZ_CHECK(prev <= tail && c.data.size() == prev - c.begin);
    }
  }
  log.Reset();
  FUZZ_CHECK(log.Tail() == base);
}

void DecodeEntriesOf(const Reply& r, std::uint64_t base = 0) {
  auto entries = rs::DecodeEntries(r);
  if (!entries.ok()) return;
  FUZZ_CHECK(r.type == Reply::Type::kArray && entries->size() == r.elements.size());
  for (const rs::Entry& e : *entries) FUZZ_CHECK(e.bytes.size() <= e.end);
  CheckLocalLog(*entries, base);
  if (!entries->empty()) {
    const rs::Entry& e = entries->front();
    CheckLocalLog(*entries, e.end - e.bytes.size());  // the first message starts the copy
  }
}

void FuzzState(std::string_view in) {
  Reply meta = Arr(), prods = Arr();
  Reply* cur = &meta;
  for (std::string_view t : SplitNul(in)) {
    if (t == "\x01") {
      cur = &prods;
      continue;
    }
    cur->elements.push_back(Str(t));
  }
  DecodeStateOf(meta, prods);
}

void FuzzEntries(std::string_view in) {
  Reply data = Arr();
  Reply* fields = nullptr;
  for (std::string_view t : SplitNul(in)) {
    if (t == "\x01" || fields == nullptr) {
      Reply entry = Arr();
      entry.elements.push_back(Str(t == "\x01" ? std::string_view("0-0") : t));
      entry.elements.push_back(Arr());
      data.elements.push_back(std::move(entry));
      fields = &data.elements.back().elements[1];
      continue;
    }
    fields->elements.push_back(Str(t));
  }
  DecodeEntriesOf(data);
}

// A reply tree from bytes: type byte, then for strings a length byte and the bytes, for arrays
// an element count byte and the elements (depth and total size bounded by the input).
struct TreeReader {
  std::string_view in;
  std::size_t pos = 0;
  unsigned char Byte() { return pos < in.size() ? static_cast<unsigned char>(in[pos++]) : 0; }
  Reply Read(int depth) {
    Reply r;
    const unsigned char t = Byte();
    switch (t % 6) {
      case 0: r.type = Reply::Type::kNil; break;
      case 1: r.type = Reply::Type::kInteger; r.integer = static_cast<signed char>(Byte()); break;
      case 2: r.type = Reply::Type::kString; break;
      case 3: r.type = Reply::Type::kStatus; break;
      case 4: r.type = Reply::Type::kArray; break;
      case 5: r.type = Reply::Type::kError; break;
    }
    if (r.type == Reply::Type::kString || r.type == Reply::Type::kStatus || r.type == Reply::Type::kError) {
      const std::size_t n = std::min<std::size_t>(Byte(), in.size() - std::min(pos, in.size()));
      r.str = std::string(in.substr(std::min(pos, in.size()), n));
      pos += n;
    } else if (r.type == Reply::Type::kArray) {
      const unsigned n = Byte();
      for (unsigned i = 0; i < n && pos < in.size() && depth < 8; ++i) r.elements.push_back(Read(depth + 1));
    }
    return r;
  }
};

void FuzzTree(std::string_view in) {
  TreeReader reader{in};
  const Reply a = reader.Read(0);
  const Reply b = reader.Read(0);
  DecodeStateOf(a, b);
  DecodeEntriesOf(a);
  DecodeEntriesOf(b);
  (void)rs::Describe(a);
  (void)rs::Describe(b);
}

void FuzzProducer(std::string_view in) {
  auto p = rs::DecodeProducer(in);
  if (p) {
    auto again = rs::DecodeProducer(rs::EncodeProducer(*p));
    FUZZ_CHECK(again && *again == *p);
  }
  if (auto v = rs::ParseU64(in)) FUZZ_CHECK(std::to_string(*v) == in || in.front() == '0');
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 6) {
    case 0: FuzzUrl(in); break;
    case 1: FuzzSlot(in); break;
    case 2: FuzzState(in); break;
    case 3: FuzzEntries(in); break;
    case 4: FuzzTree(in); break;
    case 5: FuzzProducer(in); break;
  }
  return 0;
}

// The Redis store's Lua scripts. Each runs atomically on the primary that owns the stream's
// slot; KEYS are always the stream's own keys (one hash tag), so they work on Redis Cluster.
//
// Rules every writing script follows: check everything first, write after (Redis does not roll
// a script back, so a check that fails halfway would leave half a mutation); offsets are
// formatted with %.0f (Lua 5.1 numbers are doubles: exact below 2^53, the protocol's limit), and
// version tokens and ids are compared as strings (they use all 64 bits).
#include "session/store/redis/redis_codec.hpp"

namespace dsx::session::redisstore {
namespace {

// KEYS: meta, producers, data, leases. ARGV: channel, path, version, n (count of HSET items), the n
// meta items, then (end, bytes, first) per initial message.
// Returns {1} or {0, existing version} when the stream exists.
constexpr const char* kCreate = R"lua(
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {0, redis.call('HGET', KEYS[1], 'version') or ''}
end
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
local n = tonumber(ARGV[4])
local i = 5 + n
while i <= #ARGV do
  if ARGV[i + 2] == '1' then
    redis.call('XADD', KEYS[3], ARGV[i] .. '-0', 'e', ARGV[i], 'b', ARGV[i + 1], 'f', '1', 'v', ARGV[3])
  else
    redis.call('XADD', KEYS[3], ARGV[i] .. '-0', 'e', ARGV[i], 'b', ARGV[i + 1], 'f', '0')
  end
  i = i + 3
end
local items = {}
for j = 5, 4 + n do items[#items + 1] = ARGV[j] end
redis.call('HSET', KEYS[1], unpack(items))
redis.call('PUBLISH', ARGV[1], ARGV[3] .. ' ' .. ARGV[2])
return {1}
)lua";

// KEYS: meta, producers, data. ARGV: 1 channel, 2 path, 3 expect_version, 4 new_version,
// 5 close, 6 has_producer, 7 producer id, 8 "<epoch> <seq>", 9 closed_by, 10 has_stream_seq,
// 11 stream_seq, 12... one message's bytes each.
// Returns {1, new tail, start} | {0, current version or ''} (CAS lost / gone) | {-1, why}.
constexpr const char* kAppend = R"lua(
local function fmt(x) return string.format('%.0f', x) end
local v = redis.call('HGET', KEYS[1], 'version')
if not v then return {0, ''} end
if v ~= ARGV[3] then return {0, v} end
local tail = tonumber(redis.call('HGET', KEYS[1], 'tail'))
local start = tail
if #ARGV >= 12 then
  local last = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', 1)
  if #last > 0 then
    local lid = tonumber(string.match(last[1][1], '^(%d+)'))
    if lid > tail then
      return {-1, 'data ends at ' .. last[1][1] .. ', past the tail ' .. fmt(tail)}
    end
  end
  for i = 12, #ARGV do
    tail = tail + string.len(ARGV[i])
    local e = fmt(tail)
    if i == 12 then
      redis.call('XADD', KEYS[3], e .. '-0', 'e', e, 'b', ARGV[i], 'f', '1', 'v', ARGV[4])
    else
      redis.call('XADD', KEYS[3], e .. '-0', 'e', e, 'b', ARGV[i], 'f', '0')
    end
  end
  redis.call('HINCRBY', KEYS[1], 'message_count', #ARGV - 11)
end
if ARGV[6] == '1' then redis.call('HSET', KEYS[2], ARGV[7], ARGV[8]) end
if ARGV[10] == '1' then redis.call('HSET', KEYS[1], 'stream_seq', ARGV[11]) end
if ARGV[5] == '1' then
  redis.call('HSET', KEYS[1], 'closed', '1')
  if ARGV[6] == '1' then
    redis.call('HSET', KEYS[1], 'closed_by', ARGV[9])
  else
    redis.call('HDEL', KEYS[1], 'closed_by')
  end
end
redis.call('HSET', KEYS[1], 'tail', fmt(tail), 'version', ARGV[4])
redis.call('PUBLISH', ARGV[1], ARGV[4] .. ' ' .. ARGV[2])
return {1, fmt(tail), fmt(start)}
)lua";

// KEYS: meta. ARGV: channel, path, id, new_version. Returns 1, or 0 when the stream is gone
// (or the path now holds another stream).
constexpr const char* kSoftDelete = R"lua(
if redis.call('HGET', KEYS[1], 'id') ~= ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], 'soft_deleted', '1', 'version', ARGV[4])
redis.call('PUBLISH', ARGV[1], ARGV[4] .. ' ' .. ARGV[2])
return 1
)lua";

// KEYS: meta, producers, data, leases. ARGV: channel, path, id. Returns 1 (deleted), 2 (no
// such stream), 3 (the path holds another stream now: left alone).
constexpr const char* kDrop = R"lua(
local id = redis.call('HGET', KEYS[1], 'id')
if not id then return 2 end
if id ~= ARGV[3] then return 3 end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
redis.call('PUBLISH', ARGV[1], '0 ' .. ARGV[2])
return 1
)lua";

// KEYS: meta, producers, data. ARGV: from (exclusive end offset), byte budget.
// Returns {0} (no such stream) or {1, meta HGETALL, producers HGETALL, entries after `from` up
// to the tail, at least one XRANGE page and then until the budget is used}.
constexpr const char* kRead = R"lua(
local m = redis.call('HGETALL', KEYS[1])
if #m == 0 then return {0} end
local p = redis.call('HGETALL', KEYS[2])
local tail = redis.call('HGET', KEYS[1], 'tail')
local out = {}
local budget = tonumber(ARGV[2])
local used = 0
local from = '(' .. ARGV[1] .. '-0'
while used < budget do
  local r = redis.call('XRANGE', KEYS[3], from, tail .. '-0', 'COUNT', 64)
  for i = 1, #r do
    out[#out + 1] = r[i]
    local f = r[i][2]
    for j = 1, #f, 2 do
      if f[j] == 'b' then used = used + string.len(f[j + 1]) end
    end
  end
  if #r < 64 then break end
  from = '(' .. r[#r][1]
end
return {1, m, p, out}
)lua";

// After WAIT: is the mutation on the server that answered? (A reconnect between the script
// and WAIT, e.g. to a new primary after a failover, would make WAIT count replicas of a server
// that never had the write.) KEYS: meta, data. ARGV: kind, token, first end.
//   kind 'v': meta.version == token, or the data entry at `first end` carries v == token;
//   kind 'g': the stream with id `token` is gone (drop).
constexpr const char* kVerify = R"lua(
if ARGV[1] == 'g' then
  if redis.call('HGET', KEYS[1], 'id') == ARGV[2] then return 0 end
  return 1
end
if redis.call('HGET', KEYS[1], 'version') == ARGV[2] then return 1 end
if ARGV[3] ~= '' then
  local r = redis.call('XRANGE', KEYS[2], ARGV[3] .. '-0', ARGV[3] .. '-0')
  if #r > 0 then
    local f = r[1][2]
    for i = 1, #f, 2 do
      if f[i] == 'v' and f[i + 1] == ARGV[2] then return 1 end
    end
  end
end
return 0
)lua";

// KEYS: leases. ARGV: run, deadline (epoch ms). The later deadline wins. Returns the one kept.
constexpr const char* kPutLease = R"lua(
local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if tonumber(ARGV[2]) > cur then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  return ARGV[2]
end
return string.format('%.0f', cur)
)lua";

}  // namespace

const Scripts& GetScripts() {
  static const Scripts scripts{redis::MakeScript(kCreate),     redis::MakeScript(kAppend),
                               redis::MakeScript(kSoftDelete), redis::MakeScript(kDrop),
                               redis::MakeScript(kRead),       redis::MakeScript(kVerify),
                               redis::MakeScript(kPutLease)};
  return scripts;
}

}  // namespace dsx::session::redisstore

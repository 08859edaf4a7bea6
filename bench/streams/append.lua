-- wrk script for bench/streams/run: POST 256-byte application/octet-stream bodies.
-- Streams: BENCH_PREFIX0 .. BENCH_PREFIX{BENCH_STREAMS-1} (created beforehand by the runner).
-- Each request goes to the next stream, round-robin, each wrk thread starting at its own place,
-- so concurrent appends land on DISTINCT streams (the common case: many sessions, one writer
-- each) and no producer headers are sent. nginx ignores the path and answers 204.
-- done() prints one machine-readable RESULT line (latency in microseconds).
local prefix = os.getenv("BENCH_PREFIX") or "/v1/stream/bench-append-"
local streams = tonumber(os.getenv("BENCH_STREAMS") or "256")
local body = string.rep("x", 256)
local headers = { ["Content-Type"] = "application/octet-stream" }
local next_id = 0
local counter = 0

function setup(thread)
  thread:set("thread_id", next_id)
  next_id = next_id + 1
end

function init(args)
  counter = (thread_id or 0) * 97
end

function request()
  counter = counter + 1
  return wrk.format("POST", prefix .. (counter % streams), headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT rps=%.1f p50_us=%d p99_us=%d requests=%d non2xx=%d errors=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50), latency:percentile(99),
    summary.requests, e.status, e.connect + e.read + e.write + e.timeout))
end

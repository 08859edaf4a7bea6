#!/usr/bin/env python3
"""Integration tests of `dsx session serve --llm-proxy` (docs/llm-proxy.md).

Upstreams: the real `dsx audit mock-llm`, and a tiny local bad upstream (below) that errors
mid-stream, stalls, answers HTML or 500. Every process binds 127.0.0.1 port 0 and is killed at
the end; waits are on conditions (a session's run.end, the mock's log), with generous deadlines.

usage: llm_proxy_test.py DSX_BINARY
"""
import http.client
import http.server
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

DSX = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else "build/bin/dsx"
API_KEY = "sk-test-SECRET-7d1f0c9e"  # must never appear in the log or the session
DEADLINE_S = 60
PROCS = []
FAILED = []


def check(cond, what):
    if cond:
        print("ok   " + what, flush=True)
    else:
        print("FAIL " + what, flush=True)
        FAILED.append(what)


def start(args, tmp, name):
    """Starts a dsx process; returns (proc, base_url, log_path) once it printed its address."""
    log_path = os.path.join(tmp, name + ".log")
    log = open(log_path, "wb")
    p = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    PROCS.append(p)
    end = time.time() + DEADLINE_S
    while time.time() < end:
        with open(log_path, "rb") as f:
            m = re.search(rb"listening on (http://[0-9.]+:\d+)", f.read())
        if m:
            return p, m.group(1).decode(), log_path
        if p.poll() is not None:
            break
        time.sleep(0.02)
    with open(log_path, "rb") as f:
        raise SystemExit(name + " did not start: " + f.read().decode(errors="replace"))


# ---- the bad upstream: /MODE/chat/completions
class Bad(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    stall_release = threading.Event()

    def log_message(self, *a):
        pass

    def chunk(self, text):
        data = text.encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def sse_head(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def token(self, i):
        c = {"id": "x", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": "part%d " % i}}]}
        self.chunk("data: " + json.dumps(c) + "\n\n")

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(n)
        mode = self.path.split("/")[1]
        if mode == "cut":  # two tokens, then the connection drops (no [DONE])
            self.sse_head()
            self.token(1)
            self.token(2)
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        if mode == "errchunk":  # two tokens, then an error object in the stream
            self.sse_head()
            self.token(1)
            self.token(2)
            self.chunk('data: {"error":{"message":"model overloaded","type":"server_error"}}\n\n')
            self.chunk("")
            return
        if mode == "stall":  # two tokens, then silence
            self.sse_head()
            self.token(1)
            self.token(2)
            Bad.stall_release.wait(30)
            self.close_connection = True
            return
        if mode == "anth":  # an Anthropic Messages stream
            self.sse_head()
            evs = [("message_start", {"type": "message_start", "message": {"id": "msg_1", "role": "assistant"}}),
                   ("content_block_start", {"type": "content_block_start", "index": 0,
                                            "content_block": {"type": "text", "text": ""}}),
                   ("ping", {"type": "ping"})]
            for w in ("Hel", "lo ", "there"):
                evs.append(("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                    "delta": {"type": "text_delta", "text": w}}))
            evs += [("content_block_stop", {"type": "content_block_stop", "index": 0}),
                    ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"}}),
                    ("message_stop", {"type": "message_stop"})]
            for name, data in evs:
                self.chunk("event: %s\ndata: %s\n\n" % (name, json.dumps(data)))
            self.chunk("")
            return
        if mode == "tools":  # OpenAI: text, then two tool calls in fragments (the second cut when ?cut)
            self.sse_head()
            self.token(1)
            frames = [{"index": 0, "id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": ""}},
                      {"index": 0, "function": {"arguments": "{\"city\":"}},
                      {"index": 1, "id": "call_b", "type": "function", "function": {"name": "get_time", "arguments": "{}"}},
                      {"index": 0, "function": {"arguments": " \"Paris\"}"}}]
            for f in frames:
                c = {"id": "x", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"tool_calls": [f]}}]}
                self.chunk("data: " + json.dumps(c) + "\n\n")
            c = {"id": "x", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}
            self.chunk("data: " + json.dumps(c) + "\n\ndata: [DONE]\n\n")
            self.chunk("")
            return
        if mode == "anthtools":  # Anthropic: a tool_use block, its input streamed
            self.sse_head()
            evs = [("message_start", {"type": "message_start", "message": {"id": "msg_2", "role": "assistant"}}),
                   ("content_block_start", {"type": "content_block_start", "index": 0,
                                            "content_block": {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {}}}),
                   ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                            "delta": {"type": "input_json_delta", "partial_json": "{\"q\": "}}),
                   ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                            "delta": {"type": "input_json_delta", "partial_json": "\"dsx\"}"}}),
                   ("content_block_stop", {"type": "content_block_stop", "index": 0}),
                   ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "tool_use"}}),
                   ("message_stop", {"type": "message_stop"})]
            for name, data in evs:
                self.chunk("event: %s\ndata: %s\n\n" % (name, json.dumps(data)))
            self.chunk("")
            return
        if mode == "html":
            body = b"<html><body>login</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if mode == "echokey":  # a 401 that quotes the caller's key back
            key = self.headers.get("Authorization", "")[7:]
            body = json.dumps({"error": {"message": "Incorrect API key provided: " + key}}).encode()
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if mode == "e500":
            body = b'{"error":{"message":"internal kaboom","type":"server_error"}}'
            self.send_response(500)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()


def post(base, path, body, headers=None, raw=None):
    u = urllib.parse.urlparse(base)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=DEADLINE_S)
    h = {"Content-Type": "application/json", "Authorization": "Bearer " + API_KEY}
    h.update(headers or {})
    c.request("POST", path, body=raw if raw is not None else json.dumps(body), headers=h)
    r = c.getresponse()
    return c, r


def chat(stream=True, text="hello", model="dsx-mock"):
    return {"model": model, "stream": stream, "messages": [{"role": "system", "content": "be brief"},
                                                           {"role": "user", "content": text}]}


def read_frames(resp):
    """SSE frames of a whole response: list of (id, data)."""
    body = resp.read().decode()
    frames = []
    for block in body.split("\n\n"):
        if not block.strip():
            continue
        fid, data = None, []
        for line in block.split("\n"):
            if line.startswith("id: "):
                fid = line[4:]
            elif line.startswith("data: "):
                data.append(line[6:])
        frames.append((fid, "\n".join(data)))
    return frames


def get_json(base, path, headers=None):
    u = urllib.parse.urlparse(base)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=DEADLINE_S)
    c.request("GET", path, headers=headers or {})
    r = c.getresponse()
    b = r.read()
    c.close()
    return r.status, (json.loads(b) if r.status == 200 and b else None)


def events(base, sid, headers=None):
    """The session's events with offsets (catch-up pages: a message's fragments come merged)."""
    out, offset = [], "-1"
    for _ in range(1000):
        st, page = get_json(base, "/v1/session/%s/events?offset=%s" % (sid, offset), headers)
        if st != 200:
            return out
        out += page["events"]
        offset = page["offset"]
        if page.get("up_to_date"):
            break
    return out


def raw_events(base, sid, headers=None):
    """The session's stream as stored: every event as appended (no offsets)."""
    st, arr = get_json(base, "/v1/stream/%s?offset=-1" % sid, headers)
    return arr if st == 200 else []


def wait_run_end(base, sid, run, headers=None):
    end = time.time() + DEADLINE_S
    while time.time() < end:
        evs = events(base, sid, headers)
        for e in evs:
            if e.get("type") == "run.end" and e.get("run") == run:
                return evs, e
        time.sleep(0.05)
    return events(base, sid, headers), None


def run_text(evs, run):
    return "".join(e["data"]["text"] for e in evs if e.get("type") == "msg.append" and e.get("run") == run)


def upstream_requests(mock):
    return len([l for l in mock_log(mock) if l.get("event") == "request"])


def call_while_busy(srv, mock, sid, what):
    """A call on `sid`, then, once its first token is out (its run is active), a second call on
    the same session: 409 before it reaches the upstream. Returns the first call (connection,
    response: its stream not read further than that token)."""
    before = upstream_requests(mock)
    c, r = post(srv, "/llm/v1/chat/completions", chat(text="first of " + sid), {"X-Dsx-Session": sid})
    while True:  # up to the first token's frame (sent once its append is stored)
        line = r.fp.readline()
        if not line or b"tok-" in line:
            break
    c2, r2 = post(srv, "/llm/v1/chat/completions", chat(text="second"), {"X-Dsx-Session": sid})
    busy = r2.read().decode()
    c2.close()
    check(r2.status == 409 and "active run" in busy, "%s: a second call -> 409 (%s)" % (what, busy.strip()[:80]))
    check(upstream_requests(mock) == before + 1, "%s: the refused call never reaches the upstream" % what)
    return c, r


def mock_log(mock):
    u = urllib.parse.urlparse(mock)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=DEADLINE_S)
    c.request("GET", "/log")
    b = c.getresponse().read().decode()
    c.close()
    return [json.loads(l) for l in b.splitlines() if l.strip()]


def main():
    tmp = tempfile.mkdtemp(prefix="dsx-llm-proxy-")
    bad = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Bad)
    bad.daemon_threads = True
    threading.Thread(target=bad.serve_forever, daemon=True).start()
    bad_url = "http://127.0.0.1:%d" % bad.server_address[1]
    try:
        _, mock, _ = start([DSX, "audit", "mock-llm", "--listen", "127.0.0.1:0", "--tokens", "30",
                            "--interval-ms", "20"], tmp, "mock")
        args = [DSX, "session", "serve", "--memory", "--listen", "127.0.0.1:0", "--log-requests",
                "--llm-proxy", mock + "/v1", "--llm-proxy-idle-timeout-ms", "1500"]
        for mode in ("cut", "errchunk", "stall", "html", "e500", "anth", "echokey", "tools", "anthtools"):
            args += ["--llm-proxy", "%s=%s/%s" % (mode, bad_url, mode)]
        _, srv, srv_log = start(args, tmp, "server")

        # 1. A whole streamed answer: frames with ids, the same text in the session.
        c, r = post(srv, "/llm/v1/chat/completions", chat(text="first"), {"X-Dsx-Session": "t/full"})
        check(r.status == 200 and r.getheader("Content-Type", "").startswith("text/event-stream"), "stream: 200 SSE")
        sid, run, off = r.getheader("X-Dsx-Session"), r.getheader("X-Dsx-Run"), r.getheader("X-Dsx-Offset")
        check(sid == "t/full" and run and off, "stream: X-Dsx-Session/Run/Offset headers (%s %s %s)" % (sid, run, off))
        check("X-Dsx-Offset" in (r.getheader("Access-Control-Expose-Headers") or ""), "stream: headers exposed (CORS)")
        frames = read_frames(r)
        c.close()
        check(frames and frames[-1][1] == "[DONE]", "stream: ends with data: [DONE]")
        check(all(f[0] for f in frames), "stream: every frame has an id")
        got = "".join((json.loads(d)["choices"][0]["delta"].get("content") or "") for _, d in frames
                      if d != "[DONE]" and json.loads(d).get("choices"))
        evs, end = wait_run_end(srv, sid, run)
        check(end is not None and end["data"]["reason"] == "done", "stream: run.end done")
        full_text = run_text(evs, run)
        check(got == full_text and full_text.count("tok-") == 30, "stream: client text == session text (30 tokens)")
        types = [e["type"] for e in evs]
        check(types[:4] == ["user.message", "run.start", "msg.start", "msg.append"] and types[-2:] == ["msg.end", "run.end"],
              "stream: event order user.message, run.start, msg.start, msg.append..., msg.end, run.end")
        check(evs[0]["data"]["text"] == "first", "stream: user.message holds the last user message")
        rs = [e for e in evs if e["type"] == "run.start"][0]
        check(rs["data"].get("source") == "llm-proxy" and rs["data"].get("model") == "dsx-mock"
              and rs["data"].get("upstream") == "default", "stream: run.start data source/upstream/model")
        check(evs[0]["offset"] == off, "stream: X-Dsx-Offset is the offset right before run.start")
        # the ids are offsets a client can resume from
        mid_id = frames[len(frames) // 2][0]
        after = [e for e in evs if e["offset"] > mid_id]
        check(len(after) > 0 and all(e["offset"] > mid_id for e in after), "stream: frame ids are session offsets")

        # 1b. A prompt longer than an event holds (1 MiB; long-context requests carry more) is
        # not refused: the upstream gets it whole, the session keeps its start, marked truncated.
        # (It was refused 413 "event larger than 1 MiB" before.)
        big = "\u00e9" * (700 * 1024)  # 1.4 MB of 2-byte characters: a cut must not split one
        c, r = post(srv, "/llm/v1/chat/completions", chat(text=big), {"X-Dsx-Session": "t/big"})
        runb = r.getheader("X-Dsx-Run")
        frames = read_frames(r)
        c.close()
        check(r.status == 200 and frames and frames[-1][1] == "[DONE]", "big prompt: 200 and a whole stream (%d)" % r.status)
        evs, end = wait_run_end(srv, "t/big", runb)
        um = evs[0] if evs else {}
        text = um.get("data", {}).get("text", "")
        check(end is not None and end["data"]["reason"] == "done" and um.get("type") == "user.message",
              "big prompt: run done, user.message stored")
        check(um["data"].get("truncated") is True and um["data"].get("bytes") == len(big.encode())
              and 0 < len(text) < len(big) and big.startswith(text),
              "big prompt: stored cut at a character (%d of %d chars), truncated, bytes" % (len(text), len(big)))

        # 2. Client drops after the first chunks: the whole reply is still stored.
        c, r = post(srv, "/llm/v1/chat/completions", chat(text="drop"), {"X-Dsx-Session": "t/drop"})
        run2 = r.getheader("X-Dsx-Run")
        r.fp.readline()
        r.fp.readline()
        sock = r.fp.raw._sock  # the connection (http.client hands it to the response)
        sock.shutdown(socket.SHUT_RDWR)
        sock.close()
        c.close()
        evs, end = wait_run_end(srv, "t/drop", run2)
        check(end is not None and end["data"]["reason"] == "done", "drop: run ends done after the client left")
        check(run_text(evs, run2).count("tok-") == 30, "drop: the complete reply (30 tokens) is in the session")
        check(len([e for e in raw_events(srv, "t/drop") if e["type"] == "msg.append"]) == 30,
              "drop: one msg.append per token")

        # 3. control.cancel aborts the upstream call; ack applied; run.end cancelled.
        slow_mock_proc, slow_mock, _ = start([DSX, "audit", "mock-llm", "--listen", "127.0.0.1:0", "--tokens", "400",
                                              "--interval-ms", "25"], tmp, "slowmock")
        _, srv2, srv2_log = start([DSX, "session", "serve", "--memory", "--listen", "127.0.0.1:0",
                                   "--llm-proxy", slow_mock + "/v1"], tmp, "server2")
        # The cancel goes after the first token's frame: a cancel seen by the ticker before any
        # token arrived left 0 tokens and failed "partial text kept" (2 of 7 runs on the loaded
        # 2-core VM, with and without the upstream loop).
        c, r = call_while_busy(srv2, slow_mock, "t/cancel", "busy session")
        run3 = r.getheader("X-Dsx-Run")
        cc, cr = post(srv2, "/v1/session/t/cancel/events", {"type": "control.cancel", "run": run3,
                                                               "data": {"reason": "user pressed stop"}})
        check(cr.status == 200, "cancel: control.cancel accepted (%d)" % cr.status)
        cr.read()
        cc.close()
        rest = r.fp.read().decode()  # raw (chunked) bytes to the end: the server closes
        c.close()
        check("data: [DONE]" in rest and rest.endswith("0\r\n\r\n"), "cancel: client stream ends")
        evs, end = wait_run_end(srv2, "t/cancel", run3)
        check(end is not None and end["data"]["reason"] == "cancelled", "cancel: run.end cancelled")
        acks = [e for e in evs if e["type"] == "control.ack" and e.get("run") == run3]
        check(acks and acks[0]["data"]["outcome"] == "applied", "cancel: control.ack applied")
        partial = run_text(evs, run3).count("tok-")
        deadline = time.time() + DEADLINE_S
        cancelled = []
        while time.time() < deadline and not cancelled:
            cancelled = [l for l in mock_log(slow_mock) if l.get("event") == "cancel"]
            time.sleep(0.05)
        check(bool(cancelled) and cancelled[0].get("sent", 400) < 400,
              "cancel: the mock's log shows the upstream call cancelled (%s)" % (cancelled[:1],))
        check(0 < partial < 400, "cancel: partial text kept (%d tokens)" % partial)

        # 4. Upstream failures: run.end error with a clear data.error, partial text kept, final error frame.
        cases = [("cut", "connection closed in the middle of a response", 2), ("errchunk", "model overloaded", 2),
                 ("stall", "upstream stalled", 2), ("html", "text/html, not SSE", 0),
                 ("e500", "upstream answered 500: internal kaboom", 0),
                 ("echokey", "upstream answered 401: Incorrect API key provided: [redacted]", 0)]
        for mode, want, parts in cases:
            c, r = post(srv, "/llm/%s/v1/chat/completions" % mode, chat(text=mode), {"X-Dsx-Session": "t/" + mode})
            runx = r.getheader("X-Dsx-Run")
            body = r.read().decode()
            status = r.status
            c.close()
            evs, end = wait_run_end(srv, "t/" + mode, runx)
            err = (end or {}).get("data", {}).get("error", "")
            check(end is not None and end["data"]["reason"] == "error" and want in err,
                  "%s: run.end error '%s'" % (mode, err))
            check(run_text(evs, runx).count("part") == parts, "%s: partial text kept (%d parts)" % (mode, parts))
            if parts:
                check(status == 200 and '"error"' in body and body.rstrip().endswith("data: [DONE]"),
                      "%s: client gets a final error frame" % mode)
            else:
                check(status in (500, 502, 401), "%s: client gets %d" % (mode, status))
        Bad.stall_release.set()

        # 4b. Anthropic Messages API: events pass through with ids, text stored.
        c, r = post(srv, "/llm/anth/v1/messages", {"model": "claude-x", "max_tokens": 50, "stream": True,
                                                   "messages": [{"role": "user", "content": "hi claude"}]},
                    {"X-Dsx-Session": "t/anth", "x-api-key": API_KEY, "anthropic-version": "2023-06-01"})
        runa = r.getheader("X-Dsx-Run")
        body = r.read().decode()
        c.close()
        evs, end = wait_run_end(srv, "t/anth", runa)
        check(r.status == 200 and "event: message_stop" in body and "id: " in body and "[DONE]" not in body,
              "anthropic: events forwarded with ids")
        check(end is not None and end["data"]["reason"] == "done" and run_text(evs, runa) == "Hello there",
              "anthropic: run.end done, text stored")

        # 4c. Tool calls are stored (tool.call, before msg.end), not only forwarded: a client
        # that resumes from the session, or another device, sees what the model called.
        c, r = post(srv, "/llm/tools/v1/chat/completions", chat(text="weather?"), {"X-Dsx-Session": "t/tools"})
        runt = r.getheader("X-Dsx-Run")
        frames = read_frames(r)
        c.close()
        evs, end = wait_run_end(srv, "t/tools", runt)
        calls = [e for e in evs if e.get("type") == "tool.call" and e.get("run") == runt]
        check(any('"tool_calls"' in d for _, d in frames), "tools: tool call frames forwarded to the client")
        check(end is not None and end["data"]["reason"] == "done", "tools: run.end done")
        check([c["data"] for c in calls] == [{"id": "call_a", "name": "get_weather", "arguments": "{\"city\": \"Paris\"}"},
                                            {"id": "call_b", "name": "get_time", "arguments": "{}"}],
              "tools: both calls stored whole, in order (%s)" % [c["data"] for c in calls])
        types = [e["type"] for e in evs if e.get("run") == runt]
        check(types[-4:] == ["tool.call", "tool.call", "msg.end", "run.end"], "tools: tool.call before msg.end (%s)" % types[-4:])
        check(all(c.get("msg") for c in calls), "tools: tool.call names its message")
        c, r = post(srv, "/llm/anthtools/v1/messages", {"model": "claude-x", "max_tokens": 50, "stream": True,
                                                        "messages": [{"role": "user", "content": "look it up"}]},
                    {"X-Dsx-Session": "t/anthtools", "x-api-key": API_KEY, "anthropic-version": "2023-06-01"})
        runat = r.getheader("X-Dsx-Run")
        r.read()
        c.close()
        evs, end = wait_run_end(srv, "t/anthtools", runat)
        calls = [e["data"] for e in evs if e.get("type") == "tool.call"]
        check(end is not None and end["data"]["reason"] == "done" and
              calls == [{"id": "toolu_1", "name": "lookup", "arguments": "{\"q\": \"dsx\"}"}],
              "anthropic tools: tool_use stored as tool.call (%s)" % calls)

        # 5. Non-streamed.
        c, r = post(srv, "/llm/v1/chat/completions", chat(stream=False, text="whole"), {"X-Dsx-Session": "t/nostream"})
        body = json.loads(r.read())
        run5 = r.getheader("X-Dsx-Run")
        c.close()
        evs, end = wait_run_end(srv, "t/nostream", run5)
        appends = [e for e in raw_events(srv, "t/nostream") if e["type"] == "msg.append"]
        check(r.status == 200 and len(appends) == 1 and appends[0]["data"]["text"] == body["choices"][0]["message"]["content"],
              "nostream: 200, the answer stored as one msg.append")
        check(end is not None and end["data"]["reason"] == "done", "nostream: run.end done")

        # 6. No session header: the server makes one and returns it.
        c, r = post(srv, "/llm/v1/chat/completions", chat(stream=False))
        sid6 = r.getheader("X-Dsx-Session")
        r.read()
        c.close()
        check(r.status == 200 and sid6 and sid6.startswith("llm/"), "no X-Dsx-Session: created %s" % sid6)

        # 7. Bad requests.
        bad_bodies = [
            ("not json", None, "{nope", 400, "invalid"),
            ("model type", {"model": 3, "messages": []}, None, 400, "'model'"),
            ("messages missing", {"model": "m"}, None, 400, "'messages'"),
            ("messages type", {"model": "m", "messages": "hi"}, None, 400, "'messages' must be an array"),
            ("stream type", {"model": "m", "messages": [], "stream": "yes"}, None, 400, "'stream'"),
            ("content type", {"model": "m", "messages": [{"role": "user", "content": 5}]}, None, 400, "content"),
            ("deep nesting", None, '{"model":"m","messages":[' + "[" * 100 + "]" * 100 + "]}", 400, "deeper"),
            ("array body", [1], None, 400, "object"),
        ]
        for what, body, raw, want_status, want in bad_bodies:
            c, r = post(srv, "/llm/v1/chat/completions", body, {"X-Dsx-Session": "t/bad"}, raw=raw)
            text = r.read().decode()
            c.close()
            check(r.status == want_status and want in text, "400: %s -> %d %s" % (what, r.status, text.strip()[:90]))
        c, r = post(srv, "/llm/v1/chat/completions", None, {}, raw="x" * (9 << 20))
        r.read()
        c.close()
        check(r.status == 413, "huge body -> 413 (%d)" % r.status)
        for path, want in (("/llm/nope/v1/chat/completions", "no upstream named 'nope'"),
                           ("/llm/v1/models", "no LLM proxy route"), ("/llm/cut/v2/x", "no LLM proxy route")):
            c, r = post(srv, path, chat())
            text = r.read().decode()
            c.close()
            check(r.status == 404 and want in text, "404: %s" % path)
        check(events(srv, "t/bad") == [], "bad requests write nothing")

        # 8. The API key is never stored or logged.
        time.sleep(0.2)
        with open(srv_log, "rb") as f:
            log_bytes = f.read()
        stored = json.dumps([events(srv, s) for s in ("t/full", "t/drop", "t/cut", "t/nostream", "t/echokey", sid6)])
        check(API_KEY.encode() not in log_bytes and API_KEY not in stored, "API key neither logged nor stored")
        check(b"run ended" in log_bytes, "the server logs each run's end")

        # 9. Auth on: X-Dsx-Token; 401 / 403 before the body is read.
        key = os.path.join(tmp, "key")
        with open(key, "w") as f:
            f.write("0123456789abcdef0123456789abcdef-llm-proxy-test\n")
        os.chmod(key, 0o600)
        _, srv3, _ = start([DSX, "session", "serve", "--memory", "--listen", "127.0.0.1:0", "--auth-key-file", key,
                            "--llm-proxy", mock + "/v1", "--llm-proxy", "tools=%s/tools" % bad_url], tmp, "server3")

        def token(session, rights):
            out = subprocess.run([DSX, "session", "token", "--auth-key-file", key, "--sub", "alice", "--rights", rights,
                                  "--session", session], capture_output=True, text=True, check=True)
            return out.stdout.strip().splitlines()[-1]

        good = token("a/*", "read,append,run")
        other = token("b/*", "read,append,run")
        c, r = post(srv3, "/llm/v1/chat/completions", chat(stream=False), {"X-Dsx-Session": "a/1", "X-Dsx-Token": good})
        r.read()
        c.close()
        check(r.status == 200, "auth: token with run on the session -> 200 (%d)" % r.status)
        evs = events(srv3, "a/1", {"Authorization": "Bearer " + good})
        check(evs and evs[1]["from"]["sub"] == "alice", "auth: events stamped with the token's principal")

        def head_only(headers):
            """Sends a head announcing a 1 MiB body, no body: the answer must come before it."""
            u = urllib.parse.urlparse(srv3)
            s = socket.create_connection((u.hostname, u.port), timeout=10)
            req = "POST /llm/v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" \
                  "Content-Length: 1048576\r\nAuthorization: Bearer " + API_KEY + "\r\n"
            for k, v in headers.items():
                req += "%s: %s\r\n" % (k, v)
            s.sendall((req + "\r\n").encode())
            data = s.recv(4096).decode(errors="replace")
            s.close()
            return data

        a = head_only({"X-Dsx-Session": "a/2"})
        check(a.startswith("HTTP/1.1 401"), "auth: no X-Dsx-Token -> 401 before the body (%s)" % a[:20])
        a = head_only({"X-Dsx-Session": "a/2", "X-Dsx-Token": other})
        check(a.startswith("HTTP/1.1 403"), "auth: token for another session -> 403 before the body (%s)" % a[:20])
        c, r = post(srv3, "/llm/v1/chat/completions", chat(stream=False), {"X-Dsx-Session": "a/3", "X-Dsx-Token": token("a/*", "read")})
        text = r.read().decode()
        c.close()
        check(r.status == 403 and "run" in text, "auth: token without 'run' -> 403")
        # Without 'append' the run is stored, its application events (prompt, tool calls) are not.
        runner = token("a/*", "read,run")
        c, r = post(srv3, "/llm/tools/v1/chat/completions", chat(), {"X-Dsx-Session": "a/4", "X-Dsx-Token": runner})
        run4 = r.getheader("X-Dsx-Run")
        read_frames(r)
        c.close()
        evs, end = wait_run_end(srv3, "a/4", run4, {"Authorization": "Bearer " + runner})
        types = [e["type"] for e in evs]
        check(end is not None and end["data"]["reason"] == "done" and "tool.call" not in types and "user.message" not in types,
              "auth: token without 'append' -> run done, no user.message or tool.call stored (%s)" % types)

        # 10. A file store with --fsync always: the run's first append is durable only after the
        # upstream call has started, so the upstream loop gets the head (and maybe tokens) before
        # it is answered; they wait in the run's queue (never on the loop). Several calls at once.
        _, srv4, _ = start([DSX, "session", "serve", "--data", os.path.join(tmp, "data4"), "--fsync", "always",
                            "--listen", "127.0.0.1:0", "--llm-proxy", mock + "/v1"], tmp, "server4")
        results = {}

        def durable_call(i):
            c, r = post(srv4, "/llm/v1/chat/completions", chat(text="durable %d" % i), {"X-Dsx-Session": "t/dur%d" % i})
            results[i] = (r.status, r.getheader("X-Dsx-Run"), r.getheader("X-Dsx-Offset"), read_frames(r))
            c.close()

        workers = [threading.Thread(target=durable_call, args=(i,)) for i in range(8)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(DEADLINE_S)
        for i in range(8):
            status, run4, off4, frames4 = results.get(i, (0, None, None, []))
            check(status == 200 and run4 and off4, "durable %d: 200 with X-Dsx-Run/Offset (%d)" % (i, status))
            check(frames4 and frames4[-1][1] == "[DONE]" and all(f[0] for f in frames4),
                  "durable %d: every frame has an id, ends with [DONE]" % i)
            ids = [f[0] for f in frames4]
            check(ids == sorted(ids) and (not ids or ids[0] > off4), "durable %d: ids rise, after X-Dsx-Offset" % i)
            got4 = "".join((json.loads(d)["choices"][0]["delta"].get("content") or "") for _, d in frames4
                           if d != "[DONE]" and json.loads(d).get("choices"))
            evs4, end4 = wait_run_end(srv4, "t/dur%d" % i, run4)
            check(end4 is not None and end4["data"]["reason"] == "done", "durable %d: run.end done" % i)
            check(got4 == run_text(evs4, run4) and got4.count("tok-") == 30,
                  "durable %d: client text == session text (30 tokens)" % i)
            check(evs4 and evs4[0]["offset"] == off4, "durable %d: X-Dsx-Offset is the user.message's offset" % i)

        # 10b. The file store answers a new session's create after its sync, and the upstream call
        # starts meanwhile (a session not there yet has no run to refuse it); a session that is
        # there with an active run still refuses a second call before it reaches the upstream.
        c, r = call_while_busy(srv4, mock, "t/durbusy", "durable busy")
        r.fp.read()  # raw (chunked) bytes to the end: the server closes
        c.close()
    finally:
        for p in PROCS:
            if p.poll() is None:
                p.terminate()
        for p in PROCS:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        bad.shutdown()
    if FAILED:
        print("%d check(s) failed: %s" % (len(FAILED), "; ".join(FAILED)))
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Integration tests of control.steer on `dsx session serve --llm-proxy` runs (docs/llm-proxy.md
"Steer").

Upstreams: the real `dsx audit mock-llm` (its GET /log shows each request and each cancelled
call), and a local recording upstream (below) that keeps every request body, so the test sees
what the proxy sent after a steer. Every process binds 127.0.0.1 port 0 and is killed at the
end; waits are on conditions (an ack or run.end in the session, the mock's log), with generous
deadlines.

usage: llm_proxy_steer_test.py DSX_BINARY
"""
import http.server
import json
import os
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import llm_proxy_test as t  # noqa: E402  (the helpers: start, post, events, wait_run_end, mock_log)

from llm_proxy_test import check, post, events, wait_run_end, run_text, mock_log, DEADLINE_S  # noqa: E402

BODIES = []  # (path, body) of every request the recorder got
BODIES_LOCK = threading.Lock()
HOLD = threading.Event()  # model "hold-N": after its end marker the answer waits for this


class Rec(http.server.BaseHTTPRequestHandler):
    """/oai/chat/completions and /anth/v1/messages. The model name "rec-N" sets the answer's
    tokens; a request whose messages hold an assistant turn (a steered call) gets 5 tokens
    "again1 ".."again5 ". Tokens every 20 ms; a client that closes ends the answer."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def chunk(self, text):
        data = text.encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(n))
        with BODIES_LOCK:
            BODIES.append((self.path, body))
        steered = any(m.get("role") == "assistant" for m in body["messages"])
        count = 5 if steered else int(body["model"].split("-")[1])
        if body["model"].startswith("long-"):  # the steered call as long as the first
            count = int(body["model"].split("-")[1])
        words = [("again%d " if steered else "w%d ") % (i + 1) for i in range(count)]
        anth = self.path.startswith("/anth/")
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            if anth:
                self.chunk("event: message_start\ndata: %s\n\n" % json.dumps(
                    {"type": "message_start", "message": {"id": "msg_%d" % len(BODIES), "role": "assistant"}}))
                self.chunk("event: content_block_start\ndata: %s\n\n" % json.dumps(
                    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}))
            hold = body["model"].startswith("hold-") and not steered
            for i, w in enumerate(words):
                time.sleep(0.02)
                if hold and i == len(words) - 1:  # the last token and [DONE] in one write (one read)
                    self.chunk("data: %s\n\ndata: [DONE]\n\n" % json.dumps(
                        {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": w}}]}))
                elif anth:
                    self.chunk("event: content_block_delta\ndata: %s\n\n" % json.dumps(
                        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": w}}))
                else:
                    self.chunk("data: %s\n\n" % json.dumps(
                        {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": w}}]}))
            if anth:
                for name, d in (("content_block_stop", {"type": "content_block_stop", "index": 0}),
                                ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"}}),
                                ("message_stop", {"type": "message_stop"})):
                    self.chunk("event: %s\ndata: %s\n\n" % (name, json.dumps(d)))
            elif not hold:
                self.chunk("data: [DONE]\n\n")
            if hold:
                HOLD.wait(DEADLINE_S)  # the reply is complete; the response is not ended yet
            self.chunk("")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


def bodies(prefix):
    with BODIES_LOCK:
        return [b for p, b in BODIES if p.startswith(prefix)]


def read_until_text(r, n):
    """Reads the response's raw (chunked) lines until n content frames came; returns them."""
    raw = b""
    seen = 0
    end = time.time() + DEADLINE_S
    while seen < n and time.time() < end:
        line = r.fp.readline()
        if not line:
            break
        raw += line
        if line.startswith(b"data: ") and (b'"content"' in line or b"text_delta" in line):
            seen += 1
    return raw


def sse_text(raw, anth=False):
    """The answer text in the raw bytes of an SSE response (every `data:` line, whole)."""
    out = ""
    for line in raw.decode().split("\n"):
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        d = json.loads(line[6:])
        if anth:
            if d.get("type") == "content_block_delta":
                out += d["delta"].get("text", "")
        elif d.get("choices"):
            out += d["choices"][0]["delta"].get("content") or ""
    return out


def post_event(srv, sid, ev):
    c, r = post(srv, "/v1/session/%s/events" % sid, ev)
    b = r.read()
    c.close()
    return r.status, (json.loads(b) if b else None)


def wait_ack(srv, sid, ack_id):
    end = time.time() + DEADLINE_S
    while time.time() < end:
        for e in events(srv, sid):
            if e.get("type") == "control.ack" and e.get("id") == ack_id:
                return e
        time.sleep(0.05)
    return None


def msgs_of(evs, run):
    """The run's messages in order: [(msg id, text)]."""
    order, text = [], {}
    for e in evs:
        if e.get("run") != run:
            continue
        if e["type"] == "msg.start":
            order.append(e["msg"])
            text[e["msg"]] = ""
        elif e["type"] == "msg.append":
            text[e["msg"]] = text.get(e["msg"], "") + e["data"]["text"]
    return [(m, text[m]) for m in order]


def chat(model, text):
    return {"model": model, "stream": True, "temperature": 0.9,
            "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": text}]}


def main():
    tmp = tempfile.mkdtemp(prefix="dsx-llm-steer-")
    rec = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Rec)
    rec.daemon_threads = True
    threading.Thread(target=rec.serve_forever, daemon=True).start()
    rec_url = "http://127.0.0.1:%d" % rec.server_address[1]
    try:
        _, mock, _ = t.start([t.DSX, "audit", "mock-llm", "--listen", "127.0.0.1:0", "--tokens", "150",
                              "--interval-ms", "25"], tmp, "mock")
        _, srv, _ = t.start([t.DSX, "session", "serve", "--memory", "--listen", "127.0.0.1:0",
                             "--llm-proxy", mock + "/v1", "--llm-proxy", "rec=%s/oai" % rec_url,
                             "--llm-proxy", "anth=%s/anth" % rec_url], tmp, "server")

        # 1. A text steer mid-stream against the mock: the first call is cancelled, a second one
        # made, both answers in one run (two messages) and in the client's one SSE response.
        c, r = post(srv, "/llm/v1/chat/completions", {"model": "dsx-mock", "stream": True,
                                                       "messages": [{"role": "user", "content": "tell me"}]},
                    {"X-Dsx-Session": "s/mock"})
        run = r.getheader("X-Dsx-Run")
        raw = read_until_text(r, 3)
        st, ans = post_event(srv, "s/mock", {"type": "control.steer", "run": run, "id": "k-m1",
                                              "data": {"text": "shorter please"}})
        check(st == 200, "mock: control.steer accepted (%d)" % st)
        ack = wait_ack(srv, "s/mock", "k-m1")
        check(ack is not None and ack["data"]["outcome"] == "applied", "mock: steer acked applied (%s)" % (ack,))
        raw += r.fp.read()
        c.close()
        evs, end = wait_run_end(srv, "s/mock", run)
        check(end is not None and end["data"]["reason"] == "done", "mock: the run ends done after the second call")
        msgs = msgs_of(evs, run)
        check(len(msgs) == 2 and 0 < msgs[0][1].count("tok-") < 150 and msgs[1][1].count("tok-") == 150,
              "mock: two messages in the run: the partial reply, then the whole new one (%s)"
              % [m[1].count("tok-") for m in msgs])
        check(len([e for e in evs if e["type"] == "run.start"]) == 1, "mock: one run")
        check(sse_text(raw) == msgs[0][1] + msgs[1][1] if len(msgs) == 2 else False,
              "mock: the client's SSE stream carried both answers' text")
        check(raw.decode().count("data: [DONE]") == 1 and raw.endswith(b"0\r\n\r\n"), "mock: one [DONE], at the end")
        types = [e["type"] for e in evs if e.get("run") == run]
        i_end = types.index("msg.end")
        check(types[i_end:i_end + 3] == ["msg.end", "msg.start", "control.ack"],
              "mock: msg.end, msg.start, control.ack in one switch (%s)" % types[i_end:i_end + 3])
        log = mock_log(mock)
        reqs = [l for l in log if l.get("event") == "request"]
        cancels = [l for l in log if l.get("event") == "cancel"]
        dones = [l for l in log if l.get("event") == "done"]
        check(len(reqs) == 2 and len(cancels) == 1 and cancels[0]["req"] == reqs[0]["req"]
              and len(dones) == 1 and dones[0]["req"] == reqs[1]["req"],
              "mock: its log shows the first call cancelled, a second one answered whole")

        # 2. A text steer against the recorder: the second request's messages end with the partial
        # reply (assistant) and the steer text (user); the rest of the request unchanged.
        c, r = post(srv, "/llm/rec/v1/chat/completions", chat("rec-300", "count"), {"X-Dsx-Session": "s/text"})
        run = r.getheader("X-Dsx-Run")
        raw = read_until_text(r, 3)
        post_event(srv, "s/text", {"type": "control.steer", "run": run, "id": "k-t1", "data": {"text": "in French"}})
        raw += r.fp.read()
        c.close()
        evs, end = wait_run_end(srv, "s/text", run)
        msgs = msgs_of(evs, run)
        sent = bodies("/oai/")
        check(len(sent) == 2, "text: two upstream calls (%d)" % len(sent))
        if len(sent) == 2 and len(msgs) == 2:
            m2 = sent[1]["messages"]
            check(m2[:2] == sent[0]["messages"] and m2[2] == {"role": "assistant", "content": msgs[0][1]}
                  and m2[3] == {"role": "user", "content": "in French"} and len(m2) == 4,
                  "text: 2nd request = messages + partial assistant text + steer text")
            check(sent[1]["temperature"] == 0.9 and sent[1]["model"] == "rec-300" and sent[1]["stream"] is True,
                  "text: the rest of the request unchanged")
            check(msgs[1][1] == "again1 again2 again3 again4 again5 " and sse_text(raw) == msgs[0][1] + msgs[1][1],
                  "text: the new answer in a new message and in the client's stream")
        check(end is not None and end["data"]["reason"] == "done", "text: run.end done")
        ack = wait_ack(srv, "s/text", "k-t1")
        check(ack is not None and ack["data"]["outcome"] == "applied", "text: acked applied")

        # 3. A json steer: temperature changes in the second request.
        c, r = post(srv, "/llm/rec/v1/chat/completions", chat("rec-300", "warm"), {"X-Dsx-Session": "s/json"})
        run = r.getheader("X-Dsx-Run")
        read_until_text(r, 3)
        post_event(srv, "s/json", {"type": "control.steer", "run": run, "id": "k-j1",
                                   "data": {"json": {"temperature": 0.1, "seed": 7}}})
        r.fp.read()
        c.close()
        evs, end = wait_run_end(srv, "s/json", run)
        sent = bodies("/oai/")[2:]
        check(len(sent) == 2 and sent[1]["temperature"] == 0.1 and sent[1]["seed"] == 7
              and sent[0]["temperature"] == 0.9, "json: the 2nd request has temperature 0.1, seed 7")
        check(len(sent) == 2 and sent[1]["messages"][-1]["role"] == "assistant",
              "json: the 2nd request continues from the partial reply")
        ack = wait_ack(srv, "s/json", "k-j1")
        check(ack is not None and ack["data"]["outcome"] == "applied", "json: acked applied")
        check(end is not None and end["data"]["reason"] == "done", "json: run.end done")

        # 4. A json steer with a field the proxy does not steer: rejected, the call goes on.
        c, r = post(srv, "/llm/rec/v1/chat/completions", chat("rec-200", "keep"), {"X-Dsx-Session": "s/bad"})
        run = r.getheader("X-Dsx-Run")
        read_until_text(r, 3)
        post_event(srv, "s/bad", {"type": "control.steer", "run": run, "id": "k-b1",
                                  "data": {"json": {"model": "gpt-big"}}})
        ack = wait_ack(srv, "s/bad", "k-b1")
        raw = r.fp.read()
        c.close()
        evs, end = wait_run_end(srv, "s/bad", run)
        check(ack is not None and ack["data"]["outcome"] == "rejected" and "'model'" in ack["data"].get("reason", ""),
              "bad field: rejected naming the field (%s)" % (ack or {}).get("data"))
        check(len(bodies("/oai/")) == 5 and len(msgs_of(evs, run)) == 1 and run_text(evs, run).count("w") == 200,
              "bad field: the call went on untouched (one call, 200 tokens)")
        check(end is not None and end["data"]["reason"] == "done", "bad field: run.end done")

        # 5. A steer after the reply is complete: rejected.
        st, ans = post_event(srv, "s/bad", {"type": "control.steer", "run": run, "id": "k-late", "data": {"text": "more"}})
        ack = wait_ack(srv, "s/bad", "k-late")
        check(ack is not None and ack["data"]["outcome"] == "rejected", "late: a steer after the reply is rejected (%s)"
              % (ack or {}).get("data"))
        check(len(bodies("/oai/")) == 5, "late: no new upstream call")

        # 5b. A steer after the upstream sent its end marker, before the run ended: rejected, "the
        # reply is complete" (the upstream holds its response open until the ack is there).
        c, r = post(srv, "/llm/rec/v1/chat/completions", chat("hold-4", "hold"), {"X-Dsx-Session": "s/hold"})
        run = r.getheader("X-Dsx-Run")
        # The last token and [DONE] come in one write: once the client has the last token, the
        # proxy has parsed [DONE] too (a frame is sent after its event is stored).
        read_until_text(r, 4)
        post_event(srv, "s/hold", {"type": "control.steer", "run": run, "id": "k-h1", "data": {"text": "more"}})
        ack = wait_ack(srv, "s/hold", "k-h1")
        HOLD.set()
        r.fp.read()
        c.close()
        evs, endev = wait_run_end(srv, "s/hold", run)
        check(ack is not None and ack["data"] == {"outcome": "rejected", "reason": "the reply is complete"},
              "complete: a steer after the upstream's end marker is rejected (%s)" % (ack or {}).get("data"))
        check(len(bodies("/oai/")) == 6 and endev is not None and endev["data"]["reason"] == "done"
              and len(msgs_of(evs, run)) == 1, "complete: no new call, the run ends done with one message")

        # 6. Cancel after a steer: the run ends cancelled; the steer stays applied.
        c, r = post(srv, "/llm/v1/chat/completions", {"model": "dsx-mock", "stream": True,
                                                       "messages": [{"role": "user", "content": "x"}]},
                    {"X-Dsx-Session": "s/cancel"})
        run = r.getheader("X-Dsx-Run")
        read_until_text(r, 2)
        post_event(srv, "s/cancel", {"type": "control.steer", "run": run, "id": "k-c1", "data": {"text": "go on"}})
        ack = wait_ack(srv, "s/cancel", "k-c1")
        check(ack is not None and ack["data"]["outcome"] == "applied", "cancel: the steer applied first")
        post_event(srv, "s/cancel", {"type": "control.cancel", "run": run, "id": "k-c2"})
        rest = r.fp.read().decode()
        c.close()
        evs, end = wait_run_end(srv, "s/cancel", run)
        cack = [e for e in evs if e["type"] == "control.ack" and e.get("id") == "k-c2"]
        check(end is not None and end["data"]["reason"] == "cancelled" and cack and cack[0]["data"]["outcome"] == "applied",
              "cancel: after a steer the run ends cancelled, cancel acked applied")
        check("data: [DONE]" in rest, "cancel: the client's stream ends")
        msgs = msgs_of(evs, run)
        check(len(msgs) == 2 and msgs[1][1].count("tok-") < 150, "cancel: the second message is partial too")

        # 7. Anthropic: the same, with the Messages API's shape; one message_start reaches the client.
        c, r = post(srv, "/llm/anth/v1/messages", {"model": "rec-300", "max_tokens": 100, "stream": True,
                                                   "messages": [{"role": "user", "content": "hi claude"}]},
                    {"X-Dsx-Session": "s/anth", "x-api-key": t.API_KEY, "anthropic-version": "2023-06-01"})
        run = r.getheader("X-Dsx-Run")
        raw = read_until_text(r, 3)
        post_event(srv, "s/anth", {"type": "control.steer", "run": run, "id": "k-a1",
                                   "data": {"text": "shorter", "json": {"max_tokens": 20}}})
        raw += r.fp.read()
        c.close()
        evs, end = wait_run_end(srv, "s/anth", run)
        msgs = msgs_of(evs, run)
        sent = bodies("/anth/")
        check(len(sent) == 2 and len(msgs) == 2 and sent[1]["messages"][1:] ==
              [{"role": "assistant", "content": msgs[0][1]}, {"role": "user", "content": "shorter"}]
              and sent[1]["max_tokens"] == 20, "anthropic: 2nd request = messages + partial + steer, max_tokens 20")
        text = raw.decode()
        check(text.count("event: message_start") == 1 and text.count("event: message_stop") == 1,
              "anthropic: the client sees one message_start and one message_stop")
        check(len(msgs) == 2 and sse_text(raw, anth=True) == msgs[0][1] + msgs[1][1],
              "anthropic: the client's stream carried both answers' text")
        check(end is not None and end["data"]["reason"] == "done", "anthropic: run.end done")

        # 8. The run's lease (15 s) is renewed across calls: a steered run that streams for longer
        # than the lease still ends done (a lost lease would end it agent_lost).
        c, r = post(srv, "/llm/rec/v1/chat/completions", chat("long-900", "long"), {"X-Dsx-Session": "s/lease"})
        run = r.getheader("X-Dsx-Run")
        read_until_text(r, 3)
        post_event(srv, "s/lease", {"type": "control.steer", "run": run, "id": "k-l1", "data": {"text": "continue"}})
        raw = r.fp.read()
        c.close()
        evs, end = wait_run_end(srv, "s/lease", run)
        msgs = msgs_of(evs, run)
        starts = [e for e in evs if e["type"] == "run.start" and e.get("run") == run]
        took_ms = end["ts"] - starts[0]["ts"] if end is not None and starts else 0
        check(end is not None and end["data"]["reason"] == "done" and len(msgs) == 2
              and msgs[1][1].count("again") == 900 and took_ms > 15000,
              "lease: a steered run longer than its lease (%d ms) ends done with both messages (%s, %s)"
              % (took_ms, (end or {}).get("data"), [m[1].count(" ") for m in msgs]))
    finally:
        for p in t.PROCS:
            if p.poll() is None:
                p.terminate()
        for p in t.PROCS:
            try:
                p.wait(10)
            except Exception:
                p.kill()
        rec.shutdown()
    if t.FAILED:
        print("%d check(s) failed: %s" % (len(t.FAILED), "; ".join(t.FAILED)))
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()

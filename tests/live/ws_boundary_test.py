"""Issue 11 on a real socket: WebSocket frames of the wrong shape or too deep are answered with
an error and the server lives on; an in-band token refresh with rights elsewhere ends the
subscription (and a re-subscribe) instead of delivering on.
    ws_boundary_test.py DSX {wrong_types|refresh_rights}"""
import os
import subprocess
import sys
import tempfile
import time

from harness import Server, WebSocket, request

DSX = sys.argv[1]


class Ws(WebSocket):
    def send_text(self, text):
        """One masked text frame with exactly this payload (send() takes a JSON value)."""
        payload = text.encode()
        mask = os.urandom(4)
        n = len(payload)
        hdr = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + n.to_bytes(2, "big")
                               if n < 65536 else bytes([0x80 | 127]) + n.to_bytes(8, "big"))
        self.sock.sendall(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))


def test_wrong_types():
    s = Server(DSX).start()
    try:
        assert request(s.url + "/v1/session/work/s1", "PUT")[0] == 201
        ws = Ws(s.url, "/v1/session/work/s1/ws")
        ws.recv_until(lambda f: f["op"] == "hello")
        bad = [
            {"op": "heartbeat", "req": 1, "run": 5},
            {"op": "heartbeat", "req": 2, "run": "r-1", "state": 5},
            {"op": "subscribe", "req": 3, "mode": 5},
            {"op": "subscribe", "req": 4, "lanes": [1]},
            {"op": "subscribe", "req": 5, "credit": "8"},
            {"op": "presence", "req": 6, "state": 5},
            {"op": "credit", "req": 7, "n": 9223372036854775807},  # valid: capped, not overflowed
            {"op": "append", "req": 8, "event": {"type": "run.start", "data": {"takeover": "yes"}}},
        ]
        for i, frame in enumerate(bad):
            ws.send(frame)
            if frame["op"] == "credit":
                continue  # no ack for credit
            a, _ = ws.recv_until(lambda f: f["op"] == "ack" and f.get("req") == frame["req"])
            assert a["status"] == 400, (frame, a)
        deep = '{"op":"ping","req":' + "[" * 100000 + "]" * 100000 + "}"
        ws.send_text(deep)
        e, _ = ws.recv_until(lambda f: f["op"] == "error")
        assert e["status"] == 400 and "nested deeper than 64" in e["error"], e
        ws.send({"op": "ping", "req": "p"})
        ws.recv_until(lambda f: f["op"] == "pong")
        st, _ = request(s.url + "/v1/session/work/s1")
        assert st == 200 and s.proc.poll() is None, "server died"
        print("wrong_types: %d bad frames and a 100,000-deep frame answered 400, socket and server alive" % len(bad))
    finally:
        s.stop()


def test_refresh_rights():
    tmp = tempfile.mkdtemp(prefix="dsx-ws-")
    key = os.path.join(tmp, "key")
    open(key, "w").write("k" * 40 + "\n")
    s = Server(DSX, ["--auth-key-file", key]).start()

    def tok(sub, rights, session, ttl="1h"):
        p = subprocess.run([DSX, "session", "token", "--auth-key-file", key, "--sub", sub, "--rights", rights,
                            "--session", session, "--ttl", ttl], capture_output=True, text=True, timeout=30)
        return p.stdout.strip().splitlines()[-1]
    try:
        root = tok("root", "admin", "*")
        assert request(s.url + "/v1/session/work/s1", "PUT", token=root)[0] == 201
        post = lambda text: request(s.url + "/v1/session/work/s1/events", "POST",
                                    {"type": "user.message", "data": {"text": text}}, token=root)[0]
        assert post("before") == 200
        ws = Ws(s.url, "/v1/session/work/s1/ws", token=tok("alice", "read", "work/*", "20s"))
        ws.recv_until(lambda f: f["op"] == "hello")
        ws.send({"op": "subscribe", "req": "s", "offset": "-1"})
        ws.recv_until(lambda f: f["op"] == "events")
        # Same sub, rights only on other/*: accepted as a token, but work/s1 is no longer readable.
        ws.send({"op": "auth", "req": "r", "token": tok("alice", "read,admin", "other/*")})
        a, seen = ws.recv_until(lambda f: f["op"] == "ack" and f.get("req") == "r")
        assert a["status"] == 200, a
        ended = [f for f in seen if f["op"] == "error"]
        assert ended and ended[0]["status"] == 403 and "lacks 'read' on 'work/s1'" in ended[0]["error"], seen
        assert post("after") == 200
        ws.send({"op": "subscribe", "req": "s2", "offset": "-1"})
        a, seen = ws.recv_until(lambda f: f["op"] == "ack" and f.get("req") == "s2")
        assert a["status"] == 403, a
        ws.send({"op": "ping", "req": "p"})
        _, seen2 = ws.recv_until(lambda f: f["op"] == "pong")
        leaked = [f for f in seen + seen2 if f["op"] in ("events", "snapshot")]
        assert not leaked, leaked
        print("refresh_rights: a same-sub token with rights on other/* ends the work/s1 subscription (403 error frame), "
              "re-subscribe answered 403, nothing delivered after")
    finally:
        s.stop()


if __name__ == "__main__":
    {"wrong_types": test_wrong_types, "refresh_rights": test_refresh_rights}[sys.argv[2]]()

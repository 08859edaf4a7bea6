#!/usr/bin/python3
"""A local stand-in for the Hugging Face Jobs API (stdlib only), for dsx's e2e tests.

It speaks the documented API (huggingface_hub's hf_api.py and _jobs_api.py are the reference):
  GET  /api/whoami-v2                       {"name": "alice", "type": "user"}
  POST /api/jobs/<ns>                       create; the body is checked against _create_job_spec
  GET  /api/jobs/<ns>/<id>                  JobInfo with status.stage
  GET  /api/jobs/<ns>/<id>/logs             SSE, data: {"data": line, "timestamp": ...}; never
                                            closes, not even after the job ends (": keep-alive")
  POST /api/jobs/<ns>/<id>/cancel           stage CANCELED
  GET  /api/jobs/hardware                   flavors with unitCostUSD per minute
Every request needs "Authorization: Bearer hf_..." (the hardware list excepted). The token picks
an error mode, so the client under test needs no special header:
  hf_revoked...     401 on every request
  hf_nocredit...    402 on create
  hf_busy...        429 (Retry-After: 1) on the first two creates, then success
  hf_throttled...   429 (Retry-After: 1) on every request
A job runs on the server's clock: SCHEDULING for FAKE_SCHEDULE_S (0.3 s), RUNNING for
FAKE_RUN_S (1.5 s) while FAKE_LINES (5) log lines appear evenly, then FAKE_FINAL_STAGE
(COMPLETED); those four (and FAKE_KEEPALIVE_S, the pause between writes on its log stream)
come from the job's own "environment" so each test sets its job's timing. Every request is appended to the --record JSON file (rewritten atomically), so tests
assert exactly what went over the wire.
"""
import argparse
import json
import os
import secrets
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FLAVORS = [
    ("cpu-basic", "CPU Basic", "2 vCPU", "16 GB", None, 167),
    ("cpu-upgrade", "CPU Upgrade", "8 vCPU", "32 GB", None, 500),
    ("t4-small", "Nvidia T4 - small", "4 vCPU", "15 GB", ("T4", "1", "16 GB"), 6667),
    ("a10g-large", "Nvidia A10G - large", "12 vCPU", "46 GB", ("A10G", "1", "24 GB"), 25000),
    ("a10g-largex2", "2x Nvidia A10G - large", "24 vCPU", "92 GB", ("A10G", "2", "48 GB"), 50000),
    ("a100-large", "Nvidia A100 - large", "12 vCPU", "142 GB", ("A100", "1", "80 GB"), 41667),
    ("h200", "Nvidia H200", "23 vCPU", "256 GB", ("H200", "1", "141 GB"), 83333),
]
FLAVOR_NAMES = {f[0] for f in FLAVORS}
SPEC_KEYS = {"command", "arguments", "environment", "flavor", "secrets", "timeoutSeconds", "labels",
             "volumes", "dockerImage", "spaceId", "expose", "ssh", "resourceGroupId"}
TERMINAL = {"COMPLETED", "CANCELED", "ERROR", "DELETED"}


def now_iso():
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Job:
    def __init__(self, ns, spec):
        self.id = secrets.token_hex(12)
        self.ns = ns
        self.spec = spec
        self.created = time.monotonic()
        env = spec.get("environment", {})
        self.schedule_s = float(env.get("FAKE_SCHEDULE_S", "0.3"))
        self.run_s = float(env.get("FAKE_RUN_S", "1.5"))
        self.lines = int(env.get("FAKE_LINES", "5"))
        self.final = env.get("FAKE_FINAL_STAGE", "COMPLETED")
        # Seconds between writes on this job's log stream (default: the server's --keepalive); a
        # long one makes the stream go silent, as the real one does between its 30 s keep-alives.
        self.keepalive_s = float(env["FAKE_KEEPALIVE_S"]) if "FAKE_KEEPALIVE_S" in env else None
        self.cancelled_at = None

    def stage(self):
        if self.cancelled_at is not None:
            return "CANCELED"
        t = time.monotonic() - self.created
        if t < self.schedule_s:
            return "SCHEDULING"
        if t < self.schedule_s + self.run_s:
            return "RUNNING"
        return self.final

    def log_lines(self):
        """The lines written so far: a start banner, then step lines spread over the run."""
        t = time.monotonic() - self.created - self.schedule_s
        if self.cancelled_at is not None:
            t = min(t, self.cancelled_at - self.created - self.schedule_s)
        if t < 0:
            return []
        out = ["===== Job started at %s =====" % now_iso()[:19]]
        for i in range(self.lines):
            if t >= self.run_s * (i + 1) / (self.lines + 1):
                out.append("step %d/%d" % (i + 1, self.lines))
        if self.stage() == "COMPLETED":
            out.append("done")
        return out

    def info(self):
        stage = self.stage()
        message = "Job failed with exit code: 1" if stage == "ERROR" else None
        spec = self.spec
        return {
            "id": self.id,
            "createdAt": now_iso(),
            "dockerImage": spec.get("dockerImage"),
            "spaceId": spec.get("spaceId"),
            "command": spec["command"],
            "arguments": spec.get("arguments", []),
            "environment": spec.get("environment", {}),
            "secrets": {k: "***" for k in spec.get("secrets", {})},  # never echoed back
            "flavor": spec["flavor"],
            "labels": spec.get("labels"),
            "status": {"stage": stage, "message": message},
            "owner": {"id": "u-" + self.ns, "name": self.ns, "type": "user"},
        }


def check_spec(body):
    """The reasons a body is not what _create_job_spec would send, or None."""
    if not isinstance(body, dict):
        return "the body must be a JSON object"
    unknown = set(body) - SPEC_KEYS
    if unknown:
        return "unknown fields: %s" % ", ".join(sorted(unknown))
    cmd = body.get("command")
    if not isinstance(cmd, list) or not cmd or not all(isinstance(c, str) for c in cmd):
        return "command must be a non-empty list of strings"
    if not isinstance(body.get("arguments"), list):
        return "arguments must be a list"
    for key in ("environment", "secrets", "labels"):
        v = body.get(key, {})
        if not isinstance(v, dict) or not all(isinstance(k, str) and isinstance(x, str) for k, x in v.items()):
            return "%s must map strings to strings" % key
    if body.get("flavor") not in FLAVOR_NAMES:
        return "unknown flavor %r" % body.get("flavor")
    t = body.get("timeoutSeconds")
    if t is not None and (not isinstance(t, int) or isinstance(t, bool) or t <= 0):
        return "timeoutSeconds must be a positive integer"
    if ("dockerImage" in body) == ("spaceId" in body):
        return "exactly one of dockerImage and spaceId"
    return None


class State:
    def __init__(self, record_path, keepalive_s):
        self.lock = threading.Lock()
        self.jobs = {}
        self.requests = []
        self.record_path = record_path
        self.keepalive_s = keepalive_s
        self.busy_creates = {}

    def record(self, entry):
        with self.lock:
            self.requests.append(entry)
            if self.record_path:
                tmp = self.record_path + ".tmp"
                with open(tmp, "w") as f:
                    json.dump(self.requests, f, indent=1)
                os.replace(tmp, self.record_path)


class Handler(BaseHTTPRequestHandler):
    server_version = "FakeHfJobs/1"

    def log_message(self, fmt, *args):  # quiet: tests read the record file instead
        pass

    @property
    def state(self):
        return self.server.state

    def reply(self, code, obj, headers=None):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def token(self):
        auth = self.headers.get("Authorization", "")
        return auth[len("Bearer "):] if auth.startswith("Bearer ") else None

    def handle_any(self, method):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = {"__unparsed__": raw.decode("utf-8", "replace")}
        self.state.record({"method": method, "path": self.path, "headers": dict(self.headers.items()),
                           "body": body})
        parts = [p for p in self.path.split("?")[0].split("/") if p]
        if method == "GET" and parts == ["api", "jobs", "hardware"]:
            return self.hardware()
        token = self.token()
        if not token or not token.startswith("hf_"):
            return self.reply(401, {"error": "Invalid username or password."})
        if token.startswith("hf_revoked"):
            return self.reply(401, {"error": "Invalid credentials in Authorization header"})
        if token.startswith("hf_throttled"):
            return self.reply(429, {"error": "Too many requests"}, {"Retry-After": "1"})
        if method == "GET" and parts == ["api", "whoami-v2"]:
            return self.reply(200, {"name": "alice", "type": "user", "fullname": "Alice"})
        if len(parts) >= 3 and parts[:2] == ["api", "jobs"]:
            ns = parts[2]
            if len(parts) == 3 and method == "POST":
                return self.create(ns, token, body)
            job = self.state.jobs.get(parts[3]) if len(parts) >= 4 else None
            if job is None or job.ns != ns:
                return self.reply(404, {"error": "Job not found"})
            if len(parts) == 4 and method == "GET":
                return self.reply(200, job.info())
            if len(parts) == 5 and parts[4] == "logs" and method == "GET":
                return self.logs(job)
            if len(parts) == 5 and parts[4] == "cancel" and method == "POST":
                with self.state.lock:
                    if job.stage() not in TERMINAL:
                        job.cancelled_at = time.monotonic()
                return self.reply(200, {})
        return self.reply(404, {"error": "Not found"})

    def create(self, ns, token, body):
        if token.startswith("hf_nocredit"):
            return self.reply(402, {"error": "Payment required: add credits to run Jobs"})
        if token.startswith("hf_busy"):
            with self.state.lock:
                n = self.state.busy_creates.get(token, 0)
                self.state.busy_creates[token] = n + 1
            if n < 2:
                return self.reply(429, {"error": "Too many requests"}, {"Retry-After": "1"})
        if self.headers.get("Content-Type") != "application/json":
            return self.reply(400, {"error": "Content-Type must be application/json"})
        why = check_spec(body)
        if why:
            return self.reply(400, {"error": why})
        job = Job(ns, body)
        with self.state.lock:
            self.state.jobs[job.id] = job
        return self.reply(200, job.info())

    def hardware(self):
        out = []
        for name, pretty, cpu, ram, acc, micro in FLAVORS:
            out.append({"name": name, "prettyName": pretty, "cpu": cpu, "ram": ram, "ephemeralStorage": "50 GB",
                        "accelerator": None if acc is None else {"type": "gpu", "model": acc[0], "quantity": acc[1],
                                                                 "vram": acc[2], "manufacturer": "Nvidia"},
                        "unitCostMicroUSD": micro, "unitCostUSD": micro / 1e6, "unitLabel": "minute"})
        return self.reply(200, out)

    def logs(self, job):
        # Like the real endpoint: replays from the first line, then follows, and never closes.
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        sent = 0
        try:
            while not self.server.stopping:
                lines = job.log_lines()
                for line in lines[sent:]:
                    event = {"data": line, "timestamp": now_iso()}
                    self.wfile.write(("data: %s\n\n" % json.dumps(event)).encode())
                sent = max(sent, len(lines))
                self.wfile.write(b": keep-alive\n\n")
                self.wfile.flush()
                time.sleep(job.keepalive_s if job.keepalive_s is not None else self.state.keepalive_s)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", help="write the bound port here once listening")
    ap.add_argument("--record", help="JSON file of every request received")
    ap.add_argument("--keepalive", type=float, default=0.3, help="seconds between keep-alive comments")
    args = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True  # log streams never end on their own
    server.state = State(args.record, args.keepalive)
    server.stopping = False
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(str(server.server_address[1]))
        os.replace(tmp, args.port_file)
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        server.stopping = True
        server.server_close()


if __name__ == "__main__":
    main()

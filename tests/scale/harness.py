"""Harness for the scale-out tests (issue 16): real redis-server / redis-sentinel / Redis Cluster
and several `dsx session serve --store redis...` nodes on free loopback ports, each with its own
temp dir. Python 3 stdlib only (run with /usr/bin/python3).

Everything started here is registered and killed at exit (atexit, and a parent-death signal so a
test killed by CTest's timeout takes its servers with it). Waits poll with deadlines; no fixed
sleep is ever an assertion.

Skipping: only when the Redis binaries are absent (exit 77, CTest SKIP_RETURN_CODE), with a
message. Anything else that goes wrong raises.
"""
import atexit
import ctypes
import http.client as httpclient
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
SKIP = 77

# The live-session helpers (all_events, texts, SseReader, WebSocket, request, wait_for) are reused.
_spec = importlib.util.spec_from_file_location("live_harness", os.path.join(HERE, "..", "live", "harness.py"))
live = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(live)
request = live.request
all_events = live.all_events
texts = live.texts
SessionSse = live.SseReader
WebSocket = live.WebSocket

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
REDIS_CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"
REDIS_SENTINEL = shutil.which("redis-sentinel") or "/usr/bin/redis-sentinel"


def require_redis(sentinel=False):
    need = [REDIS_SERVER, REDIS_CLI] + ([REDIS_SENTINEL] if sentinel else [])
    missing = [b for b in need if not os.access(b, os.X_OK)]
    if missing:
        print("SKIP: Redis binaries absent (%s); install redis-server redis-tools redis-sentinel "
              "(scripts/deps/scale.apt)" % ", ".join(missing))
        sys.exit(SKIP)


def log(msg):
    print("[%.3f] %s" % (time.time() % 1000, msg), flush=True)


class Fatal(AssertionError):
    """Raised inside a wait_for predicate: fail at once instead of polling on (a process died)."""


def wait_for(pred, timeout, what, interval=0.05):
    """Poll pred() until it returns a truthy value (returned) or raise after timeout seconds.
    Exceptions other than Fatal count as 'not yet' (the last one is reported)."""
    deadline = time.time() + timeout
    last_exc = None
    while True:
        try:
            v = pred()
            if v:
                return v
        except Fatal:
            raise
        except Exception as e:  # noqa: BLE001 - kept for the message
            last_exc = e
        if time.time() >= deadline:
            raise AssertionError("timed out after %.1f s waiting for %s%s" % (
                timeout, what, (" (last error: %r)" % last_exc) if last_exc else ""))
        time.sleep(interval)


def free_port(also_plus=None):
    """A free loopback port (bind port 0). also_plus: also require port+also_plus to be free."""
    for _ in range(200):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        if also_plus is None:
            return port
        if port + also_plus < 65536:
            t = socket.socket()
            try:
                t.bind(("127.0.0.1", port + also_plus))
                return port
            except OSError:
                pass
            finally:
                t.close()
    raise RuntimeError("no free port")


# ---------------------------------------------------------------- process registry

_PROCS = []
_TMPDIRS = []
_libc = ctypes.CDLL(None, use_errno=True)


def _die_with_parent():
    _libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def spawn(argv, logpath, **kw):
    f = open(logpath, "ab")
    p = subprocess.Popen(argv, stdout=f, stderr=f, stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent, **kw)
    f.close()
    _PROCS.append(p)
    return p


def popen(argv, **kw):
    """A client process (dsx session tail/publish/run) registered for cleanup."""
    p = subprocess.Popen(argv, preexec_fn=_die_with_parent, **kw)
    _PROCS.append(p)
    return p


def tmpdir(prefix):
    d = tempfile.mkdtemp(prefix=prefix)
    _TMPDIRS.append(d)
    return d


def cleanup():
    for p in reversed(_PROCS):
        if p.poll() is None:
            try:
                p.kill()
            except OSError:
                pass
    for p in _PROCS:
        try:
            p.wait(5)
        except Exception:  # noqa: BLE001
            pass
    if os.environ.get("DSX_SCALE_KEEP"):
        print("kept temp dirs: " + " ".join(_TMPDIRS))
    else:
        for d in _TMPDIRS:
            shutil.rmtree(d, ignore_errors=True)


atexit.register(cleanup)


def _on_term(signum, frame):
    sys.exit(128 + signum)  # runs atexit


signal.signal(signal.SIGTERM, _on_term)


def tail_file(path, n=30):
    try:
        return "".join(open(path, errors="replace").readlines()[-n:])
    except OSError:
        return ""


# ---------------------------------------------------------------- a tiny RESP client

def resp(port, *args, timeout=2.0, host="127.0.0.1"):
    """Send one command, return the decoded reply (errors raise RuntimeError)."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        s.sendall(out)
        f = s.makefile("rb")
        return _read_reply(f)


def resp_auth(port, password, *args, timeout=2.0):
    """AUTH then one command on one connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        out = b""
        for cmd in (("AUTH", password), args):
            out += b"*%d\r\n" % len(cmd)
            for a in cmd:
                a = str(a).encode()
                out += b"$%d\r\n%s\r\n" % (len(a), a)
        s.sendall(out)
        f = s.makefile("rb")
        _read_reply(f)
        return _read_reply(f)


def _read_reply(f):
    line = f.readline()
    if not line:
        raise ConnectionError("connection closed")
    t, rest = line[:1], line[1:-2]
    if t == b"+":
        return rest.decode()
    if t == b"-":
        raise RuntimeError(rest.decode())
    if t == b":":
        return int(rest)
    if t == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)[:-2]
        return data.decode(errors="replace")
    if t == b"*":
        n = int(rest)
        return None if n < 0 else [_read_reply(f) for _ in range(n)]
    raise RuntimeError("bad RESP reply %r" % line)


def info(port, section=""):
    text = resp(port, "INFO", section) if section else resp(port, "INFO")
    d = {}
    for line in text.splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            d[k] = v
    return d


def command_calls(port, command):
    """How many times Redis ran `command` (INFO commandstats; 0 if never)."""
    for line in resp(port, "INFO", "commandstats").splitlines():
        if line.startswith("cmdstat_%s:" % command.lower()):
            return int(line.split("calls=", 1)[1].split(",", 1)[0])
    return 0


# ---------------------------------------------------------------- Redis

class Redis:
    """One redis-server on a free loopback port with its own dir (AOF on, appendfsync always,
    no RDB snapshots). restart() comes back on the same port with the same dir."""

    def __init__(self, extra=(), name="redis", port=None, dir=None, aof=True, cluster=False):
        self.name = name
        self.extra = list(extra)
        self.cluster = cluster
        self.port = port or free_port()
        self.bus_port = None
        if cluster:
            self.bus_port = free_port()
        self.dir = dir or tmpdir("dsx-scale-%s-" % name)
        self.aof = aof
        self.proc = None
        self.log = os.path.join(self.dir, "redis.log")

    @property
    def url(self):
        return "redis://127.0.0.1:%d" % self.port

    def argv(self):
        a = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
             "--save", "", "--daemonize", "no", "--protected-mode", "no", "--logfile", ""]
        if self.aof:
            a += ["--appendonly", "yes", "--appendfsync", "always"]
        if self.cluster:
            a += ["--cluster-enabled", "yes", "--cluster-config-file", os.path.join(self.dir, "nodes.conf"),
                  "--cluster-node-timeout", "3000", "--cluster-port", str(self.bus_port)]
        return a + self.extra

    password = None

    def start_auth(self, password, timeout=20):
        """start() for a Redis with requirepass: the harness's own commands authenticate."""
        self.password = password
        return self.start(timeout)

    def start(self, timeout=20):
        self.proc = spawn(self.argv(), self.log)
        wait_for(self._ready, timeout, "%s on port %d to answer PING (log: %s)" % (self.name, self.port, self.log))
        return self

    def _ready(self):
        if self.proc.poll() is not None:
            raise Fatal("%s exited %s:\n%s" % (self.name, self.proc.returncode, tail_file(self.log)))
        try:
            if self.password:
                return resp_auth(self.port, self.password, "PING") == "PONG"
            if resp(self.port, "PING") != "PONG":
                return False
            # Still loading the AOF after a restart: PING answers, commands say LOADING.
            return info(self.port, "persistence").get("loading") == "0"
        except (OSError, RuntimeError):
            return False

    def cmd(self, *args):
        return resp(self.port, *args)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill9(self):
        log("SIGKILL %s (port %d)" % (self.name, self.port))
        self.proc.kill()
        self.proc.wait()

    def stop(self):
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def restart(self, extra=None):
        if self.alive():
            self.stop()
        if extra is not None:
            self.extra = list(extra)
        log("restart %s on port %d" % (self.name, self.port))
        return self.start()


class SentinelSet:
    """A primary, `replicas` replicas (AOF on each) and 3 redis-sentinel processes monitoring
    master name `master` (down-after 1000 ms, failover-timeout 3000 ms, quorum 2)."""

    def __init__(self, replicas=1, master="mymaster", sentinels=3):
        require_redis(sentinel=True)
        self.master = master
        self.primary = Redis(name="primary").start()
        self.replicas = []
        for i in range(replicas):
            r = Redis(name="replica%d" % i, extra=["--replicaof", "127.0.0.1", str(self.primary.port)]).start()
            self.replicas.append(r)
        wait_for(lambda: all(info(r.port, "replication").get("master_link_status") == "up" for r in self.replicas),
                 20, "replicas linked to the primary")
        self.sentinels = []
        for i in range(sentinels):
            port = free_port()
            d = tmpdir("dsx-scale-sentinel%d-" % i)
            conf = os.path.join(d, "sentinel.conf")
            with open(conf, "w") as f:
                f.write("port %d\nbind 127.0.0.1\nprotected-mode no\ndir %s\ndaemonize no\n"
                        "sentinel monitor %s 127.0.0.1 %d 2\n"
                        "sentinel down-after-milliseconds %s 1000\n"
                        "sentinel failover-timeout %s 3000\n"
                        "sentinel parallel-syncs %s 1\n" % (port, d, master, self.primary.port, master, master, master))
            proc = spawn([REDIS_SENTINEL, conf], os.path.join(d, "sentinel.log"))
            self.sentinels.append((port, proc, d))
        for port, proc, d in self.sentinels:
            wait_for(lambda: self._sentinel_ready(port, proc, d), 30,
                     "sentinel %d to see the replica(s) and the other sentinels" % port)
        log("sentinel set: primary %d, replicas %s, sentinels %s" % (
            self.primary.port, [r.port for r in self.replicas], [s[0] for s in self.sentinels]))

    def _sentinel_ready(self, port, proc, d):
        if proc.poll() is not None:
            raise Fatal("sentinel exited:\n" + tail_file(os.path.join(d, "sentinel.log")))
        try:
            reps = resp(port, "SENTINEL", "REPLICAS", self.master)
            sens = resp(port, "SENTINEL", "SENTINELS", self.master)
        except (OSError, RuntimeError):
            return False
        return len(reps) >= len(self.replicas) and len(sens) >= len(self.sentinels) - 1

    @property
    def url(self):
        return "redis+sentinel://%s/%s" % (",".join("127.0.0.1:%d" % s[0] for s in self.sentinels), self.master)

    def master_port(self):
        """The primary's port as the sentinels' majority reports it."""
        votes = {}
        for port, _, _ in self.sentinels:
            try:
                addr = resp(port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.master)
                votes[int(addr[1])] = votes.get(int(addr[1]), 0) + 1
            except (OSError, RuntimeError, TypeError):
                pass
        best = max(votes.items(), key=lambda kv: kv[1]) if votes else (None, 0)
        return best[0] if best[1] >= 2 else None

    def by_port(self, port):
        for r in [self.primary] + self.replicas:
            if r.port == port:
                return r
        return None

    def wait_failover(self, old_port, timeout=30):
        new = wait_for(lambda: (lambda p: p if p and p != old_port else None)(self.master_port()), timeout,
                       "sentinels to promote a new primary (old %d)" % old_port)
        r = self.by_port(new)
        wait_for(lambda: info(r.port, "replication").get("role") == "master", timeout,
                 "port %d to become master" % new)
        log("failover: new primary on port %d" % new)
        return r


class Cluster:
    """A Redis Cluster of `masters` masters, no replicas, created with redis-cli --cluster create."""

    def __init__(self, masters=3):
        require_redis()
        self.nodes = [Redis(name="cluster%d" % i, cluster=True).start() for i in range(masters)]
        out = subprocess.run([REDIS_CLI, "--cluster", "create"] + ["127.0.0.1:%d" % n.port for n in self.nodes]
                             + ["--cluster-replicas", "0", "--cluster-yes"],
                             capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            raise RuntimeError("redis-cli --cluster create failed:\n" + out.stdout + out.stderr)
        wait_for(self._ok, 30, "cluster_state:ok on every node with all %d masters known" % masters)
        log("cluster: masters on ports %s" % [n.port for n in self.nodes])

    def _ok(self):
        for n in self.nodes:
            ci = {}
            for line in resp(n.port, "CLUSTER", "INFO").splitlines():
                if ":" in line:
                    k, v = line.split(":", 1)
                    ci[k] = v.strip()
            if ci.get("cluster_state") != "ok" or ci.get("cluster_known_nodes") != str(len(self.nodes)) \
                    or ci.get("cluster_slots_ok") != "16384":
                return False
        return True

    @property
    def url(self):
        return "redis+cluster://" + ",".join("127.0.0.1:%d" % n.port for n in self.nodes)

    def keys_per_node(self):
        return [int(resp(n.port, "DBSIZE")) for n in self.nodes]


def make_store(kind):
    """'standalone' -> Redis, 'cluster' -> Cluster. Returns (object, store URL)."""
    if kind == "standalone":
        require_redis()
        r = Redis().start()
        return r, r.url
    if kind == "cluster":
        c = Cluster()
        return c, c.url
    raise ValueError(kind)


# ---------------------------------------------------------------- dsx nodes

class Node:
    """`dsx session serve --store URL --listen 127.0.0.1:PORT`. The port is picked once and kept
    across restarts. The address is taken from the "dsx: listening on" line of its stderr."""

    def __init__(self, dsx, store, name="node", extra=(), port=None, env=None):
        self.dsx = os.path.abspath(dsx)
        self.env = env
        self.store = store
        self.name = name
        self.extra = list(extra)
        self.port = port or free_port()
        self.dir = tmpdir("dsx-scale-%s-" % name)
        self.log = os.path.join(self.dir, "serve.log")
        self.proc = None
        self.url = None

    def argv(self):
        return [self.dsx, "session", "serve", "--store", self.store, "--listen", "127.0.0.1:%d" % self.port,
                "--threads", "2", "--long-poll-timeout-ms", "2000"] + self.extra

    def start(self, timeout=30):
        self._log_start = os.path.getsize(self.log) if os.path.exists(self.log) else 0
        env = None
        if self.env:
            env = dict(os.environ)
            env.update(self.env)
        self.proc = spawn(self.argv(), self.log, cwd=self.dir, env=env)
        self.url = wait_for(self._listening, timeout, "%s to print 'listening on'" % self.name)
        wait_for(lambda: http_get(self.url + "/health")[0] == 200, timeout, "%s /health" % self.name)
        log("%s %s (store %s)" % (self.name, self.url, self.store))
        return self

    def _listening(self):
        if self.proc.poll() is not None:
            raise Fatal("%s exited %s at start: %s\n%s" % (self.name, self.proc.returncode,
                                                                     " ".join(self.argv()), self.log_text()))
        with open(self.log, "rb") as f:
            f.seek(self._log_start)
            for line in f.read().decode(errors="replace").splitlines():
                if line.startswith("dsx: listening on "):
                    return line[len("dsx: listening on "):].strip()
        return None

    def log_text(self, n=40):
        return tail_file(self.log, n)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def assert_alive(self):
        assert self.alive(), "%s died (exit %s):\n%s" % (self.name, self.proc.returncode, self.log_text())

    def kill9(self):
        log("SIGKILL %s %s" % (self.name, self.url))
        self.proc.kill()
        self.proc.wait()

    def stop(self):
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def nodes(dsx, store, n, extra=()):
    return [Node(dsx, store, name="node" + "ABCDEFGH"[i], extra=extra).start() for i in range(n)]


# ---------------------------------------------------------------- HTTP on /v1/stream

def http(method, url, body=None, headers=None, timeout=10):
    """One request on a fresh connection: (status, {lowercased header: value}, body bytes)."""
    u = urllib.parse.urlsplit(url)
    c = httpclient.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        path = u.path + ("?" + u.query if u.query else "")
        if isinstance(body, str):
            body = body.encode()
        c.request(method, path, body=body, headers=dict(headers or {}))
        r = c.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        c.close()


def http_get(url, timeout=10):
    try:
        return http("GET", url, timeout=timeout)
    except OSError as e:
        return 0, {}, str(e).encode()


def stream_url(base, name):
    return base + "/v1/stream/" + name


def create_stream(base, name, content_type="text/plain"):
    st, h, b = http("PUT", stream_url(base, name), headers={"Content-Type": content_type})
    assert st in (200, 201), (st, b)
    return h


def append(base, name, data, content_type="text/plain", producer=None, extra=None, timeout=10):
    """POST one append. producer: (id, epoch, seq). Returns (status, headers, body)."""
    h = {"Content-Type": content_type}
    if producer:
        h.update({"Producer-Id": producer[0], "Producer-Epoch": str(producer[1]), "Producer-Seq": str(producer[2])})
    h.update(extra or {})
    return http("POST", stream_url(base, name), body=data, headers=h, timeout=timeout)


def read_all(base, name, offset="-1"):
    """Catch-up read from offset to the tail: (bytes, next offset). Follows Stream-Next-Offset."""
    out = b""
    while True:
        st, h, b = http("GET", stream_url(base, name) + "?offset=" + offset)
        assert st == 200, (st, b[:300])
        out += b
        nxt = h.get("stream-next-offset")
        assert nxt, h
        if h.get("stream-up-to-date") == "true" or nxt == offset:
            return out, nxt
        offset = nxt


def read_json_all(base, name):
    """A JSON stream's messages, in order, following pages."""
    msgs, offset = [], "-1"
    while True:
        st, h, b = http("GET", stream_url(base, name) + "?offset=" + offset)
        assert st == 200, (st, b[:300])
        msgs += json.loads(b)
        nxt = h["stream-next-offset"]
        if h.get("stream-up-to-date") == "true" or nxt == offset:
            return msgs, nxt
        offset = nxt


class StreamSse(threading.Thread):
    """Follows /v1/stream/<name>?live=sse in a thread: collects data text and control events."""

    def __init__(self, base, name, offset="-1"):
        super().__init__(daemon=True)
        u = urllib.parse.urlsplit(base)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=10)
        self.sock.sendall(("GET /v1/stream/%s?offset=%s&live=sse HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n"
                           % (name, offset)).encode())
        self.data = ""
        self.controls = []
        self.status = None
        self.closed = False
        self.error = None
        self.lock = threading.Lock()
        self.start()

    def run(self):
        buf = b""
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                buf += chunk
                if self.status is None:
                    if b"\r\n\r\n" not in buf:
                        continue
                    head, buf = buf.split(b"\r\n\r\n", 1)
                    self.status = int(head.split(b" ")[1])
                # Chunked transfer: strip chunk-size lines lazily by parsing whole chunks.
                while True:
                    if b"\r\n" not in buf:
                        break
                    size_line, rest = buf.split(b"\r\n", 1)
                    size = int(size_line.split(b";")[0], 16)
                    if len(rest) < size + 2:
                        break
                    self._events(rest[:size])
                    buf = rest[size + 2:]
                    if size == 0:
                        return
        except OSError as e:
            self.error = e
        finally:
            self.closed = True

    _pending = b""

    def _events(self, payload):
        self._pending += payload
        while b"\n\n" in self._pending:
            block, self._pending = self._pending.split(b"\n\n", 1)
            ev, data = "message", []
            for line in block.decode(errors="replace").split("\n"):
                if line.startswith("event:"):
                    ev = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:][1:] if line[5:].startswith(" ") else line[5:])
            with self.lock:
                if ev == "data":
                    self.data += "\n".join(data)
                elif ev == "control":
                    self.controls.append(json.loads("\n".join(data)))

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# ---------------------------------------------------------------- idempotent writers

class Writer(threading.Thread):
    """One idempotent producer appending JSON messages {"w": k, "s": seq} (one per POST) to a
    JSON stream, round-robin over `bases` after a failure. Each seq is retried (same id, epoch,
    seq) until it is acknowledged (200/204) or `retry_for` seconds pass. `acked` holds the seqs
    acknowledged; `errors` every non-2xx/exception seen (for the report)."""

    def __init__(self, bases, stream, k, count, epoch=1, retry_for=60, pace=0.0):
        super().__init__(daemon=True)
        self.bases, self.stream, self.k, self.count = list(bases), stream, k, count
        self.epoch, self.retry_for, self.pace = epoch, retry_for, pace
        self.acked = []
        self.errors = []
        self.failure = None
        self.dup_acks = 0
        self.history = []  # (time, node index, seq, status, body) of the last attempts
        self.ack_info = {}  # seq -> (status, node index, attempts) of its acknowledgement

    def run(self):
        i = self.k % len(self.bases)
        pid = "writer-%d" % self.k
        for seq in range(self.count):
            body = json.dumps({"w": self.k, "s": seq})
            deadline = time.time() + self.retry_for
            while True:
                base = self.bases[i]
                try:
                    st, h, b = append(base, self.stream, body, "application/json", (pid, self.epoch, seq), timeout=15)
                except OSError as e:
                    st, h, b = 0, {}, repr(e).encode()
                self.history = (self.history + [("%.3f" % (time.time() % 1000), "node%d" % i, seq, st,
                                                 b[:120].decode(errors="replace").strip())])[-6:]
                if st in (200, 204):
                    self.acked.append(seq)
                    self.ack_info[seq] = (st, i, len([x for x in self.errors if x[0] == seq]) + 1)
                    if st == 204:
                        self.dup_acks += 1
                    break
                self.errors.append((seq, st, b[:200].decode(errors="replace")))
                if st not in (0, 502, 503, 504):
                    self.failure = "writer %d seq %d: unexpected %d %s; last attempts (time, node, seq, status, body): %r" % (
                        self.k, seq, st, b[:300], self.history)
                    return
                if time.time() > deadline:
                    self.failure = "writer %d seq %d not acknowledged within %d s; last attempts: %r" % (
                        self.k, seq, self.retry_for, self.history)
                    return
                i = (i + 1) % len(self.bases)
                time.sleep(0.05)
            if self.pace:
                time.sleep(self.pace)


def check_exactly_once(msgs, writers):
    """Every acknowledged append present exactly once; nothing present twice; per-writer order
    kept. Returns a one-line summary."""
    seen = {}
    order = {}
    for m in msgs:
        key = (m["w"], m["s"])
        seen[key] = seen.get(key, 0) + 1
        order.setdefault(m["w"], []).append(m["s"])
    dups = sorted(k for k, n in seen.items() if n > 1)
    assert not dups, "duplicated appends: %r" % dups[:20]
    missing = []
    acked_total = 0
    for w in writers:
        for s in w.acked:
            acked_total += 1
            if (w.k, s) not in seen:
                missing.append((w.k, s))
    if missing:
        byk = {w.k: w for w in writers}
        detail = ["w%d s%d acked %s via node%d after %d attempt(s), errors for it: %r" % (
            k, s_, byk[k].ack_info[s_][0], byk[k].ack_info[s_][1], byk[k].ack_info[s_][2],
            [e[1:] for e in byk[k].errors if e[0] == s_][:3]) for k, s_ in missing[:8]]
        raise AssertionError("%d acknowledged appends missing (of %d acknowledged): %r\n  %s\n  stream has for those writers: %r" % (
            len(missing), acked_total, missing[:20], "\n  ".join(detail),
            {k: order.get(k, [])[-5:] for k in sorted({m[0] for m in missing})}))
    for k, seqs in order.items():
        assert seqs == sorted(seqs), "writer %d out of order: %r" % (k, seqs[:50])
    unacked_present = len(seen) - acked_total
    return "%d acknowledged appends present exactly once (%d present, %d present but not acknowledged)" % (
        acked_total, len(seen), unacked_present)


def normalize_events(evs):
    """A session log as a reader sees it, independent of how catch-up pages merged consecutive
    msg.append fragments: every event but msg.append as is, each message's whole text, and the
    last offset."""
    out = []
    for e in evs:
        if e["type"] == "msg.append":
            if out and out[-1].get("type") == "msg.text" and out[-1]["msg"] == e["msg"]:
                out[-1]["text"] += e["data"]["text"]
                out[-1]["offset"] = e["offset"]
            else:
                out.append({"type": "msg.text", "msg": e["msg"], "text": e["data"]["text"], "offset": e["offset"]})
        else:
            out.append(e)
    return out


def assert_same_events(named):
    """named: [(node name, events)]. Fails with the first difference (fragments merged the same
    way on every side first: catch-up pages may merge consecutive msg.append events)."""
    named = [(n, normalize_events(evs)) for n, evs in named]
    base_name, base = named[0]
    for name, evs in named[1:]:
        if evs == base:
            continue
        n = min(len(evs), len(base))
        i = next((k for k in range(n) if evs[k] != base[k]), n)
        raise AssertionError("session logs differ between %s (%d events) and %s (%d events) at index %d:\n  %s: %s\n  %s: %s"
                             % (base_name, len(base), name, len(evs), i, base_name,
                                json.dumps(base[i])[:400] if i < len(base) else "(end)", name,
                                json.dumps(evs[i])[:400] if i < len(evs) else "(end)"))


def dsx_run(dsx, *args, timeout=60, check=None, input=None):
    p = subprocess.run([dsx] + list(args), capture_output=True, text=True, timeout=timeout, input=input,
                       preexec_fn=_die_with_parent)
    if check is not None and p.returncode != check:
        raise AssertionError("dsx %s: exit %d\nstdout: %s\nstderr: %s" % (" ".join(args), p.returncode, p.stdout, p.stderr))
    return p


def main(tests, argv):
    """Usage: X_test.py DSX TEST [ARG]. Runs tests[TEST](dsx, ARG)."""
    if len(argv) < 3 or argv[2] not in tests:
        print("usage: %s DSX {%s} [arg]" % (argv[0], ",".join(sorted(tests))))
        sys.exit(2)
    dsx = os.path.abspath(argv[1])
    t0 = time.time()
    try:
        tests[argv[2]](dsx, *argv[3:])
    except BaseException:
        print("FAILED after %.1f s" % (time.time() - t0), flush=True)
        raise
    print("PASSED %s %s in %.1f s" % (argv[2], " ".join(argv[3:]), time.time() - t0), flush=True)

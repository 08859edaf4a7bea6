"""dsx_agent: the Python agent client of dsx sessions (docs/protocol/sessions.md).

One file, standard library only (Python 3.9+): copy it next to your agent or
`pip install clients/python`.

    from dsx_agent import DsxAgent

    agent = DsxAgent("http://127.0.0.1:4437")          # or DSX_SERVER; token= or DSX_TOKEN
    with agent.run("chat/42", on_cancel=lambda c: stop_model()) as run:
        for piece in model_reply():
            if run.cancelled:
                break
            run.append(piece)                            # msg.append, batched, exactly once
    # the run ended 'done', 'cancelled' after a cancel, or 'error' on an exception

What it does for the agent:
  - opens a run (`run.start`: lane, lease_ms, takeover) in a session it creates if missing;
  - appends fragments (msg.start / msg.append / msg.end) from a writer thread: append() never
    waits for the network, fragments that pile up while a POST is in flight go out as one
    merged msg.append, and every POST carries idempotent producer headers, so a retried POST
    (server restart, a lost answer, another node of the list) is stored exactly once;
  - renews the lease with heartbeats from a background thread (a third of the lease);
  - follows the session's SSE from the run's start offset (reconnecting with Last-Event-ID after
    drops) and delivers control.cancel / control.steer to callbacks, to `async for` over
    run.controls(), and as run.cancelled / run.cancel_event;
  - acknowledges controls (control.ack applied / rejected): a cancel is acked 'applied' after
    on_cancel returns (auto_ack_cancel), from then on the server refuses the run's output (409
    "... was cancelled ... no more output is accepted"), which this client takes as the end of
    the reply: later appends are dropped and counted in run.dropped, not errors;
  - ends the run: done, cancelled (after a cancel), error (with the exception's text) or, from the
    server, agent_lost (RunLost).
Errors are DsxError (status = the HTTP status or None when no server answered, error = the
server's own text). The token is sent as `Authorization: Bearer` and never appears in a message,
a repr or a log line.
"""

import asyncio
import http.client
import json as _json
import os
import secrets
import socket
import threading
import time
import urllib.parse

__version__ = "0.1.0"
__all__ = ["DsxAgent", "Run", "Control", "DsxError", "DsxUnavailable", "RunLost", "RunCancelled"]

DEFAULT_SERVER = "http://127.0.0.1:4437"
_MAX_FRAGMENT_CHARS = 64 * 1024  # one msg.append (a draft may hold 1 MiB; 64 Ki chars is at most 256 KiB)
_MAX_BATCH_BYTES = 512 * 1024  # one POST (the server's default body limit is 1 MiB)
_MAX_SSE_EVENT_BYTES = 16 * 1024 * 1024  # a hostile endless SSE event is refused, not buffered
_MAX_ANSWER_BYTES = 64 * 1024 * 1024  # a larger non-streamed answer is refused, not buffered
_SSE_READ_TIMEOUT = 45.0  # the server sends a keep-alive every 7.5-15 s; silence this long = dead


# ---------------------------------------------------------------------------------------------
# Errors


class DsxError(Exception):
    """A request the server refused, or no server answered.

    status: the HTTP status (int), or None when no server answered (DsxUnavailable).
    error:  the server's error text (the `error` field of its JSON body), or the transport error.
    """

    def __init__(self, message, status=None, error=None):
        super().__init__(message)
        self.status = status
        self.error = error if error is not None else message


class DsxUnavailable(DsxError):
    """No server of the list answered (connection refused, reset, timeout, or 502/503/504) within
    the retry time."""


class RunLost(DsxError):
    """The server ended the run, not this agent: the lease lapsed (agent_lost) or another agent
    took the lane over. Writes for the run are refused from then on."""


class RunCancelled(Exception):
    """Raised by Run.raise_if_cancelled(); leaving a `with agent.run(...)` block with it ends the
    run 'cancelled' and the exception is swallowed."""


class _Answer:
    __slots__ = ("status", "body", "headers", "retried")

    def __init__(self, status, body, headers, retried=False):
        self.status = status
        self.body = body
        self.headers = headers
        self.retried = retried  # sent again after a try that may have reached a server

    @property
    def ok(self):
        return 200 <= self.status < 300

    def error_text(self):
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), str):
            return self.body["error"]
        return "HTTP %d" % self.status


def _refusal(what, answer, token_given=True):
    text = answer.error_text()
    msg = "%s: %s (HTTP %d)" % (what, text, answer.status)
    if answer.status == 401 and not token_given:
        msg += "; no token was given (pass token= or set DSX_TOKEN)"
    if answer.status == 409 and ("has ended" in text or "stale writer" in text):
        return RunLost(msg, answer.status, text)
    return DsxError(msg, answer.status, text)


# ---------------------------------------------------------------------------------------------
# Transport: a server list with failover, one keep-alive connection per thread role


def parse_server_list(text):
    """'URL' or 'URL1,URL2' (spaces ignored, repeats dropped, trailing slashes dropped) -> list.
    ValueError naming the entry for an empty one or one that is not an http(s) URL."""
    if text is None or not str(text).strip():
        return [DEFAULT_SERVER]
    out = []
    for raw in str(text).split(","):
        entry = raw.strip()
        if not entry:
            raise ValueError("server list '%s' has an empty entry" % text)
        entry = entry.rstrip("/")
        u = urllib.parse.urlsplit(entry)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ValueError("server '%s' is not an http:// or https:// URL" % entry)
        if u.query or u.fragment:
            raise ValueError("server '%s' must not have a query or fragment" % entry)
        try:
            u.port
        except ValueError:
            raise ValueError("server '%s' has a bad port" % entry) from None
        if entry not in out:
            out.append(entry)
    return out


class _Servers:
    """Which node of the list requests go to. A failure moves everyone to the next node."""

    def __init__(self, spec):
        self.urls = parse_server_list(spec)
        self._active = 0
        self._lock = threading.Lock()

    def current(self):
        with self._lock:
            return self._active, self.urls[self._active]

    def failed(self, index):
        with self._lock:
            if index == self._active:
                self._active = (self._active + 1) % len(self.urls)


class _Transport(Exception):
    pass


class _Conn:
    """One keep-alive HTTP connection (to whichever server is current), used by one thread."""

    def __init__(self, timeout):
        self.timeout = timeout
        self._conn = None
        self._origin = None
        self.resent = False

    def close(self):
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:
                pass
        self._conn = None
        self._origin = None

    def exchange(self, origin, method, path, body, headers, timeout=None):
        if self._origin != origin:
            self.close()
        fresh = self._conn is None
        self.resent = False  # the request went out twice (the first try may have landed)
        for attempt in (0, 1):
            if self._conn is None:
                u = urllib.parse.urlsplit(origin)
                cls = http.client.HTTPSConnection if u.scheme == "https" else http.client.HTTPConnection
                self._conn = cls(u.hostname, u.port, timeout=timeout or self.timeout)
                self._origin = origin
            try:
                self._conn.timeout = timeout or self.timeout
                if self._conn.sock is not None:
                    self._conn.sock.settimeout(timeout or self.timeout)
                self._conn.request(method, path, body=body, headers=headers)
                resp = self._conn.getresponse()
                data = resp.read(_MAX_ANSWER_BYTES + 1)
                if len(data) > _MAX_ANSWER_BYTES:  # not a dsx answer: do not buffer it
                    self.close()
                    return resp.status, {}, b'{"error":"answer larger than %d bytes"}' % _MAX_ANSWER_BYTES
                if resp.will_close:
                    self.close()
                return resp.status, dict((k.lower(), v) for k, v in resp.getheaders()), data
            except (OSError, http.client.HTTPException) as e:
                self.close()
                # A kept-alive connection the server closed meanwhile fails at once: one more
                # try on a fresh connection (every request this client resends is idempotent or
                # carries producer headers).
                if attempt == 0 and not fresh and isinstance(
                        e, (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)):
                    fresh = True
                    self.resent = True
                    continue
                raise _Transport("%s: %s" % (type(e).__name__, e) if str(e) else type(e).__name__)
        raise _Transport("unreachable")


def _session_path(session):
    return "/v1/session/" + urllib.parse.quote(session, safe="/:@")


class _Client:
    """Requests to the session endpoints, with failover and retries. Shared by an agent and its
    runs; each thread passes its own _Conn."""

    def __init__(self, servers, token, timeout, retry_for):
        self.servers = servers
        self._token = token
        self.token_generation = 0  # bumped by set_token
        self.timeout = timeout
        self.retry_for = retry_for

    @property
    def has_token(self):
        return bool(self._token)

    def headers(self, extra=None):
        h = {"User-Agent": "dsx-agent-python/" + __version__}
        if self._token:
            h["Authorization"] = "Bearer " + self._token
        if extra:
            h.update(extra)
        return h

    def request(self, conn, method, path, body=None, headers=None, retry_for=0.0, stop=None, timeout=None):
        """Sends until a server answers something other than 502/503/504. After a failure the
        next server is tried at once until each has failed once, then with a backoff (0.1 s
        doubling to 2 s) for up to `retry_for` seconds. Raises DsxUnavailable."""
        payload = None
        if body is not None:
            payload = body if isinstance(body, bytes) else _json.dumps(body, ensure_ascii=False).encode("utf-8")
        hdrs = self.headers(headers)
        if payload is not None:
            hdrs.setdefault("Content-Type", "application/json")
        deadline = time.monotonic() + (retry_for or 0.0)
        delay = 0.1
        round_failures = 0
        last = ""
        while True:
            index, origin = self.servers.current()
            try:
                status, rh, data = conn.exchange(origin, method, path, payload, hdrs, timeout)
                if conn.resent:
                    last = last or "%s: connection closed, request sent again" % origin
                if status not in (502, 503, 504):
                    parsed = None
                    if data:
                        try:
                            parsed = _json.loads(data.decode("utf-8", "replace"))
                        except ValueError:
                            parsed = {"error": data[:300].decode("utf-8", "replace").strip()}
                    return _Answer(status, parsed, rh, retried=bool(last))
                last = "%s answered HTTP %d" % (origin, status)
            except _Transport as e:
                last = "%s: %s" % (origin, e)
            self.servers.failed(index)
            round_failures += 1
            if round_failures < len(self.servers.urls):
                continue  # the next node at once
            if stop is not None and stop.is_set():
                raise DsxUnavailable("no server answered (%s); stopped" % last)
            if time.monotonic() + delay > deadline:
                raise DsxUnavailable("no server answered: %s" % last)
            if stop is not None:
                if stop.wait(delay):
                    raise DsxUnavailable("no server answered (%s); stopped" % last)
            else:
                time.sleep(delay)
            delay = min(delay * 2, 2.0)
            round_failures = 0

    def post_events(self, conn, session, drafts, producer, retry_for, stop=None):
        """POST …/events with the producer's (epoch, seq): a retry of an accepted seq is answered
        204 and stores nothing. The seq moves on only after a 2xx (a refusal stored nothing)."""
        with producer.lock:
            headers = {"Producer-Id": producer.id, "Producer-Epoch": str(producer.epoch),
                       "Producer-Seq": str(producer.seq)}
            try:
                a = self.request(conn, "POST", _session_path(session) + "/events", drafts, headers, retry_for, stop)
            except DsxUnavailable:
                # Given up without knowing whether it landed: the next write must not reuse
                # this seq (a landed one would make it a 'duplicate' and drop it). A new epoch
                # starts at seq 0 and fences any late copy of this request (403).
                producer.new_epoch()
                raise
            if a.ok:
                producer.seq += 1
            elif a.retried:
                # Refused after a retry: an earlier try may have landed (the server checks the
                # session state, e.g. "no pending control request", before the producer's seq),
                # so this seq may be taken. Reusing it would make the next write a 'duplicate'
                # that is never stored: move to a new epoch instead.
                producer.new_epoch()
            return a


class _Producer:
    def __init__(self, pid):
        self.id = pid
        self.epoch = int(time.time() * 1000)  # a later instance of the same id fences this one
        self.seq = 0
        self.lock = threading.Lock()

    def new_epoch(self):
        """A higher epoch from seq 0: fences every request of the old one (403 if it arrives)."""
        self.epoch = max(self.epoch + 1, int(time.time() * 1000))
        self.seq = 0


def _new_id(prefix):
    return prefix + secrets.token_hex(8)


# ---------------------------------------------------------------------------------------------
# Controls


class Control:
    """A control request for the run: kind 'cancel' or 'steer'.

    text / json: the steer's `data.text` / `data.json`; reason: the cancel's `data.reason`;
    event: the whole event as the server stored it. ack() / reject() answer it (control.ack)."""

    def __init__(self, run, event):
        self._run = run
        self.event = event
        self.id = event.get("id")
        self.kind = event.get("type", "").split(".", 1)[-1]
        data = event.get("data") if isinstance(event.get("data"), dict) else {}
        self.data = data
        self.text = data.get("text") if isinstance(data.get("text"), str) else None
        self.json = data.get("json")
        self.reason = data.get("reason") if isinstance(data.get("reason"), str) else None
        self.offset = event.get("offset")
        self.outcome = None  # 'applied' / 'rejected' once answered

    @property
    def acked(self):
        return self.outcome is not None

    def ack(self, outcome="applied", reason=None):
        """Answers the request (idempotent: a second answer is ignored). Raises DsxError."""
        return self._run._ack(self, outcome, reason)

    def reject(self, reason):
        return self.ack("rejected", reason)

    def __repr__(self):
        return "Control(%s, id=%r, run=%r)" % (self.kind, self.id, self._run.id)


_END = object()


class _ControlIterator:
    """`async for ctl in run.controls()`: every control of the run (those that came before too),
    ending when the run ends."""

    def __init__(self, run):
        self._run = run
        self._queue = None
        try:
            self._attach(asyncio.get_running_loop())
        except RuntimeError:
            pass  # not in a coroutine yet: attached at __aiter__

    def _attach(self, loop):
        self._queue = asyncio.Queue()
        self._run._subscribe(loop, self._queue)

    def __aiter__(self):
        if self._queue is None:
            self._attach(asyncio.get_running_loop())
        return self

    async def __anext__(self):
        if self._queue is None:
            self._attach(asyncio.get_running_loop())
        item = await self._queue.get()
        if item is _END:
            self._queue.put_nowait(_END)  # stays ended
            raise StopAsyncIteration
        return item


# ---------------------------------------------------------------------------------------------
# Runs


class _Op:
    __slots__ = ("draft", "output", "done", "result", "error", "chars")

    def __init__(self, draft, output, wait):
        self.draft = draft
        self.output = output  # msg.start / msg.append: refused after an applied cancel
        self.done = threading.Event() if wait else None
        self.result = None
        self.error = None
        self.chars = len(draft.get("data", {}).get("text", "")) if output else 0


class Run:
    """One run of an agent in a session. Made by DsxAgent.run(); started by `with`, `async with`
    or start(). Attributes after start: id, session, lane, epoch, lease_ms, offset (the session
    offset right after run.start: read the session from there to see the whole run)."""

    def __init__(self, agent, session, lane=None, lease_ms=15000, takeover=False, data=None, run_id=None,
                 on_cancel=None, on_steer=None, on_lost=None, auto_ack_cancel=True, create_session=True):
        if not isinstance(session, str) or not session:
            raise ValueError("session id must be a non-empty string")
        self._agent = agent
        self._client = agent._client
        self.session = session
        self.id = run_id or _new_id("r-")
        self.lane = lane or "main"
        self._lane_given = lane is not None
        self.lease_ms = int(lease_ms)
        self.takeover = bool(takeover)
        self.start_data = dict(data or {})
        self.epoch = None
        self.offset = None
        self.on_cancel = on_cancel
        self.on_steer = on_steer
        self.on_lost = on_lost
        self.auto_ack_cancel = auto_ack_cancel
        self._create_session = create_session
        self.reason = None  # how the run ended: done / cancelled / interrupted / error / agent_lost
        self.cancelled = False  # a control.cancel arrived, or the server cut the output
        self.cancel_event = threading.Event()
        self.cancel_reason = None
        self.output_closed = False  # the server refuses the run's output from here on
        self.dropped = 0  # characters not sent because the output had ended
        self.fragments = 0  # msg.start/msg.append requests stored
        self.lost = False
        self.lost_reason = None
        self.controls_seen = []  # every Control received, in order
        self.reconnects = 0  # times the control stream was opened again (drop, restart, new token)
        self._started = False
        self._ended = False
        self._ending = False
        self._error = None  # the first write failure, raised by the next call
        self._msg = None  # the message append() writes to
        self._open_msgs = []  # started here, not ended
        self._lock = threading.Condition()
        self._ops = []
        self._inflight = False
        self._stop = threading.Event()  # the run's threads stop
        self._ack_lock = threading.Lock()  # an ack in flight is stored before run.end
        self._subs = []
        self._sub_lock = threading.Lock()
        self._seen_controls = set()
        self._threads = []
        self._follow_conn = None
        self._follow_done = False
        self._follow_ready = threading.Event()  # the control stream answered (or was refused)
        self.follow_error = None  # why following the session for controls stopped (DsxError)
        self._state = "thinking"
        self._hb_wake = threading.Event()
        self._producer = _Producer("agent-" + self.id)
        self._ack_producer = _Producer("ack-" + self.id)
        self._wconn = _Conn(self._client.timeout)
        self._aconn = _Conn(self._client.timeout)

    @property
    def error(self):
        """The first write failure (DsxError), raised by the next append/flush; None if none."""
        return self._error

    def __repr__(self):
        return "Run(%r, session=%r, lane=%r, reason=%r)" % (self.id, self.session, self.lane, self.reason)

    # --- start -------------------------------------------------------------------------------

    def start(self):
        """Creates the session if missing, writes run.start and starts the heartbeat, writer and
        control threads. Raises DsxError (e.g. 409 busy lane, 403 no 'run' right)."""
        if self._started:
            return self
        try:
            self._start()
        except BaseException:
            self._wconn.close()
            raise
        for target, name in ((self._writer, "writer"), (self._heartbeat, "heartbeat"), (self._follow, "control")):
            t = threading.Thread(target=target, name="dsx-run-%s-%s" % (self.id, name), daemon=True)
            self._threads.append(t)
            t.start()
        # A run that cannot hear its cancel must not stream on as if it could: wait for the
        # control stream's first answer, and end the run if it was refused (e.g. no 'read').
        self._follow_ready.wait(self._client.timeout)
        if self.follow_error is not None:
            err = self.follow_error
            try:
                self.end("error", error=str(err))
            except DsxError:
                pass
            raise err
        return self

    def _start(self):
        if self._create_session:
            self._agent.create_session(self.session)
        data = dict(self.start_data)
        data["lease_ms"] = self.lease_ms
        if self.takeover:
            data["takeover"] = True
        draft = {"type": "run.start", "run": self.id, "data": data}
        if self._lane_given:
            draft["lane"] = self.lane
        a = self._client.post_events(self._wconn, self.session, draft, self._producer, self._client.retry_for)
        if a.status == 204 or (a.ok and isinstance(a.body, dict) and not a.body.get("offset")):
            # An earlier try landed and its answer was lost (204, or 200 "duplicate" without
            # an offset): find where the run starts in the log.
            self.offset = self._find_start_offset()
        elif a.status == 200 and isinstance(a.body, dict):
            self.offset = a.body.get("offset")
            self.epoch = a.body.get("epoch")
            if isinstance(a.body.get("lease_ms"), int):
                self.lease_ms = a.body["lease_ms"]
            if isinstance(a.body.get("lane"), str):
                self.lane = a.body["lane"]
        else:
            raise _refusal("cannot start a run in session '%s'" % self.session, a, self._client.has_token)
        self._started = True
        self._started_at = time.monotonic()

    def _find_start_offset(self):
        conn = _Conn(self._client.timeout)
        offset = "-1"
        try:
            while True:
                a = self._client.request(conn, "GET", _session_path(self.session) + "/events?offset=" +
                                         urllib.parse.quote(offset, safe=""), retry_for=self._client.retry_for)
                if a.status != 200 or not isinstance(a.body, dict):
                    raise _refusal("cannot read session '%s'" % self.session, a, self._client.has_token)
                for ev in a.body.get("events", []):
                    if ev.get("type") == "run.start" and ev.get("run") == self.id:
                        d = ev.get("data") or {}
                        self.epoch = d.get("epoch")
                        self.lane = ev.get("lane", self.lane)
                        if isinstance(d.get("lease_ms"), int):
                            self.lease_ms = d["lease_ms"]
                        return ev.get("offset")
                offset = a.body.get("offset", offset)
                if a.body.get("up_to_date"):
                    return "-1"
        finally:
            conn.close()

    # --- output ------------------------------------------------------------------------------

    def _check(self):
        if not self._started:
            raise DsxError("run '%s' is not started (use `with`, `async with` or start())" % self.id)
        if self._error is not None:
            raise self._error
        if self.lost:
            raise RunLost("the server ended run '%s': %s" % (self.id, self.lost_reason), 409, self.lost_reason)
        if self._ended:
            raise DsxError("run '%s' has ended (%s)" % (self.id, self.reason))

    def start_message(self, role="assistant", msg_id=None, data=None):
        """msg.start; later append() calls without msg= write to this message. Returns its id."""
        self._check()
        msg = msg_id or _new_id("m-")
        d = dict(data or {})
        d.setdefault("role", role)
        with self._lock:
            self._msg = msg
            self._open_msgs.append(msg)
            if self.output_closed:
                return msg
            self._ops.append(_Op({"type": "msg.start", "run": self.id, "msg": msg, "data": d}, True, False))
            self._lock.notify_all()
        return msg

    def append(self, text, msg=None):
        """msg.append of `text` to `msg` (default: the current message, started on first use).
        Returns at once; the writer thread sends it. Returns False when the run's output has ended
        (a cancel was applied): the text is dropped, not an error. Raises the first write error."""
        if not isinstance(text, str):
            raise TypeError("append() takes str, not %s" % type(text).__name__)
        self._check()
        if msg is None:
            msg = self._msg or self.start_message()
        if not text:
            return not self.output_closed
        with self._lock:
            if self.output_closed:
                self.dropped += len(text)
                return False
            for i in range(0, len(text), _MAX_FRAGMENT_CHARS):
                piece = text[i:i + _MAX_FRAGMENT_CHARS]
                last = self._ops[-1] if self._ops else None
                if (last is not None and last.output and last.draft["type"] == "msg.append" and
                        last.draft["msg"] == msg and last.chars + len(piece) <= _MAX_FRAGMENT_CHARS):
                    last.draft["data"]["text"] += piece  # not taken by the writer yet: merge
                    last.chars += len(piece)
                else:
                    self._ops.append(_Op({"type": "msg.append", "run": self.id, "msg": msg,
                                          "data": {"text": piece}}, True, False))
            self._lock.notify_all()
        return True

    write = append

    def end_message(self, msg=None):
        """msg.end of `msg` (default: the current message); waits until it is stored."""
        self._check()
        msg = msg or self._msg
        if msg is None:
            return
        with self._lock:
            if msg in self._open_msgs:
                self._open_msgs.remove(msg)
            if self._msg == msg:
                self._msg = None
        self._submit({"type": "msg.end", "run": self.id, "msg": msg}, ignore_409=True)

    def post(self, draft):
        """Appends another event of this run in order with the output (an application event such
        as {"type":"tool.result","data":{...}}; `run` is filled in). Waits; returns the answer."""
        self._check()
        d = dict(draft)
        d.setdefault("run", self.id)
        return self._submit(d)

    def flush(self, timeout=None):
        """Waits until everything appended so far is stored (or dropped after a cancel). Raises
        the first write error. False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while self._ops or self._inflight:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._lock.wait(left)
        if self._error is not None:
            raise self._error
        return True

    async def aflush(self, timeout=None):
        """flush() for asyncio code (waits in a worker thread, not in the event loop)."""
        return await asyncio.get_running_loop().run_in_executor(None, self.flush, timeout)

    async def aend(self, reason="done", error=None, data=None):
        """end() for asyncio code."""
        return await asyncio.get_running_loop().run_in_executor(None, self.end, reason, error, data)

    def set_state(self, state):
        """Presence state for the agent (thinking, streaming, tool, waiting, idle): sent with the
        next heartbeat, which goes out at once."""
        self._state = state
        self._hb_wake.set()

    def _submit(self, draft, ignore_409=False):
        op = _Op(draft, False, True)
        with self._lock:
            self._ops.append(op)
            self._lock.notify_all()
        op.done.wait()
        if op.error is not None:
            if ignore_409 and op.error.status == 409 and not isinstance(op.error, RunLost):
                return None
            raise op.error
        return op.result

    def _writer(self):
        conn = self._wconn
        while True:
            with self._lock:
                while not self._ops and not self._stop.is_set():
                    self._lock.wait()
                if not self._ops:
                    return
                batch = [self._ops.pop(0)]
                if batch[0].output:
                    size = batch[0].chars * 4
                    while self._ops and self._ops[0].output and size + self._ops[0].chars * 4 < _MAX_BATCH_BYTES:
                        op = self._ops.pop(0)
                        size += op.chars * 4
                        batch.append(op)
                self._inflight = True
            try:
                self._send(conn, batch)
            finally:
                with self._lock:
                    self._inflight = False
                    self._lock.notify_all()

    def _send(self, conn, batch):
        output = batch[0].output
        if output and (self.output_closed or self.lost or self._error is not None):
            self._drop(batch)
            return
        body = batch[0].draft if len(batch) == 1 else [op.draft for op in batch]
        try:
            a = self._client.post_events(conn, self.session, body, self._producer, self._client.retry_for)
        except DsxError as e:
            err = DsxError("cannot write to run '%s': %s" % (self.id, e), e.status, e.error)
            self._fail(batch, err)
            return
        if a.ok:
            for op in batch:
                op.result = a.body
                if op.output:
                    self.fragments += 1
                if op.done:
                    op.done.set()
            if output and self._state == "thinking":
                self._state = "streaming"
            return
        text = a.error_text()
        if output and a.status == 409 and "was cancelled" in text:
            # The cancel was applied (by our ack, or a retry found it so): the reply ends here.
            self._cut(text)
            self._drop(batch)
            return
        err = _refusal("cannot write to run '%s'" % self.id, a, self._client.has_token)
        if isinstance(err, RunLost):
            self._mark_lost(text)
        self._fail(batch, err)

    def _drop(self, batch):
        for op in batch:
            self.dropped += op.chars
            if op.done:
                op.done.set()

    def _fail(self, batch, err):
        for op in batch:
            if op.done:
                op.error = err
                op.done.set()
            elif self._error is None and not isinstance(err, RunLost):
                self._error = err
        if batch[0].output:
            self._drop_queued_output()

    def _drop_queued_output(self):
        with self._lock:
            keep = []
            for op in self._ops:
                if op.output:
                    self.dropped += op.chars
                else:
                    keep.append(op)
            self._ops = keep

    def _cut(self, why):
        with self._lock:
            self.output_closed = True
        self._drop_queued_output()
        if not self.cancelled:
            self.cancelled = True
            self.cancel_reason = self.cancel_reason or why
        self.cancel_event.set()

    def _mark_lost(self, why):
        if self.lost or self._ending:
            return
        self.lost = True
        self.lost_reason = why
        self._drop_queued_output()
        self.cancel_event.set()  # whoever waits for a stop signal: stop
        if self.on_lost is not None:
            try:
                self.on_lost(why)
            except Exception:
                pass

    # --- heartbeats --------------------------------------------------------------------------

    def _heartbeat(self):
        conn = _Conn(min(self._client.timeout, 10.0))
        period = max(self.lease_ms / 3000.0, 0.2)
        due = self._started_at + period
        path = _session_path(self.session) + "/runs/" + urllib.parse.quote(self.id, safe="") + "/heartbeat"
        try:
            while not self._stop.is_set():
                now = time.monotonic()
                if now < due and not self._hb_wake.is_set():
                    self._hb_wake.wait(min(due - now, 1.0))
                    continue
                self._hb_wake.clear()
                sent = time.monotonic()
                try:
                    a = self._client.request(conn, "POST", path, {"state": self._state}, stop=self._stop,
                                             timeout=min(self._client.timeout, 10.0))
                    if a.status == 409:
                        self._mark_lost(a.error_text())
                        return
                except DsxUnavailable:
                    pass  # the server is away; after a restart the run has a fresh lease
                due = sent + period
        finally:
            conn.close()

    # --- controls ----------------------------------------------------------------------------

    def _follow(self):
        """Follows the session's SSE from the run's start, reconnecting with Last-Event-ID."""
        last_id = self.offset or "-1"
        delay = 0.1
        round_failures = 0
        try:
            while not self._stop.is_set():
                index, origin = self._client.servers.current()
                u = urllib.parse.urlsplit(origin)
                cls = http.client.HTTPSConnection if u.scheme == "https" else http.client.HTTPConnection
                conn = cls(u.hostname, u.port, timeout=_SSE_READ_TIMEOUT)
                self._follow_conn = conn
                token_used = self._client.token_generation
                outage = False
                try:
                    if self._stop.is_set():
                        return
                    q = "?live=sse&offset=%s&lanes=%s" % (urllib.parse.quote(last_id, safe=""),
                                                          urllib.parse.quote(self.lane, safe=""))
                    conn.request("GET", _session_path(self.session) + "/events" + q,
                                 headers=self._client.headers({"Accept": "text/event-stream",
                                                               "Last-Event-ID": last_id}))
                    resp = conn.getresponse()
                    if resp.status != 200:
                        body = resp.read(4096)
                        if resp.status in (502, 503, 504):
                            outage = True
                        else:
                            try:
                                err = _json.loads(body.decode("utf-8", "replace")).get("error")
                            except Exception:
                                err = None
                            if resp.status == 401 and self._new_token_since(token_used):
                                continue  # DsxAgent.set_token: go on with the new one
                            self._follow_failed(resp.status, err or "HTTP %d" % resp.status)
                            return
                    else:
                        delay, round_failures = 0.1, 0
                        if self._follow_ready.is_set():
                            self.reconnects += 1
                        self._follow_ready.set()
                        for kind, eid, data in _sse_events(resp):
                            if eid:
                                last_id = eid
                            if kind == "error":
                                st = data.get("status") if isinstance(data, dict) else None
                                if st == 401 and self._new_token_since(token_used):
                                    break  # the token expired and was replaced: reconnect
                                if st in (401, 403, 404):
                                    self._follow_failed(st, data.get("error", ""))
                                    return
                                if st == 400:
                                    self._follow_failed(st, data.get("error", ""))
                                    return
                                continue
                            if kind != "message" or not isinstance(data, dict):
                                continue
                            if not self._on_event(data) or self._stop.is_set():
                                return
                        else:
                            outage = True  # the stream ended: the server went away
                except (OSError, http.client.HTTPException, ValueError):
                    outage = True
                finally:
                    self._follow_conn = None
                    try:
                        conn.close()
                    except Exception:
                        pass
                if self._stop.is_set():
                    return
                if outage:
                    self._client.servers.failed(index)
                    round_failures += 1
                    if round_failures < len(self._client.servers.urls):
                        continue
                    round_failures = 0
                    if self._stop.wait(delay):
                        return
                    delay = min(delay * 2, 2.0)
        finally:
            self._end_subscribers()

    def _new_token_since(self, generation, grace=30.0):
        """After a 401: has DsxAgent.set_token() replaced the token used? Waits up to `grace`
        seconds for a refresh that comes a little late."""
        deadline = time.monotonic() + grace
        while self._client.token_generation == generation:
            if time.monotonic() > deadline or self._stop.wait(0.1):
                return False
        return True

    def _follow_failed(self, status, error):
        if not self._stop.is_set():
            self.follow_error = DsxError("cannot receive cancel and steer for run '%s' (the token needs 'read' on "
                                         "the session): %s (HTTP %s)" % (self.id, error, status), status, error)
        self._follow_ready.set()

    def _on_event(self, ev):
        if ev.get("run") != self.id:
            return True
        kind = ev.get("type")
        if kind == "run.end":
            if not self._ending:
                d = ev.get("data") if isinstance(ev.get("data"), dict) else {}
                self._mark_lost("the server ended the run (%s)" % d.get("reason", "?"))
            return False
        if kind not in ("control.cancel", "control.steer"):
            return True
        cid = ev.get("id")
        if not isinstance(cid, str) or cid in self._seen_controls:
            return True
        self._seen_controls.add(cid)
        ctl = Control(self, ev)
        self.controls_seen.append(ctl)
        if ctl.kind == "cancel":
            self.cancelled = True
            self.cancel_reason = ctl.reason or "cancelled"
            self.cancel_event.set()
            failed = None
            if self.on_cancel is not None:
                try:
                    self.on_cancel(ctl)
                except Exception as e:  # the cancel still stops the run
                    failed = e
            self._publish(ctl)
            if self.auto_ack_cancel and not ctl.acked:
                self._ack_quietly(ctl, "applied", None if failed is None else "on_cancel raised: %s" % failed)
        else:
            if self.on_steer is not None:
                try:
                    self.on_steer(ctl)
                    if not ctl.acked:
                        self._ack_quietly(ctl, "applied", None)
                except Exception as e:
                    if not ctl.acked:
                        self._ack_quietly(ctl, "rejected", "%s: %s" % (type(e).__name__, e))
                self._publish(ctl)
            elif self._publish(ctl) == 0:
                self._ack_quietly(ctl, "rejected", "this agent does not take steering")
        return True

    def _ack_quietly(self, ctl, outcome, reason):
        try:
            ctl.ack(outcome, reason)
        except DsxError:
            pass

    def _ack(self, ctl, outcome, reason):
        if outcome not in ("applied", "rejected"):
            raise ValueError("outcome must be 'applied' or 'rejected'")
        with self._ack_lock:
            if ctl.outcome is not None:
                return None
            data = {"outcome": outcome}
            if reason:
                data["reason"] = str(reason)[:2000]
            draft = {"type": "control.ack", "run": self.id, "id": ctl.id, "data": data}
            a = self._client.post_events(self._aconn, self.session, draft, self._ack_producer,
                                         self._client.retry_for)
            landed = a.retried and a.status == 409 and "no pending control request" in a.error_text()
            if not a.ok and not landed:  # (landed: our earlier try was stored, its answer lost)
                raise _refusal("cannot acknowledge %s '%s'" % (ctl.kind, ctl.id), a, self._client.has_token)
            ctl.outcome = outcome
            if ctl.kind == "cancel" and outcome == "applied":
                # The server refuses the run's output from this ack on: stop sending it.
                self._cut("cancel '%s' applied" % ctl.id)
            return a.body

    def _subscribe(self, loop, queue):
        with self._sub_lock:
            for ctl in self.controls_seen:
                queue.put_nowait(ctl)
            if self._follow_done:
                queue.put_nowait(_END)
                return
            self._subs.append((loop, queue))

    def _publish(self, item):
        n = 0
        with self._sub_lock:
            alive = []
            for loop, queue in self._subs:
                try:
                    loop.call_soon_threadsafe(queue.put_nowait, item)
                    alive.append((loop, queue))
                    n += 1
                except RuntimeError:  # that loop is closed
                    pass
            self._subs = alive
        return n

    def _end_subscribers(self):
        self._publish(_END)
        with self._sub_lock:
            self._subs = []
            self._follow_done = True

    def controls(self):
        """An async iterator of this run's Controls (earlier ones first), ending with the run.
        With one open, a steer without on_steer is left for the consumer to ack()."""
        return _ControlIterator(self)

    def raise_if_cancelled(self):
        """Raises RunCancelled once a cancel arrived (leaving `with` with it ends 'cancelled')."""
        if self.cancelled:
            raise RunCancelled(self.cancel_reason or "cancelled")

    def wait_cancelled(self, timeout=None):
        return self.cancel_event.wait(timeout)

    # --- end ---------------------------------------------------------------------------------

    def end(self, reason="done", error=None, data=None):
        """Writes run.end (done, cancelled, interrupted, or error with `error`, a sentence) after everything
        appended, closing the open messages (msg.end, unless the reason is error), and stops the
        run's threads. Returns the reason. Raises RunLost when the server had ended the run, and
        DsxError when run.end could not be stored."""
        if reason not in ("done", "cancelled", "interrupted", "error"):
            raise ValueError("reason must be done, cancelled, interrupted or error")
        if self._ended:
            return self.reason
        if not self._started:
            raise DsxError("run '%s' was never started" % self.id)
        failure = None
        try:
            try:
                self.flush()
            except DsxError as e:
                failure = e
            if self.lost:
                self.reason = "agent_lost"
                raise RunLost("the server ended run '%s': %s" % (self.id, self.lost_reason), 409, self.lost_reason)
            if failure is not None and reason != "error":
                reason, error = "error", str(failure)
            if reason in ("done", "cancelled"):
                for msg in list(self._open_msgs):
                    try:
                        self._submit({"type": "msg.end", "run": self.id, "msg": msg}, ignore_409=True)
                    except RunLost:
                        break
                    except DsxError as e:
                        failure = failure or e
                self._open_msgs = []
            d = dict(data or {})
            d["reason"] = reason
            if error is not None:
                d["error"] = str(error)[:4000]
            with self._ack_lock:  # an ack in flight is stored before the run's end
                self._ending = True
                try:
                    self._submit({"type": "run.end", "run": self.id, "data": d})
                except RunLost:
                    self.reason = "agent_lost"
                    self._ending = False
                    self.lost = True
                    raise
            self.reason = reason
            return reason
        finally:
            self._ended = True
            self._shutdown()

    def _shutdown(self):
        self._stop.set()
        self._hb_wake.set()
        with self._lock:
            self._lock.notify_all()
        conn = self._follow_conn
        if conn is not None and conn.sock is not None:
            try:
                conn.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        me = threading.current_thread()
        deadline = time.monotonic() + 15
        for t in self._threads:
            while t is not me and t.is_alive() and time.monotonic() < deadline:
                conn = self._follow_conn  # the follower may be (re)connecting right now
                if conn is not None and conn.sock is not None:
                    try:
                        conn.sock.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                t.join(timeout=0.1)
        self._wconn.close()
        self._aconn.close()

    def _end_on_exit(self, et, ev):
        if self._ended:
            return False
        if et is None:
            self.end("cancelled" if self.cancelled else "done")
            return False
        try:
            if issubclass(et, RunCancelled):
                self.end("cancelled")
                return True
            if issubclass(et, (KeyboardInterrupt, SystemExit)):
                # The operator stopped the agent (Ctrl-C, exit): not a user's stop, not a failure;
                # the reason `dsx session run` gives a run whose runner got SIGINT.
                self.end("interrupted", data={"interrupted": et.__name__})
            elif self.cancelled:
                self.end("cancelled")
            else:
                text = str(ev).strip()
                self.end("error", error="%s: %s" % (et.__name__, text) if text else et.__name__)
        except DsxError:
            pass  # the exception that left the block is the one to see
        return False

    def __enter__(self):
        return self.start()

    def __exit__(self, et, ev, tb):
        return self._end_on_exit(et, ev)

    async def __aenter__(self):
        await asyncio.get_running_loop().run_in_executor(None, self.start)
        return self

    async def __aexit__(self, et, ev, tb):
        return await asyncio.get_running_loop().run_in_executor(None, self._end_on_exit, et, ev)


def _sse_events(resp):
    """(event, id, data) per SSE event of an http.client response; data parsed as JSON."""
    kind, eid, data, size = "message", None, [], 0
    while True:
        raw = resp.readline(_MAX_SSE_EVENT_BYTES + 1)
        if not raw:
            return
        if len(raw) > _MAX_SSE_EVENT_BYTES:
            raise ValueError("SSE line longer than %d bytes" % _MAX_SSE_EVENT_BYTES)
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if not line:
            if data:
                try:
                    parsed = _json.loads("\n".join(data))
                except ValueError:
                    parsed = None
                yield kind, eid, parsed
            elif eid:
                yield kind, eid, None
            kind, eid, data, size = "message", None, [], 0
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if field == "event":
            kind = value
        elif field == "id":
            eid = value
        elif field == "data":
            size += len(value)
            if size > _MAX_SSE_EVENT_BYTES:
                raise ValueError("SSE event larger than %d bytes" % _MAX_SSE_EVENT_BYTES)
            data.append(value)


# ---------------------------------------------------------------------------------------------
# The agent


class DsxAgent:
    """A connection to a dsx server (or several nodes of one store: "URL1,URL2", tried in turn
    when one stops answering).

    server:    base URL(s); default DSX_SERVER, else http://127.0.0.1:4437.
    token:     bearer token; default DSX_TOKEN (none: an open server). Never printed.
    timeout:   seconds one request may take.
    retry_for: how long a run's writes ride out a server outage (seconds)."""

    def __init__(self, server=None, token=None, timeout=30.0, retry_for=120.0):
        servers = _Servers(server if server is not None else os.environ.get("DSX_SERVER"))
        if token is None:
            token = os.environ.get("DSX_TOKEN") or None
        self._client = _Client(servers, token, float(timeout), float(retry_for))
        self._local = threading.local()
        self._producers = {}
        self._plock = threading.Lock()
        self._conns = []

    @property
    def servers(self):
        return list(self._client.servers.urls)

    def __repr__(self):
        return "DsxAgent(%r, token=%s)" % (",".join(self.servers), "set" if self._client.has_token else "none")

    def _conn(self):
        c = getattr(self._local, "conn", None)
        if c is None:
            c = self._local.conn = _Conn(self._client.timeout)
            with self._plock:
                self._conns.append(c)
        return c

    def set_token(self, token):
        """Replaces the bearer token (a refreshed one, same principal) for every later request of
        this agent and its runs; a run's control stream ended by the old token's expiry
        reconnects with it. Refresh before `exp` (or within 30 s after) to keep a long run."""
        self._client._token = token or None
        self._client.token_generation += 1

    def close(self):
        """Closes the agent's own connections (runs close theirs when they end)."""
        with self._plock:
            conns, self._conns = self._conns, []
        for c in conns:
            c.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def _req(self, what, method, suffix, session, body=None, ok=(200,), retry=False):
        a = self._client.request(self._conn(), method, _session_path(session) + suffix, body,
                                 retry_for=self._client.retry_for if retry else 0.0)
        if a.status not in ok:
            raise _refusal(what, a, self._client.has_token)
        if method == "GET" and not isinstance(a.body, dict):
            raise DsxError("%s: the answer is not a JSON object (HTTP %d)" % (what, a.status), a.status)
        return a

    def create_session(self, session):
        """PUT /v1/session/<id>: True when created, False when it existed."""
        return self._req("cannot create session '%s'" % session, "PUT", "", session, ok=(200, 201)).status == 201

    def session_info(self, session):
        """GET /v1/session/<id>: {"session","offset","runs":[...],"presence":[...]}."""
        return self._req("cannot read session '%s'" % session, "GET", "", session).body

    def events(self, session, offset="-1", lanes=None):
        """Every event from `offset` to the end now (catch-up pages): (events, next offset)."""
        out = []
        while True:
            q = "/events?offset=" + urllib.parse.quote(offset, safe="")
            if lanes:
                q += "&lanes=" + urllib.parse.quote(lanes if isinstance(lanes, str) else ",".join(lanes), safe=",")
            a = self._req("cannot read session '%s'" % session, "GET", q, session, retry=True)
            out += a.body.get("events", [])
            offset = a.body.get("offset", offset)
            if a.body.get("up_to_date", True):
                return out, offset

    def post(self, session, draft):
        """Appends one draft or a list of drafts (an application event like
        {"type":"user.message","data":{"text":"hi"}}, or a control), exactly once (producer
        headers), creating the session if missing. Returns the server's answer ({} when a retry found it already stored)."""
        with self._plock:
            producer = self._producers.get(session)
            if producer is None:
                producer = self._producers[session] = _Producer("client-" + secrets.token_hex(8))
        a = self._client.post_events(self._conn(), session, draft, producer, self._client.retry_for)
        if a.status == 404 and "no session" in a.error_text():
            self.create_session(session)  # posting creates the session, as a run does
            a = self._client.post_events(self._conn(), session, draft, producer, self._client.retry_for)
        if not a.ok:
            raise _refusal("cannot post to session '%s'" % session, a, self._client.has_token)
        return a.body if isinstance(a.body, dict) else {}

    def cancel(self, session, run, reason=None):
        """control.cancel for a run; returns the answer (outcome pending, or rejected at once)."""
        d = {"reason": reason} if reason else {}
        return self.post(session, {"type": "control.cancel", "run": run, "data": d})

    def steer(self, session, run, text=None, json=None):
        """control.steer with text or a JSON value."""
        d = {}
        if text is not None:
            d["text"] = text
        if json is not None:
            d["json"] = json
        return self.post(session, {"type": "control.steer", "run": run, "data": d})

    def run(self, session, lane=None, lease_ms=15000, takeover=False, data=None, run_id=None, on_cancel=None,
            on_steer=None, on_lost=None, auto_ack_cancel=True, create_session=True):
        """A Run, not started yet: `with agent.run(...) as run:` (or `async with`, or .start()).

        lane / lease_ms / takeover / data: the run.start fields (data: extra run.start data such
        as {"command": "my-agent"}). on_cancel(control) / on_steer(control): called on the
        control thread (keep them short: stop the model, queue the steer). A cancel is acked
        'applied' after on_cancel returns unless auto_ack_cancel=False (then ack it yourself).
        A steer is acked 'applied' after on_steer returns ('rejected' if it raises); without
        on_steer it goes to run.controls() consumers, who ack it, or is rejected when there are
        none. on_lost(reason): the server ended the run (lease lapsed, taken over)."""
        return Run(self, session, lane=lane, lease_ms=lease_ms, takeover=takeover, data=data, run_id=run_id,
                   on_cancel=on_cancel, on_steer=on_steer, on_lost=on_lost, auto_ack_cancel=auto_ack_cancel,
                   create_session=create_session)

    def start_run(self, session, **kw):
        """run(...) started: remember to end() it (or use `with agent.run(...)`)."""
        return self.run(session, **kw).start()

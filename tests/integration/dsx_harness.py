"""Helpers for integration tests that drive the real dsx binary (stdlib only; runs under
Debian's /usr/bin/python3).

A DsxServer starts `dsx session serve` on 127.0.0.1 with a free port (`--listen
127.0.0.1:0`), parses the `dsx: listening on http://HOST:PORT` line from stderr, and can be
stopped and started again on the same port and data directory (restart tests).
"""
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

LISTEN_RE = re.compile(rb"dsx: listening on (http://[0-9.]+:(\d+))")


class DsxServer:
    def __init__(self, dsx, data_dir=None, memory=False, long_poll_ms=500, extra=()):
        self.dsx = dsx
        self.data_dir = data_dir
        self.memory = memory
        self.long_poll_ms = long_poll_ms
        self.extra = list(extra)
        self.proc = None
        self.port = 0
        self.url = None
        self.stderr_lines = []

    def start(self, timeout=20.0):
        args = [self.dsx, "session", "serve", "--listen", f"127.0.0.1:{self.port}",
                "--long-poll-timeout-ms", str(self.long_poll_ms)] + self.extra
        args += ["--memory"] if self.memory else ["--data", self.data_dir]
        deadline = time.monotonic() + timeout
        while True:
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.PIPE)
            url = self._wait_listening(deadline)
            if url:
                self.url = url
                return self
            # Restart on a fixed port can race with the old socket; try again briefly.
            self.proc.wait()
            if time.monotonic() > deadline:
                raise RuntimeError("dsx session serve did not start: " + b"".join(self.stderr_lines).decode(errors="replace"))
            time.sleep(0.2)

    def _wait_listening(self, deadline):
        while time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                return None
            self.stderr_lines.append(line)
            m = LISTEN_RE.search(line)
            if m:
                self.port = int(m.group(2))
                # Keep draining stderr so the server never blocks on a full pipe.
                threading.Thread(target=self._drain, args=(self.proc,), daemon=True).start()
                return m.group(1).decode()
        return None

    def _drain(self, proc):
        for line in proc.stderr:
            self.stderr_lines.append(line)

    def stop(self, sig=signal.SIGTERM, timeout=20.0):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self, sig=signal.SIGTERM, down_for=0.7):
        self.stop(sig)
        time.sleep(down_for)
        return self.start()


def free_closed_port():
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run(dsx, *args, input=None, env_extra=None, timeout=60):
    env = dict(os.environ)
    env.pop("DSX_SERVER", None)
    env.pop("DSX_TOKEN", None)
    if env_extra:
        env.update(env_extra)
    return subprocess.run([dsx, *args], input=input, capture_output=True, timeout=timeout, env=env)


class Checker:
    """Collects failures so one run reports all of them; exit status 1 if any."""

    def __init__(self):
        self.failures = []
        self.passed = 0

    def check(self, cond, what):
        if cond:
            self.passed += 1
        else:
            self.failures.append(what)
            print("FAIL:", what, file=sys.stderr)

    def done(self):
        print(f"{self.passed} checks passed, {len(self.failures)} failed")
        return 1 if self.failures else 0


def tempdir(prefix):
    return tempfile.TemporaryDirectory(prefix=prefix)

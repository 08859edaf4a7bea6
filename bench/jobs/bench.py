#!/usr/bin/env python3
"""bench/jobs: what the jobs layer costs a job, side by side with the floor, in one run.

  submit:   wall time of `dsx jobs submit -- true` (local backend: registry folder, detached
            supervisor, wait until it runs) against `dsx --version` (a dsx process start: the
            floor any dsx command pays). Median of REPEAT.
  delivery: a local job prints LINES lines of 64 bytes as fast as it can, with a session server:
            time until the job's output.log holds every line (the job itself, no session) and
            time until `dsx session tail jobs/<id>` has delivered every line and run.end (the
            watcher batching lines into fragments over one idempotent producer). Ratio and lines/s.
Usage: bench/jobs/run [DSX]   Env: REPEAT (10) LINES (200000)
"""
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

DSX = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "../../build/bin/dsx")
REPEAT = int(os.environ.get("REPEAT", "10"))
LINES = int(os.environ.get("LINES", "200000"))


def timed(argv, env):
    t = time.monotonic()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - t


def main():
    work = tempfile.mkdtemp(prefix="dsx-bench-jobs-")
    env = dict(os.environ, DSX_JOBS_DIR=os.path.join(work, "jobs"))
    env.pop("DSX_SERVER", None)
    server = None
    try:
        floor = [timed([DSX, "--version"], env) for _ in range(REPEAT)]
        submit = [timed([DSX, "jobs", "submit", "--", "true"], env) for _ in range(REPEAT)]
        print(f"submit: dsx --version median {statistics.median(floor) * 1000:.1f} ms; "
              f"dsx jobs submit -- true median {statistics.median(submit) * 1000:.1f} ms "
              f"({statistics.median(submit) / statistics.median(floor):.1f}x the process start), n={REPEAT}")

        log = open(os.path.join(work, "server.log"), "w+")
        server = subprocess.Popen([DSX, "session", "serve", "--memory", "--listen", "127.0.0.1:0"], stderr=log)
        port = None
        for _ in range(100):
            log.seek(0)
            m = re.search(r"listening on http://[^:]+:(\d+)", log.read())
            if m:
                port = m.group(1)
                break
            time.sleep(0.1)
        if not port:
            raise SystemExit("server did not start")
        env["DSX_SERVER"] = f"http://127.0.0.1:{port}"
        line = "x" * 63
        # awk prints faster than a shell loop: the job must not be the bottleneck.
        cmd = ["awk", f"BEGIN {{ for (i = 0; i < {LINES}; i++) print \"{line}\" }}"]
        t0 = time.monotonic()
        job = subprocess.run([DSX, "jobs", "submit", "--"] + cmd, env=env, check=True,
                             capture_output=True, text=True).stdout.strip()
        # The watcher creates the session a moment after submit returns: wait for it (bounded).
        for _ in range(200):
            if subprocess.run([DSX, "session", "info", f"jobs/{job}"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL).returncode == 0:
                break
            time.sleep(0.01)
        tail = subprocess.Popen([DSX, "session", "tail", f"jobs/{job}", "--follow", "--jsonl"], env=env,
                                stdout=subprocess.PIPE, text=True)
        jobdir = os.path.join(env["DSX_JOBS_DIR"], job)
        done = {}

        def watch_job():  # when the job itself is over: its supervisor's local.json, every 5 ms
            while "t" not in done:
                try:
                    with open(os.path.join(jobdir, "local.json")) as f:
                        if json.load(f).get("state") not in ("queued", "running", None):
                            done["t"] = time.monotonic() - t0
                except (OSError, ValueError):
                    pass
                time.sleep(0.005)

        watcher = threading.Thread(target=watch_job, daemon=True)
        watcher.start()
        received = 0
        for raw in tail.stdout:
            ev = json.loads(raw)
            if ev.get("type") == "msg.append":
                received += ev["data"]["text"].count(line + "\n")
            if ev.get("type") == "run.end":
                break
        session = time.monotonic() - t0
        tail.kill()
        watcher.join(timeout=30)
        direct = done.get("t", session)
        ok = "all" if received == LINES else f"ONLY {received} of"
        print(f"delivery: {ok} {LINES} lines of 64 B; job done (output.log) {direct:.2f} s, "
              f"in the session through run.end {session:.2f} s ({session / direct:.2f}x), "
              f"{received / session:,.0f} lines/s = {received * 64 / session / 1e6:.1f} MB/s")
    finally:
        if server:
            server.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

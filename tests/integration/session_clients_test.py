#!/usr/bin/python3
"""Integration tests for the session clients against the real `dsx session serve`.

Usage: session_clients_test.py DSX SCENARIO
  e2e         publish | server | tail --follow for binary (SSE), text (long-poll) and JSON
              (SSE) streams, the server restarted (SIGTERM and SIGKILL) in the middle;
              tail's output must equal the input exactly and both clients exit 0
  json-bad    JSON-mode publish with an invalid line: line number reported, nothing appended
  exit-codes  5 unreachable, 3 missing stream, 4 conflict, 2 usage; errors as 'dsx: ...'
  jsonl       tail --jsonl piped into /usr/bin/python3 json parsing, messages equal input
"""
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dsx_harness import Checker, DsxServer, free_closed_port, run, tempdir  # noqa: E402


def make_chunks(kind, rng):
    if kind == "binary":
        return [bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 9000))) for _ in range(60)]
    if kind == "text":
        pieces = ["line %d\r\n" % i if i % 3 else "cr only\rthen lf\n" for i in range(400)]
        pieces += ["unicode: h\u00e9llo \u20ac \U0001f600\n", "no newline at end"]
        text = "".join(pieces).encode()
        cuts = sorted(rng.sample(range(1, len(text)), 59))
        return [text[a:b] for a, b in zip([0] + cuts, cuts + [len(text)])]
    # JSON lines in a canonical spelling, so the printed messages can be compared byte for byte.
    lines = []
    for i in range(240):
        v = rng.choice([{"i": i, "msg": "hello, \"world\" [%d]" % i}, [i, "x", None, True], "s%d" % i, i, None,
                        {"nested": {"a": [1, {"b": "\u00e9"}]}}])
        lines.append(json.dumps(v, separators=(",", ":"), ensure_ascii=False).encode() + b"\n")
    return [b"".join(lines[k:k + 4]) for k in range(0, len(lines), 4)]


def e2e_one(dsx, c, kind, content_type, tail_args, stop_signal):
    rng = random.Random(hash(kind) & 0xffff)
    chunks = make_chunks(kind, rng)
    expected = b"".join(chunks)
    with tempdir("dsx-e2e-") as data:
        server = DsxServer(dsx, data_dir=data).start()
        try:
            name = "e2e/" + kind
            r = run(dsx, "session", "create", name, "--server", server.url, "--content-type", content_type)
            c.check(r.returncode == 0, f"{kind}: create rc {r.returncode}: {r.stderr!r}")
            env = dict(os.environ, DSX_SERVER=server.url)
            tail = subprocess.Popen([dsx, "session", "tail", name, "--follow", *tail_args], env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            out = {}
            reader = threading.Thread(target=lambda: out.update(stdout=tail.stdout.read()), daemon=True)
            reader.start()
            pub = subprocess.Popen([dsx, "session", "publish", name, "--producer", "e2e-" + kind, "--close", "--json"],
                                   env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            half = len(chunks) // 2
            for i, chunk in enumerate(chunks):
                pub.stdin.write(chunk)
                pub.stdin.flush()
                time.sleep(0.01)
                if i == half:
                    server.restart(stop_signal)  # publish and tail both see the server go away
            pub_out, pub_err = pub.communicate(timeout=120)  # closes stdin: EOF for publish
            c.check(pub.returncode == 0, f"{kind}: publish rc {pub.returncode}: {pub_err!r}")
            try:
                tail.wait(timeout=60)
            except subprocess.TimeoutExpired:
                tail.kill()
                tail.wait()
            reader.join(timeout=10)
            tail_err = tail.stderr.read()
            c.check(tail.returncode == 0, f"{kind}: tail rc {tail.returncode}: {tail_err!r}")
            got = out.get("stdout", b"")
            same = got == expected
            if not same:
                n = next((i for i in range(min(len(got), len(expected))) if got[i] != expected[i]),
                         min(len(got), len(expected)))
                print(f"{kind}: first difference at byte {n}: got {len(got)} bytes, want {len(expected)}; "
                      f"got[{n}:+40]={got[n:n + 40]!r} want={expected[n:n + 40]!r}", file=sys.stderr)
            c.check(same, f"{kind}: tail output equals publish input ({len(expected)} bytes)")
            try:
                summary = json.loads(pub_out)
                payload = len(expected) if kind != "json" else None
                c.check(summary["closed"] is True, f"{kind}: summary says closed")
                if payload is not None:
                    c.check(summary["bytes"] == payload, f"{kind}: summary bytes {summary['bytes']} == {payload}")
                else:
                    c.check(summary["messages"] == expected.count(b"\n"), f"{kind}: summary messages")
            except (ValueError, KeyError) as e:
                c.check(False, f"{kind}: publish --json summary parses ({e}): {pub_out!r}")
            # Restarted server still serves exactly one copy; a fresh catch-up read agrees.
            r = run(dsx, "session", "tail", name, "--server", server.url)
            c.check(r.returncode == 0 and r.stdout == expected, f"{kind}: catch-up after restart equals input")
            c.check(b"reconnect" in tail_err or b"connection lost" in tail_err,
                    f"{kind}: tail reported the outage on stderr: {tail_err!r}")
        finally:
            server.stop()


def scenario_e2e(dsx, c):
    e2e_one(dsx, c, "binary", "application/octet-stream", [], signal.SIGTERM)
    e2e_one(dsx, c, "text", "text/plain", [], signal.SIGKILL)
    e2e_one(dsx, c, "json", "application/json", ["--jsonl"], signal.SIGTERM)


def scenario_json_bad(dsx, c):
    with tempdir("dsx-jsonbad-") as data:
        server = DsxServer(dsx, data_dir=data).start()
        try:
            s = ["--server", server.url]
            r = run(dsx, "session", "publish", "j/bad", "--create", "--content-type", "application/json", *s,
                    input=b"")
            c.check(r.returncode == 0, f"publish --create with empty input: rc {r.returncode} {r.stderr!r}")
            before = json.loads(run(dsx, "session", "info", "j/bad", "--json", *s).stdout)
            bad = b'{"ok":1}\n\n[1,2]\n{"broken": nope}\n{"after":2}\n'
            path = os.path.join(data, "..", os.path.basename(data) + "-input.jsonl")
            with open(path, "wb") as f:
                f.write(bad)
            try:
                with open(path, "rb") as f:  # a regular file: validated completely before appending
                    p = subprocess.run([dsx, "session", "publish", "j/bad", *s], stdin=f, capture_output=True,
                                       timeout=30)
            finally:
                os.unlink(path)
            err = p.stderr.decode()
            c.check(p.returncode == 1, f"bad line: exit 1 (got {p.returncode})")
            c.check(err.startswith("dsx: cannot publish to 'j/bad': invalid JSON on line 4"),
                    f"bad line: message names line 4: {err!r}")
            c.check("nothing was appended" in err, f"bad line: says nothing was appended: {err!r}")
            after = json.loads(run(dsx, "session", "info", "j/bad", "--json", *s).stdout)
            c.check(after["next_offset"] == before["next_offset"], "bad line: stream offset unchanged")
            r = run(dsx, "session", "tail", "j/bad", "--jsonl", *s)
            c.check(r.returncode == 0 and r.stdout == b"", f"bad line: stream still empty: {r.stdout!r}")
            # Same input through a pipe in one write: one batch, still nothing appended.
            r = run(dsx, "session", "publish", "j/bad", "--all", *s, input=bad)
            c.check(r.returncode == 1 and b"line 4" in r.stderr, f"--all pipe: line 4 reported: {r.stderr!r}")
            r = run(dsx, "session", "tail", "j/bad", "--jsonl", *s)
            c.check(r.stdout == b"", "--all pipe: nothing appended")
            # A good file appends every message.
            r = run(dsx, "session", "publish", "j/bad", "--json", *s, input=b'{"ok":1}\n[1,2]\n"s"\n')
            c.check(r.returncode == 0 and json.loads(r.stdout)["messages"] == 3, f"good input: 3 messages {r.stdout!r}")
            r = run(dsx, "session", "tail", "j/bad", "--jsonl", *s)
            c.check(r.stdout == b'{"ok":1}\n[1,2]\n"s"\n', f"good input: tail shows them: {r.stdout!r}")
        finally:
            server.stop()


def scenario_exit_codes(dsx, c):
    dead = f"http://127.0.0.1:{free_closed_port()}"
    for args in (["info", "x"], ["create", "x"], ["delete", "x"], ["tail", "x"], ["tail", "x", "--follow"],
                 ["publish", "x"]):
        r = run(dsx, "session", *args, "--server", dead, "--token", "s3cr3t-token", input=b"data")
        err = r.stderr.decode()
        c.check(r.returncode == 5, f"unreachable {args}: exit 5 (got {r.returncode}: {err!r})")
        c.check(err.startswith("dsx: cannot ") and err.count("\n") == 1, f"unreachable {args}: one dsx: line {err!r}")
        c.check("s3cr3t-token" not in err + r.stdout.decode(), f"unreachable {args}: token not printed")
    r = run(dsx, "session", "info", "x", input=b"", env_extra={"DSX_SERVER": dead})
    c.check(r.returncode == 5, f"DSX_SERVER is honoured (exit 5 for a dead server, got {r.returncode})")

    with tempdir("dsx-codes-") as data:
        server = DsxServer(dsx, data_dir=data).start()
        try:
            s = ["--server", server.url]
            for args in (["info", "missing/1"], ["tail", "missing/1"], ["tail", "missing/1", "--follow", "--timeout", "1s"],
                         ["delete", "missing/1"], ["publish", "missing/1"]):
                r = run(dsx, "session", *args, *s, input=b"data")
                c.check(r.returncode == 3, f"missing {args}: exit 3 (got {r.returncode}: {r.stderr!r})")
                c.check(b"stream not found" in r.stderr, f"missing {args}: says not found: {r.stderr!r}")
            r = run(dsx, "session", "create", "c/1", "--content-type", "text/plain", "--json", *s)
            c.check(r.returncode == 0 and json.loads(r.stdout)["created"] is True, f"create: {r.stdout!r}")
            r = run(dsx, "session", "create", "c/1", "--content-type", "text/plain", "--json", *s)
            c.check(r.returncode == 0 and json.loads(r.stdout)["created"] is False, "create again: idempotent")
            r = run(dsx, "session", "create", "c/1", "--content-type", "application/json", *s)
            c.check(r.returncode == 4, f"create conflict: exit 4 (got {r.returncode}: {r.stderr!r})")
            r = run(dsx, "session", "publish", "c/1", "--create", "--content-type", "application/json", *s, input=b"1\n")
            c.check(r.returncode == 4, f"publish --create with another type: exit 4 (got {r.returncode})")
            r = run(dsx, "session", "publish", "c/1", "--close", *s, input=b"last words")
            c.check(r.returncode == 0, f"publish --close: {r.stderr!r}")
            r = run(dsx, "session", "publish", "c/1", *s, input=b"more")
            c.check(r.returncode == 4 and b"closed" in r.stderr, f"publish to closed: exit 4 ({r.returncode} {r.stderr!r})")
            r = run(dsx, "session", "tail", "c/1", "--follow", *s, timeout=20)
            c.check(r.returncode == 0 and r.stdout == b"last words", f"tail --follow of a closed stream exits 0")
            info = json.loads(run(dsx, "session", "info", "c/1", "--json", *s).stdout)
            c.check(info["closed"] is True and info["content_type"] == "text/plain", f"info --json: {info}")
            r = run(dsx, "session", "delete", "c/1", "--json", *s)
            c.check(r.returncode == 0 and json.loads(r.stdout)["deleted"] is True, "delete --json")
            for args, why in ((["tail", "a//b"], "bad name"), (["tail", "x", "--from", "1,2"], "bad --from"),
                              (["tail", "x", "--json", "--jsonl"], "exclusive flags"),
                              (["publish", "x", "--ttl", "5"], "--ttl without --create"),
                              (["tail", "x", "--live", "carrier-pigeon"], "bad --live")):
                r = run(dsx, "session", *args, *s, input=b"")
                c.check(r.returncode == 2, f"usage ({why}): exit 2 (got {r.returncode}: {r.stderr!r})")
        finally:
            server.stop()


def scenario_jsonl(dsx, c):
    with tempdir("dsx-jsonl-") as data:
        server = DsxServer(dsx, data_dir=data).start()
        try:
            s = ["--server", server.url]
            msgs = [{"role": "user", "text": "hi, \"there\"\n"}, [1, 2, [3]], "plain", 42, 2.5, True, None,
                    {"unicode": "\u00e9\u20ac\U0001f600"}]
            body = b"".join(json.dumps(m).encode() + b"\n" for m in msgs)
            r = run(dsx, "session", "publish", "l/1", "--create", "--content-type", "application/json", "--close", *s,
                    input=body)
            c.check(r.returncode == 0, f"publish: {r.stderr!r}")
            check = ("import sys, json\n"
                     "msgs = [json.loads(l) for l in sys.stdin]\n"
                     "json.dump(msgs, sys.stdout)\n")
            tail = subprocess.Popen([dsx, "session", "tail", "l/1", "--jsonl", "--follow", *s], stdout=subprocess.PIPE)
            py = subprocess.run(["/usr/bin/python3", "-c", check], stdin=tail.stdout, capture_output=True, timeout=30)
            tail.stdout.close()
            tail.wait(timeout=30)
            c.check(tail.returncode == 0, f"tail --jsonl exit 0 (got {tail.returncode})")
            c.check(py.returncode == 0, f"every line parses as JSON: {py.stderr!r}")
            c.check(py.returncode == 0 and json.loads(py.stdout) == msgs, "messages equal the input")
            r = run(dsx, "session", "tail", "l/1", "--json", *s)
            recs = [json.loads(l) for l in r.stdout.splitlines()]
            c.check(r.returncode == 0 and [m for rec in recs for m in rec["data"]] == msgs,
                    "--json records carry the messages")
            c.check(all("offset" in rec for rec in recs), "--json records carry offsets")
            r = run(dsx, "session", "tail", "l/1", "--from", recs[0]["offset"], "--jsonl", *s)
            c.check(r.returncode == 0, "--from a returned offset works")
            r = run(dsx, "session", "create", "l/text", "--content-type", "text/plain", *s)
            r = run(dsx, "session", "tail", "l/text", "--jsonl", *s)
            c.check(r.returncode == 0 or r.returncode == 1, "--jsonl on a text stream ends")
            c.check(r.returncode == 1 and b"--jsonl needs a JSON stream" in r.stderr,
                    f"--jsonl on a text stream is refused: {r.stderr!r}")
        finally:
            server.stop()


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    dsx, scenario = sys.argv[1], sys.argv[2]
    c = Checker()
    {"e2e": scenario_e2e, "json-bad": scenario_json_bad, "exit-codes": scenario_exit_codes,
     "jsonl": scenario_jsonl}[scenario](dsx, c)
    return c.done()


if __name__ == "__main__":
    sys.exit(main())

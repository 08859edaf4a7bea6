#!/usr/bin/python3
"""`dsx audit` on hostile input: it must finish (exit 0), report what it could not read, and still
find what the readable files say.

Builds a temporary tree with: a file with syntax errors (that still holds a detectable trap: a
partial parse, listed apart from what could not be read), a
binary .js, a 3 MiB .ts (over the 2 MiB default), a directory symlink loop, a self-referencing
symlink, a broken symlink, an unreadable file (skipped as root, who can read anything), an
invalid package.json, invalid UTF-8, and a 60,000-deep nesting of brackets.

Usage: malformed.py DSX
"""
import json
import os
import subprocess
import sys
import tempfile
import time


def main():
    dsx = sys.argv[1]
    errors = []
    with tempfile.TemporaryDirectory() as root:
        app = os.path.join(root, "app")
        os.makedirs(os.path.join(app, "api"))
        with open(os.path.join(app, "api", "route.ts"), "w") as f:
            f.write("import { streamText } from 'ai';\n"
                    "export async function POST(req: Request) {\n"
                    "  const result = streamText({ model, messages: [ });\n"   # syntax error
                    "  return result.toUIMessageStreamResponse();\n"
                    "}\n")
        with open(os.path.join(app, "blob.js"), "wb") as f:
            f.write(b"\x7fELF\x00\x01\x02" + os.urandom(4096))
        with open(os.path.join(app, "huge.ts"), "w") as f:
            line = "export const x = 'a very long line of generated code that nobody should parse';\n"
            f.write(line * (3 * 1024 * 1024 // len(line) + 1))
        os.symlink(".", os.path.join(app, "loop"))
        os.symlink("self.ts", os.path.join(app, "self.ts"))
        os.symlink("missing.ts", os.path.join(app, "broken.ts"))
        secret = os.path.join(app, "secret.ts")
        with open(secret, "w") as f:
            f.write("export const s = 1;\n")
        os.chmod(secret, 0)
        with open(os.path.join(app, "package.json"), "w") as f:
            f.write('{"dependencies": {"ai": "^5.0.0",,}')
        with open(os.path.join(app, "latin1.py"), "wb") as f:
            f.write(b"# caf\xe9\nx = '\xff\xfe'\n")
        with open(os.path.join(app, "deep.js"), "w") as f:
            f.write("x = " + "[" * 60000 + "]" * 60000 + ";\n")

        t0 = time.time()
        try:
            proc = subprocess.run([dsx, "audit", app, "--format", "json"], capture_output=True, text=True, timeout=120)
        except subprocess.TimeoutExpired:
            print("dsx audit did not finish within 120 s")
            return 1
        wall = time.time() - t0
        if proc.returncode != 0:
            print(f"dsx audit exited {proc.returncode}: {proc.stderr.strip()}")
            return 1
        report = json.loads(proc.stdout)
        skipped = {s["path"]: s["reason"] for s in report["skipped"]}
        # A file with syntax errors is partially parsed and still checked: it belongs in
        # partial_parses (with the first error's line), not among the unreadable files.
        partial = {p["path"]: p["line"] for p in report.get("partial_parses", [])}
        if partial.get("api/route.ts") != 3:
            errors.append(f"api/route.ts: not reported as partially parsed at line 3 (partial_parses: {partial})")
        if "api/route.ts" in skipped:
            errors.append(f"api/route.ts: reported as not read ({skipped['api/route.ts']}) though it was checked")
        if report["stats"].get("files_partial") != len(partial):
            errors.append(f"stats.files_partial {report['stats'].get('files_partial')} != {len(partial)}")
        want = {
            "blob.js": "binary",
            "huge.ts": "larger than",
            "loop": "symlink loop",
            "self.ts": "symlink",
            "broken.ts": "symlink",
            "package.json": "invalid JSON",
        }
        if os.geteuid() != 0:
            want["secret.ts"] = "cannot read"
        for path, reason in want.items():
            if path not in skipped:
                errors.append(f"{path}: not reported as skipped (skipped: {skipped})")
            elif reason not in skipped[path]:
                errors.append(f"{path}: reason '{skipped[path]}' lacks '{reason}'")
        ids = [f["id"] for f in report["failure_modes"]]
        if "single_connection_trap" not in ids:
            errors.append(f"the trap in the file with syntax errors was not found (failure modes: {ids})")
        text = subprocess.run([dsx, "audit", app], capture_output=True, text=True, timeout=120)
        if text.returncode != 0 or "could not read" not in text.stdout:
            errors.append("text output does not list what could not be read")
        if "parsed with syntax errors, still checked (1):\n  api/route.ts:3\n" not in text.stdout:
            errors.append("text output does not list the partial parse on its own")
        os.chmod(secret, 0o600)
    for e in errors:
        print(e)
    print(f"malformed input: {'ok' if not errors else 'FAILED'} ({wall:.2f} s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

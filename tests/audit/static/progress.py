#!/usr/bin/python3
"""`dsx audit` shows its progress on stderr when stderr is a terminal, and only then (issue 18).

Usage: progress.py DSX

On a generated tree (files in a temp dir), with stderr on a pseudo-terminal and stdout a pipe:
the line names the phases and counts ("parsing N/N files"), is redrawn in place (\\r, erase to
end of line) and cleared before exit, and the report on stdout is the same as without a terminal.
With -q/--quiet (before or after `audit`) on the terminal, and with stderr a pipe, nothing is written to stderr.
"""
import os
import pty
import re
import select
import subprocess
import sys
import tempfile

ROUTE = """import {{ openai }} from '@ai-sdk/openai';
import {{ streamText }} from 'ai';

export async function POST(req: Request) {{
  const {{ messages }} = await req.json();
  const result = streamText({{ model: openai('gpt-4o-mini'), messages }});
  return result.toUIMessageStreamResponse();
}}
"""
UTIL = "export function util{n}(xs: number[]) {{ return xs.map((x) => x * {n}); }}\n"


def generate(root, routes, utils):
    os.makedirs(root)
    with open(os.path.join(root, "package.json"), "w") as f:
        f.write('{"name": "gen", "dependencies": {"ai": "5.0.0", "@ai-sdk/openai": "2.0.0"}}\n')
    for i in range(routes):
        d = os.path.join(root, "app", "api", f"r{i}")
        os.makedirs(d)
        with open(os.path.join(d, "route.ts"), "w") as f:
            f.write(ROUTE.format())
    os.makedirs(os.path.join(root, "lib"))
    for i in range(utils):
        with open(os.path.join(root, "lib", f"util{i}.ts"), "w") as f:
            f.write(UTIL.format(n=i))
    return routes + utils


def run_on_pty(cmd):
    """Runs cmd with stderr on a new pty and stdout on a pipe: (exit code, stdout, pty bytes)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    seen = b""
    out = b""
    fds = [master, proc.stdout.fileno()]
    while fds:
        ready, _, _ = select.select(fds, [], [], 120)
        if not ready:
            proc.kill()
            raise RuntimeError("dsx audit did not finish in 120 s")
        for fd in ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the pty's other end is closed
                chunk = b""
            if not chunk:
                fds.remove(fd)
            elif fd == master:
                seen += chunk
            else:
                out += chunk
    os.close(master)
    return proc.wait(), out.decode(), seen.decode(errors="replace")


def main():
    dsx = sys.argv[1]
    errors = []
    with tempfile.TemporaryDirectory(prefix="dsx-progress-") as tmp:
        tree = os.path.join(tmp, "tree")
        n = generate(tree, routes=300, utils=1200)

        plain = subprocess.run([dsx, "audit", tree], capture_output=True, text=True, timeout=120)
        if plain.returncode != 0:
            errors.append(f"dsx audit (no terminal): exit {plain.returncode}: {plain.stderr}")
        if plain.stderr:
            errors.append(f"no terminal, yet stderr has {plain.stderr[:200]!r}")

        code, out, tty = run_on_pty([dsx, "audit", tree])
        if code != 0:
            errors.append(f"dsx audit (stderr a terminal): exit {code}")
        if not re.search(rf"dsx audit: parsing {n}/{n} files \(100%\)", tty):
            errors.append(f"the terminal never showed 'parsing {n}/{n} files (100%)': {tty[-300:]!r}")
        if "dsx audit: finding files" not in tty:
            errors.append(f"the terminal never showed the 'finding files' phase: {tty[:300]!r}")
        if "\n" in tty.replace("\r\n", "\n").strip("\n"):
            errors.append(f"the progress line is not redrawn in place (newlines): {tty[:300]!r}")
        if not tty.endswith("\r\x1b[K"):
            errors.append(f"the progress line is not cleared at the end: {tty[-80:]!r}")
        # The report itself does not change (the time in the last line aside).
        strip = lambda s: re.sub(r"[0-9.]+ s\n$", "", s)
        if strip(out) != strip(plain.stdout):
            errors.append("stdout differs with stderr on a terminal")

        for quiet in ([dsx, "audit", tree, "--quiet"], [dsx, "-q", "audit", tree], [dsx, "audit", "-q", tree]):
            code, out, tty = run_on_pty(quiet)
            if code != 0 or tty:
                errors.append(f"{' '.join(quiet[1:])} on a terminal: exit {code}, stderr {tty[:200]!r}")

    for e in errors:
        print(e)
    print("progress: " + ("ok" if not errors else "FAILED"))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

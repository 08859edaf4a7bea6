#!/usr/bin/python3
"""Runs `--help` on dsx and on every (sub)command it lists, recursively (git's t0012-help).

Each must exit 0, print a 'Usage:' line on stdout and nothing on stderr. Subcommands are
read from the 'Subcommands:' section of CLI11's help output.
Usage: help_test.py DSX
"""
import subprocess
import sys


def subcommands(help_text):
    names, in_section = [], False
    for line in help_text.splitlines():
        if line.startswith("Subcommands:"):
            in_section = True
            continue
        if in_section:
            if not line.strip() or not line.startswith("  "):
                if names:
                    break
                continue
            if line.startswith("   "):  # a wrapped description line
                continue
            names.append(line.split()[0])
    return names


def main():
    dsx = sys.argv[1]
    failures, checked = [], 0
    queue = [[]]
    while queue:
        path = queue.pop(0)
        r = subprocess.run([dsx, *path, "--help"], capture_output=True, timeout=30)
        checked += 1
        out = r.stdout.decode(errors="replace")
        what = "dsx " + " ".join(path + ["--help"])
        if r.returncode != 0 or "Usage:" not in out or r.stderr:
            failures.append(f"{what}: exit {r.returncode}, stderr {r.stderr[:200]!r}")
            continue
        queue.extend(path + [name] for name in subcommands(out))
    for f in failures:
        print("FAIL:", f, file=sys.stderr)
    print(f"{checked} help pages checked, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

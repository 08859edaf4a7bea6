#!/usr/bin/python3
"""Text and markdown reports stay small on a big tree; --json keeps every list (issue 18).

Usage: bounded_text.py DSX

A 20,000-file tree once gave a 1.8 MB text report with one 652 KB line. Here a generated tree of
a few thousand files (in a temp dir) has 1,200 streaming routes (evidence and migration files),
1,500 binary files (not read) and 400 files with syntax errors (parsed partially). Every list in
the text and markdown reports must show its count, at most ten entries and "... and N more (see
--json)"; the JSON report has them all.
"""
import json
import os
import subprocess
import sys
import tempfile

ROUTE = """import { openai } from '@ai-sdk/openai';
import { streamText } from 'ai';

export async function POST(req: Request) {
  const { messages } = await req.json();
  const result = streamText({ model: openai('gpt-4o-mini'), messages });
  return result.toUIMessageStreamResponse();
}
"""
BROKEN = "export function broken(x: number {\n  return x +;\n}\n"

ROUTES, BINARY, BROKEN_FILES = 1200, 1500, 400
MAX_BYTES = 16 * 1024  # the whole report
MAX_LINE = 1000        # any one line


def write(path, data, mode="w"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, mode) as f:
        f.write(data)


def main():
    dsx = sys.argv[1]
    errors = []
    with tempfile.TemporaryDirectory(prefix="dsx-bounded-") as tree:
        write(f"{tree}/package.json", '{"name": "big", "dependencies": {"ai": "5.0.0", "@ai-sdk/openai": "2.0.0"}}\n')
        for i in range(ROUTES):
            write(f"{tree}/app/api/r{i:04}/route.ts", ROUTE)
        for i in range(BINARY):
            write(f"{tree}/assets/blob{i:04}.ts", b"\x00\x01binary" * 8, "wb")
        for i in range(BROKEN_FILES):
            write(f"{tree}/lib/broken{i:04}.ts", BROKEN)

        j = json.loads(subprocess.run([dsx, "audit", tree, "--json"], capture_output=True, text=True,
                                      timeout=300).stdout)
        if len(j["skipped"]) != BINARY:
            errors.append(f"json: {len(j['skipped'])} skipped, want {BINARY} (all of them)")
        if len(j["partial_parses"]) != BROKEN_FILES:
            errors.append(f"json: {len(j['partial_parses'])} partial parses, want {BROKEN_FILES}")
        evidence = max((len(f["evidence"]) for f in j["failure_modes"]), default=0)
        files = max((len(s["files"]) for s in j["migration_plan"]), default=0)
        if evidence < ROUTES or files < ROUTES:
            errors.append(f"json: longest evidence list {evidence}, longest step file list {files}; want >= {ROUTES}")

        for fmt in ("text", "markdown"):
            proc = subprocess.run([dsx, "audit", tree, "--format", fmt], capture_output=True, text=True, timeout=300)
            out = proc.stdout
            if proc.returncode != 0:
                errors.append(f"{fmt}: exit {proc.returncode}: {proc.stderr.strip()}")
                continue
            longest = max(out.splitlines(), key=len)
            if len(out.encode()) > MAX_BYTES:
                errors.append(f"{fmt}: {len(out.encode())} bytes, want at most {MAX_BYTES}")
            if len(longest) > MAX_LINE:
                errors.append(f"{fmt}: a {len(longest)}-character line: {longest[:120]}...")
            for n, what in ((BINARY - 10, "files not read"), (BROKEN_FILES - 10, "partial parses"),
                            (evidence - 6, "failure mode evidence"), (files - 10, "migration step files")):
                if f"... and {n} more (see --json)" not in out:
                    errors.append(f"{fmt}: no '... and {n} more (see --json)' for the {what}")
            if f"({BINARY})" not in out or f"({BROKEN_FILES})" not in out:
                errors.append(f"{fmt}: the counts ({BINARY}, {BROKEN_FILES}) are not shown")
            if "assets/blob0009.ts" not in out or "assets/blob0010.ts" in out:
                errors.append(f"{fmt}: not exactly the first ten files not read")

    for e in errors:
        print(e)
    print("bounded text: " + ("ok" if not errors else "FAILED"))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Generate a synthetic repository for timing `dsx audit` (and optionally time it).

  gen_repo.py OUT_DIR [--files 5000] [--dsx PATH]

The tree mixes TS/TSX/JS/Python files of realistic size (80-250 lines: route handlers, React
components, FastAPI endpoints, utilities), a node_modules/ and a .gitignore'd dist/ that the audit
must skip (another 2,000 files), and manifests. With --dsx it runs `dsx audit OUT_DIR --json` and
prints one line: files, seconds (wall), files/s. No timing assertion: numbers are reported only.
"""
import argparse
import json
import os
import random
import subprocess
import time

TS_ROUTE = """import {{ openai }} from '@ai-sdk/openai';
import {{ streamText, convertToModelMessages }} from 'ai';

export const maxDuration = 60;

export async function POST(req: Request) {{
  const {{ messages }} = await req.json();
  const result = streamText({{ model: openai('gpt-4o-mini'), messages: convertToModelMessages(messages) }});
  return result.toUIMessageStreamResponse();
}}
"""

TSX_COMPONENT = """'use client';
import {{ useState, useEffect }} from 'react';

type Props{n} = {{ title: string; items: string[] }};

export function Widget{n}({{ title, items }}: Props{n}) {{
  const [open, setOpen] = useState(false);
  useEffect(() => {{ document.title = title; }}, [title]);
  return (
    <section className="widget-{n}">
      <h2 onClick={{() => setOpen(!open)}}>{{title}}</h2>
      {{open && <ul>{{items.map((it) => <li key={{it}}>{{it}}</li>)}}</ul>}}
    </section>
  );
}}
"""

JS_UTIL = """export function util{n}(xs) {{
  const out = [];
  for (const x of xs) {{
    if (typeof x === 'number' && x % {m} === 0) out.push(x * 2);
    else if (typeof x === 'string') out.push(x.trim().toLowerCase());
  }}
  return out.sort();
}}
"""

PY_ENDPOINT = """from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse

app = FastAPI()


def helper_{n}(values: list[int]) -> int:
    total = 0
    for v in values:
        if v % {m} == 0:
            total += v
    return total


@app.post("/chat/{n}")
async def chat_{n}(request: Request):
    body = await request.json()

    async def gen():
        for i in range(10):
            yield f"data: {{i}}\\n\\n"

    return StreamingResponse(gen(), media_type="text/event-stream")
"""


def body(kind, n):
    m = 3 + n % 7
    if kind == "route":
        return TS_ROUTE.format(n=n) + "\n".join(JS_UTIL.format(n=f"{n}_{k}", m=m) for k in range(8))
    if kind == "tsx":
        return TSX_COMPONENT.format(n=n) + "\n".join(JS_UTIL.format(n=f"{n}_{k}", m=m) for k in range(6))
    if kind == "js":
        return "\n".join(JS_UTIL.format(n=f"{n}_{k}", m=m) for k in range(12))
    return PY_ENDPOINT.format(n=n, m=m) + "\n".join(f"\n\ndef extra_{n}_{k}(x):\n    return [y * {m} for y in x if y]\n" for k in range(10))


def generate(out, files):
    rnd = random.Random(42)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, ".gitignore"), "w") as f:
        f.write("dist/\n*.log\n")
    with open(os.path.join(out, "package.json"), "w") as f:
        json.dump({"name": "bench", "dependencies": {"ai": "^5.0.0", "@ai-sdk/react": "^2.0.0"}}, f)
    kinds = ["route", "tsx", "js", "py"]
    ext = {"route": "route.ts", "tsx": "tsx", "js": "js", "py": "py"}
    for i in range(files):
        kind = kinds[i % 4]
        d = os.path.join(out, "src", f"pkg{i % 50}", f"mod{i % 17}")
        if kind == "route":
            d = os.path.join(out, "app", "api", f"r{i}")
        os.makedirs(d, exist_ok=True)
        name = "route.ts" if kind == "route" else f"f{i}.{ext[kind]}"
        with open(os.path.join(d, name), "w") as f:
            f.write(body(kind, i))
    for skipped in ("node_modules/lib", "dist/chunks"):
        d = os.path.join(out, skipped)
        os.makedirs(d, exist_ok=True)
        for i in range(1000):
            with open(os.path.join(d, f"x{i}.js"), "w") as f:
                f.write(body("js", i))
    _ = rnd


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--files", type=int, default=5000)
    ap.add_argument("--dsx")
    a = ap.parse_args()
    t0 = time.time()
    generate(a.out, a.files)
    gen_s = time.time() - t0
    if not a.dsx:
        print(f"generated {a.files} files in {gen_s:.1f} s under {a.out}")
        return 0
    t0 = time.time()
    proc = subprocess.run([a.dsx, "audit", a.out, "--json"], capture_output=True, text=True)
    wall = time.time() - t0
    if proc.returncode != 0:
        print(f"dsx audit failed ({proc.returncode}): {proc.stderr.strip()}")
        return 1
    report = json.loads(proc.stdout)
    st = report["stats"]
    print(f"audit: {st['files_seen']} files seen, {st['files_parsed']} parsed, {st['facts']} facts, "
          f"{wall:.2f} s wall ({st['seconds']} s in-process), {st['files_parsed'] / max(wall, 1e-9):.0f} files/s, "
          f"{os.cpu_count()} CPUs")
    if st["files_seen"] < a.files:
        print(f"expected at least {a.files} files seen")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

#!/usr/bin/python3
"""The text report shows the line that decides a verdict, not only `--facts` (issue 18).

Usage: deciding_line.py DSX APPS_DIR

aisdk-half-wired: resilient delivery is "no" because the resume route is a constant 204
(server.resume_endpoint=stub_204 at app/api/chat/[id]/stream/route.ts:3). That line must be
printed under the capability (the unmet "serves the log back" criterion, and the cap), and under
the half_wired_resume failure mode; JSON carries it as the criterion's `against` evidence.
aisdk-abort-signal: distinguish is not yes because the model call takes the request's abort
signal (server.cancel_on_disconnect): that line is printed under the unmet criterion.
"""
import json
import subprocess
import sys


def run(*args):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=120)


def section(text, start, end):
    a = text.find(start)
    b = text.find(end, a + 1) if a >= 0 else -1
    return text[a:b] if a >= 0 and b > a else ""


def main():
    dsx, apps = sys.argv[1], sys.argv[2]
    errors = []
    app = f"{apps}/aisdk-half-wired"
    stub = "app/api/chat/[id]/stream/route.ts:3"
    text = run(dsx, "audit", app).stdout
    rd = section(text, "Resilient delivery:", "Continuity across surfaces:")
    if f"against: {stub}" not in rd or "status: 204" not in rd:
        errors.append(f"resilient delivery does not show the 204 route as what decided it:\n{rd}")
    if f"capped at 25 by half_wired_resume at {stub}" not in rd:
        errors.append("the cap by half_wired_resume does not name the line that found it")
    fm = section(text, "half_wired_resume (high)", "sse_resume_cancel_conflict")
    if stub not in fm:
        errors.append(f"half_wired_resume's evidence lacks {stub}:\n{fm}")
    j = json.loads(run(dsx, "audit", app, "--json").stdout)
    crit = {c["id"]: c for c in j["capabilities"]["resilient_delivery"]["criteria"]}
    against = [f"{e['file']}:{e['line']}" for c in crit.values() if not c["met"] for e in c.get("against", [])]
    if stub not in against:
        errors.append(f"json: no unmet resilient_delivery criterion has {stub} as 'against' evidence ({against})")
    for c in j["capabilities"]["resilient_delivery"]["criteria"]:
        if c["met"] and c.get("against"):
            errors.append(f"json: met criterion {c['id']} has 'against' evidence")

    app = f"{apps}/aisdk-abort-signal"
    j = json.loads(run(dsx, "audit", app, "--json").stdout)
    dist = j["capabilities"]["live_control"]["distinguish"]
    against = [e for c in dist["criteria"] if not c["met"] for e in c.get("against", [])]
    if not any(e.get("fact", "").startswith("server.cancel_on_disconnect") for e in against):
        errors.append(f"aisdk-abort-signal: distinguish's unmet criterion does not name the abort signal line ({against})")
    else:
        line = next(e for e in against if e["fact"].startswith("server.cancel_on_disconnect"))
        where = f"against: {line['file']}:{line['line']}"
        if where not in run(dsx, "audit", app).stdout:
            errors.append(f"aisdk-abort-signal: the text report lacks '{where}'")

    for e in errors:
        print(e)
    print("deciding line: " + ("ok" if not errors else "FAILED"))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Check `dsx audit APP --format json` against APP/expected.yaml, exactly.

expected.yaml:
  capabilities:
    resilient_delivery: {verdict: partial, score: 70}
    continuity: {verdict: partial, score: 80}
    live_control: {verdict: "no", score: 30, stop: "no", distinguish: "no", steer: "no"}
  failure_modes:                 # exactly these ids, each with exactly these evidence lines
    sse_resume_cancel_conflict: [app/api/chat/route.ts:15, app/chat/page.tsx:8]
  skipped:                       # optional: exactly these paths, each reason containing the text
    - {path: blob.bin, reason: binary}
  partial_parses: [app/page.tsx:12]   # optional: exactly these files parsed with errors (first error line)
  notes: 1                       # optional: number of notes
  migration:                     # optional: these steps (by id) have this status and exactly these files
    redirect_agents: {status: todo, files: [app/api/chat/route.ts], action_has: [app/api/chat/route.ts]}
    design_session_layer: {status: done}
  # files are compared in order (most relevant first); action_has: texts the action must contain.
  # `migration: {}` means the plan must be empty (undetermined apps have none).
  score: 37                      # optional: the overall score (null when nothing was scored)
  fixes:                         # optional: a failure mode's, capability's or part's fixes, exactly, best first
    single_connection_trap: [llm_proxy app/api/chat/route.ts:8, ai_sdk_transport app/page.tsx:7]
    live_control.stop: [ai_sdk_transport app/page.tsx:7]
    continuity: []               # no fix (a yes verdict has none)
  fix_has:                       # optional: texts the FIRST fix's change must contain
    single_connection_trap: ["SERVER/llm/v1", "app/api/chat/route.ts:8"]
A verdict may be `undetermined`; its score is then null (`score: null`).

Usage: check_app.py DSX APP_DIR [--rules DIR]
Prints every mismatch; exit 0 when none.
"""
import json
import subprocess
import sys

import yaml


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    dsx, app = sys.argv[1], sys.argv[2]
    extra = sys.argv[3:]
    with open(f"{app}/expected.yaml") as f:
        want = yaml.safe_load(f)
    proc = subprocess.run([dsx, "audit", app, "--format", "json", *extra], capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        print(f"dsx audit exited {proc.returncode}: {proc.stderr.strip()}")
        return 1
    got = json.loads(proc.stdout)
    errors = []

    for cap, exp in want.get("capabilities", {}).items():
        g = got["capabilities"].get(cap)
        if g is None:
            errors.append(f"{cap}: missing from the report")
            continue
        if str(exp["verdict"]) != g["verdict"]:
            errors.append(f"{cap}: verdict {g['verdict']}, expected {exp['verdict']} ({g['verdict_rule']})")
        if "score" in exp and exp["score"] != g["score"]:
            errors.append(f"{cap}: score {g['score']}, expected {exp['score']} ({g['derivation']})")
        for part in ("stop", "distinguish", "steer"):
            if part in exp and str(exp[part]) != g[part]["verdict"]:
                errors.append(f"{cap}.{part}: verdict {g[part]['verdict']}, expected {exp[part]} ({g[part]['verdict_rule']})")

    if "score" in want and want["score"] != got["score"]:
        errors.append(f"overall score {got['score']}, expected {want['score']}")

    exp_fm = want.get("failure_modes") or {}
    got_fm = {f["id"]: sorted(f"{e['file']}:{e['line']}" for e in f["evidence"]) for f in got["failure_modes"]}
    for fid in sorted(set(exp_fm) | set(got_fm)):
        if fid not in got_fm:
            errors.append(f"failure mode {fid}: expected, not found")
        elif fid not in exp_fm:
            errors.append(f"failure mode {fid}: found, not expected (evidence {got_fm[fid]})")
        elif sorted(exp_fm[fid] or []) != got_fm[fid]:
            errors.append(f"failure mode {fid}: evidence {got_fm[fid]}, expected {sorted(exp_fm[fid] or [])}")

    if "skipped" in want:
        exp_sk = {s["path"]: s["reason"] for s in want["skipped"] or []}
        got_sk = {s["path"]: s["reason"] for s in got["skipped"]}
        for path in sorted(set(exp_sk) | set(got_sk)):
            if path not in got_sk:
                errors.append(f"skipped {path}: expected, not reported")
            elif path not in exp_sk:
                errors.append(f"skipped {path}: reported ({got_sk[path]}), not expected")
            elif exp_sk[path] not in got_sk[path]:
                errors.append(f"skipped {path}: reason '{got_sk[path]}' lacks '{exp_sk[path]}'")
    if "partial_parses" in want:
        exp_pp = sorted(want["partial_parses"] or [])
        got_pp = sorted(f"{p['path']}:{p['line']}" for p in got.get("partial_parses", []))
        if exp_pp != got_pp:
            errors.append(f"partial_parses: {got_pp}, expected {exp_pp}")
    if "migration" in want:
        exp_mig = want["migration"] or {}
        got_mig = {s["id"]: s for s in got["migration_plan"]}
        if not exp_mig and got_mig:
            errors.append(f"migration: expected no plan, got {sorted(got_mig)}")
        for sid, exp in exp_mig.items():
            g = got_mig.get(sid)
            if g is None:
                errors.append(f"migration step {sid}: missing from the plan")
                continue
            if "status" in exp and exp["status"] != g["status"]:
                errors.append(f"migration step {sid}: status {g['status']}, expected {exp['status']} ({g['action']})")
            if "files" in exp and list(exp["files"] or []) != g["files"]:
                errors.append(f"migration step {sid}: files {g['files']}, expected {list(exp['files'] or [])}")
            for text in exp.get("action_has", []):
                if text not in g["action"]:
                    errors.append(f"migration step {sid}: action lacks '{text}' ({g['action']})")
    # Fixes (issue 17): "KIT FILE:LINE" each, in order; "fix" must be the first of "fixes".
    def fixes_of(key):
        if key in got_fm:
            return next(f for f in got["failure_modes"] if f["id"] == key)
        cap, _, part = key.partition(".")
        c = got["capabilities"].get(cap)
        if c is None:
            return None
        return c.get(part) if part else c

    for key, exp in (want.get("fixes") or {}).items():
        owner = fixes_of(key)
        if owner is None:
            errors.append(f"fixes of {key}: no such failure mode, capability or part in the report")
            continue
        got_fx = [f"{f['kit']} {f['file']}:{f['line']}" if f["file"] else f["kit"] for f in owner.get("fixes", [])]
        if list(exp or []) != got_fx:
            errors.append(f"fixes of {key}: {got_fx}, expected {list(exp or [])}")
        first = owner.get("fixes", [None])[0] if owner.get("fixes") else None
        if owner.get("fix") != first:
            errors.append(f"fixes of {key}: 'fix' is not the first of 'fixes'")
        for f in owner.get("fixes", []):
            if not f["change"] or not f["kit_name"] or "\n" in f["change"]:
                errors.append(f"fixes of {key}: a fix without a one-line change or kit name: {f}")
    for key, texts in (want.get("fix_has") or {}).items():
        owner = fixes_of(key)
        change = (owner or {}).get("fix") or {}
        for text in texts:
            if text not in change.get("change", ""):
                errors.append(f"fix of {key}: change lacks '{text}' ({change.get('change')})")
    if "notes" in want and want["notes"] != len(got["notes"]):
        errors.append(f"notes: {len(got['notes'])} ({got['notes']}), expected {want['notes']}")

    for e in errors:
        print(f"{app}: {e}")
    if not errors:
        print(f"{app}: ok ({got['stats']['files_seen']} files, {got['stats']['facts']} facts, {got['stats']['seconds']} s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

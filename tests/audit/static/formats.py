#!/usr/bin/python3
"""Every output format of `dsx audit` on one fixture app, and --fail-under's exit codes.

Usage: formats.py DSX APPS_DIR
"""
import json
import subprocess
import sys


def run(*args):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=120)


def main():
    dsx, apps = sys.argv[1], sys.argv[2]
    trap, good = f"{apps}/aisdk-trap", f"{apps}/dsx-client"
    errors = []

    text = run(dsx, "audit", trap)
    for want in ("Resilient delivery: no", "single_connection_trap", "migration plan:", "app/api/chat/route.ts:7"):
        if want not in text.stdout:
            errors.append(f"text output lacks '{want}'")
    md = run(dsx, "audit", trap, "--format", "markdown")
    for want in ("# dsx audit", "| Capability | Verdict | Score |", "### Failure modes", "### Migration plan"):
        if want not in md.stdout:
            errors.append(f"markdown output lacks '{want}'")

    sarif = json.loads(run(dsx, "audit", trap, "--format", "sarif").stdout)
    if sarif.get("version") != "2.1.0" or "sarif-2.1.0" not in sarif.get("$schema", ""):
        errors.append("sarif: wrong version or $schema")
    run0 = sarif["runs"][0]
    rules = [r["id"] for r in run0["tool"]["driver"]["rules"]]
    for res in run0["results"]:
        if res["ruleId"] not in rules or rules[res["ruleIndex"]] != res["ruleId"]:
            errors.append(f"sarif: result {res['ruleId']} has a bad ruleIndex")
        if res["level"] not in ("error", "warning", "note", "none"):
            errors.append(f"sarif: bad level {res['level']}")
        for loc in res.get("locations", []):
            region = loc["physicalLocation"].get("region", {})
            if region and region.get("startLine", 0) < 1:
                errors.append("sarif: startLine < 1")
    if "single_connection_trap" not in rules:
        errors.append("sarif: no rule for single_connection_trap")

    j = json.loads(run(dsx, "audit", trap, "--json").stdout)
    for key in ("resilient_delivery", "continuity", "live_control"):
        cap = j["capabilities"][key]
        if cap["verdict"] not in ("yes", "partial", "no") or not 0 <= cap["score"] <= 100 or "evidence" not in cap:
            errors.append(f"json: capabilities.{key} malformed")
    for part in ("stop", "distinguish", "steer"):
        if part not in j["capabilities"]["live_control"]:
            errors.append(f"json: live_control.{part} missing")
    if [f["id"] for f in j["failure_modes"]][:1] != ["single_connection_trap"]:
        errors.append("json: failure_modes[0] is not single_connection_trap")
    if len(j["migration_plan"]) != 10:
        errors.append("json: migration plan does not have ten steps")

    low = run(dsx, "audit", trap, "--fail-under", "50")
    if low.returncode != 1 or "below --fail-under" not in low.stderr:
        errors.append(f"--fail-under 50 on the trap app: exit {low.returncode}, stderr {low.stderr!r}")
    high = run(dsx, "audit", good, "--fail-under", "90")
    if high.returncode != 0:
        errors.append(f"--fail-under 90 on dsx-client: exit {high.returncode}")
    # Nothing to score (no streaming AI code): undetermined everywhere, and no CI gate passes on it.
    none = f"{apps}/no-ai-undetermined"
    gate = run(dsx, "audit", none, "--fail-under", "0")
    if gate.returncode != 1 or "nothing to score" not in gate.stderr:
        errors.append(f"--fail-under 0 on an undetermined app: exit {gate.returncode}, stderr {gate.stderr!r}")
    nj = json.loads(run(dsx, "audit", none, "--json").stdout)
    if nj["score"] is not None or any(c["verdict"] != "undetermined" or c["score"] is not None
                                      for c in nj["capabilities"].values()):
        errors.append(f"json: undetermined app has a score or a verdict ({nj['score']})")
    nt = run(dsx, "audit", none)
    if nt.returncode != 0 or "Resilient delivery: undetermined" not in nt.stdout or "nothing to score" not in nt.stdout:
        errors.append("text output of an undetermined app does not say so")
    nm = run(dsx, "audit", none, "--format", "markdown")
    if "| Resilient delivery | **undetermined** | - |" not in nm.stdout:
        errors.append("markdown output of an undetermined app does not say so")
    ns = json.loads(run(dsx, "audit", none, "--format", "sarif").stdout)
    if ns["runs"][0]["results"] or ns["runs"][0]["properties"]["score"] is not None:
        errors.append("sarif: an undetermined app has results or a score")
    # Its tests/ and scripts/ stream from a model: evidence only with --include-tests.
    inc = run(dsx, "audit", none, "--include-tests", "--json")
    if inc.returncode != 0 or json.loads(inc.stdout)["capabilities"]["resilient_delivery"]["verdict"] == "undetermined":
        errors.append(f"--include-tests did not take the test and script files as evidence (exit {inc.returncode})")

    # Fixes (issue 17): every format carries the kit piece and the app's file:line.
    if "fix: At app/api/chat/route.ts:8" not in text.stdout or "kit: durable LLM proxy" not in text.stdout \
            or "kit: @dsx/ai-sdk-transport" not in text.stdout:
        errors.append("text output lacks the fixes (proxy at app/api/chat/route.ts:8, transport)")
    if "*Fix* (durable LLM proxy" not in md.stdout or "**Fixes**" not in md.stdout:
        errors.append("markdown output lacks the fixes")
    sct = next((r for r in run0["results"] if r["ruleId"] == "single_connection_trap"), None)
    if not sct or "Fix (durable LLM proxy" not in sct["message"]["text"] \
            or sct["properties"]["fixes"][0]["file"] != "app/api/chat/route.ts" or sct["properties"]["fixes"][0]["line"] != 8:
        errors.append(f"sarif: single_connection_trap lacks its fix text and structured fixes ({sct})")
    fm0 = j["failure_modes"][0]
    if not fm0.get("fix") or set(fm0["fix"]) != {"kit", "kit_name", "file", "line", "change"} \
            or fm0["fix"]["kit"] != "llm_proxy" or fm0["fix"] != fm0["fixes"][0]:
        errors.append(f"json: failure_modes[0].fix malformed ({fm0.get('fix')})")
    if j["capabilities"]["continuity"]["fix"]["kit"] != "ai_sdk_transport":
        errors.append("json: continuity's fix is not the AI SDK transport")
    gj = json.loads(run(dsx, "audit", good, "--json").stdout)
    if any(c["fix"] is not None or c["fixes"] for c in gj["capabilities"].values()):
        errors.append("json: a yes capability carries a fix")

    # Fix rules are checked when loaded: an unknown fix id or kit is a usage error naming it.
    import os, shutil, tempfile
    rules_dir = os.environ.get("DSX_AUDIT_RULES")
    if rules_dir:
        with tempfile.TemporaryDirectory() as tmp:
            for case, edit, want in (
                    ("unknown fix id", lambda t: t.replace("fixes: [python_agent_loop,", "fixes: [no_such_fix, python_agent_loop,", 1),
                     "names fix 'no_such_fix'"),
                    ("unknown kit", lambda t: t.replace("kit: python_agent", "kit: teleport", 1), "unknown kit 'teleport'")):
                copy = f"{tmp}/{case.replace(' ', '-')}"
                shutil.copytree(rules_dir, copy)
                target = f"{copy}/capabilities/{'failure-modes' if 'id' in case else 'fixes'}.yaml"
                with open(target) as f:
                    text = f.read()
                with open(target, "w") as f:
                    f.write(edit(text))
                r = run(dsx, "audit", trap, "--rules", copy)
                if r.returncode != 2 or want not in r.stderr:
                    errors.append(f"rules with an {case}: exit {r.returncode}, stderr {r.stderr.strip()!r}")

    bad = run(dsx, "audit", trap, "--format", "xml")
    if bad.returncode != 2:
        errors.append(f"--format xml: exit {bad.returncode}, want 2")
    missing = run(dsx, "audit", f"{apps}/no-such-app")
    if missing.returncode != 3 or not missing.stderr.startswith("dsx: "):
        errors.append(f"missing path: exit {missing.returncode}, stderr {missing.stderr!r}")

    for e in errors:
        print(e)
    print("formats: " + ("ok" if not errors else "FAILED"))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

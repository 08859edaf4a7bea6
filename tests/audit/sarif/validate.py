#!/usr/bin/python3
"""Every SARIF log `dsx audit` writes in the tests is one code-scanning services accept (issue 18).

Usage: validate.py DSX APPS_DIR [MULTITOOL_DIR]

Produces SARIF from every fixture app in APPS_DIR (relative paths, as a CI job runs it), and from
copies of two of them in a temp dir whose path has a space and non-ASCII ("my app/é"), each with
an extra file whose own name has both ("ché t") and one whose name is not UTF-8 (Latin-1
"caf\xe9 x"), audited by absolute path and by relative path. Then:

1. explicit checks, always: every result has exactly one location with a region; every URI is an
   RFC 3986 reference (percent-encoded); %SRCROOT% is an absolute file:/// URI ending in '/' that
   names the audited folder; tool.driver has fullName and informationUri, every rule a helpUri,
   the run an automationDetails.id (the GitHub rules GH1015/GH1017/GH2012 and SARIF1002 in short);
2. @microsoft/sarif-multitool `validate` with the SARIF and GitHub rule sets
   (`--rule-kind "Sarif;Gh"`): any error or warning it reports fails the test.

MULTITOOL_DIR holds node_modules/@microsoft/sarif-multitool-linux (scripts/deps/sarif.npm has
scripts/setup run `npm ci` there). Without it the explicit checks still run, then exit 77
(skipped), so a checkout without the npm packages is not reported as passing.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.parse

# RFC 3986: unreserved, reserved, and %XX; nothing else may appear in a URI.
URI_CHARS = re.compile(r"^(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*$")


def audit_sarif(dsx, path, cwd=None):
    proc = subprocess.run([dsx, "audit", path, "--format", "sarif"], capture_output=True, text=True,
                          timeout=120, cwd=cwd)
    if proc.returncode != 0:
        raise RuntimeError(f"dsx audit {path} --format sarif: exit {proc.returncode}: {proc.stderr.strip()}")
    return proc.stdout


def explicit_checks(name, log, root):
    """The rules the multitool's SARIF1002 and GH10xx check, written out; `root` is the audited folder."""
    errors = []
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    for key in ("fullName", "informationUri", "version"):
        if not driver.get(key):
            errors.append(f"{name}: tool.driver has no {key}")
    if not run.get("automationDetails", {}).get("id"):
        errors.append(f"{name}: run has no automationDetails.id")
    for rule in driver.get("rules", []):
        if not rule.get("helpUri") or not URI_CHARS.match(rule["helpUri"]):
            errors.append(f"{name}: rule {rule['id']} has no valid helpUri")
    base = run.get("originalUriBaseIds", {}).get("%SRCROOT%", {}).get("uri")
    if base is None:
        errors.append(f"{name}: no originalUriBaseIds.%SRCROOT%")
    else:
        if not base.startswith("file:///") or not base.endswith("/") or not URI_CHARS.match(base):
            errors.append(f"{name}: %SRCROOT% {base!r} is not an absolute file URI ending in '/'")
        elif urllib.parse.unquote(base[len("file://"):]).rstrip("/") != os.path.abspath(root).rstrip("/"):
            errors.append(f"{name}: %SRCROOT% {base!r} does not name {os.path.abspath(root)!r}")
    for i, res in enumerate(run["results"]):
        where = f"{name}: results[{i}] ({res['ruleId']})"
        locs = res.get("locations")
        if not locs or len(locs) != 1:
            errors.append(f"{where}: {len(locs or [])} locations, want 1 (GH1015/GH1017/GH2012)")
            continue
        for loc in locs + res.get("relatedLocations", []):
            phys = loc.get("physicalLocation", {})
            uri = phys.get("artifactLocation", {}).get("uri", "")
            if not uri or not URI_CHARS.match(uri):
                errors.append(f"{where}: uri {uri!r} is not an RFC 3986 reference (SARIF1002)")
                continue
            if phys.get("region", {}).get("startLine", 0) < 1:
                errors.append(f"{where}: {uri} has no region with a startLine")
            ctx = phys.get("contextRegion")
            if ctx and not ctx["startLine"] <= phys["region"]["startLine"] <= ctx["endLine"]:
                errors.append(f"{where}: contextRegion {ctx} does not hold the region")
            if phys["artifactLocation"].get("uriBaseId") == "%SRCROOT%":
                if not os.path.exists(os.path.join(os.fsencode(root), urllib.parse.unquote_to_bytes(uri))):
                    errors.append(f"{where}: {uri} decodes to a file that is not under {root}")
    return errors


def multitool_binary(tool_dir):
    if not tool_dir:
        return None
    path = os.path.join(tool_dir, "node_modules", "@microsoft", "sarif-multitool-linux", "Sarif.Multitool")
    return path if os.access(path, os.X_OK) else None


def run_multitool(binary, files, work):
    """Runs `validate` over all files at once (one .NET start-up) and returns its findings."""
    out = os.path.join(work, "validation.sarif")
    env = dict(os.environ, DOTNET_CLI_TELEMETRY_OPTOUT="1", DOTNET_SYSTEM_GLOBALIZATION_INVARIANT="1")
    # The native binary directly, not bin.js: that one spawns it through a shell, which splits the
    # paths with spaces this test is about.
    proc = subprocess.run([binary, "validate", "--rule-kind", "Sarif;Gh", "--output", out, *files],
                          capture_output=True, text=True, timeout=300, env=env)
    if proc.returncode != 0 or not os.path.exists(out):
        return [f"sarif-multitool failed (exit {proc.returncode}): {proc.stdout[-2000:]} {proc.stderr[-2000:]}"]
    with open(out, encoding="utf-8") as f:
        report = json.load(f)
    # The console lines name file, line, rule and text ("f.sarif(4,77): error SARIF1002: ..."); the
    # output log is what decides.
    said = [ln for ln in proc.stdout.splitlines() if re.search(r": (error|warning) [A-Z]+[0-9]+: ", ln)]
    problems = []
    for run in report.get("runs", []):
        for note in run.get("invocations", [{}])[0].get("toolExecutionNotifications", []):
            if note.get("level") == "error":
                problems.append(f"sarif-multitool: {note.get('message', {}).get('text')}")
        for res in run.get("results", []):
            if res.get("level", "warning") not in ("error", "warning"):
                continue
            loc = res.get("locations", [{}])[0].get("physicalLocation", {})
            file = urllib.parse.unquote(loc.get("artifactLocation", {}).get("uri", "?"))
            args = res.get("message", {}).get("arguments", [])
            problems.append(f"{res['ruleId']} ({res.get('level', 'warning')}) in {file}: {args}")
    if problems:
        problems += said
    return problems


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    dsx, apps = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    tool = multitool_binary(sys.argv[3] if len(sys.argv) > 3 else "")
    errors = []
    with tempfile.TemporaryDirectory(prefix="dsx-sarif-") as work:
        logs = []  # (name, file written, audited folder)

        def add(name, text, root):
            path = os.path.join(work, "logs", re.sub(r"[^A-Za-z0-9_.-]", "_", name) + ".sarif")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            logs.append((name, path, root))

        # Every fixture app, by a relative path from the apps folder.
        for app in sorted(os.listdir(apps)):
            if os.path.exists(os.path.join(apps, app, "expected.yaml")):
                add(app, audit_sarif(dsx, app, cwd=apps), os.path.join(apps, app))

        # Paths with a space and non-ASCII: the audited root, and a file of the app.
        spaced = os.path.join(work, "my app", "é")
        for app in ("aisdk-trap", "aisdk-half-wired"):
            copy = os.path.join(spaced, app)
            shutil.copytree(os.path.join(apps, app), copy)
            route = os.path.join(copy, "app", "api", "chat", "route.ts")
            extra = os.path.join(copy, "app", "api", "ché t", "route.ts")
            os.makedirs(os.path.dirname(extra))
            shutil.copy(route, extra)
            # A name that is not UTF-8 (Latin-1 "café x"), with a Latin-1 byte in the code too: the
            # URI keeps the byte (%E9), the texts get U+FFFD, and the log is still valid JSON.
            latin1 = os.path.join(os.fsencode(copy), b"app", b"api", b"caf\xe9 x", b"route.ts")
            os.makedirs(os.path.dirname(latin1))
            with open(route, "rb") as src, open(latin1, "wb") as dst:
                dst.write(b"// caf\xe9\n" + src.read())
            add(app + " (absolute path with spaces)", audit_sarif(dsx, copy), copy)
            add(app + " (relative path with spaces)", audit_sarif(dsx, os.path.join("é", app), cwd=os.path.dirname(spaced)),
                copy)
            with open(logs[-1][1], encoding="utf-8") as f:
                j = json.load(f)
            uris = {loc["physicalLocation"]["artifactLocation"]["uri"] for res in j["runs"][0]["results"]
                    for loc in res.get("locations", []) + res.get("relatedLocations", [])}
            for want in ("app/api/ch%C3%A9%20t/route.ts", "app/api/caf%E9%20x/route.ts"):
                if want not in uris:
                    errors.append(f"{app}: {want} is not among the locations ({sorted(uris)})")

        for name, path, root in logs:
            with open(path, encoding="utf-8") as f:
                errors += explicit_checks(name, json.load(f), root)
        checked = len(logs)

        if tool:
            problems = run_multitool(tool, [p for _, p, _ in logs], work)
            errors += problems
        for e in errors:
            print(e)
        if errors:
            print(f"sarif: FAILED ({checked} logs)")
            return 1
        if not tool:
            print(f"sarif: explicit checks ok on {checked} logs; @microsoft/sarif-multitool not installed "
                  f"(npm ci in tests/audit/sarif): skipped")
            return 77
        print(f"sarif: {checked} logs valid (sarif-multitool validate --rule-kind Sarif;Gh, and explicit checks)")
        return 0


if __name__ == "__main__":
    sys.exit(main())

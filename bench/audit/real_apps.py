#!/usr/bin/python3
"""Agreement of `dsx audit` with the hand-written answer keys of real open-source AI chat apps.

Each bench/audit/real-apps/<slug>.yaml holds a key written from reading the app's code at a pinned
commit (format: the "Answer-key format" of issue 15, repeated in bench/audit/real-apps/README.md).
For each key this script makes a checkout of the app at the key's commit (from a local bare mirror),
runs `dsx audit <checkout>/<root> --format json`, and compares 15 checks: the 6 verdicts (the three
capabilities plus live_control's parts stop/distinguish/steer) and the presence of the 9 failure modes.

Exit status: 0 whatever the agreement (this is a measurement, not a gate); 2 when a key is malformed
(the file and the field are named) or an argument is wrong.
Only the Python standard library and PyYAML are used.
"""

import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
DEFAULT_KEYS = os.path.join(HERE, "real-apps")
DEFAULT_CHECKOUTS = "/tmp/dsx-real-apps"
DEFAULT_MIRRORS = "/work/.mirror"

CAPABILITIES = ["resilient_delivery", "continuity", "live_control"]
LIVE_CONTROL_PARTS = ["stop", "distinguish", "steer"]
VERDICT_IDS = CAPABILITIES + LIVE_CONTROL_PARTS
FAILURE_MODES = [
    "single_connection_trap",
    "half_wired_resume",
    "sse_resume_cancel_conflict",
    "producer_memory_buffer",
    "per_tab_resume_token",
    "client_side_persistence",
    "abort_non_propagation",
    "full_replay_without_dedupe",
    "orchestrator_relay_bottleneck",
]
VERDICT_VALUES = ("yes", "partial", "no", "undetermined")
SHORT = {  # column headers of the per-app table
    "resilient_delivery": "resilient",
    "continuity": "continuity",
    "live_control": "live_ctl",
    "stop": "stop",
    "distinguish": "distinguish",
    "steer": "steer",
}
# The marker that says which commit a checkout this script extracted holds. It lives next to the
# checkout, not inside it, so the audited tree is exactly the app's tree.
MARKER = ".{slug}.commit"  # "<commit> <root>"


class KeyError_(Exception):
    """A malformed answer key: `path` and `field` say where."""

    def __init__(self, path, field, problem):
        super().__init__("%s: field '%s': %s" % (path, field, problem))


def load_key(path):
    """Reads and validates one key; raises KeyError_ naming the first bad field."""
    try:
        with open(path, encoding="utf-8") as f:
            key = yaml.safe_load(f)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise KeyError_(path, "(file)", "cannot be read as YAML: %s" % str(e).replace("\n", " "))
    if not isinstance(key, dict):
        raise KeyError_(path, "(file)", "is not a mapping")

    def need_str(field, value, pattern=None, allow_empty=False):
        if not isinstance(value, str):
            raise KeyError_(path, field, "must be a string, not %s %r (quote it)" % (type(value).__name__, value))
        if not allow_empty and not value.strip():
            raise KeyError_(path, field, "must not be empty")
        if pattern and not re.fullmatch(pattern, value):
            raise KeyError_(path, field, "'%s' does not match %s" % (value, pattern))

    stem = os.path.splitext(os.path.basename(path))[0]
    need_str("slug", key.get("slug"), r"[A-Za-z0-9._-]+")
    if key["slug"] != stem:
        raise KeyError_(path, "slug", "'%s' differs from the file name '%s'" % (key["slug"], stem))
    need_str("repo", key.get("repo"), r"[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*")
    need_str("commit", key.get("commit"), r"[0-9a-f]{40}")
    root = key.get("root", None)
    need_str("root", root, allow_empty=True)
    if root.startswith("/") or ".." in root.split("/"):
        raise KeyError_(path, "root", "must be a folder inside the repository, not '%s'" % root)

    verdicts = key.get("verdicts")
    if not isinstance(verdicts, dict):
        raise KeyError_(path, "verdicts", "must be a mapping of the 6 verdicts")
    for vid in VERDICT_IDS:
        entry = verdicts.get(vid)
        field = "verdicts.%s" % vid
        if not isinstance(entry, dict):
            raise KeyError_(path, field, "missing (need {verdict, why})")
        if entry.get("verdict") not in VERDICT_VALUES:
            hint = " (YAML reads a bare yes/no as a boolean: quote it)" if isinstance(entry.get("verdict"), bool) else ""
            raise KeyError_(path, field + ".verdict", "must be one of %s, not %r%s"
                            % ("|".join(VERDICT_VALUES), entry.get("verdict"), hint))
        need_str(field + ".why", entry.get("why"))
    extra = sorted(set(verdicts) - set(VERDICT_IDS))
    if extra:
        raise KeyError_(path, "verdicts.%s" % extra[0], "unknown verdict id")

    modes = key.get("failure_modes")
    if not isinstance(modes, dict):
        raise KeyError_(path, "failure_modes", "must be a mapping of the 9 failure modes")
    for fm in FAILURE_MODES:
        entry = modes.get(fm)
        field = "failure_modes.%s" % fm
        if not isinstance(entry, dict):
            raise KeyError_(path, field, "missing (need {present, why})")
        if not isinstance(entry.get("present"), bool):
            raise KeyError_(path, field + ".present", "must be true or false, not %r" % entry.get("present"))
        need_str(field + ".why", entry.get("why"))
    extra = sorted(set(modes) - set(FAILURE_MODES))
    if extra:
        raise KeyError_(path, "failure_modes.%s" % extra[0], "unknown failure mode id")
    key["_path"] = path
    return key


def key_paths(keys_dir, slugs):
    if slugs:
        paths = []
        for s in slugs:
            p = s if s.endswith(".yaml") else os.path.join(keys_dir, s + ".yaml")
            if not os.path.isfile(p):
                raise SystemExit("real_apps.py: no key %s" % p)
            paths.append(p)
        return paths
    return sorted(glob.glob(os.path.join(keys_dir, "*.yaml")))


def find_mirror(repo, explicit):
    """A bare git dir for owner/name: --mirror, else /work/.mirror/<owner>+<name>*[/repo]."""
    candidates = [explicit] if explicit else sorted(
        glob.glob(os.path.join(DEFAULT_MIRRORS, repo.replace("/", "+") + "*")))
    for c in candidates:
        for d in (c, os.path.join(c, "repo")):
            if os.path.isfile(os.path.join(d, "HEAD")) and os.path.isdir(os.path.join(d, "objects")):
                return d
            if os.path.isdir(os.path.join(d, ".git")):
                return os.path.join(d, ".git")
    return None


def how_to_get(key, checkouts, reason="no checkout and no mirror"):
    dest = os.path.join(checkouts, key["slug"])
    return ("  " + reason + " for %s (repo %s, commit %s). Get it with:\n"
            "    git clone https://github.com/%s %s\n"
            "    git -C %s checkout %s\n"
            "  or pass --mirror PATH (a clone or bare git dir of %s) for this slug."
            % (key["slug"], key["repo"], key["commit"], key["repo"], dest, dest, key["commit"], key["repo"]))


def git_head(path):
    if not os.path.exists(os.path.join(path, ".git")):
        return None  # not a checkout of its own (git would walk up to an enclosing repository)
    try:
        out = subprocess.run(["git", "-C", path, "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def materialize(key, checkouts, mirror_arg):
    """Returns (checkout dir, note) or (None, why). Never deletes a folder it did not make."""
    slug, commit = key["slug"], key["commit"]
    dest = os.path.join(checkouts, slug)
    marker = os.path.join(checkouts, MARKER.format(slug=slug))
    made_here = os.path.isfile(marker)
    stamp = commit + " " + (key["root"] or ".")
    if os.path.isdir(dest):
        if made_here:
            with open(marker, encoding="utf-8") as f:
                if f.read().strip() == stamp:
                    return dest, "checkout reused"
        elif git_head(dest) == commit:
            return dest, "git checkout at the key's commit"
        elif git_head(dest) is not None:
            return None, ("%s is a git checkout at %s, not the key's commit %s: run "
                          "`git -C %s checkout %s`" % (dest, git_head(dest), commit, dest, commit))
        else:
            # A folder someone made by hand may hold another commit or only part of the repo:
            # auditing it would measure something else than the key describes.
            return None, ("  %s exists but was not made by this script (no %s) and is not a git checkout, so its "
                          "commit cannot be checked: move it away (the script then extracts the key's commit) or "
                          "pass another --checkouts DIR" % (dest, marker))
    mirror = find_mirror(key["repo"], mirror_arg)
    if mirror is None:
        return None, how_to_get(key, checkouts)
    os.makedirs(checkouts, exist_ok=True)
    # Extract into a temporary folder and rename, so an interrupted run leaves no half checkout.
    # Only the key's root is extracted: a monorepo's other packages are not audited.
    tmp = tempfile.mkdtemp(prefix="." + slug + ".", dir=checkouts)
    skipped = 0
    try:
        ok, err = archive_into(mirror, commit, key["root"], tmp)
        if not ok:
            # Snapshots may lack their largest blobs (images, GIFs): `git archive` then fails as a
            # whole, so extract blob by blob and leave the absent ones out.
            shutil.rmtree(tmp, ignore_errors=True)
            tmp = tempfile.mkdtemp(prefix="." + slug + ".", dir=checkouts)
            skipped, err2 = extract_blobs(mirror, commit, key["root"], tmp)
            if skipped is None:
                shutil.rmtree(tmp, ignore_errors=True)
                return None, how_to_get(key, checkouts, "`git archive %s` from the mirror %s failed (%s; %s)"
                                        % (commit, mirror, err, err2))
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; the checkout is an ordinary folder
        if made_here and os.path.isdir(dest):
            shutil.rmtree(dest)  # our own checkout of another commit or root of the key
        os.rename(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    with open(marker, "w", encoding="utf-8") as f:
        f.write(stamp + "\n")
    note = "extracted from %s" % mirror
    if skipped:
        note += " (%d blob(s) absent from the mirror left out)" % skipped
    return dest, note


def archive_into(mirror, commit, root, dest):
    """`git archive <commit> [-- root] | tar -x -C dest`; returns (ok, error text)."""
    cmd = ["git", "--git-dir=" + mirror, "archive", commit] + (["--", root] if root else [])
    archive = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    tar = subprocess.run(["tar", "-x", "-C", dest], stdin=archive.stdout, capture_output=True)
    archive.stdout.close()
    err = archive.stderr.read().decode("utf-8", "replace").strip()
    if archive.wait() != 0 or tar.returncode != 0:
        return False, err or tar.stderr.decode("utf-8", "replace").strip()
    return True, ""


def extract_blobs(mirror, commit, root, dest):
    """Writes every readable blob of <commit> under root; returns (number left out, error)."""
    ls = subprocess.run(["git", "--git-dir=" + mirror, "ls-tree", "-r", "-z", commit] + (["--", root] if root else []),
                        capture_output=True)
    if ls.returncode != 0:
        return None, ls.stderr.decode("utf-8", "replace").strip()
    entries = []
    for rec in ls.stdout.split(b"\0"):
        if not rec:
            continue
        meta, _, name = rec.partition(b"\t")
        mode, kind, sha = meta.split()
        if kind == b"blob" and mode in (b"100644", b"100755"):  # links and submodules are not audited
            entries.append((sha.decode(), name.decode("utf-8", "surrogateescape")))
    batch = subprocess.Popen(["git", "--git-dir=" + mirror, "cat-file", "--batch"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE)
    skipped = 0
    for sha, name in entries:
        batch.stdin.write(sha.encode() + b"\n")
        batch.stdin.flush()
        header = batch.stdout.readline().split()
        if len(header) != 3:  # "<sha> missing"
            skipped += 1
            continue
        data = batch.stdout.read(int(header[2]))
        batch.stdout.readline()
        path = os.path.join(dest, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
    batch.stdin.close()
    batch.wait()
    return skipped, ""


def run_dsx(dsx, rules, target, timeout):
    """Returns (report dict, None) or (None, error text)."""
    cmd = [dsx, "audit", target, "--format", "json"]
    if rules:
        cmd += ["--rules", rules]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, "timed out after %d s: %s" % (timeout, " ".join(cmd))
    except OSError as e:
        return None, "cannot run %s: %s" % (dsx, e)
    try:
        report = json.loads(out.stdout)
    except ValueError:
        tail = (out.stderr or out.stdout).strip().splitlines()[-3:]
        return None, "exit %d, no JSON report: %s" % (out.returncode, " | ".join(tail))
    if not isinstance(report, dict) or not isinstance(report.get("capabilities"), dict):
        return None, "exit %d, the JSON has no 'capabilities'" % out.returncode
    return report, None


def dsx_answers(report):
    """The 6 verdicts and the set of failure modes found, from a dsx audit JSON report."""
    caps = report.get("capabilities", {})
    verdicts = {}
    for cap in CAPABILITIES:
        verdicts[cap] = (caps.get(cap) or {}).get("verdict", "(missing)")
    lc = caps.get("live_control") or {}
    for part in LIVE_CONTROL_PARTS:
        verdicts[part] = (lc.get(part) or {}).get("verdict", "(missing)")
    found = {}
    for fm in report.get("failure_modes") or []:
        if isinstance(fm, dict) and fm.get("id"):
            ev = fm.get("evidence") or []
            found[fm["id"]] = ["%s:%s" % (e.get("file"), e.get("line")) for e in ev[:3] if isinstance(e, dict)]
    return verdicts, found


def evidence_of(report, vid):
    """A few file:line of dsx's evidence for a verdict, to help find the cause of a disagreement."""
    caps = report.get("capabilities", {})
    node = caps.get(vid) if vid in CAPABILITIES else (caps.get("live_control") or {}).get(vid)
    ev = (node or {}).get("evidence") or []
    return ["%s:%s" % (e.get("file"), e.get("line")) for e in ev[:3] if isinstance(e, dict)]


def compare(key, report):
    verdicts, found = dsx_answers(report)
    result = {"verdicts": {}, "failure_modes": {}}
    for vid in VERDICT_IDS:
        want = key["verdicts"][vid]["verdict"]
        got = verdicts[vid]
        result["verdicts"][vid] = {
            "key": want, "dsx": got, "agree": want == got, "why": key["verdicts"][vid]["why"],
            "dsx_rule": _rule_of(report, vid), "dsx_evidence": evidence_of(report, vid)}
    for fm in FAILURE_MODES:
        want = key["failure_modes"][fm]["present"]
        got = fm in found
        result["failure_modes"][fm] = {
            "key": want, "dsx": got, "agree": want == got, "why": key["failure_modes"][fm]["why"],
            "dsx_evidence": found.get(fm, [])}
    return result


def _rule_of(report, vid):
    caps = report.get("capabilities", {})
    node = caps.get(vid) if vid in CAPABILITIES else (caps.get("live_control") or {}).get(vid)
    return (node or {}).get("verdict_rule", "")


def tally(apps):
    t = {"verdicts": [0, 0], "failure_modes": [0, 0]}
    for app in apps:
        if app["status"] != "ran" and app["status"] != "dsx_failed":
            continue
        for group in ("verdicts", "failure_modes"):
            for check in app["checks"][group].values():
                t[group][1] += 1
                t[group][0] += 1 if check["agree"] else 0
    t["all"] = [t["verdicts"][0] + t["failure_modes"][0], t["verdicts"][1] + t["failure_modes"][1]]
    return {k: {"agree": v[0], "total": v[1]} for k, v in t.items()}


def failed_checks(key, error):
    """When dsx gives no report on an app, every check counts as a disagreement."""
    checks = {"verdicts": {}, "failure_modes": {}}
    for vid in VERDICT_IDS:
        checks["verdicts"][vid] = {"key": key["verdicts"][vid]["verdict"], "dsx": "(error)", "agree": False,
                                   "why": key["verdicts"][vid]["why"], "dsx_rule": error, "dsx_evidence": []}
    for fm in FAILURE_MODES:
        checks["failure_modes"][fm] = {"key": key["failure_modes"][fm]["present"], "dsx": None,
                                       "agree": False, "why": key["failure_modes"][fm]["why"],
                                       "dsx_evidence": []}
    return checks


def pct(part, whole):
    return "%d/%d (%.0f%%)" % (part, whole, 100.0 * part / whole) if whole else "0/0"


def print_text(apps, totals, args):
    print("dsx: %s   rules: %s" % (args.dsx, args.rules or "(built in)"))
    print("cell = dsx's verdict; 'dsx!=key' where they differ.  fm = failure-mode checks agreeing of 9.")
    width = max([len(a["slug"]) for a in apps] + [4])
    head = "%-*s  " % (width, "app") + "  ".join("%-16s" % SHORT[v] for v in VERDICT_IDS) + "  fm"
    print(head)
    print("-" * len(head))
    for app in apps:
        if app["status"] == "skipped":
            print("%-*s  (skipped: no checkout)" % (width, app["slug"]))
            continue
        cells = []
        for vid in VERDICT_IDS:
            c = app["checks"]["verdicts"][vid]
            cells.append("%-16s" % (c["dsx"] if c["agree"] else "%s!=%s" % (c["dsx"], c["key"])))
        fm = app["checks"]["failure_modes"].values()
        print("%-*s  " % (width, app["slug"]) + "  ".join(cells) + "  %d/9" % sum(1 for c in fm if c["agree"]))

    print("\nDisagreements (dsx vs the key, with the key's why):")
    any_dis = False
    for app in apps:
        if app["status"] == "skipped":
            continue
        if app["status"] == "dsx_failed":
            any_dis = True
            print("- %s: dsx gave no report (%s): all 15 checks count as disagreements" % (app["slug"], app["error"]))
            continue
        for vid, c in app["checks"]["verdicts"].items():
            if not c["agree"]:
                any_dis = True
                print("- %s: %s: dsx=%s key=%s" % (app["slug"], vid, c["dsx"], c["key"]))
                print("    key why: %s" % c["why"])
                if c["dsx_rule"]:
                    print("    dsx rule: %s%s" % (c["dsx_rule"], (" ; evidence " + ", ".join(c["dsx_evidence"]))
                                                  if c["dsx_evidence"] else ""))
        for fm, c in app["checks"]["failure_modes"].items():
            if not c["agree"]:
                any_dis = True
                print("- %s: failure mode %s: dsx=%s key=%s" % (
                    app["slug"], fm, "present" if c["dsx"] else "absent", "present" if c["key"] else "absent"))
                print("    key why: %s" % c["why"])
                if c["dsx_evidence"]:
                    print("    dsx evidence: %s" % ", ".join(c["dsx_evidence"]))
    if not any_dis:
        print("  none")

    skipped = [a for a in apps if a["status"] == "skipped"]
    if skipped:
        print("\nSkipped (not counted):")
        for a in skipped:
            print(a["note"])
    print("\nTotals over %d app(s) run:" % sum(1 for a in apps if a["status"] != "skipped"))
    print("  verdicts:      %s" % pct(totals["verdicts"]["agree"], totals["verdicts"]["total"]))
    print("  failure modes: %s" % pct(totals["failure_modes"]["agree"], totals["failure_modes"]["total"]))
    print("  all checks:    %s" % pct(totals["all"]["agree"], totals["all"]["total"]))


def print_markdown(apps, totals, args):
    """The per-app table and the totals as Markdown, for bench/audit/real-apps.md."""
    print("dsx `%s`, rules `%s`. A cell is dsx's verdict; **dsx / key** where they differ." % (args.dsx, args.rules))
    print()
    print("| app | " + " | ".join(SHORT[v] for v in VERDICT_IDS) + " | failure modes | disagreeing failure modes |")
    print("|---|" + "---|" * len(VERDICT_IDS) + "---|---|")
    for app in apps:
        if app["status"] == "skipped":
            print("| %s | %s | | |" % (app["slug"], " | ".join(["(skipped)"] * len(VERDICT_IDS))))
            continue
        cells = []
        for vid in VERDICT_IDS:
            c = app["checks"]["verdicts"][vid]
            cells.append(c["dsx"] if c["agree"] else "**%s / %s**" % (c["dsx"], c["key"]))
        fms = app["checks"]["failure_modes"]
        bad = ["%s (dsx %s)" % (fm, "present" if c["dsx"] else "absent") for fm, c in fms.items() if not c["agree"]]
        print("| %s | %s | %d/9 | %s |" % (app["slug"], " | ".join(cells), sum(1 for c in fms.values() if c["agree"]),
                                          ", ".join(bad)))
    print()
    for label, key in (("verdicts", "verdicts"), ("failure modes", "failure_modes"), ("all checks", "all")):
        print("- %s: %s" % (label, pct(totals[key]["agree"], totals[key]["total"])))


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("slugs", nargs="*", help="keys to check (slug or path to a .yaml); default: every key")
    ap.add_argument("--keys", default=DEFAULT_KEYS, help="folder of <slug>.yaml keys (default %(default)s)")
    ap.add_argument("--checkouts", default=DEFAULT_CHECKOUTS,
                    help="where checkouts go: DIR/<slug> (default %(default)s)")
    ap.add_argument("--mirror", action="append", default=[], metavar="[SLUG=]PATH",
                    help="a bare git dir or clone of the app (default: /work/.mirror/<owner>+<name>*); "
                         "PATH alone applies to a single slug, SLUG=PATH to that slug")
    ap.add_argument("--dsx", default=os.path.join(REPO_ROOT, "build", "bin", "dsx"), help="dsx binary")
    ap.add_argument("--rules", default=os.path.join(REPO_ROOT, "configs", "audit"),
                    help="rules folder passed as --rules (default %(default)s; '' for the built-in rules)")
    ap.add_argument("--timeout", type=int, default=600, help="seconds per audit (default %(default)s)")
    ap.add_argument("--json", action="store_true", help="print a machine-readable summary instead")
    ap.add_argument("--markdown", action="store_true", help="print the table and totals as Markdown instead")
    args = ap.parse_args(argv)

    paths = key_paths(args.keys, args.slugs)
    if not paths:
        print("real_apps.py: no keys in %s" % args.keys, file=sys.stderr)
        return 0
    keys = []
    for p in paths:
        try:
            keys.append(load_key(p))
        except KeyError_ as e:
            print("real_apps.py: malformed key: %s" % e, file=sys.stderr)
            return 2

    mirrors = {}
    for m in args.mirror:
        slug, sep, path = m.partition("=")
        if sep and os.path.sep not in slug:
            mirrors[slug] = path
        elif len(keys) == 1:
            mirrors[keys[0]["slug"]] = m
        else:
            print("real_apps.py: --mirror %s: with several keys say SLUG=PATH" % m, file=sys.stderr)
            return 2

    apps = []
    for key in keys:
        app = {"slug": key["slug"], "repo": key["repo"], "commit": key["commit"], "root": key["root"]}
        checkout, note = materialize(key, args.checkouts, mirrors.get(key["slug"]))
        app["note"] = note
        if checkout is None:
            app["status"] = "skipped"
            apps.append(app)
            continue
        target = os.path.join(checkout, key["root"]) if key["root"] else checkout
        app["target"] = target
        if not os.path.isdir(target):
            report, error = None, "root '%s' is not a folder of the checkout" % key["root"]
        else:
            report, error = run_dsx(args.dsx, args.rules, target, args.timeout)
        if report is None:
            app["status"], app["error"] = "dsx_failed", error
            app["checks"] = failed_checks(key, error)
        else:
            app["status"] = "ran"
            app["checks"] = compare(key, report)
        apps.append(app)

    totals = tally(apps)
    if args.json:
        json.dump({"dsx": args.dsx, "rules": args.rules, "apps": apps, "totals": totals}, sys.stdout, indent=1)
        print()
    elif args.markdown:
        print_markdown(apps, totals, args)
    else:
        print_text(apps, totals, args)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/python3
"""The dsx skill lets an agent drive every command cold (issue 18).

Walks the binary's own command tree (`dsx --help`, `dsx GROUP --help`, ... as deep as it goes)
and fails for every command that skills/dsx (SKILL.md and its references) never shows as
`dsx GROUP VERB`, so a new subcommand cannot ship without the skill learning it. Then checks
the skill against the Agent Skills spec with `dsx skills validate --strict`.

usage: skill_coverage_test.py DSX_BINARY SKILL_DIR
"""
import pathlib
import re
import subprocess
import sys


def subcommands(dsx, words):
    """The subcommand names listed by `dsx WORDS --help` (CLI11's SUBCOMMANDS section)."""
    out = subprocess.run([dsx, *words, "--help"], capture_output=True, text=True, timeout=30)
    text = out.stdout + out.stderr
    names, in_section = [], False
    for line in text.splitlines():
        if re.match(r"^\s*SUBCOMMANDS\s*:?\s*$", line, re.I):
            in_section = True
            continue
        if in_section:
            if not line.strip():
                if names:
                    break
                continue
            if not line.startswith(" "):
                break
            m = re.match(r"^\s{1,8}([a-z][a-z0-9-]*)\b", line)
            if m:
                names.append(m.group(1))
    return names


def main():
    dsx, skill_dir = sys.argv[1], pathlib.Path(sys.argv[2])
    corpus = "\n".join(p.read_text() for p in sorted(skill_dir.rglob("*.md")))
    corpus = re.sub(r"\s+", " ", corpus)
    commands, todo = [], [[g] for g in subcommands(dsx, [])]
    if not todo:
        print("FAIL: found no subcommands in `dsx --help`")
        return 1
    while todo:
        words = todo.pop(0)
        children = subcommands(dsx, words)
        if children and words != ["completion"]:
            todo.extend(words + [c] for c in children)
        else:
            commands.append(words)
    missing = [w for w in commands if ("dsx " + " ".join(w)) not in corpus]
    print(f"{len(commands)} commands, {len(commands) - len(missing)} shown in {skill_dir}")
    for w in missing:
        print(f"FAIL: the skill never shows `dsx {' '.join(w)}`")
    v = subprocess.run([dsx, "skills", "validate", str(skill_dir), "--strict"], capture_output=True, text=True)
    if v.returncode != 0:
        print("FAIL: dsx skills validate --strict:\n" + v.stdout + v.stderr)
    return 1 if missing or v.returncode != 0 else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Module arrows check: fails when a file includes a header of a module it may not use.

The arrows come from cmake/module_arrows.txt (the same file the build reads for link lists and
include fences). Rules for each file:
  lib/<path>         the module owning <path> (longest folder prefix) and what it may use
  tests/unit/<dir>/  dsx_<dir> and what it may use, plus test helpers under tests/ (a helper
                     in tests/unit/<other>/ counts as module <other>)
  apps/, bench/, other tests/ suites: every module
"may use" is transitive. Also checked: the arrows block of docs/ARCHITECTURE.md is the one
generated from the file (--write-doc rewrites it); given --links (<build>/arrows/links.txt,
written at configure), every module links exactly the dsx_ modules its arrows name and only-link
libraries only where allowed; given --compile-commands, every file of a module (and of its unit
tests) is compiled behind the module's include fence (cmake/dsx_arrows.cmake).

Exit status: 0 clean, 1 violations (one "path:line: message" per line), 2 bad arrows file/usage.
"""

import argparse
import os
import re
import sys

SOURCE_EXTS = (".cpp", ".cc", ".hpp", ".h", ".inc", ".cu", ".cuh")
SKIP_DIRS = {"node_modules", "third_party", ".git", "build"}
INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^">]+)[">]')
DOC_BEGIN = "<!-- arrows:begin"
DOC_END = "<!-- arrows:end -->"


class ArrowsError(Exception):
  pass


class Arrows:
  """The parsed arrows file: modules (name -> folder, direct uses) and only-link rules."""

  def __init__(self, path):
    self.path = path
    self.order = []
    self.folder = {}
    self.uses = {}
    self.only_link = []  # (library, [modules])
    with open(path, encoding="utf-8") as f:
      for lineno, raw in enumerate(f, 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
          continue
        fields = line.split()
        kind = fields[0]
        if kind == "module" and len(fields) >= 3:
          name, folder = fields[1], fields[2].strip("/")
          if name in self.folder:
            raise ArrowsError(f"{path}:{lineno}: module {name} given twice")
          self.order.append(name)
          self.folder[name] = folder
          self.uses[name] = fields[3:]
        elif kind == "only-link" and len(fields) >= 3:
          self.only_link.append((fields[1], fields[2:]))
        else:
          raise ArrowsError(f"{path}:{lineno}: cannot read '{line}'")
    for name, uses in self.uses.items():
      for u in uses:
        if u not in self.folder or u == name:
          raise ArrowsError(f"{path}: module {name} uses unknown module '{u}'")
    for _, mods in self.only_link:
      for m in mods:
        if m not in self.folder:
          raise ArrowsError(f"{path}: only-link names unknown module '{m}'")
    self.may_use = {m: self._close(m) for m in self.order}
    for m in self.order:
      for u in self.uses[m]:
        if m in self.may_use[u]:
          raise ArrowsError(f"{path}: cycle between modules {m} and {u}")

  def _close(self, module):
    seen = {module}
    todo = list(self.uses[module])
    while todo:
      u = todo.pop()
      if u not in seen:
        seen.add(u)
        todo.extend(self.uses[u])
    return seen

  def owner(self, lib_rel):
    """The module owning a path relative to lib/, or None."""
    best, best_len = None, -1
    for m, folder in self.folder.items():
      if (lib_rel == folder or lib_rel.startswith(folder + "/")) and len(folder) > best_len:
        best, best_len = m, len(folder)
    return best


def rel(path, root):
  return os.path.relpath(path, root).replace(os.sep, "/")


def source_files(root, top):
  base = os.path.join(root, top)
  for dirpath, dirnames, filenames in os.walk(base):
    dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
    if rel(dirpath, root).startswith("tests/arch/fixtures"):
      dirnames[:] = []
      continue
    for name in sorted(filenames):
      if name.endswith(SOURCE_EXTS):
        yield os.path.join(dirpath, name)


def area_of(path_rel, arrows):
  """(label, allowed module set or None for every module, error or None)."""
  parts = path_rel.split("/")
  if parts[0] == "lib":
    m = arrows.owner("/".join(parts[1:]))
    if m is None:
      return path_rel, set(), "no module of cmake/module_arrows.txt owns this folder"
    return "dsx_" + m, arrows.may_use[m], None
  if parts[0] == "tests" and len(parts) > 3 and parts[1] == "unit":
    m = parts[2]
    if m not in arrows.folder:
      return path_rel, set(), f"tests/unit/{m}/ has no module {m} in cmake/module_arrows.txt"
    return "tests/unit/" + m, arrows.may_use[m], None
  return parts[0], None, None


def target_module(root, including_file, delim, name, arrows):
  """The module a quoted/angled include names, or None (system, app or test-local header)."""
  candidates = []
  if delim == '"':
    candidates.append(os.path.normpath(os.path.join(os.path.dirname(including_file), name)))
  candidates.append(os.path.normpath(os.path.join(root, "lib", name)))
  for c in candidates:
    if not os.path.isfile(c):
      continue
    r = rel(c, root)
    parts = r.split("/")
    if parts[0] == "lib":
      return arrows.owner("/".join(parts[1:]))
    if parts[0] == "tests" and len(parts) > 3 and parts[1] == "unit" and parts[2] in arrows.folder:
      return parts[2]
    return None
  # Not on disk (yet): go by the name, so a header a module may not use is caught even before it exists.
  if delim == '"' and not name.startswith("."):
    return arrows.owner(name)
  return None


def check_includes(root, arrows):
  problems = []
  for top in ("lib", "tests", "apps", "bench"):
    if not os.path.isdir(os.path.join(root, top)):
      continue
    for path in source_files(root, top):
      path_rel = rel(path, root)
      label, allowed, error = area_of(path_rel, arrows)
      if error:
        problems.append(f"{path_rel}:1: {error}")
        continue
      if allowed is None:
        continue
      with open(path, encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, 1):
          m = INCLUDE_RE.match(line)
          if not m:
            continue
          target = target_module(root, path, m.group(1), m.group(2), arrows)
          if target is not None and target not in allowed:
            may = ", ".join(sorted(allowed))
            problems.append(f'{path_rel}:{lineno}: {label} may not include "{m.group(2)}" '
                            f"(module {target}; it may use: {may})")
  return problems


def doc_block(arrows):
  lines = [
      f"{DOC_BEGIN} (generated from cmake/module_arrows.txt by tests/arch/check_arrows.py --write-doc;"
      " the arch test fails when they differ) -->",
      "",
      "| module | folder | uses (direct arrows) | may include (transitive) |",
      "|---|---|---|---|",
  ]
  for m in arrows.order:
    uses = ", ".join(f"`{u}`" for u in arrows.uses[m]) or "—"
    others = [u for u in arrows.order if u in arrows.may_use[m] and u != m]
    may = ", ".join(f"`{u}`" for u in others) or "—"
    lines.append(f"| `dsx_{m}` | `lib/{arrows.folder[m]}/` | {uses} | {may} |")
  lines.append("")
  for lib, mods in arrows.only_link:
    lines.append(f"Only {', '.join('`dsx_' + m + '`' for m in mods)} may link `{lib}` directly.")
  lines.append("")
  lines.append(DOC_END)
  return "\n".join(lines)


def check_doc(doc_path, arrows, root, write):
  shown = rel(doc_path, root)
  if not os.path.isfile(doc_path):
    return [f"{shown}:1: missing"]
  with open(doc_path, encoding="utf-8") as f:
    text = f.read()
  begin, end = text.find(DOC_BEGIN), text.find(DOC_END)
  if begin < 0 or end < begin:
    return [f"{shown}:1: no arrows block ({DOC_BEGIN} ... {DOC_END})"]
  end += len(DOC_END)
  want = doc_block(arrows)
  if text[begin:end] == want:
    return []
  if write:
    with open(doc_path, "w", encoding="utf-8") as f:
      f.write(text[:begin] + want + text[end:])
    return []
  line = text.count("\n", 0, begin) + 1
  return [f"{shown}:{line}: the arrows block differs from cmake/module_arrows.txt "
          "(run tests/arch/check_arrows.py --write-doc)"]


def check_links(links_path, arrows):
  """links.txt: '<module> <link item>...' per module target, as configured."""
  problems = []
  with open(links_path, encoding="utf-8") as f:
    for line in f:
      fields = line.split()
      if not fields or fields[0] not in arrows.folder:
        continue
      m, items = fields[0], fields[1:]
      linked = set()
      for item in items:
        g = re.fullmatch(r"(?:\$<TARGET_NAME_IF_EXISTS:)?dsx_(\w+)>?", item)
        if g and g.group(1) in arrows.folder:
          linked.add(g.group(1))
      declared = set(arrows.uses[m])
      if linked != declared:
        problems.append(f"{links_path}:1: dsx_{m} links modules {sorted(linked)}, "
                        f"cmake/module_arrows.txt says {sorted(declared)}")
      for lib, mods in arrows.only_link:
        if lib in items and m not in mods:
          problems.append(f"{links_path}:1: dsx_{m} links {lib}, which only {', '.join(mods)} may link")
  return problems


def check_fences(compile_commands, arrows, root):
  """Every compile of a file in lib/<module> or tests/unit/<module>/ runs behind that module's fence."""
  import json
  problems = []
  with open(compile_commands, encoding="utf-8") as f:
    entries = json.load(f)
  for e in entries:
    path = os.path.normpath(os.path.join(e.get("directory", ""), e["file"]))
    if not path.startswith(root + os.sep):
      continue
    path_rel = rel(path, root)
    parts = path_rel.split("/")
    if parts[0] == "lib":
      module = arrows.owner("/".join(parts[1:]))
    elif parts[:2] == ["tests", "unit"] and len(parts) > 3 and parts[2] in arrows.folder:
      module = parts[2]
    else:
      continue
    if module is None:
      continue
    command = e.get("command") or " ".join(e.get("arguments", []))
    if f"arrows/fence/{module} " not in command + " ":
      problems.append(f"{path_rel}:1: compiled without the include fence of module {module} "
                      f"(arrows/fence/{module}; cmake/dsx_arrows.cmake)")
  return problems


def main(argv):
  ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  ap.add_argument("--root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
  ap.add_argument("--arrows", help="default: <root>/cmake/module_arrows.txt")
  ap.add_argument("--doc", help="default: <root>/docs/ARCHITECTURE.md")
  ap.add_argument("--links", help="<build>/arrows/links.txt: also check the configured link lists")
  ap.add_argument("--compile-commands", help="<build>/compile_commands.json: also check every module "
                  "file is compiled behind its module's include fence")
  ap.add_argument("--write-doc", action="store_true", help="rewrite the doc's arrows block")
  args = ap.parse_args(argv)
  root = os.path.abspath(args.root)
  try:
    arrows = Arrows(args.arrows or os.path.join(root, "cmake", "module_arrows.txt"))
  except (ArrowsError, OSError) as e:
    print(f"check_arrows: {e}", file=sys.stderr)
    return 2
  problems = check_includes(root, arrows)
  problems += check_doc(args.doc or os.path.join(root, "docs", "ARCHITECTURE.md"), arrows, root, args.write_doc)
  if args.links:
    problems += check_links(args.links, arrows)
  if args.compile_commands:
    problems += check_fences(args.compile_commands, arrows, root)
  for p in problems:
    print(p)
  if problems:
    print(f"check_arrows: {len(problems)} violation(s) of cmake/module_arrows.txt", file=sys.stderr)
    return 1
  print(f"check_arrows: {len(arrows.order)} modules, arrows hold")
  return 0


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))

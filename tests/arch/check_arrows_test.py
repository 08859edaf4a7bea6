#!/usr/bin/python3
"""Self-test of check_arrows.py: it must report forbidden includes, bad arrows files and a stale
doc block, and accept what the rules allow. Runs on a copy of fixtures/tree (a small repository
with known violations) and on arrows files written here."""

import contextlib
import io
import os
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import check_arrows  # noqa: E402

FIXTURE = os.path.join(HERE, "fixtures", "tree")


def run(args):
  out, err = io.StringIO(), io.StringIO()
  with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
    rc = check_arrows.main(args)
  return rc, out.getvalue().splitlines(), err.getvalue()


class FixtureTree(unittest.TestCase):

  def setUp(self):
    self.tmp = tempfile.mkdtemp(prefix="dsx-arrows-")
    self.root = os.path.join(self.tmp, "tree")
    shutil.copytree(FIXTURE, self.root)

  def tearDown(self):
    shutil.rmtree(self.tmp)

  def test_reports_every_forbidden_include_by_file_and_line(self):
    rc, lines, _ = run(["--root", self.root])
    self.assertEqual(rc, 1)
    where = sorted(line.split(": ", 1)[0] for line in lines)
    self.assertEqual(where, [
        "docs/ARCHITECTURE.md:3",         # stale arrows block
        "lib/mid/bad.cpp:3",              # mid -> side: no arrow
        "lib/mid/bad.cpp:4",              # mid -> mid/inner: a nested folder is another module
        "lib/side/relative.cpp:2",        # "../mid/mid.hpp": relative paths are resolved
        "tests/unit/mid/mid_test.cpp:3",  # a helper of tests/unit/side counts as module side
        "tests/unit/mid/mid_test.cpp:4",  # mid's tests may not use top (top uses mid)
    ])
    bad = [line for line in lines if line.startswith("lib/mid/bad.cpp:3")][0]
    self.assertIn('dsx_mid may not include "side/side.hpp" (module side; it may use: base, mid)', bad)

  def test_allows_transitive_arrows_local_helpers_and_apps(self):
    _, lines, _ = run(["--root", self.root])
    text = "\n".join(lines)
    self.assertNotIn("lib/top/top.cpp", text)      # top -> mid -> base: base is allowed
    self.assertNotIn("apps/app.cpp", text)         # apps may use every module
    self.assertNotIn("mid_test.cpp:1", text)       # its own helper
    self.assertNotIn("mid_test.cpp:2", text)

  def test_write_doc_regenerates_the_block_and_keeps_the_rest(self):
    rc, _, _ = run(["--root", self.root, "--write-doc"])
    self.assertEqual(rc, 1)  # the include violations remain
    with open(os.path.join(self.root, "docs", "ARCHITECTURE.md")) as f:
      doc = f.read()
    self.assertIn("| `dsx_top` | `lib/top/` | `mid` | `base`, `mid` |", doc)
    self.assertIn("text after the block stays.", doc)
    _, lines, _ = run(["--root", self.root])
    self.assertFalse(any(line.startswith("docs/") for line in lines))

  def test_clean_tree_passes(self):
    for path in ["lib/mid/bad.cpp", "lib/side/relative.cpp", "tests/unit/mid/mid_test.cpp"]:
      os.remove(os.path.join(self.root, path))
    run(["--root", self.root, "--write-doc"])
    rc, lines, _ = run(["--root", self.root])
    self.assertEqual((rc, lines), (0, ["check_arrows: 5 modules, arrows hold"]))

  def test_file_outside_every_module_folder_is_reported(self):
    os.makedirs(os.path.join(self.root, "lib", "stray"))
    open(os.path.join(self.root, "lib", "stray", "x.cpp"), "w").close()
    _, lines, _ = run(["--root", self.root])
    self.assertTrue(any(line.startswith("lib/stray/x.cpp:1: no module") for line in lines))

  def test_link_lists_must_match_the_arrows(self):
    links = os.path.join(self.tmp, "links.txt")
    with open(links, "w") as f:
      f.write("base CURL::libcurl\nmid dsx_base\ntop $<TARGET_NAME_IF_EXISTS:dsx_mid> dsx_side\n")
    with open(os.path.join(self.root, "cmake", "module_arrows.txt"), "a") as f:
      f.write("only-link CURL::libcurl side\n")
    _, lines, _ = run(["--root", self.root, "--links", links])
    links_lines = [line for line in lines if line.startswith(links)]
    self.assertEqual(len(links_lines), 2, lines)
    self.assertIn("dsx_base links CURL::libcurl, which only side may link", links_lines[0])
    self.assertIn("dsx_top links modules ['mid', 'side'], cmake/module_arrows.txt says ['mid']", links_lines[1])


  def test_module_files_must_compile_behind_their_fence(self):
    import json
    cc = os.path.join(self.tmp, "compile_commands.json")
    with open(cc, "w") as f:
      json.dump([
          {"directory": "/b", "file": os.path.join(self.root, "lib/top/top.cpp"),
           "command": "c++ -I/b/arrows/fence/top -I/src/lib -c top.cpp"},
          {"directory": "/b", "file": os.path.join(self.root, "lib/mid/bad.cpp"),
           "command": "c++ -I/b/arrows/fence/midx -I/src/lib -c bad.cpp"},
          {"directory": "/b", "file": os.path.join(self.root, "tests/unit/mid/mid_test.cpp"),
           "arguments": ["c++", "-I/src/lib", "-c", "mid_test.cpp"]},
          {"directory": "/b", "file": os.path.join(self.root, "apps/app.cpp"), "command": "c++ -c app.cpp"},
      ], f)
    _, lines, _ = run(["--root", self.root, "--compile-commands", cc])
    fence = sorted(line.split(": ", 1)[0] for line in lines if "include fence" in line)
    self.assertEqual(fence, ["lib/mid/bad.cpp:1", "tests/unit/mid/mid_test.cpp:1"])


class ArrowsFile(unittest.TestCase):

  def check(self, text):
    with tempfile.TemporaryDirectory() as root:
      os.makedirs(os.path.join(root, "cmake"))
      with open(os.path.join(root, "cmake", "module_arrows.txt"), "w") as f:
        f.write(text)
      return run(["--root", root])

  def test_cycle_is_an_error(self):
    rc, _, err = self.check("module a a b\nmodule b b a\n")
    self.assertEqual(rc, 2)
    self.assertIn("cycle between modules", err)

  def test_unknown_module_is_an_error(self):
    rc, _, err = self.check("module a a nosuch\n")
    self.assertEqual(rc, 2)
    self.assertIn("unknown module 'nosuch'", err)

  def test_unreadable_line_is_an_error(self):
    rc, _, err = self.check("modul a a\n")
    self.assertEqual(rc, 2)
    self.assertIn("cannot read", err)


if __name__ == "__main__":
  unittest.main()

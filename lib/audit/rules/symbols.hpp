// Meaning that crosses statements and files. A detector that asks "is this the socket.io server?"
// must not depend on the variable being called `sio`, nor on the server being created in the same
// file: `from app.server import sio` then `@sio.on("stop")`, or `const ctx = await getContext()`
// then `ctx.resumeExistingStream(id)`, name the same thing.
//
// `kinds:` rules (configs/audit/detectors/*.yaml, documented in configs/audit/README.md) mark
// expressions (or the functions containing them) with a kind. While a file is parsed, Summarize
// records, flow-insensitively and with one namespace per file, what each name is bound to: a kind,
// another name, the result of a call, an import; what each function returns and calls. After every
// file is read, ProjectSymbols answers `#kind?` checks by following those bindings, returns, calls
// and imports across the project (a bounded number of hops). Over-approximate by design: a name
// used for two things in one file has both kinds.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <tree_sitter/api.h>

#include "audit/static/source_walker.hpp"

namespace dsx::audit {

class ParsedFile;

// A `kinds:` rule: the @value node of `query` is of kind `kind` (or, with target: function, the
// function containing it is).
struct KindRule {
  std::string id;
  std::string kind;
  std::string origin;  // file it came from
  bool target_function = false;
  std::vector<Lang> langs;
  std::vector<std::string> imports;
  std::vector<std::string> paths_include, paths_exclude;
  std::string query_text;
};

// A kind rule that matched in a file.
struct KindHit {
  TSNode node;
  const KindRule* rule = nullptr;
};

// What one file binds. Names are per file (scopes are merged); "" is module-level code.
struct FileSymbols {
  struct Import {
    std::string module;  // as written: "./lib/stream", "@/lib/x", "app.server", ".server"
    std::string name;    // exported name, "default", or "*" (the module itself)
  };
  std::string rel;
  Lang lang = Lang::kNone;
  std::vector<std::string> modules;                              // every module the file imports (ParsedFile::Imports)
  std::map<std::string, Import> imported;                        // local name -> what it imports
  std::map<std::string, std::set<std::string>> value_kinds;      // name -> kinds of its value
  std::map<std::string, std::set<std::string>> fn_kinds;         // function -> kinds (target: function)
  std::map<std::string, std::set<std::string>> return_kinds;     // function -> kinds of what it returns
  std::map<std::string, std::vector<std::string>> aliases;       // name -> names bound to it
  std::map<std::string, std::vector<std::string>> call_results;  // name -> callees whose result it holds
  std::map<std::string, std::vector<std::string>> callees;       // function -> functions it calls
  std::map<std::string, std::vector<std::string>> return_names;  // function -> names it returns
  std::map<std::string, std::vector<std::string>> return_calls;  // function -> calls whose result it returns
  std::string default_export;                                    // name exported as default ("" if none or anonymous)
  std::vector<std::string> star_exports;                         // `export * from 'm'`
  std::map<std::string, Import> reexports;                       // `export { a as b } from 'm'`: b -> (m, a)
};

// Build the summary of `file`; `hits` are the kind rules' matches in it.
FileSymbols Summarize(const ParsedFile& file, const std::vector<KindHit>& hits);

// A `#kind?` check left for the project pass: does `name` (or, for call_result, what calling
// `name` returns) have `kind` in file `rel`? `name` may be "ns.member" (a member of an import).
struct KindProbe {
  std::string name;
  std::string kind;
  bool call_result = false;
  bool negate = false;
};

// The probe a `#kind?` capture stands for: identifiers and this.x/self.x name a binding; a call
// (also awaited or parenthesized) asks for its result. Empty name when the node says nothing.
KindProbe ProbeFor(const ParsedFile& file, TSNode node);

// The callee of a call's `function` node: "f", "x" for this.x/self.x, "ns.f" for a member of a
// plain name; "" for anything deeper.
std::string CalleeName(const ParsedFile& file, TSNode fn);

class ProjectSymbols {
 public:
  // `files`: every file's summary; `package_dirs`: folders ('/' separated, "" = root) that hold
  // a package.json, where `@/`, `~/` and `$lib/` imports are anchored.
  ProjectSymbols(std::vector<std::shared_ptr<const FileSymbols>> files, std::vector<std::string> package_dirs);
  ~ProjectSymbols();

  bool Holds(const std::string& rel, const KindProbe& probe);
  // The modules `rel` imports, plus those of the project files it imports (one step).
  std::vector<std::string> EffectiveImports(const std::string& rel);
  // The project file `spec`, imported from `rel`, refers to ("" if none).
  std::string ResolveModule(const std::string& rel, const std::string& spec) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dsx::audit

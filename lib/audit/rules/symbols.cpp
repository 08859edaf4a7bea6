// Bindings per file and their resolution across the project; see symbols.hpp.
#include "audit/rules/symbols.hpp"

#include <algorithm>
#include <climits>
#include <functional>
#include <mutex>
#include <unordered_map>

#include "audit/static/syntax.hpp"

namespace dsx::audit {

namespace {

std::string_view Type(TSNode n) { return ts_node_type(n); }

TSNode Field(TSNode n, const char* name) {
  return ts_node_child_by_field_name(n, name, static_cast<uint32_t>(strlen(name)));
}

std::string Unquote(std::string_view s) {
  if (s.size() >= 2 && (s.front() == '"' || s.front() == '\'' || s.front() == '`') && s.back() == s.front())
    return std::string(s.substr(1, s.size() - 2));
  return std::string(s);
}

bool IsName(std::string_view t) {
  return t == "identifier" || t == "property_identifier" || t == "shorthand_property_identifier" ||
         t == "type_identifier" || t == "private_property_identifier";
}

bool IsCall(std::string_view t) { return t == "call_expression" || t == "call" || t == "new_expression"; }

bool IsFunctionNode(std::string_view t) {
  return t == "function_declaration" || t == "generator_function_declaration" || t == "function_expression" ||
         t == "function" || t == "generator_function" || t == "arrow_function" || t == "method_definition" ||
         t == "function_definition" || t == "lambda";
}

// Strip what does not change the value: await, parentheses, TS casts, non-null assertions.
TSNode Unwrap(TSNode n) {
  for (int guard = 0; guard < 16 && !ts_node_is_null(n); ++guard) {
    std::string_view t = Type(n);
    if (t == "await_expression" || t == "await" || t == "parenthesized_expression" || t == "as_expression" ||
        t == "satisfies_expression" || t == "non_null_expression" || t == "type_assertion") {
      if (ts_node_named_child_count(n) == 0) break;
      n = ts_node_named_child(n, t == "type_assertion" ? ts_node_named_child_count(n) - 1 : 0);
      continue;
    }
    break;
  }
  return n;
}

// "x" for this.x / self.x, the text for a name, "ns.m" for a member of a plain name, else "".
std::string NameOf(const ParsedFile& f, TSNode n) {
  n = Unwrap(n);
  if (ts_node_is_null(n)) return "";
  std::string_view t = Type(n);
  if (IsName(t)) return std::string(f.NodeText(n));
  if (t == "member_expression" || t == "attribute") {
    TSNode obj = Field(n, "object");
    TSNode prop = Field(n, t == "attribute" ? "attribute" : "property");
    if (ts_node_is_null(obj) || ts_node_is_null(prop)) return "";
    std::string_view ot = Type(obj);
    std::string_view otext = f.NodeText(obj);
    if (ot == "this" || otext == "self" || otext == "cls") return std::string(f.NodeText(prop));
    if (ot == "identifier") return std::string(otext) + "." + std::string(f.NodeText(prop));
    // this.llm.stream() / self.llm.stream(): the field llm's member.
    if (ot == "member_expression" || ot == "attribute") {
      TSNode inner = Field(obj, ot == "attribute" ? "object" : "object");
      TSNode field = Field(obj, ot == "attribute" ? "attribute" : "property");
      if (!ts_node_is_null(inner) && !ts_node_is_null(field)) {
        std::string_view it = Type(inner), itext = f.NodeText(inner);
        if (it == "this" || itext == "self")
          return std::string(f.NodeText(field)) + "." + std::string(f.NodeText(prop));
      }
    }
  }
  return "";
}

// The name a function-like node is known by, or "" when anonymous (then its body belongs to the
// enclosing function).
std::string FunctionName(const ParsedFile& f, TSNode fn, TSNode parent) {
  std::string_view t = Type(fn);
  if (t == "function_declaration" || t == "generator_function_declaration" || t == "function_definition" ||
      t == "method_definition") {
    TSNode name = Field(fn, "name");
    return ts_node_is_null(name) ? "" : std::string(f.NodeText(name));
  }
  // Named function expressions: `const f = function g() {}` is known as f in this file.
  if (ts_node_is_null(parent)) return "";
  std::string_view pt = Type(parent);
  if (pt == "variable_declarator") return NameOf(f, Field(parent, "name"));
  if (pt == "assignment_expression" || pt == "assignment") return NameOf(f, Field(parent, "left"));
  if (pt == "pair") return NameOf(f, Field(parent, "key"));
  if (pt == "public_field_definition" || pt == "field_definition") {
    TSNode name = Field(parent, "name");
    if (ts_node_is_null(name)) name = Field(parent, "property");
    return ts_node_is_null(name) ? "" : std::string(f.NodeText(name));
  }
  return "";
}

// Which node types Summarizer::Enter looks at, by grammar symbol: comparing type names on every
// node of every file cost more than the rest of the walk.
const std::vector<bool>& InterestingSymbols(const TSLanguage* lang) {
  static std::mutex mu;
  static std::map<const TSLanguage*, std::vector<bool>> tables;
  std::lock_guard<std::mutex> lock(mu);
  auto it = tables.find(lang);
  if (it != tables.end()) return it->second;
  uint32_t n = ts_language_symbol_count(lang);
  std::vector<bool> table(n, false);
  for (uint32_t sym = 0; sym < n; ++sym) {
    const char* name = ts_language_symbol_name(lang, static_cast<TSSymbol>(sym));
    if (!name) continue;
    std::string_view t(name);
    table[sym] = IsFunctionNode(t) || IsCall(t) || t == "import_statement" || t == "import_from_statement" ||
                 t == "export_statement" || t == "variable_declarator" || t == "assignment_expression" ||
                 t == "assignment" || t == "return_statement" || t == "public_field_definition" ||
                 t == "field_definition";
  }
  return tables.emplace(lang, std::move(table)).first->second;
}

class Summarizer {
 public:
  Summarizer(const ParsedFile& f, const std::vector<KindHit>& hits, FileSymbols& out) : f_(f), out_(out) {
    for (const auto& h : hits) {
      if (h.rule->target_function) {
        out_.fn_kinds[EnclosingFunction(h.node)].insert(h.rule->kind);
      } else {
        value_hits_[{ts_node_start_byte(h.node), ts_node_end_byte(h.node)}].insert(h.rule->kind);
      }
    }
  }

  void Run() {
    fn_stack_.push_back("");
    Walk();
  }

 private:
  std::string EnclosingFunction(TSNode n) {
    for (TSNode p = ts_node_parent(n); !ts_node_is_null(p); p = ts_node_parent(p)) {
      if (!IsFunctionNode(Type(p))) continue;
      std::string name = FunctionName(f_, p, ts_node_parent(p));
      if (!name.empty()) return name;
    }
    return "";
  }

  const std::set<std::string>* HitKinds(TSNode v) const {
    auto it = value_hits_.find({ts_node_start_byte(v), ts_node_end_byte(v)});
    return it == value_hits_.end() ? nullptr : &it->second;
  }

  // `name` holds the value of `value`.
  void Bind(const std::string& name, TSNode value, int depth = 0) {
    if (name.empty() || ts_node_is_null(value) || depth > 8) return;
    TSNode v = Unwrap(value);
    if (ts_node_is_null(v)) return;
    if (auto* k = HitKinds(value)) out_.value_kinds[name].insert(k->begin(), k->end());
    if (auto* k = HitKinds(v)) out_.value_kinds[name].insert(k->begin(), k->end());
    std::string_view t = Type(v);
    if (IsCall(t)) {
      TSNode fn = Field(v, t == "new_expression" ? "constructor" : "function");
      std::string callee = CalleeName(f_, fn);
      if (!callee.empty()) out_.call_results[name].push_back(callee);
    } else if (IsName(t) || t == "member_expression" || t == "attribute") {
      std::string other = NameOf(f_, v);
      if (!other.empty() && other != name) out_.aliases[name].push_back(other);
    } else if (t == "binary_expression" || t == "boolean_operator" || t == "ternary_expression" ||
               t == "conditional_expression") {
      // `globalThis.ctx ?? createContext()`, `a or make()`, `x ? a : b`: either side.
      uint32_t n = ts_node_named_child_count(v);
      for (uint32_t i = 0; i < n; ++i) Bind(name, ts_node_named_child(v, i), depth + 1);
    }
  }

  void Return(const std::string& fn, TSNode value) {
    TSNode v = Unwrap(value);
    if (ts_node_is_null(v)) return;
    if (auto* k = HitKinds(value)) out_.return_kinds[fn].insert(k->begin(), k->end());
    if (auto* k = HitKinds(v)) out_.return_kinds[fn].insert(k->begin(), k->end());
    std::string_view t = Type(v);
    if (IsCall(t)) {
      std::string callee = CalleeName(f_, Field(v, t == "new_expression" ? "constructor" : "function"));
      if (!callee.empty()) out_.return_calls[fn].push_back(callee);
    } else {
      std::string name = NameOf(f_, v);
      if (!name.empty()) out_.return_names[fn].push_back(name);
    }
  }

  void JsImport(TSNode node) {
    TSNode src = Field(node, "source");
    if (ts_node_is_null(src)) return;
    std::string module = Unquote(f_.NodeText(src));
    uint32_t n = ts_node_named_child_count(node);
    for (uint32_t i = 0; i < n; ++i) {
      TSNode clause = ts_node_named_child(node, i);
      if (Type(clause) != "import_clause") continue;
      uint32_t m = ts_node_named_child_count(clause);
      for (uint32_t j = 0; j < m; ++j) {
        TSNode c = ts_node_named_child(clause, j);
        std::string_view ct = Type(c);
        if (ct == "identifier") {
          out_.imported[std::string(f_.NodeText(c))] = {module, "default"};
        } else if (ct == "namespace_import") {
          if (ts_node_named_child_count(c) > 0)
            out_.imported[std::string(f_.NodeText(ts_node_named_child(c, 0)))] = {module, "*"};
        } else if (ct == "named_imports") {
          uint32_t k = ts_node_named_child_count(c);
          for (uint32_t s = 0; s < k; ++s) {
            TSNode spec = ts_node_named_child(c, s);
            if (Type(spec) != "import_specifier") continue;
            TSNode name = Field(spec, "name"), alias = Field(spec, "alias");
            if (ts_node_is_null(name)) continue;
            std::string exported = Unquote(f_.NodeText(name));
            out_.imported[ts_node_is_null(alias) ? exported : std::string(f_.NodeText(alias))] = {module, exported};
          }
        }
      }
    }
  }

  // Calls `each(name, exported_as)` for every specifier of the export clauses of `node`; returns
  // whether there was a clause (`export { a as b }`), as opposed to `export *` or a declaration.
  template <typename Each>
  bool ForEachExportSpecifier(TSNode node, Each each) {
    bool clause = false;
    uint32_t n = ts_node_named_child_count(node);
    for (uint32_t i = 0; i < n; ++i) {
      TSNode c = ts_node_named_child(node, i);
      if (Type(c) != "export_clause") continue;
      clause = true;
      uint32_t k = ts_node_named_child_count(c);
      for (uint32_t s = 0; s < k; ++s) {
        TSNode spec = ts_node_named_child(c, s);
        TSNode name = Field(spec, "name"), alias = Field(spec, "alias");
        if (ts_node_is_null(name)) continue;
        std::string from = Unquote(f_.NodeText(name));
        each(from, ts_node_is_null(alias) ? from : Unquote(f_.NodeText(alias)));
      }
    }
    return clause;
  }

  void JsExport(TSNode node) {
    TSNode src = Field(node, "source");
    bool is_default = false;
    uint32_t count = ts_node_child_count(node);
    for (uint32_t i = 0; i < count; ++i)
      if (Type(ts_node_child(node, i)) == "default") is_default = true;
    if (!ts_node_is_null(src)) {
      std::string module = Unquote(f_.NodeText(src));
      bool clause = ForEachExportSpecifier(node, [&](const std::string& from, const std::string& as) {
        out_.reexports[as] = {module, from};
      });
      if (!clause) out_.star_exports.push_back(module);
      return;
    }
    if (is_default) {
      TSNode decl = Field(node, "declaration");
      TSNode value = Field(node, "value");
      if (!ts_node_is_null(decl)) {
        std::string_view dt = Type(decl);
        TSNode name = Field(decl, "name");
        out_.default_export = (dt == "class_declaration" || dt == "class") && !ts_node_is_null(name)
                                  ? std::string(f_.NodeText(name))
                                  : FunctionName(f_, decl, node);
      } else if (!ts_node_is_null(value)) {
        out_.default_export = NameOf(f_, value);
        if (out_.default_export.empty()) {  // `export default createThing()`: the value itself
          Bind("default", value);
          out_.default_export = "default";
        }
      }
      return;
    }
    // `export { a as b }`: b is another name for a.
    ForEachExportSpecifier(node, [&](const std::string& from, const std::string& as) {
      if (as != from) out_.aliases[as].push_back(from);
    });
  }

  // `const { a, b: c } = require('./m')` and `const m = require('./m')`.
  bool JsRequire(TSNode declarator) {
    TSNode value = Unwrap(Field(declarator, "value"));
    if (ts_node_is_null(value) || Type(value) != "call_expression") return false;
    TSNode fn = Field(value, "function");
    TSNode args = Field(value, "arguments");
    if (ts_node_is_null(fn) || ts_node_is_null(args) || ts_node_named_child_count(args) < 1) return false;
    std::string_view callee = f_.NodeText(fn);
    TSNode arg = ts_node_named_child(args, 0);
    if ((callee != "require" && callee != "import") || Type(arg) != "string") return false;
    std::string module = Unquote(f_.NodeText(arg));
    TSNode name = Field(declarator, "name");
    if (ts_node_is_null(name)) return true;
    if (Type(name) == "identifier") {
      out_.imported[std::string(f_.NodeText(name))] = {module, "*"};
    } else if (Type(name) == "object_pattern") {
      uint32_t n = ts_node_named_child_count(name);
      for (uint32_t i = 0; i < n; ++i) {
        TSNode p = ts_node_named_child(name, i);
        if (Type(p) == "shorthand_property_identifier_pattern") {
          std::string s(f_.NodeText(p));
          out_.imported[s] = {module, s};
        } else if (Type(p) == "pair_pattern") {
          TSNode k = Field(p, "key"), v = Field(p, "value");
          if (!ts_node_is_null(k) && !ts_node_is_null(v) && Type(v) == "identifier")
            out_.imported[std::string(f_.NodeText(v))] = {module, Unquote(f_.NodeText(k))};
        }
      }
    }
    return true;
  }

  void PyImport(TSNode node, bool from) {
    if (from) {
      TSNode mod = Field(node, "module_name");
      if (ts_node_is_null(mod)) return;
      std::string module(f_.NodeText(mod));
      uint32_t n = ts_node_named_child_count(node);
      for (uint32_t i = 0; i < n; ++i) {
        TSNode c = ts_node_named_child(node, i);
        if (ts_node_eq(c, mod)) continue;
        if (Type(c) == "dotted_name") {
          std::string s(f_.NodeText(c));
          out_.imported[s] = {module, s};
        } else if (Type(c) == "aliased_import") {
          TSNode name = Field(c, "name"), alias = Field(c, "alias");
          if (!ts_node_is_null(name) && !ts_node_is_null(alias))
            out_.imported[std::string(f_.NodeText(alias))] = {module, std::string(f_.NodeText(name))};
        }
      }
      return;
    }
    uint32_t n = ts_node_named_child_count(node);
    for (uint32_t i = 0; i < n; ++i) {
      TSNode c = ts_node_named_child(node, i);
      if (Type(c) == "aliased_import") {
        TSNode name = Field(c, "name"), alias = Field(c, "alias");
        if (!ts_node_is_null(name) && !ts_node_is_null(alias))
          out_.imported[std::string(f_.NodeText(alias))] = {std::string(f_.NodeText(name)), "*"};
      } else if (Type(c) == "dotted_name") {
        std::string s(f_.NodeText(c));
        if (s.find('.') == std::string::npos) out_.imported[s] = {s, "*"};
      }
    }
  }

  // Depth-first over the named nodes with a cursor (ts_node_parent and ts_node_named_child(i) are
  // not O(1) in tree-sitter; this walk is the audit's second pass over every file, so it must be
  // linear). Returns whether to descend into the node's children.
  bool Enter(TSNode node, TSNode parent, bool& pushed) {
    std::string_view t = Type(node);
    if (IsFunctionNode(t)) {
      std::string name = FunctionName(f_, node, parent);
      if (!name.empty()) {
        fn_stack_.push_back(name);
        pushed = true;
      }
      // Arrow functions with an expression body return it.
      if (t == "arrow_function" || t == "lambda") {
        TSNode body = Field(node, "body");
        if (!ts_node_is_null(body) && Type(body) != "statement_block") Return(fn_stack_.back(), body);
      }
    } else if (t == "import_statement" && f_.lang() != Lang::kPython) {
      JsImport(node);
      return false;
    } else if (t == "import_statement" || t == "import_from_statement") {
      PyImport(node, t == "import_from_statement");
      return false;
    } else if (t == "export_statement") {
      JsExport(node);
    } else if (t == "variable_declarator") {
      if (!JsRequire(node)) Bind(NameOf(f_, Field(node, "name")), Field(node, "value"));
    } else if (t == "assignment_expression" || t == "assignment") {
      Bind(NameOf(f_, Field(node, "left")), Field(node, "right"));
    } else if (t == "public_field_definition" || t == "field_definition") {
      // Class fields: `private llm = new LLMService();` (TS) / `llm = new LLMService();` (JS).
      TSNode name = Field(node, "name");
      if (ts_node_is_null(name)) name = Field(node, "property");
      TSNode value = Field(node, "value");
      if (!ts_node_is_null(name) && !ts_node_is_null(value) && !IsFunctionNode(Type(value)))
        Bind(std::string(f_.NodeText(name)), value);
    } else if (t == "return_statement") {
      if (ts_node_named_child_count(node) > 0) Return(fn_stack_.back(), ts_node_named_child(node, 0));
    } else if (IsCall(t)) {
      std::string callee = CalleeName(f_, Field(node, t == "new_expression" ? "constructor" : "function"));
      if (!callee.empty()) {
        auto& list = out_.callees[fn_stack_.back()];
        if (std::find(list.begin(), list.end(), callee) == list.end()) list.push_back(callee);
      }
    }
    return true;
  }

  void Walk() {
    struct Frame {
      TSNode node;
      bool pushed;
    };
    std::vector<Frame> stack;  // the named ancestors of the cursor's node
    const std::vector<bool>& interesting = InterestingSymbols(GrammarFor(f_.lang()));
    TSTreeCursor cursor = ts_tree_cursor_new(f_.root());
    TSNode root = f_.root();
    stack.push_back({root, false});
    if (ts_tree_cursor_goto_first_child(&cursor)) {
      for (;;) {
        TSNode node = ts_tree_cursor_current_node(&cursor);
        bool descend = false;
        if (ts_node_is_named(node) && stack.size() < 600) {
          bool pushed = false;
          TSSymbol sym = ts_node_symbol(node);
          bool look = sym < interesting.size() && interesting[sym];
          descend = (!look || Enter(node, stack.back().node, pushed)) && ts_node_child_count(node) > 0;
          if (descend) stack.push_back({node, pushed});
          else if (pushed) fn_stack_.pop_back();
        }
        if (descend && ts_tree_cursor_goto_first_child(&cursor)) continue;
        if (descend) {  // no children after all
          if (stack.back().pushed) fn_stack_.pop_back();
          stack.pop_back();
        }
        // Next sibling, climbing out of finished subtrees.
        bool moved = false;
        while (!(moved = ts_tree_cursor_goto_next_sibling(&cursor))) {
          if (!ts_tree_cursor_goto_parent(&cursor)) break;
          TSNode up = ts_tree_cursor_current_node(&cursor);
          if (stack.size() > 1 && ts_node_eq(stack.back().node, up)) {
            if (stack.back().pushed) fn_stack_.pop_back();
            stack.pop_back();
          }
        }
        if (!moved) break;
      }
    }
    ts_tree_cursor_delete(&cursor);
  }

  const ParsedFile& f_;
  FileSymbols& out_;
  std::map<std::pair<uint32_t, uint32_t>, std::set<std::string>> value_hits_;
  std::vector<std::string> fn_stack_;
};

}  // namespace

std::string CalleeName(const ParsedFile& f, TSNode fn) {
  if (ts_node_is_null(fn)) return "";
  return NameOf(f, fn);
}

KindProbe ProbeFor(const ParsedFile& f, TSNode node) {
  KindProbe p;
  TSNode v = Unwrap(node);
  if (ts_node_is_null(v)) return p;
  std::string_view t = Type(v);
  // The property of `obj.m` (a capture on the callee's name) stands for `obj.m`: its meaning comes
  // from obj (an import, an instance), not from a local name m.
  if (t == "property_identifier" || t == "identifier") {
    TSNode parent = ts_node_parent(v);
    if (!ts_node_is_null(parent)) {
      std::string_view pt = Type(parent);
      TSNode prop = Field(parent, pt == "attribute" ? "attribute" : "property");
      if ((pt == "member_expression" || pt == "attribute") && !ts_node_is_null(prop) && ts_node_eq(prop, v)) {
        v = parent;
        t = pt;
      }
    }
  }
  if (IsCall(t)) {
    p.call_result = true;
    p.name = CalleeName(f, Field(v, t == "new_expression" ? "constructor" : "function"));
  } else {
    p.name = NameOf(f, v);
  }
  return p;
}

FileSymbols Summarize(const ParsedFile& file, const std::vector<KindHit>& hits) {
  FileSymbols out;
  out.rel = file.rel();
  out.lang = file.lang();
  out.modules = file.Imports();
  Summarizer(file, hits, out).Run();
  return out;
}

// ----- the project -----

namespace {

std::string DirOf(const std::string& rel) {
  size_t slash = rel.rfind('/');
  return slash == std::string::npos ? "" : rel.substr(0, slash);
}

std::string Join(const std::string& dir, const std::string& rest) { return dir.empty() ? rest : dir + "/" + rest; }

// "a/./b/../c" -> "a/c"; "" when it climbs above the root.
std::string Normalize(const std::string& path) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    std::string part = path.substr(i, j - i);
    if (part == "..") {
      if (parts.empty()) return "";
      parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    i = j + 1;
  }
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "/") + p;
  return out;
}

bool IsAncestorDir(const std::string& dir, const std::string& rel) {
  return dir.empty() || (rel.size() > dir.size() && rel.compare(0, dir.size(), dir) == 0 && rel[dir.size()] == '/');
}

size_t CommonPrefixDirs(const std::string& a, const std::string& b) {
  size_t n = 0, i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) {
    if (a[i] == '/') ++n;
    ++i;
  }
  return n;
}

enum class Want { kValue, kFunction, kReturn };

}  // namespace

struct ProjectSymbols::Impl {
  std::vector<std::shared_ptr<const FileSymbols>> files;
  std::unordered_map<std::string, const FileSymbols*> by_rel;
  std::vector<std::string> package_dirs;  // longest first
  // Python: dotted module suffix -> files ("socket.main" -> backend/open_webui/socket/main.py).
  std::unordered_map<std::string, std::vector<std::string>> py_modules;
  std::map<std::tuple<int, std::string, std::string>, std::set<std::string>> memo;
  // Keys being computed, with their depth on the stack. A result that saw an unfinished key below
  // it (a cycle back to an ancestor) or a cut by depth is incomplete: it is returned but not
  // memoized, or the first path through a cycle would fix a wrong answer for every later query.
  std::map<std::tuple<int, std::string, std::string>, int> busy;
  int low = INT_MAX;      // the shallowest unfinished key the current computation ran into
  long budget = 2000000;  // Kinds calls before memoizing regardless (bounds pathological graphs)
  std::map<std::pair<std::string, std::string>, std::string> resolved;

  const FileSymbols* Get(const std::string& rel) const {
    auto it = by_rel.find(rel);
    return it == by_rel.end() ? nullptr : it->second;
  }

  std::string ResolveJs(const std::string& rel, const std::string& spec) const {
    std::vector<std::string> bases;
    if (spec.rfind("./", 0) == 0 || spec.rfind("../", 0) == 0 || spec == "." || spec == "..") {
      bases.push_back(Normalize(Join(DirOf(rel), spec)));
    } else {
      std::string rest = spec;
      bool lib = false;
      if (spec.rfind("@/", 0) == 0 || spec.rfind("~/", 0) == 0) rest = spec.substr(2);
      else if (spec.rfind("$lib/", 0) == 0) rest = spec.substr(5), lib = true;
      else if (spec == "$lib") rest = "", lib = true;
      for (const auto& dir : package_dirs) {
        if (!IsAncestorDir(dir, rel)) continue;
        if (lib) {
          bases.push_back(Normalize(Join(Join(dir, "src/lib"), rest)));
        } else {
          bases.push_back(Normalize(Join(dir, rest)));
          bases.push_back(Normalize(Join(dir, "src/" + rest)));
        }
      }
    }
    static const char* kExt[] = {"",          ".ts",        ".tsx",      ".js",        ".jsx",
                                 ".mjs",      ".cjs",       ".mts",      ".svelte",    ".vue",
                                 "/index.ts", "/index.tsx", "/index.js", "/index.jsx", "/index.mjs"};
    for (const auto& base : bases) {
      if (base.empty()) continue;
      std::string stem = base;
      for (const char* js : {".js", ".mjs", ".jsx"}) {  // TS ESM style: import './x.js' means x.ts
        size_t n = strlen(js);
        if (stem.size() > n && stem.compare(stem.size() - n, n, js) == 0) {
          std::string without = stem.substr(0, stem.size() - n);
          for (const char* e : {".ts", ".tsx", ".mts"})
            if (by_rel.count(without + e)) return without + e;
        }
      }
      for (const char* e : kExt)
        if (by_rel.count(stem + e)) return stem + e;
    }
    return "";
  }

  std::string ResolvePy(const std::string& rel, const std::string& spec) const {
    if (!spec.empty() && spec[0] == '.') {
      size_t dots = spec.find_first_not_of('.');
      std::string rest = dots == std::string::npos ? "" : spec.substr(dots);
      size_t levels = dots == std::string::npos ? spec.size() : dots;
      std::string dir = DirOf(rel);
      for (size_t i = 1; i < levels; ++i) dir = DirOf(dir);
      std::string path = rest;
      std::replace(path.begin(), path.end(), '.', '/');
      std::string base = path.empty() ? dir : Join(dir, path);
      if (by_rel.count(base + ".py")) return base + ".py";
      if (by_rel.count(Join(base, "__init__.py"))) return Join(base, "__init__.py");
      return "";
    }
    auto it = py_modules.find(spec);
    if (it == py_modules.end()) return "";
    std::string best;
    size_t best_score = 0;
    for (const auto& cand : it->second) {
      size_t score = CommonPrefixDirs(cand, rel) + 1;
      if (score > best_score) best = cand, best_score = score;
    }
    return best;
  }

  std::string Resolve(const std::string& rel, const std::string& spec) {
    auto key = std::make_pair(rel, spec);
    auto it = resolved.find(key);
    if (it != resolved.end()) return it->second;
    const FileSymbols* f = Get(rel);
    std::string out;
    if (f) out = f->lang == Lang::kPython ? ResolvePy(rel, spec) : ResolveJs(rel, spec);
    if (out == rel) out.clear();
    resolved.emplace(key, out);
    return out;
  }

  // Kinds of `name` as exported by file `rel` (following default, re-exports and `export *`).
  std::set<std::string> Exported(const std::string& rel, std::string name, Want want, int depth) {
    const FileSymbols* f = Get(rel);
    if (!f) return {};
    if (depth > 96) {
      low = std::min(low, -1);
      return {};
    }
    if (name == "default") {
      if (f->default_export.empty()) return {};
      name = f->default_export;
    }
    std::set<std::string> out = Kinds(rel, name, want, depth + 1);
    auto re = f->reexports.find(name);
    if (re != f->reexports.end()) {
      std::string t = Resolve(rel, re->second.module);
      if (!t.empty()) {
        auto k = Exported(t, re->second.name, want, depth + 1);
        out.insert(k.begin(), k.end());
      }
    }
    for (const auto& star : f->star_exports) {
      std::string t = Resolve(rel, star);
      if (t.empty()) continue;
      auto k = Exported(t, name, want, depth + 1);
      out.insert(k.begin(), k.end());
    }
    return out;
  }

  // `ns.member` or an imported name: where it leads.
  std::set<std::string> ThroughImport(const std::string& rel, const FileSymbols& f, const std::string& name, Want want,
                                      int depth) {
    std::set<std::string> out;
    auto add = [&](const std::set<std::string>& k) { out.insert(k.begin(), k.end()); };
    size_t dot = name.find('.');
    if (dot == std::string::npos) {
      auto imp = f.imported.find(name);
      if (imp == f.imported.end() || imp->second.name == "*") return out;
      std::string t = Resolve(rel, imp->second.module);
      if (!t.empty()) add(Exported(t, imp->second.name, want, depth + 1));
      return out;
    }
    std::string ns = name.substr(0, dot), member = name.substr(dot + 1);
    auto imp = f.imported.find(ns);
    if (imp != f.imported.end()) {
      std::string t;
      if (imp->second.name == "*") {
        t = Resolve(rel, imp->second.module);
      } else {
        // Python `from app import llm` then `llm.stream()`: app/llm.py is the module.
        if (f.lang == Lang::kPython) {
          const std::string& mod = imp->second.module;
          t = Resolve(rel, mod + (mod.back() == '.' ? "" : ".") + imp->second.name);
        }
        // An imported object: its methods are defined in the module it comes from.
        if (t.empty()) t = Resolve(rel, imp->second.module);
      }
      if (!t.empty()) {
        add(Exported(t, member, want, depth + 1));
        // `export const chatService = new ChatService()` with the class in yet another module.
        if (imp->second.name != "*" && want != Want::kValue)
          add(InstanceMember(t, imp->second.name, member, want, depth + 1));
      }
    } else if (want != Want::kValue) {
      // A local object's method: defined (if anywhere here) in this file, or in the module its
      // class or factory comes from.
      add(Kinds(rel, member, want, depth + 1));
      add(InstanceMember(rel, ns, member, want, depth + 1));
    }
    return out;
  }

  // `obj.member` where obj = new C(...) or make(...) in file `rel` and C / make is imported: the
  // member as the module of C / make defines it.
  std::set<std::string> InstanceMember(const std::string& rel, const std::string& obj, const std::string& member,
                                       Want want, int depth) {
    std::set<std::string> out;
    const FileSymbols* f = Get(rel);
    if (!f) return out;
    if (depth > 96) {
      low = std::min(low, -1);
      return out;
    }
    auto calls = f->call_results.find(obj);
    if (calls == f->call_results.end()) return out;
    for (const auto& ctor : calls->second) {
      auto imp = f->imported.find(ctor);
      if (imp == f->imported.end() || imp->second.name == "*") continue;
      std::string t = Resolve(rel, imp->second.module);
      if (t.empty()) continue;
      auto k = Exported(t, member, want, depth + 1);
      out.insert(k.begin(), k.end());
    }
    return out;
  }

  std::set<std::string> Kinds(const std::string& rel, const std::string& name, Want want, int depth) {
    const FileSymbols* f = Get(rel);
    if (!f || name.empty()) return {};
    if (depth > 96) {
      low = std::min(low, -1);  // cut: nothing above is complete
      return {};
    }
    auto key = std::make_tuple(static_cast<int>(want), rel, name);
    auto m = memo.find(key);
    if (m != memo.end()) return m->second;
    auto b = busy.find(key);
    if (b != busy.end()) {  // a cycle: what is known so far comes from the other path
      low = std::min(low, b->second);
      return {};
    }
    busy.emplace(key, depth);
    int saved_low = low;
    low = INT_MAX;
    --budget;
    std::set<std::string> out;
    auto add = [&](const std::set<std::string>& k) { out.insert(k.begin(), k.end()); };
    auto direct = [&](const std::map<std::string, std::set<std::string>>& map) {
      auto it = map.find(name);
      if (it != map.end()) add(it->second);
    };
    auto each = [&](const std::map<std::string, std::vector<std::string>>& map, Want w) {
      auto it = map.find(name);
      if (it == map.end()) return;
      for (const auto& other : it->second) add(Kinds(rel, other, w, depth + 1));
    };
    switch (want) {
      case Want::kValue:
        direct(f->value_kinds);
        each(f->aliases, Want::kValue);
        each(f->call_results, Want::kReturn);
        break;
      case Want::kFunction:
        direct(f->fn_kinds);
        each(f->aliases, Want::kFunction);
        each(f->callees, Want::kFunction);
        break;
      case Want::kReturn:
        direct(f->return_kinds);
        each(f->aliases, Want::kReturn);
        each(f->return_names, Want::kValue);
        each(f->return_calls, Want::kReturn);
        break;
    }
    add(ThroughImport(rel, *f, name, want, depth));
    busy.erase(key);
    bool complete = low >= depth || budget < 0;
    low = std::min(saved_low, low < depth ? low : INT_MAX);
    if (complete) memo.emplace(key, out);
    return out;
  }
};

ProjectSymbols::ProjectSymbols(std::vector<std::shared_ptr<const FileSymbols>> files,
                               std::vector<std::string> package_dirs)
    : impl_(std::make_unique<Impl>()) {
  impl_->files = std::move(files);
  for (const auto& f : impl_->files) {
    if (!f) continue;
    impl_->by_rel.emplace(f->rel, f.get());
    if (f->lang != Lang::kPython) continue;
    // Register every dotted suffix: a/b/c.py is "c", "b.c" and "a.b.c"; a/b/__init__.py is "b", "a.b".
    std::string path = f->rel.substr(0, f->rel.size() - 3);
    const std::string init = "/__init__";
    if (path.size() > init.size() && path.compare(path.size() - init.size(), init.size(), init) == 0)
      path.resize(path.size() - init.size());
    else if (path == "__init__") continue;
    std::string dotted = path;
    std::replace(dotted.begin(), dotted.end(), '/', '.');
    for (size_t i = 0;;) {
      impl_->py_modules[dotted.substr(i)].push_back(f->rel);
      size_t next = dotted.find('.', i);
      if (next == std::string::npos) break;
      i = next + 1;
    }
  }
  impl_->package_dirs = std::move(package_dirs);
  if (std::find(impl_->package_dirs.begin(), impl_->package_dirs.end(), "") == impl_->package_dirs.end())
    impl_->package_dirs.push_back("");
  std::sort(impl_->package_dirs.begin(), impl_->package_dirs.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

ProjectSymbols::~ProjectSymbols() = default;

bool ProjectSymbols::Holds(const std::string& rel, const KindProbe& probe) {
  if (probe.name.empty()) return probe.negate;
  std::set<std::string> kinds;
  if (probe.call_result) {
    kinds = impl_->Kinds(rel, probe.name, Want::kReturn, 0);
  } else {
    kinds = impl_->Kinds(rel, probe.name, Want::kValue, 0);
    auto fn = impl_->Kinds(rel, probe.name, Want::kFunction, 0);
    kinds.insert(fn.begin(), fn.end());
  }
  return kinds.count(probe.kind) ? !probe.negate : probe.negate;
}

std::vector<std::string> ProjectSymbols::EffectiveImports(const std::string& rel) {
  std::vector<std::string> out;
  const FileSymbols* f = impl_->Get(rel);
  if (!f) return out;
  out = f->modules;
  for (const auto& m : f->modules) {
    std::string t = impl_->Resolve(rel, m);
    if (t.empty()) continue;
    if (const FileSymbols* g = impl_->Get(t)) out.insert(out.end(), g->modules.begin(), g->modules.end());
  }
  return out;
}

std::string ProjectSymbols::ResolveModule(const std::string& rel, const std::string& spec) const {
  const FileSymbols* f = impl_->Get(rel);
  if (!f) return "";
  std::string out = f->lang == Lang::kPython ? impl_->ResolvePy(rel, spec) : impl_->ResolveJs(rel, spec);
  return out == rel ? "" : out;
}

}  // namespace dsx::audit

#include "kernel/gen/template_expand.hpp"

#include <cctype>
#include <regex>
#include <set>
#include <sstream>

#include <toml++/toml.h>

#include "core/fs.hpp"

namespace dsx::kernel::gen {
namespace stdfs = std::filesystem;

namespace {

std::string ValueText(const toml::node& n) {
  if (auto s = n.as_string()) return s->get();
  if (auto i = n.as_integer()) return std::to_string(i->get());
  if (auto f = n.as_floating_point()) {
    std::ostringstream o;
    o << f->get();
    return o.str();
  }
  if (auto b = n.as_boolean()) return b->get() ? "true" : "false";
  return "";
}

// Recursive descent over + - * / % and parentheses.
class IntParser {
 public:
  IntParser(const std::string& s, const std::map<std::string, std::string>& v) : s_(s), v_(v) {}
  Result<long long> Parse() {
    auto r = Sum();
    if (!r.ok()) return r;
    Skip();
    if (pos_ != s_.size()) return Status::Failed("unexpected '" + s_.substr(pos_) + "' in '" + s_ + "'");
    return r;
  }

 private:
  void Skip() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  Result<long long> Sum() {
    auto l = Product();
    if (!l.ok()) return l;
    long long acc = *l;
    for (;;) {
      Skip();
      if (pos_ >= s_.size() || (s_[pos_] != '+' && s_[pos_] != '-')) return acc;
      char op = s_[pos_++];
      auto r = Product();
      if (!r.ok()) return r;
      acc = op == '+' ? acc + *r : acc - *r;
    }
  }
  Result<long long> Product() {
    auto l = Atom();
    if (!l.ok()) return l;
    long long acc = *l;
    for (;;) {
      Skip();
      if (pos_ >= s_.size() || (s_[pos_] != '*' && s_[pos_] != '/' && s_[pos_] != '%')) return acc;
      char op = s_[pos_++];
      auto r = Atom();
      if (!r.ok()) return r;
      if (op != '*' && *r == 0) return Status::Failed("division by zero in '" + s_ + "'");
      acc = op == '*' ? acc * *r : op == '/' ? acc / *r : acc % *r;
    }
  }
  Result<long long> Atom() {
    Skip();
    if (pos_ >= s_.size()) return Status::Failed("expression '" + s_ + "' ends early");
    char c = s_[pos_];
    if (c == '(') {
      ++pos_;
      auto r = Sum();
      if (!r.ok()) return r;
      Skip();
      if (pos_ >= s_.size() || s_[pos_] != ')') return Status::Failed("missing ')' in '" + s_ + "'");
      ++pos_;
      return r;
    }
    if (c == '-') {
      ++pos_;
      auto r = Atom();
      if (!r.ok()) return r;
      return -*r;
    }
    size_t start = pos_;
    if (std::isdigit(static_cast<unsigned char>(c))) {
      while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
      return std::stoll(s_.substr(start, pos_ - start));
    }
    while (pos_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_')) ++pos_;
    if (start == pos_) return Status::Failed("unexpected '" + std::string(1, c) + "' in '" + s_ + "'");
    std::string name = s_.substr(start, pos_ - start);
    auto it = v_.find(name);
    if (it == v_.end()) return Status::Failed("unknown name '" + name + "' in '" + s_ + "'");
    try {
      size_t used = 0;
      long long v = std::stoll(it->second, &used);
      if (used != it->second.size()) throw std::invalid_argument("");
      return v;
    } catch (const std::exception&) {
      return Status::Failed("'" + name + "' = '" + it->second + "' is not an integer");
    }
  }
  const std::string& s_;
  const std::map<std::string, std::string>& v_;
  size_t pos_ = 0;
};

const std::regex kPlaceholder(R"(\{\{\s*([A-Z][A-Z0-9_]*)\s*\}\})");

}  // namespace

Result<long long> EvalIntExpr(const std::string& expr, const std::map<std::string, std::string>& values) {
  return IntParser(expr, values).Parse();
}

Result<std::string> Substitute(const std::string& text, const std::map<std::string, std::string>& values) {
  std::string out;
  auto begin = std::sregex_iterator(text.begin(), text.end(), kPlaceholder);
  size_t last = 0;
  for (auto it = begin; it != std::sregex_iterator(); ++it) {
    const auto& m = *it;
    auto v = values.find(m[1].str());
    if (v == values.end()) return Status::Failed("no value for placeholder {{" + m[1].str() + "}}");
    out.append(text, last, m.position(0) - last);
    out += v->second;
    last = m.position(0) + m.length(0);
  }
  out.append(text, last, std::string::npos);
  return out;
}

Result<KernelTemplate> ParseTemplate(const stdfs::path& params_file) {
  auto text = fs::ReadFile(params_file);
  if (!text.ok()) return text.status();
  toml::table t;
  try {
    t = toml::parse(*text, params_file.string());
  } catch (const toml::parse_error& e) {
    return Status::Failed(params_file.string() + ":" + std::to_string(e.source().begin.line) + ": " +
                          std::string(e.description()));
  }
  KernelTemplate k;
  k.params_file = params_file;
  auto src = t["template"].value<std::string>();
  if (!src) return Status::Failed(params_file.string() + ": missing 'template' (the .cu.tmpl file)");
  k.source_file = params_file.parent_path() / *src;
  auto source = fs::ReadFile(k.source_file);
  if (!source.ok()) return source.status().Wrap("cannot read template for '" + params_file.string() + "'");
  k.source = *source;
  k.description = t["description"].value_or(std::string());
  k.max_variants = static_cast<size_t>(t["max_variants"].value_or(int64_t{256}));
  if (auto fixed = t["fixed"].as_table())
    for (const auto& [key, v] : *fixed) k.fixed[std::string(key.str())] = ValueText(v);
  auto grid = t["grid"].as_table();
  if (!grid || grid->empty()) return Status::Failed(params_file.string() + ": no [grid] placeholders to search");
  // toml++ tables are ordered by key; keep the file's order through source positions.
  std::vector<std::pair<uint32_t, std::string>> order;
  for (const auto& [key, v] : *grid) order.push_back({key.source().begin.line, std::string(key.str())});
  std::sort(order.begin(), order.end());
  for (const auto& [line, key] : order) {
    const auto* arr = (*grid)[key].as_array();
    if (!arr || arr->empty())
      return Status::Failed(params_file.string() + ":" + std::to_string(line) + ": grid '" + key +
                            "' must be a non-empty array of candidate values");
    std::vector<std::string> values;
    for (const auto& v : *arr) values.push_back(ValueText(v));
    k.grid.push_back({key, values});
  }
  if (auto req = t["require"].as_array()) {
    for (const auto& r : *req) {
      const auto* rt = r.as_table();
      if (!rt) continue;
      TemplateRequirement q{(*rt)["expr"].value_or(std::string()), (*rt)["op"].value_or(std::string("==")),
                            (*rt)["value"].value_or(int64_t{0})};
      static const std::set<std::string> kOps = {"==", "!=", "<", "<=", ">", ">="};
      if (q.expr.empty() || !kOps.count(q.op))
        return Status::Failed(params_file.string() + ": each [[require]] needs expr and op (== != < <= > >=)");
      k.require.push_back(q);
    }
  }
  // Every placeholder in the source must be given, and every given one used.
  std::set<std::string> used, given;
  for (auto it = std::sregex_iterator(k.source.begin(), k.source.end(), kPlaceholder); it != std::sregex_iterator();
       ++it)
    used.insert((*it)[1].str());
  for (const auto& [key, v] : k.fixed) given.insert(key);
  for (const auto& [key, v] : k.grid) given.insert(key);
  for (const auto& u : used)
    if (!given.count(u))
      return Status::Failed(params_file.string() + ": template uses {{" + u + "}} but no value is given");
  for (const auto& g : given)
    if (!used.count(g))
      return Status::Failed(params_file.string() + ": '" + g + "' is given but the template never uses {{" + g + "}}");
  return k;
}

Result<KernelTemplate> LoadTemplate(const stdfs::path& skill_dir, const std::string& task) {
  stdfs::path p = skill_dir / "templates" / (task + ".toml");
  std::error_code ec;
  if (!stdfs::exists(p, ec)) {
    std::string have;
    for (auto it = stdfs::directory_iterator(skill_dir / "templates", ec); !ec && it != stdfs::directory_iterator();
         it.increment(ec))
      if (it->path().extension() == ".toml") have += (have.empty() ? "" : ", ") + it->path().stem().string();
    return Status::NotFound("no kernel template for task '" + task + "' in '" + (skill_dir / "templates").string() +
                            "'" + (have.empty() ? "" : " (templates exist for: " + have + ")"));
  }
  return ParseTemplate(p);
}

Result<std::vector<Variant>> ExpandTemplate(const KernelTemplate& t) {
  std::vector<Variant> out;
  std::vector<size_t> idx(t.grid.size(), 0);
  for (;;) {
    std::map<std::string, std::string> all = t.fixed;
    Variant v;
    for (size_t i = 0; i < t.grid.size(); ++i) {
      const auto& [key, values] = t.grid[i];
      all[key] = values[idx[i]];
      v.values[key] = values[idx[i]];
      v.id += (i ? "," : "") + key + "=" + values[idx[i]];
    }
    bool keep = true;
    for (const auto& r : t.require) {
      auto x = EvalIntExpr(r.expr, all);
      if (!x.ok()) return x.status().Wrap(t.params_file.string() + ": [[require]]");
      long long a = *x, b = r.value;
      bool pass = r.op == "=="   ? a == b
                  : r.op == "!=" ? a != b
                  : r.op == "<"  ? a < b
                  : r.op == "<=" ? a <= b
                  : r.op == ">"  ? a > b
                                 : a >= b;
      keep = keep && pass;
    }
    if (keep) {
      auto src = Substitute(t.source, all);
      if (!src.ok()) return src.status().Wrap(t.source_file.string());
      v.source = std::move(*src);
      out.push_back(std::move(v));
      if (out.size() > t.max_variants)
        return Status::Failed(t.params_file.string() + ": more than max_variants = " + std::to_string(t.max_variants) +
                              " variants; narrow the grid or raise the cap");
    }
    size_t i = t.grid.size();
    while (i > 0) {
      --i;
      if (++idx[i] < t.grid[i].second.size()) break;
      idx[i] = 0;
      if (i == 0) return out;
    }
    if (t.grid.empty()) return out;
  }
}

}  // namespace dsx::kernel::gen

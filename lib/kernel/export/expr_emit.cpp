#include "kernel/export/expr_emit.hpp"

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <vector>

namespace dsx::kernel::exp {

namespace {

enum class Lang { kCpp, kPython };

// Recursive descent over the grammar of lib/kernel/expr.cpp, producing source text instead of
// a value. Every binary operation is parenthesised, so precedence never depends on the target.
class Emitter {
 public:
  Emitter(std::string_view text, const EmitEnv* env, Lang lang) : s_(text), env_(env), lang_(lang) {}

  Result<std::string> Run() {
    std::string out = Expr();
    if (err_.empty()) {
      SkipWs();
      if (pos_ != s_.size()) Fail("unexpected '" + std::string(1, s_[pos_]) + "'");
    }
    if (!err_.empty())
      return Status::Usage(err_ + " at column " + std::to_string(err_pos_ + 1) + " in '" + std::string(s_) + "'");
    return out;
  }
  const std::set<std::string>& names() const { return names_; }

 private:
  bool Cpp() const { return lang_ == Lang::kCpp; }
  void Fail(const std::string& msg) {
    if (err_.empty()) {
      err_ = msg;
      err_pos_ = pos_;
    }
  }
  void SkipWs() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  bool Eat(char c) {
    SkipWs();
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  std::string Bin(char op, const std::string& a, const std::string& b) {
    if (!Cpp() && op == '/') return "_div(" + a + ", " + b + ")";
    if (!Cpp() && op == '%') return "_mod(" + a + ", " + b + ")";
    return "(" + a + " " + op + " " + b + ")";
  }
  std::string Expr() {
    std::string v = Term();
    while (err_.empty()) {
      if (Eat('+')) v = Bin('+', v, Term());
      else if (Eat('-')) v = Bin('-', v, Term());
      else break;
    }
    return v;
  }
  std::string Term() {
    std::string v = Unary();
    while (err_.empty()) {
      if (Eat('*')) v = Bin('*', v, Unary());
      else if (Eat('/')) v = Bin('/', v, Unary());
      else if (Eat('%')) v = Bin('%', v, Unary());
      else break;
    }
    return v;
  }
  std::string Unary() {
    if (Eat('-')) return "(-" + Unary() + ")";
    if (Eat('+')) return Unary();
    return Primary();
  }
  std::string Name() {
    SkipWs();
    size_t start = pos_;
    while (pos_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_')) ++pos_;
    return std::string(s_.substr(start, pos_ - start));
  }
  // The literal is copied as written (C++ and Python read "1e-6", ".5", "256" alike); the scan
  // is the evaluator's, so the same characters make up the number.
  std::string Number() {
    SkipWs();
    size_t k = pos_;
    bool is_float = false;
    for (; k < s_.size(); ++k) {
      char c = s_[k];
      if (std::isdigit(static_cast<unsigned char>(c))) continue;
      if (c == '.' || c == 'e' || c == 'E') {
        is_float = true;
        continue;
      }
      if ((c == '+' || c == '-') && k > pos_ && (s_[k - 1] == 'e' || s_[k - 1] == 'E')) continue;
      break;
    }
    std::string lit(s_.substr(pos_, k - pos_));
    if (is_float) {
      char* end = nullptr;
      std::strtod(lit.c_str(), &end);
      if (end != lit.c_str() + lit.size()) Fail("bad number '" + lit + "'");
      pos_ = k;
      return Cpp() ? "V::F(" + lit + ")" : "float(" + lit + ")";
    }
    errno = 0;
    std::strtoll(lit.c_str(), nullptr, 10);
    if (errno == ERANGE) Fail("integer overflow");
    pos_ = k;
    return Cpp() ? "V::I(" + lit + "LL)" : lit;
  }
  std::string Call(const std::string& fn) {
    std::vector<std::string> args;
    if (!Eat(')')) {
      do {
        args.push_back(Expr());
        if (!err_.empty()) return "";
      } while (Eat(','));
      if (!Eat(')')) {
        Fail("expected ')'");
        return "";
      }
    }
    std::string joined;
    for (const auto& a : args) joined += (joined.empty() ? "" : ", ") + a;
    if (fn == "ceil_div") {
      if (args.size() != 2) Fail("ceil_div takes 2 arguments");
      return (Cpp() ? "dsx_ceil_div(" : "_ceil_div(") + joined + ")";
    }
    if (fn == "min" || fn == "max") {
      if (args.empty()) Fail(fn + " needs at least 1 argument");
      return Cpp() ? "dsx_" + fn + "({" + joined + "})" : "_" + fn + "(" + joined + ")";
    }
    // sqrt: the attention task's softmax scale (1 / sqrt(D)); keep in step with lib/kernel/expr.cpp.
    if (fn == "sqrt") {
      if (args.size() != 1) Fail("sqrt takes 1 argument");
      return (Cpp() ? "dsx_sqrt(" : "_sqrt(") + joined + ")";
    }
    Fail("unknown function '" + fn + "'");
    return "";
  }
  std::string Primary() {
    SkipWs();
    if (pos_ >= s_.size()) {
      Fail("unexpected end of expression");
      return "";
    }
    char c = s_[pos_];
    if (c == '(') {
      ++pos_;
      std::string v = Expr();
      if (!Eat(')')) Fail("expected ')'");
      return v;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') return Number();
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t name_pos = pos_;
      std::string name = Name();
      if (name == "sizeof") {
        if (!Eat('(')) {
          Fail("expected '(' after sizeof");
          return "";
        }
        std::string ty = Name();
        if (!Eat(')')) {
          Fail("expected ')'");
          return "";
        }
        size_t bytes = 0;
        if (ty == "T") bytes = DTypeSize(env_ ? env_->t : DType::kF32);
        else if (auto dt = ParseDType(ty)) bytes = DTypeSize(*dt);
        else {
          pos_ = name_pos;
          Fail("unknown type '" + ty + "' in sizeof");
          return "";
        }
        return Cpp() ? "V::I(" + std::to_string(bytes) + "LL)" : std::to_string(bytes);
      }
      if (Eat('(')) return Call(name);
      names_.insert(name);
      if (!env_) return name;  // NamesIn: collecting only
      auto it = env_->vars.find(name);
      if (it == env_->vars.end()) {
        pos_ = name_pos;
        Fail("unknown name '" + name + "'");
        return "";
      }
      return Cpp() ? "V::I(" + it->second + ")" : it->second;
    }
    Fail("unexpected '" + std::string(1, c) + "'");
    return "";
  }

  std::string_view s_;
  const EmitEnv* env_;
  Lang lang_;
  size_t pos_ = 0;
  std::string err_;
  size_t err_pos_ = 0;
  std::set<std::string> names_;
};

}  // namespace

Result<std::string> EmitCpp(std::string_view text, const EmitEnv& env) {
  return Emitter(text, &env, Lang::kCpp).Run();
}

Result<std::string> EmitPython(std::string_view text, const EmitEnv& env) {
  return Emitter(text, &env, Lang::kPython).Run();
}

std::set<std::string> NamesIn(std::string_view text) {
  Emitter e(text, nullptr, Lang::kCpp);
  if (!e.Run().ok()) return {};
  return e.names();
}

bool IsBareName(std::string_view text, std::string* name) {
  size_t a = 0, b = text.size();
  while (a < b && std::isspace(static_cast<unsigned char>(text[a]))) ++a;
  while (b > a && std::isspace(static_cast<unsigned char>(text[b - 1]))) --b;
  if (a == b || !(std::isalpha(static_cast<unsigned char>(text[a])) || text[a] == '_')) return false;
  for (size_t k = a; k < b; ++k)
    if (!(std::isalnum(static_cast<unsigned char>(text[k])) || text[k] == '_')) return false;
  if (text.substr(a, b - a) == "sizeof") return false;
  if (name) *name = std::string(text.substr(a, b - a));
  return true;
}

// Mirrors lib/kernel/expr.cpp (Binary, ceil_div, min/max, EvalInt) operation for operation.
const char* const kVRuntimeCpp = R"CPP(namespace dsx_export {

// A task-expression value: integer while every operand is an integer, float as soon as one is
// not; an error (division by zero, integer overflow) travels in `err` instead of being UB.
struct V {
  bool is_int = true;
  long long i = 0;
  double f = 0;
  const char* err = nullptr;
  static V I(long long v) { V r; r.i = v; r.f = static_cast<double>(v); return r; }
  static V F(double v) { V r; r.is_int = false; r.f = v; return r; }
  static V E(const char* e) { V r; r.err = e; return r; }
  double d() const { return is_int ? static_cast<double>(i) : f; }
};

inline V vbin(char op, const V& a, const V& b) {
  if (a.err) return a;
  if (b.err) return b;
  if (a.is_int && b.is_int) {
    long double r = 0;
    switch (op) {
      case '+': r = static_cast<long double>(a.i) + b.i; break;
      case '-': r = static_cast<long double>(a.i) - b.i; break;
      case '*': r = static_cast<long double>(a.i) * b.i; break;
      default:
        if (b.i == 0) return V::E("division by zero");
        return V::I(op == '/' ? a.i / b.i : a.i % b.i);
    }
    if (r > static_cast<long double>(LLONG_MAX) || r < static_cast<long double>(LLONG_MIN))
      return V::E("integer overflow");
    return V::I(static_cast<long long>(r));
  }
  const double x = a.d(), y = b.d();
  switch (op) {
    case '+': return V::F(x + y);
    case '-': return V::F(x - y);
    case '*': return V::F(x * y);
    case '/': return y == 0 ? V::E("division by zero") : V::F(x / y);
    default: return y == 0 ? V::E("division by zero") : V::F(std::fmod(x, y));
  }
}
inline V operator+(const V& a, const V& b) { return vbin('+', a, b); }
inline V operator-(const V& a, const V& b) { return vbin('-', a, b); }
inline V operator*(const V& a, const V& b) { return vbin('*', a, b); }
inline V operator/(const V& a, const V& b) { return vbin('/', a, b); }
inline V operator%(const V& a, const V& b) { return vbin('%', a, b); }
inline V operator-(const V& a) { return a.err ? a : (a.is_int ? V::I(-a.i) : V::F(-a.f)); }

inline V dsx_ceil_div(const V& a, const V& b) {
  if (a.err) return a;
  if (b.err) return b;
  if (a.is_int && b.is_int) {
    if (b.i == 0) return V::E("division by zero");
    return V::I(a.i / b.i + ((a.i % b.i != 0) && ((a.i < 0) == (b.i < 0)) ? 1 : 0));
  }
  if (b.d() == 0) return V::E("division by zero");
  return V::F(std::ceil(a.d() / b.d()));
}
inline V dsx_pick(std::initializer_list<V> xs, bool want_min) {
  V best = *xs.begin();
  bool all_int = true;
  for (const V& x : xs) {
    if (x.err) return x;
    all_int = all_int && x.is_int;
  }
  for (auto it = xs.begin() + 1; it != xs.end(); ++it) {
    bool less = it->d() < best.d();
    if (it->is_int && best.is_int) less = it->i < best.i;
    if (want_min == less) best = *it;
  }
  return all_int ? best : V::F(best.d());
}
inline V dsx_sqrt(const V& a) {
  if (a.err) return a;
  return a.d() < 0 ? V::E("sqrt of a negative number") : V::F(std::sqrt(a.d()));
}
inline V dsx_min(std::initializer_list<V> xs) { return dsx_pick(xs, true); }
inline V dsx_max(std::initializer_list<V> xs) { return dsx_pick(xs, false); }

// A device pointer that converts to the kernel's parameter type, whatever the task calls it: the
// dsx harness passes raw pointers (cuLaunchKernel), so a kernel may declare `unsigned*` for an i32
// parameter and still be what dsx verified.
struct AnyPtr {
  void* p;
  template <typename U>
  operator U*() const { return static_cast<U*>(p); }
};

// EvalInt's rule: an integer, or a float with no fractional part. nullptr when *out is set.
inline const char* dsx_to_int(const V& v, long long* out) {
  if (v.err) return v.err;
  if (v.is_int) { *out = v.i; return nullptr; }
  if (std::isfinite(v.f) && v.f == std::floor(v.f) && std::fabs(v.f) < 9.0e18) {
    *out = static_cast<long long>(v.f);
    return nullptr;
  }
  return "expected an integer";
}

}  // namespace dsx_export
)CPP";

}  // namespace dsx::kernel::exp

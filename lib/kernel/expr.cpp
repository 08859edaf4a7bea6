#include "kernel/expr.hpp"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <vector>

namespace dsx::kernel {

namespace {

class Parser {
 public:
  Parser(std::string_view text, const ExprEnv& env) : s_(text), env_(env) {}

  Result<Value> Run() {
    Value v = Expr();
    if (err_.empty()) {
      SkipWs();
      if (pos_ != s_.size()) Fail("unexpected '" + std::string(1, s_[pos_]) + "'");
    }
    if (!err_.empty()) {
      return Status::Usage(err_ + " at column " + std::to_string(err_pos_ + 1) + " in '" + std::string(s_) + "'");
    }
    return v;
  }

 private:
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

  static bool Overflows(long double x) {
    return x > static_cast<long double>(std::numeric_limits<int64_t>::max()) ||
           x < static_cast<long double>(std::numeric_limits<int64_t>::min());
  }

  Value Binary(char op, Value a, Value b) {
    if (a.is_int && b.is_int) {
      long double r = 0;
      switch (op) {
        case '+': r = static_cast<long double>(a.i) + b.i; break;
        case '-': r = static_cast<long double>(a.i) - b.i; break;
        case '*': r = static_cast<long double>(a.i) * b.i; break;
        case '/':
        case '%':
          if (b.i == 0) {
            Fail("division by zero");
            return Value::Int(0);
          }
          return Value::Int(op == '/' ? a.i / b.i : a.i % b.i);
      }
      if (Overflows(r)) {
        Fail("integer overflow");
        return Value::Int(0);
      }
      return Value::Int(static_cast<int64_t>(r));
    }
    double x = a.AsDouble(), y = b.AsDouble();
    switch (op) {
      case '+': return Value::Float(x + y);
      case '-': return Value::Float(x - y);
      case '*': return Value::Float(x * y);
      case '/':
        if (y == 0) {
          Fail("division by zero");
          return Value::Int(0);
        }
        return Value::Float(x / y);
      default:
        if (y == 0) {
          Fail("division by zero");
          return Value::Int(0);
        }
        return Value::Float(std::fmod(x, y));
    }
  }

  Value Expr() {
    Value v = Term();
    while (err_.empty()) {
      if (Eat('+')) v = Binary('+', v, Term());
      else if (Eat('-')) v = Binary('-', v, Term());
      else break;
    }
    return v;
  }
  Value Term() {
    Value v = Unary();
    while (err_.empty()) {
      if (Eat('*')) v = Binary('*', v, Unary());
      else if (Eat('/')) v = Binary('/', v, Unary());
      else if (Eat('%')) v = Binary('%', v, Unary());
      else break;
    }
    return v;
  }
  Value Unary() {
    if (Eat('-')) {
      Value v = Unary();
      return v.is_int ? Value::Int(-v.i) : Value::Float(-v.f);
    }
    if (Eat('+')) return Unary();
    return Primary();
  }

  std::string Name() {
    SkipWs();
    size_t start = pos_;
    while (pos_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_')) ++pos_;
    return std::string(s_.substr(start, pos_ - start));
  }

  Value Number() {
    SkipWs();
    const std::string rest(s_.substr(pos_));
    const char* begin = rest.c_str();
    char* end = nullptr;
    bool is_float = false;
    for (size_t k = 0; k < rest.size(); ++k) {
      char c = rest[k];
      if (std::isdigit(static_cast<unsigned char>(c))) continue;
      if (c == '.' || c == 'e' || c == 'E') {
        is_float = true;
        continue;
      }
      if ((c == '+' || c == '-') && k > 0 && (rest[k - 1] == 'e' || rest[k - 1] == 'E')) continue;
      break;
    }
    if (is_float) {
      double d = std::strtod(begin, &end);
      pos_ += static_cast<size_t>(end - begin);
      return Value::Float(d);
    }
    errno = 0;
    long long i = std::strtoll(begin, &end, 10);
    if (errno == ERANGE) Fail("integer overflow");
    pos_ += static_cast<size_t>(end - begin);
    return Value::Int(i);
  }

  Value Call(const std::string& fn) {
    std::vector<Value> args;
    if (!Eat(')')) {
      do {
        args.push_back(Expr());
        if (!err_.empty()) return Value::Int(0);
      } while (Eat(','));
      if (!Eat(')')) {
        Fail("expected ')'");
        return Value::Int(0);
      }
    }
    if (fn == "ceil_div") {
      if (args.size() != 2) {
        Fail("ceil_div takes 2 arguments");
        return Value::Int(0);
      }
      if (args[0].is_int && args[1].is_int) {
        if (args[1].i == 0) {
          Fail("division by zero");
          return Value::Int(0);
        }
        int64_t a = args[0].i, b = args[1].i;
        return Value::Int(a / b + ((a % b != 0) && ((a < 0) == (b < 0)) ? 1 : 0));
      }
      if (args[1].AsDouble() == 0) {
        Fail("division by zero");
        return Value::Int(0);
      }
      return Value::Float(std::ceil(args[0].AsDouble() / args[1].AsDouble()));
    }
    if (fn == "min" || fn == "max") {
      if (args.empty()) {
        Fail(fn + " needs at least 1 argument");
        return Value::Int(0);
      }
      Value best = args[0];
      for (size_t k = 1; k < args.size(); ++k) {
        bool less = args[k].AsDouble() < best.AsDouble();
        if (args[k].is_int && best.is_int) less = args[k].i < best.i;
        if ((fn == "min") == less) best = args[k];
      }
      bool all_int = true;
      for (const auto& a : args) all_int = all_int && a.is_int;
      return all_int ? best : Value::Float(best.AsDouble());
    }
    if (fn == "sqrt") {  // float result: attention's default softmax scale is 1 / sqrt(D)
      if (args.size() != 1) {
        Fail("sqrt takes 1 argument");
        return Value::Int(0);
      }
      if (args[0].AsDouble() < 0) {
        Fail("sqrt of a negative number");
        return Value::Int(0);
      }
      return Value::Float(std::sqrt(args[0].AsDouble()));
    }
    Fail("unknown function '" + fn + "'");
    return Value::Int(0);
  }

  Value Primary() {
    SkipWs();
    if (pos_ >= s_.size()) {
      Fail("unexpected end of expression");
      return Value::Int(0);
    }
    char c = s_[pos_];
    if (c == '(') {
      ++pos_;
      Value v = Expr();
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
          return Value::Int(0);
        }
        std::string ty = Name();
        if (!Eat(')')) {
          Fail("expected ')'");
          return Value::Int(0);
        }
        if (ty == "T") return Value::Int(static_cast<int64_t>(DTypeSize(env_.t)));
        auto dt = ParseDType(ty);
        if (!dt) {
          pos_ = name_pos;
          Fail("unknown type '" + ty + "' in sizeof");
          return Value::Int(0);
        }
        return Value::Int(static_cast<int64_t>(DTypeSize(*dt)));
      }
      if (Eat('(')) return Call(name);
      if (env_.vars) {
        auto it = env_.vars->find(name);
        if (it != env_.vars->end()) return Value::Int(it->second);
      }
      pos_ = name_pos;
      Fail("unknown name '" + name + "'");
      return Value::Int(0);
    }
    Fail("unexpected '" + std::string(1, c) + "'");
    return Value::Int(0);
  }

  std::string_view s_;
  const ExprEnv& env_;
  size_t pos_ = 0;
  std::string err_;
  size_t err_pos_ = 0;
};

}  // namespace

Result<Value> EvalExpr(std::string_view text, const ExprEnv& env) { return Parser(text, env).Run(); }

Result<int64_t> EvalInt(std::string_view text, const ExprEnv& env) {
  auto v = EvalExpr(text, env);
  if (!v.ok()) return v.status();
  if (v->is_int) return v->i;
  double d = v->f;
  if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e18) return static_cast<int64_t>(d);
  return Status::Usage("expected an integer, got " + std::to_string(d) + " from '" + std::string(text) + "'");
}

}  // namespace dsx::kernel

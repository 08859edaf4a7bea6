// Condition parsing and evaluation; see condition.hpp.
#include "audit/rules/condition.hpp"

#include <algorithm>
#include <cstdlib>

namespace dsx::audit {

namespace {

std::vector<std::string> Strings(const YAML::Node& n) {
  std::vector<std::string> out;
  if (n.IsScalar()) out.push_back(n.as<std::string>());
  else if (n.IsSequence())
    for (const auto& x : n) out.push_back(x.as<std::string>());
  return out;
}

}  // namespace

Result<Condition> ParseCondition(const YAML::Node& n) {
  Condition c;
  if (!n || !n.IsMap()) return Status::Usage("a condition must be a map such as {fact: NAME}");
  try {
    if (n["all"] || n["any"]) {
      c.kind = n["all"] ? Condition::Kind::kAll : Condition::Kind::kAny;
      const YAML::Node& list = n["all"] ? n["all"] : n["any"];
      if (!list.IsSequence()) return Status::Usage("all/any needs a list of conditions");
      for (const auto& x : list) {
        auto child = ParseCondition(x);
        if (!child.ok()) return child.status();
        c.children.push_back(std::move(child).value());
      }
    } else if (n["not"]) {
      c.kind = Condition::Kind::kNot;
      auto child = ParseCondition(n["not"]);
      if (!child.ok()) return child.status();
      c.children.push_back(std::move(child).value());
    } else if (n["fact"]) {
      c.kind = Condition::Kind::kFact;
      c.name = n["fact"].as<std::string>();
      if (n["value"]) c.values = Strings(n["value"]);
      if (n["values"]) c.values = Strings(n["values"]);
      if (n["min"]) c.min = n["min"].as<double>();
      if (n["max"]) c.max = n["max"].as<double>();
    } else if (n["failure_mode"]) {
      c.kind = Condition::Kind::kFailureMode;
      c.name = n["failure_mode"].as<std::string>();
    } else if (n["criterion"]) {
      c.kind = Condition::Kind::kCriterion;
      c.name = n["criterion"].as<std::string>();
    } else if (n["part"]) {
      c.kind = Condition::Kind::kPart;
      c.name = n["part"].as<std::string>();
      if (n["verdict"]) c.values = Strings(n["verdict"]);
      if (n["verdicts"]) c.values = Strings(n["verdicts"]);
      for (const auto& v : c.values)
        if (!ParseVerdict(v).ok()) return Status::Usage("part '" + c.name + "': unknown verdict '" + v + "'");
    } else if (n["always"]) {
      c.kind = Condition::Kind::kAlways;
    } else {
      return Status::Usage("unknown condition (want all, any, not, fact, failure_mode, criterion, part or always)");
    }
  } catch (const YAML::Exception& e) {
    return Status::Usage(std::string("bad condition: ") + e.what());
  }
  return c;
}

FactIndex::FactIndex(const Facts& facts) {
  for (const auto& f : facts) by_name_[f.name].push_back(&f);
}

const std::vector<const Fact*>& FactIndex::Named(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? none_ : it->second;
}

Evidence ToEvidence(const Fact& f) {
  std::string fact = f.name;
  if (!f.value.empty()) fact += "=" + f.value;
  return Evidence{f.file, f.line, f.excerpt, fact};
}

namespace {

bool FactMatches(const Condition& c, const Fact& f) {
  if (!c.values.empty()) {
    bool any = false;
    for (const auto& v : c.values) any = any || v == f.value;
    if (!any) return false;
  }
  if (c.min || c.max) {
    char* end = nullptr;
    double x = std::strtod(f.value.c_str(), &end);
    if (f.value.empty() || end == f.value.c_str()) return false;
    if (c.min && x < *c.min) return false;
    if (c.max && x > *c.max) return false;
  }
  return true;
}

}  // namespace

bool Eval(const Condition& c, const EvalContext& ctx, std::vector<Evidence>* evidence) {
  switch (c.kind) {
    case Condition::Kind::kAlways: return true;
    case Condition::Kind::kAll: {
      std::vector<Evidence> local;
      for (const auto& child : c.children)
        if (!Eval(child, ctx, evidence ? &local : nullptr)) return false;
      if (evidence) evidence->insert(evidence->end(), local.begin(), local.end());
      return true;
    }
    case Condition::Kind::kAny: {
      bool any = false;
      for (const auto& child : c.children) any = Eval(child, ctx, evidence) || any;  // evidence of every true branch
      return any;
    }
    case Condition::Kind::kNot: return !Eval(c.children[0], ctx, nullptr);
    case Condition::Kind::kFact: {
      bool any = false;
      for (const Fact* f : ctx.facts->Named(c.name)) {
        if (!FactMatches(c, *f)) continue;
        any = true;
        if (evidence) evidence->push_back(ToEvidence(*f));
      }
      return any;
    }
    case Condition::Kind::kFailureMode: return ctx.failure_modes && ctx.failure_modes->count(c.name) > 0;
    case Condition::Kind::kCriterion: {
      if (!ctx.criteria) return false;
      auto it = ctx.criteria->find(c.name);
      return it != ctx.criteria->end() && it->second;
    }
    case Condition::Kind::kPart: {
      if (!ctx.parts) return false;
      auto it = ctx.parts->find(c.name);
      if (it == ctx.parts->end()) return false;
      if (c.values.empty()) return true;
      for (const auto& v : c.values)
        if (VerdictName(it->second) == v) return true;
      return false;
    }
  }
  return false;
}

void Against(const Condition& c, const EvalContext& ctx, std::vector<Evidence>* against) {
  switch (c.kind) {
    case Condition::Kind::kAll:  // only the children that fail keep it from holding
      for (const auto& child : c.children)
        if (!Eval(child, ctx, nullptr)) Against(child, ctx, against);
      return;
    case Condition::Kind::kAny:  // none holds: each says why
      for (const auto& child : c.children) Against(child, ctx, against);
      return;
    case Condition::Kind::kNot: Eval(c.children[0], ctx, against); return;
    case Condition::Kind::kFact:
      for (const Fact* f : ctx.facts->Named(c.name))
        if (!FactMatches(c, *f)) against->push_back(ToEvidence(*f));
      return;
    case Condition::Kind::kAlways:
    case Condition::Kind::kFailureMode:
    case Condition::Kind::kCriterion:
    case Condition::Kind::kPart: return;
  }
}

namespace {

void CollectFactNames(const Condition& c, std::vector<std::string>& out) {
  if (c.kind == Condition::Kind::kFact) {
    if (std::find(out.begin(), out.end(), c.name) == out.end()) out.push_back(c.name);
    return;
  }
  for (const auto& child : c.children) CollectFactNames(child, out);
}

}  // namespace

std::vector<std::string> FactNames(const Condition& c) {
  std::vector<std::string> out;
  CollectFactNames(c, out);
  return out;
}

std::string Describe(const Condition& c) {
  auto join = [&](const char* op) {
    std::string s;
    for (size_t i = 0; i < c.children.size(); ++i)
      s += (i ? std::string(" ") + op + " " : "") + Describe(c.children[i]);
    return c.children.size() > 1 ? "(" + s + ")" : s;
  };
  switch (c.kind) {
    case Condition::Kind::kAlways: return "otherwise";
    case Condition::Kind::kAll: return join("and");
    case Condition::Kind::kAny: return join("or");
    case Condition::Kind::kNot: return "not " + Describe(c.children[0]);
    case Condition::Kind::kFact: {
      std::string s = c.name;
      if (c.values.size() == 1) s += "=" + c.values[0];
      else if (!c.values.empty()) {
        s += " in [";
        for (size_t i = 0; i < c.values.size(); ++i) s += (i ? "," : "") + c.values[i];
        s += "]";
      }
      if (c.min) s += ">=" + std::to_string(static_cast<long>(*c.min));
      if (c.max) s += "<=" + std::to_string(static_cast<long>(*c.max));
      return s;
    }
    case Condition::Kind::kFailureMode: return "failure mode " + c.name;
    case Condition::Kind::kCriterion: return c.name;
    case Condition::Kind::kPart: {
      std::string s = c.name + " is ";
      for (size_t i = 0; i < c.values.size(); ++i) s += (i ? "|" : "") + c.values[i];
      return s;
    }
  }
  return "";
}

}  // namespace dsx::audit

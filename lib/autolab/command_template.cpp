// Command templates: shell-like word splitting, then placeholder substitution inside the words.
#include "autolab/command_template.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>

namespace dsx::autolab {
namespace {

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool IsOperator(char c) { return c == '|' || c == '&' || c == ';' || c == '<' || c == '>' || c == '(' || c == ')'; }
bool IsNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9') || c == '-' || c == '.'; }

std::string Where(std::size_t pos) { return " at offset " + std::to_string(pos); }

// One `{...}` scan of a word. For each placeholder name calls on_name(name) which returns the
// value to insert (or a Status). Literal text and escaped braces go to `out`.
template <typename OnName>
Status ScanPlaceholders(std::string_view word, std::string* out, OnName on_name) {
  for (std::size_t i = 0; i < word.size(); ++i) {
    char c = word[i];
    if (c == '{' && i + 1 < word.size() && word[i + 1] == '{') {
      out->push_back('{');
      ++i;
    } else if (c == '}' && i + 1 < word.size() && word[i + 1] == '}') {
      out->push_back('}');
      ++i;
    } else if (c == '{') {
      std::size_t end = word.find('}', i + 1);
      std::string_view name = end == std::string_view::npos ? std::string_view() : word.substr(i + 1, end - i - 1);
      bool valid = !name.empty() && IsNameStart(name[0]);
      for (char n : name) valid = valid && IsNameChar(n);
      if (!valid) {
        return Status::Usage("unmatched '{' in command word '" + std::string(word) +
                             "' (a placeholder is {name}; write {{ for a literal brace)");
      }
      Result<std::string> value = on_name(std::string(name));
      if (!value.ok()) return value.status();
      out->append(*value);
      i = end;
    } else if (c == '}') {
      return Status::Usage("unmatched '}' in command word '" + std::string(word) + "' (write }} for a literal brace)");
    } else {
      out->push_back(c);
    }
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<std::string>> SplitCommandWords(std::string_view s) {
  std::vector<std::string> words;
  std::string cur;
  bool in_word = false;  // '' is an (empty) word, so "started" is tracked apart from cur.empty()
  std::size_t i = 0;
  auto end_word = [&] {
    if (in_word) words.push_back(std::move(cur));
    cur.clear();
    in_word = false;
  };
  while (i < s.size()) {
    char c = s[i];
    if (IsBlank(c)) {
      end_word();
      ++i;
    } else if (c == '\'') {
      std::size_t close = s.find('\'', i + 1);
      if (close == std::string_view::npos) return Status::Usage("unterminated ' in the command" + Where(i));
      cur.append(s.substr(i + 1, close - i - 1));
      in_word = true;
      i = close + 1;
    } else if (c == '"') {
      in_word = true;
      ++i;
      for (;;) {
        if (i >= s.size()) return Status::Usage("unterminated \" in the command");
        char d = s[i];
        if (d == '"') break;
        if (d == '\\' && i + 1 < s.size()) {
          char e = s[i + 1];
          if (e == '$' || e == '`' || e == '"' || e == '\\') {
            cur.push_back(e);
            i += 2;
            continue;
          }
          if (e == '\n') {
            i += 2;
            continue;
          }
        }
        if (d == '$' || d == '`') {
          return Status::Usage(std::string("'") + d + "' in the command" + Where(i) +
                               ": nothing is expanded (write \\" + d + " or use single quotes for a literal one, " +
                               "bash -c '...' for a shell)");
        }
        cur.push_back(d);
        ++i;
      }
      ++i;  // the closing quote
    } else if (c == '\\') {
      if (i + 1 >= s.size()) return Status::Usage("the command ends with a lone backslash");
      if (s[i + 1] != '\n') {
        cur.push_back(s[i + 1]);
        in_word = true;
      }
      i += 2;
    } else if (IsOperator(c) || c == '$' || c == '`') {
      return Status::Usage(std::string("'") + c + "' in the command" + Where(i) +
                           ": commands are run without a shell (no pipes, redirections or expansion); quote it for a "
                           "literal character or write bash -c '...'");
    } else {
      cur.push_back(c);
      in_word = true;
      ++i;
    }
  }
  end_word();
  return words;
}

std::string FormatParamValue(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_unsigned()) return std::to_string(v.get<std::uint64_t>());
  if (v.is_number_integer()) return std::to_string(v.get<std::int64_t>());
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (std::isnan(d)) return "nan";
    if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
    // Shortest %.Ng that parses back to the same double: 0.1 stays "0.1", not 0.10000000000000001.
    char buf[40];
    for (int prec = 1; prec <= 17; ++prec) {
      std::snprintf(buf, sizeof buf, "%.*g", prec, d);
      if (std::strtod(buf, nullptr) == d) break;
    }
    return buf;
  }
  return v.dump();
}

Result<std::vector<std::string>> ExpandCommand(std::string_view tmpl, const nlohmann::json& params,
                                               const std::string& workdir, std::int64_t seed) {
  if (!params.is_null() && !params.is_object()) return Status::Usage("the parameters must be a JSON object");
  for (const char* builtin : {"workdir", "seed"}) {
    if (params.is_object() && params.contains(builtin)) {
      return Status::Usage(std::string("parameter '") + builtin +
                           "' has the name of a built-in placeholder; rename it");
    }
  }
  Result<std::vector<std::string>> words = SplitCommandWords(tmpl);
  if (!words.ok()) return words.status();
  if (words->empty()) return Status::Usage("the command is empty");
  std::vector<std::string> argv;
  argv.reserve(words->size());
  for (const std::string& word : *words) {
    std::string out;
    Status st = ScanPlaceholders(word, &out, [&](const std::string& name) -> Result<std::string> {
      if (name == "workdir") return workdir;
      if (name == "seed") return std::to_string(seed);
      if (params.is_object()) {
        auto it = params.find(name);
        if (it != params.end()) return FormatParamValue(*it);
      }
      return Status::Usage("unknown placeholder {" + name + "} in the command (not a parameter, {workdir} or {seed})");
    });
    if (!st.ok()) return st;
    argv.push_back(std::move(out));
  }
  return argv;
}

std::vector<std::string> Placeholders(std::string_view tmpl) {
  std::vector<std::string> names;
  std::set<std::string> seen;
  auto collect = [&](std::string_view word) {
    std::string ignored;
    (void)ScanPlaceholders(word, &ignored, [&](const std::string& name) -> Result<std::string> {
      if (seen.insert(name).second) names.push_back(name);
      return std::string();
    });
  };
  Result<std::vector<std::string>> words = SplitCommandWords(tmpl);
  if (words.ok()) {
    for (const std::string& w : *words) collect(w);
  } else {
    collect(tmpl);  // a template that does not split still names its placeholders for the validator
  }
  return names;
}

}  // namespace dsx::autolab

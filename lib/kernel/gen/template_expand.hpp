// Parameterised kernel templates shipped in a Skill (templates/ beside SKILL.md).
//
// templates/<task>.toml, the params file:
//   template = "elementwise.cu.tmpl"     # the source, relative to the params file
//   description = "..."                  # optional
//   max_variants = 64                    # optional cap (default 256)
//   [fixed]                              # placeholders with one value for this task
//   OP = "x + y"
//   [grid]                               # placeholders searched: every combination is a variant
//   BLOCK = [128, 256, 512]
//   VEC = [8, 16]
//   [[require]]                          # optional filters: integer expressions over the values,
//   expr = "BLOCK % ROWS_PER_BLOCK"      # a variant is kept when every expr compares as asked
//   op = "=="                            # == != < <= > >=
//   value = 0
// Placeholders are written {{NAME}} in the template (NAME: A-Z, 0-9, _). Expansion fails when the
// template uses a placeholder the params file does not give, or gives one the template never uses.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/status.hpp"

namespace dsx::kernel::gen {

struct TemplateRequirement {
  std::string expr;  // over placeholder values: integers, + - * / %, parentheses
  std::string op;
  long long value = 0;
};

struct KernelTemplate {
  std::filesystem::path params_file;
  std::filesystem::path source_file;
  std::string source;
  std::string description;
  std::map<std::string, std::string> fixed;
  std::vector<std::pair<std::string, std::vector<std::string>>> grid;  // file order
  std::vector<TemplateRequirement> require;
  size_t max_variants = 256;
};

struct Variant {
  std::string id;                             // "BLOCK=256,VEC=16,UNROLL=2"
  std::map<std::string, std::string> values;  // grid placeholders only
  std::string source;                         // fully expanded
};

// Finds <skill>/templates/<task>.toml. NotFound lists the templates the skill has.
Result<KernelTemplate> LoadTemplate(const std::filesystem::path& skill_dir, const std::string& task);
Result<KernelTemplate> ParseTemplate(const std::filesystem::path& params_file);

// Every combination of the grid that passes `require`, in row-major order (last key fastest),
// at most max_variants (more is an error, so a search never silently drops variants).
Result<std::vector<Variant>> ExpandTemplate(const KernelTemplate& t);

// Replaces {{NAME}} by values[NAME]; Failed naming the first unknown placeholder.
Result<std::string> Substitute(const std::string& text, const std::map<std::string, std::string>& values);

// Integer expression over `values` (for `require`). Failed on unknown names or bad syntax.
Result<long long> EvalIntExpr(const std::string& expr, const std::map<std::string, std::string>& values);

}  // namespace dsx::kernel::gen

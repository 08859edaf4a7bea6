// The experiment's command template: split into argv words the way a POSIX shell splits a
// simple command, then `{name}` placeholders replaced inside the words.
//
// Splitting: blanks separate words; '...' is literal; "..." is literal except that a backslash
// escapes $ ` " \ and newline; an unquoted backslash escapes the next character (backslash-newline
// joins lines). Nothing is expanded and there are no pipes or redirections: an unquoted | & ; < > ( )
// or an unquoted/double-quoted $ or ` is a kUsage error rather than a silently literal argument (a
// pipeline is written `bash -c '...'`, a literal $ as '$' or \$).
//
// Placeholders: `{name}` is a plan parameter, `{workdir}` the experiment's folder, `{seed}` its seed;
// `{{` and `}}` are literal braces. They are replaced after splitting, inside any word, quoted or
// not, and the values are never split again: a value with blanks or quotes stays one argument, so
// parameters cannot inject arguments or commands.
//
// Values read back exactly: integers as integers, doubles in the shortest %.Ng (N <= 17) form that
// parses back to the same double, strings as they are, booleans true/false, arrays and objects as
// compact JSON.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.hpp"

namespace dsx::autolab {

// The argv of one experiment. kUsage for a template that does not split (unterminated quote, shell
// operator), an unknown placeholder (named), an unmatched brace, or a parameter named like a built-in.
Result<std::vector<std::string>> ExpandCommand(std::string_view tmpl, const nlohmann::json& params,
                                               const std::string& workdir, std::int64_t seed);

// The placeholder names the template uses (built-ins included), in order of first use, once each:
// the plan validator checks each one is a parameter or a built-in.
std::vector<std::string> Placeholders(std::string_view tmpl);

// A parameter value as it appears in an argument (the rules above).
std::string FormatParamValue(const nlohmann::json& value);

// The shell-like split alone (exposed for tests and for error messages).
Result<std::vector<std::string>> SplitCommandWords(std::string_view tmpl);

}  // namespace dsx::autolab

// Pulling one CUDA source file out of a model's free-form reply.
//
// Replies are messy: prose around the code, several fenced blocks (a sketch, then the fix), a
// ```cuda / ```cpp / ``` / ~~~ fence, a fence the model never closed (it ran out of tokens), a
// <think>...</think> preamble from reasoning models, or no fence at all. Rules, in order:
//   1. drop <think>...</think> sections;
//   2. collect fenced blocks (an unterminated fence runs to the end of the reply); blocks tagged
//      with a non-C language (python, bash, json, toml, text...) are ignored;
//   3. prefer the LAST block that defines the entry point as a __global__ function (models put the
//      final version last); else the last block holding any __global__; else the last code block;
//   4. no fences: if the reply holds __global__, take it from the first line that looks like code
//      to the last closing brace.
#pragma once

#include <string>
#include <string_view>

#include "core/status.hpp"

namespace dsx::kernel::gen {

struct Extracted {
  std::string code;
  bool defines_entry = false;  // a __global__ named `entry` was found
  int blocks = 0;              // fenced code blocks seen
  std::string how;             // "fenced block 2 of 3 (defines entry)" ... for the log
};

// `entry` is the base name ("rmsnorm"); a `// dsx-launch: entry = "x<T>"` line in a block names
// another entry for that block. Failed when the reply holds no code at all.
Result<Extracted> ExtractCode(std::string_view reply, std::string_view entry);

// True when `code` defines a __global__ function called `name`.
bool DefinesGlobal(std::string_view code, std::string_view name);

// The entry named by a `// dsx-launch:` line, base name only ("" when none).
std::string LaunchLineEntry(std::string_view code);

}  // namespace dsx::kernel::gen

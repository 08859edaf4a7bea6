// The Hugging Face token, found where huggingface_hub looks (huggingface_hub/utils/_auth.py,
// constants.py), so a machine logged in with `hf auth login` needs nothing more:
//   1. $HF_TOKEN (empty counts as unset);
//   2. the file at $HF_TOKEN_PATH;
//   3. else $HF_HOME/token, HF_HOME defaulting to $XDG_CACHE_HOME/huggingface, then
//      ~/.cache/huggingface.
// Whitespace around the value is trimmed (token files end in a newline).
//
// The token is a secret: it is returned to the caller and nowhere else. No message, log line or
// error here ever contains it, and callers must keep it to the Authorization header.
#pragma once

#include <functional>
#include <string>

#include "core/status.hpp"

namespace dsx::jobs::hf {

// getenv stand-in for tests; empty = ::getenv.
using GetEnv = std::function<const char*(const char*)>;

// The token, or kUsage "no Hugging Face token: set HF_TOKEN or run `hf auth login`".
Result<std::string> LoadHfToken(const GetEnv& getenv = {});

// The token file huggingface_hub would read when HF_TOKEN is unset (step 2 or 3 above).
std::string HfTokenPath(const GetEnv& getenv = {});

}  // namespace dsx::jobs::hf

// Static scan of a candidate kernel's source for tricks that fool a benchmark (the host side of
// the guard list in research/ai-systems-anchors.md §3.5). Runs before compiling. A `reject`
// finding fails the candidate with the rule named; `warn` findings are reported only.
//
// Rules (comments and string literals are ignored):
//   clock           reads a clock or timer: clock(), clock64(), %globaltimer, %clock
//   side-work       device-side launches, streams, graphs, host API calls (<<<, cudaStream*,
//                   cudaLaunch*, cudaGraph*, cudaMalloc, cudaMemcpy*, cudaDeviceSynchronize)
//   device-global   file-scope __device__ / __managed__ variable: state that survives between
//                   calls is how a kernel replays or memoises results (use a scratch parameter)
//   static-local    a static variable inside a function: same reason
//   spin-wait       __nanosleep (warn): sleeps distort timing and are never needed by these tasks
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace dsx::kernel {

struct ScanFinding {
  std::string rule;
  std::string severity;  // reject | warn
  int line = 0;
  std::string message;
};

std::vector<ScanFinding> ScanSource(std::string_view source);
// ScanSource over the source and every local header it reaches through #include "NAME" (found
// next to the including file, each once, 16 levels at most): a candidate could otherwise keep
// per-call state in a header beside it. A header's findings say "in NAME:" before the message.
std::vector<ScanFinding> ScanSourceAndHeaders(std::string_view source, const std::filesystem::path& dir);
bool HasReject(const std::vector<ScanFinding>& findings);
nlohmann::json FindingsToJson(const std::vector<ScanFinding>& findings);

// Comments and string/char literals replaced by spaces (newlines kept, so lines still match).
std::string StripCommentsAndStrings(std::string_view source);

}  // namespace dsx::kernel

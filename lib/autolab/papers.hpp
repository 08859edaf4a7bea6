// Paper pages for the AutoLab researcher's notes: a notes entry "arxiv:2406.12345" or
// "hf-paper:2406.12345" names a paper whose title and abstract are fetched when reachable:
//   hf-paper  GET {HF_ENDPOINT}/api/papers/<id>   (the Hub's paper page: JSON with title, summary)
//   arxiv     GET {arxiv}/api/query?id_list=<id>  (arXiv's export API: an Atom feed, one <entry>)
// "When reachable" as in finetune/hub_lookup: one attempt with short limits; a failure is a reason
// to skip the paper (the researcher says so in its prompt and log), never an error of the run.
// HF_HUB_OFFLINE=1 skips every request. The parsers read server bytes, so they are fuzzed
// (tests/fuzz/fuzz_client_inputs.cpp).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/status.hpp"
#include "net/transport.hpp"

namespace dsx::autolab {

struct PaperRef {
  enum Source { kArxiv, kHfPaper };
  Source source = kArxiv;
  std::string id;  // "2406.12345", "2406.12345v2", or an old-style arXiv id "hep-th/9901001"
};

// The reference a notes entry names, or nullopt when the entry is not "arxiv:<id>" / "hf-paper:<id>"
// with a well-formed id (only ids of arXiv's two documented forms: nothing else reaches a URL).
std::optional<PaperRef> ParsePaperRef(std::string_view entry);
// True when ParsePaperRef would accept the entry's prefix ("arxiv:" or "hf-paper:"), whatever the id:
// such an entry is a paper, not a file (a malformed id is then reported as such, not as a missing file).
bool LooksLikePaperRef(std::string_view entry);

struct PaperText {
  std::string title;
  std::string abstract;
};

// The Hub's /api/papers/<id> JSON: "title" and "summary" (strings, required). kFailed otherwise.
Result<PaperText> ParseHfPaper(std::string_view body);
// arXiv's Atom feed: the first <entry>'s <title> and <summary>, entities decoded and whitespace
// collapsed. kNotFound when the feed has no entry or arXiv's error entry (title "Error").
Result<PaperText> ParseArxivAtom(std::string_view body);

struct PaperOptions {
  std::string hf_endpoint = "https://huggingface.co";  // HF_ENDPOINT
  std::string arxiv_endpoint = "https://export.arxiv.org";
  bool offline = false;  // HF_HUB_OFFLINE=1/true/yes/on
  long connect_timeout_ms = 3000;
  long total_timeout_ms = 10000;
};
// Endpoints and offline mode from the environment (HF_ENDPOINT, HF_HUB_OFFLINE).
PaperOptions PaperOptionsFromEnv();

// The paper's title and abstract; kUnavailable (offline, cannot connect, 5xx, timeout), kNotFound
// (404, no such entry) or kFailed (an answer that does not parse), each with a one-line reason.
Result<PaperText> FetchPaper(const PaperRef& ref, net::Transport& transport, const PaperOptions& options);

}  // namespace dsx::autolab

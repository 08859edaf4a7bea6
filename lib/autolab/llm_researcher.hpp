// MakeLlmResearcher (researcher.hpp) with its seams open: the transports of the LLM client and of
// the paper fetches, where its log lines go, and the note bounds. researcher.hpp's
// MakeLlmResearcher(plan) is this with the defaults (real HTTP, lines to dsx's stderr log).
//
// What one Propose does: the notes (files read when the researcher is made: a missing or unreadable
// note, or a PDF without pdftotext, fails early; papers fetched once, on the first Propose, and
// skipped with a reason when not reachable) and the results so far go into one prompt; the model's
// answer is checked (hypothesis_json.hpp); when it is unusable (not the JSON asked for, or every
// hypothesis invalid) the model is told what was wrong and asked once more. Dropped hypotheses are
// logged with their reasons. Errors: kUsage (no researcher section, unknown provider, no API key),
// the LLM client's codes otherwise (kUnavailable when the model cannot be reached), kFailed when
// the second answer is unusable too (its problems in the message).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "autolab/notes.hpp"
#include "autolab/papers.hpp"
#include "autolab/researcher.hpp"
#include "net/transport.hpp"

namespace dsx::autolab {

struct LlmResearcherOptions {
  std::shared_ptr<net::Transport> chat_transport;   // null: the LLM client's own (libcurl)
  std::function<void(double seconds)> chat_sleep;   // retry waits (tests record them); null: sleeps
  std::string base_url;                             // overrides OPENAI_BASE_URL / ANTHROPIC_BASE_URL
  std::shared_ptr<net::Transport> paper_transport;  // null: net::CurlTransport
  std::optional<PaperOptions> papers;               // null: PaperOptionsFromEnv()
  NoteOptions notes;                                // per-note bound, pdftotext
  std::function<void(const std::string&)> log;      // one line each; null: dsx's log (stderr)
};

Result<std::unique_ptr<HypothesisSource>> MakeLlmResearcher(const Plan& plan, LlmResearcherOptions options);

}  // namespace dsx::autolab

// The AutoLab researcher's prompt: everything a model needs to propose one-change hypotheses, and
// nothing secret. It holds the plan's goal and objective, how one experiment runs (the command
// template, the working files it may patch, the evolve base parameters), the results so far grouped
// by configuration, the ids already tried, and the notes (each under its name in brackets, so the
// model can cite "[notes.md]" in a rationale; a cut or skipped note says so). The experiment's
// environment is left out: it may hold tokens.
#pragma once

#include <string>
#include <vector>

#include "autolab/notes.hpp"
#include "autolab/researcher.hpp"

namespace dsx::autolab {

// At most this many configurations are listed in "Results so far" (the best and the most recent).
inline constexpr std::size_t kMaxPromptConfigurations = 40;
// Notes (and, separately, working files) in one prompt: at most this many bytes of text in all. Each
// note is already bounded (NoteOptions::max_bytes); this keeps a plan with many notes within a
// model's context. Those past the bound are named, with the reason, instead of quoted.
inline constexpr std::size_t kMaxPromptNotesBytes = 120000;

// The system prompt: the role and the exact JSON answer format (hypothesis_json.hpp checks it).
std::string ResearchSystemPrompt(const Plan& plan, int max_hypotheses);

// The user message. `working_files` are the plan's experiment files read as notes (bounded text),
// so a patch can be written against them.
std::string ResearchUserPrompt(const Plan& plan, const ResearchContext& context, const std::vector<Note>& notes,
                               const std::vector<Note>& working_files);

// The follow-up when an answer was refused: what was wrong, and the request to answer again.
std::string ResearchRetryPrompt(const std::vector<std::string>& problems, int max_hypotheses);

}  // namespace dsx::autolab

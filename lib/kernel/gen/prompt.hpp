// Prompt assembly for `dsx kernel gen`: Skill + task + feedback so far.
//
// system: the model's role, the skill's SKILL.md body (hard constraints come first there) and the
//         references the skill lists for generation (metadata key `dsx-gen-references`, space
//         separated) plus worked examples (examples/*.md) for OTHER tasks: handing the model our
//         own optimized kernel for this very task would turn the search into a copy.
// user:   the task (description, C signature and entry, launch, sizes, dtypes, tolerance,
//         task.toml, reference.cu), the reply format, then the feedback: the best passing kernel
//         so far (source and timings) and the latest attempts with their compiler errors,
//         verification failures and timings, newest last.
#pragma once

#include <string>
#include <vector>

#include "kernel/gen/evaluation.hpp"
#include "kernel/gen/task_info.hpp"
#include "llm/skill.hpp"

namespace dsx::kernel::gen {

struct Attempt {
  std::string id;  // "r2-c1"
  int round = 0;
  std::string source;  // the code that was judged ("" when none was extracted)
  Evaluation eval;
};

struct PromptInputs {
  const llm::Skill* skill = nullptr;
  const TaskInfo* task = nullptr;
  std::vector<std::pair<std::string, std::string>> references;  // (relative path, text)
  std::vector<Attempt> history;                                 // every attempt so far, oldest first
  std::string arch = "sm_90";
  size_t detailed_attempts = 6;  // the newest N attempts get full feedback
  size_t feedback_chars = 4000;  // cap per attempt's feedback text
};

struct Prompt {
  std::string system;
  std::string user;
};

// The skill files to include: metadata `dsx-gen-references` plus examples/*.md whose file
// name does not mention `task`. Sorted, relative to the skill folder.
std::vector<std::string> SelectReferences(const llm::Skill& skill, const std::string& task);

Prompt BuildPrompt(const PromptInputs& in);

}  // namespace dsx::kernel::gen

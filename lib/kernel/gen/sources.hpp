// Candidate sources for the generation loop: a model (any llm::ChatClient) or a Skill's kernel
// template expanded over its parameter grid (no network).
#pragma once

#include <filesystem>
#include <memory>

#include "kernel/gen/gen_loop.hpp"
#include "kernel/gen/template_expand.hpp"
#include "llm/chat.hpp"

namespace dsx::kernel::gen {

// Every variant of the template in round 1 (ids t01, t02, ...; meta holds the values), then done.
class TemplateSource : public CandidateSource {
 public:
  TemplateSource(std::vector<Variant> variants) : variants_(std::move(variants)) {}
  Result<std::vector<Proposal>> Propose(int round, const std::vector<Attempt>& history) override;
  bool Exhausted(int) const override { return true; }

 private:
  std::vector<Variant> variants_;
};

struct ModelSourceOptions {
  int candidates = 1;       // requests per round (each an independent sample)
  double temperature = -1;  // < 0: server default; with candidates > 1, 0.8 unless given
  int max_tokens = 8192;
  std::string arch = "sm_90";
};

// Asks the model `candidates` times per round with a prompt rebuilt from the Skill, the task and
// every verdict so far. Writes prompt-r<k>.md and candidates/<id>.reply.md into the run folder.
class ModelSource : public CandidateSource {
 public:
  ModelSource(llm::ChatClient& client, const llm::Skill& skill, const TaskInfo& task,
              std::vector<std::pair<std::string, std::string>> references, ModelSourceOptions options,
              std::filesystem::path run_dir, EventSink& sink)
      : client_(client),
        skill_(skill),
        task_(task),
        references_(std::move(references)),
        options_(options),
        run_dir_(std::move(run_dir)),
        sink_(sink) {}
  Result<std::vector<Proposal>> Propose(int round, const std::vector<Attempt>& history) override;

 private:
  llm::ChatClient& client_;
  const llm::Skill& skill_;
  const TaskInfo& task_;
  std::vector<std::pair<std::string, std::string>> references_;
  ModelSourceOptions options_;
  std::filesystem::path run_dir_;
  EventSink& sink_;
};

}  // namespace dsx::kernel::gen

#include "kernel/gen/sources.hpp"

#include <cstdio>

#include "core/fs.hpp"
#include "kernel/gen/extract.hpp"

namespace dsx::kernel::gen {

Result<std::vector<Proposal>> TemplateSource::Propose(int round, const std::vector<Attempt>&) {
  std::vector<Proposal> out;
  if (round != 1) return out;
  int width = variants_.size() >= 100 ? 3 : 2;
  for (size_t i = 0; i < variants_.size(); ++i) {
    char id[32];
    std::snprintf(id, sizeof id, "t%0*zu", width, i + 1);
    Proposal p;
    p.id = id;
    p.source = variants_[i].source;
    p.meta = {{"template", variants_[i].id}, {"values", variants_[i].values}};
    out.push_back(std::move(p));
  }
  return out;
}

Result<std::vector<Proposal>> ModelSource::Propose(int round, const std::vector<Attempt>& history) {
  PromptInputs in;
  in.skill = &skill_;
  in.task = &task_;
  in.references = references_;
  in.history = history;
  in.arch = options_.arch;
  Prompt prompt = BuildPrompt(in);
  DSX_RETURN_IF_ERROR(fs::AtomicWriteFile(run_dir_ / ("prompt-r" + std::to_string(round) + ".md"),
                                          "# system\n\n" + prompt.system + "\n# user\n\n" + prompt.user, false));
  std::vector<Proposal> out;
  for (int c = 1; c <= options_.candidates; ++c) {
    std::string id = "r" + std::to_string(round) + "-c" + std::to_string(c);
    llm::ChatRequest req;
    req.system = prompt.system;
    req.messages = {{"user", prompt.user}};
    req.max_tokens = options_.max_tokens;
    req.temperature = options_.temperature >= 0 ? options_.temperature : (options_.candidates > 1 ? 0.8 : -1);
    sink_.Emit({{"type", "gen.prompt"},
                {"round", round},
                {"candidate", id},
                {"chars", prompt.system.size() + prompt.user.size()}});
    auto reply = client_.Chat(req, [&](std::string_view piece) { sink_.Token(id, piece); });
    sink_.Flush();
    if (!reply.ok()) return reply.status();
    DSX_RETURN_IF_ERROR(fs::AtomicWriteFile(run_dir_ / "candidates" / (id + ".reply.md"), reply->text, false));
    Proposal p;
    p.id = id;
    p.meta = {{"model", reply->model},
              {"stop_reason", reply->stop_reason},
              {"input_tokens", reply->input_tokens},
              {"output_tokens", reply->output_tokens},
              {"attempts", reply->attempts}};
    auto code = ExtractCode(reply->text, task_.entry_base);
    if (code.ok()) {
      p.source = code->code;
      p.meta["extracted"] = code->how;
    } else {
      p.extract = code.status();
    }
    // A reply cut at the token limit usually ends inside the code: say so in the feedback.
    if (reply->stop_reason == "length" || reply->stop_reason == "max_tokens") {
      p.meta["truncated"] = true;
      if (!p.extract.ok())
        p.extract = dsx::Status::Failed(p.extract.message() + " (the reply was cut at the token limit: be shorter)");
    }
    sink_.Emit({{"type", "gen.reply"},
                {"candidate", id},
                {"chars", reply->text.size()},
                {"extracted", code.ok() ? code->how : code.status().message()}});
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace dsx::kernel::gen

// The LLM researcher (researcher.hpp, llm_researcher.hpp): notes and results in, checked one-change
// hypotheses out, through the project's LLM client (lib/llm). It runs nothing and writes nothing.
#include <utility>
#include <vector>

#include "autolab/hypothesis_json.hpp"
#include "autolab/llm_researcher.hpp"
#include "autolab/note_text.hpp"
#include "autolab/research_prompt.hpp"
#include "core/log.hpp"
#include "llm/chat.hpp"
#include "net/curl_transport.hpp"

namespace dsx::autolab {

namespace {

constexpr int kAnswerTokens = 4096;  // a few hypotheses with small patches fit easily
constexpr int kAnswers = 2;          // the first answer, and one more after telling the model what was wrong

std::string Join(const std::vector<std::string>& items, const char* sep) {
  std::string s;
  for (const std::string& i : items) s += (s.empty() ? "" : sep) + i;
  return s;
}

class LlmResearcher final : public HypothesisSource {
 public:
  LlmResearcher(Plan plan, LlmResearcherOptions options, std::unique_ptr<llm::ChatClient> client,
                std::vector<Note> notes, std::vector<Note> working_files)
      : plan_(std::move(plan)),
        options_(std::move(options)),
        client_(std::move(client)),
        notes_(std::move(notes)),
        working_files_(std::move(working_files)) {}

  Result<std::vector<Hypothesis>> Propose(const ResearchContext& context) override {
    const Plan& plan = context.plan ? *context.plan : plan_;
    const int max = context.max_hypotheses;
    if (max <= 0) return std::vector<Hypothesis>{};
    FetchPapersOnce();

    llm::ChatRequest request;
    request.system = ToValidUtf8(ResearchSystemPrompt(plan, max));
    request.messages.push_back({"user", ToValidUtf8(ResearchUserPrompt(plan, context, notes_, working_files_))});
    request.max_tokens = kAnswerTokens;

    std::vector<std::string> problems;
    for (int answer = 1; answer <= kAnswers; ++answer) {
      Result<llm::ChatReply> reply = client_->Chat(request, {});
      if (!reply.ok()) return reply.status().Wrap("researcher (" + plan_.researcher->model + ")");
      Result<HypothesisAnswer> parsed = ParseHypothesisAnswer(reply->text, plan, context.tried_ids, max);
      problems.clear();
      if (parsed.ok()) {
        for (const std::string& d : parsed->dropped) Log("researcher: dropped " + d);
        // Usable: some hypotheses, or an honest "nothing left" (an empty list).
        if (!parsed->accepted.empty() || parsed->dropped.empty()) {
          // What is proposed is the caller's to log (the driver says it as it records it).
          return std::move(parsed->accepted);
        }
        problems = parsed->dropped;
      } else {
        problems.push_back(parsed.status().message());
      }
      if (reply->stop_reason == "length" || reply->stop_reason == "max_tokens") {
        problems.push_back("the answer was cut at the token limit: propose fewer or shorter hypotheses");
      }
      if (answer < kAnswers) {
        Log("researcher: the answer could not be used (" + Join(problems, "; ") + "); asking once more");
        request.messages.push_back({"assistant", ToValidUtf8(Utf8Prefix(reply->text, 16000))});
        request.messages.push_back({"user", ResearchRetryPrompt(problems, max)});
      }
    }
    return Status::Failed("researcher: no usable hypothesis in the model's answers: " + Join(problems, "; "));
  }

 private:
  void Log(const std::string& line) {
    if (options_.log) options_.log(line);
    else log::Warn(line);
  }

  // Paper pages are fetched once per researcher, when hypotheses are first needed (a plan whose own
  // hypotheses suffice never touches the network); one that cannot be had is skipped, never fatal.
  void FetchPapersOnce() {
    if (papers_fetched_) return;
    papers_fetched_ = true;
    const PaperOptions paper_options = options_.papers ? *options_.papers : PaperOptionsFromEnv();
    std::shared_ptr<net::Transport> transport = options_.paper_transport;
    for (Note& n : notes_) {
      std::optional<PaperRef> ref = ParsePaperRef(n.name);
      if (!ref) continue;
      if (!transport) transport = std::make_shared<net::CurlTransport>();
      Result<PaperText> paper = FetchPaper(*ref, *transport, paper_options);
      if (!paper.ok()) {
        n.skipped = OneLine(paper.status().message());
        Log("researcher: note " + n.name + " skipped: " + n.skipped);
        continue;
      }
      const std::string text = "Title: " + paper->title + "\n\nAbstract: " + paper->abstract + "\n";
      n.full_size = text.size();
      n.text = std::string(Utf8Prefix(text, options_.notes.max_bytes));
      n.cut = n.text.size() < text.size();
      n.skipped.clear();
    }
  }

  Plan plan_;
  LlmResearcherOptions options_;
  std::unique_ptr<llm::ChatClient> client_;
  std::vector<Note> notes_;  // in the plan's order; papers filled in by FetchPapersOnce
  std::vector<Note> working_files_;
  bool papers_fetched_ = false;
};

}  // namespace

Result<std::unique_ptr<HypothesisSource>> MakeLlmResearcher(const Plan& plan, LlmResearcherOptions options) {
  if (!plan.researcher) return Status::Usage("the plan has no researcher section (researcher: {provider, model})");
  const Researcher& r = *plan.researcher;
  Result<llm::Provider> provider = llm::ParseProvider(r.provider);
  if (!provider.ok()) return Status::Usage("researcher.provider: " + provider.status().message());
  Result<llm::ClientConfig> config = llm::ConfigFromEnv(*provider, r.model, options.base_url);
  if (!config.ok()) return config.status().Wrap("researcher");
  config->transport = options.chat_transport;
  if (options.chat_sleep) config->sleep = options.chat_sleep;
  Result<std::unique_ptr<llm::ChatClient>> client = llm::MakeClient(std::move(*config));
  if (!client.ok()) return client.status().Wrap("researcher");

  // Local notes are read now, so a missing file or a missing pdftotext stops the run before it spends
  // anything; papers only get their place here (fetched on the first Propose).
  std::vector<Note> notes;
  for (const std::string& entry : r.notes) {
    if (LooksLikePaperRef(entry)) {
      if (!ParsePaperRef(entry)) {
        return Status::Usage("researcher.notes: '" + entry +
                             "' is not a paper id (arxiv:2406.12345, arxiv:hep-th/9901001 or hf-paper:2406.12345)");
      }
      Note paper;
      paper.name = entry;
      paper.skipped = "not fetched yet";
      notes.push_back(std::move(paper));
      continue;
    }
    Result<Note> note = ReadNoteFile(plan.dir, entry, options.notes);
    if (!note.ok()) return note.status().Wrap("researcher");
    notes.push_back(std::move(*note));
  }
  // The working files, so the model can write a patch against what is really there; one that cannot
  // be shown (binary) is named with the reason instead.
  std::vector<Note> files;
  for (const std::string& f : plan.experiment.files) {
    Result<Note> file = ReadNoteFile(plan.dir, f, options.notes);
    Note n;
    if (file.ok()) {
      n = std::move(*file);
    } else {
      n.name = f;
      n.skipped = OneLine(file.status().message());
    }
    // Named as it is inside {workdir} (files are copied there by name: workspace.hpp).
    n.name = "working file " + std::filesystem::path(f).lexically_normal().filename().string();
    files.push_back(std::move(n));
  }
  return std::unique_ptr<HypothesisSource>(
      new LlmResearcher(plan, std::move(options), std::move(*client), std::move(notes), std::move(files)));
}

Result<std::unique_ptr<HypothesisSource>> MakeLlmResearcher(const Plan& plan) {
  return MakeLlmResearcher(plan, LlmResearcherOptions{});
}

}  // namespace dsx::autolab

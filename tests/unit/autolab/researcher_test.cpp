// The LLM researcher (autolab/researcher.cpp and its helpers: notes, papers, hypothesis_json,
// research_prompt) against scripted transports: the LLM client's requests are read back to check
// the prompt (goal, objective, base parameters, notes by name, results, tried ids), scripted answers
// check the strict-but-tolerant parsing and the one retry, and the paper fetches run against
// answers shaped like the Hub's /api/papers/<id> JSON and arXiv's Atom feed (no network here). A PDF
// note is written by hand (a minimal valid PDF) and read through the real pdftotext.
#include <doctest/doctest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../llm/fake_server.hpp"
#include "autolab/hypothesis_json.hpp"
#include "autolab/llm_researcher.hpp"
#include "autolab/note_text.hpp"
#include "autolab/notes.hpp"
#include "autolab/papers.hpp"
#include "autolab/plan.hpp"
#include "core/utf8.hpp"
#include "net/fake_transport.hpp"

using dsx::Code;
using namespace dsx::autolab;
using dsx::net::testing::FakeTransport;
using dsx::net::testing::NetError;
using dsx::net::testing::Reply;
using dsx::net::testing::Scripted;
using dsx::net::testing::SseReply;
using nlohmann::json;

namespace {

const char* kKey = "sk-researcher-test-0123456789";
const dsx::net::HeaderList kSse = {{"Content-Type", "text/event-stream"}};

struct TempDir {
  std::string path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "dsx-researcher-XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string Write(const std::string& name, const std::string& content) const {
    std::string p = path + "/" + name;
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }
};

// An OpenAI-style streamed reply whose text is `text`.
Scripted Answer(const std::string& text, const std::string& finish = "stop") {
  json delta = {{"choices", json::array({{{"delta", {{"content", text}}}}})}};
  json end = {{"choices", json::array({{{"delta", json::object()}, {"finish_reason", finish}}})}};
  return SseReply(kSse, {"data: " + delta.dump() + "\n\n", "data: " + end.dump() + "\n\n", "data: [DONE]\n\n"});
}

// A minimal valid PDF (one page, one line of Helvetica text), with a correct xref table.
std::string MinimalPdf(const std::string& text) {
  const std::string content = "BT /F1 12 Tf 72 720 Td (" + text + ") Tj ET";
  const std::vector<std::string> objects = {
      "<< /Type /Catalog /Pages 2 0 R >>",
      "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
      "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> "
      ">>",
      "<< /Length " + std::to_string(content.size()) + " >>\nstream\n" + content + "\nendstream",
      "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
  };
  std::string pdf = "%PDF-1.4\n";
  std::vector<std::size_t> offsets;
  for (std::size_t i = 0; i < objects.size(); ++i) {
    offsets.push_back(pdf.size());
    pdf += std::to_string(i + 1) + " 0 obj\n" + objects[i] + "\nendobj\n";
  }
  const std::size_t xref = pdf.size();
  pdf += "xref\n0 " + std::to_string(objects.size() + 1) + "\n0000000000 65535 f \n";
  for (std::size_t off : offsets) {
    char line[32];
    std::snprintf(line, sizeof line, "%010zu 00000 n \n", off);
    pdf += line;
  }
  pdf += "trailer\n<< /Size " + std::to_string(objects.size() + 1) + " /Root 1 0 R >>\nstartxref\n" +
         std::to_string(xref) + "\n%%EOF\n";
  return pdf;
}

bool OnPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  if (!path) return false;
  std::string p = path;
  for (std::size_t start = 0; start <= p.size();) {
    std::size_t end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    if (access((p.substr(start, end - start) + "/" + program).c_str(), X_OK) == 0) return true;
    start = end + 1;
  }
  return false;
}

// The digits-like plan: evolve over lr (float), width (int), optimizer (string), nesterov (bool).
Plan EvolvePlan(const std::string& dir, std::vector<std::string> notes = {}) {
  Plan plan;
  plan.name = "digits-researcher";
  plan.dir = dir;
  plan.objective.metric = "val_loss";
  plan.objective.maximize = false;
  plan.objective.margin = 0.01;
  plan.objective.repeats = 3;
  plan.budget.max_experiments = 30;
  plan.budget.experiment_timeout_s = 120;
  plan.experiment.command = "/usr/bin/python3 {workdir}/train.py --lr {lr} --width {width} --seed {seed}";
  Evolve ev;
  ev.base = {{"lr", 0.01}, {"width", 64}, {"optimizer", "adam"}, {"nesterov", false}};
  Hypothesis own;
  own.id = "wider";
  own.rationale = "more capacity";
  own.overrides = {{"width", 128}};
  ev.hypotheses.push_back(own);
  plan.evolve = ev;
  Researcher r;
  r.provider = "openai";
  r.model = "gpt-test";
  r.goal = "Lower the held-out log-loss of the digits MLP without slowing training down.";
  r.notes = std::move(notes);
  plan.researcher = r;
  return plan;
}

// Sets OPENAI_API_KEY (and clears OPENAI_BASE_URL) for one test, then puts both back as they were:
// other tests in this binary must not see a key they did not set.
struct EnvGuard {
  std::optional<std::string> key, base;
  EnvGuard() {
    if (const char* k = std::getenv("OPENAI_API_KEY")) key = k;
    if (const char* b = std::getenv("OPENAI_BASE_URL")) base = b;
    setenv("OPENAI_API_KEY", kKey, 1);
    unsetenv("OPENAI_BASE_URL");
  }
  ~EnvGuard() {
    if (key) setenv("OPENAI_API_KEY", key->c_str(), 1);
    else unsetenv("OPENAI_API_KEY");
    if (base) setenv("OPENAI_BASE_URL", base->c_str(), 1);
    else unsetenv("OPENAI_BASE_URL");
  }
};

struct Fixture {
  EnvGuard env;
  TempDir dir;
  std::shared_ptr<FakeTransport> llm = std::make_shared<FakeTransport>();
  std::shared_ptr<FakeTransport> papers = std::make_shared<FakeTransport>();
  std::vector<std::string> log;
  std::vector<double> waits;

  LlmResearcherOptions Options() {
    LlmResearcherOptions o;
    o.chat_transport = llm;
    o.chat_sleep = [this](double s) { waits.push_back(s); };
    o.base_url = "http://llm.test";
    o.paper_transport = papers;
    PaperOptions p;
    p.hf_endpoint = "http://hub.test";
    p.arxiv_endpoint = "http://arxiv.test";
    o.papers = p;
    o.log = [this](const std::string& line) { log.push_back(line); };
    return o;
  }

  std::unique_ptr<HypothesisSource> Make(const Plan& plan) {
    auto r = MakeLlmResearcher(plan, Options());
    REQUIRE_MESSAGE(r.ok(), r.status().message());
    return std::move(*r);
  }

  // System prompt and user message(s) of LLM request i, joined.
  std::string Prompt(std::size_t i = 0) const {
    json body = json::parse(llm->requests.at(i).body);
    std::string all;
    for (const auto& m : body["messages"])
      all += m["role"].get<std::string>() + ": " + m["content"].get<std::string>() + "\n";
    return all;
  }

  bool Logged(const std::string& part) const {
    for (const auto& l : log) {
      if (l.find(part) != std::string::npos) return true;
    }
    return false;
  }
};

ExperimentRecord Record(std::int64_t seq, json params, std::int64_t seed, ExpState state, std::optional<double> metric,
                        const std::string& hypothesis, const std::string& patch = "", const std::string& reason = "") {
  ExperimentRecord e;
  e.seq = seq;
  e.params = std::move(params);
  e.seed = seed;
  e.patch = patch;
  e.id = ExperimentId(e.params, seed, patch);
  e.config_key = ConfigKey(e.params, patch);
  e.state = state;
  e.metric = metric;
  e.hypothesis = hypothesis;
  e.reason = reason;
  return e;
}

const char* kPatch = "--- a/train.py\n+++ b/train.py\n@@ -1,2 +1,2 @@\n-EPOCHS = 30\n+EPOCHS = 40\n # end\n";

}  // namespace

TEST_CASE("researcher: the prompt holds goal, objective, parameters, notes by name, results and tried ids") {
  Fixture f;
  f.dir.Write("notes.md", "# Digits notes\nAdam with lr 3e-3 beat SGD in earlier runs.\n");
  f.dir.Write("train.py", "EPOCHS = 30\n# end\n");
  Plan plan = EvolvePlan(f.dir.path, {"notes.md", "hf-paper:1412.6980", "arxiv:1711.05101"});
  plan.experiment.files = {"train.py"};
  plan.experiment.env = {{"HF_TOKEN", "hf_secret_never_in_prompts"}};
  f.papers->script.push_back(Reply(
      200, {},
      R"({"id":"1412.6980","title":"Adam: A Method for Stochastic\n Optimization","summary":"We introduce Adam, an algorithm for first-order gradient-based optimization."})"));
  f.papers->script.push_back(Reply(200, {}, R"(<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title type="html">ArXiv Query: id_list=1711.05101</title>
<entry><id>http://arxiv.org/abs/1711.05101v3</id><title>Decoupled Weight Decay
  Regularization</title><summary>  L$_2$ regularization and weight decay are not identical for Adam &amp; co.
</summary></entry></feed>)"));
  f.llm->script.push_back(Answer(R"({"hypotheses":[
    {"id":"lr-3e-3","rationale":"Adam likes a smaller step [notes.md] [hf-paper:1412.6980]","overrides":{"lr":0.003}},
    {"id":"more-epochs","rationale":"longer training\n[notes.md]","overrides":{},"patch":"--- a/train.py\n+++ b/train.py\n@@ -1,2 +1,2 @@\n-EPOCHS = 30\n+EPOCHS = 40\n # end"}
  ]})"));
  auto researcher = f.Make(plan);

  ResearchContext ctx;
  ctx.plan = &plan;
  ctx.max_hypotheses = 3;
  ctx.tried_ids = {"baseline", "wider", "nesterov-on"};
  ctx.best_summary = "baseline: val_loss 0.2100 +- 0.0100 (3 runs)";
  json base = {{"lr", 0.01}, {"width", 64}, {"optimizer", "adam"}, {"nesterov", false}};
  json wider = base;
  wider["width"] = 128;
  for (int s = 0; s < 3; ++s)
    ctx.so_far.push_back(Record(1 + s, base, s, ExpState::kFinished, 0.21 + 0.01 * s, "baseline"));
  ctx.so_far[0].promoted = true;
  ctx.so_far.push_back(Record(4, wider, 0, ExpState::kFinished, 0.25, "wider"));
  ctx.so_far.push_back(Record(5, wider, 1, ExpState::kFailed, std::nullopt, "wider", "", "timed out after 120 s"));
  ctx.so_far.push_back(Record(6, base, 0, ExpState::kFinished, 0.3, "epochs-40", kPatch));

  auto got = researcher->Propose(ctx);
  REQUIRE_MESSAGE(got.ok(), got.status().message());
  REQUIRE(got->size() == 2);
  CHECK((*got)[0].id == "lr-3e-3");
  CHECK((*got)[0].overrides.at("lr") == 0.003);
  CHECK((*got)[0].patch.empty());
  CHECK((*got)[1].id == "more-epochs");
  CHECK((*got)[1].rationale == "longer training [notes.md]");  // one line
  CHECK((*got)[1].patch.back() == '\n');                       // GNU patch wants the last line ended
  CHECK((*got)[1].overrides.empty());

  REQUIRE(f.llm->requests.size() == 1);
  CHECK(f.llm->requests[0].url == "http://llm.test/v1/chat/completions");
  CHECK(json::parse(f.llm->requests[0].body)["model"] == "gpt-test");
  const std::string p = f.Prompt();
  // Goal and objective.
  CHECK(p.find("Lower the held-out log-loss of the digits MLP") != std::string::npos);
  CHECK(p.find("Metric 'val_loss': lower is better (minimize)") != std::string::npos);
  CHECK(p.find("at least 0.01 with 95% confidence") != std::string::npos);
  // How a run goes, its parameters with their types, the working file to patch.
  CHECK(p.find("--lr {lr} --width {width}") != std::string::npos);
  CHECK(p.find("- width = 64 (number)") != std::string::npos);
  CHECK(p.find("- optimizer = \"adam\" (string)") != std::string::npos);
  CHECK(p.find("### [working file train.py]\nEPOCHS = 30") != std::string::npos);
  // Notes under their names, papers with title and abstract.
  CHECK(p.find("### [notes.md]\n# Digits notes\nAdam with lr 3e-3") != std::string::npos);
  CHECK(p.find("### [hf-paper:1412.6980]\nTitle: Adam: A Method for Stochastic Optimization") != std::string::npos);
  CHECK(p.find("### [arxiv:1711.05101]\nTitle: Decoupled Weight Decay Regularization\n\nAbstract: L$_2$ "
               "regularization and weight decay are not identical for Adam & co.") != std::string::npos);
  CHECK(p.find("citing the notes it draws on") != std::string::npos);
  // Results: the baseline's mean over its seeds, the failure's reason, a patch summarized and shown.
  CHECK(p.find("Best so far: baseline: val_loss 0.2100 +- 0.0100 (3 runs)") != std::string::npos);
  CHECK(
      p.find("- baseline [current best]: params {\"lr\":0.01,\"nesterov\":false,\"optimizer\":\"adam\",\"width\":64}; "
             "metric mean 0.22 over 3 run(s) [0.21, 0.22, 0.23]") != std::string::npos);
  CHECK(p.find("- wider: params") != std::string::npos);
  CHECK(p.find("failed: timed out after 120 s") != std::string::npos);
  CHECK(p.find("- epochs-40: params") != std::string::npos);
  CHECK(p.find("patch train.py (+1 -1)") != std::string::npos);
  CHECK(p.find("+EPOCHS = 40") != std::string::npos);
  // Tried ids (and the plan's own), never to be proposed again.
  CHECK(p.find("baseline, wider, nesterov-on") != std::string::npos);
  // Nothing secret.
  CHECK(p.find(kKey) == std::string::npos);
  CHECK(p.find("hf_secret_never_in_prompts") == std::string::npos);
  // The paper requests, exactly.
  REQUIRE(f.papers->requests.size() == 2);
  CHECK(f.papers->requests[0].url == "http://hub.test/api/papers/1412.6980");
  CHECK(f.papers->requests[1].url == "http://arxiv.test/api/query?id_list=1711.05101&max_results=1");
  CHECK(f.papers->requests[0].timeout_ms == 10000);

  // Papers are fetched once per researcher, not on every Propose.
  f.llm->script.push_back(Answer(R"({"hypotheses":[]})"));
  auto again = researcher->Propose(ctx);
  REQUIRE_MESSAGE(again.ok(), again.status().message());
  CHECK(again->empty());  // an honest "nothing left"
  CHECK(f.papers->requests.size() == 2);
}

TEST_CASE("researcher: paper pages that cannot be had are skipped with the reason, never fatal") {
  Fixture f;
  Plan plan = EvolvePlan(f.dir.path, {"arxiv:2406.12345", "hf-paper:2406.12345", "arxiv:hep-th/9901001"});
  f.papers->script.push_back(NetError(false, "could not resolve host"));
  f.papers->script.push_back(Reply(404, {}, R"({"error":"Paper not found"})"));
  f.papers->script.push_back(Reply(
      200, {},
      R"(<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>http://arxiv.org/api/errors#incorrect_id_format_for_hep-th/9901001</id><title>Error</title><summary>incorrect id format for hep-th/9901001</summary></entry></feed>)"));
  f.llm->script.push_back(Answer(R"({"hypotheses":[{"id":"h1","rationale":"r","overrides":{"lr":0.02}}]})"));
  auto researcher = f.Make(plan);
  ResearchContext ctx;
  auto got = researcher->Propose(ctx);
  REQUIRE_MESSAGE(got.ok(), got.status().message());
  CHECK(got->size() == 1);
  const std::string p = f.Prompt();
  CHECK(
      p.find("### [arxiv:2406.12345] (note not available: http://arxiv.test/api/query?id_list=2406.12345&max_results=1 "
             "not reachable: could not resolve host)") != std::string::npos);
  CHECK(p.find("### [hf-paper:2406.12345] (note not available: http://hub.test/api/papers/2406.12345: no such paper "
               "(404))") != std::string::npos);
  CHECK(p.find("### [arxiv:hep-th/9901001] (note not available: http://arxiv.test/api/query?id_list=hep-th/9901001&"
               "max_results=1: arXiv: incorrect id format for hep-th/9901001)") != std::string::npos);
  CHECK(f.Logged("researcher: note arxiv:2406.12345 skipped"));

  // Offline: no request at all.
  Fixture off;
  LlmResearcherOptions o = off.Options();
  o.papers->offline = true;
  off.llm->script.push_back(Answer(R"({"hypotheses":[]})"));
  auto r = MakeLlmResearcher(EvolvePlan(off.dir.path, {"arxiv:2406.12345"}), o);
  REQUIRE(r.ok());
  REQUIRE((*r)->Propose(ctx).ok());
  CHECK(off.papers->requests.empty());
  CHECK(off.Prompt().find("(note not available: offline (HF_HUB_OFFLINE))") != std::string::npos);

  // A paper entry with a malformed id is a plan mistake, said when the researcher is made.
  auto bad = MakeLlmResearcher(EvolvePlan(off.dir.path, {"arxiv:../../etc/passwd"}), off.Options());
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == Code::kUsage);
  CHECK(bad.status().message().find("not a paper id") != std::string::npos);
}

TEST_CASE("researcher: a PDF note is read through pdftotext") {
  if (!OnPath("pdftotext")) {
    MESSAGE("SKIPPED: pdftotext not installed (Debian poppler-utils, scripts/deps/autolab-research.apt)");
    return;
  }
  Fixture f;
  f.dir.Write("paper.pdf", MinimalPdf("Cosine schedules beat step decay on small nets"));
  auto note = ReadNoteFile(f.dir.path, "paper.pdf");
  REQUIRE_MESSAGE(note.ok(), note.status().message());
  CHECK(note->name == "paper.pdf");
  CHECK(note->text.find("Cosine schedules beat step decay on small nets") != std::string::npos);
  CHECK_FALSE(note->cut);

  f.llm->script.push_back(Answer(R"({"hypotheses":[]})"));
  auto researcher = f.Make(EvolvePlan(f.dir.path, {"paper.pdf"}));
  ResearchContext ctx;
  REQUIRE(researcher->Propose(ctx).ok());
  CHECK(f.Prompt().find("### [paper.pdf]\nCosine schedules beat step decay") != std::string::npos);

  // A file that is not a PDF: pdftotext's failure, named.
  f.dir.Write("broken.pdf", "%PDF-1.4 this is not really a pdf");
  auto broken = ReadNoteFile(f.dir.path, "broken.pdf");
  REQUIRE_FALSE(broken.ok());
  CHECK(broken.status().code() == Code::kFailed);
  CHECK(broken.status().message().find("note 'broken.pdf': pdftotext could not read") != std::string::npos);
  auto made = MakeLlmResearcher(EvolvePlan(f.dir.path, {"broken.pdf"}), f.Options());
  REQUIRE_FALSE(made.ok());
  CHECK(made.status().code() == Code::kFailed);
}

TEST_CASE("researcher: pdftotext missing is a clear error naming the package") {
  TempDir dir;
  dir.Write("paper.pdf", MinimalPdf("x"));
  NoteOptions o;
  o.pdftotext = "/nonexistent/dsx-test/pdftotext";
  auto note = ReadNoteFile(dir.path, "paper.pdf", o);
  REQUIRE_FALSE(note.ok());
  CHECK(note.status().code() == Code::kUnavailable);
  CHECK(note.status().message().find("poppler-utils") != std::string::npos);
}

TEST_CASE("researcher: notes are bounded, valid UTF-8, and a cut says so") {
  Fixture f;
  std::string big;
  for (int i = 0; i < 200; ++i) big += "é line " + std::to_string(i) + "\n";  // 2-byte characters to cut through
  big += "\xff\xfe raw bytes\n";
  f.dir.Write("long.txt", big);
  NoteOptions o;
  o.max_bytes = 101;
  auto note = ReadNoteFile(f.dir.path, "long.txt", o);
  REQUIRE(note.ok());
  CHECK(note->cut);
  CHECK(note->text.size() <= 101);
  CHECK(dsx::IsValidUtf8(note->text));
  CHECK(note->full_size == big.size());

  f.dir.Write("latin1.md", "caf\xe9 au lait\n");
  auto latin = ReadNoteFile(f.dir.path, "latin1.md");
  REQUIRE(latin.ok());
  CHECK(latin->text == "caf\xEF\xBF\xBD au lait\n");

  LlmResearcherOptions opts = f.Options();
  opts.notes.max_bytes = 101;
  f.llm->script.push_back(Answer(R"({"hypotheses":[]})"));
  auto r = MakeLlmResearcher(EvolvePlan(f.dir.path, {"long.txt"}), opts);
  REQUIRE(r.ok());
  ResearchContext ctx;
  REQUIRE((*r)->Propose(ctx).ok());
  CHECK(f.Prompt().find("[... cut: the first " + std::to_string(note->text.size()) + " of " +
                        std::to_string(big.size()) + "+ bytes are shown]") != std::string::npos);

  // Missing, folder, binary.
  CHECK(ReadNoteFile(f.dir.path, "nope.md").status().code() == Code::kNotFound);
  std::filesystem::create_directory(f.dir.path + "/sub");
  CHECK(ReadNoteFile(f.dir.path, "sub").status().code() == Code::kUsage);
  f.dir.Write("blob.bin", std::string("ab\0cd", 5));
  auto blob = ReadNoteFile(f.dir.path, "blob.bin");
  CHECK(blob.status().code() == Code::kUsage);
  CHECK(blob.status().message().find("binary") != std::string::npos);
  auto missing = MakeLlmResearcher(EvolvePlan(f.dir.path, {"nope.md"}), f.Options());
  CHECK(missing.status().code() == Code::kNotFound);
}

TEST_CASE("researcher: configuration errors are usage errors, an unreachable model is unavailable") {
  Fixture f;
  Plan none = EvolvePlan(f.dir.path);
  none.researcher.reset();
  CHECK(MakeLlmResearcher(none, f.Options()).status().code() == Code::kUsage);

  Plan unknown = EvolvePlan(f.dir.path);
  unknown.researcher->provider = "mistery";
  CHECK(MakeLlmResearcher(unknown, f.Options()).status().code() == Code::kUsage);

  // No key, no local server: kUsage naming the variable (and never a key).
  unsetenv("OPENAI_API_KEY");
  LlmResearcherOptions o = f.Options();
  o.base_url.clear();
  auto nokey = MakeLlmResearcher(EvolvePlan(f.dir.path), o);
  REQUIRE_FALSE(nokey.ok());
  CHECK(nokey.status().code() == Code::kUsage);
  CHECK(nokey.status().message().find("OPENAI_API_KEY") != std::string::npos);
  setenv("OPENAI_API_KEY", kKey, 1);

  // Nobody answers: the client's bounded retries, then kUnavailable.
  auto researcher = f.Make(EvolvePlan(f.dir.path));
  for (int i = 0; i < 5; ++i) f.llm->script.push_back(NetError(false, "connection refused"));
  ResearchContext ctx;
  auto got = researcher->Propose(ctx);
  REQUIRE_FALSE(got.ok());
  CHECK(got.status().code() == Code::kUnavailable);
  CHECK(got.status().message().find("researcher (gpt-test)") != std::string::npos);
  CHECK(got.status().message().find(kKey) == std::string::npos);
  CHECK_FALSE(f.waits.empty());

  // max_hypotheses 0: nothing asked, nothing sent.
  ctx.max_hypotheses = 0;
  const std::size_t before = f.llm->requests.size();
  auto zero = researcher->Propose(ctx);
  REQUIRE(zero.ok());
  CHECK(zero->empty());
  CHECK(f.llm->requests.size() == before);
}

TEST_CASE("researcher: an unusable answer is sent back once with its problems") {
  Fixture f;
  f.llm->script.push_back(Answer("Sure! Here are some ideas: try a smaller learning rate."));
  f.llm->script.push_back(Answer(
      "```json\n{\"hypotheses\":[{\"id\":\"lr-small\",\"rationale\":\"r\",\"overrides\":{\"lr\":0.001}}]}\n```"));
  auto researcher = f.Make(EvolvePlan(f.dir.path));
  ResearchContext ctx;
  auto got = researcher->Propose(ctx);
  REQUIRE_MESSAGE(got.ok(), got.status().message());
  REQUIRE(got->size() == 1);
  CHECK((*got)[0].id == "lr-small");
  REQUIRE(f.llm->requests.size() == 2);
  const std::string second = f.Prompt(1);
  CHECK(second.find("assistant: Sure! Here are some ideas") != std::string::npos);
  CHECK(second.find("Your answer could not be used:\n- the answer is not JSON") != std::string::npos);
  CHECK(f.Logged("asking once more"));

  // Every hypothesis invalid, twice: kFailed with every reason.
  Fixture g;
  const std::string all_bad =
      R"({"hypotheses":[{"id":"wider","rationale":"r","overrides":{"width":256}},{"id":"x","rationale":"r","overrides":{"depth":3}}]})";
  g.llm->script.push_back(Answer(all_bad));
  g.llm->script.push_back(Answer(all_bad, "length"));
  auto r2 = g.Make(EvolvePlan(g.dir.path));
  auto failed = r2->Propose(ctx);
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.status().code() == Code::kFailed);
  const std::string& m = failed.status().message();
  CHECK(m.find("hypothesis 1 ('wider'): the id was used before") != std::string::npos);
  CHECK(m.find("hypothesis 2 ('x'): overrides 'depth', which is not a parameter of evolve.base") != std::string::npos);
  CHECK(m.find("cut at the token limit") != std::string::npos);
  CHECK(g.llm->requests.size() == 2);
  CHECK(g.Logged("researcher: dropped hypothesis 2 ('x')"));
}

TEST_CASE("hypothesis answer: fences, bad JSON, deep nesting and the wrong shape") {
  Plan plan = EvolvePlan("/tmp");
  const std::string ok = R"({"hypotheses":[{"id":"a","rationale":"r","overrides":{"lr":0.1}}]})";
  for (const std::string& text :
       {ok, "```json\n" + ok + "\n```", "  ```\n" + ok + "\n```\n", "```JSON\n" + ok + "```"}) {
    auto a = ParseHypothesisAnswer(text, plan, {}, 3);
    REQUIRE_MESSAGE(a.ok(), text);
    CHECK(a->accepted.size() == 1);
  }
  // Prose around the JSON or an odd fence: refused, not guessed at.
  CHECK_FALSE(ParseHypothesisAnswer("Here you go:\n" + ok, plan, {}, 3).ok());
  CHECK_FALSE(ParseHypothesisAnswer("```json here it is\n" + ok + "\n```", plan, {}, 3).ok());
  CHECK_FALSE(ParseHypothesisAnswer("", plan, {}, 3).ok());
  CHECK_FALSE(ParseHypothesisAnswer("{\"hypotheses\": [", plan, {}, 3).ok());
  // The shape.
  CHECK(ParseHypothesisAnswer("[]", plan, {}, 3).status().message().find("not an object") != std::string::npos);
  CHECK(ParseHypothesisAnswer("{}", plan, {}, 3).status().message().find("no \"hypotheses\" list") !=
        std::string::npos);
  CHECK(ParseHypothesisAnswer(R"({"hypotheses":{}})", plan, {}, 3).status().code() == Code::kFailed);
  CHECK(ParseHypothesisAnswer(R"({"hypotheses":[],"notes":"x"})", plan, {}, 3)
            .status()
            .message()
            .find("unknown key 'notes'") != std::string::npos);
  // Nested far past the bound: refused before any value is built (no stack overflow on copy/dump).
  std::string deep = R"({"hypotheses":[{"id":"d","rationale":"r","overrides":{"lr":)";
  for (int i = 0; i < 100000; ++i) deep += "[";
  auto d = ParseHypothesisAnswer(deep, plan, {}, 3);
  REQUIRE_FALSE(d.ok());
  CHECK(d.status().message().find("nested deeper") != std::string::npos);
  std::string deep_valid = R"({"hypotheses":[{"id":"d","rationale":"r","overrides":{"lr":)" + std::string(70, '[') +
                           std::string(70, ']') + "}}]}";
  CHECK(ParseHypothesisAnswer(deep_valid, plan, {}, 3).status().message().find("nested deeper") != std::string::npos);
}

TEST_CASE("hypothesis answer: each hypothesis is checked, and only the bad ones are dropped") {
  Plan plan = EvolvePlan("/tmp");
  auto a = ParseHypothesisAnswer(R"({"hypotheses":[
    {"id":"good-1","rationale":"fine [notes.md]","overrides":{"lr":0.02,"width":128.0,"optimizer":"sgd","nesterov":true}},
    {"id":"Upper","rationale":"r","overrides":{"lr":0.1}},
    {"id":"-dash","rationale":"r","overrides":{"lr":0.1}},
    {"id":"this-id-is-far-too-long-for-a-hypothesis-of-the-lab-x","rationale":"r","overrides":{"lr":0.1}},
    {"id":"tried","rationale":"r","overrides":{"lr":0.1}},
    {"id":"wider","rationale":"r","overrides":{"lr":0.1}},
    {"id":"baseline","rationale":"r","overrides":{"lr":0.1}},
    {"id":"good-1","rationale":"again","overrides":{"lr":0.3}},
    {"id":"half-width","rationale":"r","overrides":{"width":64.5}},
    {"id":"lr-word","rationale":"r","overrides":{"lr":"fast"}},
    {"id":"opt-num","rationale":"r","overrides":{"optimizer":1}},
    {"id":"nest-num","rationale":"r","overrides":{"nesterov":1}},
    {"id":"nested","rationale":"r","overrides":{"lr":[0.1]}},
    {"id":"null-lr","rationale":"r","overrides":{"lr":null}},
    {"id":"huge","rationale":"r","overrides":{"width":18446744073709551615}},
    {"id":"unknown","rationale":"r","overrides":{"depth":3}},
    {"id":"extra-key","rationale":"r","overrides":{"lr":0.1},"expected_gain":0.1},
    {"id":"newline-key","rationale":"r","overrides":{"lr":0.1},"\n":1},
    {"id":"no-rationale","overrides":{"lr":0.1}},
    {"id":"blank-rationale","rationale":" \n ","overrides":{"lr":0.1}},
    {"id":"nothing","rationale":"r","overrides":{},"patch":""},
    {"id":"not-diff","rationale":"r","patch":"change EPOCHS to 40"},
    {"id":"patch-num","rationale":"r","patch":3},
    {"id":"ov-list","rationale":"r","overrides":[1]},
    "just a string",
    {"rationale":"no id","overrides":{"lr":0.1}},
    {"id":"good-2","rationale":"a patch","patch":"--- a/t.py\n+++ b/t.py\n@@ -1 +1 @@\n-a\n+b\n"},
    {"id":"good-3","rationale":"third","overrides":{"lr":0.5}},
    {"id":"good-4","rationale":"one too many","overrides":{"lr":0.6}}
  ]})",
                                 plan, {"tried"}, 3);
  REQUIRE_MESSAGE(a.ok(), a.status().message());
  REQUIRE(a->accepted.size() == 3);
  CHECK(a->accepted[0].id == "good-1");
  CHECK(a->accepted[0].overrides.at("width").is_number_integer());  // 128.0 read as 128
  CHECK(a->accepted[0].overrides.at("width") == 128);
  CHECK(a->accepted[0].overrides.at("optimizer") == "sgd");
  CHECK(a->accepted[0].overrides.at("nesterov") == true);
  CHECK(a->accepted[1].id == "good-2");
  CHECK(a->accepted[2].id == "good-3");
  const auto& d = a->dropped;
  REQUIRE(d.size() == 26);
  auto has = [&](std::size_t i, const std::string& part) {
    INFO(d.at(i));
    CHECK(d.at(i).find(part) != std::string::npos);
  };
  has(0, "('Upper'): the id must be");
  has(1, "('-dash'): the id must be");
  has(2, "the id must be");
  has(3, "('tried'): the id was used before");
  has(4, "('wider'): the id was used before");
  has(5, "('baseline'): the id was used before");
  has(6, "('good-1'): the id is used twice");
  has(7, "override 'width' must be an integer like the base value (64)");
  has(8, "override 'lr' must be a number");
  has(9, "override 'optimizer' must be a string");
  has(10, "override 'nesterov' must be a boolean");
  has(11, "override 'lr' is array, not a scalar");
  has(12, "override 'lr' is null, not a scalar");
  has(13, "override 'width' is out of range");
  has(14, "overrides 'depth', which is not a parameter of evolve.base");
  has(15, "unknown key 'expected_gain'");
  has(16, "('newline-key'): unknown key ''");
  has(17, "('no-rationale'): has no \"rationale\"");
  has(18, "('blank-rationale'): has no \"rationale\"");
  has(19, "('nothing'): changes nothing");
  has(20, "('not-diff'): the patch is not a unified diff");
  has(21, "('patch-num'): \"patch\" is number, not a string");
  has(22, "('ov-list'): \"overrides\" is array, not an object");
  has(23, "hypothesis 25: is string, not an object");
  has(24, "hypothesis 26: has no string \"id\"");
  has(25, "('good-4'): more than the 3 hypotheses asked for");
}

TEST_CASE("hypothesis answer: rationales are one line of at most 300 bytes; no base means patches only") {
  Plan plan = EvolvePlan("/tmp");
  std::string long_rationale;
  for (int i = 0; i < 200; ++i) long_rationale += "é\\n";  // 2-byte characters and newlines
  auto a = ParseHypothesisAnswer(
      R"({"hypotheses":[{"id":"r","rationale":")" + long_rationale + R"(","overrides":{"lr":0.2}}]})", plan, {}, 3);
  REQUIRE(a.ok());
  REQUIRE(a->accepted.size() == 1);
  const std::string& r = a->accepted[0].rationale;
  CHECK(r.size() <= kMaxRationaleBytes);
  CHECK(r.find('\n') == std::string::npos);
  CHECK(dsx::IsValidUtf8(r));

  Plan alone = EvolvePlan("/tmp");
  alone.evolve.reset();  // a researcher without evolve: nothing to override
  auto b = ParseHypothesisAnswer(
      R"({"hypotheses":[{"id":"o","rationale":"r","overrides":{"lr":0.2}},{"id":"p","rationale":"r","patch":"--- a/x\n+++ b/x\n@@ -1 +1 @@\n-1\n+2\n"}]})",
      alone, {}, 3);
  REQUIRE(b.ok());
  REQUIRE(b->accepted.size() == 1);
  CHECK(b->accepted[0].id == "p");
  REQUIRE(b->dropped.size() == 1);
  CHECK(b->dropped[0].find("the plan has none: propose a patch") != std::string::npos);

  // A patch larger than the bound is dropped.
  std::string big = "--- a/x\n+++ b/x\n" + std::string(kMaxPatchBytes, 'x');
  auto c = ParseHypothesisAnswer(json{{"hypotheses", {{{"id", "big"}, {"rationale", "r"}, {"patch", big}}}}}.dump(),
                                 alone, {}, 3);
  REQUIRE(c.ok());
  CHECK(c->accepted.empty());
  CHECK(c->dropped.at(0).find("larger than 64 KiB") != std::string::npos);
}

TEST_CASE("papers: references, the Hub's JSON and arXiv's Atom") {
  auto r = ParsePaperRef("arxiv:2406.12345v2");
  REQUIRE(r);
  CHECK(r->source == PaperRef::kArxiv);
  CHECK(r->id == "2406.12345v2");
  CHECK(ParsePaperRef("hf-paper:2406.12345")->source == PaperRef::kHfPaper);
  CHECK(ParsePaperRef("arxiv:hep-th/9901001"));
  CHECK_FALSE(ParsePaperRef("hf-paper:hep-th/9901001"));
  for (const char* bad : {"arxiv:", "arxiv:2406", "arxiv:2406.12345&x=1", "arxiv:2406.12345/../..", "notes.md",
                          "hf-paper:2406.123456", "arxiv: 2406.12345"}) {
    CHECK_FALSE(ParsePaperRef(bad));
  }
  CHECK(LooksLikePaperRef("arxiv:nonsense"));
  CHECK_FALSE(LooksLikePaperRef("notes/arxiv:1.md"));

  auto hf = ParseHfPaper(R"({"title":" Attention Is\nAll You Need ","summary":"The dominant models...","upvotes":3})");
  REQUIRE(hf.ok());
  CHECK(hf->title == "Attention Is All You Need");
  CHECK(ParseHfPaper(R"({"title":1,"summary":"x"})").status().code() == Code::kFailed);
  CHECK(ParseHfPaper("<html>rate limited</html>").status().code() == Code::kFailed);
  CHECK(ParseHfPaper(std::string(100, '[')).status().code() == Code::kFailed);

  auto ax = ParseArxivAtom(
      "<feed><title>ArXiv Query</title><entry><title type=\"text\">A &lt;b&gt; &#233;t&#xE9;</title>"
      "<summary>x &amp;&amp; y &bogus; &#0; &#xD800;</summary></entry></feed>");
  REQUIRE_MESSAGE(ax.ok(), ax.status().message());
  CHECK(ax->title == "A <b> \xC3\xA9t\xC3\xA9");
  CHECK(ax->abstract == "x && y &bogus; &#0; &#xD800;");
  CHECK(ParseArxivAtom("<feed><title>ArXiv Query</title></feed>").status().code() == Code::kNotFound);
  CHECK(ParseArxivAtom("not xml").status().code() == Code::kFailed);
  CHECK(ParseArxivAtom("<feed><entry><title>t</title>").status().code() == Code::kFailed);
}

TEST_CASE("note text helpers") {
  CHECK(OneLine("  a\r\n\tb   c \n") == "a b c");
  CHECK(ToValidUtf8("ok \xC3\xA9 \xC3 \xED\xA0\x80") ==
        "ok \xC3\xA9 \xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  CHECK(Utf8Prefix("a\xC3\xA9", 2) == "a");
  CHECK(Utf8Prefix("a\xC3\xA9", 3) == "a\xC3\xA9");
  CHECK(Utf8Prefix("abc", 10) == "abc");
}

TEST_CASE("researcher: the digits-researcher example plan loads, and its prompt quotes its notes and train.py") {
  // The shipped example, found from this file's path (tests/unit/autolab/ -> the repository root).
  const std::string root = std::filesystem::path(__FILE__).parent_path().parent_path().parent_path().parent_path();
  auto plan = LoadPlan(root + "/configs/autolab/examples/digits-researcher.yaml");
  REQUIRE_MESSAGE(plan.ok(), plan.status().message());
  REQUIRE(plan->researcher);
  CHECK(plan->researcher->notes == std::vector<std::string>{"digits/notes.md"});
  Fixture f;
  f.llm->script.push_back(Answer(
      R"({"hypotheses":[{"id":"wide-128","rationale":"width 128 helped at lr 0.003 [digits/notes.md]","overrides":{"width":128}}]})"));
  auto researcher = f.Make(*plan);
  ResearchContext ctx;
  ctx.plan = &*plan;
  ctx.tried_ids = {"baseline", "lr-3x"};
  auto got = researcher->Propose(ctx);
  REQUIRE_MESSAGE(got.ok(), got.status().message());
  REQUIRE(got->size() == 1);
  CHECK((*got)[0].overrides.at("width") == 128);
  const std::string p = f.Prompt();
  CHECK(p.find("### [digits/notes.md]\n# Notes for the digits researcher") != std::string::npos);
  CHECK(p.find("### [working file train.py]\n#!/usr/bin/python3") != std::string::npos);
  CHECK(p.find("Lower the held-out log-loss (val_loss) of the digits classifier") != std::string::npos);
  CHECK(p.find("- model = \"mlp\" (string)") != std::string::npos);
  CHECK(f.papers->requests.empty());  // no paper entries: no network
}

TEST_CASE("researcher over real HTTP: a local server speaking the Hub's paper API and OpenAI's streamed chat") {
  // The real transports (libcurl, the LLM client's own): only the server is local. It answers the
  // paper request first (papers are fetched before the first prompt), then the chat completion.
  dsx::testing::FakeServer server;
  server.Push(dsx::testing::StatusReply(
      200, "OK",
      R"({"id":"1412.6980","title":"Adam: A Method for Stochastic Optimization","summary":"We introduce Adam."})"));
  json delta = {
      {"choices", json::array({{{"delta", {{"content", R"({"hypotheses":[{"id":"h-local","rationale":"from )"}}}}})}};
  json delta2 = {
      {"choices",
       json::array({{{"delta", {{"content", R"(the paper [hf-paper:1412.6980]","overrides":{"lr":0.003}}]})"}}},
                     {"finish_reason", "stop"}}})}};
  server.Push(dsx::testing::SseReply(
      {"data: " + delta.dump() + "\n\n", "data: " + delta2.dump() + "\n\n", "data: [DONE]\n\n"}));

  TempDir dir;
  EnvGuard env;
  LlmResearcherOptions o;
  o.base_url = server.url();
  PaperOptions p;
  p.hf_endpoint = server.url();
  o.papers = p;
  std::vector<std::string> log;
  o.log = [&](const std::string& line) { log.push_back(line); };
  auto made = MakeLlmResearcher(EvolvePlan(dir.path, {"hf-paper:1412.6980"}), o);
  REQUIRE_MESSAGE(made.ok(), made.status().message());
  ResearchContext ctx;
  auto got = (*made)->Propose(ctx);
  REQUIRE_MESSAGE(got.ok(), got.status().message());
  REQUIRE(got->size() == 1);
  CHECK((*got)[0].id == "h-local");
  CHECK((*got)[0].rationale == "from the paper [hf-paper:1412.6980]");
  auto requests = server.requests();
  REQUIRE(requests.size() == 2);
  CHECK(requests[0].method == "GET");
  CHECK(requests[0].path == "/api/papers/1412.6980");
  CHECK(requests[0].headers.find(kKey) == std::string::npos);  // the LLM key goes to the LLM only
  CHECK(requests[1].method == "POST");
  CHECK(requests[1].path == "/v1/chat/completions");
  CHECK(requests[1].body.find("Title: Adam: A Method for Stochastic Optimization") != std::string::npos);
  CHECK(log.empty());
}

TEST_CASE("researcher over real HTTP: nothing listening means a skipped paper and an unavailable model") {
  // Port 1 on the loopback: connection refused at once.
  TempDir dir;
  EnvGuard env;
  LlmResearcherOptions o;
  o.base_url = "http://127.0.0.1:1";
  std::vector<double> waits;
  o.chat_sleep = [&](double s) { waits.push_back(s); };
  PaperOptions p;
  p.hf_endpoint = "http://127.0.0.1:1";
  p.arxiv_endpoint = "http://127.0.0.1:1";
  o.papers = p;
  std::vector<std::string> log;
  o.log = [&](const std::string& line) { log.push_back(line); };
  auto made = MakeLlmResearcher(EvolvePlan(dir.path, {"arxiv:1412.6980"}), o);
  REQUIRE(made.ok());
  ResearchContext ctx;
  auto got = (*made)->Propose(ctx);
  REQUIRE_FALSE(got.ok());
  CHECK(got.status().code() == Code::kUnavailable);
  CHECK(waits.size() == 4);  // the client's 5 attempts, waits recorded instead of slept
  REQUIRE_FALSE(log.empty());
  CHECK(log[0].find("researcher: note arxiv:1412.6980 skipped: http://127.0.0.1:1/api/query?id_list=1412.6980") !=
        std::string::npos);
}

TEST_CASE("researcher: many long notes stay within the prompt's bound; those past it are named") {
  Fixture f;
  std::vector<std::string> names;
  for (int i = 1; i <= 8; ++i) {
    names.push_back(std::string("n").append(std::to_string(i)).append(".md"));  // (GCC 12 -Wrestrict on "n" + ...)
    f.dir.Write(names.back(), std::string(30000, static_cast<char>('a' + i)));  // each cut to 20000 bytes
  }
  f.llm->script.push_back(Answer(R"({"hypotheses":[]})"));
  auto researcher = f.Make(EvolvePlan(f.dir.path, names));
  ResearchContext ctx;
  REQUIRE(researcher->Propose(ctx).ok());
  const std::string p = f.Prompt();
  CHECK(p.find("### [n6.md]\n" + std::string(20000, 'g') + "\n[... cut: the first 20000 of 30000+ bytes are shown]") !=
        std::string::npos);
  CHECK(p.find("### [n7.md] (left out: the prompt already holds 120000 bytes of notes)") != std::string::npos);
  CHECK(p.find("### [n8.md] (left out:") != std::string::npos);
  CHECK(p.find(std::string(100, 'h')) == std::string::npos);
}

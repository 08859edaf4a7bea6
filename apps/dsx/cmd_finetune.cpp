// dsx finetune: submit "<instruction>" -> a validated, costed fine-tuning job (lib/finetune/submit.hpp
// does the work; --dry-run prints it and sends nothing); status|logs|cancel|list are the jobs service
// filtered to fine-tunes. This file parses flags, asks for confirmation and prints. Output shapes and
// exit codes: man dsx-finetune.
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli.hpp"
#include "commands.hpp"
#include "finetune/submit.hpp"
#include "job_views.hpp"
#include "jobs/hf/hf_token.hpp"
#include "jobs/service/job_format.hpp"
#include "jobs/service/job_service.hpp"
#include "llm/chat.hpp"
#include "net/curl_transport.hpp"

namespace dsx::cmd {
namespace {

using nlohmann::json;
namespace ft = dsx::finetune;
namespace jb = dsx::jobs;

using job_views::AddCommon;
using job_views::Common;
using job_views::Options;

// ---------------------------------------------------------------- submit

struct SubmitFlags {
  Common c;
  cli::ServerFlags net;
  std::string instruction;
  std::string backend = "hf";
  std::vector<std::string> sets;
  std::optional<double> max_cost;
  std::string llm;
  std::string llm_model;
  std::string name;
  std::string trackio_space;
  bool dry_run = false;
  bool yes = false;
  bool offline = false;
};

std::string ValueText(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

// The plan for people: the spec with where each value came from, the hardware, time and cost.
void PrintPlan(const ft::Prepared& p, const std::string& script_path) {
  std::printf("spec:\n");
  const json spec = ft::ToJson(p.spec);  // named: a temporary would die before the loop (pre-C++23)
  for (const auto& [key, f] : spec.items())
    std::printf("  %-22s %-40s (%s)\n", key.c_str(), ValueText(f["value"]).c_str(),
                f["source"].get<std::string>().c_str());
  const ft::Plan& pl = p.plan;
  std::printf("plan:\n");
  std::printf("  %-22s %s\n", "backend", p.backend.c_str());
  if (!pl.flavor.empty()) std::printf("  %-22s %s\n", "flavor", pl.flavor.c_str());
  if (!pl.gpu.empty()) std::printf("  %-22s %d x %s\n", "gpus", std::max(1, pl.gpus), pl.gpu.c_str());
  std::printf("  %-22s %.1f GB per GPU (weights %.1f, grads %.1f, optimizer %.1f, activations %.1f)\n", "memory",
              pl.memory.total_gb, pl.memory.weights_gb, pl.memory.grads_gb, pl.memory.optimizer_gb,
              pl.memory.activations_gb);
  std::printf("  %-22s %lld steps, %lld tokens\n", "work", static_cast<long long>(pl.steps),
              static_cast<long long>(pl.total_tokens));
  std::printf("  %-22s ~%.2f h (timeout %.2f h)\n", "time", pl.hours, p.request.timeout_s / 3600.0);
  std::printf("  %-22s ~$%.2f\n", "cost", pl.cost_usd);
  for (const auto& n : pl.notes) std::printf("  note: %s\n", n.c_str());
  for (const auto& n : p.notes) std::printf("  parser: %s\n", n.c_str());
  std::printf("script: %s\n", script_path.c_str());
}

// Asks on the terminal; false when the answer is not yes.
bool Confirm(const ft::Prepared& p) {
  std::fprintf(stderr, "dsx: submit %s to %s%s%s for ~$%.2f (~%.2f h)? [y/N] ", p.request.name.c_str(),
               p.backend.c_str(), p.plan.flavor.empty() ? "" : " on ", p.plan.flavor.c_str(), p.plan.cost_usd,
               p.plan.hours);
  std::fflush(stderr);
  std::string answer;
  if (!std::getline(std::cin, answer)) return false;
  return answer == "y" || answer == "Y" || answer == "yes" || answer == "YES" || answer == "Yes";
}

void RunSubmit(const SubmitFlags& f) {
  jb::ServiceOptions o = Options(f.c);
  o.server = f.net.server;
  o.token = f.net.token;
  auto svc = jb::JobService::Open(o);
  if (!svc.ok()) return cli::Finish(svc.status());

  ft::SubmitInputs in;
  in.instruction = f.instruction;
  in.sets = f.sets;
  in.backend = f.backend;
  in.max_cost_usd = f.max_cost;
  in.request.name = f.name;
  in.request.trackio_space = f.trackio_space;
  in.render = [&](const jb::JobRequest& r) { return (*svc)->Render(r); };
  in.local_gpus = ft::DetectLocalGpus;
  in.transport = [] { return std::make_unique<net::CurlTransport>(); };
  in.offline = f.offline;
  std::unique_ptr<llm::ChatClient> chat;
  if (!f.llm.empty()) {
    auto provider = llm::ParseProvider(f.llm);
    if (!provider.ok())
      return cli::Finish(Status::Usage("unknown --llm provider '" + f.llm + "': use openai or anthropic"));
    auto config = llm::ConfigFromEnv(*provider, f.llm_model, "");
    if (!config.ok()) return cli::Finish(config.status());
    auto client = llm::MakeClient(std::move(*config));
    if (!client.ok()) return cli::Finish(client.status());
    chat = std::move(*client);
    in.llm_chat = ft::ChatFnFor(*chat);
  }
  auto prepared = ft::Prepare(in);
  if (!prepared.ok()) return cli::Finish(prepared.status());
  const ft::Prepared& p = *prepared;

  if (f.dry_run) {
    auto path = ft::SaveScript(p, ft::DefaultScriptDir());
    if (!path.ok()) return cli::Finish(path.status());
    if (f.c.json) {
      cli::PrintJson(ft::ToJson(p, *path, nullptr));
      return cli::Finish(Status::Ok());
    }
    PrintPlan(p, *path);
    std::printf("request (%s, not sent: --dry-run):\n%s", p.backend.c_str(), p.rendered.c_str());
    if (!p.rendered.empty() && p.rendered.back() != '\n') std::fputc('\n', stdout);
    return cli::Finish(Status::Ok());
  }

  // A push that cannot authenticate would fail after the whole training: refuse now. (HF Jobs
  // submissions need the token anyway and the hf backend says so.)
  if (p.spec.output_repo.has() && p.backend != "hf" && !jb::hf::LoadHfToken().ok()) {
    return cli::Finish(Status::Usage("pushing to " + *p.spec.output_repo.value +
                                     " needs a Hugging Face token: export HF_TOKEN or run `hf auth login` (or drop "
                                     "the output repository)"));
  }
  if (p.plan.cost_usd > 0 && !f.yes) {
    if (::isatty(STDIN_FILENO) != 1 || !cli::StderrIsTty()) {
      char cost[32];
      std::snprintf(cost, sizeof cost, "%.2f", p.plan.cost_usd);
      return cli::Finish(Status::Usage(std::string("this run costs ~$") + cost +
                                       " and there is no terminal to confirm it: add --yes (see the plan first "
                                       "with --dry-run)"));
    }
    if (!f.c.json) PrintPlan(p, "(written into the job's folder on submit)");
    if (!Confirm(p)) return cli::Finish(Status::Conflict("not submitted: not confirmed"));
  }
  auto rec = (*svc)->Submit(p.request);
  if (!rec.ok()) return cli::Finish(rec.status());
  const std::string script_path = (*svc)->options().registry_root + "/" + rec->id + "/train.py";
  if (f.c.json) {
    cli::PrintJson(ft::ToJson(p, script_path, jb::ToJson(*rec)));
    return cli::Finish(Status::Ok());
  }
  std::printf("%s\n", rec->id.c_str());
  if (cli::Quiet()) return cli::Finish(Status::Ok());  // the id on stdout is the result; the rest are notices
  std::fprintf(stderr, "dsx: submitted fine-tune %s (%s) to %s%s%s: ~%.2f h, ~$%.2f\n", rec->id.c_str(),
               p.request.name.c_str(), p.backend.c_str(), rec->url.empty() ? "" : ": ", rec->url.c_str(), p.plan.hours,
               p.plan.cost_usd);
  std::fprintf(stderr, "dsx: script %s\n", script_path.c_str());
  if (!rec->session.empty()) std::fprintf(stderr, "dsx: follow it with: dsx session tail %s\n", rec->session.c_str());
  std::fprintf(stderr, "dsx: logs: dsx finetune logs -f %s\n", rec->id.c_str());
  cli::Finish(Status::Ok());
}

}  // namespace

void register_finetune(CLI::App& app) {
  auto* ft = app.add_subcommand("finetune", "fine-tune a model from a plain-language request, costed before it runs");
  ft->require_subcommand(1);
  {
    auto f = std::make_shared<SubmitFlags>();
    auto* cmd = ft->add_subcommand("submit", "understand, plan, cost and submit a fine-tune (--dry-run: show only)");
    cmd->add_option("instruction", f->instruction,
                    "what to do, in words: \"fine-tune Qwen2.5-0.5B-Instruct on trl-lib/Capybara with LoRA for 2 "
                    "epochs, push to my-org/qwen-capy\"")
        ->required();
    cmd->add_option("--backend", f->backend, "hf (Hugging Face Jobs, default), slurm or local");
    cmd->add_flag("--dry-run", f->dry_run, "print the plan, script path and exact request; submit nothing");
    cmd->add_flag("-y,--yes", f->yes, "submit without asking, whatever the cost");
    cmd->add_flag("--offline", f->offline,
                  "ask the Hub nothing (as HF_HUB_OFFLINE=1): no model or dataset lookups, sizes assumed");
    cmd->add_option("--set", f->sets, "KEY=VALUE overriding a spec field (repeatable): --set lora_rank=32");
    cmd->add_option("--max-cost", f->max_cost, "refuse a plan that costs more than USD dollars");
    cmd->add_option("--llm", f->llm,
                    "openai or anthropic: ask it about words the parser did not understand (key from "
                    "OPENAI_API_KEY / ANTHROPIC_API_KEY)");
    cmd->add_option("--llm-model", f->llm_model, "the --llm provider's model (default: the provider's)");
    cmd->add_option("--name", f->name, "the job's label (default METHOD-MODEL-DATASET)");
    cmd->add_option("--trackio-space", f->trackio_space, "TRACKIO_SPACE_ID for runs that report to trackio");
    AddCommon(cmd, f->c);
    cli::AddServerFlags(cmd, f->net);
    cmd->get_option("--server")->description("publish the job into session jobs/<id> on this server (default: none)");
    cmd->footer(
        "Defaults (method sft, adapter lora r=16, 1 epoch, lr by method, batch 4 x 4, ...) and phrasings:\n"
        "man dsx-finetune. Every spec field shows its source: said, default, inferred or llm.");
    cmd->callback([f] { RunSubmit(*f); });
  }
  job_views::Register(ft, {"finetune", "finetune", "fine-tune"});
}

}  // namespace dsx::cmd

// The planner's arithmetic: memory per GPU by method and adapter, the cheapest hardware that fits,
// hours and dollars. Every constant here is explained, with sources, in docs/finetune-memory.md;
// the tests (tests/unit/finetune/plan_test.cpp) redo the arithmetic by hand and check the model
// against the published reference points listed there.
#include "finetune/plan.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace dsx::finetune {
namespace {

constexpr double kGB = 1e9;

// Bytes per parameter (docs/finetune-memory.md, "States").
constexpr double kBf16 = 2;            // a bf16 weight or gradient
constexpr double kFullOptimizer = 12;  // fp32 master weight 4 + AdamW m 4 + v 4
constexpr double kAdapterWeight = 4;   // PEFT keeps adapter weights in fp32 (autocast_adapter_dtype)
constexpr double kAdapterGrad = 4;
constexpr double kAdapterOptimizer = 8;  // AdamW m, v in fp32
constexpr double kNf4 = 0.55;            // NF4 4 bits + double-quantized constants, rounded up (QLoRA paper)

// Activations (docs/finetune-memory.md, "Activations").
constexpr double kLayerActivationBytes = 34;  // per token per hidden unit of one layer (Korthikanti et al.)
constexpr double kCheckpointBytes = 2;        // one bf16 hidden state per layer and token
constexpr double kLogitBytes = 10;            // bf16 logits kept + fp32 upcast + fp32 log-probs for the loss

// Overhead: CUDA context and allocator fragmentation.
constexpr double kOverheadFixedGb = 1.5;
constexpr double kOverheadShare = 0.10;

// Time (docs/finetune-memory.md, "Time and cost").
constexpr double kQloraSpeed = 0.7;      // dequantizing NF4 weights in every matmul
constexpr double kMultiGpuSpeed = 0.9;   // data-parallel / FSDP communication
constexpr double kGrpoTimeFactor = 3.0;  // sampling completions (generation) on top of the training step
constexpr double kSetupMinutes = 3;      // image pull, `uv` resolving TRL and its dependencies
constexpr double kDownloadGbPerS = 0.5;  // model download from the Hub

template <typename T>
T Or(const Field<T>& f, T fallback) {
  return f.has() ? *f.value : fallback;
}

bool IsPair(const std::string& method) { return method == "dpo" || method == "kto" || method == "reward"; }

std::string ShortName(const std::string& id) {
  auto slash = id.find('/');
  return slash == std::string::npos ? id : id.substr(slash + 1);
}

std::string Gb(double gb) {
  char buf[64];
  if (gb >= 1000) {
    std::snprintf(buf, sizeof buf, "~%.1f TB", gb / 1000);
  } else if (gb >= 10) {
    std::snprintf(buf, sizeof buf, "~%.0f GB", gb);
  } else {
    std::snprintf(buf, sizeof buf, "~%.1f GB", gb);
  }
  return buf;
}

std::string Num(double v, const char* fmt = "%g") {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

// "$20" for whole dollars, "$20.50" otherwise.
std::string Usd(double v) {
  if (std::fabs(v - std::round(v)) < 1e-9) return "$" + Num(v, "%.0f");
  return "$" + Num(v, "%.2f");
}

std::string AdapterWord(const std::string& adapter) {
  if (adapter == "full") return "full fine-tune";
  if (adapter == "qlora") return "QLoRA";
  return "LoRA";
}

struct Hardware {
  std::string flavor;  // "" on slurm/local
  std::string gpu;
  int gpus = 1;
  double gpu_mem_gb = 0;  // 0 = unknown (local): no fit check
  double tflops = 0;
  bool bf16 = true;
  double usd_per_hour = 0;
};

struct Timing {
  double hours = 0;
  double cost_usd = 0;
  std::int64_t tokens = 0;
  std::int64_t steps = 0;
  std::vector<std::string> notes;
};

// Tokens, steps, hours and cost on `hw`.
Timing TimeOn(const ModelInfo& model, const Spec& spec, const PlanInputs& in, const Hardware& hw) {
  Timing t;
  const std::string method = Or(spec.method, std::string("sft"));
  const std::string adapter = Or(spec.adapter, std::string("lora"));
  const int seq = Or(spec.seq_len, IsPair(method) ? kPlanDefaultPreferenceSeqLen : kPlanDefaultSeqLen);
  const int batch = Or(spec.batch_size, kPlanDefaultBatch);
  const int accum = Or(spec.grad_accum, kPlanDefaultGradAccum);
  const std::int64_t rows_per_step = std::int64_t(batch) * accum * hw.gpus;

  double avg = in.avg_tokens_per_row > 0 ? in.avg_tokens_per_row : kPlanDefaultTokensPerRow;
  std::int64_t rows = in.dataset_rows > 0 ? in.dataset_rows : kPlanDefaultRows;
  if (in.dataset_rows <= 0 && in.avg_tokens_per_row <= 0) {
    t.notes.push_back("dataset size unknown: assumed 10000 rows x 512 tokens per row");
  } else if (in.dataset_rows <= 0) {
    t.notes.push_back("dataset rows unknown: assumed 10000");
  } else if (in.avg_tokens_per_row <= 0) {
    t.notes.push_back("tokens per row unknown: assumed 512");
  }
  if (spec.max_samples.has() && *spec.max_samples.value > 0 && *spec.max_samples.value < rows)
    rows = *spec.max_samples.value;
  if (avg > seq) avg = seq;  // rows are truncated at max_length

  if (spec.max_steps.has() && *spec.max_steps.value > 0) {
    t.steps = *spec.max_steps.value;
    t.tokens = static_cast<std::int64_t>(std::llround(double(t.steps) * rows_per_step * avg));
  } else {
    double epochs = Or(spec.epochs, kPlanDefaultEpochs);
    double samples = double(rows) * epochs;
    t.steps = static_cast<std::int64_t>(std::ceil(samples / double(rows_per_step)));
    t.tokens = static_cast<std::int64_t>(std::llround(samples * avg));
  }
  // A preference row is a chosen and a rejected sequence: two forward/backward passes.
  double processed = double(t.tokens) * (IsPair(method) ? 2 : 1);

  const double n = model.params_b * 1e9;
  double flops_per_token = adapter == "full" ? 6 * n : 4 * n;        // fwd 2N + bwd 4N; LoRA skips weight grads (2N)
  if (method == "dpo" || method == "kto") flops_per_token += 2 * n;  // reference model forward
  double speed = kPlanMfu * (adapter == "qlora" ? kQloraSpeed : 1.0) * (hw.gpus > 1 ? kMultiGpuSpeed : 1.0);
  double train_s = processed * flops_per_token / (hw.gpus * hw.tflops * 1e12 * speed);
  if (method == "grpo") {
    train_s *= kGrpoTimeFactor;
    t.notes.push_back("grpo: time x3 for generating completions (rough; generation usually dominates)");
  }
  double setup_s = kSetupMinutes * 60 + model.params_b * kBf16 / kDownloadGbPerS;
  t.hours = (train_s + setup_s) / 3600;
  // HF Jobs bills per minute while the job runs (hub-docs jobs-pricing.md).
  double minutes = std::ceil(t.hours * 60 - 1e-9);
  t.cost_usd = std::round(minutes / 60 * hw.usd_per_hour * 100) / 100;
  return t;
}

struct Candidate {
  Hardware hw;
  MemoryEstimate mem;
  Timing time;
  bool fits = false;
  std::string why_not;  // when !fits
};

Candidate Evaluate(const ModelInfo& model, const Spec& spec, const PlanInputs& in, const Hardware& hw) {
  Candidate c;
  c.hw = hw;
  const std::string adapter = Or(spec.adapter, std::string("lora"));
  c.mem = EstimateMemory(model, spec, hw.gpus);
  c.time = TimeOn(model, spec, in, hw);
  double usable = hw.gpu_mem_gb * kPlanFitShare;
  if (!hw.bf16 && adapter == "full") {
    c.why_not = "no bf16 on " + hw.gpu + " (full fine-tuning in fp16 diverges on bf16 checkpoints)";
  } else if (hw.gpu_mem_gb > 0 && c.mem.total_gb > usable) {
    c.why_not = "needs " + Gb(c.mem.total_gb) + " per GPU > " + Gb(usable) + " usable of " + Num(hw.gpu_mem_gb) + " GB";
  } else {
    c.fits = true;
  }
  return c;
}

std::string Describe(const Hardware& hw) {
  std::string what = std::to_string(hw.gpus) + "x " + hw.gpu + " " + Num(hw.gpu_mem_gb) + " GB";
  return hw.flavor.empty() ? what : hw.flavor + " (" + what + ")";
}

// What to try when nothing fits, by what dominates.
std::string Suggestion(const ModelInfo& model, const Spec& spec, const Hardware& largest) {
  const std::string adapter = Or(spec.adapter, std::string("lora"));
  auto fits_with = [&](const char* a) {
    Spec s = spec;
    s.adapter.Set(a, Source::kInferred);
    return EstimateMemory(model, s, largest.gpus).total_gb <= largest.gpu_mem_gb * kPlanFitShare;
  };
  MemoryEstimate m = EstimateMemory(model, spec, largest.gpus);
  bool activations_dominate = m.activations_gb > m.weights_gb + m.grads_gb + m.optimizer_gb;
  if (activations_dominate)
    return "use a shorter seq_len or a smaller batch_size (activations need " + Gb(m.activations_gb) + ")";
  if (adapter == "full")
    return fits_with("lora") ? "use lora" : fits_with("qlora") ? "use qlora" : "use a smaller model";
  if (adapter == "lora") return fits_with("qlora") ? "use qlora" : "use a smaller model";
  return "use a smaller model, a shorter seq_len or a smaller batch_size";
}

Result<Plan> Finish(const Candidate& c, const std::string& backend, const Spec& spec, std::vector<std::string> notes) {
  Plan p;
  p.memory = c.mem;
  p.backend = backend;
  p.flavor = c.hw.flavor;
  p.gpu = c.hw.gpu;
  p.gpus = c.hw.gpus;
  p.hours = c.time.hours;
  p.cost_usd = c.time.cost_usd;
  p.total_tokens = c.time.tokens;
  p.steps = c.time.steps;
  p.notes = c.time.notes;
  p.notes.insert(p.notes.end(), notes.begin(), notes.end());
  if (!c.hw.bf16) p.notes.push_back(c.hw.gpu + " has no bf16: the script trains in fp16 mixed precision");
  if (spec.max_cost_usd.has() && p.cost_usd > *spec.max_cost_usd.value)
    return Status::Conflict("costs ~" + Num(p.cost_usd, "$%.2f") + " > --max-cost " + Usd(*spec.max_cost_usd.value) +
                            " (" + Describe(c.hw) + ", " + Num(p.hours, "%.1f") +
                            " h): lower epochs or max_steps, use fewer samples, or use qlora/lora");
  return p;
}

Result<Plan> PlanHf(const ModelInfo& model, const Spec& spec, const Catalog& catalog, const PlanInputs& in) {
  const std::string adapter = Or(spec.adapter, std::string("lora"));
  std::vector<Hardware> pool;
  std::vector<std::string> classes;
  for (const auto& f : catalog.flavors()) {
    if (f.gpus > 0 && std::find(classes.begin(), classes.end(), f.gpu) == classes.end()) classes.push_back(f.gpu);
  }
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
  };
  std::string filter_note;
  if (spec.flavor.has()) {
    const Flavor* f = catalog.FindFlavor(*spec.flavor.value);
    if (!f)
      return Status::Usage("unknown flavor '" + *spec.flavor.value + "' (configs/flavors.toml has the HF Jobs list)");
    if (f->gpus == 0) return Status::Conflict("flavor '" + f->name + "' has no GPU: fine-tuning needs one");
  }
  std::string want_gpu = spec.gpu.has() ? *spec.gpu.value : "";
  for (char& ch : want_gpu) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (!want_gpu.empty() && std::find(classes.begin(), classes.end(), want_gpu) == classes.end())
    return Status::Usage("no HF Jobs flavor has a '" + want_gpu + "' GPU; GPU classes: " + join(classes));
  for (const auto& f : catalog.flavors()) {
    if (f.gpus == 0) continue;
    if (spec.flavor.has() && catalog.FindFlavor(*spec.flavor.value) != &f) continue;
    if (!want_gpu.empty() && f.gpu != want_gpu) continue;
    pool.push_back({f.name, f.gpu, f.gpus, f.gpu_mem_gb, f.bf16_tflops_per_gpu, f.bf16, f.usd_per_hour});
  }

  if (pool.empty())  // both a flavor and a GPU class were said, and they disagree
    return Status::Conflict("flavor '" + *spec.flavor.value + "' has " + catalog.FindFlavor(*spec.flavor.value)->gpu +
                            " GPUs, not " + want_gpu + ": name one or the other");
  std::vector<Candidate> all;
  for (const auto& hw : pool) all.push_back(Evaluate(model, spec, in, hw));
  const Candidate* best = nullptr;
  for (const auto& c : all) {
    if (!c.fits) continue;
    // Cheapest total cost; on a tie fewer GPUs (simpler, no sharding), then the faster run.
    if (!best || c.time.cost_usd < best->time.cost_usd - 1e-9 ||
        (std::fabs(c.time.cost_usd - best->time.cost_usd) < 1e-9 &&
         (c.hw.gpus < best->hw.gpus || (c.hw.gpus == best->hw.gpus && c.time.hours < best->time.hours))))
      best = &c;
  }
  if (!best) {
    const Candidate* largest = &all.front();
    for (const auto& c : all)
      if (c.hw.gpus * c.hw.gpu_mem_gb > largest->hw.gpus * largest->hw.gpu_mem_gb) largest = &c;
    std::string who = ShortName(model.id) + " " + AdapterWord(adapter);
    if (spec.flavor.has() || !want_gpu.empty()) {
      std::string named = spec.flavor.has() ? "flavor " + *spec.flavor.value : "GPU " + want_gpu;
      return Status::Conflict(who + " does not fit the " + named + ": " + largest->why_not + "; " +
                              Suggestion(model, spec, largest->hw) + ", or name no hardware and let dsx choose");
    }
    double need = EstimateMemory(model, spec, 1).total_gb;
    return Status::Conflict(who + " needs " + Gb(need) + "; the largest flavor has " +
                            std::to_string(largest->hw.gpus) + "x" + Num(largest->hw.gpu_mem_gb) +
                            " GB: " + Suggestion(model, spec, largest->hw));
  }
  std::vector<std::string> notes;
  notes.push_back("chose " + best->hw.flavor + ": cheapest that fits (" + Gb(best->mem.total_gb) + " of " +
                  Num(best->hw.gpu_mem_gb) + " GB per GPU, " + Num(best->time.hours, "%.2f") + " h at " +
                  Usd(best->hw.usd_per_hour) + "/h)");
  int shown = 0;
  for (const auto& c : all) {
    if (&c == best || c.time.cost_usd > best->time.cost_usd) continue;
    if (shown++ == 4) break;
    notes.push_back("rejected " + c.hw.flavor + ": " + (c.fits ? "same cost, more GPUs or slower" : c.why_not));
  }
  if (adapter == "full" && best->hw.gpus > 1)
    notes.push_back("full fine-tune sharded over " + std::to_string(best->hw.gpus) + " GPUs (FSDP)");
  return Finish(*best, "hf", spec, notes);
}

Result<Plan> PlanSlurm(const ModelInfo& model, const Spec& spec, const Catalog& catalog, const PlanInputs& in) {
  std::string type = spec.gpu.has() ? *spec.gpu.value : catalog.slurm().default_gpu;
  if (type.empty()) return Status::Usage("no GPU type for Slurm: say one (\"on an a100\") or set [slurm] default_gpu");
  const SlurmGpu* g = catalog.FindSlurmGpu(type);
  if (!g) {
    std::string known;
    for (const auto& x : catalog.slurm().gpus) known += (known.empty() ? "" : ", ") + x.type;
    return Status::Usage("unknown Slurm GPU type '" + type + "' (configs/flavors.toml [[slurm.gpu]]: " + known + ")");
  }
  std::vector<std::string> notes;
  if (spec.flavor.has()) notes.push_back("flavor '" + *spec.flavor.value + "' is an HF Jobs name: ignored on slurm");
  Candidate last;
  for (int n = 1; n <= catalog.slurm().max_gpus_per_node; n *= 2) {
    Hardware hw{"", g->type, n, g->gpu_mem_gb, g->bf16_tflops_per_gpu, g->bf16, 0};
    last = Evaluate(model, spec, in, hw);
    if (last.fits) {
      notes.push_back("slurm: " + std::to_string(n) + "x " + g->type + " (" + Gb(last.mem.total_gb) +
                      " per GPU); cost not charged by dsx");
      return Finish(last, "slurm", spec, notes);
    }
  }
  std::string adapter = Or(spec.adapter, std::string("lora"));
  return Status::Conflict(ShortName(model.id) + " " + AdapterWord(adapter) + " does not fit one node of " +
                          std::to_string(last.hw.gpus) + "x " + g->type + ": " + last.why_not + "; " +
                          Suggestion(model, spec, last.hw));
}

Result<Plan> PlanLocal(const ModelInfo& model, const Spec& spec, const Catalog& catalog, const PlanInputs& in) {
  std::vector<std::string> notes;
  Hardware hw{"", "local", std::max(1, in.local_gpus), in.local_gpu_mem_gb, 0, true, 0};
  // Time needs a speed: the named GPU's, else the Slurm default's, as a stand-in.
  std::string type = spec.gpu.has() ? *spec.gpu.value : catalog.slurm().default_gpu;
  const SlurmGpu* g = catalog.FindSlurmGpu(type);
  hw.tflops = g ? g->bf16_tflops_per_gpu : 100;
  if (g) {
    hw.gpu = g->type;
    hw.bf16 = g->bf16;
  }
  notes.push_back("local: time assumes " + (g ? g->type : std::string("a 100-TFLOPS GPU")) + " speed");
  if (in.local_gpu_mem_gb <= 0) notes.push_back("local GPU memory unknown: not checked against the estimate");
  Candidate c = Evaluate(model, spec, in, hw);
  if (!c.fits)
    return Status::Conflict(ShortName(model.id) + " " + AdapterWord(Or(spec.adapter, std::string("lora"))) +
                            " does not fit this machine: " + c.why_not + "; " + Suggestion(model, spec, hw));
  return Finish(c, "local", spec, notes);
}

}  // namespace

std::int64_t LoraParams(const ModelInfo& m, int rank) {
  // A rank-r adapter on a (in x out) linear adds r x (in + out) parameters.
  const std::int64_t h = m.hidden, q = std::int64_t(m.heads) * m.head_dim, kv = std::int64_t(m.kv_heads) * m.head_dim,
                     i = m.intermediate;
  std::int64_t per_layer = (h + q) + 2 * (h + kv) + (q + h) + 3 * (h + i);  // q, k, v, o, gate, up, down
  return std::int64_t(rank) * per_layer * m.layers;
}

MemoryEstimate EstimateMemory(const ModelInfo& model, const Spec& spec, int gpus) {
  gpus = std::max(1, gpus);
  MemoryEstimate e;
  const std::string method = Or(spec.method, std::string("sft"));
  const std::string adapter = Or(spec.adapter, std::string("lora"));
  const int seq = Or(spec.seq_len, IsPair(method) ? kPlanDefaultPreferenceSeqLen : kPlanDefaultSeqLen);
  const int batch = Or(spec.batch_size, kPlanDefaultBatch);
  const bool checkpointing = Or(spec.gradient_checkpointing, true);
  const int rank = Or(spec.lora_rank, kPlanDefaultLoraRank);
  const double n = model.params_b * 1e9;
  const double embed = double(model.vocab) * model.hidden * (model.tied_embeddings ? 1 : 2);
  const bool reference = (method == "dpo" || method == "kto");

  if (adapter == "full") {
    // Mixed precision AdamW: bf16 weights and grads, fp32 master + m + v; FSDP shards all of it.
    e.trainable_params = static_cast<std::int64_t>(n);
    e.weights_gb = kBf16 * n / gpus / kGB;
    e.grads_gb = kBf16 * n / gpus / kGB;
    e.optimizer_gb = kFullOptimizer * n / gpus / kGB;
    if (reference) e.weights_gb += kBf16 * n / gpus / kGB;  // a frozen bf16 reference copy
    e.method_note = "full fine-tune, AdamW mixed precision: 16 B/param";
    if (gpus > 1) e.method_note += " sharded over " + std::to_string(gpus) + " GPUs (FSDP)";
    if (reference) e.method_note += "; + bf16 reference model (" + method + ")";
  } else {
    const double a = double(LoraParams(model, rank));
    e.trainable_params = static_cast<std::int64_t>(a);
    double frozen = adapter == "qlora" ? kNf4 * (n - embed) + kBf16 * embed : kBf16 * n;
    e.weights_gb = (frozen + kAdapterWeight * a) / kGB;
    e.grads_gb = kAdapterGrad * a / kGB;
    e.optimizer_gb = kAdapterOptimizer * a / kGB;
    char buf[160];
    std::snprintf(buf, sizeof buf, "%s r=%d on q,k,v,o,gate,up,down: %.1fM trainable params",
                  adapter == "qlora" ? "QLoRA (NF4 base)" : "LoRA (bf16 base)", rank, a / 1e6);
    e.method_note = buf;
    if (reference) e.method_note += "; reference = base with the adapter off (no extra copy)";
  }

  // Tokens in one micro-batch: preference pairs run chosen and rejected together.
  const double tokens = double(batch) * seq * (IsPair(method) ? 2 : 1);
  const double h = model.hidden;
  double act = checkpointing ? model.layers * kCheckpointBytes * tokens * h + kLayerActivationBytes * tokens * h
                             : model.layers * kLayerActivationBytes * tokens * h;
  if (method != "reward") act += kLogitBytes * tokens * model.vocab;  // a reward model has a scalar head
  if (method == "grpo")  // KV cache while sampling completions (transformers generate, bf16)
    act += 2.0 * model.layers * model.kv_heads * model.head_dim * tokens * kBf16;
  e.activations_gb = act / kGB;
  if (gpus > 1 && adapter != "full") e.method_note += "; replicated on each GPU (DDP)";

  double sum = e.weights_gb + e.grads_gb + e.optimizer_gb + e.activations_gb;
  e.overhead_gb = kOverheadFixedGb + kOverheadShare * sum;
  e.total_gb = sum + e.overhead_gb;
  return e;
}

Result<Plan> MakePlan(const Spec& spec, const Catalog& catalog, const PlanInputs& in) {
  const ModelInfo* model = nullptr;
  if (in.model_override) {
    model = &*in.model_override;
  } else {
    if (!spec.model.has()) return Status::Usage("no model to plan for: say one (e.g. \"Qwen2.5-0.5B-Instruct\")");
    model = catalog.Model(*spec.model.value);
    if (!model)
      return Status::NotFound("model '" + *spec.model.value +
                              "' is not in configs/models.toml: add it there (parameters and architecture from its "
                              "config.json), or plan with the Hub's model info");
  }
  const std::string adapter = Or(spec.adapter, std::string("lora"));
  const std::string method = Or(spec.method, std::string("sft"));
  if (method != "sft" && method != "dpo" && method != "grpo" && method != "kto" && method != "reward")
    return Status::Usage("unknown method '" + method + "' (sft, dpo, grpo, kto or reward)");
  if (adapter != "full" && adapter != "lora" && adapter != "qlora")
    return Status::Usage("unknown adapter '" + adapter + "' (full, lora or qlora)");
  std::vector<std::string> extra;
  if (spec.seq_len.has() && model->max_context > 0 && *spec.seq_len.value > model->max_context)
    extra.push_back("seq_len " + std::to_string(*spec.seq_len.value) + " is beyond " + ShortName(model->id) +
                    "'s context of " + std::to_string(model->max_context));

  Result<Plan> plan = Status::Usage("unknown backend '" + in.backend + "' (hf, slurm or local)");
  if (in.backend == "hf") plan = PlanHf(*model, spec, catalog, in);
  if (in.backend == "slurm") plan = PlanSlurm(*model, spec, catalog, in);
  if (in.backend == "local") plan = PlanLocal(*model, spec, catalog, in);
  if (plan.ok()) plan->notes.insert(plan->notes.end(), extra.begin(), extra.end());
  return plan;
}

nlohmann::json ToJson(const MemoryEstimate& m) {
  auto r = [](double v) { return std::round(v * 100) / 100; };
  return {{"weights_gb", r(m.weights_gb)},          {"grads_gb", r(m.grads_gb)},
          {"optimizer_gb", r(m.optimizer_gb)},      {"activations_gb", r(m.activations_gb)},
          {"overhead_gb", r(m.overhead_gb)},        {"total_gb", r(m.total_gb)},
          {"trainable_params", m.trainable_params}, {"method_note", m.method_note}};
}

nlohmann::json ToJson(const Plan& p) {
  return {{"backend", p.backend},
          {"flavor", p.flavor},
          {"gpu", p.gpu},
          {"gpus", p.gpus},
          {"hours", std::round(p.hours * 1000) / 1000},
          {"cost_usd", p.cost_usd},
          {"memory", ToJson(p.memory)},
          {"steps", p.steps},
          {"total_tokens", p.total_tokens},
          {"notes", p.notes}};
}

}  // namespace dsx::finetune

// The planner: from a completed Spec and the Catalog to memory per GPU, the cheapest hardware that
// fits, training time and cost — or a refusal that says why nothing fits or what it would cost.
// Every formula and constant is explained, with its sources and the published reference points it
// is checked against, in docs/finetune-memory.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.hpp"
#include "finetune/catalog.hpp"
#include "finetune/spec.hpp"

namespace dsx::finetune {

// What the planner assumes for a field the spec leaves empty: the same defaults Complete() fills
// (spec.cpp), so a partial spec (e.g. one the planner sees before Complete()) plans the same way.
inline constexpr int kPlanDefaultSeqLen = 2048;            // sft/grpo; preference methods use 1024
inline constexpr int kPlanDefaultPreferenceSeqLen = 1024;  // dpo/kto/reward (TRL's max_length)
inline constexpr int kPlanDefaultBatch = 4;                // per_device_train_batch_size
inline constexpr int kPlanDefaultGradAccum = 4;
inline constexpr int kPlanDefaultLoraRank = 16;
inline constexpr double kPlanDefaultEpochs = 1;
// Dataset size when nothing says it (no Hub answer, no max_samples): 10k rows of 512 tokens.
inline constexpr std::int64_t kPlanDefaultRows = 10000;
inline constexpr double kPlanDefaultTokensPerRow = 512;
// Model FLOPs utilisation assumed against the GPU's peak dense bf16 TFLOPS.
inline constexpr double kPlanMfu = 0.35;
// A flavor fits when the estimate is at most this share of its per-GPU memory (10% margin).
inline constexpr double kPlanFitShare = 0.90;

// Memory for one GPU, GB (10^9 bytes).
struct MemoryEstimate {
  double weights_gb = 0;      // model weights as stored (bf16, NF4, sharded when multi-GPU full)
  double grads_gb = 0;        // gradients of the trainable parameters
  double optimizer_gb = 0;    // AdamW state (+ fp32 master weights for full fine-tuning)
  double activations_gb = 0;  // saved activations for backward (by seq, batch, checkpointing)
  double overhead_gb = 0;     // CUDA context, allocator fragmentation, buffers
  double total_gb = 0;
  std::int64_t trainable_params = 0;  // all parameters (full) or the adapter's (LoRA/QLoRA)
  std::string method_note;            // "LoRA r=16 on q,k,v,o,gate,up,down: 8.8M trainable params; ..."
};

struct PlanInputs {
  std::int64_t dataset_rows = 0;  // 0 = unknown: kPlanDefaultRows (max_samples caps it)
  double avg_tokens_per_row = 0;  // 0 = unknown: kPlanDefaultTokensPerRow
  std::string backend = "hf";     // "hf" (flavors), "slurm" (catalog slurm gpus), "local"
  // For a model the catalog lacks (e.g. read from the Hub model API); used instead of a lookup.
  std::optional<ModelInfo> model_override;
  // local backend: this machine's GPUs (0 = unknown: no fit check, a note says so).
  int local_gpus = 0;
  double local_gpu_mem_gb = 0;
};

struct Plan {
  MemoryEstimate memory;  // per GPU, for the chosen hardware (full FT sharded over gpus)
  std::string backend;    // "hf" | "slurm" | "local"
  std::string flavor;     // HF flavor name; "" for slurm and local
  std::string gpu;        // GPU class ("a10g", "h200"); slurm gres type
  int gpus = 0;
  double hours = 0;
  double cost_usd = 0;             // hours x $/h (billed per second); 0 on slurm/local
  std::int64_t total_tokens = 0;   // tokens processed over the whole run
  std::int64_t steps = 0;          // optimizer steps
  std::vector<std::string> notes;  // assumptions, why this hardware, what was rejected and why
};

// Memory per GPU for training `model` as `spec` says, sharded over `gpus` GPUs (full fine-tuning
// with FSDP/ZeRO-3 divides weights, grads and optimizer state; LoRA/QLoRA replicate — DDP).
MemoryEstimate EstimateMemory(const ModelInfo& model, const Spec& spec, int gpus = 1);

// Trainable parameters of a LoRA adapter of rank r on q,k,v,o,gate,up,down of every layer.
std::int64_t LoraParams(const ModelInfo& model, int rank);

// Sizes, picks hardware, times and costs the run. Refusals:
//   kNotFound  the model is in neither the catalog nor in.model_override
//   kConflict  nothing fits ("... full fine-tune needs ~1.1 TB; the largest flavor has 8x141 GB:
//              use qlora"), the named flavor/GPU does not fit or lacks bf16, or the cost is over
//              spec.max_cost_usd ("costs ~$42.10 > --max-cost $20")
//   kUsage     a named flavor or GPU that does not exist, an unknown backend
Result<Plan> MakePlan(const Spec& spec, const Catalog& catalog, const PlanInputs& in = {});

// {"flavor", "gpu", "gpus", "hours", "cost_usd", "memory": {weights_gb, grads_gb, optimizer_gb,
// activations_gb, overhead_gb, total_gb, trainable_params, method_note}, "steps", "total_tokens",
// "backend", "notes": [...]}: the stable shape documented in man/dsx-finetune.1.
nlohmann::json ToJson(const Plan& plan);
nlohmann::json ToJson(const MemoryEstimate& memory);

}  // namespace dsx::finetune

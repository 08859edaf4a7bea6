// The planner's facts: open models (configs/models.toml: parameter counts and the architecture
// numbers the memory model needs, with lower-case aliases) and hardware (configs/flavors.toml: the
// Hugging Face Jobs flavors with $/hour, GPU memory and peak bf16 TFLOPS, plus the per-GPU-type
// defaults used to plan Slurm jobs). Data, not code: adding a model or a flavor is a TOML edit.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.hpp"

namespace dsx::finetune {

struct ModelInfo {
  std::string id;                    // Hub id, "Qwen/Qwen2.5-0.5B-Instruct"
  std::vector<std::string> aliases;  // lower-case: "qwen2.5-0.5b-instruct", "qwen 2.5 0.5b instruct"
  double params_b = 0;               // total parameters, billions (embeddings included)
  int layers = 0;                    // num_hidden_layers
  int hidden = 0;                    // hidden_size
  int intermediate = 0;              // MLP intermediate_size (gate/up out, down in)
  int heads = 0;                     // num_attention_heads
  int kv_heads = 0;                  // num_key_value_heads (GQA)
  int head_dim = 0;                  // per-head size; hidden / heads unless the config says otherwise
  int vocab = 0;                     // vocab_size
  int max_context = 0;               // max_position_embeddings (0 = not recorded)
  bool tied_embeddings = false;      // lm_head shares the input embedding matrix
  bool qkv_bias = false;             // q/k/v projections carry biases (Qwen2 family)
  double vision_params_b = 0;        // an image tower loaded with the model (Gemma 3 4B+), billions
  std::string family;                // "qwen2.5", "llama3.1", ...
  std::string license;               // "apache-2.0", "llama3.1", "gemma", ...
  bool gated = false;                // the Hub asks users to accept a license before download
};

// One hardware flavor of Hugging Face Jobs ("a10g-large": 1 x A10G 24 GB, $1.50/h).
struct Flavor {
  std::string name;                // the API's flavor name
  std::string gpu;                 // GPU class, lower-case ("a10g", "h200"); "" for CPU flavors
  int gpus = 0;                    // GPUs per job (0 for CPU flavors)
  double gpu_mem_gb = 0;           // memory per GPU, GB (10^9 bytes)
  double usd_per_hour = 0;         // billed per second
  double bf16_tflops_per_gpu = 0;  // peak dense half-precision tensor TFLOPS (fp16 where !bf16)
  bool bf16 = false;               // the GPU computes in bf16 (T4 does not)
  int cpus = 0;                    // vCPUs
  int ram_gb = 0;                  // host RAM
};

// Planning facts for one GPU type on a Slurm cluster (what --gres=gpu:<type>:N gets).
struct SlurmGpu {
  std::string type;  // the gres type name, lower-case ("a100", "h100")
  double gpu_mem_gb = 0;
  double bf16_tflops_per_gpu = 0;
  bool bf16 = false;
};

struct SlurmDefaults {
  std::string default_gpu;  // used when the spec names no GPU
  int max_gpus_per_node = 8;
  std::vector<SlurmGpu> gpus;
};

class Catalog {
 public:
  // Reads <configs_dir>/models.toml and <configs_dir>/flavors.toml. kNotFound when a file is
  // missing; kUsage naming file, line and column when one does not parse or a field is wrong.
  static Result<Catalog> Load(const std::string& configs_dir);
  // The same from TOML text (tests, embedded defaults); the names appear in error messages.
  static Result<Catalog> Parse(std::string_view models_toml, std::string_view flavors_toml,
                               const std::string& models_name = "models.toml",
                               const std::string& flavors_name = "flavors.toml");

  // "qwen 2.5 0.5b instruct", "Qwen/Qwen2.5-0.5B-Instruct", "qwen2.5-0.5b-instruct" -> the Hub id.
  // Matching ignores case and treats ' ', '_' and '-' alike. nullopt when nothing matches.
  std::optional<std::string> ResolveAlias(std::string_view name) const;
  // By Hub id (case-insensitive) or alias; nullptr when unknown.
  const ModelInfo* Model(std::string_view id) const;
  const std::vector<ModelInfo>& models() const { return models_; }

  const std::vector<Flavor>& flavors() const { return flavors_; }
  const Flavor* FindFlavor(std::string_view name) const;  // exact name, case-insensitive
  const SlurmDefaults& slurm() const { return slurm_; }
  const SlurmGpu* FindSlurmGpu(std::string_view type) const;

 private:
  std::vector<ModelInfo> models_;
  std::vector<Flavor> flavors_;
  SlurmDefaults slurm_;
};

// Parameters recomputed from the architecture numbers (embeddings, attention, MLP, norms, vision
// tower), billions: a cross-check of params_b that catches a mistyped config value.
double ArchitectureParamsB(const ModelInfo& model);

// Where the shipped configs are: $DSX_CONFIGS_DIR, else ./configs, else next to the executable
// (../configs, ../../configs, ../share/dsx/configs); "configs" when none exists.
std::string DefaultConfigsDir();

}  // namespace dsx::finetune

// Loads configs/models.toml and configs/flavors.toml into a Catalog. Every field is checked for
// presence and type so a bad edit fails at load with file:line and the field's name, not later as
// a nonsense plan. Alias matching folds case and drops ' ', '-' and '_' ("Qwen 2.5 0.5B" ==
// "qwen2.5-0.5b"); two models that would answer to the same folded name are a load error, so an
// alias can never be ambiguous.
#include "finetune/catalog.hpp"

#include <toml++/toml.h>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "core/fs.hpp"

namespace dsx::finetune {
namespace {

namespace stdfs = std::filesystem;

std::string Fold(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == ' ' || c == '-' || c == '_' || c == '\t') continue;
    out.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
  }
  return out;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// Reads typed fields of one TOML table, remembering the first error with its line.
class Reader {
 public:
  Reader(const toml::table& t, std::string file, std::string what)
      : t_(t), file_(std::move(file)), what_(std::move(what)) {}

  std::string Str(const char* key, bool required = true) {
    const toml::node* n = t_.get(key);
    if (!n) {
      if (required) Fail(key, "is missing", t_.source().begin.line);
      return {};
    }
    if (auto v = n->value<std::string>()) return *v;
    Fail(key, "must be a string", n->source().begin.line);
    return {};
  }
  double Num(const char* key, bool required = true, bool positive = true) {
    const toml::node* n = t_.get(key);
    if (!n) {
      if (required) Fail(key, "is missing", t_.source().begin.line);
      return 0;
    }
    std::optional<double> v = n->value<double>();  // toml++ converts integers too
    if (!v || (positive ? *v <= 0 : *v < 0)) {
      Fail(key, positive ? "must be a positive number" : "must be a number >= 0", n->source().begin.line);
      return 0;
    }
    return *v;
  }
  int Int(const char* key, bool required = true, bool positive = true) {
    const toml::node* n = t_.get(key);
    if (!n) {
      if (required) Fail(key, "is missing", t_.source().begin.line);
      return 0;
    }
    std::optional<int64_t> v = n->is_integer() ? n->value<int64_t>() : std::nullopt;
    if (!v || (positive ? *v <= 0 : *v < 0) || *v > 100000000) {
      Fail(key, positive ? "must be a positive integer" : "must be an integer >= 0", n->source().begin.line);
      return 0;
    }
    return static_cast<int>(*v);
  }
  bool Bool(const char* key, bool fallback) {
    const toml::node* n = t_.get(key);
    if (!n) return fallback;
    if (auto v = n->value<bool>()) return *v;
    Fail(key, "must be true or false", n->source().begin.line);
    return fallback;
  }
  std::vector<std::string> Strings(const char* key) {
    std::vector<std::string> out;
    const toml::node* n = t_.get(key);
    if (!n) return out;
    const toml::array* a = n->as_array();
    if (!a) {
      Fail(key, "must be an array of strings", n->source().begin.line);
      return out;
    }
    for (const auto& e : *a) {
      if (auto v = e.value<std::string>()) {
        out.push_back(*v);
      } else {
        Fail(key, "must be an array of strings", e.source().begin.line);
      }
    }
    return out;
  }
  void Fail(const std::string& key, const std::string& why, uint32_t line) {
    if (!status_.ok()) return;
    status_ = Status::Usage(file_ + ":" + std::to_string(line) + ": " + what_ + ": '" + key + "' " + why);
  }
  const Status& status() const { return status_; }

 private:
  const toml::table& t_;
  std::string file_;
  std::string what_;
  Status status_;
};

Result<toml::table> ParseToml(std::string_view text, const std::string& name) {
  try {
    return toml::parse(text, name);
  } catch (const toml::parse_error& e) {
    return Status::Usage(name + ":" + std::to_string(e.source().begin.line) + ":" +
                         std::to_string(e.source().begin.column) + ": " + std::string(e.description()));
  }
}

Result<std::vector<ModelInfo>> ParseModels(const toml::table& root, const std::string& file) {
  const toml::node* node = root.get("model");
  const toml::array* arr = node ? node->as_array() : nullptr;
  if (!arr || arr->empty()) return Status::Usage(file + ": no [[model]] entries");
  std::vector<ModelInfo> out;
  for (size_t i = 0; i < arr->size(); ++i) {
    const toml::table* t = (*arr)[i].as_table();
    if (!t) return Status::Usage(file + ": model #" + std::to_string(i + 1) + " is not a table");
    ModelInfo m;
    Reader r(*t, file, "model #" + std::to_string(i + 1));
    m.id = r.Str("id");
    Reader rr(*t, file, "model '" + m.id + "'");
    Reader& rd = m.id.empty() ? r : rr;
    m.family = rd.Str("family");
    m.params_b = rd.Num("params_b");
    m.layers = rd.Int("layers");
    m.hidden = rd.Int("hidden");
    m.intermediate = rd.Int("intermediate");
    m.heads = rd.Int("heads");
    m.kv_heads = rd.Int("kv_heads");
    m.head_dim = rd.Int("head_dim", /*required=*/false);
    m.vocab = rd.Int("vocab");
    m.max_context = rd.Int("max_context", false);
    m.tied_embeddings = rd.Bool("tied_embeddings", false);
    m.qkv_bias = rd.Bool("qkv_bias", false);
    m.vision_params_b = rd.Num("vision_params_b", false, /*positive=*/false);
    m.license = rd.Str("license", false);
    m.gated = rd.Bool("gated", false);
    for (auto& a : rd.Strings("aliases")) m.aliases.push_back(Lower(a));
    if (!rd.status().ok()) return rd.status();
    if (m.head_dim == 0 && m.heads > 0) m.head_dim = m.hidden / m.heads;
    if (m.heads % m.kv_heads != 0)
      return Status::Usage(file + ":" + std::to_string(t->source().begin.line) + ": model '" + m.id + "': heads (" +
                           std::to_string(m.heads) + ") is not a multiple of kv_heads (" + std::to_string(m.kv_heads) +
                           ")");
    // The id's name part ("Qwen2.5-0.5B-Instruct") always answers, lower-cased, as the first alias.
    std::string name = Lower(m.id.substr(m.id.find('/') == std::string::npos ? 0 : m.id.find('/') + 1));
    m.aliases.insert(m.aliases.begin(), name);
    out.push_back(std::move(m));
  }
  return out;
}

Result<std::vector<Flavor>> ParseFlavors(const toml::table& root, const std::string& file) {
  const toml::node* node = root.get("flavor");
  const toml::array* arr = node ? node->as_array() : nullptr;
  if (!arr || arr->empty()) return Status::Usage(file + ": no [[flavor]] entries");
  std::vector<Flavor> out;
  for (size_t i = 0; i < arr->size(); ++i) {
    const toml::table* t = (*arr)[i].as_table();
    if (!t) return Status::Usage(file + ": flavor #" + std::to_string(i + 1) + " is not a table");
    Flavor f;
    Reader r0(*t, file, "flavor #" + std::to_string(i + 1));
    f.name = r0.Str("name");
    if (!r0.status().ok()) return r0.status();
    Reader r(*t, file, "flavor '" + f.name + "'");
    f.gpu = Lower(r.Str("gpu", false));
    f.gpus = r.Int("gpus", true, /*positive=*/false);
    bool gpu = f.gpus > 0;
    f.gpu_mem_gb = r.Num("gpu_mem_gb", gpu, /*positive=*/gpu);
    f.usd_per_hour = r.Num("usd_per_hour");
    f.bf16_tflops_per_gpu = r.Num("bf16_tflops_per_gpu", gpu, gpu);
    f.bf16 = r.Bool("bf16", false);
    f.cpus = r.Int("cpus");
    f.ram_gb = r.Int("ram_gb");
    if (!r.status().ok()) return r.status();
    if (gpu && f.gpu.empty()) r.Fail("gpu", "must name the GPU class when gpus > 0", t->source().begin.line);
    if (!r.status().ok()) return r.status();
    out.push_back(std::move(f));
  }
  return out;
}

Result<SlurmDefaults> ParseSlurm(const toml::table& root, const std::string& file) {
  SlurmDefaults s;
  const toml::node* node = root.get("slurm");
  if (!node) return s;  // optional: Slurm planning then needs the spec to name a known GPU
  const toml::table* t = node->as_table();
  if (!t) return Status::Usage(file + ": [slurm] must be a table");
  Reader r(*t, file, "[slurm]");
  s.default_gpu = Lower(r.Str("default_gpu", false));
  s.max_gpus_per_node = t->get("max_gpus_per_node") ? r.Int("max_gpus_per_node") : 8;
  if (!r.status().ok()) return r.status();
  const toml::node* g = t->get("gpu");
  const toml::array* arr = g ? g->as_array() : nullptr;
  if (g && !arr) return Status::Usage(file + ": [[slurm.gpu]] must be an array of tables");
  for (size_t i = 0; arr && i < arr->size(); ++i) {
    const toml::table* gt = (*arr)[i].as_table();
    if (!gt) return Status::Usage(file + ": slurm.gpu #" + std::to_string(i + 1) + " is not a table");
    Reader gr(*gt, file, "slurm.gpu #" + std::to_string(i + 1));
    SlurmGpu sg;
    sg.type = Lower(gr.Str("type"));
    sg.gpu_mem_gb = gr.Num("gpu_mem_gb");
    sg.bf16_tflops_per_gpu = gr.Num("bf16_tflops_per_gpu");
    sg.bf16 = gr.Bool("bf16", false);
    if (!gr.status().ok()) return gr.status();
    s.gpus.push_back(std::move(sg));
  }
  if (!s.default_gpu.empty()) {
    bool known = false;
    for (const auto& sg : s.gpus) known = known || sg.type == s.default_gpu;
    if (!known) return Status::Usage(file + ": [slurm] default_gpu '" + s.default_gpu + "' has no [[slurm.gpu]] entry");
  }
  return s;
}

}  // namespace

double ArchitectureParamsB(const ModelInfo& m) {
  const double h = m.hidden, q = double(m.heads) * m.head_dim, kv = double(m.kv_heads) * m.head_dim;
  double attn = h * q + 2 * h * kv + q * h + (m.qkv_bias ? q + 2 * kv : 0);
  double mlp = 3 * h * m.intermediate;  // gate, up, down (SwiGLU/GeGLU)
  double norms = 2 * h;
  double embed = double(m.vocab) * h * (m.tied_embeddings ? 1 : 2);
  double total = m.layers * (attn + mlp + norms) + embed + h;  // + final norm
  return total / 1e9 + m.vision_params_b;
}

Result<Catalog> Catalog::Parse(std::string_view models_toml, std::string_view flavors_toml,
                               const std::string& models_name, const std::string& flavors_name) {
  auto mroot = ParseToml(models_toml, models_name);
  if (!mroot.ok()) return mroot.status();
  auto froot = ParseToml(flavors_toml, flavors_name);
  if (!froot.ok()) return froot.status();
  auto models = ParseModels(*mroot, models_name);
  if (!models.ok()) return models.status();
  auto flavors = ParseFlavors(*froot, flavors_name);
  if (!flavors.ok()) return flavors.status();
  auto slurm = ParseSlurm(*froot, flavors_name);
  if (!slurm.ok()) return slurm.status();

  // Every folded id and alias must name one model only.
  std::map<std::string, std::string> owner;
  for (const auto& m : *models) {
    std::vector<std::string> keys = m.aliases;
    keys.push_back(m.id);
    for (const auto& k : keys) {
      auto [it, fresh] = owner.emplace(Fold(k), m.id);
      if (!fresh && it->second != m.id)
        return Status::Usage(models_name + ": '" + k + "' of model '" + m.id + "' also names '" + it->second + "'");
    }
  }
  std::map<std::string, int> names;
  for (const auto& f : *flavors)
    if (names[Lower(f.name)]++) return Status::Usage(flavors_name + ": flavor '" + f.name + "' appears twice");

  Catalog c;
  c.models_ = std::move(models).value();
  c.flavors_ = std::move(flavors).value();
  c.slurm_ = std::move(slurm).value();
  return c;
}

Result<Catalog> Catalog::Load(const std::string& configs_dir) {
  stdfs::path dir(configs_dir);
  auto models = fs::ReadFile(dir / "models.toml");
  if (!models.ok())
    return Status::NotFound("cannot read " + (dir / "models.toml").string() + ": " + models.status().message());
  auto flavors = fs::ReadFile(dir / "flavors.toml");
  if (!flavors.ok())
    return Status::NotFound("cannot read " + (dir / "flavors.toml").string() + ": " + flavors.status().message());
  return Parse(*models, *flavors, (dir / "models.toml").string(), (dir / "flavors.toml").string());
}

std::optional<std::string> Catalog::ResolveAlias(std::string_view name) const {
  if (const ModelInfo* m = Model(name)) return m->id;
  return std::nullopt;
}

const ModelInfo* Catalog::Model(std::string_view id) const {
  std::string key = Fold(id);
  if (key.empty()) return nullptr;
  for (const auto& m : models_)
    if (Fold(m.id) == key) return &m;
  for (const auto& m : models_)
    for (const auto& a : m.aliases)
      if (Fold(a) == key) return &m;
  return nullptr;
}

const Flavor* Catalog::FindFlavor(std::string_view name) const {
  std::string key = Lower(name);
  for (const auto& f : flavors_)
    if (Lower(f.name) == key) return &f;
  return nullptr;
}

const SlurmGpu* Catalog::FindSlurmGpu(std::string_view type) const {
  std::string key = Lower(type);
  for (const auto& g : slurm_.gpus)
    if (g.type == key) return &g;
  return nullptr;
}

std::string DefaultConfigsDir() {
  const char* env = std::getenv("DSX_CONFIGS_DIR");
  if (env && *env) return env;
  std::error_code ec;
  if (stdfs::is_regular_file("configs/models.toml", ec)) return "configs";
  auto exe = stdfs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (const char* rel : {"../configs", "../../configs", "../share/dsx/configs"}) {
      stdfs::path p = (exe.parent_path() / rel).lexically_normal();
      if (stdfs::is_regular_file(p / "models.toml", ec)) return p.string();
    }
  }
  return "configs";
}

}  // namespace dsx::finetune

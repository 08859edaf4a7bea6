// dsx kernel: run-time compiled CUDA kernels, verified and timed honestly.
//   list | show TASK | compile FILE.cu | cache stats|clear | bench TASK... | score RESULTS... | peaks
// `gen` lives in kernel_gen.cpp. The hidden `__child` runs one benchmark configuration in a
// separate process (see lib/kernel/bench/child.hpp); users never call it.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <optional>
#include <string>

#include "cli.hpp"
#include "commands.hpp"
#include "core/fs.hpp"
#include "kernel/bench/bench.hpp"
#include "kernel/bench/fast_p.hpp"
#include "kernel/bench/fast_p_results.hpp"
#include "kernel/bench/harness_kernels.hpp"
#include "kernel/bench/peaks.hpp"
#include "kernel/bench/runner.hpp"
#include "kernel/compile/cache.hpp"
#include "kernel/compile/compiler.hpp"
#include "kernel/compile/task_compile.hpp"
#include "kernel/cuda/device.hpp"
#include "kernel/task.hpp"

namespace dsx::cmd {

namespace {

using nlohmann::json;
namespace k = dsx::kernel;

void RegisterList(CLI::App& kernel) {
  auto* cmd = kernel.add_subcommand("list", "list the kernel tasks");
  auto json_out = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json_out, "print JSON");
  cmd->callback([json_out] {
    auto root = k::FindTasksRoot();
    if (!root.ok()) return cli::Finish(root.status());
    json arr = json::array();
    std::string errors;
    for (const auto& name : k::ListTaskNames(*root)) {
      auto t = k::LoadTask(*root / name);
      if (!t.ok()) {
        errors += "dsx: " + t.status().message() + "\n";
        continue;
      }
      std::string dtypes;
      for (auto d : t->dtypes) dtypes += std::string(dtypes.empty() ? "" : ",") + k::DTypeName(d);
      arr.push_back({{"name", t->name}, {"dtypes", json::parse("[]")}, {"description", t->description}});
      for (auto d : t->dtypes) arr.back()["dtypes"].push_back(k::DTypeName(d));
      if (!*json_out) std::printf("%-14s %-12s %s\n", t->name.c_str(), dtypes.c_str(), t->description.c_str());
    }
    if (*json_out) cli::PrintJson({{"root", root->string()}, {"tasks", arr}});
    std::fputs(errors.c_str(), stderr);
    cli::SetExit(errors.empty() ? 0 : 1);
  });
}

void RegisterShow(CLI::App& kernel) {
  auto* cmd = kernel.add_subcommand("show", "show one task: parameters, sizes, launch, cost, tolerance");
  auto task = std::make_shared<std::string>();
  auto json_out = std::make_shared<bool>(false);
  cmd->add_option("TASK", *task, "task name or folder")->required();
  cmd->add_flag("--json", *json_out, "print JSON");
  cmd->callback([task, json_out] {
    auto dir = k::ResolveTaskDir(*task);
    if (!dir.ok()) return cli::Finish(dir.status());
    auto t = k::LoadTask(*dir);
    if (!t.ok()) return cli::Finish(t.status());
    json j = k::TaskToJson(*t);
    // Resolved numbers per preset for the first dtype: what a launch will really look like.
    j["resolved"] = json::object();
    for (auto d : t->dtypes)
      for (const auto& p : t->presets) {
        auto inst = k::Instantiate(*t, d, p);
        if (!inst.ok()) continue;
        auto rl = k::ResolveLaunch(t->optimized, *inst);
        json r{{"bytes", inst->bytes}, {"flops", inst->flops}};
        if (rl.ok())
          r["optimized_launch"] = {
              {"entry", rl->entry}, {"grid", rl->grid}, {"block", rl->block}, {"shared", rl->shared}};
        j["resolved"][std::string(k::DTypeName(d)) + "/" + p] = r;
      }
    if (*json_out) return cli::PrintJson(j);
    std::printf("%s: %s\n", t->name.c_str(), t->description.c_str());
    std::printf("folder:     %s\n", t->dir.c_str());
    std::string dtypes;
    for (auto d : t->dtypes) dtypes += std::string(dtypes.empty() ? "" : ", ") + k::DTypeName(d);
    std::printf("dtypes:     %s\n", dtypes.c_str());
    std::printf("cpu ref:    %s\n", t->cpu_reference.empty() ? "(none)" : t->cpu_reference.c_str());
    std::printf("sizes:\n");
    // Columns as wide as the longest name (preset names such as small_large_logits).
    int preset_w = 8, param_w = 10;
    for (const auto& p : t->presets) preset_w = std::max(preset_w, static_cast<int>(p.size()));
    for (const auto& p : t->params) param_w = std::max(param_w, static_cast<int>(p.name.size()));
    for (const auto& p : t->presets) {
      std::string vars;
      for (const auto& [n, v] : t->sizes.at(p)) vars += " " + n + "=" + std::to_string(v);
      const json& r = j["resolved"][std::string(k::DTypeName(t->dtypes[0])) + "/" + p];
      // Not resolved: the preset does not instantiate (shown by `dsx kernel check`).
      const double bytes = r.is_object() ? r["bytes"].get<double>() : 0,
                   flops = r.is_object() ? r["flops"].get<double>() : 0;
      std::printf("  %-*s%s  (%s: %.1f MB, %.3g GFLOP)\n", preset_w, p.c_str(), vars.c_str(),
                  k::DTypeName(t->dtypes[0]), bytes / 1e6, flops / 1e9);
    }
    if (!t->allowed.empty()) {
      std::printf("allowed:\n");  // [allowed]: the only values a size may take (kernels specialised on them)
      for (const auto& [n, values] : t->allowed) {
        std::string list;
        for (auto v : values) list += (list.empty() ? "" : ", ") + std::to_string(v);
        std::printf("  %-*s %s\n", preset_w, n.c_str(), list.c_str());
      }
    }
    std::printf("params:\n");
    for (const auto& p : t->params) {
      if (p.kind == k::ParamKind::kPtr) {
        std::string shape;
        for (const auto& s : p.shape) shape += (shape.empty() ? "" : ", ") + s;
        const char* io = p.io == k::ParamIo::kIn ? "in" : p.io == k::ParamIo::kOut ? "out" : "scratch";
        std::printf("  %-*s %-4s* [%s] %s\n", param_w, p.name.c_str(), p.dtype.c_str(), shape.c_str(), io);
      } else {
        std::printf("  %-*s %-4s  = %s\n", param_w, p.name.c_str(), p.dtype.c_str(), p.value.c_str());
      }
    }
    std::printf("cost:       bytes = %s, flops = %s\n", t->cost_bytes.c_str(), t->cost_flops.c_str());
    std::printf("tolerance: ");
    for (const auto& [d, v] : t->tolerance) std::printf(" %s=%g", k::DTypeName(d), v);
    std::printf("\n");
    for (const auto* l : {&t->reference, &t->optimized}) {
      std::string grid, block;
      for (const auto& s : l->grid) grid += (grid.empty() ? "" : ", ") + s;
      for (const auto& s : l->block) block += (block.empty() ? "" : ", ") + s;
      std::printf("%-11s %s: %s  grid [%s] block [%s] shared %s\n",
                  l == &t->reference ? "reference:" : "optimized:", l->file.c_str(), l->entry.c_str(), grid.c_str(),
                  block.c_str(), l->shared.c_str());
    }
  });
}

void RegisterCompile(CLI::App& kernel) {
  auto* cmd = kernel.add_subcommand("compile", "compile a .cu file with NVRTC (CUBIN for sm_XX, PTX for compute_XX)");
  struct Opts {
    std::string file, task, arch = "sm_90", out;
    std::vector<std::string> includes, names;
    bool json = false, no_cache = false, harness = false;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("FILE", o->file, "CUDA source file");
  cmd->add_flag("--harness", o->harness, "compile the harness's own kernels (RNG, checks) instead of FILE");
  cmd->add_option("--task", o->task, "take name expressions, options and the launch line from this task");
  cmd->add_option("--arch", o->arch, "target: sm_XX (CUBIN) or compute_XX (PTX)")->capture_default_str();
  cmd->add_option("-I,--include", o->includes, "include folder (repeatable)");
  cmd->add_option("--name-expr", o->names, "template instantiation to compile and lower, e.g. 'rmsnorm<float>'");
  cmd->add_option("-o,--output", o->out, "write the CUBIN/PTX here");
  cmd->add_flag("--json", o->json, "print JSON");
  cmd->add_flag("--no-cache", o->no_cache, "ignore and do not write the compile cache");
  cmd->callback([o] {
    k::CompileOptions copts;
    copts.arch = o->arch;
    if (o->harness == !o->file.empty()) return cli::Finish(Status::Usage("give a FILE or --harness"));
    if (o->harness) {
      copts = dsx::kernel::bench::HarnessCompileOptions(o->arch, "");
      copts.use_cache = !o->no_cache;
      o->file = "dsx_harness.cu";
    }
    if (!o->task.empty()) {
      auto dir = k::ResolveTaskDir(o->task);
      if (!dir.ok()) return cli::Finish(dir.status());
      auto t = k::LoadTask(*dir);
      if (!t.ok()) return cli::Finish(t.status());
      auto src = dsx::fs::ReadFile(o->file, 16 << 20);  // a kernel source, bounded like NVRTC input should be
      if (!src.ok()) return cli::Finish(src.status());
      auto launch = k::LaunchForFile(*t, o->file, *src);
      if (!launch.ok()) return cli::Finish(launch.status());
      copts = k::CompileOptionsFor(*t, *launch, o->arch);
    }
    copts.include_dirs = o->includes;
    for (const auto& n : o->names) copts.name_exprs.push_back(n);
    copts.use_cache = !o->no_cache;
    auto m = o->harness ? k::CompileSource(dsx::kernel::bench::HarnessKernelSource(), o->file, copts)
                        : k::CompileFile(o->file, copts);
    if (!m.ok()) return cli::Finish(m.status());
    if (m->success && !o->out.empty()) {
      // NVRTC's PTX ends with the NUL that cuModuleLoadData wants; a .ptx file for ptxas or
      // cuobjdump is text without it (ptxas refuses the NUL).
      std::string_view bytes = m->image;
      if (!m->is_cubin && !bytes.empty() && bytes.back() == '\0') bytes.remove_suffix(1);
      Status st = dsx::fs::AtomicWriteFile(o->out, std::string(bytes), false);
      if (!st.ok()) return cli::Finish(st);
    }
    if (o->json) {
      json j = k::CompiledToJson(*m);
      j["file"] = o->file;
      cli::PrintJson(j);
    } else {
      for (const auto& d : m->diagnostics) std::fprintf(stderr, "%s\n", d.ToString().c_str());
      if (m->success) {
        std::printf("%s: %s %s, %zu bytes, %s, %.1f ms\n", o->file.c_str(), m->arch.c_str(),
                    m->is_cubin ? "cubin" : "ptx", m->image.size(), m->cache_hit ? "cache hit" : "compiled", m->ms);
        for (const auto& [n, sym] : m->lowered) std::printf("  %s -> %s\n", n.c_str(), sym.c_str());
      }
    }
    if (!m->success) {
      size_t errors = 0;
      for (const auto& d : m->diagnostics) errors += d.severity != "warning";
      return cli::Finish(Status::Failed("compile failed: '" + o->file +
                                        "': " + std::to_string(std::max<size_t>(errors, 1)) + " error(s)"));
    }
    cli::SetExit(0);
  });
}

void RegisterCache(CLI::App& kernel) {
  auto* cache = kernel.add_subcommand("cache", "the compile cache: stats, clear");
  cache->require_subcommand(1);
  auto json_out = std::make_shared<bool>(false);
  auto all = std::make_shared<bool>(false);
  auto* stats = cache->add_subcommand("stats", "entries and bytes in the compile cache");
  stats->add_flag("--json", *json_out, "print JSON");
  stats->callback([json_out] {
    k::KernelCache c(k::DefaultCacheDir());
    auto s = c.Stats();
    if (!s.ok()) return cli::Finish(s.status());
    if (*json_out)
      return cli::PrintJson({{"dir", c.dir()}, {"entries", s->entries}, {"bytes", s->bytes}, {"partial", s->partial}});
    std::printf("dir:     %s\nentries: %lld\nbytes:   %lld\n", c.dir().c_str(), (long long)s->entries,
                (long long)s->bytes);
    if (s->partial) std::printf("partial: %lld (interrupted writers; ignored)\n", (long long)s->partial);
  });
  auto* clear = cache->add_subcommand("clear", "remove compiled kernels from the cache");
  clear->add_flag("--all", *all, "also remove measured device peaks and the NVRTC identity memo");
  clear->add_flag("--json", *json_out, "print JSON");
  clear->callback([json_out, all] {
    k::KernelCache c(k::DefaultCacheDir());
    auto n = c.Clear(*all);
    if (!n.ok()) return cli::Finish(n.status());
    if (*json_out) return cli::PrintJson({{"dir", c.dir()}, {"removed", *n}});
    std::printf("removed %lld files from %s\n", (long long)*n, c.dir().c_str());
  });
}

std::vector<std::string> SplitCommas(const std::vector<std::string>& in) {
  std::vector<std::string> out;
  for (const auto& s : in) {
    size_t start = 0;
    while (start <= s.size()) {
      size_t c = s.find(',', start);
      std::string part = s.substr(start, c == std::string::npos ? std::string::npos : c - start);
      if (!part.empty()) out.push_back(part);
      if (c == std::string::npos) break;
      start = c + 1;
    }
  }
  return out;
}

// --fast-p LIST (default KernelBench's) and --baseline-json FILE, shared by bench and score.
struct FastPFlags {
  std::string thresholds;
  std::string baseline_json;
  CLI::Option* given = nullptr;  // --fast-p, to tell "--fast-p ''" (refused) from absent (default)
};

void AddFastPFlags(CLI::App* cmd, FastPFlags& f) {
  f.given = cmd->add_option("--fast-p", f.thresholds,
                            "fast_p thresholds p, comma separated (default 0,0.5,0.8,1,1.5,2, KernelBench's)");
  cmd->add_option("--baseline-json", f.baseline_json,
                  "fast_p against PyTorch eager: bench/kernels/torch_eager.py's output (default: each task's "
                  "reference kernel)");
}

Result<std::vector<double>> Thresholds(const FastPFlags& f) {
  if (f.given->count() == 0) return dsx::kernel::bench::DefaultFastPThresholds();
  return dsx::kernel::bench::ParseFastPThresholds(f.thresholds);
}

void RegisterBench(CLI::App& kernel) {
  auto* cmd = kernel.add_subcommand("bench", "verify a kernel against the reference, then time it (cold and hot)");
  struct Opts {
    dsx::kernel::bench::BenchOptions b;
    std::vector<std::string> tasks, sizes, dtypes;
    FastPFlags fast_p;
    bool json = false, scan_warn = false, no_reference = false, hot_only = false, cold_only = false, all = false;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("TASK", o->tasks, "task names or folders (several: fast_p over them)");
  cmd->add_flag("--all", o->all, "every task under kernels/ (their optimized kernels); reports fast_p");
  cmd->add_option("--impl", o->b.impl, "candidate .cu file (default: the task's optimized kernel)");
  cmd->add_option("--sizes", o->sizes, "presets, comma separated (default: all)");
  cmd->add_option("--dtype", o->dtypes, "dtypes, comma separated (default: all of the task's)");
  cmd->add_flag("--json", o->json, "print one JSON document");
  cmd->add_flag("--measure-peaks", o->b.measure_peaks,
                "measure copy bandwidth and matmul rate first (cached per device)");
  cmd->add_option("--max-noise", o->b.max_noise_pct, "stop sampling below this relative noise [%]")
      ->capture_default_str();
  cmd->add_option("--timeout", o->b.timeout_s, "time budget per measurement [s]")->capture_default_str();
  cmd->add_option("--min-samples", o->b.min_samples, "samples before the noise rule may stop")->capture_default_str();
  cmd->add_option("--trials", o->b.trials, "verification trials (at least 5)")->capture_default_str();
  cmd->add_option("--device", o->b.device, "CUDA device ordinal")->capture_default_str();
  cmd->add_option("--arch", o->b.arch, "compile for this arch (default: the device's sm_XX)");
  cmd->add_option("--child-timeout", o->b.child_timeout_s,
                  "kill a configuration's child after this many seconds (default 60 + 8 x --timeout)");
  cmd->add_flag("--no-reference-timing", o->no_reference, "do not time the reference kernel (no speedup)");
  cmd->add_flag("--cold-only", o->cold_only, "only the cold (L2 flushed) measurement");
  cmd->add_flag("--hot-only", o->hot_only, "only the hot measurement");
  AddFastPFlags(cmd, o->fast_p);
  // For the cheat suite: turn static rejections into warnings so the dynamic guards are exercised.
  cmd->add_flag("--scan-warn-only", o->scan_warn, "report static-scan findings without rejecting")->group("");
  cmd->callback([o] {
    namespace kb = dsx::kernel::bench;
    auto& b = o->b;
    b.sizes = SplitCommas(o->sizes);
    b.dtypes = SplitCommas(o->dtypes);
    b.scan_rejects = !o->scan_warn;
    b.time_reference = !o->no_reference;
    if (o->cold_only && o->hot_only) return cli::Finish(Status::Usage("--cold-only and --hot-only exclude each other"));
    if (o->cold_only) b.modes = {"cold"};
    if (o->hot_only) b.modes = {"hot"};
    if (b.trials < 5) return cli::Finish(Status::Usage("--trials must be at least 5"));
    if (!(b.timeout_s > 0) || !(b.max_noise_pct > 0) || b.min_samples < 1)
      return cli::Finish(Status::Usage("--timeout and --max-noise must be > 0, --min-samples >= 1"));
    if (o->all == !o->tasks.empty()) return cli::Finish(Status::Usage("give one or more TASKs, or --all"));
    std::vector<std::string> tasks = o->tasks;
    if (o->all) {
      auto root = k::FindTasksRoot();
      if (!root.ok()) return cli::Finish(root.status());
      tasks = k::ListTaskNames(*root);
      if (tasks.empty()) return cli::Finish(Status::NotFound("no tasks under '" + root->string() + "'"));
    }
    const bool several = o->all || tasks.size() > 1;
    if (several && !b.impl.empty())
      return cli::Finish(Status::Usage("--impl names one task's kernel: give exactly one TASK with it"));
    // Everything that can be refused is refused before the first (slow, GPU) run.
    auto ps = Thresholds(o->fast_p);
    if (!ps.ok()) return cli::Finish(ps.status());
    std::optional<kb::BaselineTable> baseline;
    if (!o->fast_p.baseline_json.empty()) {
      auto t = kb::LoadBaselineJson(o->fast_p.baseline_json);
      if (!t.ok()) return cli::Finish(t.status().Wrap("--baseline-json"));
      baseline = std::move(*t);
    }
    // --sizes/--dtype must fit each task. Named tasks: refused now, not after the others ran.
    // --all: the tasks without them are left out (said on stderr), e.g. f32-only tasks for bf16.
    std::vector<std::string> kept, kept_names;
    for (const auto& t : tasks) {
      auto dir = k::ResolveTaskDir(t);
      if (!dir.ok()) return cli::Finish(dir.status());
      auto spec = k::LoadTask(*dir);
      if (!spec.ok()) return cli::Finish(spec.status());
      std::string missing;
      for (const auto& p : b.sizes)
        if (!spec->sizes.count(p)) missing = "size preset '" + p + "'";
      for (const auto& d : b.dtypes) {
        auto dt = k::ParseDType(d);
        if (!dt || std::find(spec->dtypes.begin(), spec->dtypes.end(), *dt) == spec->dtypes.end())
          missing = "dtype '" + d + "'";
      }
      for (const auto& k : kept_names)
        if (k == spec->name) return cli::Finish(Status::Usage("task '" + spec->name + "' given twice"));
      if (missing.empty()) {
        kept.push_back(t);
        kept_names.push_back(spec->name);
      } else if (!o->all) {
        return cli::Finish(Status::Usage("task '" + spec->name + "' has no " + missing));
      } else if (!cli::Quiet()) {
        std::fprintf(stderr, "dsx: bench --all: leaving out '%s' (no %s)\n", spec->name.c_str(), missing.c_str());
      }
    }
    if (kept.empty()) return cli::Finish(Status::Usage("no task has the given --sizes and --dtype"));
    tasks = kept;
    const bool tty = cli::StderrIsTty() && !o->json && !cli::Quiet();
    auto progress = [tty](const std::string& line) {
      if (tty) std::fprintf(stderr, "\r\033[K%s", line.c_str());
    };
    std::vector<json> docs;
    std::vector<std::string> failures;
    int exit_code = 0;
    for (const auto& t : tasks) {
      kb::BenchOptions one = b;
      one.task = t;
      auto rep = kb::RunBench(one, progress);
      if (tty) std::fprintf(stderr, "\r\033[K");
      // No device (5) or a bad option (2/3) holds for every task: stop at the first.
      if (!rep.ok()) return cli::Finish(rep.status());
      if (!o->json) {
        if (!docs.empty()) std::fputs("\n", stdout);
        std::fputs(kb::FormatReport(rep->doc).c_str(), stdout);
      }
      if (rep->exit_code != 0) {
        std::string why = rep->doc.value("status", std::string("failed"));
        if (rep->doc.contains("reasons") && !rep->doc["reasons"].empty())
          why += ": " + rep->doc["reasons"][0].get<std::string>();
        failures.push_back("dsx: bench '" + t + "': " + why);
        exit_code = std::max(exit_code, rep->exit_code);
      }
      docs.push_back(std::move(rep->doc));
    }
    // A document the scorer cannot read is a harness bug; the measurements are still printed.
    auto score = kb::ScoreBenchDocs(docs, *ps, baseline ? &*baseline : nullptr);
    json fp = score.ok() ? kb::FastPToJson(*score) : json{{"error", score.status().message()}};
    if (!score.ok()) {
      failures.push_back("dsx: bench: cannot compute fast_p: " + score.status().message());
      exit_code = std::max(exit_code, 1);
    }
    if (baseline) fp["baseline_file"] = o->fast_p.baseline_json;
    if (o->json) {
      if (!several) {
        docs[0]["fast_p"] = fp;  // one task: the document as before, plus its fast_p
        cli::PrintJson(docs[0]);
      } else {
        json failed = json::array();
        for (const auto& d : docs)
          if (d.value("status", "") != "ok") failed.push_back(d.value("task", ""));
        cli::PrintJson({{"status", failed.empty() ? "ok" : "failed"},
                        {"failed_tasks", failed},
                        {"tasks", docs},
                        {"fast_p", fp}});
      }
    } else if (score.ok() && (several || o->fast_p.given->count() > 0 || baseline)) {
      std::fputs(("\n" + kb::FormatFastP(*score)).c_str(), stdout);
    }
    std::fflush(stdout);
    for (const auto& f : failures) std::fprintf(stderr, "%s\n", f.c_str());
    cli::SetExit(exit_code);
  });
}

// Scores saved results: no device, no harness. Separate from bench because it shares none of
// bench's measuring flags and reads what gen writes too (run folders), not only bench.
void RegisterScore(CLI::App& kernel) {
  auto* cmd = kernel.add_subcommand(
      "score", "fast_p over saved results: bench --json files and gen run folders (no GPU needed)");
  struct Opts {
    std::vector<std::string> inputs;
    FastPFlags fast_p;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("RESULTS", o->inputs, "bench --json documents, gen run folders or their leaderboard.json")
      ->required();
  AddFastPFlags(cmd, o->fast_p);
  cmd->add_flag("--json", o->json, "print JSON");
  cmd->callback([o] {
    namespace kb = dsx::kernel::bench;
    auto ps = Thresholds(o->fast_p);
    if (!ps.ok()) return cli::Finish(ps.status());
    std::vector<std::filesystem::path> paths(o->inputs.begin(), o->inputs.end());
    auto score = kb::ScoreFiles(paths, *ps, o->fast_p.baseline_json);
    if (!score.ok()) return cli::Finish(score.status());
    if (o->json) {
      json j = kb::FastPToJson(*score);
      j["inputs"] = o->inputs;
      if (!o->fast_p.baseline_json.empty()) j["baseline_file"] = o->fast_p.baseline_json;
      return cli::PrintJson(j);
    }
    std::fputs(kb::FormatFastP(*score).c_str(), stdout);
  });
}

void RegisterDevice(CLI::App& kernel) {
  auto* cmd = kernel.add_subcommand("device", "show the GPU: name, arch, driver, peaks (theoretical and measured)");
  auto json_out = std::make_shared<bool>(false);
  auto measure = std::make_shared<bool>(false);
  auto ordinal = std::make_shared<int>(0);
  cmd->add_flag("--json", *json_out, "print JSON");
  cmd->add_flag("--measure-peaks", *measure, "measure copy bandwidth and matmul rate now (cached)");
  cmd->add_option("--device", *ordinal, "CUDA device ordinal")->capture_default_str();
  cmd->callback([json_out, measure, ordinal] {
    auto dev = dsx::kernel::cuda::ProbeDevice(*ordinal);
    if (!dev.ok()) return cli::Finish(dev.status());
    const std::string cache = k::DefaultCacheDir();
    json measured = dsx::kernel::bench::LoadPeaks(cache, dev->uuid);
    if (*measure) {
      auto p = dsx::kernel::bench::MeasurePeaks(*ordinal, "", cache, 120);
      if (!p.ok()) return cli::Finish(p.status());
      measured = *p;
    }
    json j = dsx::kernel::cuda::DeviceToJson(*dev);
    j["measured_peaks"] = measured;
    if (*json_out) return cli::PrintJson(j);
    std::printf("%s (%s, %d SMs, %.1f GiB, L2 %.0f MiB), driver %s\n", dev->name.c_str(), dev->Arch().c_str(),
                dev->sm_count, dev->total_mem / 1073741824.0, dev->l2_bytes / 1048576.0, dev->DriverString().c_str());
    std::printf("peak: %.0f GB/s DRAM, %.1f TFLOP/s fp32, %.0f TFLOP/s bf16/f16 tensor (dense)\n", dev->peak_gbps,
                dev->peak_tflops_fp32, dev->peak_tflops_tensor16);
    if (measured.is_object())
      std::printf("measured: copy %.0f GB/s, tiled sgemm %.1f TFLOP/s\n", measured.value("copy_gbps", 0.0),
                  measured.value("sgemm_tiled_tflops", 0.0));
  });
}

// Hidden: one benchmark configuration (or the peaks probe) in this process. Request JSON on stdin,
// result JSON on fd 3 (stdout may carry device printf from the candidate).
void RegisterChild(CLI::App& kernel) {
  auto* cmd = kernel.add_subcommand("__child", "internal: run one benchmark configuration (used by bench)");
  cmd->group("");
  auto kind = std::make_shared<std::string>();
  cmd->add_option("KIND", *kind, "config | peaks")->required();
  cmd->callback([kind] {
    std::string input((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    json req = json::parse(input, nullptr, false);
    json res;
    // Belt and braces next to the parent's kill: never outlive the time the parent allows.
    if (req.is_object() && req.value("deadline_s", 0.0) > 0)
      ::alarm(static_cast<unsigned>(req.value("deadline_s", 0.0)) + 5);
    if (req.is_discarded()) res = {{"status", "failed"}, {"reasons", {"bad request JSON"}}};
    else if (*kind == "config") res = dsx::kernel::bench::RunConfig(req);
    else if (*kind == "peaks") res = dsx::kernel::bench::RunPeaks(req);
    else res = {{"status", "failed"}, {"reasons", {"unknown child kind '" + *kind + "'"}}};
    std::string text = res.dump(-1, ' ', false, json::error_handler_t::replace);
    size_t off = 0;
    while (off < text.size()) {
      ssize_t w = ::write(3, text.data() + off, text.size() - off);
      if (w <= 0) break;
      off += static_cast<size_t>(w);
    }
    cli::SetExit(res.value("status", "") == "ok" ? 0 : 1);
  });
}

}  // namespace

void register_kernel(CLI::App& app) {
  auto* kernel = app.add_subcommand("kernel", "CUDA kernels: compile with NVRTC, verify, time honestly, generate");
  kernel->require_subcommand(1);
  RegisterList(*kernel);
  RegisterShow(*kernel);
  RegisterCompile(*kernel);
  RegisterCache(*kernel);
  RegisterBench(*kernel);
  RegisterScore(*kernel);
  RegisterDevice(*kernel);
  RegisterChild(*kernel);
  register_kernel_gen(*kernel);
  register_kernel_export(*kernel);
}

}  // namespace dsx::cmd

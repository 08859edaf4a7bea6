#include "kernel/bench/runner.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>

#include "core/fs.hpp"
#include "kernel/bench/criterion.hpp"
#include "kernel/bench/summary.hpp"
#include "kernel/compile/compiler.hpp"
#include "kernel/compile/task_compile.hpp"
#include "kernel/cpu_ref/cpu_reference.hpp"
#include "kernel/cuda/device.hpp"
#include "kernel/cuda/handles.hpp"
#include "kernel/cuda/nvml.hpp"
#include "kernel/task.hpp"

#if defined(DSX_HAVE_CUDA_H)
#include "kernel/bench/harness_kernels.hpp"
#include "kernel/bench/workspace.hpp"
#endif

namespace dsx::kernel::bench {

using nlohmann::json;

namespace {

json Fail(const std::string& status, const std::string& reason, json extra = json::object()) {
  extra["status"] = status;
  extra["reasons"] = json::array({reason});
  return extra;
}

}  // namespace

#if !defined(DSX_HAVE_CUDA_H)

json RunConfig(const json&) { return Fail("unavailable", "no CUDA driver: dsx was built without the CUDA headers"); }

#else

namespace {

using Clock = std::chrono::steady_clock;
using cuda::Api;

// A failed check during a timed call: the message names the call.
struct TimedCheckFailure {
  std::string reason;
};

struct Ctx {
  const TaskInstance* inst = nullptr;
  Workspace* ws = nullptr;
  const HarnessKernels* hk = nullptr;
  CUstream stream = nullptr;
  CUevent start = nullptr, stop = nullptr;
  cuda::DeviceBuffer* flush = nullptr;
  cuda::SmClock* clock = nullptr;
  CUfunction ref_fn = nullptr;
  const ResolvedLaunch* ref_launch = nullptr;
};

// One timed call: device-wide sync before the stop event, so work anywhere in the context counts.
double TimedCall(Ctx& c, CUfunction fn, const ResolvedLaunch& l, int set, bool cold, int index) {
  c.ws->Prepare(set);
  if (cold)
    DSX_CU(Api().cuMemsetD32Async(c.flush->ptr(), static_cast<unsigned>(index) * 2654435761u, c.flush->bytes() / 4,
                                  c.stream));
  DSX_CU(Api().cuCtxSynchronize());
  DSX_CU(Api().cuEventRecord(c.start, c.stream));
  c.ws->Launch(fn, l, set, false);
  DSX_CU(Api().cuCtxSynchronize());
  DSX_CU(Api().cuEventRecord(c.stop, c.stream));
  DSX_CU(Api().cuEventSynchronize(c.stop));
  float ms = 0;
  DSX_CU(Api().cuEventElapsedTime(&ms, c.start, c.stop));
  return ms;
}

Measurement Measure(Ctx& c, CUfunction fn, const ResolvedLaunch& l, bool cold, bool verify, const json& req) {
  Measurement m;
  m.mode = cold ? "cold" : "hot";
  const double timeout_s = req.value("timeout_s", 3.0);
  const int verify_every = std::max(1, req.value("verify_every", 10));
  CriterionParams params;
  params.max_noise_pct = req.value("max_noise_pct", 0.5);
  params.min_samples = std::max(1, req.value("min_samples", 10));
  StdRelCriterion crit;
  crit.Initialize(params);
  const auto t0 = Clock::now();
  for (int w = 0; w < 2; ++w) TimedCall(c, fn, l, w % c.ws->sets(), cold, -1 - w);  // warm-up
  const unsigned ref_mhz = c.clock->ReferenceMhz();
  m.sm_clock_ref_mhz = ref_mhz;
  double clock_sum = 0;
  int clock_n = 0;
  double backoff_s = 0.05;
  for (int i = 0;; ++i) {
    const int set = i % c.ws->sets();
    const double ms = TimedCall(c, fn, l, set, cold, i);
    const unsigned mhz = c.clock->CurrentMhz();
    if (verify && (i < 2 || i % verify_every == 0)) {
      CheckResult r = c.ws->Verify(set, c.ref_fn, *c.ref_launch);
      ++m.verified_timed_calls;
      if (!r.ok) throw TimedCheckFailure{"timed call " + std::to_string(i + 1) + " (" + m.mode + "): " + r.reason};
    }
    if (mhz > 0 && ref_mhz > 0 && mhz < 0.75 * ref_mhz) {
      ++m.discarded_throttled;  // nvbench: discard and give the GPU time to recover
      std::this_thread::sleep_for(std::chrono::duration<double>(backoff_s));
      backoff_s = std::min(backoff_s * 2, 1.0);
    } else {
      m.samples_ms.push_back(ms);
      crit.AddMeasurement(ms * 1e-3);
      if (mhz > 0) {
        clock_sum += mhz;
        ++clock_n;
      }
    }
    if (crit.IsFinished()) {
      m.stop_reason = crit.reason();
      break;
    }
    const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
    if (elapsed > timeout_s) {
      m.timed_out = true;
      char buf[200];
      if (static_cast<int>(m.samples_ms.size()) < params.min_samples)
        std::snprintf(buf, sizeof buf, "timed out (%.2fs) with %zu < %d samples", timeout_s, m.samples_ms.size(),
                      params.min_samples);
      else
        std::snprintf(buf, sizeof buf, "timed out (%.2fs) while over noise threshold (%.2f%% > %.2f%%)", timeout_s,
                      RelativeNoisePct(m.samples_ms), params.max_noise_pct);
      m.stop_reason = buf;
      break;
    }
  }
  m.sm_clock_mhz_mean = clock_n ? clock_sum / clock_n : 0;
  m.wall_s = std::chrono::duration<double>(Clock::now() - t0).count();
  return m;
}

json CompileInfo(const CompiledModule& m, bool with_log) {
  json j = CompiledToJson(m);
  if (!with_log) j.erase("log");
  return j;
}

// Spot check against the float64 CPU reference on a sample of output elements (trial 0).
json CpuCheck(const TaskSpec& task, Workspace& ws, int set) {
  const TaskInstance& inst = ws.instance();
  json j{{"reference", task.cpu_reference}};
  const CpuRefFn* fn = FindCpuReference(task.cpu_reference);
  if (!fn) {
    j["status"] = "skipped";
    j["why"] = "no CPU reference named '" + task.cpu_reference + "'";
    return j;
  }
  int64_t in_elems = 0;
  for (const auto& p : inst.params)
    if (p.spec->kind == ParamKind::kPtr && p.spec->io == ParamIo::kIn) in_elems += p.numel;
  if (in_elems > (int64_t{1} << 25)) {
    j["status"] = "skipped";
    j["why"] = "inputs too large to copy to the host (" + std::to_string(in_elems) + " elements)";
    return j;
  }
  std::map<std::string, double> scalars;
  std::map<std::string, HostTensor> inputs;
  for (size_t i = 0; i < inst.params.size(); ++i) {
    const auto& p = inst.params[i];
    if (p.spec->kind == ParamKind::kScalar) scalars[p.spec->name] = p.scalar;
    else if (p.spec->io == ParamIo::kIn) inputs[p.spec->name] = HostTensor{ws.Download(set, i), p.shape};
  }
  CpuRefArgs args{inst.sizes, scalars, inputs};
  j["status"] = "ok";
  j["outputs"] = json::array();
  for (size_t i = 0; i < inst.params.size(); ++i) {
    const auto& p = inst.params[i];
    if (p.spec->kind != ParamKind::kPtr || p.spec->io != ParamIo::kOut) continue;
    std::vector<int64_t> idx;
    const int64_t n = p.numel;
    const int64_t want = std::min<int64_t>(n, 512);
    for (int64_t k = 0; k < want; ++k)
      idx.push_back(want == n ? k : static_cast<int64_t>(NextSeed() % static_cast<uint64_t>(n)));
    if (want < n) {
      idx.push_back(0);
      idx.push_back(n - 1);
      // Row-structured outputs ([..., rows, cols], e.g. attention's [B, H, S, D]): one element of
      // the first and of the last row of each leading slice (up to 256 slices), so a kernel that
      // skips edge rows (a causal kernel's first row, a partial last tile) meets the exact values.
      if (p.shape.size() >= 3) {
        const int64_t cols = p.shape.back(), rows = p.shape[p.shape.size() - 2];
        const int64_t slices = rows * cols > 0 ? n / (rows * cols) : 0;
        const int64_t picks = std::min<int64_t>(slices, 256);
        for (int64_t s = 0; s < picks; ++s) {
          const int64_t slice = slices <= 256 ? s : s * slices / 256;
          for (int64_t r : {int64_t{0}, rows - 1})
            idx.push_back((slice * rows + r) * cols + static_cast<int64_t>(NextSeed() % static_cast<uint64_t>(cols)));
        }
      }
    }
    std::vector<double> exact(idx.size());
    Status st = (*fn)(args, p.spec->name, idx, exact);
    if (!st.ok()) {
      j["status"] = "error";
      j["why"] = st.message();
      return j;
    }
    std::vector<double> cand = ws.Download(set, i), ref = ws.Download(set, i, true);
    double e_c = 0, e_r = 0, norm = 0;
    for (size_t k = 0; k < idx.size(); ++k) {
      const auto q = static_cast<size_t>(idx[k]);
      e_c += (cand[q] - exact[k]) * (cand[q] - exact[k]);
      e_r += (ref[q] - exact[k]) * (ref[q] - exact[k]);
      norm += exact[k] * exact[k];
    }
    const double rc = norm > 0 ? std::sqrt(e_c / norm) : std::sqrt(e_c);
    const double rr = norm > 0 ? std::sqrt(e_r / norm) : std::sqrt(e_r);
    // The exact value differs from any correctly rounded GPU output by the dtype's rounding, so
    // the bound is the task tolerance or twice the reference kernel's own error, whichever is larger.
    const double bound = std::max(inst.tolerance, 2 * rr + 1e-12);
    const bool pass = std::isfinite(rc) && rc <= bound;
    j["outputs"].push_back({{"param", p.spec->name},
                            {"samples", idx.size()},
                            {"rel_err", rc},
                            {"reference_rel_err", rr},
                            {"bound", bound},
                            {"ok", pass}});
    if (!pass) {
      j["status"] = "failed";
      char buf[256];
      std::snprintf(
          buf, sizeof buf,
          "wrong result vs the float64 CPU reference: relative error %.3g of '%s' on %zu sampled elements exceeds %.3g",
          rc, p.spec->name.c_str(), idx.size(), bound);
      j["why"] = buf;
    }
  }
  return j;
}

json RunConfigImpl(const json& req, json& res) {
  const std::string task_dir = req.at("task_dir").get<std::string>();
  const std::string impl_file = req.at("impl_file").get<std::string>();
  auto task = LoadTask(task_dir);
  if (!task.ok()) return Fail("failed", task.status().message());
  auto dtype = ParseDType(req.at("dtype").get<std::string>());
  if (!dtype) return Fail("failed", "unknown dtype");
  auto inst = Instantiate(*task, *dtype, req.at("preset").get<std::string>());
  if (!inst.ok()) return Fail("failed", inst.status().message());
  auto src = dsx::fs::ReadFile(impl_file);
  if (!src.ok()) return Fail("failed", src.status().message());
  auto cand_spec = LaunchForFile(*task, impl_file, *src);
  if (!cand_spec.ok()) return Fail("failed", cand_spec.status().message());
  auto cand_launch = ResolveLaunch(*cand_spec, *inst);
  if (!cand_launch.ok()) return Fail("failed", cand_launch.status().message());
  auto ref_launch = ResolveLaunch(task->reference, *inst);
  if (!ref_launch.ok()) return Fail("failed", ref_launch.status().message());
  res["sizes"] = inst->sizes;
  res["bytes"] = inst->bytes;
  res["flops"] = inst->flops;
  res["tolerance"] = inst->tolerance;
  res["launch"] = {{"entry", cand_launch->entry},
                   {"grid", cand_launch->grid},
                   {"block", cand_launch->block},
                   {"shared", cand_launch->shared}};

  const int ordinal = req.value("device", 0);
  auto dev = cuda::ProbeDevice(ordinal);
  if (!dev.ok())
    return Fail(dev.status().code() == Code::kUnavailable ? "unavailable" : "failed", dev.status().message(), res);
  res["device"] = cuda::DeviceToJson(*dev);
  const std::string arch = req.value("arch", std::string()).empty() ? dev->Arch() : req.value("arch", std::string());
  const std::string cache_dir = req.value("cache_dir", std::string());

  // Compile first (no context needed): a compile error is the candidate's, reported with diagnostics.
  CompileOptions co = CompileOptionsFor(*task, *cand_spec, arch);
  co.cache_dir = cache_dir;
  auto cand_mod = CompileFile(impl_file, co);
  if (!cand_mod.ok())
    return Fail(cand_mod.status().code() == Code::kUnavailable ? "unavailable" : "failed", cand_mod.status().message(),
                res);
  res["compile"]["candidate"] = CompileInfo(*cand_mod, !cand_mod->success);
  res["impl_sha256"] = cand_mod->source_sha256;
  res["nvrtc_version"] = cand_mod->nvrtc_version;
  if (!cand_mod->success) {
    std::string first = cand_mod->diagnostics.empty() ? cand_mod->log : cand_mod->diagnostics[0].ToString();
    return Fail("compile_error", "compile failed: " + first, res);
  }
  CompileOptions ro = CompileOptionsFor(*task, task->reference, arch);
  ro.cache_dir = cache_dir;
  auto ref_mod = CompileFile((task->dir / task->reference.file).string(), ro);
  if (!ref_mod.ok() || !ref_mod->success)
    return Fail("failed",
                "the reference kernel does not compile: " +
                    (ref_mod.ok() ? (ref_mod->diagnostics.empty() ? ref_mod->log : ref_mod->diagnostics[0].ToString())
                                  : ref_mod.status().message()),
                res);
  res["compile"]["reference"] = CompileInfo(*ref_mod, false);
  res["reference_sha256"] = ref_mod->source_sha256;

  cuda::Context ctx(ordinal);
  auto hk = HarnessKernels::Create(arch, cache_dir);
  if (!hk.ok()) return Fail("failed", hk.status().message(), res);
  cuda::Module cmod(cand_mod->image), rmod(ref_mod->image);
  CUfunction cand_fn = cmod.Function(cand_mod->Symbol(cand_launch->entry));
  CUfunction ref_fn = rmod.Function(ref_mod->Symbol(ref_launch->entry));
  for (auto [fn, l] : {std::pair{cand_fn, &*cand_launch}, std::pair{ref_fn, &*ref_launch}})
    if (l->shared > 48 * 1024)
      DSX_CU(
          Api().cuFuncSetAttribute(fn, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, static_cast<int>(l->shared)));

  // Owned here, destroyed on every return and on a CudaError (before the context is released).
  const cuda::Stream stream_owner = cuda::CreateStream();
  const cuda::Event start_owner = cuda::CreateEvent(), stop_owner = cuda::CreateEvent();
  CUstream stream = stream_owner.get();
  CUevent start = start_owner.get(), stop = stop_owner.get();

  // Rotating buffer sets: as many as fit in half the free memory, at most rotate_sets.
  size_t free_b = 0, total_b = 0;
  DSX_CU(Api().cuMemGetInfo(&free_b, &total_b));
  const int64_t per_set = std::max<int64_t>(1, Workspace::BytesPerSet(*inst));
  const int64_t flush_bytes = std::max<int64_t>(4 * dev->l2_bytes, 64 << 20);
  int64_t fit = (static_cast<int64_t>(free_b) / 2 - flush_bytes) / per_set - 1;  // -1: reference outputs
  const int sets = static_cast<int>(std::clamp<int64_t>(fit, 1, std::max(1, req.value("rotate_sets", 3))));
  if (fit < 1 && per_set * 2 + flush_bytes > static_cast<int64_t>(free_b))
    return Fail("failed", "not enough device memory for preset '" + inst->preset + "'", res);
  Workspace ws(*inst, **hk, stream, sets);
  cuda::DeviceBuffer flush(static_cast<size_t>(flush_bytes));
  cuda::SmClock clock(dev->pci_bus_id);
  res["rotating_sets"] = sets;
  res["l2_flush_bytes"] = flush_bytes;
  res["nvml"] = clock.available() ? json("ok") : json(clock.why_unavailable());

  Ctx c{&*inst, &ws, hk->get(), stream, start, stop, &flush, &clock, ref_fn, &*ref_launch};

  // Timer floor: an empty launch timed exactly like a sample (start, launch, cuCtxSynchronize,
  // stop). It is part of every sample; reported so that microsecond-scale results can be read.
  {
    std::vector<double> v;
    for (int k = 0; k < 21; ++k) {
      DSX_CU(Api().cuEventRecord(start, stream));
      (*hk)->Copy16(stream, flush.ptr(), flush.ptr(), 0);
      DSX_CU(Api().cuCtxSynchronize());
      DSX_CU(Api().cuEventRecord(stop, stream));
      DSX_CU(Api().cuEventSynchronize(stop));
      float ms = 0;
      DSX_CU(Api().cuEventElapsedTime(&ms, start, stop));
      if (k > 0) v.push_back(ms);
    }
    res["timer_floor_ms"] = Percentile(v, 50);
  }

  // ---- verification trials ----
  const int trials = std::max(5, req.value("trials", 5));
  json ver{{"trials", trials}, {"tolerance", inst->tolerance}};
  double max_err = 0;
  for (int t = 0; t < trials; ++t) {
    const int set = t % sets;
    ws.Prepare(set);
    ws.Launch(cand_fn, *cand_launch, set, false);
    DSX_CU(Api().cuCtxSynchronize());
    CheckResult r = ws.Verify(set, ref_fn, *ref_launch);
    max_err = std::max(max_err, r.max_rel_err);
    if (!r.ok) {
      ver["passed"] = t;
      ver["max_rel_err"] = max_err;
      res["verification"] = ver;
      return Fail("wrong",
                  "verification trial " + std::to_string(t + 1) + " of " + std::to_string(trials) + ": " + r.reason,
                  res);
    }
    if (t == 0 && !task->cpu_reference.empty()) {
      json cpu = CpuCheck(*task, ws, set);
      ver["cpu_check"] = cpu;
      if (cpu.value("status", "") == "failed") {
        res["verification"] = ver;
        return Fail("wrong", cpu.value("why", "wrong result vs the CPU reference"), res);
      }
    }
  }
  ver["passed"] = trials;
  ver["max_rel_err"] = max_err;
  res["verification"] = ver;

  // ---- timing ----
  std::vector<std::string> modes = req.value("modes", std::vector<std::string>{"cold", "hot"});
  auto summarize = [&](const Measurement& m) {
    return SummariesToJson(Summarize(m, inst->bytes, inst->flops, dev->peak_gbps));
  };
  try {
    for (const auto& mode : modes) {
      Measurement m = Measure(c, cand_fn, *cand_launch, mode == "cold", true, req);
      res["candidate"][mode] = summarize(m);
    }
  } catch (const TimedCheckFailure& f) {
    return Fail("wrong", f.reason, res);
  }
  if (req.value("time_reference", true)) {
    for (const auto& mode : modes) {
      Measurement m = Measure(c, ref_fn, *ref_launch, mode == "cold", false, req);
      res["reference"][mode] = summarize(m);
    }
  }
  res["status"] = "ok";
  res["reasons"] = json::array();
  return res;
}

}  // namespace

json RunConfig(const json& req) {
  json res = json::object();  // what is known so far survives an exception
  try {
    return RunConfigImpl(req, res);
  } catch (const cuda::CudaError& e) {
    // Launch failures and illegal addresses surface here; the context is likely unusable now.
    return Fail("crashed", std::string("CUDA error: ") + e.what(), res);
  } catch (const json::exception& e) {
    return Fail("failed", std::string("bad request: ") + e.what(), res);
  } catch (const std::exception& e) {
    return Fail("failed", std::string("internal error: ") + e.what(), res);
  }
}

#endif

}  // namespace dsx::kernel::bench

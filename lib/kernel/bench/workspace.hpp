// Device buffers for one configuration and the operations the runner composes: fresh inputs,
// NaN outputs, kernel launches with the task's parameter list, the inputs-unchanged check and the
// comparison against the reference. Everything is asynchronous on one stream unless it returns
// host data.
#pragma once

#if defined(DSX_HAVE_CUDA_H)

#include <cstdint>
#include <string>
#include <vector>

#include "kernel/bench/harness_kernels.hpp"
#include "kernel/cuda/device.hpp"
#include "kernel/task.hpp"

namespace dsx::kernel::bench {

// 64-bit seeds: a base read from /dev/urandom once per process, then splitmix64 steps.
uint64_t NextSeed();

struct BufferSet {
  std::vector<cuda::DeviceBuffer> bufs;  // one per task parameter (empty for scalars)
  std::vector<uint64_t> seeds;           // seed of each input's current contents
};

struct OutputCheck {
  std::string param;
  double rel_err = 0;
  int64_t nonfinite = 0;  // candidate outputs that are NaN/Inf where the reference is finite
  int64_t ref_nonfinite = 0;
  int64_t numel = 0;
};

struct CheckResult {
  bool ok = true;
  std::string reason;  // first failure, worded for people and agents
  std::vector<OutputCheck> outputs;
  double max_rel_err = 0;
};

class Workspace {
 public:
  // `sets` rotating buffer sets for the kernel under test plus one set for the reference outputs.
  Workspace(const TaskInstance& inst, const HarnessKernels& hk, CUstream stream, int sets);

  static int64_t BytesPerSet(const TaskInstance& inst);
  int sets() const { return static_cast<int>(sets_.size()); }

  // Fresh inputs (new seeds), outputs := 0xFF bytes (NaN for floats), scratch := 0.
  void Prepare(int set);
  // Launches `fn` with set `set`'s buffers (or the reference's outputs/scratch when to_reference).
  void Launch(CUfunction fn, const ResolvedLaunch& l, int set, bool to_reference);
  // Synchronous: inputs unchanged, then the reference (ref_fn) on the same inputs, then compare.
  CheckResult Verify(int set, CUfunction ref_fn, const ResolvedLaunch& ref_launch);

  // Host copies for the CPU reference (float64), by parameter name.
  std::vector<double> Download(int set, size_t param_index, bool reference = false) const;
  const TaskInstance& instance() const { return inst_; }

 private:
  void PointArgs(int set, bool to_reference);
  const TaskInstance& inst_;
  const HarnessKernels& hk_;
  CUstream stream_;
  std::vector<BufferSet> sets_;
  BufferSet ref_;                       // reference outputs + scratch
  cuda::DeviceBuffer counters_;         // u64 per parameter (input mismatches)
  cuda::DeviceBuffer acc_;              // 4 doubles per parameter (comparison sums)
  std::vector<CUdeviceptr> ptr_slots_;  // argument storage
  std::vector<uint64_t> scalar_slots_;
  std::vector<void*> args_;
};

double HostValue(DType t, const unsigned char* p);  // one element widened to double

}  // namespace dsx::kernel::bench

#endif

#include "kernel/bench/workspace.hpp"

#if defined(DSX_HAVE_CUDA_H)

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>

namespace dsx::kernel::bench {

using cuda::Api;

uint64_t NextSeed() {
  static std::atomic<uint64_t> state = [] {
    uint64_t s = 0;
    int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      if (::read(fd, &s, sizeof s) != static_cast<ssize_t>(sizeof s)) s = 0;
      ::close(fd);
    }
    if (s == 0)  // no /dev/urandom: still unpredictable enough for a kernel that cannot see the host
      s = static_cast<uint64_t>(std::chrono::high_resolution_clock::now().time_since_epoch().count()) ^
          (static_cast<uint64_t>(::getpid()) << 32);
    return s;
  }();
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

int64_t Workspace::BytesPerSet(const TaskInstance& inst) {
  int64_t b = 0;
  for (const auto& p : inst.params)
    if (p.spec->kind == ParamKind::kPtr) b += p.numel * static_cast<int64_t>(DTypeSize(p.dtype));
  return b;
}

Workspace::Workspace(const TaskInstance& inst, const HarnessKernels& hk, CUstream stream, int sets)
    : inst_(inst), hk_(hk), stream_(stream) {
  const size_t np = inst.params.size();
  sets_.resize(static_cast<size_t>(sets));
  for (auto& s : sets_) {
    s.bufs.resize(np);
    s.seeds.assign(np, 0);
    for (size_t i = 0; i < np; ++i) {
      const auto& p = inst.params[i];
      if (p.spec->kind == ParamKind::kPtr)
        s.bufs[i] = cuda::DeviceBuffer(static_cast<size_t>(p.numel) * DTypeSize(p.dtype));
    }
  }
  ref_.bufs.resize(np);
  for (size_t i = 0; i < np; ++i) {
    const auto& p = inst.params[i];
    if (p.spec->kind == ParamKind::kPtr && p.spec->io != ParamIo::kIn)
      ref_.bufs[i] = cuda::DeviceBuffer(static_cast<size_t>(p.numel) * DTypeSize(p.dtype));
  }
  counters_ = cuda::DeviceBuffer(np * sizeof(uint64_t));
  acc_ = cuda::DeviceBuffer(np * 4 * sizeof(double));
  ptr_slots_.assign(np, 0);
  scalar_slots_.assign(np, 0);
  args_.assign(np, nullptr);
  for (size_t i = 0; i < np; ++i) {
    const auto& p = inst.params[i];
    if (p.spec->kind == ParamKind::kPtr) {
      args_[i] = &ptr_slots_[i];
      continue;
    }
    unsigned char* slot = reinterpret_cast<unsigned char*>(&scalar_slots_[i]);
    switch (p.dtype) {
      case DType::kI32: {
        int v = static_cast<int>(p.scalar);
        std::memcpy(slot, &v, sizeof v);
        break;
      }
      case DType::kI64: {
        long long v = static_cast<long long>(p.scalar);
        std::memcpy(slot, &v, sizeof v);
        break;
      }
      case DType::kF32: {
        float v = static_cast<float>(p.scalar);
        std::memcpy(slot, &v, sizeof v);
        break;
      }
      case DType::kF64: {
        double v = p.scalar;
        std::memcpy(slot, &v, sizeof v);
        break;
      }
      default: {
        float v = static_cast<float>(p.scalar);
        std::memcpy(slot, &v, sizeof v);
        break;
      }  // rejected at parse time
    }
    args_[i] = slot;
  }
}

void Workspace::Prepare(int set) {
  BufferSet& s = sets_[static_cast<size_t>(set)];
  for (size_t i = 0; i < inst_.params.size(); ++i) {
    const auto& p = inst_.params[i];
    if (p.spec->kind != ParamKind::kPtr) continue;
    const CUdeviceptr ptr = s.bufs[i].ptr();
    const size_t bytes = s.bufs[i].bytes();
    switch (p.spec->io) {
      case ParamIo::kIn:
        s.seeds[i] = NextSeed();
        hk_.Fill(stream_, p.dtype, ptr, p.numel, s.seeds[i], static_cast<int>(p.spec->init));
        break;
      case ParamIo::kOut: DSX_CU(Api().cuMemsetD8Async(ptr, 0xFF, bytes, stream_)); break;
      default: DSX_CU(Api().cuMemsetD8Async(ptr, 0, bytes, stream_)); break;
    }
  }
}

void Workspace::PointArgs(int set, bool to_reference) {
  const BufferSet& s = sets_[static_cast<size_t>(set)];
  for (size_t i = 0; i < inst_.params.size(); ++i) {
    const auto& p = inst_.params[i];
    if (p.spec->kind != ParamKind::kPtr) continue;
    ptr_slots_[i] = (to_reference && p.spec->io != ParamIo::kIn) ? ref_.bufs[i].ptr() : s.bufs[i].ptr();
  }
}

void Workspace::Launch(CUfunction fn, const ResolvedLaunch& l, int set, bool to_reference) {
  PointArgs(set, to_reference);
  DSX_CU(Api().cuLaunchKernel(fn, l.grid[0], l.grid[1], l.grid[2], l.block[0], l.block[1], l.block[2], l.shared,
                              stream_, args_.data(), nullptr));
}

CheckResult Workspace::Verify(int set, CUfunction ref_fn, const ResolvedLaunch& ref_launch) {
  CheckResult r;
  const BufferSet& s = sets_[static_cast<size_t>(set)];
  const size_t np = inst_.params.size();
  // 1. inputs unchanged (bit for bit, re-derived from their seeds)
  DSX_CU(Api().cuMemsetD8Async(counters_.ptr(), 0, counters_.bytes(), stream_));
  for (size_t i = 0; i < np; ++i) {
    const auto& p = inst_.params[i];
    if (p.spec->kind == ParamKind::kPtr && p.spec->io == ParamIo::kIn)
      hk_.Check(stream_, p.dtype, s.bufs[i].ptr(), p.numel, s.seeds[i], static_cast<int>(p.spec->init),
                counters_.ptr() + i * sizeof(uint64_t));
  }
  // 2. the reference on the same inputs, into its own (NaN-filled, zeroed-scratch) buffers
  for (size_t i = 0; i < np; ++i) {
    const auto& p = inst_.params[i];
    if (p.spec->kind != ParamKind::kPtr || p.spec->io == ParamIo::kIn) continue;
    DSX_CU(Api().cuMemsetD8Async(ref_.bufs[i].ptr(), p.spec->io == ParamIo::kOut ? 0xFF : 0, ref_.bufs[i].bytes(),
                                 stream_));
  }
  Launch(ref_fn, ref_launch, set, true);
  // 3. compare every output in float64
  DSX_CU(Api().cuMemsetD8Async(acc_.ptr(), 0, acc_.bytes(), stream_));
  for (size_t i = 0; i < np; ++i) {
    const auto& p = inst_.params[i];
    if (p.spec->kind == ParamKind::kPtr && p.spec->io == ParamIo::kOut)
      hk_.Compare(stream_, p.dtype, s.bufs[i].ptr(), ref_.bufs[i].ptr(), p.numel, acc_.ptr() + i * 4 * sizeof(double));
  }
  DSX_CU(Api().cuStreamSynchronize(stream_));
  std::vector<uint64_t> bad(np);
  std::vector<double> acc(np * 4);
  DSX_CU(Api().cuMemcpyDtoH(bad.data(), counters_.ptr(), np * sizeof(uint64_t)));
  DSX_CU(Api().cuMemcpyDtoH(acc.data(), acc_.ptr(), np * 4 * sizeof(double)));
  for (size_t i = 0; i < np; ++i) {
    const auto& p = inst_.params[i];
    if (p.spec->kind == ParamKind::kPtr && p.spec->io == ParamIo::kIn && bad[i] != 0 && r.ok) {
      r.ok = false;
      r.reason = "modified its inputs: " + std::to_string(bad[i]) + " of " + std::to_string(p.numel) +
                 " elements of input '" + p.spec->name + "' changed";
    }
  }
  for (size_t i = 0; i < np; ++i) {
    const auto& p = inst_.params[i];
    if (p.spec->kind != ParamKind::kPtr || p.spec->io != ParamIo::kOut) continue;
    OutputCheck oc;
    oc.param = p.spec->name;
    oc.numel = p.numel;
    const double e2 = acc[i * 4], r2 = acc[i * 4 + 1];
    oc.nonfinite = static_cast<int64_t>(acc[i * 4 + 2]);
    oc.ref_nonfinite = static_cast<int64_t>(acc[i * 4 + 3]);
    oc.rel_err = r2 > 0 ? std::sqrt(e2 / r2) : std::sqrt(e2);
    r.max_rel_err = std::max(r.max_rel_err, oc.rel_err);
    char buf[320];
    const bool exact = !DTypeIsFloat(p.dtype);
    const double tol = exact ? 0.0 : inst_.tolerance;
    if (r.ok && oc.ref_nonfinite > 0) {
      r.ok = false;
      std::snprintf(buf, sizeof buf,
                    "the reference kernel produced %lld non-finite values in '%s' (task or harness bug)",
                    static_cast<long long>(oc.ref_nonfinite), oc.param.c_str());
      r.reason = buf;
    } else if (r.ok && oc.nonfinite > 0) {
      r.ok = false;
      std::snprintf(buf, sizeof buf,
                    "wrong result: %lld of %lld elements of output '%s' are NaN/Inf (unwritten: outputs start as NaN)",
                    static_cast<long long>(oc.nonfinite), static_cast<long long>(oc.numel), oc.param.c_str());
      r.reason = buf;
    } else if (r.ok && !(oc.rel_err <= tol)) {
      r.ok = false;
      std::snprintf(buf, sizeof buf, "wrong result: relative L2 error %.3g of output '%s' exceeds the tolerance %.3g",
                    oc.rel_err, oc.param.c_str(), tol);
      r.reason = buf;
    }
    r.outputs.push_back(oc);
  }
  return r;
}

double HostValue(DType t, const unsigned char* p) {
  switch (t) {
    case DType::kF32: {
      float v;
      std::memcpy(&v, p, 4);
      return v;
    }
    case DType::kF64: {
      double v;
      std::memcpy(&v, p, 8);
      return v;
    }
    case DType::kBF16: {
      uint16_t h;
      std::memcpy(&h, p, 2);
      uint32_t bits = static_cast<uint32_t>(h) << 16;
      float v;
      std::memcpy(&v, &bits, 4);
      return v;
    }
    case DType::kF16: {
      uint16_t h;
      std::memcpy(&h, p, 2);
      const int sign = (h >> 15) & 1, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
      double v;
      if (exp == 0) v = std::ldexp(man, -24);
      else if (exp == 31) v = man ? NAN : INFINITY;
      else v = std::ldexp(man + 1024, exp - 25);
      return sign ? -v : v;
    }
    case DType::kI32: {
      int32_t v;
      std::memcpy(&v, p, 4);
      return v;
    }
    case DType::kI64: {
      int64_t v;
      std::memcpy(&v, p, 8);
      return static_cast<double>(v);
    }
  }
  return 0;
}

std::vector<double> Workspace::Download(int set, size_t i, bool reference) const {
  const auto& p = inst_.params[i];
  const auto& buf = reference ? ref_.bufs[i] : sets_[static_cast<size_t>(set)].bufs[i];
  std::vector<unsigned char> raw(buf.bytes());
  DSX_CU(Api().cuStreamSynchronize(stream_));
  DSX_CU(Api().cuMemcpyDtoH(raw.data(), buf.ptr(), raw.size()));
  std::vector<double> out(static_cast<size_t>(p.numel));
  const size_t es = DTypeSize(p.dtype);
  for (size_t k = 0; k < out.size(); ++k) out[k] = HostValue(p.dtype, raw.data() + k * es);
  return out;
}

}  // namespace dsx::kernel::bench

#endif

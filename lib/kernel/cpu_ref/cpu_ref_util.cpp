#include "kernel/cpu_ref/cpu_ref_util.hpp"

#include <cmath>

namespace dsx::kernel::cpu_ref {

namespace {
std::string Prefix(std::string_view ref) { return "cpu reference '" + std::string(ref) + "'"; }
}  // namespace

Result<const HostTensor*> Input(const CpuRefArgs& args, std::string_view ref, const std::string& name, size_t rank) {
  auto it = args.inputs.find(name);
  if (it == args.inputs.end()) return Status::Failed(Prefix(ref) + ": no input '" + name + "'");
  const HostTensor& t = it->second;
  if (t.shape.size() != rank) {
    return Status::Failed(Prefix(ref) + ": input '" + name + "' has " + std::to_string(t.shape.size()) +
                          " dimensions, expected " + std::to_string(rank));
  }
  int64_t count = 1;
  for (int64_t d : t.shape) {
    if (d < 0) return Status::Failed(Prefix(ref) + ": input '" + name + "' has a negative dimension");
    count *= d;
  }
  if (static_cast<int64_t>(t.data.size()) != count) {
    return Status::Failed(Prefix(ref) + ": input '" + name + "' holds " + std::to_string(t.data.size()) +
                          " values, its shape needs " + std::to_string(count));
  }
  return &t;
}

Result<double> Scalar(const CpuRefArgs& args, std::string_view ref, const std::string& name) {
  auto it = args.scalars.find(name);
  if (it == args.scalars.end()) return Status::Failed(Prefix(ref) + ": no scalar '" + name + "'");
  return it->second;
}

Status CheckRequest(std::string_view ref, const std::string& out, std::string_view expected,
                    std::span<const int64_t> indices, std::span<const double> values, int64_t count) {
  if (out != expected) {
    return Status::Failed(Prefix(ref) + ": unknown output '" + out + "' (expected '" + std::string(expected) + "')");
  }
  if (indices.size() != values.size()) {
    return Status::Failed(Prefix(ref) + ": " + std::to_string(indices.size()) + " indices but room for " +
                          std::to_string(values.size()) + " values");
  }
  for (int64_t i : indices) {
    if (i < 0 || i >= count) {
      return Status::Failed(Prefix(ref) + ": index " + std::to_string(i) + " of output '" + out +
                            "' is out of range [0, " + std::to_string(count) + ")");
    }
  }
  return Status::Ok();
}

Status CheckDim(std::string_view ref, std::string_view what, int64_t got, int64_t want) {
  if (got == want) return Status::Ok();
  return Status::Failed(Prefix(ref) + ": " + std::string(what) + " is " + std::to_string(got) + ", expected " +
                        std::to_string(want));
}

void CompensatedSum::Add(double v) {
  const double t = sum_ + v;
  if (std::fabs(sum_) >= std::fabs(v)) {
    comp_ += (sum_ - t) + v;
  } else {
    comp_ += (v - t) + sum_;
  }
  sum_ = t;
}

}  // namespace dsx::kernel::cpu_ref

// Test helper for the CPU-reference tests: inputs, sizes and scalars for one call, and Run().
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "kernel/cpu_ref/cpu_reference.hpp"

namespace cpu_ref_test {

using dsx::kernel::CpuRefArgs;
using dsx::kernel::HostTensor;

struct Case {
  dsx::kernel::SizeMap sizes;
  std::map<std::string, double> scalars;
  std::map<std::string, HostTensor> inputs;

  // Runs reference `name` for output `out` at `indices`; fails the test on an error status.
  std::vector<double> Run(const std::string& name, const std::string& out, const std::vector<int64_t>& indices) {
    const dsx::kernel::CpuRefFn* fn = dsx::kernel::FindCpuReference(name);
    REQUIRE(fn != nullptr);
    std::vector<double> values(indices.size(), std::nan(""));
    CpuRefArgs args{sizes, scalars, inputs};
    const dsx::Status st = (*fn)(args, out, indices, values);
    REQUIRE_MESSAGE(st.ok(), st.message());
    return values;
  }
};

}  // namespace cpu_ref_test

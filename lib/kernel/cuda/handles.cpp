#include "kernel/cuda/handles.hpp"

namespace dsx::kernel::cuda {

#if defined(DSX_HAVE_CUDA_H)

Stream CreateStream(unsigned flags) {
  Stream s;
  DSX_CU(Api().cuStreamCreate(s.out(), flags));
  return s;
}

Event CreateEvent(unsigned flags) {
  Event e;
  DSX_CU(Api().cuEventCreate(e.out(), flags));
  return e;
}

#endif

}  // namespace dsx::kernel::cuda

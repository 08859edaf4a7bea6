#!/usr/bin/env bash
# tests/kernels/export/libtorch_check.sh PROJECT_DIR WORK_DIR
# Where libtorch's headers and libraries are installed (Debian: libtorch-dev, CPU only), compiles
# an exported project's torch-ext/torch_binding.cpp against them, with a stub for the CUDA op (its
# body needs ATen/cuda, which a CPU libtorch lacks), loads the result into a libtorch program and
# checks that torch accepts the op: the schema parses and the C++ function's signature matches it
# (ops.impl throws at load time when they disagree). Exit 77 when libtorch is not installed.
set -u
P=${1:?usage: libtorch_check.sh PROJECT_DIR WORK_DIR}
W=${2:?usage: libtorch_check.sh PROJECT_DIR WORK_DIR}
INC=""
for d in /usr/include /usr/local/include; do
  [ -e "$d/torch/library.h" ] && [ -e "$d/torch/csrc/api/include/torch/torch.h" ] && INC=$d
done
[ -n "$INC" ] || { echo "libtorch_check: SKIPPED: no libtorch headers (Debian: libtorch-dev)"; exit 77; }
PYINC=$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["include"])' 2>/dev/null)
[ -e "$PYINC/Python.h" ] || { echo "libtorch_check: SKIPPED: no Python.h (registration.h needs it)"; exit 77; }
op=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["op"])' "$P/dsx-export.json") || exit 1
schema=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["schema"])' "$P/dsx-export.json") || exit 1
mkdir -p "$W/shim"
cat > "$W/shim/registration.h" <<'H'
#pragma once
#include <Python.h>
#define _CONCAT(A, B) A##B
#define CONCAT(A, B) _CONCAT(A, B)
#define _STRINGIFY(A) #A
#define STRINGIFY(A) _STRINGIFY(A)
#define TORCH_LIBRARY_EXPAND(NAME, MODULE) TORCH_LIBRARY(NAME, MODULE)
#define REGISTER_EXTENSION(NAME)                                               \
  PyMODINIT_FUNC CONCAT(PyInit_, NAME)() {                                     \
    static struct PyModuleDef module = {PyModuleDef_HEAD_INIT,                 \
                                        STRINGIFY(NAME), nullptr, 0, nullptr}; \
    return PyModule_Create(&module);                                           \
  }
H
# The stub: the declaration from torch_binding.h with a body.
decl=$(grep -E "^void $op\(" "$P/torch-ext/torch_binding.h" | sed 's/;$//')
[ -n "$decl" ] || { echo "libtorch_check: no 'void $op(' declaration in torch_binding.h"; exit 1; }
printf '#include "torch_binding.h"\n%s { TORCH_CHECK(false, "stub"); }\n' "$decl" > "$W/stub.cpp"
cat > "$W/main.cpp" <<'C'
#include <dlfcn.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <cstdio>
// Prints the op's arguments as torch parsed them: name type written default.
int main(int argc, char** argv) {
  if (argc < 3) return 2;
  // RTLD_LAZY: PyInit_ (REGISTER_EXTENSION) needs libpython, and nothing here calls it.
  if (!dlopen(argv[1], RTLD_LAZY | RTLD_GLOBAL)) { std::printf("dlopen: %s\n", dlerror()); return 1; }
  auto h = c10::Dispatcher::singleton().findSchema({argv[2], ""});
  if (!h) { std::printf("op %s not registered\n", argv[2]); return 1; }
  if (!h->hasKernelForDispatchKey(c10::DispatchKey::CUDA)) { std::printf("no CUDA kernel\n"); return 1; }
  for (const auto& a : h->schema().arguments()) {
    const bool w = a.alias_info() && a.alias_info()->isWrite();
    std::string def = "-";
    if (a.default_value()) {
      char buf[64];
      if (a.default_value()->isDouble()) std::snprintf(buf, sizeof buf, "%.17g", a.default_value()->toDouble());
      else std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(a.default_value()->toInt()));
      def = buf;
    }
    std::printf("%s %s %d %s\n", a.name().c_str(), a.type()->str().c_str(), w ? 1 : 0, def.c_str());
  }
  return h->schema().returns().empty() ? 0 : 1;
}
C
FLAGS="-std=c++17 -O0 -I$INC -I$INC/torch/csrc/api/include -I$PYINC -D_GLIBCXX_USE_CXX11_ABI=1"
ns="dsx_check_$op"
g++ $FLAGS -shared -fPIC -DTORCH_EXTENSION_NAME=$ns -I"$W/shim" -I"$P/torch-ext" \
  "$P/torch-ext/torch_binding.cpp" "$W/stub.cpp" -o "$W/lib$op.so" -ltorch_cpu -lc10 > "$W/build.log" 2>&1 \
  || { echo "libtorch_check: torch_binding.cpp does not compile:"; head -c 3000 "$W/build.log"; exit 1; }
g++ $FLAGS "$W/main.cpp" -o "$W/check" -ltorch_cpu -lc10 -ldl > "$W/build2.log" 2>&1 \
  || { echo "libtorch_check: the check program does not compile:"; head -c 3000 "$W/build2.log"; exit 1; }
out=$("$W/check" "$W/lib$op.so" "$ns::$op" 2>&1); rc=$?
if [ $rc -ne 0 ]; then echo "libtorch_check: $op: $out (exit $rc)"; exit 1; fi
# Compare with what dsx meant (dsx-export.json): outputs written, inputs read, ints, float defaults.
python3 - "$P/dsx-export.json" "$out" <<'PY' || exit 1
import json, sys
man = json.load(open(sys.argv[1]))
got = [l.split() for l in sys.argv[2].splitlines() if l.strip()]
want = []
for a in man["args"]:
    if a["role"] in ("out", "in"):
        want.append((a["name"], "Tensor", "1" if a["role"] == "out" else "0", None))
    elif a["role"] == "size":
        want.append((a["name"], "int", "0", None))
    else:
        want.append((a["name"], "float" if a["dtype"] in ("f32", "f64") else "int", "0", float(a["default"])))
ok = len(got) == len(want)
for g, w in zip(got, want):
    ok = ok and g[0] == w[0] and g[1] == w[1] and g[2] == w[2]
    ok = ok and (w[3] is None and g[3] == "-" or w[3] is not None and abs(float(g[3]) - w[3]) <= 1e-9 * max(1.0, abs(w[3])))
if not ok:
    print("libtorch_check: torch parsed %s, dsx meant %s" % (got, want))
    sys.exit(1)
PY
echo "libtorch_check: $op: torch registers '$schema' with a CUDA kernel and the binding's signature"

// dsx kernel export over every shipped task: the layout against kernel-builder's documented
// schema (toml++), the files build.toml names, the ops the wrapper calls, the Python wrapper
// compiled by python3, the kernel compiled by NVRTC for sm_80, and launch.h compiled by the host
// compiler and compared with dsx's own resolution of every (dtype, preset). The torch side
// (<py>.cu, torch_binding.cpp) needs torch headers, which this machine does not have:
// scripts/gpu-check builds it where torch is installed.
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <toml++/toml.h>

#include "core/fs.hpp"
#include "export_test_util.hpp"
#include "kernel/compile/compiler.hpp"
#include "kernel/compile/task_compile.hpp"
#include "kernel/export/expr_emit.hpp"
#include "kernel/export/export.hpp"
#include "kernel/export/op_model.hpp"
#include "kernel/export/validate.hpp"
#include "kernel/task.hpp"

// GCC 12 warns -Wrestrict inside libstdc++ for some std::string concatenations at -O2, a known
// false positive (GCC bug 105651); the strings below are ordinary.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wrestrict"
#endif

namespace ke = dsx::kernel::exp;
namespace k = dsx::kernel;
namespace stdfs = std::filesystem;
using kexp_test::Q;

namespace {

ke::ExportOptions Opts(const std::string& task, const stdfs::path& out) {
  ke::ExportOptions o;
  o.task = (kexp_test::KernelsDir() / task).string();
  o.out = out.string();
  o.dsx_version = "dsx test";
  return o;
}

void CheckBuildToml(const stdfs::path& dir, const ke::ExportReport& rep) {
  toml::table t = toml::parse_file((dir / "build.toml").string());
  CHECK(t["general"]["name"].value<std::string>() == rep.kernel_name);
  CHECK(t["general"]["version"].is_integer());
  CHECK(t["general"]["edition"].value<int64_t>() == 5);
  CHECK(t["general"]["license"].is_string());
  REQUIRE(t["general"]["backends"].is_array());
  CHECK(t["general"]["backends"][0].value<std::string>() == "cuda");
  REQUIRE(t["torch"]["src"].is_array());
  const toml::table* kt = t["kernel"][rep.op].as_table();
  REQUIRE(kt != nullptr);
  CHECK((*kt)["backend"].value<std::string>() == "cuda");
  CHECK((*kt)["depends"][0].value<std::string>() == "torch");
  const toml::array* lists[] = {t["torch"]["src"].as_array(), (*kt)["src"].as_array()};
  for (const toml::array* list : lists) {
    REQUIRE(list != nullptr);
    for (const auto& f : *list) {
      std::optional<std::string> rel = f.value<std::string>();
      REQUIRE(rel.has_value());
      CHECK_MESSAGE(stdfs::is_regular_file(dir / *rel), "missing " << *rel);
    }
  }
}

// launch.h compiled with the host compiler must plan every (dtype, preset) exactly as dsx does.
void CheckLaunchPlans(const stdfs::path& dir, const k::TaskSpec& task, const ke::ExportReport& rep) {
  auto launch = k::LaunchForFile(task, rep.impl, kexp_test::Slurp(rep.impl));
  REQUIRE(launch.ok());
  auto model = ke::BuildOpModel(task, *launch, rep.kernel_name);
  REQUIRE(model.ok());
  const std::string ns = model->py_name + "_dsx";
  std::string main = "#include <cstdio>\n#include \"launch.h\"\nint main() {\n";
  std::string want;
  for (k::DType d : task.dtypes)
    for (const auto& preset : task.presets) {
      auto inst = k::Instantiate(task, d, preset);
      REQUIRE(inst.ok());
      auto rl = k::ResolveLaunch(*launch, *inst);
      REQUIRE(rl.ok());
      main += "  { " + ns + "::Sizes s; " + ns + "::Plan p;\n";
      for (const auto& b : model->sizes)
        main += "    s." + ke::SafeIdent(b.var) + " = " + std::to_string(inst->sizes.at(b.var)) + "LL;\n";
      main += "    std::string e = " + ns + "::plan_" + k::DTypeName(d) + "(s, &p);\n";
      main += "    std::printf(\"%s|%u %u %u|%u %u %u|%u\", e.c_str(), p.grid[0], p.grid[1], p.grid[2], "
              "p.block[0], p.block[1], p.block[2], p.shared);\n";
      char buf[256];
      std::snprintf(buf, sizeof buf, "|%u %u %u|%u %u %u|%u", rl->grid[0], rl->grid[1], rl->grid[2], rl->block[0],
                    rl->block[1], rl->block[2], rl->shared);
      want += buf;
      for (const auto& rp : inst->params) {
        if (rp.spec->kind == k::ParamKind::kPtr) {
          const auto* t = model->FindTensor(rp.spec);
          REQUIRE(t != nullptr);
          main += "    for (long long v : p.shape_" + t->ident + ") std::printf(\" %lld\", v);\n";
          for (auto v : rp.shape) want += " " + std::to_string(v);
        } else if (!ke::NamesIn(rp.spec->value).empty()) {
          const bool fl = k::DTypeIsFloat(*k::ParseDType(rp.spec->dtype));
          main += std::string("    std::printf(\" ") + (fl ? "%.9g" : "%lld") + "\", p.sc_" +
                  ke::SafeIdent(rp.spec->name) + ");\n";
          if (fl) std::snprintf(buf, sizeof buf, " %.9g", rp.scalar);
          else std::snprintf(buf, sizeof buf, " %lld", static_cast<long long>(rp.scalar));
          want += buf;
        }
      }
      main += "    std::printf(\"\\n\"); }\n";
      want += "\n";
    }
  // [allowed]: a value the kernel was not specialised for is refused by the plan, naming it.
  for (const auto& [var, vals] : task.allowed) {
    bool used = false;
    for (const auto& b : model->sizes) used = used || b.var == var;
    if (!used || vals.empty()) continue;
    auto inst = k::Instantiate(task, task.dtypes[0], task.presets[0]);
    REQUIRE(inst.ok());
    const long long bad = *std::max_element(vals.begin(), vals.end()) + 1;
    main += "  { " + ns + "::Sizes s; " + ns + "::Plan p;\n";
    for (const auto& b : model->sizes)
      main += "    s." + ke::SafeIdent(b.var) + " = " + std::to_string(b.var == var ? bad : inst->sizes.at(b.var)) +
              "LL;\n";
    main += "    std::printf(\"%s\\n\", " + ns + "::plan_" + k::DTypeName(task.dtypes[0]) + "(s, &p).c_str()); }\n";
    want += var + " = " + std::to_string(bad) + " is not a value this kernel supports (allowed: ";
    for (size_t i = 0; i < vals.size(); ++i) want += (i ? ", " : "") + std::to_string(vals[i]);
    want += ")\n";
  }
  main += "  return 0;\n}\n";
  const stdfs::path tmp = kexp_test::TempDir("plan");
  stdfs::create_directories(tmp);
  std::ofstream(tmp / "main.cpp") << main;
  std::string out;
  int rc = kexp_test::Run("c++ -std=c++17 -Wall -Werror -I" + Q(dir / (model->py_name + "_cuda")) + " " +
                              Q(tmp / "main.cpp") + " -o " + Q(tmp / "plan"),
                          &out);
  REQUIRE_MESSAGE(rc == 0, out);
  rc = kexp_test::Run(Q(tmp / "plan"), &out);
  REQUIRE(rc == 0);
  CHECK(out == want);
  stdfs::remove_all(tmp);
}

}  // namespace

TEST_CASE("every shipped task exports to a project that passes the layout, Python, NVRTC and plan checks") {
  int exported = 0;
  for (const auto& name : k::ListTaskNames(kexp_test::KernelsDir())) {
    auto task = k::LoadTask(kexp_test::KernelsDir() / name);
    if (!task.ok()) {
      MESSAGE("task '" << name << "' does not load (" << task.status().message() << "); not this test's subject");
      continue;
    }
    CAPTURE(name);
    const stdfs::path out = kexp_test::TempDir(name);
    auto rep = ke::ExportKernel(Opts(name, out));
    REQUIRE_MESSAGE(rep.ok(), rep.status().message());
    ++exported;
    CHECK_FALSE(rep->measured);
    CheckBuildToml(out, *rep);

    auto layout = ke::ValidateProject(out);
    REQUIRE_MESSAGE(layout.ok(), layout.status().message());
    CHECK(layout->ops_def == std::vector<std::string>{rep->op});
    for (const auto& op : layout->ops_called) CHECK(op == rep->op);
    CHECK(kexp_test::Slurp(out / "torch-ext" / "torch_binding.cpp").find("ops.def(\"" + rep->schema + "\")") !=
          std::string::npos);

    std::string pyout;
    const stdfs::path init = out / "torch-ext" / rep->op / "__init__.py";
    int rc = kexp_test::Run("/usr/bin/python3 -m py_compile " + Q(init), &pyout);
    CHECK_MESSAGE(rc == 0, pyout);

    // The kernel exactly as exported, by NVRTC for sm_80, every dtype's instantiation.
    k::CompileOptions co;
    co.arch = "sm_80";
    co.use_cache = false;
    co.cache_dir = (out / ".nvrtc-cache").string();
    auto launch = k::LaunchForFile(*task, rep->impl, kexp_test::Slurp(rep->impl));
    REQUIRE(launch.ok());
    if (launch->entry.find('<') != std::string::npos)
      for (k::DType d : task->dtypes) co.name_exprs.push_back(k::SubstituteEntry(launch->entry, d));
    auto mod = k::CompileFile((out / (rep->op + "_cuda") / (rep->op + "_kernel.cuh")).string(), co);
    if (!mod.ok() && mod.status().code() == dsx::Code::kUnavailable) {
      MESSAGE("NVRTC unavailable: " << mod.status().message());
    } else {
      REQUIRE(mod.ok());
      std::string diags;
      for (const auto& dg : mod->diagnostics) diags += dg.ToString() + "\n";
      CHECK_MESSAGE(mod->success, diags);
    }
    stdfs::remove_all(out / ".nvrtc-cache");

    CheckLaunchPlans(out, *task, *rep);
    stdfs::remove_all(out);
  }
  CHECK(exported >= 8);
}

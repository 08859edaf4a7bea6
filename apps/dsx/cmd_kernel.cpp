// dsx kernel: run-time compiled CUDA kernels, verified and timed honestly.
//   list | show TASK | compile FILE.cu | cache stats|clear | bench TASK | peaks
// `gen` lives in kernel_gen.cpp. The hidden `__child` runs one benchmark configuration in a
// separate process (see lib/kernel/bench/child.hpp); users never call it.
#include <cstdio>
#include <iostream>
#include <string>

#include "cli.hpp"
#include "commands.hpp"
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
          r["optimized_launch"] = {{"entry", rl->entry}, {"grid", rl->grid}, {"block", rl->block}, {"shared", rl->shared}};
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
    for (const auto& p : t->presets) {
      std::string vars;
      for (const auto& [n, v] : t->sizes.at(p)) vars += " " + n + "=" + std::to_string(v);
      const json& r = j["resolved"][std::string(k::DTypeName(t->dtypes[0])) + "/" + p];
      std::printf("  %-8s%s  (%s: %.1f MB, %.3g GFLOP)\n", p.c_str(), vars.c_str(), k::DTypeName(t->dtypes[0]),
                  r["bytes"].get<double>() / 1e6, r["flops"].get<double>() / 1e9);
    }
    std::printf("params:\n");
    for (const auto& p : t->params) {
      if (p.kind == k::ParamKind::kPtr) {
        std::string shape;
        for (const auto& s : p.shape) shape += (shape.empty() ? "" : ", ") + s;
        const char* io = p.io == k::ParamIo::kIn ? "in" : p.io == k::ParamIo::kOut ? "out" : "scratch";
        std::printf("  %-10s %-4s* [%s] %s\n", p.name.c_str(), p.dtype.c_str(), shape.c_str(), io);
      } else {
        std::printf("  %-10s %-4s  = %s\n", p.name.c_str(), p.dtype.c_str(), p.value.c_str());
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
      std::printf("%-11s %s: %s  grid [%s] block [%s] shared %s\n", l == &t->reference ? "reference:" : "optimized:",
                  l->file.c_str(), l->entry.c_str(), grid.c_str(), block.c_str(), l->shared.c_str());
    }
  });
}

}  // namespace

void register_kernel(CLI::App& app) {
  auto* kernel = app.add_subcommand("kernel", "CUDA kernels: compile with NVRTC, verify, time honestly, generate");
  kernel->require_subcommand(1);
  RegisterList(*kernel);
  RegisterShow(*kernel);
  register_kernel_gen(*kernel);
}

}  // namespace dsx::cmd

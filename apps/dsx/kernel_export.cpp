// dsx kernel export TASK [--impl FILE] --out DIR [--results BENCH.json]: a verified kernel as a
// Hugging Face kernel-builder project. The work is in lib/kernel/export (docs/kernel-export.md).
#include <cstdio>

#include "cli.hpp"
#include "commands.hpp"
#include "kernel/export/export.hpp"
#include "version.hpp"

namespace dsx::cmd {

void register_kernel_export(CLI::App& kernel) {
  auto* cmd = kernel.add_subcommand(
      "export", "write a verified kernel as a Hugging Face kernel-builder project (build.toml, torch op, README)");
  struct Opts {
    dsx::kernel::exp::ExportOptions e;
    std::string caps;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("TASK", o->e.task, "task name or folder")->required();
  cmd->add_option("--impl", o->e.impl, "the kernel .cu file (default: the task's optimized kernel)");
  cmd->add_option("--out", o->e.out, "project folder to write (must be empty or absent unless --force)")->required();
  cmd->add_option("--results", o->e.results,
                  "`dsx kernel bench --json` output for this file: verification and timing for the README");
  cmd->add_option("--name", o->e.name, "kernel-builder name (default: the task's, '_' -> '-')");
  cmd->add_option("--license", o->e.license, "SPDX license for build.toml")->capture_default_str();
  cmd->add_option("--repo-id", o->e.repo_id, "Hub repository 'org/name' for [general.hub]");
  cmd->add_option("--cuda-capabilities", o->caps, "comma-separated compute capabilities (default 8.0,9.0)");
  cmd->add_flag("--force", o->e.force, "write into a folder that is not empty");
  cmd->add_flag("--json", o->json, "print what was written as JSON");
  cmd->callback([o] {
    auto& e = o->e;
    e.dsx_version = std::string("dsx ") + DSX_VERSION;
    if (!o->caps.empty()) {
      e.cuda_capabilities.clear();
      size_t start = 0;
      while (start <= o->caps.size()) {
        size_t c = o->caps.find(',', start);
        std::string part = o->caps.substr(start, c == std::string::npos ? std::string::npos : c - start);
        if (part.empty()) return cli::Finish(Status::Usage("--cuda-capabilities: empty entry in '" + o->caps + "'"));
        e.cuda_capabilities.push_back(part);
        if (c == std::string::npos) break;
        start = c + 1;
      }
    }
    auto rep = dsx::kernel::exp::ExportKernel(e);
    if (!rep.ok()) return cli::Finish(rep.status());
    if (o->json) {
      nlohmann::json files = nlohmann::json::array();
      for (const auto& f : rep->files) files.push_back({{"path", f.path}, {"bytes", f.bytes}});
      return cli::PrintJson({{"out", rep->out_dir},
                             {"task", rep->task},
                             {"kernel_name", rep->kernel_name},
                             {"op", rep->op},
                             {"schema", rep->schema},
                             {"impl", rep->impl},
                             {"impl_sha256", rep->impl_sha256},
                             {"dtypes", rep->dtypes},
                             {"measured", rep->measured},
                             {"device", rep->measured ? nlohmann::json(rep->device) : nlohmann::json()},
                             {"files", files}});
    }
    std::string dtypes;
    for (const auto& d : rep->dtypes) dtypes += (dtypes.empty() ? "" : ", ") + d;
    std::printf("exported '%s' as kernel '%s' (%s) to %s: %zu files\n", rep->task.c_str(), rep->kernel_name.c_str(),
                dtypes.c_str(), rep->out_dir.c_str(), rep->files.size());
    std::printf("op:       %s\n", rep->schema.c_str());
    if (rep->measured) std::printf("measured: on %s (README.md has the table)\n", rep->device.c_str());
    else std::printf("measured: no (no --results); README.md says so\n");
    cli::SetExit(0);
  });
}

}  // namespace dsx::cmd

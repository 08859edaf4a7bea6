// dsx finetune: submit "<instruction>" -> a validated, costed fine-tuning job; status|logs|cancel|list
// are `dsx jobs` filtered to fine-tunes. Logic lives in lib/finetune and lib/jobs/service.
#include "cli.hpp"
#include "commands.hpp"

namespace dsx::cmd {

void register_finetune(CLI::App& app) {
  auto* ft = app.add_subcommand("finetune", "fine-tune a model from a plain-language request, costed before it runs");
  ft->require_subcommand(1);
}

}  // namespace dsx::cmd

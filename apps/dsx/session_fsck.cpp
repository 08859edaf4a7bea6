// dsx session fsck|repair DIR: flags -> lib/session/store/file/{fsck,repair}.hpp, then print.
// What they check and do: docs/formats/segment-log.md ("Torn tails and corruption", "fsck and
// repair"); output and exit codes: man dsx-session.
#include <cstdio>
#include <string>

#include "cli.hpp"
#include "commands.hpp"
#include "core/log.hpp"
#include "session/store/file/fsck.hpp"
#include "session/store/file/repair.hpp"

namespace dsx::cmd {
namespace {

namespace fs = dsx::session::filestore;

void RunFsck(const std::string& dir, bool json) {
  // The findings are the output; recovery's own log lines would repeat them on stderr.
  log::SetLevel(log::Level::kError);
  auto r = fs::Fsck(dir);
  if (!r) return cli::Finish(r.status());
  if (json) cli::PrintJson(fs::FsckJson(*r));
  else std::fputs(fs::FsckText(*r).c_str(), stdout);
  cli::SetExit(r->corrupt() ? 1 : 0);
}

void RunRepair(const std::string& dir, bool json) {
  log::SetLevel(log::Level::kError);
  auto r = fs::Repair(dir);
  if (!r) return cli::Finish(r.status());
  fs::FsckResult before{dir, false, r->before}, after{dir, false, r->after};
  if (json) {
    nlohmann::json j;
    j["dir"] = dir;
    j["before"] = fs::FsckJson(before);
    j["after"] = fs::FsckJson(after);
    cli::PrintJson(j);
  } else {
    std::fputs(("before repair:\n" + fs::FsckText(before) + "after repair:\n" + fs::FsckText(after)).c_str(), stdout);
  }
  cli::SetExit(after.corrupt() ? 1 : 0);
}

}  // namespace

void register_session_fsck(CLI::App& session) {
  auto* fsck = session.add_subcommand(
      "fsck",
      "check a file store directory (read-only): bad ranges per segment, indexes, checkpoint, affected streams");
  auto dir = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  fsck->add_option("dir", *dir, "data directory (as given to serve --data)")->required();
  fsck->add_flag("--json", *json, "print one JSON document instead of text");
  fsck->footer("Exit status: 0 clean, 1 corruption found (or the check failed), 2 usage, 3 no such store.");
  fsck->callback([dir, json] { RunFsck(*dir, *json); });

  auto* repair = session.add_subcommand(
      "repair",
      "salvage every valid record of a damaged file store (rewrites corrupt segments; server must be stopped)");
  auto rdir = std::make_shared<std::string>();
  auto rjson = std::make_shared<bool>(false);
  repair->add_option("dir", *rdir, "data directory (as given to serve --data)")->required();
  repair->add_flag("--json", *rjson, "print one JSON document instead of text");
  repair->footer(
      "Exit status: 0 repaired (or nothing to repair), 1 failed, 2 usage, 3 no such store, 4 refused: a server holds "
      "DIR.");
  repair->callback([rdir, rjson] { RunRepair(*rdir, *rjson); });
}

}  // namespace dsx::cmd

// /proc readers for the local backend (proc_info.hpp).
#include "jobs/local/proc_info.hpp"

#include <dirent.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/fs.hpp"

namespace dsx::jobs {
namespace {

// The fields of /proc/<pid>/stat after "pid (comm)": comm may hold spaces and ')', so they are
// counted from the last ')'. fields[0] is field 3 (state). Empty when unreadable.
std::string StatFieldsFrom(int pid) {
  auto text = fs::ReadFile("/proc/" + std::to_string(pid) + "/stat");
  if (!text.ok()) return "";
  const auto rp = text->rfind(')');
  return rp == std::string::npos ? "" : text->substr(rp + 1);
}

// Field `n` (1-based, as proc(5) numbers them; n >= 3) of a StatFieldsFrom string.
std::string Field(const std::string& rest, int n) {
  std::size_t at = 0;
  for (int field = 3;; ++field) {
    at = rest.find_first_not_of(' ', at);
    if (at == std::string::npos) return "";
    const std::size_t end = rest.find(' ', at);
    if (field == n) return rest.substr(at, end == std::string::npos ? std::string::npos : end - at);
    if (end == std::string::npos) return "";
    at = end;
  }
}

bool Live(const std::string& rest) {
  const std::string state = Field(rest, 3);
  return !state.empty() && state != "Z" && state != "X";
}

}  // namespace

long long ProcessStartTime(int pid) {
#ifdef __linux__
  if (pid <= 0) return -1;
  const std::string rest = StatFieldsFrom(pid);
  if (!Live(rest)) return -1;
  const std::string start = Field(rest, 22);
  char* end = nullptr;
  const long long v = std::strtoll(start.c_str(), &end, 10);
  return start.empty() || *end != '\0' ? -1 : v;
#else
  (void)pid;
  return -1;
#endif
}

int KillJobStrays(long long pgid, const std::string& jobdir) {
#ifdef __linux__
  if (pgid <= 1) return 0;
  const std::string marker = "DSX_JOB_DIR=" + jobdir;
  int killed = 0;
  DIR* proc = ::opendir("/proc");
  if (!proc) return 0;
  while (const dirent* e = ::readdir(proc)) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    const int pid = std::atoi(e->d_name);
    const std::string rest = StatFieldsFrom(pid);
    if (!Live(rest) || Field(rest, 5) != std::to_string(pgid)) continue;
    auto env = fs::ReadFile("/proc/" + std::to_string(pid) + "/environ");  // NUL-separated
    if (!env.ok()) continue;
    bool ours = false;
    for (std::size_t at = 0; at < env->size();) {
      const std::size_t end = env->find('\0', at);
      const std::size_t len = (end == std::string::npos ? env->size() : end) - at;
      if (env->compare(at, len, marker) == 0) {
        ours = true;
        break;
      }
      if (end == std::string::npos) break;
      at = end + 1;
    }
    if (ours && ::kill(pid, SIGKILL) == 0) ++killed;
  }
  ::closedir(proc);
  return killed;
#else
  (void)pgid;
  (void)jobdir;
  return 0;
#endif
}

}  // namespace dsx::jobs

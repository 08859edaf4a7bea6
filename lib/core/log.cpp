#include "core/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

#include <nlohmann/json.hpp>

namespace dsx::log {
namespace {
std::atomic<Format> g_format{Format::kText};
std::atomic<Level> g_level{Level::kInfo};
std::mutex g_mu;  // one whole line per write, even from several threads

const char* LevelName(Level l) {
  switch (l) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
  }
  return "info";
}

std::string NowIso() {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}
}  // namespace

void SetFormat(Format f) { g_format = f; }
void SetLevel(Level l) { g_level = l; }
Format GetFormat() { return g_format; }

void Write(Level level, std::string_view msg, const Fields& fields) {
  if (level < g_level.load()) return;
  std::string line;
  if (g_format == Format::kJson) {
    nlohmann::json j;
    j["ts"] = NowIso();
    j["level"] = LevelName(level);
    j["msg"] = msg;
    for (const auto& [k, v] : fields) j[k] = v;
    line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else {
    line = "dsx: ";
    if (level == Level::kWarn) line += "warning: ";
    if (level == Level::kError) line += "error: ";
    line += msg;
    for (const auto& [k, v] : fields) {
      line += ' ';
      line += k;
      line += '=';
      line += v;
    }
  }
  line += '\n';
  std::lock_guard lock(g_mu);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace dsx::log

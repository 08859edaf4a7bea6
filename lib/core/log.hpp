// One line per notable event on stderr; `--log-format json` for log shippers.
// Never pass secrets (tokens, API keys) to these functions.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dsx::log {

enum class Format { kText, kJson };
enum class Level { kDebug, kInfo, kWarn, kError };

void SetFormat(Format f);
void SetLevel(Level min_level);
Format GetFormat();

using Fields = std::vector<std::pair<std::string, std::string>>;

// text:  "dsx: <msg> key=value ..."      json: {"ts":...,"level":...,"msg":...,key:value}
void Write(Level level, std::string_view msg, const Fields& fields = {});
inline void Info(std::string_view m, const Fields& f = {}) { Write(Level::kInfo, m, f); }
inline void Warn(std::string_view m, const Fields& f = {}) { Write(Level::kWarn, m, f); }
inline void Error(std::string_view m, const Fields& f = {}) { Write(Level::kError, m, f); }
inline void Debug(std::string_view m, const Fields& f = {}) { Write(Level::kDebug, m, f); }

}  // namespace dsx::log

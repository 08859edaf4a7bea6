#include "kernel/gen/extract.hpp"

#include <regex>
#include <vector>

#include "kernel/gen/task_info.hpp"

namespace dsx::kernel::gen {
namespace {

struct Block {
  std::string lang;
  std::string code;
};

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool IsCodeLang(const std::string& lang) {
  static const char* kCode[] = {"", "cuda", "cu", "cuh", "cpp", "c++", "cxx", "cc", "c", "h", "hpp"};
  std::string l = Lower(lang);
  for (const char* k : kCode)
    if (l == k) return true;
  return false;
}

std::string StripThink(std::string_view reply) {
  std::string s(reply);
  for (;;) {
    size_t open = s.find("<think>");
    if (open == std::string::npos) break;
    size_t close = s.find("</think>", open);
    s.erase(open, close == std::string::npos ? std::string::npos : close + 8 - open);
  }
  return s;
}

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t nl = s.find('\n', start);
    std::string line = s.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    out.push_back(line);
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return out;
}

// A fence line: up to 3 spaces, then >= 3 backticks or tildes, then an optional info string.
bool FenceOpen(const std::string& line, char& ch, size_t& len, std::string& lang) {
  size_t i = line.find_first_not_of(' ');
  if (i == std::string::npos || i > 3) return false;
  ch = line[i];
  if (ch != '`' && ch != '~') return false;
  size_t j = i;
  while (j < line.size() && line[j] == ch) ++j;
  len = j - i;
  if (len < 3) return false;
  std::string info = line.substr(j);
  size_t a = info.find_first_not_of(" \t");
  if (a == std::string::npos) {
    lang.clear();
  } else {
    info = info.substr(a);
    lang = info.substr(0, info.find_first_of(" \t{"));
  }
  if (ch == '`' && info.find('`') != std::string::npos) return false;
  return true;
}

bool FenceClose(const std::string& line, char ch, size_t len) {
  size_t i = line.find_first_not_of(' ');
  if (i == std::string::npos || i > 3) return false;
  size_t j = i;
  while (j < line.size() && line[j] == ch) ++j;
  return j - i >= len && line.find_first_not_of(" \t", j) == std::string::npos;
}

std::vector<Block> FencedBlocks(const std::vector<std::string>& lines) {
  std::vector<Block> out;
  for (size_t i = 0; i < lines.size(); ++i) {
    char ch;
    size_t len;
    std::string lang;
    if (!FenceOpen(lines[i], ch, len, lang)) continue;
    Block b{lang, ""};
    size_t k = i + 1;
    for (; k < lines.size() && !FenceClose(lines[k], ch, len); ++k) b.code += lines[k] + "\n";
    out.push_back(std::move(b));
    i = k;  // past the closing fence (or the end for an unterminated one)
  }
  return out;
}

bool LooksLikeCodeStart(const std::string& line) {
  static const std::regex kStart(
      R"(^\s*(#include|#define|#pragma|//|/\*|template\s*<|extern\s|__global__|__device__|static\s|namespace\s|struct\s|typedef\s|using\s|constexpr\s))");
  return std::regex_search(line, kStart);
}

}  // namespace

bool DefinesGlobal(std::string_view code, std::string_view name) {
  if (name.empty()) return false;
  std::string pattern = R"(__global__[^;{}]*\b)" + std::string(name) + R"(\s*\()";
  std::regex re(pattern);
  std::string s(code);
  return std::regex_search(s, re);
}

std::string LaunchLineEntry(std::string_view code) {
  static const std::regex kLaunch(R"re(//\s*dsx-launch:.*\bentry\s*=\s*"([^"]+)")re");
  std::string s(code);
  std::smatch m;
  if (std::regex_search(s, m, kLaunch)) return EntryBaseName(m[1].str());
  return "";
}

Result<Extracted> ExtractCode(std::string_view reply, std::string_view entry) {
  std::string text = StripThink(reply);
  auto lines = Lines(text);
  auto all = FencedBlocks(lines);
  std::vector<Block> blocks;
  for (auto& b : all)
    if (IsCodeLang(b.lang) && b.code.find_first_not_of(" \t\n") != std::string::npos) blocks.push_back(std::move(b));

  auto defines = [&](const std::string& code) {
    std::string e = LaunchLineEntry(code);
    return DefinesGlobal(code, e.empty() ? entry : std::string_view(e));
  };

  Extracted out;
  out.blocks = static_cast<int>(blocks.size());
  if (!blocks.empty()) {
    int pick = -1;
    for (int i = static_cast<int>(blocks.size()) - 1; i >= 0 && pick < 0; --i)
      if (defines(blocks[i].code)) pick = i;
    out.defines_entry = pick >= 0;
    for (int i = static_cast<int>(blocks.size()) - 1; i >= 0 && pick < 0; --i)
      if (blocks[i].code.find("__global__") != std::string::npos) pick = i;
    if (pick < 0) pick = static_cast<int>(blocks.size()) - 1;
    out.code = blocks[pick].code;
    out.how = "fenced block " + std::to_string(pick + 1) + " of " + std::to_string(blocks.size()) +
              (out.defines_entry ? " (defines the entry)" : " (entry not found)");
    return out;
  }
  if (text.find("__global__") == std::string::npos)
    return Status::Failed("no CUDA code in the reply (no fenced code block and no __global__ function)");
  size_t first = 0;
  while (first < lines.size() && !LooksLikeCodeStart(lines[first])) ++first;
  size_t last = lines.size();
  while (last > first && lines[last - 1].find('}') == std::string::npos) --last;
  if (first >= last) return Status::Failed("no CUDA code in the reply (cannot find where the code starts)");
  for (size_t i = first; i < last; ++i) out.code += lines[i] + "\n";
  out.defines_entry = defines(out.code);
  out.how = "unfenced code";
  return out;
}

}  // namespace dsx::kernel::gen

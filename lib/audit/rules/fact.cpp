// Fact helpers.
#include "audit/rules/fact.hpp"

namespace dsx::audit {

std::string MakeExcerpt(std::string_view line, size_t max) {
  size_t a = 0, b = line.size();
  while (a < b && (line[a] == ' ' || line[a] == '\t' || line[a] == '\r')) ++a;
  while (b > a && (line[b - 1] == ' ' || line[b - 1] == '\t' || line[b - 1] == '\r')) --b;
  std::string_view s = line.substr(a, b - a);
  if (s.size() <= max) return std::string(s);
  size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // UTF-8 boundary
  return std::string(s.substr(0, cut)) + "...";
}

}  // namespace dsx::audit

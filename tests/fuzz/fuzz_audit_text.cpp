// libFuzzer target for text the static audit reads from any repository before tree-sitter sees it:
// the <script> blocks of component files (audit::ExtractScriptBlocks over a .svelte/.vue file).
// Properties: no crash, no sanitizer report; the result is exactly as long as the input; every
// line break stays where it was (facts keep the file's lines); every other byte is either the
// input's byte at that offset or a space; nothing before the first "<script" is kept.
// Also the live probe's reading of a dsx session's control.ack from the app's SSE body
// (audit::probe::FirstControlAckOutcome, issue 17's steer check): never throws or crashes on any
// bytes; an outcome is only found where the bytes say "control.ack"; and any outcome text (the
// input, invalid UTF-8 replaced) wrapped in a well-formed control.ack event comes back exactly.
// And the SARIF path encoding (audit::PathToUriReference, issue 18): any bytes become a URI
// reference RFC 3986 accepts (code scanning rejects a whole log over one bad URI), never throwing;
// DirectoryFileUri gives a file:/// URI ending in '/' for any absolute path, "" for others.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "audit/probe/control_ack.hpp"
#include "audit/report/uri.hpp"
#include "audit/static/script_blocks.hpp"

namespace {

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

size_t FirstScriptTag(std::string_view in) {
  static constexpr std::string_view kTag = "<script";
  for (size_t i = 0; i + kTag.size() <= in.size(); ++i) {
    size_t k = 0;
    while (k < kTag.size() && Lower(in[i + k]) == kTag[k]) ++k;
    if (k == kTag.size()) return i;
  }
  return in.size();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string out = dsx::audit::ExtractScriptBlocks(in);
  if (out.size() != in.size()) __builtin_trap();
  size_t first_tag = FirstScriptTag(in);
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '\n' || c == '\r') {
      if (out[i] != c) __builtin_trap();  // lines are kept
    } else if (out[i] != ' ' && out[i] != c) {
      __builtin_trap();  // only the input's own bytes or blanks
    } else if (i < first_tag && out[i] != ' ') {
      __builtin_trap();  // markup before any script block is never code
    }
  }

  std::string outcome = dsx::audit::probe::FirstControlAckOutcome(in);
  if (!outcome.empty() && in.find("control.ack") == std::string_view::npos) __builtin_trap();
  nlohmann::json ack{{"type", "control.ack"}, {"data", {{"outcome", std::string(in)}}}};
  std::string line = ack.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string want = nlohmann::json::parse(line)["data"]["outcome"].get<std::string>();
  std::string body = "event: control\r\nid: 1\r\ndata: " + line + "\r\n\r\ndata: {\"type\":\"control.ack\"}\n\n";
  if (dsx::audit::probe::FirstControlAckOutcome(body) != (want.empty() ? "without an outcome" : want)) __builtin_trap();

  if (!dsx::audit::IsUriReference(dsx::audit::PathToUriReference(in))) __builtin_trap();
  const std::string dir = "/" + std::string(in);
  const std::string uri = dsx::audit::DirectoryFileUri(dir);
  if (uri.rfind("file:///", 0) != 0 || uri.back() != '/' || !dsx::audit::IsUriReference(uri)) __builtin_trap();
  if (!in.empty() && in[0] != '/' && !dsx::audit::DirectoryFileUri(in).empty()) __builtin_trap();
  return 0;
}

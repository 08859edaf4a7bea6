#include <doctest/doctest.h>

#include <string>

#include "audit/static/script_blocks.hpp"
#include "audit/static/source_walker.hpp"

using dsx::audit::ExtractScriptBlocks;
using dsx::audit::IsComponentFile;

namespace {

// Every byte outside the kept text is a space, except line breaks.
bool OnlyBlanks(const std::string& s) { return s.find_first_not_of(" \n\r") == std::string::npos; }

// The line (1-based) of the first occurrence of `what` in `s`.
int LineOf(const std::string& s, const std::string& what) {
  size_t at = s.find(what);
  REQUIRE(at != std::string::npos);
  int line = 1;
  for (size_t i = 0; i < at; ++i) line += s[i] == '\n';
  return line;
}

}  // namespace

TEST_CASE("script blocks: the contents stay at their byte offsets, the markup becomes blanks") {
  std::string src =
      "<script lang=\"ts\">\n"
      "  import { Chat } from '@ai-sdk/svelte';\n"
      "  const chat = new Chat({});\n"
      "</script>\n"
      "\n"
      "<button on:click={() => chat.stop()}>Stop</button>\n";
  std::string out = ExtractScriptBlocks(src);
  REQUIRE(out.size() == src.size());
  CHECK(out.find("import { Chat } from '@ai-sdk/svelte';") == src.find("import { Chat }"));
  CHECK(LineOf(out, "new Chat") == 3);
  CHECK(out.find("button") == std::string::npos);
  CHECK(out.find("script") == std::string::npos);  // the tags themselves are blanked
  CHECK(out.find("chat.stop()") == std::string::npos);
  // Line breaks are where they were.
  for (size_t i = 0; i < src.size(); ++i)
    if (src[i] == '\n') CHECK(out[i] == '\n');
}

TEST_CASE("script blocks: several blocks, module context and <script setup lang=ts>") {
  std::string svelte =
      "<script context=\"module\">\n  export const prerender = false;\n</script>\n"
      "<script>\n  let x = 1;\n</script>\n<p>{x}</p>\n";
  std::string out = ExtractScriptBlocks(svelte);
  CHECK(LineOf(out, "export const prerender") == 2);
  CHECK(LineOf(out, "let x = 1;") == 5);
  CHECK(out.find("<p>") == std::string::npos);

  std::string vue =
      "<template>\n  <div @click=\"stop\">x</div>\n</template>\n"
      "<script setup lang=\"ts\">\nconst es = new EventSource('/api/events')\n</script>\n"
      "<style scoped>\n.a { color: red }\n</style>\n";
  out = ExtractScriptBlocks(vue);
  CHECK(LineOf(out, "new EventSource") == 5);
  CHECK(out.find("template") == std::string::npos);
  CHECK(out.find("color") == std::string::npos);
}

TEST_CASE("script blocks: a quoted '>' in an attribute does not end the opening tag") {
  std::string src = "<script data-x=\"a>b\" lang='t>s'>let y = 2;</script>";
  std::string out = ExtractScriptBlocks(src);
  CHECK(out.find("let y = 2;") == src.find("let y = 2;"));
  CHECK(out.find("a>b") == std::string::npos);
  CHECK(out.find("t>s") == std::string::npos);
}

TEST_CASE("script blocks: uppercase tags, a missing </script>, and </script inside a string") {
  std::string upper = "<SCRIPT>const a = 1;</SCRIPT><div/>";
  std::string out = ExtractScriptBlocks(upper);
  CHECK(out.find("const a = 1;") == 8);
  CHECK(out.find("div") == std::string::npos);

  std::string open = "<p>hi</p>\n<script>\nconst b = 2;\nconst c = 3;\n";
  out = ExtractScriptBlocks(open);
  CHECK(LineOf(out, "const c = 3;") == 4);  // runs to the end of the file
  CHECK(out.find("hi") == std::string::npos);

  // As in a browser, the first "</script" ends the block, even inside a JS string.
  std::string str = "<script>const s = '</script>'; const after = 1;</script>";
  out = ExtractScriptBlocks(str);
  CHECK(out.find("const s = '") == 8);
  CHECK(out.find("after") == std::string::npos);
}

TEST_CASE("script blocks: data blocks, self-closing tags, comments and look-alike tags are not code") {
  std::string src =
      "<script type=\"application/ld+json\">{\"a\": 1}</script>\n"
      "<script src=\"/x.js\" />\n"
      "<!-- <script>const hidden = 1;</script> -->\n"
      "<scripts>not code</scripts>\n"
      "<script type=\"module\">const shown = 1;</script>\n";
  std::string out = ExtractScriptBlocks(src);
  CHECK(out.find("\"a\"") == std::string::npos);
  CHECK(out.find("hidden") == std::string::npos);
  CHECK(out.find("not code") == std::string::npos);
  CHECK(LineOf(out, "const shown = 1;") == 5);
}

TEST_CASE("script blocks: empty, markup-only and truncated input give blanks of the same length") {
  CHECK(ExtractScriptBlocks("").empty());
  for (std::string s : {"<div>\r\n</div>", "<script", "<script lang=\"ts", "<!-- open", "<", "<script>"}) {
    std::string out = ExtractScriptBlocks(s);
    CHECK(out.size() == s.size());
    CHECK(OnlyBlanks(out));
  }
  CHECK(ExtractScriptBlocks("<div>\r\n</div>") == "     \r\n      ");
}

TEST_CASE("component files: .svelte and .vue, parsed as TypeScript") {
  CHECK(IsComponentFile("src/routes/+page.svelte"));
  CHECK(IsComponentFile("components/Chat.vue"));
  CHECK(IsComponentFile("A.SVELTE"));
  CHECK_FALSE(IsComponentFile("svelte.config.js"));
  CHECK_FALSE(IsComponentFile("vue"));
  using dsx::audit::Lang;
  CHECK(dsx::audit::LangForPath("src/routes/+page.svelte") == Lang::kTypeScript);
  CHECK(dsx::audit::LangForPath("pages/index.vue") == Lang::kTypeScript);
  CHECK(dsx::audit::LangForPath("server/api/chat.post.mts") == Lang::kTypeScript);
  CHECK(dsx::audit::LangForPath("lib/x.cjs") == Lang::kJavaScript);
}

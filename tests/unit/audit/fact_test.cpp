// Excerpts: a fact's evidence must say something on its own, never a lone `const {` or `(`.
#include <doctest/doctest.h>

#include <string>

#include "audit/rules/fact.hpp"

using namespace dsx::audit;

TEST_CASE("excerpt: weak lines are the ones that say nothing on their own") {
  for (const char* s : {"const {", "}", "(", "})", "x = [", "return (", "} else {", "a.b.c(d, e, f)", ""})
    CHECK_MESSAGE(IsWeakExcerpt(s), s);
  for (const char* s : {"const result = streamText({", "await stream.close()", "consumeSseStream: ({ stream }) =>"})
    CHECK_MESSAGE(!IsWeakExcerpt(s), s);
}

TEST_CASE("excerpt: a destructuring `const {` reads on to the call it destructures") {
  std::string text = "export function Chat() {\n  const {\n    messages,\n    stop,\n  } = useChat({ id });\n}\n";
  size_t begin = text.find("const {");
  size_t end = text.find(";", begin);
  CHECK(MakeStatementExcerpt(text, begin, end) == "const { ... } = useChat({ id });");
  // the ai-chatbot shape: a long destructuring whose closing line holds the call
  std::string chat = "  const {\n    messages,\n    setMessages,\n    stop,\n  } = useChat<ChatMessage>({\n    id,\n";
  CHECK(MakeStatementExcerpt(chat, 2, chat.size()) == "const { ... } = useChat<ChatMessage>({");
  // a closing line that says nothing itself: the next lines are joined instead
  std::string bare = "const {\n  messages,\n} = x;\n";
  CHECK(MakeStatementExcerpt(bare, 0, bare.size()) == "const { messages,");
}

TEST_CASE("excerpt: a strong first line is kept alone, like MakeExcerpt") {
  std::string text = "  const result = streamText({\n    model,\n  });\n";
  CHECK(MakeStatementExcerpt(text, 2, text.size()) == "const result = streamText({");
}

TEST_CASE("excerpt: a lone `(` is widened past the end of a short match, within bounds") {
  std::string text = "foo(\n  a,\n  b,\n  abortSignal: req.signal,\n  e,\n  f,\n  g,\n)\n";
  CHECK(MakeStatementExcerpt(text, 0, 3) == "foo( a, b, abortSignal: req.signal,");
  // Never more than six lines, even when all of them are weak.
  std::string weak = "(\n(\n(\n(\n(\n(\n(\n(\n";
  CHECK(MakeStatementExcerpt(weak, 0, weak.size()) == "( ( ( ( ( (");
}

TEST_CASE("excerpt: blank lines are skipped, the result is cut at max bytes on a UTF-8 boundary") {
  std::string text = "}\n\n\n  handleStopGeneratingRequest(conversationId)\n";
  CHECK(MakeStatementExcerpt(text, 0, 1) == "} handleStopGeneratingRequest(conversationId)");
  std::string wide = "x = (\n" + std::string(20, 'a') + "\xc3\xa9" + std::string(200, 'b') + "\n";
  std::string e = MakeStatementExcerpt(wide, 0, wide.size(), 27);  // byte 27 is inside é
  CHECK(e == "x = ( " + std::string(20, 'a') + "...");             // the 2-byte é is not split
  CHECK(MakeStatementExcerpt("", 0, 0).empty());
  CHECK(MakeStatementExcerpt("abc", 10, 20) == "abc");  // offsets past the end are clamped
}

TEST_CASE("excerpt: any text and any offsets give a bounded excerpt (seeded random inputs)") {
  const std::string alphabet = "({[]}) \n\t\r;=abcXYZ_$09\xc3\xa9";
  unsigned seed = 12345;
  auto next = [&] { return seed = seed * 1103515245u + 12345u, (seed >> 16) & 0x7fff; };
  for (int round = 0; round < 3000; ++round) {
    std::string text(next() % 200, ' ');
    for (auto& c : text) c = alphabet[next() % alphabet.size()];
    size_t begin = next() % (text.size() + 5), end = next() % (text.size() + 5);
    size_t max = 1 + next() % 80;
    std::string e = MakeStatementExcerpt(text, begin, end, max);
    CHECK(e.size() <= max + 3);  // "..." when cut
    CHECK(e.find('\n') == std::string::npos);
  }
}

#include <doctest/doctest.h>

#include "audit/probe/fingerprint.hpp"

using namespace dsx::audit::probe;

namespace {
RequestSpec Start(const std::string& url) { return RequestSpec{"POST", url, {}, "{}"}; }
}  // namespace

TEST_CASE("fingerprint: AI SDK 5 UI-message stream by header, with message identity") {
  Headers h = {{"content-type", "text/event-stream"}, {"x-vercel-ai-ui-message-stream", "v1"}};
  std::string body =
      "data: {\"type\":\"start\",\"messageId\":\"m1\"}\n\ndata: "
      "{\"type\":\"text-delta\",\"id\":\"0\",\"delta\":\"tok-0001 \"}\n\n";
  auto fp = FingerprintResponse("http://h/api/chat", 200, h, body);
  CHECK(fp.protocol == Protocol::kAiSdkUiStream);
  CHECK(fp.message_identity);
  CHECK(fp.sse_events == 2);
  auto resume = DefaultResume(fp, Start("http://h/api/chat/"));
  CHECK(resume.method == "GET");
  CHECK(resume.url == "http://h/api/chat/{{id}}/stream");
  CHECK(DefaultCancel(fp, Start("http://h/api/chat")).url == "http://h/api/chat/{{id}}/stop");
}

TEST_CASE("fingerprint: AI SDK UI stream recognised from the body alone") {
  auto fp = FingerprintResponse("http://h/x", 200, {{"content-type", "text/event-stream"}},
                                "data: {\"type\":\"text-delta\",\"delta\":\"hi\"}\n\n");
  CHECK(fp.protocol == Protocol::kAiSdkUiStream);
  CHECK(!fp.message_identity);
}

TEST_CASE("fingerprint: AI SDK 4 data stream by header and by body") {
  auto a = FingerprintResponse("http://h/api/chat", 200, {{"x-vercel-ai-data-stream", "v1"}}, "0:\"hi\"\n");
  CHECK(a.protocol == Protocol::kAiSdkDataStream);
  CHECK(DefaultResume(a, Start("http://h/api/chat")).url == "http://h/api/chat?chatId={{id}}");
  auto b = FingerprintResponse("http://h/api/chat", 200, {{"content-type", "text/plain"}},
                               "f:{\"messageId\":\"x\"}\n0:\"tok-0001 \"\n0:\"tok-0002 \"\n");
  CHECK(b.protocol == Protocol::kAiSdkDataStream);
}

TEST_CASE("fingerprint: Durable Streams, dsx sessions, LangGraph, OpenAI chunks, WebSocket") {
  auto ds = FingerprintResponse("http://h/v1/stream/chat-1?offset=-1&live=sse", 200,
                                {{"content-type", "text/event-stream"}, {"stream-next-offset", "0000_0001"}}, "");
  CHECK(ds.protocol == Protocol::kDurableStreams);
  CHECK(ds.next_offset == "0000_0001");
  auto sess = FingerprintResponse("http://h/v1/session/s1/events", 200, {{"content-type", "text/event-stream"}}, "");
  CHECK(sess.protocol == Protocol::kDsxSession);
  auto lg =
      FingerprintResponse("http://h/threads/t/runs/stream", 200,
                          {{"content-location", "/threads/t1/runs/r1"}, {"content-type", "text/event-stream"}}, "");
  CHECK(lg.protocol == Protocol::kLangGraph);
  CHECK(DefaultCancel(lg, Start("http://h/threads/t/runs/stream")).url == "{{origin}}/threads/t1/runs/r1/cancel");
  auto oa = FingerprintResponse("http://h/v1/chat/completions", 200, {{"content-type", "text/event-stream"}},
                                "data: {\"object\":\"chat.completion.chunk\",\"choices\":[]}\n\n");
  CHECK(oa.protocol == Protocol::kOpenAiChat);
  CHECK(FingerprintResponse("ws://h/socket", 0, {}, "").protocol == Protocol::kWebSocket);
  CHECK(FingerprintResponse("http://h/socket", 426, {}, "").protocol == Protocol::kWebSocket);
}

TEST_CASE("fingerprint: an endpoint that says SSE and sends garbage") {
  auto fp = FingerprintResponse("http://h/lie", 200, {{"content-type", "text/event-stream; charset=utf-8"}},
                                "<html>\x01\x02 garbage\nmore garbage\n");
  CHECK(fp.protocol == Protocol::kPlainSse);
  CHECK(!fp.sse);
  CHECK(fp.garbage_lines == 2);
  bool said = false;
  for (const auto& e : fp.evidence) said = said || e.find("hold no SSE event") != std::string::npos;
  CHECK(said);
  CHECK(DefaultResume(fp, Start("http://h/lie")).method.empty());
}

TEST_CASE("tokens: extraction skips cut tokens and keeps order") {
  CHECK(ExtractTokens("tok-0001 tok-0002 tok-00") == std::vector<int>{1, 2});
  CHECK(ExtractTokens("{\"delta\":\"tok-0010 \"}tok-12345 ") == std::vector<int>{10, 12345});
  CHECK(ExtractTokens("no tokens").empty());
}

#include "audit/probe/fingerprint.hpp"

#include <algorithm>
#include <set>

#include <nlohmann/json.hpp>

#include "net/sse_parser.hpp"

namespace dsx::audit::probe {
namespace {

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool Contains(std::string_view s, std::string_view p) { return s.find(p) != std::string_view::npos; }

std::string StripSlash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

// AI SDK v4 data stream: lines "<code>:<json>" with a one-character part code.
bool LooksLikeDataStreamV4(std::string_view body) {
  int good = 0, lines = 0;
  size_t pos = 0;
  while (pos < body.size() && lines < 20) {
    size_t nl = body.find('\n', pos);
    if (nl == std::string_view::npos) break;  // only complete lines
    std::string_view line = body.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.empty()) continue;
    ++lines;
    if (line.size() >= 3 && line[1] == ':' && std::isalnum(static_cast<unsigned char>(line[0])) &&
        nlohmann::json::accept(line.substr(2)))
      ++good;
  }
  return lines > 0 && good == lines;
}

}  // namespace

std::string HeaderValue(const Headers& headers, std::string_view name) {
  for (const auto& [k, v] : headers)
    if (k == name) return v;
  return "";
}

Fingerprint FingerprintResponse(const std::string& url, long status, const Headers& headers, std::string_view body) {
  Fingerprint fp;
  std::string type = HeaderValue(headers, "content-type");
  std::transform(type.begin(), type.end(), type.begin(), [](unsigned char c) { return std::tolower(c); });

  std::vector<net::SseEvent> events;
  net::SseParser parser([&](const net::SseEvent& e) { events.push_back(e); });
  parser.Feed(body);
  fp.sse_events = static_cast<int>(events.size());
  fp.sse = !events.empty();
  fp.garbage_lines = parser.other_lines();
  for (const auto& e : events) fp.sse_ids = fp.sse_ids || e.has_own_id;

  // Facts from headers.
  fp.next_offset = HeaderValue(headers, "stream-next-offset");
  fp.content_location = HeaderValue(headers, "content-location");
  fp.stream_id = HeaderValue(headers, "x-resumable-stream-id");
  if (fp.stream_id.empty()) fp.stream_id = HeaderValue(headers, "x-dsx-stream-id");

  bool ui_json = false, openai_chunks = false;
  for (const auto& e : events) {
    auto j = nlohmann::json::parse(e.data, nullptr, false);
    if (!j.is_object()) continue;
    if (j.contains("type") && j["type"].is_string()) {
      static const std::set<std::string> kUiTypes = {"start",      "text-start",  "text-delta", "text-end",
                                                     "start-step", "finish-step", "finish",     "reasoning-delta"};
      if (kUiTypes.count(j["type"].get<std::string>())) ui_json = true;
      if (j["type"] == "start" && j.contains("messageId")) fp.message_identity = true;
    }
    if (j.value("object", "") == "chat.completion.chunk") openai_chunks = true;
  }

  if (StartsWith(url, "ws://") || StartsWith(url, "wss://") || status == 101 || status == 426 ||
      !HeaderValue(headers, "sec-websocket-accept").empty()) {
    fp.protocol = Protocol::kWebSocket;
    fp.evidence.push_back(status == 426 ? "HTTP 426 Upgrade Required" : "WebSocket URL or upgrade");
  } else if (Contains(url, "/v1/session/")) {
    fp.protocol = Protocol::kDsxSession;
    fp.evidence.push_back("path /v1/session/ (dsx session endpoints)");
  } else if (!fp.next_offset.empty() || Contains(url, "/v1/stream/")) {
    fp.protocol = Protocol::kDurableStreams;
    fp.evidence.push_back(!fp.next_offset.empty() ? "header stream-next-offset: " + fp.next_offset
                                                  : "path /v1/stream/ (Durable Streams)");
  } else if (!HeaderValue(headers, "x-vercel-ai-ui-message-stream").empty()) {
    fp.protocol = Protocol::kAiSdkUiStream;
    fp.evidence.push_back("header x-vercel-ai-ui-message-stream: " +
                          HeaderValue(headers, "x-vercel-ai-ui-message-stream"));
  } else if (!HeaderValue(headers, "x-vercel-ai-data-stream").empty()) {
    fp.protocol = Protocol::kAiSdkDataStream;
    fp.evidence.push_back("header x-vercel-ai-data-stream: " + HeaderValue(headers, "x-vercel-ai-data-stream"));
  } else if (Contains(fp.content_location, "/runs/") && Contains(fp.content_location, "/threads/")) {
    fp.protocol = Protocol::kLangGraph;
    fp.evidence.push_back("header content-location: " + fp.content_location);
  } else if (ui_json) {
    fp.protocol = Protocol::kAiSdkUiStream;
    fp.evidence.push_back("body: SSE data with AI SDK UI-message chunk types (text-delta, ...)");
  } else if (openai_chunks) {
    fp.protocol = Protocol::kOpenAiChat;
    fp.evidence.push_back("body: SSE chat.completion.chunk frames (OpenAI-compatible)");
  } else if (Contains(type, "text/event-stream")) {
    fp.protocol = Protocol::kPlainSse;
    fp.evidence.push_back("content-type: text/event-stream");
  } else if (LooksLikeDataStreamV4(body)) {
    fp.protocol = Protocol::kAiSdkDataStream;
    fp.evidence.push_back("body: AI SDK v4 data stream lines (0:\"...\")");
  } else if (!body.empty()) {
    fp.protocol = Protocol::kPlainText;
    fp.evidence.push_back("content-type: " + (type.empty() ? std::string("(none)") : type) + ", not SSE");
  }
  if (Contains(type, "text/event-stream") && !fp.sse && !body.empty())
    fp.evidence.push_back("claims text/event-stream but " + std::to_string(body.size()) +
                          " body bytes hold no SSE event");
  if (fp.sse_ids) fp.evidence.push_back("events carry id: (a resume cursor)");
  if (fp.message_identity) fp.evidence.push_back("start chunk names the message (messageId)");
  if (!fp.stream_id.empty()) fp.evidence.push_back("stream id header: " + fp.stream_id);
  return fp;
}

RequestSpec DefaultResume(const Fingerprint& fp, const RequestSpec& start) {
  RequestSpec r;
  r.method = "GET";
  r.headers = start.headers;
  std::erase_if(r.headers, [](const auto& h) { return h.first == "content-type" || h.first == "Content-Type"; });
  std::string base = StripSlash(start.url);
  switch (fp.protocol) {
    case Protocol::kAiSdkUiStream: r.url = base + "/{{id}}/stream"; break;    // v5+ transport
    case Protocol::kAiSdkDataStream: r.url = base + "?chatId={{id}}"; break;  // v4 experimental_resume
    case Protocol::kLangGraph: r.url = "{{origin}}" + fp.content_location + "/stream"; break;
    case Protocol::kDurableStreams:
    case Protocol::kDsxSession: r.url = base + (Contains(base, "?") ? "&" : "?") + "offset={{offset}}"; break;
    default: r.method.clear(); r.url.clear();
  }
  return r;
}

RequestSpec DefaultCancel(const Fingerprint& fp, const RequestSpec& start) {
  RequestSpec r;
  r.method = "POST";
  r.headers = start.headers;
  std::string base = StripSlash(start.url);
  switch (fp.protocol) {
    // Not part of the SDK: the route its docs recommend ("Stop an Active Resumable Stream").
    case Protocol::kAiSdkUiStream:
      r.url = base + "/{{id}}/stop";
      r.body = "{}";
      break;
    case Protocol::kLangGraph: r.url = "{{origin}}" + fp.content_location + "/cancel"; break;
    default: r.method.clear(); r.url.clear();
  }
  return r;
}

std::vector<int> ExtractTokens(std::string_view text) {
  std::vector<int> out;
  size_t pos = 0;
  while ((pos = text.find("tok-", pos)) != std::string_view::npos) {
    pos += 4;
    size_t end = pos;
    while (end < text.size() && end - pos < 9 && std::isdigit(static_cast<unsigned char>(text[end]))) ++end;
    // Four digits at least: a token cut by the drop ("tok-00") is not a token.
    if (end - pos >= 4 && (end == text.size() || !std::isdigit(static_cast<unsigned char>(text[end]))))
      out.push_back(std::stoi(std::string(text.substr(pos, end - pos))));
    pos = end;
  }
  return out;
}

ResumeClass ClassifyResume(const ResumeInput& in) {
  ResumeClass c;
  if (in.status == 0) {
    c.kind = ResumeKind::kUndetermined;
    c.detail = "the resume request got no answer";
    return c;
  }
  std::vector<int> before = ExtractTokens(in.before_text), after = ExtractTokens(in.after_text);
  int k = before.empty() ? 0 : *std::max_element(before.begin(), before.end());
  if (after.empty()) {
    c.kind = ResumeKind::kNone;
    c.detail =
        "HTTP " + std::to_string(in.status) + " with no tokens (" + std::to_string(in.after_text.size()) + " bytes)";
    return c;
  }
  int first = after.front();
  int last = *std::max_element(after.begin(), after.end());
  // What a client that appends the resumed text to what it had would show.
  std::vector<int> joined = ExtractTokens(in.before_text + in.after_text);
  std::set<int> seen;
  for (int t : joined) c.duplicates += seen.insert(t).second ? 0 : 1;
  for (int t = k + 1; t <= last; ++t) c.missing += seen.count(t) ? 0 : 1;

  if (first == 1 && k >= 1) {
    c.kind = in.first_event_tokens > 1 ? ResumeKind::kSnapshot : ResumeKind::kFullReplay;
    c.detail =
        std::string(c.kind == ResumeKind::kSnapshot
                        ? "first frame holds " + std::to_string(in.first_event_tokens) + " tokens (the text so far), "
                        : "restarted at tok-0001, ") +
        "dropped after tok-" + std::to_string(k);
    // For a replay, what matters is whether the replay itself is complete.
    c.duplicates = 0;
    std::set<int> got(after.begin(), after.end());
    c.missing = 0;
    for (int t = 1; t <= last; ++t) c.missing += got.count(t) ? 0 : 1;
  } else if (first > 1 && first <= k && in.first_event_tokens > 1) {
    c.kind = ResumeKind::kSnapshot;
    c.detail =
        "first frame holds tok-" + std::to_string(first) + ".. (" + std::to_string(in.first_event_tokens) + " tokens)";
  } else {
    c.kind = c.missing > 0 ? ResumeKind::kLossy : ResumeKind::kCursor;
    c.detail = "dropped after tok-" + std::to_string(k) + ", resumed at tok-" + std::to_string(first);
  }
  if (c.missing) c.detail += ", " + std::to_string(c.missing) + " token(s) missing";
  if (c.duplicates) c.detail += ", " + std::to_string(c.duplicates) + " token(s) repeated";
  return c;
}

}  // namespace dsx::audit::probe

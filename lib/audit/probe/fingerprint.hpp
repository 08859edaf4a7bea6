// Fingerprinting a streaming endpoint from what its first response shows (headers, URL,
// the first body bytes), and the resume/cancel contracts each fingerprint implies
// (shared/research/audit-patterns.md §4.2). Pure functions: unit-tested on captured traffic.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "audit/probe/probe.hpp"

namespace dsx::audit::probe {

using Headers = std::vector<std::pair<std::string, std::string>>;  // lower-case names

struct Fingerprint {
  Protocol protocol = Protocol::kUnknown;
  std::vector<std::string> evidence;  // "header x-vercel-ai-ui-message-stream: v1", ...
  bool sse = false;                   // the body parses as SSE (at least one event)
  bool sse_ids = false;               // events carry id: (a cursor the client can send back)
  bool message_identity = false;      // the stream names its message (AI SDK start.messageId)
  std::string stream_id;              // x-resumable-stream-id / x-dsx-stream-id / run path
  std::string next_offset;            // Stream-Next-Offset (Durable Streams)
  std::string content_location;       // LangGraph run path
  int sse_events = 0;
  int garbage_lines = 0;  // non-empty lines that are not SSE fields or comments
};

std::string HeaderValue(const Headers& headers, std::string_view name);

Fingerprint FingerprintResponse(const std::string& url, long status, const Headers& headers, std::string_view body);

// The documented default contracts for a fingerprint, as templates over the start URL
// (research §4.2). Empty method = no documented default.
RequestSpec DefaultResume(const Fingerprint& fp, const RequestSpec& start);
RequestSpec DefaultCancel(const Fingerprint& fp, const RequestSpec& start);

// Numbered mock tokens ("tok-0001") in a text, in order of appearance.
std::vector<int> ExtractTokens(std::string_view text);

// Classification of a resumed stream (research §4.3 RD step 4).
struct ResumeInput {
  std::string before_text;     // body received before the drop
  std::string after_text;      // body of the resume response
  long status = 0;             // 0 = the resume request got no answer
  int first_event_tokens = 0;  // tokens inside the first resumed event that had any
};
struct ResumeClass {
  ResumeKind kind = ResumeKind::kUndetermined;
  int duplicates = 0;  // tokens received twice when before and after are appended
  int missing = 0;     // tokens after the drop point never received
  std::string detail;
};
ResumeClass ClassifyResume(const ResumeInput& in);

}  // namespace dsx::audit::probe

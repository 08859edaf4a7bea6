// Display names of the probe's enums (stable: they appear in JSON output).
#include "audit/probe/probe.hpp"

namespace dsx::audit::probe {

const char* ProtocolName(Protocol p) {
  switch (p) {
    case Protocol::kUnknown: return "unknown";
    case Protocol::kDurableStreams: return "durable-streams";
    case Protocol::kDsxSession: return "dsx-session";
    case Protocol::kAiSdkUiStream: return "ai-sdk-ui-message-stream";
    case Protocol::kAiSdkDataStream: return "ai-sdk-data-stream-v4";
    case Protocol::kLangGraph: return "langgraph-run";
    case Protocol::kOpenAiChat: return "openai-chat-completions";
    case Protocol::kPlainSse: return "sse";
    case Protocol::kWebSocket: return "websocket";
    case Protocol::kPlainText: return "plain-text-stream";
  }
  return "unknown";
}

const char* ResumeKindName(ResumeKind k) {
  switch (k) {
    case ResumeKind::kNotTested: return "not-tested";
    case ResumeKind::kCursor: return "cursor";
    case ResumeKind::kFullReplay: return "full-replay";
    case ResumeKind::kSnapshot: return "snapshot";
    case ResumeKind::kLossy: return "lossy";
    case ResumeKind::kNone: return "none";
    case ResumeKind::kUndetermined: return "undetermined";
  }
  return "undetermined";
}

}  // namespace dsx::audit::probe

// `dsx finetune submit --llm PROVIDER`: when the deterministic parser (spec_parser.hpp) leaves the
// model or dataset missing, or words it did not understand, the instruction, the fields already
// understood and the leftover words go to an LLM with a JSON schema of the Spec, and the reply
// fills only the fields still empty (source "llm"). The reply is checked strictly: one JSON object,
// only Spec field names, each value of its field's type or null; anything else is kFailed naming
// the key, and nothing is filled. A field the text gave is never overridden.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.hpp"
#include "finetune/spec_parser.hpp"
#include "llm/chat.hpp"

namespace dsx::finetune {

// One chat completion (tests pass a fake; the CLI wraps its llm::ChatClient with ChatFnFor).
using ChatFn = std::function<Result<llm::ChatReply>(const llm::ChatRequest&)>;
ChatFn ChatFnFor(llm::ChatClient& client);

// Whether --llm has anything to do: model or dataset missing, or words left unparsed.
bool NeedsLlm(const ParseResult& parsed);

// The JSON schema the reply must follow: an object of the Spec's fields (ForEachSpecField names),
// each typed and nullable, with no other properties.
nlohmann::json SpecReplySchema();

struct LlmFill {
  Spec spec;                         // the parsed spec plus what the LLM filled (source kLlm)
  std::vector<std::string> filled;   // fields the LLM set, in Spec order
  std::vector<std::string> ignored;  // fields the LLM proposed that the request had already set
};

// Asks once. Errors of the chat call come back as they are (their codes are the LLM client's:
// kUsage no key, kConflict refused key, kUnavailable unreachable); a reply that breaks the schema is
// kFailed. `resolve` (may be empty) turns a model alias in the reply into its Hub id.
Result<LlmFill> FillWithLlm(std::string_view instruction, const ParseResult& parsed, const ChatFn& chat,
                            const ModelResolver& resolve = nullptr);

}  // namespace dsx::finetune

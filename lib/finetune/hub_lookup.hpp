// What the Hugging Face Hub says about a request's model and dataset, when it can be asked:
//   model    GET {HF_ENDPOINT}/api/models/{id} (safetensors.total = parameters; gated, private) and
//            GET {HF_ENDPOINT}/{id}/resolve/main/config.json (the architecture numbers) -> a ModelInfo
//            for a model configs/models.toml lacks (PlanInputs::model_override).
//   dataset  GET {DSX_HF_DATASETS_SERVER}/info?dataset={id} (the dataset viewer's documented /info:
//            dataset_info.features and dataset_info.splits.<split>.num_examples) -> the method's
//            columns checked before paying for a job, and the split's row count for time and cost.
//
// "When reachable": one attempt per request with short limits (connect 3 s, total 10 s); a transport
// failure or a 5xx is not an error but a note, and planning goes on from configs/models.toml and the
// assumed dataset size. Definite answers are errors: no such model or split, a missing column (exit 2),
// a gated model without a token that has access (exit 4). HF_HUB_OFFLINE=1 (huggingface_hub's own
// variable) or --offline skip every request.
//
// The token (HF_TOKEN, else the file HF_TOKEN_PATH, $HF_HOME/token, ~/.cache/huggingface/token) is
// sent as `Authorization: Bearer` and never appears in a note or an error message.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.hpp"
#include "finetune/catalog.hpp"
#include "finetune/spec.hpp"
#include "net/transport.hpp"

namespace dsx::finetune {

using TransportFactory = std::function<std::unique_ptr<net::Transport>()>;
using GetEnv = std::function<const char*(const char*)>;

inline constexpr long kHubConnectTimeoutMs = 3000;
inline constexpr long kHubTotalTimeoutMs = 10000;
inline constexpr const char* kDefaultHfEndpoint = "https://huggingface.co";
inline constexpr const char* kDefaultDatasetsServer = "https://datasets-server.huggingface.co";

struct HubOptions {
  std::string endpoint = kDefaultHfEndpoint;             // HF_ENDPOINT (trailing '/' dropped)
  std::string datasets_server = kDefaultDatasetsServer;  // DSX_HF_DATASETS_SERVER
  std::string token;                                     // "" = anonymous requests
  bool offline = false;                                  // HF_HUB_OFFLINE=1/true/yes/on
  TransportFactory transport;                            // empty = net::CurlTransport
};

// The options from the environment (`getenv` injectable for tests; default std::getenv).
HubOptions HubOptionsFromEnv(const GetEnv& getenv = {});
// HF_TOKEN, else the first readable token file (see above), whitespace trimmed; "" when none.
std::string HubToken(const GetEnv& getenv = {});

// ---------------------------------------------------------------- parsers (server input: fuzzed)

// A ModelInfo from the model API's JSON and the repository's config.json. Multimodal configs keep
// the language model under text_config. kFailed naming the first missing or wrong field.
Result<ModelInfo> ModelInfoFromHub(const std::string& id, std::string_view api_json, std::string_view config_json);

struct DatasetConfigInfo {
  std::string config;                          // the subset ("default")
  std::vector<std::string> columns;            // features, sorted by name
  std::map<std::string, std::int64_t> splits;  // name -> num_examples (-1 when not given)
};
// The /info reply: {"dataset_info": {features, splits}} (a `config` was asked) or {"dataset_info":
// {"<config>": {features, splits}, ...}} (all subsets). kFailed when it is neither.
Result<std::vector<DatasetConfigInfo>> ParseDatasetInfo(std::string_view body);

// The method's columns (TRL dataset formats; the spec's *_column fields where said or defaulted)
// checked against one subset's features. kUsage naming the columns the dataset has and the --set to use.
Status CheckColumns(const Spec& spec, const DatasetConfigInfo& info);

// ---------------------------------------------------------------- lookups

struct ModelLookup {
  std::optional<ModelInfo> model;  // nullopt when not asked or not reachable (see note)
  std::string note;                // "" or what happened ("Hub not reachable (...): ...")
};
// Errors: kUsage no such model on the Hub (404); kConflict gated or private without a token with
// access (401/403); kFailed an answer that is not the documented JSON.
Result<ModelLookup> LookupModel(const std::string& id, const HubOptions& options);

struct DatasetLookup {
  std::int64_t rows = 0;  // the split's num_examples; 0 = unknown
  std::string config;     // the subset checked
  std::string note;
};
// Checks the dataset of a completed spec. Errors (kUsage): the split does not exist (the message
// lists the splits), a column the method needs is missing, the dataset does not exist on the Hub.
Result<DatasetLookup> LookupDataset(const Spec& spec, const HubOptions& options);

// True when `id` has the shape of a Hub repository id ("name" or "owner/name"; letters, digits, - _ .).
bool LooksLikeHubId(std::string_view id);

}  // namespace dsx::finetune

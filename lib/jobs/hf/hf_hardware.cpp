// ParseHardware: GET /api/jobs/hardware -> Flavor. The answer (huggingface_hub's JobHardware) is
// a list of {name, prettyName, cpu, ram, accelerator: {model, quantity, vram, ...} | null,
// unitCostUSD, unitCostMicroUSD, unitLabel}. Prices are per unitLabel ("minute" today), so they
// are converted to $/hour here, once, instead of trusting every reader to remember.
#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "core/json_limits.hpp"
#include "jobs/hf/hf_backend.hpp"

namespace dsx::jobs::hf {
namespace {

std::string Str(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

// "24 GB" -> 24, "16GB" -> 16, "141 GB" -> 141; 0 when unreadable.
double LeadingNumber(const std::string& text) {
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  return end == text.c_str() || v < 0 ? 0 : v;
}

}  // namespace

Result<std::vector<Flavor>> ParseHardware(const std::string& body) {
  auto j = ParseJsonOrDiscarded(body);
  if (j.is_discarded() || !j.is_array()) return Status::Failed("Hugging Face's hardware list is not a JSON array");
  std::vector<Flavor> out;
  for (size_t i = 0; i < j.size(); ++i) {
    const auto& h = j[i];
    std::string where = "hardware entry " + std::to_string(i);
    if (!h.is_object()) return Status::Failed(where + " is not an object");
    Flavor f;
    f.name = Str(h, "name");
    if (f.name.empty()) return Status::Failed(where + " has no name");
    f.pretty_name = Str(h, "prettyName");
    f.cpu = Str(h, "cpu");
    f.ram = Str(h, "ram");
    double unit_cost = 0;
    if (h.contains("unitCostUSD") && h["unitCostUSD"].is_number()) {
      unit_cost = h["unitCostUSD"].get<double>();
    } else if (h.contains("unitCostMicroUSD") && h["unitCostMicroUSD"].is_number()) {
      unit_cost = h["unitCostMicroUSD"].get<double>() / 1e6;
    } else {
      return Status::Failed(f.name + ": the hardware list gives no unitCostUSD");
    }
    std::string unit = Str(h, "unitLabel");
    double per_hour = unit == "minute" ? 60 : unit == "hour" ? 1 : unit == "second" ? 3600 : 0;
    if (per_hour == 0) return Status::Failed(f.name + ": unknown price unit '" + unit + "' in the hardware list");
    f.usd_per_hour = unit_cost * per_hour;
    if (h.contains("accelerator") && h["accelerator"].is_object()) {
      const auto& a = h["accelerator"];
      f.gpu_model = Str(a, "model");
      std::string quantity = a.contains("quantity") && a["quantity"].is_number()
                                 ? std::to_string(a["quantity"].get<int>())
                                 : Str(a, "quantity");
      f.gpu_count = static_cast<int>(LeadingNumber(quantity));
      if (f.gpu_count == 0) f.gpu_count = 1;
      f.gpu_memory_gb = LeadingNumber(Str(a, "vram"));
    }
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace dsx::jobs::hf

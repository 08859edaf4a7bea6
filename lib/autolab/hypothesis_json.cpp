// Checking the researcher's answer (see hypothesis_json.hpp).
#include "autolab/hypothesis_json.hpp"

#include <cctype>
#include <cmath>
#include <cstdint>
#include <optional>
#include <set>

#include "autolab/note_text.hpp"
#include "core/json_limits.hpp"

namespace dsx::autolab {

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string Excerpt(std::string_view s) {
  s = Trim(s);
  std::string one = OneLine(ToValidUtf8(Utf8Prefix(s, 160)));
  if (s.size() > 160) one += "...";
  return one.empty() ? "(empty)" : "'" + one + "'";
}

// A name from the answer as it appears in a reason: short, one line (reasons go to logs, one per line).
std::string Shown(std::string_view s) { return OneLine(ToValidUtf8(Utf8Prefix(s, 64))); }

// A value of the same type family as `base`, or "" with `why` set. Integers stay integers: a
// parameter the plan gives as 64 goes into a command line as "--width 64", never "64.5".
bool SameFamily(const nlohmann::json& base, nlohmann::json& value, std::string& why) {
  if (!value.is_primitive() || value.is_null()) {
    why = "is " + std::string(value.type_name()) + ", not a scalar";
    return false;
  }
  if (base.is_boolean()) {
    if (value.is_boolean()) return true;
    why = "must be a boolean like the base value";
    return false;
  }
  if (base.is_string()) {
    if (value.is_string()) return true;
    why = "must be a string like the base value";
    return false;
  }
  if (base.is_number_integer()) {
    if (value.is_number_unsigned() && value.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
      why = "is out of range for an integer";
      return false;
    }
    if (value.is_number_integer()) return true;
    if (value.is_number_float()) {
      const double d = value.get<double>();
      if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15) {
        value = static_cast<std::int64_t>(d);
        return true;
      }
    }
    why = "must be an integer like the base value (" + base.dump() + ")";
    return false;
  }
  if (base.is_number()) {
    if (value.is_number()) return true;
    why = "must be a number like the base value";
    return false;
  }
  why = "cannot be overridden (its base value is " + std::string(base.type_name()) + ", not a scalar)";
  return false;
}

}  // namespace

bool IsResearcherId(std::string_view id) {
  if (id.empty() || id.size() > 48) return false;
  for (std::size_t i = 0; i < id.size(); ++i) {
    const char c = id[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c == '-' && i > 0);
    if (!ok) return false;
  }
  return true;
}

std::string_view AnswerJsonText(std::string_view answer) {
  std::string_view s = Trim(answer);
  if (s.size() < 6 || s.substr(0, 3) != "```" || s.substr(s.size() - 3) != "```") return s;
  std::string_view inner = s.substr(3, s.size() - 6);
  const std::size_t eol = inner.find('\n');
  if (eol == std::string_view::npos) return s;  // "```{...}```" on one line: not a fence we know
  // The info string ("json", "JSON", nothing) must be one word: anything else is prose.
  std::string_view info = Trim(inner.substr(0, eol));
  for (char c : info) {
    if (!std::isalnum(static_cast<unsigned char>(c))) return s;
  }
  return Trim(inner.substr(eol + 1));
}

Result<HypothesisAnswer> ParseHypothesisAnswer(std::string_view answer, const Plan& plan,
                                               const std::vector<std::string>& tried_ids, int max_hypotheses) {
  Result<nlohmann::json> parsed = ParseJsonBounded(AnswerJsonText(answer));
  if (!parsed.ok()) {
    return Status::Failed("the answer is not JSON (" + parsed.status().message() + "): " + Excerpt(answer));
  }
  const nlohmann::json& root = *parsed;
  if (!root.is_object())
    return Status::Failed("the answer is JSON " + std::string(root.type_name()) + ", not an object");
  for (const auto& item : root.items()) {
    if (item.key() != "hypotheses")
      return Status::Failed("the answer has an unknown key '" + Shown(item.key()) + "' (only \"hypotheses\")");
  }
  auto list = root.find("hypotheses");
  if (list == root.end() || !list->is_array()) return Status::Failed("the answer has no \"hypotheses\" list");

  std::set<std::string> taken(tried_ids.begin(), tried_ids.end());
  taken.insert("baseline");  // the evolve loop's name for the plan's base
  static const std::map<std::string, nlohmann::json> kNoBase;
  const auto& base = plan.evolve ? plan.evolve->base : kNoBase;
  if (plan.evolve) {
    for (const Hypothesis& h : plan.evolve->hypotheses) taken.insert(h.id);
  }

  HypothesisAnswer out;
  std::set<std::string> seen;
  int index = 0;
  for (const nlohmann::json& item : *list) {
    ++index;
    std::string label = "hypothesis " + std::to_string(index);
    auto drop = [&](const std::string& why) { out.dropped.push_back(label + ": " + why); };
    if (!item.is_object()) {
      drop("is " + std::string(item.type_name()) + ", not an object");
      continue;
    }
    auto id_it = item.find("id");
    if (id_it == item.end() || !id_it->is_string()) {
      drop("has no string \"id\"");
      continue;
    }
    const std::string id = id_it->get<std::string>();
    label += " ('" + Shown(id) + "')";
    if (!IsResearcherId(id)) {
      drop("the id must be 1-48 lower-case letters, digits and '-' (not starting with '-')");
      continue;
    }
    if (taken.count(id)) {
      drop("the id was used before (tried already, or one of the plan's own)");
      continue;
    }
    if (!seen.insert(id).second) {
      drop("the id is used twice in the answer");
      continue;
    }
    std::optional<std::string> bad_key;  // optional: a key of only spaces or newlines shows as ""
    for (const auto& kv : item.items()) {
      if (kv.key() != "id" && kv.key() != "rationale" && kv.key() != "overrides" && kv.key() != "patch") {
        bad_key = Shown(kv.key());
        break;
      }
    }
    if (bad_key) {
      drop("unknown key '" + *bad_key + "' (id, rationale, overrides, patch)");
      continue;
    }
    Hypothesis h;
    h.id = id;
    auto rationale = item.find("rationale");
    if (rationale == item.end() || !rationale->is_string() || OneLine(rationale->get<std::string>()).empty()) {
      drop("has no \"rationale\" (one line that cites the notes it draws on)");
      continue;
    }
    h.rationale = OneLine(rationale->get<std::string>());
    if (h.rationale.size() > kMaxRationaleBytes) h.rationale = std::string(Utf8Prefix(h.rationale, kMaxRationaleBytes));

    std::string why;
    if (auto ov = item.find("overrides"); ov != item.end() && !ov->is_null()) {
      if (!ov->is_object()) {
        drop("\"overrides\" is " + std::string(ov->type_name()) + ", not an object");
        continue;
      }
      for (const auto& kv : ov->items()) {
        auto b = base.find(kv.key());
        if (b == base.end()) {
          why = "overrides '" + Shown(kv.key()) + "', which is not a parameter of evolve.base";
          if (base.empty()) why += " (the plan has none: propose a patch)";
          break;
        }
        nlohmann::json value = kv.value();
        std::string type_why;
        if (!SameFamily(b->second, value, type_why)) {
          why = "override '" + kv.key() + "' " + type_why;
          break;
        }
        h.overrides[kv.key()] = std::move(value);
      }
      if (!why.empty()) {
        drop(why);
        continue;
      }
    }
    if (auto patch = item.find("patch"); patch != item.end() && !patch->is_null()) {
      if (!patch->is_string()) {
        drop("\"patch\" is " + std::string(patch->type_name()) + ", not a string");
        continue;
      }
      h.patch = patch->get<std::string>();
      if (Trim(h.patch).empty()) h.patch.clear();
      if (h.patch.size() > kMaxPatchBytes) {
        drop("the patch is larger than 64 KiB");
        continue;
      }
      if (!h.patch.empty() &&
          (h.patch.find("--- ") == std::string::npos || h.patch.find("+++ ") == std::string::npos)) {
        drop("the patch is not a unified diff (no '--- ' and '+++ ' lines)");
        continue;
      }
      if (!h.patch.empty() && h.patch.back() != '\n') h.patch += '\n';  // GNU patch wants the last line ended
    }
    if (h.overrides.empty() && h.patch.empty()) {
      drop("changes nothing (needs overrides or a patch)");
      continue;
    }
    if (static_cast<int>(out.accepted.size()) >= max_hypotheses) {
      drop("more than the " + std::to_string(std::max(0, max_hypotheses)) + " hypotheses asked for");
      continue;
    }
    out.accepted.push_back(std::move(h));
  }
  return out;
}

}  // namespace dsx::autolab

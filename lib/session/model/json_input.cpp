#include "session/model/json_input.hpp"

#include <limits>

namespace dsx::session {

using nlohmann::json;

Result<json> ParseClientJson(std::string_view text, int max_depth) { return ParseJsonBounded(text, max_depth); }

JsonFields::JsonFields(const json& object, std::string what, std::string prefix)
    : object_(object), prefix_(std::move(prefix)) {
  if (!object_.is_object()) error_ = what + " must be a JSON object (got " + object_.type_name() + ")";
}

const json* JsonFields::At(const char* key) const {
  if (!object_.is_object()) return nullptr;
  auto it = object_.find(key);
  return it == object_.end() ? nullptr : &*it;
}

bool JsonFields::Has(const char* key) const { return At(key) != nullptr; }

const json* JsonFields::Find(const char* key, bool type_ok, const char* want) {
  const json* v = At(key);
  if (!v || type_ok) return v;
  if (error_.empty()) {
    error_ = "field '" + prefix_ + key + "' must be " + want + " (got " + v->type_name() + ")";
  }
  return nullptr;
}

std::string JsonFields::String(const char* key, std::string fallback) {
  auto v = OptString(key);
  return v ? std::move(*v) : std::move(fallback);
}

std::optional<std::string> JsonFields::OptString(const char* key) {
  const json* v = At(key);
  v = Find(key, v && v->is_string(), "a string");
  if (!v) return std::nullopt;
  return v->get_ref<const std::string&>();
}

bool JsonFields::Bool(const char* key, bool fallback) {
  const json* v = At(key);
  v = Find(key, v && v->is_boolean(), "a boolean");
  return v ? v->get<bool>() : fallback;
}

std::optional<std::int64_t> JsonFields::OptInt(const char* key) {
  const json* v = At(key);
  const bool fits =
      v && (v->is_number_integer() &&
            (!v->is_number_unsigned() ||
             v->get<std::uint64_t>() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())));
  v = Find(key, fits, "an integer");
  if (!v) return std::nullopt;
  return v->is_number_unsigned() ? static_cast<std::int64_t>(v->get<std::uint64_t>()) : v->get<std::int64_t>();
}

std::optional<std::uint64_t> JsonFields::OptUint(const char* key) {
  const json* v = At(key);
  v = Find(key, v && (v->is_number_unsigned() || (v->is_number_integer() && v->get<std::int64_t>() >= 0)),
           "a non-negative integer");
  if (!v) return std::nullopt;
  return v->get<std::uint64_t>();
}

const json* JsonFields::Object(const char* key) {
  const json* v = At(key);
  return Find(key, v && v->is_object(), "an object");
}

const json* JsonFields::Array(const char* key) {
  const json* v = At(key);
  return Find(key, v && v->is_array(), "an array");
}

}  // namespace dsx::session

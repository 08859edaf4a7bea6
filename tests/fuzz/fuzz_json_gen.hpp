// Structure-aware JSON for the fuzzers: valid documents built from the fuzzer's bytes, where a
// chosen field of a known-good template is replaced by a value of another JSON type, a deep
// nesting, a huge or odd string. Values are produced as text (never as nlohmann values), so a
// 100,000-deep array costs the fuzzer nothing to build.
#pragma once

#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <string>
#include <vector>

namespace dsx::fuzz {

// One JSON value of any type, as text.
inline std::string AnyValue(FuzzedDataProvider& in, int budget = 3) {
  switch (in.ConsumeIntegralInRange<int>(0, 17)) {
    case 0: return "null";
    case 1: return in.ConsumeBool() ? "true" : "false";
    case 2: return std::to_string(in.ConsumeIntegral<std::int64_t>());
    case 3: return std::to_string(in.ConsumeIntegral<std::uint64_t>());
    case 4:
      return in.PickValueInArray({"1.5", "-0.0", "1e308", "-1e-308", "1e400", "0", "-1", "9223372036854775808",
                                  "18446744073709551616", "-9223372036854775809", "1764151200", "65535"});
    case 5: return "\"\"";
    case 6: {  // a short string, escaped enough to stay valid JSON (odd bytes included)
      std::string s = in.ConsumeRandomLengthString(24), out = "\"";
      for (unsigned char c : s) {
        if (c == '"' || c == '\\') out += '\\', out += static_cast<char>(c);
        else if (c < 0x20) out += "\\u00" + std::string(1, "0123456789abcdef"[c >> 4]) + "0123456789abcdef"[c & 15];
        else out += static_cast<char>(c);
      }
      return out + "\"";
    }
    case 7: return "\"" + std::string(in.PickValueInArray({200, 201, 4096, 70000, 1100000}), 'x') + "\"";
    case 8:
      return in.PickValueInArray({"\"\\ud800\"", "\"\\u0000\"", "\"\xff\xfe\"", "\"\xc3\x28\"", "\"caf\xc3\xa9\"",
                                  "\"online\"", "\"streaming\"", "\"done\"", "\"compacted\"", "\"-1\"", "\"now\""});
    case 9: {  // nesting around the limit (64) and far past it
      const int n = in.PickValueInArray({2, 63, 64, 65, 200, 5000, 100000});
      const bool obj = in.ConsumeBool();
      std::string s;
      for (int i = 0; i < n; ++i) s += obj ? "{\"a\":" : "[";
      s += "1";
      for (int i = 0; i < n; ++i) s += obj ? '}' : ']';
      return s;
    }
    case 10: return "[]";
    case 11: return "{}";
    case 12:
    case 13: {
      if (budget <= 0) return "[]";
      std::string s = "[";
      const int n = in.ConsumeIntegralInRange<int>(0, 4);
      for (int i = 0; i < n; ++i) s += (i ? "," : "") + AnyValue(in, budget - 1);
      return s + "]";
    }
    case 14:
    case 15: {
      if (budget <= 0) return "{}";
      std::string s = "{";
      const int n = in.ConsumeIntegralInRange<int>(0, 4);
      for (int i = 0; i < n; ++i) {
        s += std::string(i ? "," : "") + "\"" +
             in.PickValueInArray({"type", "run", "msg", "id", "lane", "data", "text", "state", "kind", "takeover",
                                  "lease_ms", "reason", "outcome", "json", "offset", "ts", "from", "x"}) +
             "\":" + AnyValue(in, budget - 1);
      }
      return s + "}";
    }
    case 16: return "\"" + in.ConsumeRandomLengthString(8) + "\"";  // raw bytes: maybe invalid JSON
    default: return in.ConsumeRandomLengthString(16);               // not JSON at all
  }
}

// A template is a JSON text with fields written as `@name@` placeholders and their good values.
struct Field {
  const char* name;
  const char* good;
};

// Fill the template: every field gets its good value, except (as the input picks) one or two
// fields that get AnyValue instead.
inline std::string Fill(FuzzedDataProvider& in, std::string text, const std::vector<Field>& fields) {
  const int bad = fields.empty() ? -1 : in.ConsumeIntegralInRange<int>(-1, static_cast<int>(fields.size()) - 1);
  const int bad2 =
      fields.empty() || !in.ConsumeBool() ? -1 : in.ConsumeIntegralInRange<int>(0, static_cast<int>(fields.size()) - 1);
  for (int i = 0; i < static_cast<int>(fields.size()); ++i) {
    const std::string mark = std::string("@") + fields[i].name + "@";
    std::string value = fields[i].good;
    if (i == bad || i == bad2) value = AnyValue(in);
    // Search on past each inserted value: a generated value may itself contain "@name@".
    for (auto at = text.find(mark); at != std::string::npos; at = text.find(mark, at + value.size())) {
      text.replace(at, mark.size(), value);
    }
  }
  return text;
}

}  // namespace dsx::fuzz

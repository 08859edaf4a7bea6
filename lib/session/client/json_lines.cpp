#include "session/client/json_lines.hpp"

#include <cctype>

#include <nlohmann/json.hpp>

namespace dsx::session::client {
namespace {

// nlohmann's message is "[json.exception.parse_error.101] parse error at line 1, column 5:
// syntax error ..."; keep the column and the reason.
std::string ParseErrorReason(const nlohmann::json::parse_error& e) {
  std::string what = e.what();
  size_t col = what.find("column ");
  if (col != std::string::npos) return what.substr(col);
  size_t bracket = what.find("] ");
  return bracket == std::string::npos ? what : what.substr(bracket + 2);
}

}  // namespace

Status JsonLines::Feed(std::string_view bytes) {
  if (failed_) return Status::Failed("input rejected earlier");
  size_t start = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (bytes[i] != '\n') continue;
    if (partial_.empty()) {
      DSX_RETURN_IF_ERROR(AddLine(bytes.substr(start, i - start)));
    } else {
      partial_.append(bytes.substr(start, i - start));
      std::string line = std::move(partial_);
      partial_.clear();
      DSX_RETURN_IF_ERROR(AddLine(line));
    }
    start = i + 1;
  }
  partial_.append(bytes.substr(start));
  return Status::Ok();
}

Status JsonLines::Finish() {
  if (failed_) return Status::Failed("input rejected earlier");
  if (partial_.empty()) return Status::Ok();
  std::string line = std::move(partial_);
  partial_.clear();
  return AddLine(line);
}

Status JsonLines::AddLine(std::string_view line) {
  ++line_no_;
  bool blank = true;
  for (char c : line) blank = blank && std::isspace(static_cast<unsigned char>(c));
  if (blank) return Status::Ok();
  try {
    // Parsed only to validate: the message is stored as written (trimmed), so numbers keep
    // their exact spelling (no float round trip, no big-integer change).
    nlohmann::json parsed = nlohmann::json::parse(line);
    (void)parsed;
    size_t b = 0, e = line.size();
    while (b < e && std::isspace(static_cast<unsigned char>(line[b]))) ++b;
    while (e > b && std::isspace(static_cast<unsigned char>(line[e - 1]))) --e;
    messages_.emplace_back(line.substr(b, e - b));
  } catch (const nlohmann::json::parse_error& e) {
    failed_ = true;
    return Status::Failed("invalid JSON on line " + std::to_string(line_no_) + ", " + ParseErrorReason(e));
  }
  return Status::Ok();
}

std::string JsonLines::TakeBatch(size_t max_bytes, size_t* count) {
  *count = 0;
  if (taken_ >= messages_.size()) return "";
  std::string body = "[";
  while (taken_ < messages_.size()) {
    const std::string& m = messages_[taken_];
    if (*count > 0 && body.size() + m.size() + 2 > max_bytes) break;
    if (*count > 0) body.push_back(',');
    body += m;
    ++taken_;
    ++*count;
  }
  body.push_back(']');
  if (taken_ == messages_.size()) {
    messages_.clear();
    taken_ = 0;
  }
  return body;
}

}  // namespace dsx::session::client

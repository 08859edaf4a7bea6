#include "session/client/server_list.hpp"

#include <algorithm>

namespace dsx::session::client {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool StartsWith(std::string_view s, std::string_view p) { return s.size() >= p.size() && s.substr(0, p.size()) == p; }

}  // namespace

Result<std::vector<std::string>> ParseServerList(std::string_view text) {
  std::vector<std::string> out;
  if (Trim(text).empty()) {
    out.emplace_back(kDefaultServer);
    return out;
  }
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = text.find(',', start);
    std::string_view entry =
        Trim(text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (entry.empty()) {
      return Status::Usage("server list '" + std::string(text) + "' has an empty entry");
    }
    if (!StartsWith(entry, "http://") && !StartsWith(entry, "https://")) {
      return Status::Usage("server '" + std::string(entry) + "' is not an http:// or https:// URL");
    }
    if (entry.find_first_of("?# ") != std::string_view::npos) {
      return Status::Usage("server '" + std::string(entry) + "' must not have a query, fragment or space");
    }
    std::string url(entry);
    while (url.size() > 8 && url.back() == '/') url.pop_back();
    if (url.find("://") + 3 >= url.size()) return Status::Usage("server '" + url + "' has no host");
    if (std::find(out.begin(), out.end(), url) == out.end()) out.push_back(std::move(url));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

Result<std::vector<StreamRef>> ResolveStreamAll(std::string_view name, const std::vector<std::string>& servers) {
  std::vector<StreamRef> out;
  if (servers.empty()) {
    auto ref = ResolveStream(name, "");
    if (!ref.ok()) return ref.status();
    out.push_back(std::move(ref).value());
    return out;
  }
  for (const std::string& server : servers) {
    auto ref = ResolveStream(name, server);
    if (!ref.ok()) return ref.status();
    if (ref->name == ref->url) {  // a full URL names itself: one server only
      out.assign(1, std::move(ref).value());
      return out;
    }
    out.push_back(std::move(ref).value());
  }
  return out;
}

std::string OriginOf(std::string_view url) {
  const std::size_t scheme = url.find("://");
  const std::size_t slash = url.find('/', scheme == std::string_view::npos ? 0 : scheme + 3);
  return std::string(slash == std::string_view::npos ? url : url.substr(0, slash));
}

bool ShouldFailOver(const Status& why) { return why.code() == Code::kUnavailable; }

Failover::Action Failover::OnFailure(const Status& why, bool contacted) {
  if (!ShouldFailOver(why)) return Action::kGiveUp;
  if (servers_ == 1) return contacted ? Action::kRetryLater : Action::kGiveUp;
  ++failures_;
  if (!contacted && failures_ >= servers_) return Action::kGiveUp;  // every server refused first contact
  current_ = (current_ + 1) % servers_;
  return failures_ < servers_ ? Action::kSwitchNow : Action::kSwitchLater;
}

}  // namespace dsx::session::client

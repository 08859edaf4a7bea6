// ParseUrl: the three redis URL forms of client.hpp, and FormatUrl, their inverse.
#include "redis/url.hpp"

#include <algorithm>
#include <cctype>

namespace dsx::redis {
namespace {

constexpr std::uint16_t kRedisPort = 6379;
constexpr std::uint16_t kSentinelPort = 26379;

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// "HOST:PORT", "HOST" (default port), "[V6]:PORT", "[V6]".
Result<Endpoint> ParseHostPort(std::string_view text, std::uint16_t default_port) {
  Endpoint ep;
  std::string_view port_text;
  bool has_port = false;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return Status::Usage("bad host '" + std::string(text) + "': no closing ']'");
    ep.host = std::string(text.substr(1, close - 1));
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return Status::Usage("bad host '" + std::string(text) + "'");
      port_text = rest.substr(1);
      has_port = true;
    }
  } else {
    const size_t colon = text.find(':');
    if (colon != std::string_view::npos) {
      if (text.find(':', colon + 1) != std::string_view::npos) {
        return Status::Usage("bad host '" + std::string(text) + "': write an IPv6 address as [ADDR]:PORT");
      }
      port_text = text.substr(colon + 1);
      has_port = true;
    }
    ep.host = std::string(text.substr(0, colon));
  }
  if (ep.host.empty()) return Status::Usage("empty host in '" + std::string(text) + "'");
  if (!has_port) {
    ep.port = default_port;
    return ep;
  }
  if (!AllDigits(port_text) || port_text.size() > 5) {
    return Status::Usage("bad port '" + std::string(port_text) + "' in '" + std::string(text) + "'");
  }
  const int port = std::stoi(std::string(port_text));
  if (port < 1 || port > 65535) {
    return Status::Usage("bad port '" + std::string(port_text) + "' in '" + std::string(text) + "': 1 to 65535");
  }
  ep.port = static_cast<std::uint16_t>(port);
  return ep;
}

Result<int> ParseDb(std::string_view text) {
  if (!AllDigits(text) || text.size() > 9) {
    return Status::Usage("bad database number '" + std::string(text) + "': a number from 0");
  }
  return std::stoi(std::string(text));
}

Result<std::vector<Endpoint>> ParseHosts(std::string_view list, std::uint16_t default_port) {
  std::vector<Endpoint> out;
  if (list.empty()) return Status::Usage("no HOST:PORT in the redis URL");
  size_t start = 0;
  while (true) {
    const size_t comma = list.find(',', start);
    std::string_view one = list.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (one.empty()) return Status::Usage("empty HOST:PORT in the list '" + std::string(list) + "'");
    auto ep = ParseHostPort(one, default_port);
    if (!ep.ok()) return ep.status();
    out.push_back(std::move(*ep));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

}  // namespace

Result<Options> ParseUrl(std::string_view url) {
  const size_t sep = url.find("://");
  if (sep == std::string_view::npos) {
    return Status::Usage("bad redis URL: expected redis://HOST:PORT[/DB], redis+sentinel://HOST:PORT[,...]/MASTER[/DB] "
                         "or redis+cluster://HOST:PORT[,...]");
  }
  const std::string scheme = Lower(url.substr(0, sep));
  Options options;
  if (scheme == "rediss" || scheme == "rediss+sentinel" || scheme == "rediss+cluster") {
    return Status::Usage(
        "rediss:// (TLS) is not supported: it needs hiredis >= 1.0 with hiredis_ssl and Debian 12 ships hiredis 0.14; "
        "use redis:// on a private network or a TLS tunnel (stunnel, spiped) to Redis");
  } else if (scheme == "redis") {
    options.mode = Options::Mode::kStandalone;
  } else if (scheme == "redis+sentinel") {
    options.mode = Options::Mode::kSentinel;
  } else if (scheme == "redis+cluster") {
    options.mode = Options::Mode::kCluster;
  } else {
    return Status::Usage("unsupported URL scheme '" + scheme + "://': use redis://, redis+sentinel:// or redis+cluster://");
  }
  std::string_view rest = url.substr(sep + 3);
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return Status::Usage("a redis URL takes no query or fragment ('?', '#')");
  }
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);

  const size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    if (userinfo.find(':') != std::string_view::npos) {
      return Status::Usage(
          "a password in the redis URL is refused (it would show in `ps` and in logs): give it with "
          "--redis-password-file or the environment variable DSX_REDIS_PASSWORD");
    }
    if (userinfo.empty()) return Status::Usage("empty user name before '@' in the redis URL");
    options.username = std::string(userinfo);
    authority = authority.substr(at + 1);
  }

  auto hosts = ParseHosts(authority, options.mode == Options::Mode::kSentinel ? kSentinelPort : kRedisPort);
  if (!hosts.ok()) return hosts.status();
  options.endpoints = std::move(*hosts);

  switch (options.mode) {
    case Options::Mode::kStandalone: {
      if (options.endpoints.size() != 1) {
        return Status::Usage("redis:// takes one HOST:PORT; for several use redis+sentinel:// or redis+cluster://");
      }
      if (!path.empty()) {
        auto db = ParseDb(path);
        if (!db.ok()) return db.status();
        options.db = *db;
      }
      break;
    }
    case Options::Mode::kSentinel: {
      const size_t next = path.find('/');
      options.master_name = std::string(path.substr(0, next));
      if (options.master_name.empty()) {
        return Status::Usage("redis+sentinel:// needs the master name: redis+sentinel://HOST:PORT[,...]/MASTER_NAME[/DB]");
      }
      if (next != std::string_view::npos) {
        std::string_view db_text = path.substr(next + 1);
        if (!db_text.empty()) {
          auto db = ParseDb(db_text);
          if (!db.ok()) return db.status();
          options.db = *db;
        }
      }
      break;
    }
    case Options::Mode::kCluster: {
      if (!path.empty() && path != "0") {
        return Status::Usage("redis+cluster:// takes no database: Redis Cluster has only database 0");
      }
      break;
    }
  }
  return options;
}

std::string FormatEndpoint(const Endpoint& endpoint) {
  const bool v6 = endpoint.host.find(':') != std::string::npos;
  return (v6 ? "[" + endpoint.host + "]" : endpoint.host) + ":" + std::to_string(endpoint.port);
}

std::string FormatUrl(const Options& options) {
  std::string out;
  switch (options.mode) {
    case Options::Mode::kStandalone: out = "redis://"; break;
    case Options::Mode::kSentinel: out = "redis+sentinel://"; break;
    case Options::Mode::kCluster: out = "redis+cluster://"; break;
  }
  if (!options.username.empty()) {
    out += options.username;
    out += '@';
  }
  for (size_t i = 0; i < options.endpoints.size(); ++i) {
    if (i) out += ",";
    out += FormatEndpoint(options.endpoints[i]);
  }
  if (options.mode == Options::Mode::kSentinel) {
    out += '/';
    out += options.master_name;
  }
  if (options.mode != Options::Mode::kCluster) {
    out += '/';
    out += std::to_string(options.db);
  }
  return out;
}

}  // namespace dsx::redis

// dsx session publish|tail|create|delete|info: flags -> lib/session/client, then print.
// Behaviour and output shapes are documented in docs/cli/session-clients.md (man dsx-session).
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli.hpp"
#include "commands.hpp"
#include "core/clock.hpp"
#include "net/curl_transport.hpp"
#include "session/client/follower.hpp"
#include "session/client/publish.hpp"
#include "session/client/run_end_watch.hpp"
#include "session/client/server_list.hpp"
#include "session/client/stream_client.hpp"
#include "session/client/tail_output.hpp"
#include "session/client/text_render.hpp"

namespace dsx::cmd {
namespace {

namespace sc = dsx::session::client;
using nlohmann::json;

// Flags every client command takes.
struct Common {
  std::string stream;
  cli::ServerFlags net;
  bool json = false;
};

void AddCommon(CLI::App* cmd, Common& c) {
  cmd->add_option("stream", c.stream, "stream path (chat/42, under SERVER/v1/stream/) or full http(s) URL")->required();
  cli::AddServerListFlags(cmd, c.net);
  cmd->add_flag("--json", c.json, "print one JSON document instead of text");
}

// The transport and client for one command run.
struct Session {
  net::CurlTransport transport;
  std::unique_ptr<sc::StreamClient> client;
};

Result<std::unique_ptr<Session>> Open(const Common& c) {
  auto servers = sc::ParseServerList(c.net.server);
  if (!servers.ok()) return servers.status();
  auto refs = sc::ResolveStreamAll(c.stream, *servers);
  if (!refs.ok()) return refs.status();
  auto s = std::make_unique<Session>();
  s->client = std::make_unique<sc::StreamClient>(s->transport, std::move(refs).value(), c.net.token);
  return s;
}

// "what" part of error messages: cannot <verb> '<stream>'.
std::string What(const std::string& verb, const Common& c) { return "cannot " + verb + " '" + c.stream + "'"; }

// Notices (reconnecting, waiting) go to stderr unless --quiet.
void Notice(const std::string& line) {
  if (!cli::Quiet()) std::fprintf(stderr, "dsx: %s\n", line.c_str());
}

json InfoJson(const Common& c, const sc::StreamRef& ref, const sc::StreamInfo& info) {
  json j;
  j["stream"] = c.stream;
  j["url"] = ref.url;
  // A JSON stream on a dsx server is also a live session (docs/protocol/sessions.md).
  const auto urls = sc::IsJsonContentType(info.content_type) ? sc::SessionUrlsFor(ref.url) : std::nullopt;
  j["session"] = urls ? json{{"url", urls->session}, {"events_url", urls->events}, {"view_url", urls->view},
                             {"web_url", urls->web}}
                      : json(nullptr);
  j["content_type"] = info.content_type;
  j["next_offset"] = info.next_offset;
  j["closed"] = info.closed;
  j["ttl"] = info.ttl.empty() ? json(nullptr) : json(std::strtoll(info.ttl.c_str(), nullptr, 10));
  j["expires_at"] = info.expires_at.empty() ? json(nullptr) : json(info.expires_at);
  return j;
}

// ---------------------------------------------------------------- info, create, delete

void RunInfo(const Common& c) {
  auto s = Open(c);
  if (!s.ok()) return cli::Finish(s.status());
  auto info = (*s)->client->Head();
  if (!info.ok()) return cli::Finish(info.status().Wrap(What("get info for", c)));
  if (c.json) {
    cli::PrintJson(InfoJson(c, (*s)->client->ref(), *info));
  } else {
    std::printf("stream:       %s\n", c.stream.c_str());
    std::printf("url:          %s\n", (*s)->client->ref().url.c_str());
    std::printf("content-type: %s\n", info->content_type.c_str());
    std::printf("next-offset:  %s\n", info->next_offset.c_str());
    std::printf("closed:       %s\n", info->closed ? "yes" : "no");
    if (!info->ttl.empty()) std::printf("ttl:          %ss\n", info->ttl.c_str());
    if (!info->expires_at.empty()) std::printf("expires-at:   %s\n", info->expires_at.c_str());
    if (sc::IsJsonContentType(info->content_type)) {
      if (auto urls = sc::SessionUrlsFor((*s)->client->ref().url)) {
        std::printf("session:      %s\n", urls->session.c_str());
        std::printf("events:       %s\n", urls->events.c_str());
        std::printf("view:         %s\n", urls->view.c_str());
        std::printf("web:          %s\n", urls->web.c_str());
      }
    }
  }
  cli::Finish(Status::Ok());
}

struct CreateFlags {
  Common c;
  std::string content_type;
  std::optional<uint64_t> ttl;
  std::string expires_at;
};

void AddCreateFlags(CLI::App* cmd, CreateFlags& f) {
  cmd->add_option("--content-type", f.content_type,
                  "stream content type on create (default: the server's, application/octet-stream)");
  cmd->add_option("--ttl", f.ttl, "on create: delete the stream after SECONDS without reads or writes");
  cmd->add_option("--expires-at", f.expires_at, "on create: delete the stream at this RFC 3339 time");
}

sc::CreateOptions ToCreateOptions(const CreateFlags& f) {
  sc::CreateOptions o;
  o.content_type = f.content_type;
  o.ttl_seconds = f.ttl;
  o.expires_at = f.expires_at;
  return o;
}

void RunCreate(const CreateFlags& f) {
  const Common& c = f.c;
  if (f.ttl && !f.expires_at.empty()) return cli::Finish(Status::Usage("--ttl and --expires-at exclude each other"));
  auto s = Open(c);
  if (!s.ok()) return cli::Finish(s.status());
  auto r = (*s)->client->Create(ToCreateOptions(f));
  if (!r.ok()) return cli::Finish(r.status().Wrap(What("create", c)));
  if (c.json) {
    json j = InfoJson(c, (*s)->client->ref(), r->info);
    j["created"] = r->created;
    cli::PrintJson(j);
  } else if (r->created) {
    std::printf("created '%s' (%s)\n", c.stream.c_str(), r->info.content_type.c_str());
  } else {
    std::printf("'%s' already exists with the same settings\n", c.stream.c_str());
  }
  cli::Finish(Status::Ok());
}

void RunDelete(const Common& c) {
  auto s = Open(c);
  if (!s.ok()) return cli::Finish(s.status());
  Status st = (*s)->client->Delete();
  if (!st.ok()) return cli::Finish(st.Wrap(What("delete", c)));
  if (c.json) {
    cli::PrintJson(json{{"stream", c.stream}, {"url", (*s)->client->ref().url}, {"deleted", true}});
  } else {
    std::printf("deleted '%s'\n", c.stream.c_str());
  }
  cli::Finish(Status::Ok());
}

// ---------------------------------------------------------------- publish

struct PublishFlags {
  CreateFlags create;  // create.c holds the common flags
  bool do_create = false;
  bool close = false;
  bool read_all = false;
  std::string producer;
  std::optional<uint64_t> epoch;
  double retry_for_s = 120;
};

void RunPublish(const PublishFlags& f) {
  const Common& c = f.create.c;
  const std::string what = What("publish to", c);
  if (!f.do_create && (!f.create.content_type.empty() || f.create.ttl || !f.create.expires_at.empty())) {
    return cli::Finish(Status::Usage("--content-type, --ttl and --expires-at need --create"));
  }
  if (f.create.ttl && !f.create.expires_at.empty()) {
    return cli::Finish(Status::Usage("--ttl and --expires-at exclude each other"));
  }
  if (f.epoch && f.producer.empty()) return cli::Finish(Status::Usage("--epoch needs --producer"));
  if (f.retry_for_s < 0) return cli::Finish(Status::Usage("--retry-for must be >= 0"));
  auto s = Open(c);
  if (!s.ok()) return cli::Finish(s.status());
  sc::PublishOptions o;
  o.create = f.do_create;
  o.create_options = ToCreateOptions(f.create);
  o.close = f.close;
  o.read_all = f.read_all;
  o.producer = f.producer;
  o.epoch = f.epoch;
  o.retry_for_ms = static_cast<int64_t>(f.retry_for_s * 1000);
  o.notice = [&c](const std::string& line) { Notice("publish '" + c.stream + "': " + line); };
  auto r = sc::Publish(*(*s)->client, STDIN_FILENO, o);
  if (!r.ok()) return cli::Finish(r.status().Wrap(what));
  if (c.json) {
    cli::PrintJson(json{{"stream", c.stream},
                        {"url", (*s)->client->ref().url},
                        {"bytes", r->bytes},
                        {"messages", r->messages},
                        {"next_offset", r->next_offset},
                        {"closed", r->closed}});
  }
  cli::Finish(Status::Ok());
}

// ---------------------------------------------------------------- tail

struct TailFlags {
  Common c;
  bool follow = false;
  std::string from = "-1";
  bool jsonl = false;
  bool envelope = false;  // --envelope: JSON streams, one {"offset","data"} line per message
  bool text = false;      // --text: session events as a chat (session/client/text_render.hpp)
  std::string live = "auto";
  double retry_for_s = 0;
  std::string timeout;  // --timeout DURATION: longest wait for a stream that does not exist yet
  bool until_run_end = false;
};

// "30" (seconds), "500ms", "30s", "5m", "2h" -> milliseconds; nullopt when malformed.
std::optional<std::int64_t> ParseDurationMs(const std::string& text) {
  std::size_t digits = 0;
  while (digits < text.size() && (std::isdigit(static_cast<unsigned char>(text[digits])) || text[digits] == '.')) {
    ++digits;
  }
  if (digits == 0 || digits > 12) return std::nullopt;
  char* end = nullptr;
  const std::string number = text.substr(0, digits);
  const double v = std::strtod(number.c_str(), &end);
  if (end != number.c_str() + number.size()) return std::nullopt;
  const std::string unit = text.substr(digits);
  double ms = 0;
  if (unit.empty() || unit == "s") ms = v * 1000;
  else if (unit == "ms") ms = v;
  else if (unit == "m") ms = v * 60000;
  else if (unit == "h") ms = v * 3600000;
  else return std::nullopt;
  return static_cast<std::int64_t>(ms);
}

// The runs active on the server now (GET /v1/session/<id>): `--until-run-end` with `--from now`
// (or an offset) has not seen their run.start. Empty when the stream is not a dsx session.
std::vector<std::string> ActiveRuns(sc::StreamClient& client, const std::string& token) {
  std::vector<std::string> out;
  auto urls = sc::SessionUrlsFor(client.ref().url);
  if (!urls) return out;
  net::HttpRequest req;
  req.url = urls->session;
  req.timeout_ms = 30000;
  if (!token.empty()) req.headers.emplace_back("Authorization", "Bearer " + token);
  net::Exchange ex = client.transport().Send(req);
  if (!ex.ok() || ex.response.status != 200) return out;
  json body = json::parse(ex.response.body, nullptr, false);
  if (!body.is_object() || !body.contains("runs") || !body["runs"].is_array()) return out;
  for (const auto& r : body["runs"]) {
    if (r.is_object() && r.contains("run") && r["run"].is_string() && r.value("active", true) == true) {
      out.push_back(r["run"].get<std::string>());
    }
  }
  return out;
}

void RunTail(const TailFlags& f) {
  const Common& c = f.c;
  if (!sc::IsValidOffsetArg(f.from)) {
    return cli::Finish(Status::Usage("--from '" + f.from + "' is not -1, now or an offset"));
  }
  if (f.jsonl && c.json) return cli::Finish(Status::Usage("--jsonl and --json exclude each other"));
  if (f.envelope && (c.json || f.text)) return cli::Finish(Status::Usage("--envelope excludes --json and --text"));
  if (f.text && (c.json || f.jsonl)) return cli::Finish(Status::Usage("--text excludes --json and --jsonl"));
  if (f.retry_for_s < 0) return cli::Finish(Status::Usage("--retry-for must be >= 0"));
  std::optional<std::int64_t> timeout_ms;
  if (!f.timeout.empty()) {
    timeout_ms = ParseDurationMs(f.timeout);
    if (!timeout_ms || *timeout_ms <= 0) {
      return cli::Finish(Status::Usage("--timeout '" + f.timeout + "' is not a duration (30, 500ms, 30s, 5m, 1h)"));
    }
  }
  const bool follow = f.follow || f.until_run_end;
  if (timeout_ms && !follow) return cli::Finish(Status::Usage("--timeout needs --follow (or --until-run-end)"));
  auto s = Open(c);
  if (!s.ok()) return cli::Finish(s.status());

  sc::Follower::Options fo;
  fo.from = f.from;
  fo.follow = follow;
  fo.live = f.live == "sse"         ? sc::LiveMode::kSse
            : f.live == "long-poll" ? sc::LiveMode::kLongPoll
                                    : sc::LiveMode::kAuto;
  // --envelope computes each message's offset from the bytes the server stored, which long-poll
  // returns exactly (SSE's line framing may not, for a message with line breaks inside).
  if (f.envelope && f.live == "auto") fo.live = sc::LiveMode::kLongPoll;
  fo.retry_for = sc::Millis(static_cast<int64_t>(f.retry_for_s * 1000));
  fo.seed = static_cast<uint64_t>(NowMs());
  fo.notice = [&c](const std::string& line) { Notice("tail '" + c.stream + "': " + line); };
  fo.wait_for_stream = follow;  // a session that does not exist yet is waited for, as the web page does
  fo.wait_for = sc::Millis(timeout_ms.value_or(0));
  sc::RunEndWatch watch;
  sc::Follower* follower_ptr = nullptr;
  if (f.until_run_end) {
    fo.on_caught_up = [&] {
      watch.Arm(ActiveRuns(*(*s)->client, c.net.token));
      Notice("tail '" + c.stream + "': following until the current (or next) run ends");
    };
  }
  sc::Follower follower(*(*s)->client, fo);
  follower_ptr = &follower;
  const sc::TailFormat format = f.envelope ? sc::TailFormat::kEnvelope
                                : f.jsonl  ? sc::TailFormat::kJsonl
                                : c.json   ? sc::TailFormat::kJson
                                           : sc::TailFormat::kRaw;
  sc::TailOutput out(STDOUT_FILENO, format);
  sc::TextRenderer text_out(sc::TextStyle::ForFd(STDOUT_FILENO));
  std::string end_offset;
  Status st = follower.Run([&](const sc::Chunk& chunk) {
    Status w = f.text ? text_out.WriteChunk(chunk.data, STDOUT_FILENO) : out.Write(chunk, follower.content_type());
    if (!w.ok() || !f.until_run_end) return w;
    if (!chunk.json) return Status::Failed("--until-run-end needs a session (a JSON stream)");
    // A session created after tail started (it waited for it): every run in it is "the next
    // one", even one that starts and ends before the catch-up is done.
    if (!watch.armed() && follower_ptr->waited_for_stream()) watch.Arm({});
    json batch = json::parse(chunk.data, nullptr, false);
    if (!batch.is_array()) batch = json::array({batch});
    for (const auto& e : batch) watch.Feed(e);
    if (watch.done()) {
      end_offset = chunk.next_offset;
      follower_ptr->RequestStop();
    }
    return Status::Ok();
  });
  if (out.broken_pipe()) return cli::Finish(Status::Ok());  // the reader left: `tail ... | head`
  if (st.ok() && (f.jsonl || f.envelope) && !follower.content_type().empty() &&
      !sc::IsJsonContentType(follower.content_type())) {
    st = Status::Failed(std::string(f.envelope ? "--envelope" : "--jsonl") + " needs a JSON stream (content type '" +
                        follower.content_type() + "'); use --json");
  }
  if (st.ok() && f.until_run_end && watch.done()) {
    if (c.json) {
      cli::PrintJson(json{{"offset", end_offset}, {"run_end", {{"run", watch.run()}, {"reason", watch.reason()}}}});
    } else {
      Notice("tail '" + c.stream + "': run " + watch.run() + " ended (" + watch.reason() + ")");
    }
  }
  cli::Finish(st.Wrap(What("read", c)));
}

}  // namespace

void register_session_clients(CLI::App& session) {
  {
    auto f = std::make_shared<PublishFlags>();
    auto* cmd = session.add_subcommand("publish", "append stdin to a stream (bytes as they arrive, or JSON lines)");
    AddCommon(cmd, f->create.c);
    AddCreateFlags(cmd, f->create);
    cmd->add_flag("--create", f->do_create, "create the stream first if it does not exist");
    cmd->add_flag("--close", f->close, "close the stream at end of input (readers then see EOF)");
    cmd->add_option("--producer", f->producer,
                    "idempotent producer id: retries after network errors or restarts append exactly once");
    cmd->add_option("--epoch", f->epoch, "producer epoch (default: current Unix time in milliseconds)");
    cmd->add_flag("--all", f->read_all,
                  "JSON mode: read and validate all of stdin before appending (default for regular files)");
    cmd->add_option("--retry-for", f->retry_for_s, "keep retrying a failed append for SECONDS (default 120)");
    cmd->callback([f] { RunPublish(*f); });
  }
  {
    auto f = std::make_shared<TailFlags>();
    auto* cmd = session.add_subcommand("tail", "print a stream; --follow keeps printing live data until it is closed");
    AddCommon(cmd, f->c);
    cmd->add_flag("-f,--follow", f->follow, "keep following live (SSE or long-poll), reconnecting after drops");
    cmd->add_option("--from", f->from, "start offset: -1 (beginning, default), now (only new data), or an offset");
    cmd->add_flag("--jsonl", f->jsonl, "JSON streams: one JSON message per line");
    cmd->add_flag("--envelope", f->envelope,
                  "JSON streams: one line per message, {\"offset\":O,\"data\":MESSAGE}; --from O resumes after it");
    cmd->add_flag("--text", f->text, "sessions: print events as a readable chat, fragments joined");
    cmd->add_option("--live", f->live, "live transport: auto (default), sse, long-poll")
        ->check(CLI::IsMember({"auto", "sse", "long-poll"}));
    cmd->add_option("--retry-for", f->retry_for_s,
                    "with --follow: give up after an outage of SECONDS (default 0: retry forever)");
    cmd->add_option("--timeout", f->timeout,
                    "with --follow: wait at most DURATION (30s, 5m) for a stream that does not exist yet (exit 3)");
    cmd->add_flag("--until-run-end", f->until_run_end,
                  "sessions: follow until the current (or next) run ends, then exit 0 (implies --follow)");
    cmd->callback([f] { RunTail(*f); });
  }
  {
    auto f = std::make_shared<CreateFlags>();
    auto* cmd = session.add_subcommand("create", "create a stream (idempotent for identical settings)");
    AddCommon(cmd, f->c);
    AddCreateFlags(cmd, *f);
    cmd->callback([f] { RunCreate(*f); });
  }
  {
    auto c = std::make_shared<Common>();
    auto* cmd = session.add_subcommand("delete", "delete a stream");
    AddCommon(cmd, *c);
    cmd->callback([c] { RunDelete(*c); });
  }
  {
    auto c = std::make_shared<Common>();
    auto* cmd = session.add_subcommand("info", "show a stream's metadata (HEAD)");
    AddCommon(cmd, *c);
    cmd->callback([c] { RunInfo(*c); });
  }
}

}  // namespace dsx::cmd

#include "session/server/ws_frame.hpp"

#include <algorithm>

#include "session/live/event.hpp"
#include "session/model/json_input.hpp"

namespace dsx::session::server {
namespace {

using nlohmann::json;

WsFrame Refuse(WsFrame f, std::string why) {
  f.status = 400;
  f.error = std::move(why);
  return f;
}

// subscribe: offset, mode, lanes, credit
WsFrame Subscribe(WsFrame f, JsonFields& in) {
  const std::string offset = in.String("offset", "-1");
  const std::string mode = in.String("mode", "");
  const json* lanes = in.Array("lanes");
  const auto credit = in.Has("credit") ? in.OptInt("credit") : std::nullopt;
  if (!in.ok()) return Refuse(std::move(f), in.error());
  auto parsed = ParseOffset(offset);
  if (!parsed) return Refuse(std::move(f), "invalid offset '" + offset + "'");
  f.offset = *parsed;
  f.compacted = mode == "compacted";
  if (lanes) {
    for (const json& l : *lanes) {
      if (!l.is_string() || l.get_ref<const std::string&>().empty() ||
          l.get_ref<const std::string&>().size() > live::kMaxNameBytes) {
        return Refuse(std::move(f), "field 'lanes' must be an array of lane names (strings of 1..200 bytes)");
      }
      f.lanes.push_back(l.get<std::string>());
    }
  }
  if (in.Has("credit")) {
    if (!credit || *credit < 1) return Refuse(std::move(f), "field 'credit' must be a positive integer");
    f.credit = std::min(*credit, kMaxWsCredit);
  }
  return f;
}

// append: event, producer {id, epoch, seq}
WsFrame Append(WsFrame f, const json& frame, JsonFields& in) {
  const json* producer = in.Object("producer");
  if (!in.ok()) return Refuse(std::move(f), in.error());
  auto event = frame.find("event");
  if (event == frame.end()) return Refuse(std::move(f), "append needs an 'event'");
  f.event = *event;
  if (producer) {
    JsonFields p(*producer, "producer", "producer.");
    const auto id = p.OptString("id");
    const auto epoch = p.OptUint("epoch");
    const auto seq = p.OptUint("seq");
    if (!p.ok()) return Refuse(std::move(f), p.error());
    if (!id || id->empty() || !epoch || !seq) return Refuse(std::move(f), "producer needs id, epoch and seq");
    f.producer = ProducerArgs{*id, *epoch, *seq};
  }
  return f;
}

}  // namespace

WsFrame ParseWsFrame(std::string_view text) {
  WsFrame f;
  auto parsed = ParseClientJson(text);
  if (!parsed.ok() || !parsed->is_object()) {
    f.status = 400;
    f.framing = true;
    f.error = parsed.ok() ? "a frame must be a JSON object with an 'op'"
                          : "a frame must be a JSON object with an 'op' (" + parsed.status().message() + ")";
    return f;
  }
  const json& frame = *parsed;
  JsonFields in(frame, "frame");
  const auto op = in.OptString("op");
  if (!op) {
    f.status = 400;
    f.framing = true;
    f.error = "a frame must be a JSON object with an 'op'" + (in.ok() ? std::string() : " (" + in.error() + ")");
    return f;
  }
  if (auto r = frame.find("req"); r != frame.end()) f.req = *r;
  if (*op == "subscribe") {
    f.op = WsFrame::Op::kSubscribe;
    return Subscribe(std::move(f), in);
  }
  if (*op == "append") {
    f.op = WsFrame::Op::kAppend;
    return Append(std::move(f), frame, in);
  }
  if (*op == "auth") {
    f.op = WsFrame::Op::kAuth;
    const auto token = in.OptString("token");
    if (!in.ok() || !token) return Refuse(std::move(f), in.ok() ? "auth needs a 'token'" : in.error());
    f.token = *token;
    return f;
  }
  if (*op == "credit") {
    f.op = WsFrame::Op::kCredit;
    const auto n = in.OptInt("n");
    if (!n || *n < 1) return Refuse(std::move(f), "credit needs a positive integer 'n'");
    f.n = std::min(*n, kMaxWsCredit);
    return f;
  }
  if (*op == "heartbeat") {
    f.op = WsFrame::Op::kHeartbeat;
    const auto run = in.OptString("run");
    f.state = in.String("state", "");
    if (!in.ok()) return Refuse(std::move(f), in.error());
    if (!run || run->empty()) return Refuse(std::move(f), "heartbeat needs a 'run'");
    f.run = *run;
    return f;
  }
  if (*op == "presence") {
    f.op = WsFrame::Op::kPresence;
    f.state = in.String("state", "online");
    f.device = in.String("device", "");
    if (!in.ok()) return Refuse(std::move(f), in.error());
    if (f.state.size() > live::kMaxNameBytes || f.device.size() > live::kMaxNameBytes) {
      return Refuse(std::move(f), "presence state and device must be at most 200 bytes");
    }
    return f;
  }
  if (*op == "ping") {
    f.op = WsFrame::Op::kPing;
    return f;
  }
  return Refuse(std::move(f), "unknown op '" + *op + "'");
}

WsRefresh CheckRefresh(const auth::Principal& old_principal, const auth::Principal& fresh, const std::string& session) {
  WsRefresh r;
  if (fresh.sub != old_principal.sub) {
    r.status = 403;
    r.error = "a refreshed token must have the same sub";
    return r;
  }
  r.keep_subscription = fresh.Allows(session, auth::Right::kRead);
  r.keep_presence = fresh.Allows(session, auth::Right::kPresence);
  if (!r.keep_subscription) r.dropped = "subscription ended: " + fresh.Lacks(session, auth::Right::kRead);
  return r;
}

}  // namespace dsx::session::server

// libFuzzer target: every WebSocket op's frame handling, socket-free. Each input is a few
// frames, either raw bytes or built from the documented shape of an op (subscribe, append,
// auth, credit, heartbeat, presence, ping) with one or two fields replaced by a value of
// another JSON type, a deep nesting, a huge or odd string. Each frame goes through
// ParseWsFrame and then through the same hub calls WebSocketSession makes for it (Submit,
// Heartbeat, PresenceSet, BuildView + LiveCursor, Verify + CheckRefresh).
// Invariants: no crash, no sanitizer report, no throw, no 5xx; framing errors are 400.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/clock.hpp"
#include "fuzz_json_gen.hpp"
#include "session/auth/jwt.hpp"
#include "session/live/compactor.hpp"
#include "session/live/live_cursor.hpp"
#include "session/live/session_hub.hpp"
#include "session/server/ws_frame.hpp"
#include "session/store/memory_store.hpp"

using namespace dsx::session;
using namespace dsx::session::server;
using auth::Right;
using dsx::fuzz::Fill;
using nlohmann::json;

namespace {

const std::string kSession = "work/s1";

struct World {
  StreamService service{MakeMemoryStore(), ServiceOptions{}};
  std::unique_ptr<live::SessionHub> hub;
  std::unique_ptr<auth::TokenKey> key;
  std::vector<std::string> tokens;
  std::vector<auth::Principal> principals;
  World() {
    if (!service.Open().ok()) __builtin_trap();
    hub = std::make_unique<live::SessionHub>(service);
    key = std::move(auth::TokenKey::FromBytes(std::string(40, 'k')).value());
    live::HubReply r;
    hub->Create(kSession, [&](live::HubReply x) { r = std::move(x); });
    if (r.status != 201) __builtin_trap();
    const std::int64_t now = dsx::NowMs() / 1000;
    auto add = [&](const char* sub, const char* pattern, std::vector<Right> rights) {
      auth::Principal p;
      p.sub = sub;
      p.grants.push_back({pattern, std::move(rights)});
      tokens.push_back(key->Mint(p, now, 86400).value());
      p.exp_s = now + 86400;
      principals.push_back(std::move(p));
    };
    add("alice", "work/*", {Right::kRead, Right::kAppend, Right::kRun, Right::kPresence, Right::kCancelOwn});
    add("alice", "other/*", {Right::kAdmin});  // same sub, rights elsewhere only
    add("alice", "work/s1", {Right::kRead});
    add("bob", "*", {Right::kAdmin});
    principals.push_back(auth::Principal::Open());
  }
};

std::unique_ptr<World> g_world;
int g_runs = 0;

World& TheWorld() {
  if (!g_world || ++g_runs % 3000 == 0) g_world = std::make_unique<World>();
  return *g_world;
}

std::string Frame(FuzzedDataProvider& in, const World& w) {
  switch (in.ConsumeIntegralInRange<int>(0, 8)) {
    case 0:
      return Fill(in,
                  R"({"op":"subscribe","req":@req@,"offset":@offset@,"mode":@mode@,"lanes":@lanes@,"credit":@credit@})",
                  {{"req", R"("s1")"},
                   {"offset", R"("-1")"},
                   {"mode", R"("compacted")"},
                   {"lanes", R"(["main"])"},
                   {"credit", "8"}});
    case 1:
      return Fill(in,
                  R"({"op":"append","req":@req@,"event":@event@,"producer":{"id":@id@,"epoch":@epoch@,"seq":@seq@}})",
                  {{"req", R"("a1")"},
                   {"event", R"({"type":"user.message","data":{"text":"hi"}})"},
                   {"id", R"("p")"},
                   {"epoch", "1"},
                   {"seq", "0"}});
    case 2:
      return Fill(
          in, R"({"op":"append","req":@req@,"event":{"type":"run.start","run":@run@,"data":{"takeover":@takeover@}}})",
          {{"req", "1"}, {"run", R"("r-1")"}, {"takeover", "true"}});
    case 3: {
      const std::string token = "\"" + w.tokens[in.ConsumeIntegralInRange<std::size_t>(0, w.tokens.size() - 1)] + "\"";
      return Fill(in, R"({"op":"auth","req":@req@,"token":@token@})", {{"req", R"("r")"}, {"token", token.c_str()}});
    }
    case 4: return Fill(in, R"({"op":"credit","n":@n@})", {{"n", "4"}});
    case 5:
      return Fill(in, R"({"op":"heartbeat","req":@req@,"run":@run@,"state":@state@})",
                  {{"req", R"("h1")"}, {"run", R"("r-1")"}, {"state", R"("streaming")"}});
    case 6:
      return Fill(in, R"({"op":"presence","state":@state@,"device":@device@})",
                  {{"state", R"("online")"}, {"device", R"("phone")"}});
    case 7: return Fill(in, R"({"op":@op@,"req":@req@})", {{"op", R"("ping")"}, {"req", R"("p1")"}});
    default: return in.ConsumeRandomLengthString(256);
  }
}

void Check(int status) {
  if (status >= 500) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  World& w = TheWorld();
  FuzzedDataProvider in(data, size);
  auth::Principal who = w.principals[in.ConsumeIntegralInRange<std::size_t>(0, w.principals.size() - 1)];
  for (int step = 0; step < 6 && in.remaining_bytes() > 0; ++step) {
    const WsFrame f = ParseWsFrame(Frame(in, w));  // a throw here aborts the fuzzer: a finding
    if (f.status != 0) {
      if (f.status != 400 || f.error.empty()) __builtin_trap();
      continue;
    }
    switch (f.op) {
      case WsFrame::Op::kSubscribe: {
        if (!who.Allows(kSession, Right::kRead)) break;
        live::HubReply err;
        StreamHandle stream = w.hub->Stream(kSession, &err);
        if (!stream) break;
        live::LaneFilter lanes;
        lanes.lanes = f.lanes;
        std::uint64_t from = f.offset.kind == OffsetParam::Kind::kAt ? f.offset.position : 0;
        if (f.compacted) {
          auto view = live::BuildView(w.hub->service(), stream, lanes, &from);
          if (view.ok()) (void)view->dump(-1, ' ', false, json::error_handler_t::replace);
        }
        live::LiveCursor cursor(w.hub->pages(), stream, from, std::move(lanes));
        auto poll = cursor.Next();
        Check(poll.status);
        break;
      }
      case WsFrame::Op::kAppend: {
        int status = -1;
        w.hub->Submit(kSession, who, f.event, f.producer, [&](live::HubReply r) { status = r.status; });
        if (status == -1) __builtin_trap();  // memory store: synchronous
        Check(status);
        break;
      }
      case WsFrame::Op::kAuth: {
        auto p = w.key->Verify(f.token, dsx::NowMs() / 1000);
        if (!p.ok()) break;
        const WsRefresh r = CheckRefresh(who, *p, kSession);
        if (r.status == 200) {
          if (!r.keep_subscription && p->Allows(kSession, Right::kRead)) __builtin_trap();
          who = *p;
        }
        break;
      }
      case WsFrame::Op::kHeartbeat: Check(w.hub->Heartbeat(kSession, who, f.run, f.state).status); break;
      case WsFrame::Op::kPresence:
        if (who.Allows(kSession, Right::kPresence)) {
          w.hub->PresenceSet(kSession, "ws:fuzz", who, "client", f.state, 0);
          (void)json(w.hub->PresenceList(kSession)).dump(-1, ' ', false, json::error_handler_t::replace);
        }
        break;
      case WsFrame::Op::kCredit:
        if (f.n < 1 || f.n > kMaxWsCredit) __builtin_trap();
        break;
      case WsFrame::Op::kPing:
        (void)json({{"op", "pong"}, {"req", f.req}}).dump(-1, ' ', false, json::error_handler_t::replace);
        break;
    }
  }
  return 0;
}

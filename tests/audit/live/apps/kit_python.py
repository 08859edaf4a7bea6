#!/usr/bin/python3
"""Fixture (f), issue 17: tests/audit/apps/fastapi-trap-dsx-kit (the FastAPI app migrated with the
dsx kit) run live. The migrated app's shape is kept: POST /api/chat starts the model call in a task
that outlives the request and writes the reply into the chat's dsx session with
clients/python/dsx_agent.py (DsxAgent.run); readers follow the session, Stop is a control.cancel
on the run (it closes the upstream stream), a steer is applied to the reply in flight (the call is
stopped and made again with the partial reply and the steer text, in the same run).

Standard library only, because FastAPI, uvicorn and the OpenAI SDK are not Debian packages this
project may install from (no PyPI): http.server stands in for FastAPI and the example client's
ChatStream (clients/python/examples/openai_stream_agent.py, http.client) for the OpenAI SDK. What
the probe measures, the session and the agent client, is the real code the migrated app uses.
  OPENAI_BASE_URL=http://127.0.0.1:PORT/v1 DSX_URL=http://127.0.0.1:PORT python3 kit_python.py [--relay]
  POST /api/chat {"session", "messages": [{"role", "content"}]} -> {"session", "run", "offset"}

--relay: fixture (g), tests/audit/apps/agents-relay-dsx-kit (the agents relay migrated with the kit)
the same way: the orchestrator's own run streams in lane main, then each sub-agent (researcher,
writer) streams into a run of its own lane of the same session instead of returning only its final
text through an opaque tool. A stop of the conversation's run also stops the sub-agents to come.
"""
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

here = os.path.dirname(os.path.abspath(__file__))
clients = os.path.join(here, "..", "..", "..", "..", "clients", "python")
sys.path.insert(0, clients)
sys.path.insert(0, os.path.join(clients, "examples"))
from dsx_agent import DsxAgent  # noqa: E402
from openai_stream_agent import ChatStream  # noqa: E402

BASE = os.environ["OPENAI_BASE_URL"]
dsx = DsxAgent(os.environ["DSX_URL"])


RELAY = "--relay" in sys.argv[1:]


def answer(session, messages, started, lane=None):
    """The migrated app's answer(): one run; a steer stops the call and calls again with it.
    Returns the reply's text and whether the run was cancelled."""
    lock = threading.Lock()
    state = {"stream": None, "steers": []}

    def on_cancel(_ctl):
        with lock:
            if state["stream"]:
                state["stream"].close()

    def on_steer(ctl):
        with lock:
            state["steers"].append(ctl.text or "")
            if state["stream"]:
                state["stream"].close()  # the reply so far is kept; the next call continues it

    try:
        with dsx.run(session, lane=lane, on_cancel=on_cancel, on_steer=on_steer,
                     data={"source": "kit_python.py"}) as run:
            if started is not None:
                started.update(session=session, run=run.id, offset=run.offset)
                started["event"].set()
            reply = []
            conversation = list(messages)
            while True:
                with lock:
                    stream = state["stream"] = ChatStream(BASE, None, {"model": "dsx-mock", "stream": True,
                                                                      "messages": conversation})
                run.start_message(role="assistant")
                partial = []
                for delta in stream:
                    if not run.append(delta):
                        break
                    partial.append(delta)
                run.end_message()
                reply += partial
                with lock:
                    steers, state["steers"] = state["steers"], []
                if run.cancelled or not steers:
                    break
                conversation += [{"role": "assistant", "content": "".join(partial)}]
                conversation += [{"role": "user", "content": s} for s in steers]
        return "".join(reply), run.cancelled
    except Exception as e:  # noqa: BLE001 - the run already ended 'error' with the reason
        if started is not None:
            started.setdefault("error", str(e))
            started["event"].set()
        return "", True


def converse(session, messages, started):
    """--relay: the orchestrator's run, then one run per sub-agent in its own lane."""
    plan, cancelled = answer(session, messages, started)
    for lane in ("research", "write"):
        if cancelled:
            return
        notes, cancelled = answer(session, [{"role": "user", "content": "%s: %s" % (lane, plan[:2000])}], None, lane)
        plan = notes or plan


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        if self.path != "/api/chat":
            return self.reply(404, {"error": "not found"})
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        except ValueError:
            return self.reply(400, {"error": "body is not JSON"})
        session, messages = body.get("session"), body.get("messages")
        if not isinstance(session, str) or not session or not isinstance(messages, list):
            return self.reply(400, {"error": "session (string) and messages (array) are required"})
        started = {"event": threading.Event()}
        threading.Thread(target=converse if RELAY else answer, args=(session, messages, started), daemon=True).start()
        if not started["event"].wait(20):
            return self.reply(504, {"error": "the run did not start in 20 s"})
        if "run" not in started:
            return self.reply(502, {"error": started.get("error", "the run did not start")})
        self.reply(200, {k: started[k] for k in ("session", "run", "offset")})


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print("kit-python%s listening on http://127.0.0.1:%d" % (" (relay)" if RELAY else "", server.server_address[1]), flush=True)
server.serve_forever()

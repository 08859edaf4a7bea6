"""The agent: appends its answer to the session as msg.* events and obeys control.cancel /
control.steer events read from the same session."""
import json
import os
import urllib.request

BASE = os.environ.get("DSX_URL", "http://127.0.0.1:8080")


def post(session: str, event: dict) -> dict:
    req = urllib.request.Request(
        f"{BASE}/v1/session/{session}/events",
        data=json.dumps(event).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req) as resp:
        return json.load(resp)


def controls(session: str, run: str, offset: str) -> list[dict]:
    with urllib.request.urlopen(f"{BASE}/v1/session/{session}/events?offset={offset}") as resp:
        events = json.load(resp)
    return [e for e in events if e.get("run") == run and e["type"] in ("control.cancel", "control.steer")]


def answer(session: str, tokens: list[str]) -> None:
    run = post(session, {"type": "run.start", "data": {"lease_ms": 15000}})["run"]
    offset = "now"
    for token in tokens:
        for c in controls(session, run, offset):
            if c["type"] == "control.cancel":
                post(session, {"type": "run.end", "run": run, "data": {"reason": "cancelled"}})
                return
        post(session, {"type": "msg.append", "run": run, "data": {"text": token}})
    post(session, {"type": "run.end", "run": run, "data": {"reason": "done"}})

#!/usr/bin/env python3
"""Stream an OpenAI-compatible chat completion into a dsx session run.

    OPENAI_BASE_URL=http://127.0.0.1:9000/v1 DSX_SERVER=http://127.0.0.1:4437 \\
        python3 openai_stream_agent.py chat/42 "Tell me a story"

The prompt is written to the session as a `user.message` event, then a run is opened and the
model's reply is streamed into it as it arrives (msg.start / msg.append / msg.end; the dsx client
batches and retries the appends exactly once). Anyone following the session (another tab, `dsx
session tail`, a phone) sees the reply live and can stop it: a `control.cancel` on the run (`dsx
session cancel chat/42`, the stop button of a dsx UI) closes the upstream HTTP connection, so the
model stops generating (an OpenAI-compatible server aborts a stream whose client went away), the
cancel is acknowledged `applied` and the run ends `cancelled` with the text so far kept. A steer is
answered `rejected` (this agent has no way to change a reply in flight).

Environment:
  OPENAI_BASE_URL  the API base, ending in /v1 (default https://api.openai.com/v1); `dsx audit
                   mock-llm` prints one to use: http://127.0.0.1:PORT/v1
  OPENAI_API_KEY   sent as `Authorization: Bearer` to the model only (optional for a local model)
  OPENAI_MODEL     model name (default gpt-4o-mini)
  DSX_SERVER       dsx server URL(s), comma separated (default http://127.0.0.1:4437)
  DSX_TOKEN        dsx bearer token (rights: append and run on the session)
Exit status: 0 the run ended done or cancelled, 1 it ended error (the reason is stored in the
run.end and printed), 2 usage, 5 no dsx server answered.
Standard library only: http.client for the model's SSE, dsx_agent.py for the session.
"""
import argparse
import http.client
import json
import os
import socket
import sys
import threading
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from dsx_agent import DsxAgent, DsxError, DsxUnavailable  # noqa: E402


class UpstreamError(Exception):
    pass


class ChatStream:
    """One streamed POST {base}/chat/completions; iterate for the content deltas. close() from
    another thread aborts it (the read loop then ends quietly)."""

    def __init__(self, base_url, api_key, body, stall_s=60.0):
        u = urllib.parse.urlsplit(base_url.rstrip("/"))
        if u.scheme not in ("http", "https") or not u.hostname:
            raise UpstreamError("OPENAI_BASE_URL '%s' is not an http(s) URL" % base_url)
        cls = http.client.HTTPSConnection if u.scheme == "https" else http.client.HTTPConnection
        self._conn = cls(u.hostname, u.port, timeout=stall_s)
        self._path = (u.path or "") + "/chat/completions"
        self._headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if api_key:
            self._headers["Authorization"] = "Bearer " + api_key
        self._body = json.dumps(body).encode("utf-8")
        self._stall_s = stall_s
        self._closed = threading.Event()
        self.finish_reason = None

    def close(self):
        """Aborts the call: the model sees its client go away."""
        self._closed.set()
        sock = self._conn.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __iter__(self):
        if self._closed.is_set():
            return  # cancelled before the call was made
        try:
            self._conn.request("POST", self._path, body=self._body, headers=self._headers)
            if self._closed.is_set():  # cancelled while connecting: close() found no socket yet
                self.close()
            resp = self._conn.getresponse()
        except socket.timeout:
            raise UpstreamError("upstream did not answer in %g s" % self._stall_s) from None
        except (OSError, http.client.HTTPException) as e:
            if self._closed.is_set():
                return
            raise UpstreamError("cannot reach the model at %s: %s" % (self._path, e)) from None
        if resp.status != 200:
            text = resp.read(2000).decode("utf-8", "replace").strip()
            try:
                err = json.loads(text).get("error")
                text = err.get("message", text) if isinstance(err, dict) else (err or text)
            except (ValueError, AttributeError):
                pass
            raise UpstreamError("upstream answered %d: %s" % (resp.status, text))
        ctype = (resp.getheader("Content-Type") or "").split(";")[0].strip()
        if ctype != "text/event-stream":
            raise UpstreamError("upstream answered %s, not SSE" % (ctype or "no content type"))
        data = []
        try:
            while True:
                raw = resp.readline(1 << 20)
                if not raw:
                    if self._closed.is_set():
                        return
                    raise UpstreamError("upstream closed the stream before [DONE]")
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                if line.startswith("data:"):
                    data.append(line[5:].lstrip(" "))
                    continue
                if line or not data:
                    continue  # comments, event:/id: lines, stray blank lines
                payload, data = "\n".join(data), []
                if payload == "[DONE]":
                    return
                try:
                    chunk = json.loads(payload)
                except ValueError:
                    raise UpstreamError("upstream sent a frame that is not JSON: %.200s" % payload) from None
                if isinstance(chunk, dict) and chunk.get("error"):
                    err = chunk["error"]
                    raise UpstreamError("upstream error: %s" % (err.get("message") if isinstance(err, dict) else err))
                for choice in chunk.get("choices") or []:
                    delta = choice.get("delta") or {}
                    if isinstance(delta.get("content"), str) and delta["content"]:
                        yield delta["content"]
                    if choice.get("finish_reason"):
                        self.finish_reason = choice["finish_reason"]
        except socket.timeout:
            if self._closed.is_set():
                return
            raise UpstreamError("upstream stalled %g s" % self._stall_s) from None
        except (OSError, http.client.HTTPException, ValueError):
            if self._closed.is_set():
                return  # we closed it (cancel)
            raise
        finally:
            self._conn.close()


def main(argv=None):
    ap = argparse.ArgumentParser(description="stream an OpenAI-compatible chat reply into a dsx session run")
    ap.add_argument("session", help="session id, e.g. chat/42")
    ap.add_argument("prompt", help="the user's message")
    ap.add_argument("--lane", default=None, help="lane of the run (default main)")
    ap.add_argument("--lease-ms", type=int, default=15000, help="run lease, renewed by heartbeats")
    ap.add_argument("--max-tokens", type=int, default=None)
    args = ap.parse_args(argv)

    base = os.environ.get("OPENAI_BASE_URL", "https://api.openai.com/v1")
    model = os.environ.get("OPENAI_MODEL", "gpt-4o-mini")
    body = {"model": model, "stream": True, "messages": [{"role": "user", "content": args.prompt}]}
    if args.max_tokens:
        body["max_tokens"] = args.max_tokens

    try:
        agent = DsxAgent()
        # The prompt goes into the session first, so every viewer sees what the reply answers.
        agent.create_session(args.session)
        agent.post(args.session, {"type": "user.message", "data": {"text": args.prompt}})
        stream = ChatStream(base, os.environ.get("OPENAI_API_KEY"), body)

        def on_steer(ctl):
            raise RuntimeError("this agent cannot change a reply in flight")  # acked 'rejected'

        run = agent.run(args.session, lane=args.lane, lease_ms=args.lease_ms,
                        data={"source": "openai_stream_agent.py", "model": model},
                        on_cancel=lambda ctl: stream.close(), on_steer=on_steer)
        with run:
            print("dsx: run %s started in session %s" % (run.id, args.session), file=sys.stderr, flush=True)
            run.start_message(role="assistant")
            for delta in stream:
                if not run.append(delta):
                    break  # the cancel was applied: the reply ends here
        print("dsx: run %s ended %s%s" % (run.id, run.reason,
                                          " (%d chars after the cancel not sent)" % run.dropped if run.dropped else ""),
              file=sys.stderr)
        return 0
    except UpstreamError as e:
        print("dsx: run ended error: %s" % e, file=sys.stderr)
        return 1
    except DsxUnavailable as e:
        print("dsx: %s" % e, file=sys.stderr)
        return 5
    except DsxError as e:
        print("dsx: %s" % e, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

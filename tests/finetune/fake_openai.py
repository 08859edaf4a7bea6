#!/usr/bin/python3
"""A local OpenAI-compatible chat endpoint (stdlib only) for the --llm test: POST
/v1/chat/completions streams $FAKE_REPLY (a JSON text) as SSE chunks, then [DONE]; each request
body is appended to --record as one JSON line so the test sees what dsx asked.

usage: fake_openai.py --port-file FILE --record FILE
"""
import argparse
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with open(self.server.record, "a") as f:
            f.write(body.decode("utf-8", "replace").replace("\n", " ") + "\n")
        if self.path != "/v1/chat/completions":
            self.send_response(404)
            self.end_headers()
            return
        reply = os.environ.get("FAKE_REPLY", "{}")
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for i in range(0, len(reply), 7):  # several chunks, as a real stream
            chunk = {"choices": [{"index": 0, "delta": {"content": reply[i:i + 7]}}]}
            self.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
        end = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        self.wfile.write(b"data: " + json.dumps(end).encode() + b"\n\ndata: [DONE]\n\n")


ap = argparse.ArgumentParser()
ap.add_argument("--port-file", required=True)
ap.add_argument("--record", required=True)
args = ap.parse_args()
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.record = args.record
with open(args.port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.replace(args.port_file + ".tmp", args.port_file)
server.serve_forever()

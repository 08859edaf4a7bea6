#!/usr/bin/python3
"""A stand-in for the parts of the Hugging Face Hub `dsx finetune submit` reads, speaking the documented
shapes: GET /api/models/{id} (safetensors.total, gated), GET /{id}/resolve/main/config.json, GET
/api/datasets/{id}, and the dataset viewer's GET /info?dataset={id} (dataset_info.<config>.features,
splits.<split>.num_examples). Unknown repositories answer 404 as the Hub does. Every request line
(and whether it carried an Authorization header, never its value) is appended to the log file.

usage: fake_hub.py PORT_FILE LOG_FILE    (binds 127.0.0.1 on a free port, writes it to PORT_FILE)
"""
import json
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODELS = {
    "acme/tiny-llm-7b": {
        "api": {"id": "acme/tiny-llm-7b", "gated": False, "private": False,
                "cardData": {"license": "apache-2.0"},
                "safetensors": {"parameters": {"BF16": 7241732096}, "total": 7241732096}},
        "config": {"model_type": "mistral", "hidden_size": 4096, "num_hidden_layers": 32,
                   "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 32000,
                   "intermediate_size": 14336, "tie_word_embeddings": False,
                   "max_position_embeddings": 32768},
    },
}
DATASETS = {
    "acme/prefs": {"default": {
        "config_name": "default",
        "features": {"prompt": {"dtype": "string", "_type": "Value"},
                     "chosen": {"dtype": "string", "_type": "Value"},
                     "rejected": {"dtype": "string", "_type": "Value"}},
        "splits": {"train": {"name": "train", "num_bytes": 123456, "num_examples": 24000},
                   "test": {"name": "test", "num_bytes": 1234, "num_examples": 500}}}},
}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, doc, headers=()):
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        with open(LOG, "a") as log:
            log.write("%s auth=%s\n" % (self.path, "yes" if self.headers.get("Authorization") else "no"))
        url = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(url.path)
        not_found = (404, {"error": "Repository not found"}, [("X-Error-Code", "RepoNotFound")])
        if path.startswith("/api/models/"):
            m = MODELS.get(path[len("/api/models/"):])
            return self.reply(200, m["api"]) if m else self.reply(*not_found)
        if path.endswith("/resolve/main/config.json"):
            m = MODELS.get(path[1:-len("/resolve/main/config.json")])
            return self.reply(200, m["config"]) if m else self.reply(*not_found)
        if path.startswith("/api/datasets/"):
            d = path[len("/api/datasets/"):]
            return self.reply(200, {"id": d}) if d in DATASETS else self.reply(*not_found)
        if path == "/info":
            d = urllib.parse.parse_qs(url.query).get("dataset", [""])[0]
            if d not in DATASETS:
                return self.reply(404, {"error": "The dataset does not exist, or is not accessible without "
                                                 "authentication (private or gated)."})
            return self.reply(200, {"dataset_info": DATASETS[d], "pending": [], "failed": [], "partial": False})
        self.reply(404, {"error": "no route " + path})


if __name__ == "__main__":
    port_file, LOG = sys.argv[1], sys.argv[2]
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    import os
    os.rename(port_file + ".tmp", port_file)
    server.serve_forever()

#!/usr/bin/python3
# Fixture experiment for tests/autolab_cli: prints one JSON line {"loss": |x - 2| + 0.01 * seed}.
# With --gate PATH it first waits (bounded by the plan's experiment_timeout, which kills it) until
# PATH exists, so a test holds experiments "running" for exactly as long as it needs, no wall time.
import argparse
import json
import os
import time

ap = argparse.ArgumentParser()
ap.add_argument("--x", type=float, required=True)
ap.add_argument("--seed", type=int, required=True)
ap.add_argument("--gate", default="")
a = ap.parse_args()
if a.gate:
    while not os.path.exists(a.gate):
        time.sleep(0.02)
print(json.dumps({"loss": abs(a.x - 2) + 0.01 * a.seed}), flush=True)

#!/usr/bin/python3
"""One AutoLab experiment: a tiny byte-level transformer language model, trained on CPU for a fixed
time budget, measured in validation bits per byte. The autoresearch loop (Karpathy) in miniature:
tiny-lm.yaml's evolve hypotheses are patches to THIS file (tiny-lm/patches/*.patch) and parameter
overrides, each kept only if it lowers val_bpb.

Data: license texts that Debian's base-files package ships in /usr/share/common-licenses (base-files
is Essential: present on every Debian system; ~146 KB). Each file is split 90/10: the first 90% of
its bytes train, the last 10% validate, so both splits see every license's style.

Prints JSON lines on stdout, one per evaluation, flushed as written:
    {"step": <training step>, "val_bpb": <bits per byte on a fixed validation subset>}
and at the end, on the whole validation split:
    {"val_bpb": <...>, "steps": <...>, "train_seconds": <...>, "parameters": <...>}

Why it is built this way:
- Byte-level (256 symbols): the cross-entropy per symbol divided by ln 2 is exactly bits per byte,
  comparable across any change to the model (a tokenizer change would not be).
- A fixed time budget, not a fixed step count (as in autoresearch): a hypothesis must pay for its
  own compute; a wider model that takes twice as long per step gets half the steps. Only training
  steps count against the budget; evaluation is excluded. --clock cpu counts this process's CPU
  time instead of wall time: on a machine shared with other work, runs stay comparable.
  --max-steps stops earlier, by steps (tests use it for exact, deterministic runs).
- Everything random is seeded from --seed (weights, batches, dropout); the train/validation split
  is fixed and independent of the seed, so repeats differ only by the seed.
- One intra-op thread and one inter-op thread by default (--threads): AutoLab runs experiments in
  parallel on few cores, and oversubscribed threads only slow each other down.
- Written for torch 1.13 (Debian bookworm's python3-torch): no scaled_dot_product_attention, no
  torch.compile.

Exit codes: 0 done; 1 training diverged (non-finite loss: no final metric) or a data file is
unreadable; 2 bad arguments; 5 python3-torch is not installed.
"""
import argparse
import json
import math
import os
import random
import sys
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

LICENSES = "/usr/share/common-licenses"
DEFAULT_TEXTS = [os.path.join(LICENSES, name) for name in (
    "GPL-2", "GPL-3", "LGPL-2.1", "LGPL-3", "Apache-2.0", "MPL-2.0", "GFDL-1.3", "Artistic")]
VALIDATION_SHARE = 0.1    # the last 10% of each text
INTERMEDIATE_WINDOWS = 64  # the fixed validation subset for intermediate points (the final uses all)
VOCAB = 256                # bytes


def positive_float(text):
    value = float(text)  # ValueError -> argparse reports "invalid positive_float value"
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return value


def bounded_int(low, high):
    def parse(text):
        value = int(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be an integer in [{low}, {high}], got {text!r}")
        return value
    parse.__name__ = "integer"
    return parse


def parse_args(argv):
    # argparse exits with status 2 and a usage message on any bad argument.
    parser = argparse.ArgumentParser(description="Train a tiny byte-level LM; print val_bpb as JSON lines.")
    parser.add_argument("--seed", type=bounded_int(0, 2**31 - 1), default=0, help="weights, batches, dropout")
    parser.add_argument("--time-budget", type=positive_float, default=30.0,
                        help="seconds of training (evaluation excluded)")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="what the budget counts: wall-clock time or this process's CPU time")
    parser.add_argument("--max-steps", type=bounded_int(0, 10**9), default=0, help="stop after this many steps (0: none)")
    parser.add_argument("--width", type=bounded_int(8, 1024), default=64, help="model width (embedding size)")
    parser.add_argument("--depth", type=bounded_int(1, 32), default=2, help="transformer blocks")
    parser.add_argument("--heads", type=bounded_int(1, 64), default=4, help="attention heads (divide --width)")
    parser.add_argument("--context", type=bounded_int(2, 4096), default=64, help="bytes of context")
    parser.add_argument("--batch", type=bounded_int(1, 4096), default=32, help="sequences per step")
    parser.add_argument("--lr", type=positive_float, default=3e-3, help="AdamW's peak learning rate")
    parser.add_argument("--eval-every", type=bounded_int(1, 10**9), default=100, help="steps between intermediate points")
    parser.add_argument("--threads", type=bounded_int(1, 256), default=1, help="torch intra-op threads")
    parser.add_argument("--data", nargs="+", default=DEFAULT_TEXTS, help="text files (default: Debian's license texts)")
    args = parser.parse_args(argv)
    if args.width % args.heads:
        parser.error(f"--heads {args.heads} must divide --width {args.width}")
    return args


def emit(record):
    print(json.dumps(record), flush=True)


def load_splits(paths, context):
    train, val = bytearray(), bytearray()
    for path in paths:
        with open(path, "rb") as f:
            data = f.read()
        cut = int(len(data) * (1 - VALIDATION_SHARE))
        train += data[:cut]
        val += data[cut:]
    if len(train) <= context + 1 or len(val) < context:
        raise ValueError(f"{len(train)} training and {len(val)} validation bytes: too few for --context {context}")
    return bytes(train), bytes(val)


def build_model(torch, args):
    nn = torch.nn

    class Attention(nn.Module):
        """Causal multi-head self-attention (written out: torch 1.13 has no fused kernel)."""

        def __init__(self):
            super().__init__()
            self.heads = args.heads
            self.qkv = nn.Linear(args.width, 3 * args.width)
            self.proj = nn.Linear(args.width, args.width)
            causal = torch.tril(torch.ones(args.context, args.context, dtype=torch.bool))
            self.register_buffer("causal", causal, persistent=False)

        def forward(self, x):
            b, t, c = x.shape
            q, k, v = self.qkv(x).split(c, dim=2)
            q, k, v = (z.view(b, t, self.heads, c // self.heads).transpose(1, 2) for z in (q, k, v))
            scores = (q @ k.transpose(-2, -1)) / math.sqrt(c // self.heads)
            scores = scores.masked_fill(~self.causal[:t, :t], float("-inf"))
            y = scores.softmax(dim=-1) @ v
            return self.proj(y.transpose(1, 2).reshape(b, t, c))

    class Block(nn.Module):
        """Pre-norm transformer block: attention, then a 4x MLP, each on a residual branch."""

        def __init__(self):
            super().__init__()
            self.ln1 = nn.LayerNorm(args.width)
            self.attn = Attention()
            self.ln2 = nn.LayerNorm(args.width)
            self.mlp = nn.Sequential(nn.Linear(args.width, 4 * args.width), nn.GELU(),
                                     nn.Linear(4 * args.width, args.width))

        def forward(self, x):
            x = x + self.attn(self.ln1(x))
            x = x + self.mlp(self.ln2(x))
            return x

    class TinyLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok = nn.Embedding(VOCAB, args.width)
            self.pos = nn.Embedding(args.context, args.width)
            self.blocks = nn.Sequential(*[Block() for _ in range(args.depth)])
            self.ln_f = nn.LayerNorm(args.width)
            self.head = nn.Linear(args.width, VOCAB, bias=False)

        def forward(self, idx):
            positions = torch.arange(idx.shape[1], device=idx.device)
            x = self.tok(idx) + self.pos(positions)
            return self.head(self.ln_f(self.blocks(x)))

    return TinyLM()


def bits_per_byte(torch, model, data, context, max_windows=None):
    """Mean bits per byte over non-overlapping windows of `data`: every byte predicted once, from the
    bytes before it in its window (the first byte of a window from none)."""
    windows = (len(data) - 1) // context
    if max_windows is not None:
        windows = min(windows, max_windows)
    stream = torch.frombuffer(bytearray(data[:windows * context + 1]), dtype=torch.uint8).long()
    x = stream[:-1].view(windows, context)
    y = stream[1:].view(windows, context)
    model.eval()
    total = 0.0
    with torch.no_grad():
        for start in range(0, windows, 64):
            logits = model(x[start:start + 64])
            total += torch.nn.functional.cross_entropy(
                logits.reshape(-1, VOCAB), y[start:start + 64].reshape(-1), reduction="sum").item()
    model.train()
    return total / (windows * context) / math.log(2)


def main(argv):
    args = parse_args(argv)
    try:
        import torch
    except ImportError as error:
        print(f"train.py: PyTorch is needed (Debian: apt-get install python3-torch, or scripts/setup --with torch): {error}",
              file=sys.stderr)
        return 5
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    batches = torch.Generator().manual_seed(args.seed)

    try:
        train_bytes, val_bytes = load_splits(args.data, args.context)
    except (OSError, ValueError) as error:
        print(f"train.py: cannot use the data: {error}", file=sys.stderr)
        return 1
    train_data = torch.frombuffer(bytearray(train_bytes), dtype=torch.uint8).long()

    model = build_model(torch, args)
    parameters = sum(p.numel() for p in model.parameters())
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95), weight_decay=0.01)
    offsets = torch.arange(args.context + 1)
    clock = time.process_time if args.clock == "cpu" else time.perf_counter

    step, trained = 0, 0.0
    while trained < args.time_budget and (args.max_steps == 0 or step < args.max_steps):
        started = clock()
        # Progress through the budget in [0, 1]: by time, or by steps when --max-steps ends sooner.
        progress = trained / args.time_budget
        if args.max_steps:
            progress = max(progress, step / args.max_steps)
        lr = args.lr  # constant: the baseline has no learning-rate schedule
        for group in optimizer.param_groups:
            group["lr"] = lr

        starts = torch.randint(0, len(train_data) - args.context - 1, (args.batch, 1), generator=batches)
        chunk = train_data[starts + offsets]
        logits = model(chunk[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, VOCAB), chunk[:, 1:].reshape(-1))
        if not torch.isfinite(loss):
            print(f"train.py: training diverged at step {step + 1} (lr={args.lr}): loss {loss.item()}", file=sys.stderr)
            return 1
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

        step += 1
        trained += clock() - started
        if step % args.eval_every == 0:
            emit({"step": step, "val_bpb": round(bits_per_byte(torch, model, val_bytes, args.context,
                                                               INTERMEDIATE_WINDOWS), 6)})

    val_bpb = bits_per_byte(torch, model, val_bytes, args.context)
    if not math.isfinite(val_bpb):
        print(f"train.py: the validation loss is not finite after {step} steps", file=sys.stderr)
        return 1
    emit({"val_bpb": round(val_bpb, 6), "steps": step, "train_seconds": round(trained, 3), "parameters": parameters})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

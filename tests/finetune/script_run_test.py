#!/usr/bin/python3
"""Runs every generated training script to the end against the stand-in packages of fake_py/
(no PyPI, GPU or network here), and checks what each script did: which configs it built (with
TRL's argument names only), what it gave the trainer, that it resumed from the Hub's
last-checkpoint when there was one, renamed the dataset's columns to TRL's, cut to max_samples,
relaunched itself per GPU, saved and pushed. py_compile only proves the syntax; this proves the
scripts' own logic.

usage: script_run_test.py DSX SOURCE_DIR
"""
import json
import os
import subprocess
import sys
import tempfile

DSX, SRC = sys.argv[1], sys.argv[2]
HERE = os.path.dirname(os.path.abspath(__file__))
BASE = "fine-tune Qwen2.5-0.5B-Instruct on trl-lib/Capybara for 2 epochs, push to my-org/qwen-capy, trackio"
COLUMNS = {"sft": "messages", "dpo": "prompt,chosen,rejected", "reward": "prompt,chosen,rejected",
           "kto": "prompt,completion,label", "grpo": "prompt,solution"}
TRAINER = {"sft": "SFTTrainer", "dpo": "DPOTrainer", "grpo": "GRPOTrainer", "kto": "KTOTrainer",
           "reward": "RewardTrainer"}
failures = []
work = tempfile.mkdtemp(prefix="dsx-ft-run.")
env_base = dict(os.environ, HOME=os.path.join(work, "home"), DSX_JOBS_DIR=os.path.join(work, "jobs"),
                DSX_FINETUNE_DIR=os.path.join(work, "scripts"), DSX_CONFIGS_DIR=os.path.join(SRC, "configs"),
                DSX_SKILLS_DIR=os.path.join(SRC, "skills"), DSX_CONFIG_DIR=os.path.join(work, "config"))


def fail(what):
    failures.append(what)
    print("FAIL:", what)


def render(instruction, *sets):
    args = [DSX, "finetune", "submit", instruction, "--dry-run", "--json"]
    for s in sets:
        args += ["--set", s]
    p = subprocess.run(args, capture_output=True, text=True, env=env_base)
    if p.returncode != 0:
        raise RuntimeError(f"dsx {' '.join(sets)} exited {p.returncode}: {p.stderr.strip()}")
    return json.loads(p.stdout)["script_path"]


def run(script, columns, hub=None):
    rec = tempfile.mktemp(dir=work, suffix=".jsonl")
    # PYTHONDONTWRITEBYTECODE: the stand-ins live in the source tree; leave no __pycache__ there.
    env = dict(env_base, PYTHONPATH=os.path.join(HERE, "fake_py"), PYTHONDONTWRITEBYTECODE="1", FAKE_RECORD=rec, FAKE_COLUMNS=columns,
               FAKE_TRL_ARGS=os.path.join(SRC, "configs", "trl_args.toml"), FAKE_HUB=hub or "/nonexistent")
    env.pop("WORLD_SIZE", None)
    p = subprocess.run([sys.executable, script], capture_output=True, text=True, env=env, cwd=work)
    events = [json.loads(line) for line in open(rec)] if os.path.exists(rec) else []
    return p, events


def of(events, kind):
    return [e for e in events if e["event"] == kind]


for method in ["sft", "dpo", "grpo", "kto", "reward"]:
    for adapter in ["full", "lora", "qlora"]:
        name = f"{method}/{adapter}"
        try:
            script = render(BASE, f"method={method}", f"adapter={adapter}")
        except RuntimeError as e:
            fail(f"{name}: {e}")
            continue
        p, ev = run(script, COLUMNS[method])
        if p.returncode != 0:
            fail(f"{name}: the script failed: {p.stderr.strip().splitlines()[-1:]}")
            continue
        classes = [e["cls"] for e in of(ev, "config")]
        want = {"sft": "SFTConfig", "dpo": "DPOConfig", "grpo": "GRPOConfig", "kto": "KTOConfig",
                "reward": "RewardConfig"}[method]
        if want not in classes:
            fail(f"{name}: no {want} built ({classes})")
        if ("LoraConfig" in classes) != (adapter != "full"):
            fail(f"{name}: LoraConfig built: {'LoraConfig' in classes}")
        if ("BitsAndBytesConfig" in classes) != (adapter == "qlora"):
            fail(f"{name}: BitsAndBytesConfig built: {'BitsAndBytesConfig' in classes}")
        cfg = [e for e in of(ev, "config") if e["cls"] == want][0]["kwargs"]
        for key, value in {"hub_model_id": "my-org/qwen-capy", "push_to_hub": True, "hub_strategy": "checkpoint",
                           "report_to": "trackio", "num_train_epochs": 2.0}.items():
            if cfg.get(key) != value:
                fail(f"{name}: {want}.{key} = {cfg.get(key)!r}, want {value!r}")
        tr = of(ev, "trainer")
        if len(tr) != 1 or tr[0]["cls"] != TRAINER[method] or tr[0]["model"] != "Qwen/Qwen2.5-0.5B-Instruct":
            fail(f"{name}: trainer {tr}")
            continue
        kw = set(tr[0]["kwargs"])
        if ("peft_config" in kw) != (adapter != "full") or ("quantization_config" in kw) != (adapter == "qlora"):
            fail(f"{name}: trainer got {sorted(kw)}")
        if ("reward_funcs" in kw) != (method == "grpo"):
            fail(f"{name}: reward_funcs given: {'reward_funcs' in kw}")
        if [e["resume_from_checkpoint"] for e in of(ev, "train")] != [None]:
            fail(f"{name}: train calls {of(ev, 'train')} (no checkpoint on the Hub: a fresh start)")
        if len(of(ev, "save_model")) != 1 or len(of(ev, "push_to_hub")) != 1:
            fail(f"{name}: saved {len(of(ev, 'save_model'))}x, pushed {len(of(ev, 'push_to_hub'))}x")
        if method == "grpo" and "dsx: rewards ['accuracy_reward']" not in p.stdout:
            fail(f"{name}: a dataset with 'solution' should be scored by accuracy_reward: {p.stdout}")

# Resume: the output repo holds last-checkpoint/ with a trainer state -> the run continues from it.
hub = os.path.join(work, "hub")
ckpt = os.path.join(hub, "my-org", "qwen-capy", "last-checkpoint")
os.makedirs(ckpt)
open(os.path.join(ckpt, "trainer_state.json"), "w").write("{}")
script = render(BASE)
p, ev = run(script, "messages", hub=hub)
if p.returncode != 0 or [e["resume_from_checkpoint"] for e in of(ev, "train")] != [ckpt]:
    fail(f"resume: train calls {of(ev, 'train')}, stderr {p.stderr[-300:]}")
if "resuming from my-org/qwen-capy/last-checkpoint" not in p.stdout:
    fail("resume: the script does not say it resumes")
# A last-checkpoint folder without a trainer state is not a checkpoint: a fresh start.
os.remove(os.path.join(ckpt, "trainer_state.json"))
p, ev = run(script, "messages", hub=hub)
if [e["resume_from_checkpoint"] for e in of(ev, "train")] != [None]:
    fail(f"resume: an empty last-checkpoint must not be resumed from: {of(ev, 'train')}")

# Column names: this dataset's names become TRL's.
script = render(BASE, "method=dpo", "chosen_column=good", "rejected_column=bad", "prompt_column=question")
p, ev = run(script, "question,good,bad")
tr = of(ev, "trainer")
if p.returncode != 0 or not tr or sorted(tr[0]["columns"]) != ["chosen", "prompt", "rejected"]:
    fail(f"dpo renames: {tr} {p.stderr[-300:]}")
script = render(BASE, "text_column=list_conv")
p, ev = run(script, "list_conv,id")
tr = of(ev, "trainer")
if p.returncode != 0 or not tr or "messages" not in tr[0]["columns"]:
    fail(f"sft chat column -> messages: {tr} {p.stderr[-300:]}")
script = render(BASE, "text_column=body")
p, ev = run(script, "body")
tr = of(ev, "trainer")
if p.returncode != 0 or not tr or tr[0]["columns"] != ["text"]:
    fail(f"sft text column -> text: {tr} {p.stderr[-300:]}")

# max_samples cuts the split; GRPO without a solution column falls back to the format reward.
script = render(BASE, "max_samples=10")
p, ev = run(script, "messages")
tr = of(ev, "trainer")
if not tr or tr[0]["rows"] != 10:
    fail(f"max_samples=10: trainer saw {tr and tr[0]['rows']} rows")
script = render(BASE, "method=grpo")
p, ev = run(script, "prompt")
if p.returncode != 0 or "dsx: rewards ['think_format_reward']" not in p.stdout:
    fail(f"grpo without solution: {p.stdout[-200:]} {p.stderr[-200:]}")

# No output repository: nothing pushed, the Hub not even asked for a checkpoint.
script = render("fine-tune Qwen2.5-0.5B-Instruct on trl-lib/Capybara for 2 epochs")
p, ev = run(script, "messages")
if p.returncode != 0 or of(ev, "push_to_hub") or of(ev, "snapshot_download"):
    fail(f"no output repo: pushed {of(ev, 'push_to_hub')}, asked the Hub {of(ev, 'snapshot_download')}")

# Several GPUs: the script relaunches itself under torchrun, one process per GPU, FSDP for full.
script = render(BASE, "adapter=full", "flavor=a100x4")
p, ev = run(script, "messages")
runs = of(ev, "torchrun")
if p.returncode != 0 or len(runs) != 1 or runs[0]["nproc_per_node"] != "4" or len(of(ev, "trainer")) != 1:
    fail(f"multi-GPU: torchrun {runs}, trainers {len(of(ev, 'trainer'))}, stderr {p.stderr[-300:]}")
cfg = [e for e in of(ev, "config") if e["cls"] == "SFTConfig"]
if not cfg or cfg[0]["kwargs"].get("fsdp") != "full_shard auto_wrap":
    fail(f"multi-GPU full fine-tune is not sharded: {cfg}")

# The stand-ins are strict: a name TRL does not have fails the run, as the real dataclass would.
bad = os.path.join(work, "bad.py")
open(bad, "w").write(open(render(BASE)).read().replace("max_length=", "max_seq_length="))
p, ev = run(bad, "messages")
if p.returncode == 0 or "unexpected keyword argument 'max_seq_length'" not in p.stderr:
    fail("a wrong argument name ran through the stand-ins")

print(f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)

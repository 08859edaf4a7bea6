#!/usr/bin/env bash
# Every method x adapter (and a multi-GPU full fine-tune) renders through `dsx finetune submit
# --dry-run --json`, compiles with /usr/bin/python3 -m py_compile, and every keyword of every
# *Config(...) call (read with Python's own ast, independently of dsx's scanner) is in
# configs/trl_args.toml.
. "$(dirname "$0")/lib.sh"
cat >"$WORK/check_args.py" <<'PY'
import ast, sys, tomllib
data = tomllib.load(open(sys.argv[1], "rb"))
classes = data["classes"]
def accepted(name, seen=()):
    c = classes[name]
    out = set(c["args"])
    for parent in c.get("inherits", []):
        out |= accepted(parent)
    return out
tree = ast.parse(open(sys.argv[2]).read())
problems, calls = [], 0
for node in ast.walk(tree):
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id.endswith("Config"):
        calls += 1
        if node.func.id not in classes:
            problems.append(f"line {node.lineno}: unknown class {node.func.id}")
            continue
        ok = accepted(node.func.id)
        for kw in node.keywords:
            if kw.arg not in ok:
                problems.append(f"line {kw.value.lineno}: {node.func.id} has no argument {kw.arg}")
if calls == 0:
    problems.append("no *Config(...) call at all")
print("\n".join(problems))
sys.exit(1 if problems else 0)
PY
n=0
base="fine-tune Qwen2.5-0.5B-Instruct on trl-lib/Capybara for 2 epochs, push to my-org/qwen-capy, trackio"
for method in sft dpo grpo kto reward; do
  for adapter in full lora qlora; do
    out=$WORK/$method-$adapter.json
    if ! "$DSX" finetune submit "$base" --set method=$method --set adapter=$adapter --dry-run --json >"$out" 2>"$out.err"; then
      bad "$method/$adapter: dsx exited $? ($(cat "$out.err"))"; continue
    fi
    script=$(json_get "$out" 'd["script_path"]')
    [ -f "$script" ] || { bad "$method/$adapter: no script at $script"; continue; }
    cmp -s "$script" <(json_get "$out" 'd["script"]' | head -c -1) || bad "$method/$adapter: script_path differs from script"
    "$PY" -m py_compile "$script" 2>"$out.pyc" || bad "$method/$adapter: py_compile: $(cat "$out.pyc")"
    problems=$("$PY" "$WORK/check_args.py" "$SRC/configs/trl_args.toml" "$script") || bad "$method/$adapter: $problems"
    grep -q '^# /// script' "$script" || bad "$method/$adapter: no PEP 723 header"
    if [ $adapter = qlora ]; then grep -q '"bitsandbytes' "$script" || bad "$method/$adapter: no bitsandbytes dependency"; fi
    n=$((n + 1))
  done
done
# A full fine-tune on several GPUs: the torchrun relaunch and FSDP.
out=$WORK/multi.json
if "$DSX" finetune submit "$base" --set adapter=full --set flavor=a100x4 --dry-run --json >"$out" 2>"$out.err"; then
  script=$(json_get "$out" 'd["script_path"]')
  "$PY" -m py_compile "$script" || bad "multi-GPU script does not compile"
  grep -q 'torch.distributed.run' "$script" || bad "multi-GPU script does not relaunch under torchrun"
  grep -q 'fsdp="full_shard auto_wrap"' "$script" || bad "multi-GPU full fine-tune is not sharded"
  n=$((n + 1))
else
  bad "multi-GPU dry run failed: $(cat "$out.err")"
fi
echo "compiled and checked $n scripts"
[ $n -eq 16 ] || bad "expected 16 scripts"
exit $fail

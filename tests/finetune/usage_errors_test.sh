#!/usr/bin/env bash
# Incomplete, contradictory and unconfirmed requests exit 2 with a message that says what to add;
# a budget below the plan exits 4 with the cost.
. "$(dirname "$0")/lib.sh"
expect() {  # expect CODE TEXT -- ARGS...
  local code=$1 text=$2; shift 3
  "$DSX" "$@" >"$WORK/out" 2>"$WORK/err"
  local rc=$?
  [ $rc -eq "$code" ] || bad "dsx $* exited $rc, want $code ($(cat "$WORK/err"))"
  grep -qF -- "$text" "$WORK/err" || bad "dsx $*: stderr lacks '$text': $(cat "$WORK/err")"
}
expect 2 "no dataset: add one" -- finetune submit "fine-tune Qwen2.5-0.5B-Instruct" --dry-run
expect 2 "did not understand 'zorblax'" -- finetune submit "$EXAMPLE zorblax" --dry-run
expect 2 "--llm PROVIDER" -- finetune submit "$EXAMPLE zorblax" --dry-run
expect 2 "lora_rank" -- finetune submit "$EXAMPLE" --set lora_rank=lots --dry-run
expect 2 "--backend hf, slurm or local" -- finetune submit "$EXAMPLE" --backend lambda --dry-run
expect 4 "--max-cost" -- finetune submit "$EXAMPLE" --max-cost 0.001 --dry-run
# A paid run with no terminal and no --yes: refused before any token or network is needed.
HF_TOKEN= expect 2 "add --yes" -- finetune submit "$EXAMPLE" </dev/null
[ -z "$(ls -A "$DSX_JOBS_DIR" 2>/dev/null)" ] || bad "a refused submit wrote into the job registry"
expect 3 "no job" -- finetune status j-20261207-013000-3fa9c1
# On a terminal a paid run asks first; anything but yes submits nothing (exit 4). `script` gives
# dsx a pseudo-terminal; without it this part cannot run.
if command -v script >/dev/null 2>&1; then
  printf 'n\n' | HF_TOKEN= script -qec "'$DSX' finetune submit '$EXAMPLE'" /dev/null >"$WORK/tty" 2>&1
  rc=$?
  [ $rc -eq 4 ] || bad "declined confirmation exited $rc, want 4: $(cat "$WORK/tty")"
  grep -q "? \[y/N\]" "$WORK/tty" || bad "no confirmation question: $(cat "$WORK/tty")"
  grep -q "not confirmed" "$WORK/tty" || bad "no 'not confirmed': $(cat "$WORK/tty")"
  [ -z "$(ls -A "$DSX_JOBS_DIR" 2>/dev/null)" ] || bad "a declined submit wrote into the job registry"
else
  echo "note: no 'script' command (util-linux): the terminal confirmation was not tested"
fi
exit $fail

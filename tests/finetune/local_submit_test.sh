#!/usr/bin/env bash
# A fine-tune on the local backend, end to end through the real binary, with a fake `uv` first on
# PATH (it records its arguments, prints training-like progress and exits 0): submit --yes, status
# until it ends, logs, list; the script lands in the job folder; HF_TOKEN reaches the job as a
# secret but never a file; a job of another kind is refused by the finetune commands.
. "$(dirname "$0")/lib.sh"
mkdir -p "$WORK/bin"
cat >"$WORK/bin/uv" <<FAKE
#!/usr/bin/env bash
printf '%s\n' "\$@" >"$WORK/uv-args"
[ -n "\${HF_TOKEN:-}" ] && echo "HF_TOKEN present" >"$WORK/uv-token" || echo "HF_TOKEN absent" >"$WORK/uv-token"
for step in 1 2 3; do echo "{'loss': 1.\$step, 'step': \$step}"; done
echo "dsx: training finished"
FAKE
chmod +x "$WORK/bin/uv"
# This machine's GPUs, as nvidia-smi reports them: one 24 GB card (the plan must fit it).
printf '#!/bin/sh\necho "NVIDIA A10G, 23028"\n' >"$WORK/bin/nvidia-smi"
chmod +x "$WORK/bin/nvidia-smi"
export PATH=$WORK/bin:$PATH
# A push with no token anywhere is refused before anything runs (it would fail after the training).
unset HF_TOKEN
"$DSX" finetune submit "$EXAMPLE" --backend local --yes >/dev/null 2>"$WORK/err"
rc=$?
[ $rc -eq 2 ] || bad "local push without a token exited $rc, want 2"
grep -qF "needs a Hugging Face token: export HF_TOKEN or run \`hf auth login\`" "$WORK/err" || bad "no-token message: $(cat "$WORK/err")"
[ -z "$(ls -A "$DSX_JOBS_DIR" 2>/dev/null)" ] || bad "a refused submit wrote into the job registry"
export HF_TOKEN=hf_e2e_secret_value_123
"$DSX" finetune submit "$EXAMPLE" --backend local --yes --json >"$WORK/submit.json" 2>"$WORK/err" ||
  { bad "submit exited $?: $(cat "$WORK/err")"; exit 1; }
id=$(json_get "$WORK/submit.json" 'd["job"]["id"]')
[[ $id == j-* ]] || { bad "no job id in the submit output"; exit 1; }
[ "$(json_get "$WORK/submit.json" 'd["job"]["request"]["kind"]')" = finetune ] || bad "job kind is not finetune"
[ "$(json_get "$WORK/submit.json" 'd["plan"]["cost_usd"]')" = 0.0 ] || bad "a local run should cost 0"
jobdir=$DSX_JOBS_DIR/$id
[ "$(json_get "$WORK/submit.json" 'any("this machine: 1 x NVIDIA A10G" in n for n in d["notes"])')" = True ] ||
  bad "the plan did not use this machine's GPU (nvidia-smi)"
[ "$(json_get "$WORK/submit.json" 'd["script_path"]')" = "$jobdir/train.py" ] || bad "script_path is not the job's train.py"
# Status from new processes until the job ends (bounded: a loaded 2-core machine can be slow).
state=""
for _ in $(seq 1 120); do
  "$DSX" finetune status "$id" --json >"$WORK/status.json" 2>"$WORK/err" || { bad "status exited $?: $(cat "$WORK/err")"; break; }
  state=$(json_get "$WORK/status.json" 'd["status"]["state"]')
  case $state in succeeded|failed|cancelled|timeout|lost) break ;; esac
  sleep 0.5
done
[ "$state" = succeeded ] || bad "job ended '$state', want succeeded"
[ "$(cat "$WORK/uv-args" 2>/dev/null | tr '\n' ' ')" = "run $jobdir/train.py " ] ||
  bad "uv got '$(cat "$WORK/uv-args" 2>/dev/null | tr '\n' ' ')', want 'run $jobdir/train.py'"
[ "$(cat "$WORK/uv-token" 2>/dev/null)" = "HF_TOKEN present" ] || bad "the push needs HF_TOKEN in the job's environment"
"$PY" -m py_compile "$jobdir/train.py" || bad "the job's train.py does not compile"
grep -q 'OUTPUT_REPO = "my-org/qwen-capy"' "$jobdir/train.py" || bad "train.py is not the rendered script"
"$DSX" finetune logs "$id" >"$WORK/logs" 2>"$WORK/err" || bad "logs exited $?: $(cat "$WORK/err")"
grep -q "'step': 3" "$WORK/logs" || bad "logs lack the progress lines: $(cat "$WORK/logs")"
grep -q "dsx: training finished" "$WORK/logs" || bad "logs lack the last line"
"$DSX" finetune logs -f "$id" >"$WORK/logs-f" 2>&1 || bad "logs -f on an ended job exited $?"
grep -q "'step': 1" "$WORK/logs-f" || bad "logs -f lacks the output"
"$DSX" finetune list --json >"$WORK/list.json" || bad "list exited $?"
[ "$(json_get "$WORK/list.json" '[j["id"] for j in d["jobs"]]')" = "['$id']" ] || bad "list does not show exactly the job"
if grep -rq "hf_e2e_secret_value_123" "$DSX_JOBS_DIR" "$WORK/submit.json" "$WORK/status.json" "$WORK/logs"; then
  bad "the HF_TOKEN value reached a file or the output"
fi
# A full fine-tune of a 7B model cannot fit one 24 GB card: refused before anything runs (exit 4).
"$DSX" finetune submit "fine-tune qwen2.5-7b-instruct on trl-lib/Capybara full" --backend local --yes >/dev/null 2>"$WORK/err"
rc=$?
[ $rc -eq 4 ] || bad "a 7B full fine-tune on a 24 GB machine exited $rc, want 4: $(cat "$WORK/err")"
grep -q "does not fit this machine" "$WORK/err" || bad "no 'does not fit this machine': $(cat "$WORK/err")"
# Another kind of job: dsx finetune refuses it (dsx jobs handles it), before touching the backend.
"$DSX" jobs submit --backend local --json -- true >"$WORK/generic.json" 2>"$WORK/err" || bad "jobs submit exited $?: $(cat "$WORK/err")"
gid=$(json_get "$WORK/generic.json" 'd["id"]')
for verb in status logs cancel; do
  "$DSX" finetune $verb "$gid" >/dev/null 2>"$WORK/err"
  rc=$?
  [ $rc -eq 2 ] || bad "finetune $verb of a generic job exited $rc, want 2"
  grep -qF "is a generic job, not a fine-tune: use dsx jobs $verb $gid" "$WORK/err" || bad "finetune $verb: $(cat "$WORK/err")"
done
[ "$(json_get <("$DSX" finetune list --json) 'len(d["jobs"])')" = 1 ] || bad "finetune list shows the generic job"
exit $fail

#!/usr/bin/env bash
# The documented example's --dry-run --json: the fields man dsx-finetune promises, nothing submitted,
# no token needed, the exact HTTP request with the token only as a placeholder.
. "$(dirname "$0")/lib.sh"
unset HF_TOKEN
out=$WORK/doc.json
"$DSX" finetune submit "$EXAMPLE" --dry-run --json >"$out" 2>"$WORK/err" || bad "dry run exited $?: $(cat "$WORK/err")"
check() { [ "$(json_get "$out" "$1")" = "$2" ] || bad "$1 is '$(json_get "$out" "$1")', want '$2'"; }
check 'd["spec"]["model"]["value"]' "Qwen/Qwen2.5-0.5B-Instruct"
check 'd["spec"]["model"]["source"]' "said"
check 'd["spec"]["dataset"]["value"]' "trl-lib/Capybara"
check 'd["spec"]["method"]["value"]' "sft"
check 'd["spec"]["method"]["source"]' "default"
check 'd["spec"]["adapter"]["value"]' "lora"
check 'd["spec"]["epochs"]["value"]' "2.0"
check 'd["spec"]["output_repo"]["value"]' "my-org/qwen-capy"
check '"learning_rate" in d["spec"]' "True"
check 'isinstance(d["plan"]["flavor"], str) and d["plan"]["flavor"] != ""' "True"
check 'd["plan"]["cost_usd"] > 0' "True"
check 'd["plan"]["hours"] > 0' "True"
check 'd["job"]' "None"
check 'd["backend"]' "hf"
check 'd["job_request"]["kind"]' "finetune"
check 'd["request"].startswith("POST ")' "True"
check '"/api/jobs/" in d["request"]' "True"
check '"Bearer <HF_TOKEN>" in d["request"]' "True"
check '"timeoutSeconds" in d["request"]' "True"
[ -z "$(ls -A "$DSX_JOBS_DIR" 2>/dev/null)" ] || bad "a dry run wrote into the job registry"
# The text form shows the same plan and the request.
"$DSX" finetune submit "$EXAMPLE" --dry-run >"$WORK/text" 2>&1 || bad "text dry run exited $?"
for want in "spec:" "model" "(said)" "plan:" "flavor" "cost" "script: " "request (hf, not sent: --dry-run):" "POST "; do
  grep -qF -- "$want" "$WORK/text" || bad "text dry run lacks '$want'"
done
# Slurm: the exact sbatch script.
"$DSX" finetune submit "$EXAMPLE" --backend slurm --dry-run --json >"$WORK/slurm.json" 2>"$WORK/err" ||
  bad "slurm dry run exited $?: $(cat "$WORK/err")"
[ "$(json_get "$WORK/slurm.json" '"#SBATCH" in d["request"] and "--gres=gpu" in d["request"]')" = True ] ||
  bad "slurm dry run does not show the sbatch script with --gres"
exit $fail

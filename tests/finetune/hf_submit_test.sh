#!/usr/bin/env bash
# A fine-tune submitted to Hugging Face Jobs through the real binary, against the local stand-in of
# the Jobs API (tests/hf_jobs/fake_hf_jobs.py, HF_ENDPOINT): the create request carries the plan's
# flavor, the job's timeout, HF_TOKEN as a secret, the dsx labels and the rendered script (inlined
# by the hf backend) byte for byte as saved in the job folder; status and logs follow the job to
# COMPLETED; a 402 (no credit) is exit 4 with the reason. The token is never in a file or output.
. "$(dirname "$0")/lib.sh"
FAKE=$SRC/tests/hf_jobs/fake_hf_jobs.py
[ -f "$FAKE" ] || { echo "SKIP: $FAKE not found"; exit 77; }
"$PY" "$FAKE" --port 0 --port-file "$WORK/port" --record "$WORK/requests.json" &
fake_pid=$!
trap 'kill $fake_pid 2>/dev/null; wait $fake_pid 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 1 100); do [ -s "$WORK/port" ] && break; sleep 0.1; done
[ -s "$WORK/port" ] || { bad "the fake Jobs API did not start"; exit 1; }
export HF_ENDPOINT=http://127.0.0.1:$(cat "$WORK/port")
export HF_TOKEN=hf_e2e_token_value_987
"$DSX" finetune submit "$EXAMPLE" --set flavor=a10g-large --yes --json >"$WORK/submit.json" 2>"$WORK/err" ||
  { bad "submit exited $?: $(cat "$WORK/err")"; exit 1; }
id=$(json_get "$WORK/submit.json" 'd["job"]["id"]')
jobdir=$DSX_JOBS_DIR/$id
[ -f "$jobdir/train.py" ] || bad "no train.py in the job folder"
cat >"$WORK/check.py" <<'PY'
import base64, json, sys
reqs = json.load(open(sys.argv[1]))
doc = json.load(open(sys.argv[2]))
script = open(sys.argv[3]).read()
creates = [r for r in reqs if r["method"] == "POST" and r["path"].startswith("/api/jobs/")]
problems = []
if len(creates) != 1:
    problems.append(f"{len(creates)} create requests, want 1")
else:
    b = creates[0]["body"]
    want = {"flavor": doc["plan"]["flavor"], "timeoutSeconds": doc["job_request"]["timeout_s"]}
    for k, v in want.items():
        if b.get(k) != v:
            problems.append(f"{k} is {b.get(k)!r}, want {v!r}")
    if b.get("flavor") != "a10g-large":
        problems.append("the flavor said with --set was not used")
    if b.get("secrets") != {"HF_TOKEN": "hf_e2e_token_value_987"}:
        problems.append(f"secrets are {sorted(b.get('secrets', {}))}, want exactly HF_TOKEN with its value")
    labels = b.get("labels", {})
    if labels.get("dsx-kind") != "finetune" or labels.get("dsx-job") != doc["job"]["id"]:
        problems.append(f"labels {labels}")
    tail = b.get("command", [])[-3:]
    if len(tail) != 3 or tail[:2] != ["uv", "run"] or not tail[2].endswith("/train.py"):
        problems.append(f"command {b.get('command')} does not end in uv run .../train.py")
    inlined = [base64.b64decode(v).decode() for k, v in b.get("environment", {}).items() if k.startswith("DSX_FILE_")]
    if inlined != [script]:
        problems.append("the inlined file is not the job's train.py")
    if "Bearer hf_e2e_token_value_987" != creates[0]["headers"].get("Authorization"):
        problems.append("the create was not authorised with the token")
print("\n".join(problems))
sys.exit(1 if problems else 0)
PY
out=$("$PY" "$WORK/check.py" "$WORK/requests.json" "$WORK/submit.json" "$jobdir/train.py") || bad "create request: $out"
state=""
for _ in $(seq 1 120); do
  "$DSX" finetune status "$id" --json >"$WORK/status.json" 2>"$WORK/err" || { bad "status exited $?: $(cat "$WORK/err")"; break; }
  state=$(json_get "$WORK/status.json" 'd["status"]["state"]')
  case $state in succeeded|failed|cancelled|timeout|lost) break ;; esac
  sleep 0.5
done
[ "$state" = succeeded ] || bad "job ended '$state', want succeeded"
[ -n "$(json_get "$WORK/status.json" 'd["url"]')" ] || bad "no job URL"
"$DSX" finetune logs "$id" >"$WORK/logs" 2>"$WORK/err" || bad "logs exited $?: $(cat "$WORK/err")"
[ -s "$WORK/logs" ] || bad "no log lines"
if grep -rq "hf_e2e_token_value_987" "$DSX_JOBS_DIR" "$WORK/submit.json" "$WORK/status.json" "$WORK/logs" "$WORK/err"; then
  bad "the token value reached a file or the output"
fi
# No credit: refused with the reason, exit 4.
HF_TOKEN=hf_nocredit_e2e "$DSX" finetune submit "$EXAMPLE" --set flavor=a10g-large --yes >/dev/null 2>"$WORK/err"
rc=$?
[ $rc -eq 4 ] || bad "a 402 exited $rc, want 4: $(cat "$WORK/err")"
grep -qi "credit\|402\|payment" "$WORK/err" || bad "the 402 message does not say why: $(cat "$WORK/err")"
exit $fail
